//! Item analysis end to end: the console's `report` during a quiz and `quizd report` on the
//! results file afterwards print the same figures, from the same rows.

mod common;

use common::binary::{BANK, Quizd, text};
use common::{Client, PATIENCE, TOKEN, TempDir};

#[test]
fn the_console_report_and_quizd_report_on_the_results_file_agree() {
    let dir = TempDir::new("report");
    let bank = dir.write("three.txt", BANK);
    let results = dir.path().join("results.csv");
    let (mut quizd, addr) = Quizd::serve(&[
        "--no-shuffle",
        "--admin-token",
        TOKEN,
        "--results",
        text(&results),
        text(&bank),
    ]);
    let mut teacher = quizd.teacher();
    // The right letters are b, c, a. Five students, from all right to all wrong.
    for (name, answers) in [
        ("ann", ["b", "c", "a"]),
        ("bo", ["b", "c", "b"]),
        ("cy", ["b", "a", "b"]),
        ("di", ["a", "c", "b"]),
        ("ed", ["a", "a", "b"]),
    ] {
        let mut s = Client::connect(addr);
        s.expect("name> ");
        s.send(name);
        for a in answers {
            s.expect("answer> ");
            s.send(a);
        }
        s.expect_line("Quiz over");
    }
    teacher.send("report");
    let block = teacher.expect("\r\n.\r\n");
    let console: Vec<&str> = block.trim_end_matches("\r\n.\r\n").split("\r\n").collect();
    assert!(
        console[0].starts_with("5 attempt(s), mean score 1.40."),
        "{console:#?}"
    );
    // Question 3 (right: a): only ann; b drew the other four.
    assert!(
        console
            .iter()
            .any(|l| l.starts_with("3      5       20%") && l.ends_with("b) Network (80%)")),
        "{console:#?}"
    );
    quizd.terminate();
    assert_eq!(
        quizd.wait_exit(PATIENCE).code(),
        Some(0),
        "{:#?}",
        quizd.log
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quizd"))
        .args(["report", text(&results), text(&bank)])
        .output()
        .expect("run quizd report");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("{}: quiz three", text(&results)).as_str())
    );
    assert_eq!(lines.collect::<Vec<_>>(), console, "the same figures");
}
