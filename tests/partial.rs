//! Moodle's partial marks end to end, with the built binary: multiple answers (`a c`),
//! matching (`cab`) and partial credit reach the verdict lines, the final score, the live
//! distribution and leaderboard, the console's `top` and the results file, as a teacher and
//! a class see them.

mod common;

use std::path::PathBuf;

use common::binary::{ANSWERS, NAME, POINTS, Quizd, SCORE, STATUS, text};
use common::{Client, PATIENCE, TOKEN, TempDir, csv_rows};

/// One question of each kind that gives part of a mark, and one that does not. With
/// `--no-shuffle`, asked in this order and lettered as written.
const BANK: &str = "\
::tomb:: Who is entombed in Grant's tomb? {
~%-100%No one
~%50%Grant
~%50%Grant's wife
~%-100%Grant's father
}

::capitals:: Match each country to its capital. {
=France -> Paris
=Italy -> Rome
=Spain -> Madrid
}

::animal:: Which is the best animal? {
=Frog#Good!
=%50%Cat#What is it with Moodlers and cats?
}

::udp:: UDP is connectionless. {T}
";

const PERCENT: usize = 6;

fn bank_dir(name: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new(name);
    let bank = dir.write("partial.gift", BANK);
    let results = dir.path().join("results.csv");
    (dir, bank, results)
}

#[test]
fn parts_of_marks_show_in_each_verdict_the_final_score_and_the_results_row() {
    let (_dir, bank, results) = bank_dir("partial-self-paced");
    let (_quizd, addr) = Quizd::serve(&["--no-shuffle", "--results", text(&results), text(&bank)]);
    let mut c = Client::connect(addr);
    c.expect("name> ");
    c.send("ada");
    let hello = c.expect("type it.\r\n");
    assert!(
        hello.contains(
            "the letters of every\r\nanswer that applies, a letter for each numbered item"
        ),
        "{hello:?}"
    );
    assert_eq!(
        c.expect("answer> "),
        "\r\nQuestion 1 of 4 (30 s)\r\nWho is entombed in Grant's tomb?\r\n  a) No one\r\n  \
         b) Grant\r\n  c) Grant's wife\r\n  d) Grant's father\r\n\
         Choose every answer that applies: type their letters, like a c.\r\nanswer> "
    );
    // Not letters: explained, no penalty.
    c.send("b and c");
    c.expect_line("error: answer with the letters of every answer you choose");
    c.expect("answer> ");
    c.send("b");
    assert_eq!(
        c.expect_line("Partly right"),
        "Partly right (0.5 of 1). The answer was b) Grant, c) Grant's wife. Score: 0.5/1"
    );
    let matching = c.expect("answer> ");
    assert!(
        matching.contains(
            "Match each country to its capital.\r\n  1. France\r\n  2. Italy\r\n  3. Spain\r\n  \
             a) Paris\r\n  b) Rome\r\n  c) Madrid\r\n"
        ),
        "{matching:?}"
    );
    c.send("ab");
    c.expect_line("error: type 3 letters from a to c, one for each numbered item in order");
    c.expect("answer> ");
    c.send("a b b");
    // Too wide for 80 columns: the anchors stay on one line, the answer goes below.
    assert_eq!(
        c.expect_line("Partly right"),
        "Partly right (0.67 of 1). Score: 1.17/2"
    );
    assert_eq!(
        c.expect_line("The answer was"),
        "The answer was abc (1 Paris, 2 Rome, 3 Madrid)."
    );
    c.expect("answer> ");
    c.send("cat");
    assert_eq!(
        c.expect_line("Partly right"),
        "Partly right (0.5 of 1). The answer was Frog. Score: 1.67/3"
    );
    c.expect_line("What is it with Moodlers and cats?");
    c.expect("answer> ");
    c.send("t");
    assert_eq!(c.expect_line("Correct!"), "Correct! Score: 2.67/4");
    assert_eq!(
        c.expect_line("Quiz over"),
        "Quiz over, ada: you scored 2.67 out of 4 (67%)."
    );
    let _ = c.read_to_end();
    let rows = csv_rows(&std::fs::read_to_string(&results).expect("results"));
    let row = &rows[0];
    assert_eq!(
        (
            row[NAME].as_str(),
            row[SCORE].as_str(),
            row[PERCENT].as_str(),
            row[ANSWERS].as_str(),
            row[STATUS].as_str()
        ),
        (
            "ada",
            "2.67",
            "67",
            r#"1:b 2:abb 3:"cat" 4:"true""#,
            "completed"
        )
    );
}

#[test]
fn live_parts_of_marks_reach_the_distribution_the_leaderboard_top_and_the_points_column() {
    let (_dir, bank, results) = bank_dir("partial-live");
    let (mut quizd, addr) = Quizd::serve(&[
        "--mode",
        "live",
        "-n",
        "1",
        "--no-shuffle",
        "--admin-token",
        TOKEN,
        "--results",
        text(&results),
        text(&bank),
    ]);
    let mut teacher = quizd.teacher();
    let mut students: Vec<Client> = ["ann", "bo"]
        .iter()
        .map(|name| {
            let mut s = Client::connect(addr);
            s.expect("name> ");
            s.send(name);
            s.expect_line("Waiting for the teacher");
            s
        })
        .collect();
    teacher.send("start");
    for (s, answer) in students.iter_mut().zip(["c b", "b"]) {
        s.expect("answer> ");
        s.send(answer);
        s.expect_line("Answer recorded");
    }
    let ann = students[0].expect_line("You are ");
    let bo = students[1].expect("You are ");
    assert!(
        bo.contains(
            "Partly right (0.5 of 1). The answer was b) Grant, c) Grant's wife. Score: 0.5/1\r\n"
        ),
        "{bo:?}"
    );
    assert!(
        bo.contains("Answers: right 1 | partly 1 | wrong 0 | none 0\r\n"),
        "{bo:?}"
    );
    assert!(bo.contains(" 1 point "), "{bo:?}");
    assert!(bo.contains(" 0.5 points "), "{bo:?}");
    assert_eq!(ann, "You are 1st of 2.");
    teacher.expect("admin> ");
    teacher.send("top 5");
    let top = teacher.expect("\r\n.\r\n");
    let bo_row = top
        .lines()
        .find(|l| l.starts_with("2  bo "))
        .unwrap_or_else(|| panic!("bo in top: {top:?}"));
    assert_eq!(
        bo_row.split_whitespace().collect::<Vec<_>>()[3..6],
        ["0.5", "0.5/1", "50%"],
        "{top:?}"
    );
    teacher.send("next");
    for s in &mut students {
        s.expect_line("Quiz over");
    }
    quizd.terminate();
    assert_eq!(
        quizd.wait_exit(PATIENCE).code(),
        Some(0),
        "{:#?}",
        quizd.log
    );
    let rows = csv_rows(&std::fs::read_to_string(&results).expect("results"));
    let mut got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[NAME].clone(), r[SCORE].clone(), r[POINTS].clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("ann".into(), "1".into(), "1".into()),
            ("bo".into(), "0.5".into(), "0.5".into())
        ]
    );
}
