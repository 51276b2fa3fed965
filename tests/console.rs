//! The teacher console over TCP: the token, every command, uploads, and what students see of
//! it. The server runs in-process with its console on `127.0.0.1:0`.

mod common;

use common::{Client, TOKEN, TempDir, TestServer, csv_rows, in_order, three_questions};

/// Reads a multi-line reply up to its `.` line (undoing dot-stuffing) and the prompt after.
fn block(t: &mut Client) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = t.expect("\r\n");
        let line = line.trim_end_matches("\r\n");
        if line == "." {
            break;
        }
        lines.push(line.strip_prefix('.').unwrap_or(line).to_string());
    }
    t.expect("admin> ");
    lines
}

/// A one-line reply and the prompt after it.
fn reply(t: &mut Client, command: &str) -> String {
    t.send(command);
    let line = t.expect("\r\n").trim_end_matches("\r\n").to_string();
    t.expect("admin> ");
    line
}

fn console() -> TestServer {
    TestServer::with_console(three_questions(), in_order())
}

#[test]
fn a_piped_token_results_and_quit_in_one_write_print_the_results_before_the_close() {
    // The README's one-liner: { echo TOKEN; echo results; echo quit; } | nc -C host 9998
    let server = console();
    let mut alice = server.connect();
    alice.join("alice");
    for _ in 0..3 {
        alice.send("b");
    }
    alice.expect_line("Quiz over");
    let mut t = Client::connect(server.admin.expect("console on"));
    t.send_raw(format!("{TOKEN}\r\nresults\r\nquit\r\n").as_bytes());
    t.shutdown_write();
    let all = t.read_to_end();
    let header = all.find("finished_at,name").expect("the results header");
    let row = all.find(",alice,").expect("alice's row");
    let end = all.rfind("\r\n.\r\n").expect("the end of the block");
    assert!(header < row && row < end, "{all}");
}

#[test]
fn ctrl_c_in_an_upload_cancels_it_and_the_rest_of_that_read_never_runs_as_commands() {
    let server = console();
    let mut alice = server.connect();
    alice.join("alice");
    let mut t = server.teacher();
    t.send_raw(
        b"upload x.txt\r\nWhich layer is TCP on?\r\nA) four\r\n\x03say which layer is IP on?\r\nA) three\r\nANSWER: A\r\n.\r\n",
    );
    t.expect_line("error: upload cancelled");
    t.expect("admin> ");
    // The next read is heard again.
    assert_eq!(reply(&mut t, "say hello"), "ok: sent to 1 student(s)");
    let seen = alice.expect("[teacher] hello");
    assert!(!seen.contains("which layer is IP"), "{seen}");
}

#[test]
fn three_wrong_tokens_close_the_console() {
    let server = console();
    let mut t = Client::connect(server.admin.expect("console on"));
    t.expect("token> ");
    t.send("guess");
    t.expect_line("error: wrong token");
    t.expect("token> ");
    t.send("sesame");
    t.expect("token> ");
    t.send("open sesame");
    t.expect_line("error: wrong token; closing");
    assert_eq!(t.read_to_end(), "");
}

#[test]
fn the_right_token_opens_the_console_and_help_lists_every_command() {
    let server = console();
    let mut t = Client::connect(server.admin.expect("console on"));
    t.expect("token> ");
    t.send(TOKEN);
    t.expect_line("ok: token accepted");
    t.expect("admin> ");
    t.send("help");
    let help = block(&mut t).join("\n");
    for command in [
        "status",
        "who",
        "start",
        "next",
        "end",
        "kick NAME",
        "say TEXT",
        "tell NAME TEXT",
        "load PATH",
        "reload",
        "upload NAME",
        "results",
        "top [N]",
        "stats",
        "shutdown",
    ] {
        assert!(help.contains(command), "help lacks {command}: {help}");
    }
    assert!(reply(&mut t, "frobnicate").starts_with("error: unknown command"));
}

#[test]
fn status_who_top_and_stats_describe_the_class() {
    let server = console();
    let mut alice = server.connect();
    alice.join("alice");
    alice.send("b");
    alice.expect("answer> ");
    let mut waiting = server.connect();
    waiting.expect("name> ");
    let mut t = server.teacher();

    t.send("status");
    let status = block(&mut t).join("\n");
    assert!(status.contains("self-paced"), "{status}");
    assert!(status.contains("three"), "{status}");

    t.send("who");
    let who = block(&mut t);
    let alice_row = who
        .iter()
        .find(|l| l.contains("alice"))
        .expect("alice listed");
    assert!(alice_row.contains("question 2/3"), "{who:?}");
    assert!(who.iter().any(|l| l.contains("naming")), "{who:?}");

    t.send("top 5");
    let top = block(&mut t);
    // A header, then alice first with 1 right of 3 so far.
    assert_eq!(top.len(), 2, "{top:?}");
    let row: Vec<&str> = top[1].split_whitespace().collect();
    assert_eq!(&row[..4], ["1", "alice", "1", "1/3"], "{top:?}");

    t.send("stats");
    let stats = block(&mut t).join("\n");
    assert!(stats.contains("answers"), "{stats}");
    assert!(stats.contains("uptime"), "{stats}");
}

#[test]
fn say_and_tell_reach_students_on_their_own_line_with_the_prompt_again() {
    let server = console();
    let mut alice = server.connect();
    alice.join("alice");
    let mut bob = server.connect();
    bob.join("bob");
    let mut t = server.teacher();

    assert_eq!(
        reply(&mut t, "say five minutes left"),
        "ok: sent to 2 student(s)"
    );
    for s in [&mut alice, &mut bob] {
        assert_eq!(
            s.expect("answer> "),
            "\r\n[teacher] five minutes left\r\nanswer> "
        );
    }
    assert_eq!(
        reply(&mut t, "tell bob \u{1b}[2Jlook at b)"),
        "ok: sent to bob"
    );
    assert_eq!(
        bob.expect("answer> "),
        "\r\n[teacher, to you] look at b)\r\nanswer> ",
        "the escape sequence is dropped whole"
    );
    assert!(reply(&mut t, "tell nobody hi").starts_with("error: no student named nobody"));
    // The students carry on as before.
    alice.send("b");
    alice.expect_line("Correct!");
}

#[test]
fn a_students_ask_appears_on_every_console_at_once() {
    let server = console();
    let mut t1 = server.teacher();
    let mut t2 = server.teacher();
    let mut alice = server.connect();
    alice.join("alice");
    alice.send("/ask is b) a trick?");
    alice.expect_line("Sent to the teacher.");
    for t in [&mut t1, &mut t2] {
        let seen = t.expect_line("ask from alice");
        assert!(seen.ends_with(": is b) a trick?"), "{seen}");
        t.expect("admin> ");
    }
}

#[test]
fn kick_and_end_stop_attempts_and_record_them() {
    let mut server = console();
    let mut alice = server.connect();
    alice.join("alice");
    alice.send("b");
    alice.expect("answer> ");
    let mut bob = server.connect();
    bob.join("bob");
    let mut t = server.teacher();

    assert!(reply(&mut t, "kick alice").starts_with("ok: alice removed"));
    alice.expect_line("The teacher removed you from the quiz");
    alice.expect_line("Quiz over, alice: you scored 1 out of 3");
    alice.read_to_end();
    assert!(reply(&mut t, "kick alice").starts_with("error: no student named alice"));

    assert!(reply(&mut t, "start").starts_with("error: this quiz is self-paced"));
    assert!(reply(&mut t, "end").starts_with("ok: quiz ended for 1 student"));
    bob.expect_line("The teacher ended the quiz");
    bob.read_to_end();

    let rows = server.stop_and_rows();
    let status = |name: &str| {
        rows.iter()
            .find(|r| r[1] == name)
            .map(|r| r[9].clone())
            .unwrap_or_default()
    };
    assert_eq!(status("alice"), "kicked");
    assert_eq!(status("bob"), "ended");
}

#[test]
fn results_shows_the_csv_written_so_far() {
    let server = console();
    let mut alice = server.connect();
    alice.join("alice");
    for _ in 0..3 {
        alice.send("b");
    }
    alice.expect_line("Quiz over");
    let mut t = server.teacher();
    t.send("results");
    let csv = block(&mut t);
    assert!(csv[0].starts_with("finished_at,name,"), "{csv:?}");
    let rows = csv_rows(&(csv.join("\n") + "\n"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][1], "alice");
    assert_eq!(rows[0][4], "3");
}

#[test]
fn upload_serves_a_good_bank_and_lists_every_problem_of_a_bad_one() {
    let server = console();
    let mut t = server.teacher();
    t.send("upload extra.txt");
    t.send_raw(b"What is 2+2?\r\nA) 3\r\nB) 4\r\nANSWER: B\r\n\r\n..dots stay one\r\nA) x\r\nB) y\r\nANSWER: A\r\n.\r\n");
    let ok = t.expect_line("ok: ");
    assert_eq!(ok, "ok: 2 questions; now serving extra");
    t.expect("admin> ");
    let mut s = server.connect();
    s.expect_line("Welcome to quizd: extra. 2 questions");

    t.send("upload broken.gift");
    t.send_raw(
        b"::Q1:: The {1:MULTICHOICE:=red~blue} car.\r\n\r\n::Q2:: No answer {~x ~y}\r\n.\r\n",
    );
    // A problem refuses the upload; the question quizd cannot ask is named too.
    let first = t.expect_line("error: ");
    assert!(first.starts_with("error: broken.gift:3: "), "{first}");
    let second = t.expect_line("broken.gift:");
    assert!(
        second.starts_with("broken.gift:1: warning: skipped: embedded answers"),
        "{second}"
    );
    t.expect("admin> ");
    assert!(reply(&mut t, "upload ../../etc/passwd.txt").starts_with("error: "));
    // The good bank is still served.
    let mut s2 = server.connect();
    s2.expect_line("Welcome to quizd: extra.");
}

#[test]
fn load_and_reload_switch_banks_only_between_quizzes() {
    let dir = TempDir::new("console-load");
    let good = dir.write("week2.txt", "Q?\nA) a\nB) b\nANSWER: A\n");
    let bad = dir.write("bad.txt", "Q?\nA) a\nANSWER: C\n");
    let server = console();
    let mut t = server.teacher();

    let mut busy = server.connect();
    busy.join("alice");
    let refused = reply(&mut t, &format!("load {}", good.display()));
    assert!(refused.contains("1 student(s) are mid-quiz"), "{refused}");
    busy.send("/quit");
    busy.read_to_end();
    // Wait until the server has let go of alice.
    Client::wait_until_name_is_free(server.addr, "alice");

    t.send(&format!("load {}", bad.display()));
    let problem = t.expect_line("error: ");
    assert!(problem.contains("bad.txt:"), "{problem}");
    t.expect("admin> ");
    assert_eq!(
        reply(&mut t, &format!("load {}", good.display())),
        "ok: 1 question; now serving week2"
    );
    let mut s = server.connect();
    s.expect_line("Welcome to quizd: week2. 1 question");
    drop(s);
    // reload reads the same files again: a fix made on disk is picked up.
    std::fs::write(
        &good,
        "Q?\nA) a\nB) b\nANSWER: A\n\nR?\nA) c\nB) d\nANSWER: B\n",
    )
    .expect("rewrite bank");
    assert_eq!(
        reply(&mut t, "reload"),
        "ok: 2 questions; now serving week2"
    );
}

#[test]
fn shutdown_from_the_console_stops_the_server_with_every_answer_saved() {
    let mut server = console();
    let mut alice = server.connect();
    alice.join("alice");
    alice.send("b");
    alice.expect("answer> ");
    let mut t = server.teacher();
    t.send("shutdown");
    t.expect_line("ok: shutting down");
    alice.expect_line("Server is shutting down");
    let rows = server.stop_and_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][9], "shutdown");
    assert_eq!(rows[0][8], "1:b 2:- 3:-");
}

#[test]
fn a_live_quiz_runs_from_the_console_question_by_question() {
    use quizd::quiz::{LiveSettings, Scoring};
    let settings = quizd::quiz::Settings {
        live: Some(LiveSettings {
            auto_next: None,
            scoring: Scoring::Count,
        }),
        ..in_order()
    };
    let mut server = TestServer::with_console(three_questions(), settings);
    let mut t = server.teacher();
    let mut alice = server.connect();
    alice.expect("name> ");
    alice.send("alice");
    alice.expect_line("Waiting for the teacher to start the quiz: 1 student here.");
    let mut bob = server.connect();
    bob.expect("name> ");
    bob.send("bob");
    bob.expect_line("Waiting for the teacher to start the quiz: 2 students here.");
    assert!(reply(&mut t, "next").starts_with("error: the quiz has not started"));

    assert!(reply(&mut t, "start").starts_with("ok: question 1/3 open"));
    for s in [&mut alice, &mut bob] {
        s.expect_line("Question 1 of 3 (30 s)");
        s.expect("answer> ");
    }
    alice.send("b");
    alice.expect_line("Answer recorded; waiting for the others.");
    bob.send("a");
    // The last answer closes the question for everyone at once.
    for s in [&mut alice, &mut bob] {
        s.expect_line("Answers: a 1 | b 1 | c 0 | d 0 | none 0");
        s.expect_line("Leaderboard:");
    }
    alice.expect_line("You are 1st of 2.");
    bob.expect_line("You are 2nd of 2.");
    // The console is told, unasked, on a line of its own with the prompt again.
    t.expect_line("live: question 1/3 closed (everyone answered). Answers: a 1 | b 1");
    t.expect("admin> ");

    t.send("status");
    let status = block(&mut t).join("\n");
    assert!(status.contains("live"), "{status}");
    assert!(status.contains("question 1/3 closed"), "{status}");

    // next opens question 2; next again closes it early (bob never answers); end finishes.
    assert!(reply(&mut t, "next").starts_with("ok: question 2/3 open"));
    alice.expect("answer> ");
    bob.expect("answer> ");
    alice.send("b");
    alice.expect_line("Answer recorded");
    assert!(reply(&mut t, "next").starts_with("ok: question 2/3 closed"));
    t.expect_line("live: question 2/3 closed (closed by next)");
    t.expect("admin> ");
    bob.expect_line("Time is up. The answer was b) right 2. Score: 0/2");
    assert!(reply(&mut t, "end").starts_with("ok: quiz over, 2 attempt(s) recorded"));
    t.expect_line("live: quiz over (ended early). Podium: 1. alice 2 points");
    alice.expect_line("The teacher ended the quiz");
    alice.expect_line("Final leaderboard:");
    alice.expect_line("Quiz over, alice: you scored 2 out of 3");
    alice.expect_line("You finished 1st of 2.");
    // Nobody is disconnected: the room waits for the next round with them in it.
    alice.expect_line("Waiting for the teacher to start the quiz");
    bob.expect_line("Quiz over, bob: you scored 0 out of 3");
    bob.expect_line("Waiting for the teacher to start the quiz: 2 students here.");
    t.send("who");
    let who = block(&mut t).join("\n");
    assert!(who.contains("waiting (live)"), "{who}");

    let rows = server.stop_and_rows();
    assert_eq!(rows.len(), 2);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[1] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("alice")[8], "1:b 2:b 3:-");
    assert_eq!(row("alice")[9], "ended");
    assert_eq!(row("bob")[8], "1:a 2:- 3:-");
}

#[test]
fn a_console_that_gives_no_token_in_time_is_closed() {
    let server = TestServer::start_with(three_questions(), in_order(), |config| {
        config.admin_listen = Some("127.0.0.1:0".into());
        config.admin_token = TOKEN.into();
        config.token_timeout = std::time::Duration::from_secs(1);
    });
    let mut t = Client::connect(server.admin.expect("console on"));
    t.expect("token> ");
    // Nothing is typed: the server's clock closes it, no sleep here.
    t.expect_line("error: no token given in 1 s; closing.");
    assert_eq!(t.read_to_end(), "");
}

#[test]
fn consoles_beyond_the_limit_get_one_error_line() {
    let server = console();
    let open: Vec<Client> = (0..quizd::limits::MAX_TEACHERS)
        .map(|_| server.teacher())
        .collect();
    let mut extra = Client::connect(server.admin.expect("console on"));
    extra.expect_line(&format!(
        "error: too many teacher consoles (max {})",
        quizd::limits::MAX_TEACHERS
    ));
    assert_eq!(extra.read_to_end(), "");
    drop(open);
}

/// Ctrl-C at `token> ` then a flood of telnet commands in the same write: the replies stay
/// within the per-turn budget, and the output accounting that the global budget rests on does
/// not drift as such consoles close (debug builds check the sum every loop turn, so a drift
/// stops this in-process server and the student below never finishes). Found by review: each
/// such console left its last output in the total for good.
#[test]
fn strangers_who_press_ctrl_c_and_flood_telnet_commands_leave_the_output_accounting_exact() {
    let server = console();
    let admin = server.admin.expect("console on");
    let mut flood = b"\xff\xf4".to_vec();
    flood.extend(std::iter::repeat_n(*b"\xff\xf6", 2_000).flatten());
    for _ in 0..20 {
        let mut stranger = Client::connect(admin);
        stranger.expect("token> ");
        stranger.send_raw(&flood);
        stranger.read_to_end();
    }
    let mut student = server.connect();
    student.join("alice");
    for _ in 0..3 {
        student.send("b");
    }
    student.expect_line("Quiz over, alice");
}
