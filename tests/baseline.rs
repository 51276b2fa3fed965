//! The raw baseline sends exactly the bytes quizd sends, so comparing the two under the same
//! clients measures quizd's logic and nothing else.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Client, TestServer, numbered_questions};
use quizd::quiz::{Quiz, Settings};
use quizd::tools::baseline::Baseline;

/// Five questions in file order, with the default 30 s per question or with no time limit
/// (the greeting and the headers differ).
fn settings(time_limit: Option<Duration>) -> Settings {
    Settings {
        count: Some(5),
        shuffle: false,
        time_limit,
        ..Settings::default()
    }
}

/// A student named "student" answering b) (the right option) to every question; everything
/// the server sent until it closed.
fn transcript(addr: SocketAddr) -> String {
    let mut c = Client::connect(addr);
    c.expect("name> ");
    c.send("student");
    for _ in 0..5 {
        c.expect("answer> ");
        c.send("b");
    }
    c.read_to_end();
    let text = String::from_utf8_lossy(&std::mem::take(&mut c.log)).into_owned();
    // quizd's resume code is random; the baseline sends one of the same length.
    match text.find("resume code is ") {
        Some(at) => {
            let at = at + "resume code is ".len();
            let end = at + quizd::limits::CODE_LEN;
            format!("{}******{}", &text[..at], &text[end..])
        }
        None => text,
    }
}

#[test]
fn baseline_sends_the_same_bytes_as_quizd_for_a_right_answering_student() {
    for time_limit in [Some(Duration::from_secs(30)), None] {
        same_bytes(settings(time_limit));
    }
}

fn same_bytes(settings: Settings) {
    let mut quizd = TestServer::start_with(numbered_questions(8), settings.clone(), |_| {});
    let expected = transcript(quizd.addr);
    quizd.stop();

    let quiz = Quiz::new(numbered_questions(8), settings);
    let baseline = Baseline::bind("127.0.0.1:0", &quiz).expect("baseline binds");
    let addr = baseline.local_addr();
    let handle = baseline.handle();
    let thread = std::thread::spawn(move || baseline.run());
    let got = transcript(addr);
    handle.stop();
    thread
        .join()
        .expect("baseline thread")
        .expect("baseline loop");

    assert!(expected.contains("Quiz over, student: you scored 5 out of 5"));
    assert_eq!(got, expected);
}
