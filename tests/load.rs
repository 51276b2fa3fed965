//! The load engine against the real server in-process on `127.0.0.1:0`, and against small
//! scripted servers for the protocol's odd turns (refusals, questions without options, a close
//! mid-quiz).
//!
//! Nothing waits for a fixed time: each run ends when every student completed or failed; the
//! time-bound test ends at its (short) bound, which is what it tests.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{TestServer, in_order, three_questions};
use quizd::bank::{Bank, Kind, Question};
use quizd::quiz::Settings;
use quizd::tools::load::{self, Pattern, Plan, Report};

/// Columns of a results row.
const NAME: usize = 1;
const PEER: usize = 2;
const DURATION: usize = 7;
const ANSWERS: usize = 8;
const STATUS: usize = 9;

fn run(plan: &Plan) -> Report {
    load::run(plan, &mut |_| {}).expect("the load run starts")
}

/// No time limit: held students are not timed out while they wait.
fn untimed() -> Settings {
    Settings {
        time_limit: None,
        ..in_order()
    }
}

/// Three questions with 2, 3 and 4 options; the right one is always a) in the bank.
fn uneven_bank() -> Bank {
    let file: std::sync::Arc<str> = std::sync::Arc::from("uneven.txt");
    let q = |i: u32, n: usize| {
        Question::new(
            format!("Question with {n} options?"),
            Kind::choice((0..n).map(|k| format!("option {k}")).collect(), 0),
            &file,
            i,
        )
    };
    Bank {
        title: "uneven".into(),
        questions: vec![q(1, 2), q(2, 3), q(3, 4)],
        ..Default::default()
    }
}

#[test]
fn fifty_students_complete_three_questions_each() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let mut server = TestServer::start(in_order());
    let report = run(&Plan::new(server.addr, 50));
    assert_eq!((report.completed, report.failed), (50, 0), "{report:#?}");
    assert_eq!(report.answers, 150);
    assert_eq!(report.answers_refused, 0);
    let v = report.verdicts;
    assert_eq!(v.correct + v.wrong, 150, "{v:?}");
    assert_eq!((v.time_up, v.recorded), (0, 0));
    assert_eq!(report.answer_latency.map(|l| l.count), Some(150));
    assert_eq!(report.connect_latency.map(|l| l.count), Some(50));
    assert!(report.answers_per_sec > 0.0);
    // Early students may finish before the last ones connect, so the peak can be lower.
    assert!((1..=50).contains(&report.peak_connections), "{report:#?}");

    let rows = server.stop_and_rows();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r[STATUS] == "completed"), "{rows:#?}");
    for i in 0..50 {
        let name = format!("load-{i:06}");
        assert!(rows.iter().any(|r| r[NAME] == name), "no row for {name}");
    }
}

#[test]
fn with_a_hold_nobody_answers_before_everyone_has_a_question() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let mut server = TestServer::start(untimed());
    let mut plan = Plan::new(server.addr, 30);
    plan.hold = Some(Duration::from_millis(500));
    plan.server_pid = Some(std::process::id());
    let report = run(&plan);
    assert_eq!((report.completed, report.answers), (30, 90), "{report:#?}");
    assert!(report.wall >= Duration::from_millis(500));
    assert!(report.answering < report.wall - Duration::from_millis(500));
    let memory = report.server_memory.expect("memory read from /proc");
    assert_eq!(memory.loaded_connections, 30);
    // This process's memory (the server is in-process), so only what must hold whatever the
    // other tests' threads do: the peak (VmHWM) read last is at least the RSS read before it.
    assert!(
        memory.loaded > 0 && memory.peak >= memory.loaded,
        "{memory:?}"
    );
    // Everyone was named before the release, which came 0.5 s later: every attempt lasted
    // at least the hold (rows give tenths of a second).
    let rows = server.stop_and_rows();
    assert_eq!(rows.len(), 30);
    for r in &rows {
        let secs: f64 = r[DURATION].parse().expect("duration_s is a number");
        assert!(secs >= 0.4, "{r:?}");
    }
}

#[test]
fn students_connect_from_each_source_address_in_turn() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let mut server = TestServer::start(in_order());
    let mut plan = Plan::new(server.addr, 20);
    plan.sources = ["127.0.0.1", "127.0.0.2"]
        .iter()
        .map(|s| s.parse::<IpAddr>().expect("address"))
        .collect();
    let report = run(&plan);
    assert_eq!(report.completed, 20, "{report:#?}");
    let rows = server.stop_and_rows();
    let from = |ip: &str| {
        rows.iter()
            .filter(|r| r[PEER].starts_with(&format!("{ip}:")))
            .count()
    };
    assert_eq!(
        (from("127.0.0.1"), from("127.0.0.2")),
        (10, 10),
        "{rows:#?}"
    );
}

#[test]
fn a_full_server_fails_the_students_over_its_limit_with_server_full() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let mut server = TestServer::start_with(three_questions(), in_order(), |c| {
        c.max_clients = Some(10);
    });
    let mut plan = Plan::new(server.addr, 20);
    // Held, the first ten keep their places until the other ten have been turned away.
    plan.hold = Some(Duration::ZERO);
    let report = run(&plan);
    assert_eq!((report.completed, report.failed), (10, 10), "{report:#?}");
    assert_eq!(report.failures, vec![("server full".to_string(), 10)]);
    assert_eq!(server.stop_and_rows().len(), 10);
}

#[test]
fn the_time_bound_fails_everyone_still_in_progress_and_reports_anyway() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let server = TestServer::start(untimed());
    let mut plan = Plan::new(server.addr, 10);
    plan.think = (Duration::from_secs(60), Duration::from_secs(60));
    plan.time_bound = Duration::from_millis(300);
    let report = run(&plan);
    assert_eq!((report.completed, report.failed), (0, 10), "{report:#?}");
    assert_eq!(report.failures, vec![("time bound".to_string(), 10)]);
    assert_eq!(report.answers, 0);
    assert!(report.wall >= Duration::from_millis(300));
}

#[test]
fn random_answers_use_only_the_letters_each_question_offers() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    // Shuffled options, so the letters vary per student.
    // Sixty from 127.0.0.1: more than one address may hold by default.
    let mut server = TestServer::start_with(uneven_bank(), Settings::default(), |c| {
        c.max_per_address = None;
    });
    let mut plan = Plan::new(server.addr, 60);
    plan.seed = 7;
    let report = run(&plan);
    assert_eq!(report.completed, 60, "{report:#?}");
    assert_eq!(report.answers, 180);
    assert_eq!(report.answers_refused, 0, "a letter out of range was sent");
    assert!(report.verdicts.correct > 0 && report.verdicts.wrong > 0);
    // Every last option was picked by someone: the range is used, not just a).
    let rows = server.stop_and_rows();
    for (q, last) in [(1, 'b'), (2, 'c'), (3, 'd')] {
        assert!(
            rows.iter()
                .any(|r| r[ANSWERS].contains(&format!("{q}:{last}"))),
            "nobody answered {last} to question {q}"
        );
    }
}

#[test]
fn a_letter_not_offered_is_refused_once_then_answered_with_a() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let mut server = TestServer::start_with(uneven_bank(), in_order(), |_| {});
    let mut plan = Plan::new(server.addr, 5);
    plan.answers = Pattern::Letters(b"d".to_vec());
    let report = run(&plan);
    assert_eq!(report.completed, 5, "{report:#?}");
    // d) exists only on the third question; the first two are refused and answered a).
    assert_eq!(report.answers_refused, 10);
    assert_eq!(report.answers, 15 + 10);
    let rows = server.stop_and_rows();
    assert!(
        rows.iter().all(|r| r[ANSWERS] == "1:a 2:a 3:d"),
        "{rows:#?}"
    );
}

#[test]
fn a_closed_port_is_an_error_not_a_report() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let err = load::run(&Plan::new(addr, 5), &mut |_| {}).expect_err("nothing listens");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

/// One step of a scripted server.
enum Step {
    Send(&'static str),
    /// Reads one line and records it.
    Read,
    /// Closes with a reset (SO_LINGER 0), as a crashed or firewalled server does.
    Reset,
}

/// A server for one connection that plays `steps` and then closes; returns the lines it read.
fn scripted(steps: Vec<Step>) -> (SocketAddr, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(common::PATIENCE))
            .expect("timeout");
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = BufReader::new(stream);
        let mut lines = Vec::new();
        for step in steps {
            match step {
                Step::Send(text) => writer.write_all(text.as_bytes()).expect("send"),
                Step::Read => {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("read a line");
                    lines.push(line.trim_end().to_string());
                }
                Step::Reset => {
                    let socket = socket2::SockRef::from(reader.get_ref());
                    socket.set_linger(Some(Duration::ZERO)).expect("linger 0");
                    break;
                }
            }
        }
        lines
    });
    (addr, thread)
}

const GREETING: &str = "Welcome to quizd: x. 1 question.\r\nname> ";

#[test]
fn a_reset_right_after_the_name_prompt_is_one_failure_and_the_run_goes_on() {
    // Sending the name into a reset connection used to count the student out of the
    // "connecting" tally twice (an overflow panic in debug builds).
    let (addr, server) = scripted(vec![Step::Send(GREETING), Step::Reset]);
    let report = run(&Plan::new(addr, 1));
    server.join().expect("server");
    assert_eq!((report.completed, report.failed), (0, 1), "{report:#?}");
}

#[test]
fn after_time_is_up_the_next_prompt_gets_an_enter_and_the_run_goes_on() {
    let (addr, server) = scripted(vec![
        Step::Send("Welcome to quizd: x. 2 questions.\r\nname> "),
        Step::Read,
        Step::Send("Hello x.\r\n\r\nQuestion 1 of 2\r\nHow many? Type a number.\r\nanswer> "),
        Step::Send("\r\nTime is up. The answer was 3. Score: 0/1\r\n"),
        Step::Send("Press Enter for the next question.\r\nnext> "),
        Step::Read,
        Step::Read,
        Step::Send("\r\nQuestion 2 of 2\r\nHow many? Type a number.\r\nanswer> "),
        Step::Read,
        Step::Send("Correct! Score: 1/2\r\n\r\nQuiz over, x: you scored 1 out of 2 (50%).\r\n"),
    ]);
    let report = run(&Plan::new(addr, 1));
    assert_eq!(report.completed, 1, "{report:#?}");
    // The answer to question 1 (sent as its prompt came) and the Enter at `next> `.
    assert_eq!(
        server.join().expect("server"),
        vec!["load-000000", "1", "", "1"]
    );
}

#[test]
fn a_question_without_options_is_answered_1() {
    let (addr, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Read,
        Step::Send("Hello x.\r\n\r\nQuestion 1 of 1\r\nHow many? Type a number.\r\nanswer> "),
        Step::Read,
        Step::Send("Correct! Score: 1/1\r\n\r\nQuiz over, x: you scored 1 out of 1 (100%).\r\n"),
    ]);
    let report = run(&Plan::new(addr, 1));
    assert_eq!(report.completed, 1, "{report:#?}");
    assert_eq!(server.join().expect("server"), vec!["load-000000", "1"]);
}

#[test]
fn a_second_refusal_in_a_row_is_a_failure() {
    let (addr, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Read,
        Step::Send("Question 1 of 1\r\n  a) one\r\n  b) two\r\nanswer> "),
        Step::Read,
        Step::Send("error: not now\r\nanswer> "),
        Step::Read,
        Step::Send("error: still not\r\nanswer> "),
        Step::Read,
    ]);
    let mut plan = Plan::new(addr, 1);
    plan.answers = Pattern::Letters(b"b".to_vec());
    let report = run(&plan);
    assert_eq!(
        report.failures,
        vec![("answer refused twice".to_string(), 1)]
    );
    assert_eq!(report.answers_refused, 2);
    // The server reads what was sent before the failure, and then sees the close.
    let lines = server.join().expect("server");
    assert_eq!(lines[..3], ["load-000000", "b", "a"]);
}

#[test]
fn a_refused_name_fails_with_the_servers_line() {
    let (addr, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Read,
        Step::Send("error: the name load-000000 is taken right now; choose another\r\nname> "),
    ]);
    let report = run(&Plan::new(addr, 1));
    assert_eq!(
        report.failures,
        vec![(
            "name refused: error: the name load-000000 is taken right now; choose another"
                .to_string(),
            1
        )]
    );
    server.join().expect("server");
}

#[test]
fn a_close_before_quiz_over_is_a_failure() {
    let (addr, server) = scripted(vec![
        Step::Send(GREETING),
        Step::Read,
        Step::Send("Question 1 of 2\r\n  a) one\r\nanswer> "),
        Step::Read,
        Step::Send(
            "Correct! Score: 1/1\r\n\r\nServer is shutting down; your answers so far are saved.\r\n",
        ),
    ]);
    let report = run(&Plan::new(addr, 1));
    assert_eq!(
        report.failures,
        vec![("closed before quiz over".to_string(), 1)]
    );
    assert_eq!(report.answers, 1);
    server.join().expect("server");
}

#[test]
fn think_time_batches_and_a_ramp_still_complete_every_student() {
    let mut server = TestServer::start(in_order());
    let mut plan = Plan::new(server.addr, 12);
    // Every answer waits on a think timer, at most 3 connects are in progress at once, and
    // the connects are spread over 0.2 s.
    plan.think = (Duration::from_millis(5), Duration::from_millis(20));
    plan.batch = Some(3);
    plan.ramp = Duration::from_millis(200);
    let report = run(&plan);
    assert_eq!((report.completed, report.answers), (12, 36), "{report:#?}");
    // The ramp spread the connects: the run lasted at least its length.
    assert!(report.wall >= Duration::from_millis(200), "{report:#?}");
    // Thinking delays each answer after its prompt, so nobody answered faster than that:
    // the answering phase lasted at least three think times for the last student.
    assert!(report.answering >= Duration::from_millis(15), "{report:#?}");
    assert_eq!(server.stop_and_rows().len(), 12);
}

#[test]
fn a_name_held_by_an_attempt_in_progress_fails_at_once_not_at_the_name_timeout() {
    let server = TestServer::start(in_order());
    // An earlier run's student answered once and dropped: its name waits to be resumed.
    let mut earlier = server.connect();
    earlier.join("load-000000");
    earlier.send("b");
    earlier.expect("answer> ");
    drop(earlier);
    // Held or waiting, the name asks for its code; the run must not wait out the server's
    // 60 s name timeout (it would fail by its own time bound instead).
    let mut plan = Plan::new(server.addr, 1);
    plan.time_bound = Duration::from_secs(30);
    let report = run(&plan);
    assert_eq!(
        report.failures,
        vec![(
            "name in use by an attempt in progress (use another --name-prefix)".to_string(),
            1
        )]
    );
}
