//! End-to-end tests of the built `quizd` binary, started the way a teacher starts it.
//!
//! Every server listens on `127.0.0.1:0`; the real address is read from its `listening on` log
//! line, which a thread reads off stderr and hands over a channel. Nothing waits for a fixed
//! time: tests wait for a line, a byte, a closed stream or the process's exit, each with a
//! generous timeout that is only a safety net. (The one fixed wait is the observation window in
//! which CPU use is measured.) Every spawned quizd is killed when its guard drops, and every file
//! it writes goes to a temporary directory.

mod common;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::binary::{ANSWERS, BANK, MAX, NAME, Quizd, SCORE, STATUS, text};
use common::{Client, PATIENCE, TempDir, csv_rows};

/// The results header: a stable interface (spreadsheets, scripts).
const HEADER: &str = "finished_at,name,peer,quiz,score,max,percent,duration_s,answers,status,attempt,points,to_grade,marks,seconds,attempt_id";
/// The right letters of [`BANK`] with `--no-shuffle`.
const RIGHT: [&str; 3] = ["b", "c", "a"];

/// A bank with two distinct mistakes: an ANSWER letter past the last option (line 4) and an
/// option out of order (line 8). The third question is fine.
const BAD_BANK: &str = "\
What is 1 + 1?
A) 1
B) 2
ANSWER: C

Which port does HTTP use by default?
A) 80
C) 443
ANSWER: B

Is this question fine?
A) Yes
B) No
ANSWER: A
";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Questions in a GIFT file, counted independently of quizd's parser: blank-line separated
/// blocks with something in them besides `//` comments and a `$CATEGORY:` line.
fn gift_questions(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("read bank");
    let mut count = 0;
    let mut in_question = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            in_question = false;
        } else if !in_question && !line.starts_with("//") && !line.starts_with("$CATEGORY:") {
            in_question = true;
            count += 1;
        }
    }
    count
}

/// Questions in an Aiken file, counted independently of quizd's parser.
fn aiken_questions(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("read bank")
        .lines()
        .filter(|l| l.trim_start().starts_with("ANSWER:"))
        .count()
}

/// A throwaway directory with the three-question bank and a results path.
struct Class {
    /// Removed (with everything in it) when the test ends.
    _dir: TempDir,
    bank: PathBuf,
    results: PathBuf,
}

impl Class {
    fn new(tag: &str) -> Class {
        let dir = TempDir::new(tag);
        let bank = dir.write("three.txt", BANK);
        let results = dir.path().join("results.csv");
        Class {
            _dir: dir,
            bank,
            results,
        }
    }

    /// quizd on the bank in file order, on a free port.
    fn serve(&self) -> (Quizd, SocketAddr) {
        self.serve_with(&[])
    }

    /// The same with more options.
    fn serve_with(&self, extra: &[&str]) -> (Quizd, SocketAddr) {
        let mut args = vec![
            "--no-shuffle",
            "--results",
            text(&self.results),
            text(&self.bank),
        ];
        args.extend_from_slice(extra);
        Quizd::serve(&args)
    }

    /// The results file holds exactly one row, with this name, answers column and status.
    fn assert_single_row(&self, name: &str, answers: &str, status: &str) {
        let rows = results_rows(&self.results);
        assert_eq!(rows.len(), 1, "{rows:#?}");
        let r = &rows[0];
        assert_eq!(
            (r[NAME].as_str(), r[ANSWERS].as_str(), r[STATUS].as_str()),
            (name, answers, status)
        );
    }
}

/// Gives a name, answers every question, waits for the last line; returns the `Quiz over` line.
fn play(c: &mut Client, name: &str, answers: &[&str]) -> String {
    c.expect("name> ");
    c.send(name);
    for a in answers {
        c.expect("answer> ");
        c.send(a);
    }
    c.expect_line("Quiz over")
}

/// The rows of a results file, after checking it has exactly one header, first.
fn results_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("the results file exists");
    assert_eq!(text.lines().next(), Some(HEADER), "header first:\n{text}");
    assert_eq!(
        text.lines().filter(|l| *l == HEADER).count(),
        1,
        "one header:\n{text}"
    );
    csv_rows(&text)
}

/// CPU time (user + system) a process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let after = &stat[stat.rfind(')').expect("comm field") + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

/// Indices (from `among`) of the clients that have something to read, waiting until `want` of
/// them do. Blocks in poll(2) on the ones not yet readable, so it never spins.
fn wait_readable(clients: &[Client], among: &[usize], want: usize) -> Vec<usize> {
    let deadline = Instant::now() + PATIENCE;
    let mut pending = among.to_vec();
    let mut ready = Vec::new();
    while ready.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {want} connections got output within {PATIENCE:?}",
            ready.len()
        );
        let mut fds: Vec<libc::pollfd> = pending
            .iter()
            .map(|&i| libc::pollfd {
                fd: clients[i].stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let timeout = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        let nfds = libc::nfds_t::try_from(fds.len()).expect("few fds");
        // SAFETY: fds is a valid array of nfds pollfd structs that outlives the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout) };
        assert!(n >= 0, "poll: {}", io::Error::last_os_error());
        let mut still = Vec::new();
        for (fd, &i) in fds.iter().zip(&pending) {
            if fd.revents != 0 {
                ready.push(i);
            } else {
                still.push(i);
            }
        }
        pending = still;
    }
    ready
}

/// Starts quizd on `bank` with RLIMIT_NOFILE soft = hard = `limit` and room for 1000 students,
/// so running out of descriptors, not "server full", is what stops accepting.
fn serve_with_nofile(limit: libc::rlim_t, bank: &Path, results: &Path) -> (Quizd, SocketAddr) {
    let mut cmd = Quizd::command(&[
        "--listen",
        "127.0.0.1:0",
        "--max-clients",
        "1000",
        "--max-per-address",
        "0",
        "--no-shuffle",
        "--results",
        text(results),
        text(bank),
    ]);
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit, which
    // is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // quizd raises its soft limit to the hard one, so both are set.
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut q = Quizd::spawn(cmd);
    let addr = q.listening();
    assert!(
        q.log
            .last()
            .is_some_and(|l| l.contains(&format!("open-file limit {limit})"))),
        "{:#?}",
        q.log
    );
    (q, addr)
}

/// Connects `total` clients to a server that runs out of descriptors part-way; waits for the
/// `accept paused` line and returns the clients, the indices of those accepted (greeted) and
/// of those left waiting in the kernel's backlog.
fn overfill(
    q: &mut Quizd,
    addr: SocketAddr,
    total: usize,
) -> (Vec<Client>, Vec<usize>, Vec<usize>) {
    let clients: Vec<Client> = (0..total).map(|_| Client::connect(addr)).collect();
    let paused = q.wait_for("`accept paused` line", |l| l.contains("accept paused"));
    // "accept paused: ... (N connected); ...": N were accepted; the rest wait in the backlog.
    let served: usize = paused
        .split(" connected)")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {paused:?}"));
    assert!(
        served > 10 && served < total,
        "{served} accepted: {paused:?}"
    );
    // Exactly those got their greeting; which ones they are is up to the kernel's queue.
    let all: Vec<usize> = (0..total).collect();
    let greeted = wait_readable(&clients, &all, served);
    let waiting: Vec<usize> = all.into_iter().filter(|i| !greeted.contains(i)).collect();
    assert!(
        waiting.iter().all(|&i| nothing_arrived(&clients[i])),
        "more than the {served} accepted connections got output"
    );
    (clients, greeted, waiting)
}

/// True when the client has nothing to read right now (nothing has been sent to it).
fn nothing_arrived(c: &Client) -> bool {
    let mut fd = libc::pollfd {
        fd: c.stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n == 0
}

#[test]
fn out_of_range_times_are_refused_at_the_command_line_not_by_a_crash() {
    for args in [
        ["--time-limit", "18446744073709551615"],
        ["--time-limit", "86401"],
        ["--idle-timeout", "0"],
    ] {
        let out = Quizd::command(&args).output().expect("run quizd");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: invalid value"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_port_already_in_use_exits_1_with_one_clear_line_and_never_listens() {
    let dir = TempDir::new("cli-port");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = taken.local_addr().expect("local addr").to_string();
    let results = dir.path().join("results.csv");
    let (status, _, log) = Quizd::run(&["--listen", &addr, "--results", text(&results)]);
    assert_eq!(status.code(), Some(1), "stderr: {log:#?}");
    let want = format!("quizd: cannot listen on {addr}: address already in use");
    // Log lines (`[time LEVEL] ...`) aside, that one line is all there is.
    let plain: Vec<&String> = log.iter().filter(|l| !l.starts_with('[')).collect();
    assert_eq!(plain, vec![&want], "stderr: {log:#?}");
    assert!(!log.iter().any(|l| l.contains("listening on")), "{log:#?}");
    // Held until quizd has tried (and failed) to bind it.
    drop(taken);
}

#[test]
fn a_bad_bank_exits_1_listing_every_problem_as_file_line_and_never_listens() {
    let dir = TempDir::new("cli-badbank");
    let bank = dir.write("bad.txt", BAD_BANK);
    let results = dir.path().join("results.csv");
    let log = Quizd::refuses_to_start(&results, &bank);
    let file = text(&bank);
    for want in [
        format!("{file}:4: ANSWER names option C but the question has 2 options (A to B)"),
        format!("{file}:8: option C is out of order: expected B"),
    ] {
        assert!(log.contains(&want), "missing {want:?} in {log:#?}");
    }
    let located = log.iter().filter(|l| l.starts_with(file)).count();
    assert_eq!(located, 2, "one FILE:LINE line per problem: {log:#?}");
    assert!(
        log.iter()
            .any(|l| l == "quizd: 2 problem(s) in the question banks; fix them and start again"),
        "{log:#?}"
    );
}

#[test]
fn check_on_a_good_bank_prints_ok_with_the_question_count_and_exits_0() {
    let dir = TempDir::new("cli-check-good");
    let bank = dir.write("three.txt", BANK);
    let (status, stdout, log) = Quizd::run(&["--check", text(&bank)]);
    assert_eq!(status.code(), Some(0), "stderr: {log:#?}");
    assert_eq!(stdout, format!("{}: ok, 3 questions\n", text(&bank)));
}

#[test]
fn check_on_a_bad_bank_exits_1_with_a_file_line_message_per_problem() {
    let dir = TempDir::new("cli-check-bad");
    let bank = dir.write("bad.txt", BAD_BANK);
    let file = text(&bank);
    let (status, stdout, log) = Quizd::run(&["--check", file]);
    assert_eq!(status.code(), Some(1), "stderr: {log:#?}");
    assert_eq!(stdout, "", "nothing is ok");
    assert_eq!(
        log,
        vec![
            format!("{file}:4: ANSWER names option C but the question has 2 options (A to B)"),
            format!("{file}:8: option C is out of order: expected B"),
            "quizd: 2 problem(s) found".to_string(),
        ]
    );
}

#[test]
fn check_on_a_bad_gift_bank_reports_each_problem_at_its_line() {
    let dir = TempDir::new("cli-check-gift");
    let good = dir.write("good.gift", "::t:: Is UDP connectionless? {T}\n");
    let bad = dir.write(
        "bad.gift",
        "// One problem, one question quizd cannot ask, one good question.\nThe {1:MULTICHOICE:=red~blue} car.\n\nOK? {T}\n\nPort? {#eighty}\n",
    );
    let (status, stdout, log) = Quizd::run(&["--check", text(&good), text(&bad)]);
    assert_eq!(status.code(), Some(1), "stderr: {log:#?}");
    assert_eq!(stdout, format!("{}: ok, 1 questions\n", text(&good)));
    let file = text(&bad);
    assert_eq!(
        log,
        vec![
            format!("{file}:6: \"eighty\" is not a number: write numbers like 42, -2, 3.14 or 1e3"),
            format!(
                "{file}:2: warning: skipped: embedded answers (cloze, {{1:MULTICHOICE:...}}), which quizd cannot ask in a terminal"
            ),
            "quizd: 1 problem(s) found".to_string(),
        ]
    );
    // With only questions it cannot ask, the bank serves the rest, and --check says so
    // with status 3.
    let skips = dir.write(
        "skips.gift",
        "The {1:MULTICHOICE:=red~blue} car.\n\nOK? {T}\n",
    );
    let (status, stdout, log) = Quizd::run(&["--check", text(&skips)]);
    assert_eq!(status.code(), Some(3), "stderr: {log:#?}");
    assert_eq!(
        stdout,
        format!("{}: ok, 1 of 2 questions (1 skipped)\n", text(&skips))
    );
    assert_eq!(
        log.last().map(String::as_str),
        Some("quizd: 1 question(s) would be skipped")
    );
    // A bank of nothing quizd can ask is no mistake either (Moodle imports it): status 3.
    let matching = dir.write("cloze.gift", "The {1:MULTICHOICE:=red~blue} car.\n");
    let (status, stdout, log) = Quizd::run(&["--check", text(&matching)]);
    assert_eq!(status.code(), Some(3), "stderr: {log:#?}");
    assert_eq!(
        stdout,
        format!("{}: nothing quizd can ask (1 skipped)\n", text(&matching))
    );
}

#[test]
fn a_gift_bank_is_served_with_hint_lines_feedback_and_typed_answers_in_the_results() {
    let dir = TempDir::new("cli-gift");
    let results = dir.path().join("results.csv");
    let bank = repo().join("questions/networks.gift");
    // Killed when the test ends; the row is on disk once "Quiz over" has arrived.
    let (_quizd, addr) = Quizd::serve(&[
        "--no-shuffle",
        "--count",
        "3",
        "--results",
        text(&results),
        text(&bank),
    ]);
    let mut c = Client::connect(addr);
    c.expect("name> ");
    c.send("frank");
    // Wrapped at 80 columns, between words.
    let hello = c.expect("a few words.\r\n");
    assert!(
        hello.ends_with(
            "the letter of your choice, true or\r\nfalse, the letters of every answer that \
             applies, a letter for each numbered\r\nitem, a number, or a few words.\r\n"
        ),
        "{hello:?}"
    );
    c.expect_line("Your resume code is ");
    c.expect_line("connect again with the same name");
    assert_eq!(
        c.expect("answer> "),
        "\r\nQuestion 1 of 3 (30 s)\r\nHow many bits long is an IPv4 address?\r\n\
         Type a number.\r\nanswer> "
    );
    c.send("32");
    assert_eq!(c.expect_line("Correct!"), "Correct! Score: 1/1");
    c.expect("Type a number.\r\nanswer> ");
    c.send("64");
    assert_eq!(
        c.expect_line("Wrong."),
        "Wrong. The answer was 128. Score: 1/2"
    );
    c.send("/quit");
    c.expect_line("Quiz over, frank: you scored 1 out of 3");
    let rows = results_rows(&results);
    assert_eq!(rows[0][ANSWERS], r#"1:"32" 2:"64" 3:-"#);
    assert_eq!(rows[0][STATUS], "quit");
}

#[test]
fn check_on_a_directory_checks_every_bank_in_it() {
    let questions = repo().join("questions");
    let count: usize = std::fs::read_dir(&questions)
        .expect("questions/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| match p.extension().and_then(|x| x.to_str()) {
            Some("txt") => aiken_questions(&p),
            Some("gift") => gift_questions(&p),
            _ => 0,
        })
        .sum();
    let (status, stdout, log) = Quizd::run(&["--check", text(&questions)]);
    assert_eq!(status.code(), Some(0), "stderr: {log:#?}");
    assert_eq!(
        stdout,
        format!("{}: ok, {count} questions\n", text(&questions))
    );
}

#[test]
fn check_without_a_bank_checks_the_bundled_bank() {
    let count = aiken_questions(&repo().join("questions/sockets.txt"));
    let (status, stdout, log) = Quizd::run(&["--check"]);
    assert_eq!(status.code(), Some(0), "stderr: {log:#?}");
    assert_eq!(
        stdout,
        format!("(bundled) sockets.txt: ok, {count} questions\n")
    );
}

#[test]
fn an_unopenable_results_file_exits_1_with_one_clear_line_and_never_listens() {
    let dir = TempDir::new("cli-results-dir");
    // A directory where the results file should be.
    let results = dir.path().join("results.csv");
    std::fs::create_dir(&results).expect("create dir");
    let bank = dir.write("three.txt", BANK);
    let log = Quizd::refuses_to_start(&results, &bank);
    let want = format!(
        "quizd: cannot open results file {}: is a directory",
        text(&results)
    );
    let plain: Vec<&String> = log.iter().filter(|l| !l.starts_with('[')).collect();
    assert_eq!(plain, vec![&want], "stderr: {log:#?}");
}

#[test]
fn without_a_bank_it_serves_the_bundled_sockets_quiz_from_any_directory() {
    let dir = TempDir::new("cli-bundled");
    let sockets = repo().join("questions/sockets.txt");
    let count = aiken_questions(&sockets);
    let first_question = std::fs::read_to_string(&sockets)
        .expect("read sockets.txt")
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .expect("a first line")
        .to_string();
    let results = dir.path().join("results.csv");
    let mut cmd = Quizd::command(&[
        "--listen",
        "127.0.0.1:0",
        "--no-shuffle",
        "--results",
        text(&results),
    ]);
    // A directory with no questions/ in it: the bank must come from the binary itself.
    cmd.current_dir(dir.path());
    let mut q = Quizd::spawn(cmd);
    let addr = q.listening();
    let mut c = Client::connect(addr);
    c.expect_line(&format!("Welcome to quizd: sockets. {count} questions"));
    c.expect("name> ");
    c.send("alice");
    c.expect_line(&format!("Question 1 of {count}"));
    // The bank's text, wrapped at 80 columns between words.
    let shown = c.expect("answer> ");
    let text: String = shown
        .split("\r\n")
        .take_while(|l| !l.starts_with("  a) "))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(text, first_question);
    assert!(
        shown.split("\r\n").all(|l| l.chars().count() <= 80),
        "{shown}"
    );
    c.send("/quit");
    c.read_to_end();
    q.terminate();
    assert!(q.wait_exit(PATIENCE).success(), "{:#?}", q.log);
}

#[test]
fn sigterm_mid_quiz_tells_every_student_saves_each_named_attempt_and_exits_0_within_2_s() {
    let class = Class::new("cli-sigterm");
    let results = &class.results;
    let (mut q, addr) = class.serve();
    // Name, answers given before the signal, and the answers column expected for them.
    let plan: [(&str, &[&str], &str); 5] = [
        ("ann", &["b"], "1:b 2:- 3:-"),
        ("ben", &["a", "c"], "1:a 2:c 3:-"),
        ("cat", &[], "1:- 2:- 3:-"),
        ("dan", &["d"], "1:d 2:- 3:-"),
        ("eve", &["d", "b"], "1:d 2:b 3:-"),
    ];
    let mut students: Vec<Client> = plan
        .iter()
        .map(|(name, answers, _)| {
            let mut c = Client::connect(addr);
            c.join(name);
            for a in *answers {
                c.send(a);
                // The next question's prompt: the answer was taken.
                c.expect("answer> ");
            }
            c
        })
        .collect();
    let mut lurker = Client::connect(addr);
    lurker.expect("name> ");

    let signalled = Instant::now();
    q.terminate();
    for c in students.iter_mut().chain(std::iter::once(&mut lurker)) {
        c.expect_line("Server is shutting down; your answers so far are saved.");
    }
    // Nobody hangs up: the worst case, in which quizd waits out its grace period.
    let status = q.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    for c in students.iter_mut().chain(std::iter::once(&mut lurker)) {
        assert_eq!(c.read_to_end(), "", "nothing after the shutdown line");
    }
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", q.log);
    assert!(
        took < Duration::from_millis(2500),
        "exit took {took:?} after SIGTERM (contract: within 2 s)"
    );

    let rows = results_rows(results);
    assert_eq!(
        rows.len(),
        plan.len(),
        "one row per named student, none for the one without a name: {rows:#?}"
    );
    for (name, _, answers) in plan {
        let row = rows
            .iter()
            .find(|r| r[NAME] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:#?}"));
        assert_eq!(row[STATUS], "shutdown", "{row:?}");
        assert_eq!(row[ANSWERS], answers, "{row:?}");
    }
}

#[test]
fn a_second_sigterm_during_shutdown_exits_at_once_with_status_1_and_rows_saved() {
    let class = Class::new("cli-sigterm2");
    let (mut q, addr) = class.serve();
    // A student who never closes: the first signal's shutdown would wait out its grace period.
    let mut c = Client::connect(addr);
    c.join("ann");
    c.send("b");
    c.expect("answer> ");
    q.terminate();
    c.expect_line("Server is shutting down");
    q.wait_for("the shutdown log line", |l| l.contains("shutting down"));
    let second = Instant::now();
    q.terminate();
    let status = q.wait_exit(PATIENCE);
    let took = second.elapsed();
    assert_eq!(status.code(), Some(1), "stderr: {:#?}", q.log);
    // Without the second signal quizd would wait its 1.5 s grace for the student to hang up.
    assert!(
        took < Duration::from_secs(1),
        "exit took {took:?} after the second signal"
    );
    assert_eq!(q.logged("second signal"), 1, "{:#?}", q.log);
    class.assert_single_row("ann", "1:b 2:- 3:-", "shutdown");
}

#[test]
fn two_hundred_students_connecting_at_once_all_finish_with_the_right_scores() {
    const STUDENTS: usize = 200;
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let class = Class::new("cli-200");
    let results = &class.results;
    // All from 127.0.0.1, as a class behind one NAT would be.
    let (mut q, addr) = class.serve_with(&["--max-per-address", "0"]);
    // Student i gets question 1 right, question 2 right when i is even, question 3 when i is a
    // multiple of 3.
    let answers = |i: usize| -> [&str; 3] {
        [
            RIGHT[0],
            if i.is_multiple_of(2) { RIGHT[1] } else { "a" },
            if i.is_multiple_of(3) { RIGHT[2] } else { "b" },
        ]
    };
    let score = |i: usize| 1 + usize::from(i.is_multiple_of(2)) + usize::from(i.is_multiple_of(3));
    let name = |i: usize| format!("student{i:03}");

    // Everyone connects before anyone is served...
    let mut clients: Vec<Client> = (0..STUDENTS).map(|_| Client::connect(addr)).collect();
    // ...then all of them take the quiz side by side, one step each in turn.
    for (i, c) in clients.iter_mut().enumerate() {
        c.expect("name> ");
        c.send(&name(i));
    }
    for question in 0..3 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.expect("answer> ");
            c.send(answers(i)[question]);
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let over = c.expect_line("Quiz over");
        assert!(
            over.contains(&format!("{}: you scored {} out of 3", name(i), score(i))),
            "{over}"
        );
        assert_eq!(c.read_to_end(), "", "the server closes after the last line");
    }
    drop(clients);
    q.terminate();
    assert_eq!(q.wait_exit(PATIENCE).code(), Some(0), "{:#?}", q.log);

    let rows = results_rows(results);
    assert_eq!(rows.len(), STUDENTS);
    for i in 0..STUDENTS {
        let row = rows
            .iter()
            .find(|r| r[NAME] == name(i))
            .unwrap_or_else(|| panic!("no row for {}", name(i)));
        assert_eq!(row[STATUS], "completed", "{row:?}");
        assert_eq!(
            (row[SCORE].as_str(), row[MAX].as_str()),
            (score(i).to_string().as_str(), "3"),
            "{row:?}"
        );
        let a = answers(i);
        assert_eq!(row[ANSWERS], format!("1:{} 2:{} 3:{}", a[0], a[1], a[2]));
    }
}

#[test]
fn out_of_descriptors_accept_pauses_without_spinning_and_resumes_when_students_leave() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let dir = TempDir::new("cli-emfile");
    let bank = dir.write("three.txt", BANK);
    let results = dir.path().join("results.csv");
    let (mut q, addr) = serve_with_nofile(64, &bank, &results);
    let (mut clients, greeted, waiting) = overfill(&mut q, addr, 90);

    // Not spinning: over half a second, well under half a CPU.
    // SAFETY: sysconf takes no pointers.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).expect("clock ticks");
    let before = cpu_ticks(q.pid());
    let window = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let used = cpu_ticks(q.pid()) - before;
    let elapsed = window.elapsed();
    assert!(
        used < hz / 4,
        "quizd used {used} clock ticks ({hz}/s) in {elapsed:?} while accept was paused: spinning"
    );
    // Still paused: nobody waiting has been let in without a descriptor coming free.
    assert!(waiting.iter().all(|&i| nothing_arrived(&clients[i])));

    // Students leave; each freed descriptor lets one waiting connection in.
    let leaving = 40.max(waiting.len()).min(greeted.len());
    for &i in &greeted[..leaving] {
        let c = &mut clients[i];
        c.expect("name> ");
        c.send("/quit");
        assert_eq!(c.read_to_end(), "Bye.\r\n");
        // Close our side too: the server sees EOF and frees the descriptor.
        c.stream.shutdown(std::net::Shutdown::Both).ok();
    }
    // Every connection that waited is greeted (no stall) and can take the whole quiz.
    for &i in &waiting {
        clients[i].expect("name> ");
        clients[i].send(&format!("late{i}"));
    }
    for right in RIGHT {
        for &i in &waiting {
            clients[i].expect("answer> ");
            clients[i].send(right);
        }
    }
    for &i in &waiting {
        let over = clients[i].expect_line("Quiz over");
        assert!(over.contains("scored 3 out of 3"), "{over}");
    }
    drop(clients);
    q.terminate();
    assert_eq!(q.wait_exit(PATIENCE).code(), Some(0), "{:#?}", q.log);
    let rows = results_rows(&results);
    assert_eq!(rows.len(), waiting.len(), "{rows:#?}");
    assert!(
        rows.iter()
            .all(|r| r[STATUS] == "completed" && r[SCORE] == "3")
    );
}

#[test]
fn accept_paused_is_logged_once_while_the_server_stays_at_the_descriptor_limit() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let dir = TempDir::new("cli-emfile-log");
    let bank = dir.write("three.txt", BANK);
    let results = dir.path().join("results.csv");
    let (mut q, addr) = serve_with_nofile(64, &bank, &results);
    let (clients, greeted, waiting) = overfill(&mut q, addr, 90);
    // Students leave one at a time, each letting one waiting connection in; some are still
    // waiting at the end, so the server never leaves the limit: one pause throughout.
    let mut still_waiting = waiting.clone();
    let leaving = waiting.len().saturating_sub(5).min(greeted.len());
    for &i in &greeted[..leaving] {
        clients[i].stream.shutdown(std::net::Shutdown::Both).ok();
        let let_in = wait_readable(&clients, &still_waiting, 1);
        still_waiting.retain(|i| !let_in.contains(i));
    }
    assert_eq!(still_waiting.len(), waiting.len() - leaving);
    drop(clients);
    q.terminate();
    q.wait_exit(PATIENCE);
    assert_eq!(
        q.logged("accept paused"),
        1,
        "{leaving} students left while the server stayed at its limit:\n{}",
        q.log.join("\n")
    );
}

#[test]
fn telnet_ctrl_c_is_answered_with_wont_timing_mark_and_asks_and_a_second_leaves_saved_as_quit() {
    let class = Class::new("cli-ctrlc");
    let (mut q, addr) = class.serve();
    let mut c = Client::connect(addr);
    c.join("dave");
    // What Linux telnet sends on Ctrl-C: IAC IP, IAC DO TIMING-MARK.
    c.send_raw(&[0xFF, 0xF4, 0xFF, 0xFD, 0x06]);
    let before = c.expect_bytes(b"Leave the quiz for good?");
    assert!(
        before.starts_with(&[0xFF, 0xFC, 0x06]),
        "IAC WONT TIMING-MARK must come first, or telnet hides the rest: {before:02x?}"
    );
    c.expect("answer> ");
    // A second Ctrl-C in a row leaves.
    c.send_raw(&[0xFF, 0xF4, 0xFF, 0xFD, 0x06]);
    let before = c.expect_bytes(b"You left the quiz");
    assert!(before.starts_with(&[0xFF, 0xFC, 0x06]), "{before:02x?}");
    assert_eq!(
        c.expect_line("Quiz over"),
        "Quiz over, dave: you scored 0 out of 3 (0%)."
    );
    assert_eq!(c.read_to_end(), "", "the server closes after the last line");
    drop(c);
    q.terminate();
    assert_eq!(q.wait_exit(PATIENCE).code(), Some(0), "{:#?}", q.log);
    class.assert_single_row("dave", "1:- 2:- 3:-", "quit");
}

#[test]
fn the_results_file_is_appended_across_runs_never_truncated() {
    let class = Class::new("cli-append");
    let results = &class.results;
    for name in ["alice", "bob"] {
        let (mut q, addr) = class.serve();
        let mut c = Client::connect(addr);
        let over = play(&mut c, name, &RIGHT);
        assert!(over.contains("scored 3 out of 3"), "{over}");
        c.read_to_end();
        drop(c);
        q.terminate();
        assert_eq!(q.wait_exit(PATIENCE).code(), Some(0), "{:#?}", q.log);
    }
    let rows = results_rows(results);
    let names: Vec<&str> = rows.iter().map(|r| r[NAME].as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(rows.iter().all(|r| r[STATUS] == "completed"));
}

/// Every way a process is told to stop (Ctrl-C, `kill`, the teacher's terminal or ssh session
/// closing, Ctrl-\\) saves the attempts in progress and exits 0.
#[test]
fn sigint_sighup_and_sigquit_stop_the_server_cleanly_like_sigterm() {
    for (signal, name) in [
        (libc::SIGINT, "sigint"),
        (libc::SIGHUP, "sighup"),
        (libc::SIGQUIT, "sigquit"),
    ] {
        let class = Class::new(&format!("cli-{name}"));
        let results = &class.results;
        let (mut q, addr) = class.serve();
        let mut c = Client::connect(addr);
        c.join("ann");
        let pid = libc::pid_t::try_from(q.pid()).expect("pid fits pid_t");
        // SAFETY: kill takes no pointers; the child is not reaped yet, so the pid is still ours.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        c.expect_line("Server is shutting down; your answers so far are saved.");
        assert_eq!(c.read_to_end(), "");
        // Hanging up lets quizd exit without waiting out its grace period.
        drop(c);
        assert_eq!(
            q.wait_exit(PATIENCE).code(),
            Some(0),
            "{name}: {:#?}",
            q.log
        );
        let rows = results_rows(results);
        assert_eq!(rows.len(), 1, "{name}: {rows:#?}");
        assert_eq!(rows[0][STATUS], "shutdown");
    }
}

/// The built `quizd-load` with `args`; waits for it (a run that finishes by itself, bounded by
/// its own `--time-bound`); returns its status, stdout and stderr.
fn quizd_load(args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quizd-load"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the quizd-load binary");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number after `"key":` in a one-line JSON report.
fn json_number(json: &str, key: &str) -> u64 {
    let tag = format!("\"{key}\":");
    let at = json
        .find(&tag)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + tag.len();
    json[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{key} is not a number in {json}"))
}

#[test]
fn quizd_load_runs_a_class_against_the_built_server_and_reports_json() {
    let class = Class::new("cli-load");
    let (mut q, addr) = class.serve();
    let addr = addr.to_string();
    let pid = q.pid().to_string();
    let (status, stdout, stderr) = quizd_load(&[
        &addr,
        "-n",
        "40",
        "--sources",
        "2",
        "--json",
        "-q",
        "--pid",
        &pid,
    ]);
    assert_eq!(status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let json = stdout.trim();
    assert_eq!(json.lines().count(), 1, "{stdout}");
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert_eq!(json_number(json, "completed"), 40);
    assert_eq!(json_number(json, "failed"), 0);
    assert_eq!(json_number(json, "answers"), 120);
    assert!(json_number(json, "rss_before") > 0, "{json}");
    q.terminate();
    assert_eq!(q.wait_exit(PATIENCE).code(), Some(0), "{:#?}", q.log);
    assert_eq!(results_rows(&class.results).len(), 40);
}

#[test]
fn quizd_load_at_a_closed_port_exits_1_saying_nothing_listens() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        l.local_addr().expect("its address")
    };
    let (status, stdout, stderr) = quizd_load(&[&addr.to_string(), "-n", "3", "-q"]);
    assert_eq!(status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(
        stderr.trim(),
        format!("quizd-load: cannot connect to {addr}: connection refused (is quizd running?)")
    );
}

#[test]
fn quizd_load_usage_errors_exit_2() {
    for args in [
        &["--answers", "a1"][..],
        &["--think", "900-100"],
        &["-n", "0"],
        &["--name-prefix", "a-very-long-prefix-for-names-x"],
    ] {
        let (status, _, stderr) = quizd_load(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.is_empty(), "{args:?}: says why");
    }
}

#[test]
fn quizd_load_compares_quizd_with_the_raw_baseline_in_one_run() {
    let class = Class::new("cli-compare");
    let (_quizd, addr) = class.serve();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quizd-baseline"));
    cmd.args(["--listen", "127.0.0.1:0", "-n", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut baseline = Quizd::spawn(cmd);
    let line = baseline.wait_for("the baseline's listening line", |l| {
        l.starts_with("quizd-baseline: listening on ")
    });
    let baseline_addr = line.rsplit(' ').next().unwrap_or_default().to_string();

    let (status, stdout, stderr) = quizd_load(&[
        &addr.to_string(),
        "-n",
        "20",
        "--compare",
        &baseline_addr,
        "--rounds",
        "2",
        "--json",
        "-q",
    ]);
    baseline.terminate();
    assert_eq!(status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let json = stdout.trim();
    assert_eq!(json.lines().count(), 1, "one JSON line: {json}");
    assert!(json.starts_with("{\"compare\":[{\"addr\":"), "{json}");
    assert!(
        json.contains(&format!("\"addr\":\"{baseline_addr}\"")),
        "{json}"
    );
    assert_eq!(json_number(json, "rounds"), 2);
    assert!(json_number(json, "answers_per_sec") > 0, "{json}");
    // Two rounds of 20 students each against quizd: 40 rows.
    let rows = csv_rows(&std::fs::read_to_string(&class.results).unwrap_or_default());
    assert_eq!(rows.len(), 40);
}

/// The address in a `teacher console on ADDR (...)` log line.
fn console_addr(q: &mut Quizd) -> SocketAddr {
    let line = q.wait_for("the console line", |l| l.contains("teacher console on "));
    let rest = &line[line.find("teacher console on ").expect("just matched") + 19..];
    let addr = rest.split(' ').next().unwrap_or(rest);
    addr.parse()
        .unwrap_or_else(|e| panic!("bad address {addr:?} in {line:?}: {e}"))
}

#[test]
fn the_teacher_console_takes_the_token_from_the_environment_and_answers_status() {
    let class = Class::new("cli-console");
    let mut cmd = Quizd::command(&[
        "--listen",
        "127.0.0.1:0",
        "--results",
        text(&class.results),
        text(&class.bank),
    ]);
    cmd.env("QUIZD_ADMIN_TOKEN", "from-env-7");
    let mut q = Quizd::spawn(cmd);
    q.listening();
    let admin = console_addr(&mut q);
    let mut t = Client::connect(admin);
    t.expect("token> ");
    t.send("from-env-7");
    t.expect_line("ok: token accepted");
    t.expect("admin> ");
    t.send("status");
    t.expect_line("mode");
    t.expect(".\r\nadmin> ");
    assert!(
        !q.log.iter().any(|l| l.contains("from-env-7")),
        "a token the teacher chose is never logged"
    );
}

#[test]
fn a_console_token_shorter_than_eight_characters_is_refused_at_start() {
    let class = Class::new("cli-short-token");
    let (status, _, log) = Quizd::run(&[
        "--listen",
        "127.0.0.1:0",
        "--admin-token",
        "1234567",
        "--results",
        text(&class.results),
        text(&class.bank),
    ]);
    assert_eq!(status.code(), Some(2), "{log:#?}");
    assert!(
        log.iter()
            .any(|l| l.contains("the console token must be at least 8 characters")),
        "{log:#?}"
    );
    assert!(!log.iter().any(|l| l.contains("listening on")));
}

#[test]
fn without_a_token_a_random_one_is_logged_once_and_works() {
    let class = Class::new("cli-token");
    let mut q = Quizd::start(&[
        "--listen",
        "127.0.0.1:0",
        "--results",
        text(&class.results),
        text(&class.bank),
    ]);
    let line = q.wait_for("the token line", |l| l.contains("teacher console token: "));
    let token = line[line.find("token: ").expect("just matched") + 7..]
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(token.len(), 16, "{line}");
    let admin = console_addr(&mut q);
    let mut t = Client::connect(admin);
    t.expect("token> ");
    t.send(&token);
    t.expect_line("ok: token accepted");
}

#[test]
fn a_console_port_in_use_is_a_clear_start_up_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let class = Class::new("cli-console-busy");
    let (status, _, log) = Quizd::run(&[
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        &addr,
        "--results",
        text(&class.results),
        text(&class.bank),
    ]);
    assert_eq!(status.code(), Some(1));
    assert!(
        log.iter().any(|l| l.contains(&format!(
            "quizd: cannot listen on {addr} for the teacher console: address already in use"
        ))),
        "{log:?}"
    );
}

#[test]
fn live_only_options_are_refused_in_a_self_paced_quiz_and_speed_needs_a_clock() {
    let class = Class::new("cli-live-usage");
    for (args, says) in [
        (
            vec!["--auto-next", "5"],
            "--auto-next and --scoring apply to --mode live only",
        ),
        (
            vec!["--mode", "live", "--scoring", "speed", "-t", "0"],
            "--scoring speed needs a time limit",
        ),
    ] {
        let mut all = vec!["--listen", "127.0.0.1:0", "--results", text(&class.results)];
        all.extend(args);
        all.push(text(&class.bank));
        let (status, _, log) = Quizd::run(&all);
        assert_eq!(status.code(), Some(2), "{log:?}");
        assert!(log.iter().any(|l| l.contains(says)), "{log:?}");
    }
}

#[test]
fn help_fits_an_80_column_terminal_and_breaks_only_between_words() {
    let (status, stdout, _) = Quizd::run(&["--help"]);
    assert!(status.success());
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    // A sentence that used to run past 80 columns is still there, wrapped at a space.
    let words: Vec<&str> = stdout.split_whitespace().collect();
    assert!(
        words
            .windows(3)
            .any(|w| w == ["its", "bundled", "socket-programming"]),
        "{stdout}"
    );
}
