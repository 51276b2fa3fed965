//! Crashes, end to end: the built binary killed with SIGKILL (nothing runs after it: no
//! shutdown, no flush), started again on the same results file, and its students carrying on
//! with their names and resume codes. Whatever a student was told (a verdict, `Quiz over`) is
//! in their single row afterwards.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::binary::{ANSWERS, NAME, POINTS, Quizd, SCORE, STATUS, text};
use common::{Client, PATIENCE, TempDir, csv_rows};

/// Six questions whose right answer is `a` (the bank's order and lettering with
/// `--no-shuffle`).
const BANK: &str = "\
Which call binds a socket to a local address?
A) bind()
B) connect()
ANSWER: A

What does read() returning 0 mean on a TCP socket?
A) The peer closed its side
B) No data yet
ANSWER: A

Which layer does TCP belong to?
A) Transport
B) Network
ANSWER: A

Which call waits for a connection?
A) accept()
B) send()
ANSWER: A

What does SO_REUSEADDR allow?
A) Binding a port in TIME_WAIT
B) Two listeners on any port
ANSWER: A

Which signal cannot be caught?
A) SIGKILL
B) SIGTERM
ANSWER: A
";

const QUESTIONS: usize = 6;
const ALL_RIGHT: &str = "1:a 2:a 3:a 4:a 5:a 6:a";
const TOKEN: &str = "crash-test-token";

/// Kills quizd as the OOM killer or a power cut would: nothing of it runs afterwards.
fn kill9(q: &mut Quizd) {
    let pid = libc::pid_t::try_from(q.pid()).expect("pid fits pid_t");
    // SAFETY: kill takes no pointers; the child is not reaped yet, so the pid is still ours.
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill: {}", io::Error::last_os_error());
    let status = q.wait_exit(PATIENCE);
    assert!(!status.success(), "killed, not exited: {status:?}");
}

/// The resume code in the greeting (`Your resume code is XXXXXX ...`).
fn code_in(hello: &str) -> String {
    let at = hello
        .find("resume code is ")
        .expect("the greeting gives a code")
        + 15;
    hello[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// A class's directory: its bank and results file, and the command line serving them.
struct Setup {
    dir: TempDir,
    bank: std::path::PathBuf,
    results: std::path::PathBuf,
}

impl Setup {
    fn new(tag: &str, bank: &str) -> Setup {
        let dir = TempDir::new(tag);
        let bank = dir.write("sockets.txt", bank);
        let results = dir.path().join("results.csv");
        Setup { dir, bank, results }
    }

    /// `OPTIONS --results RESULTS BANK`.
    fn args<'a>(&'a self, options: &[&'a str]) -> Vec<&'a str> {
        let mut args = options.to_vec();
        args.extend(["--results", text(&self.results), text(&self.bank)]);
        args
    }
}

/// Answers `a` to each question from `next` to the last, seeing each verdict.
fn answer_rest(c: &mut Client, next: usize, of: usize) {
    for _ in next..of {
        c.expect("answer> ");
        c.send("a");
        c.expect_line("Correct!");
    }
}

fn rows(results: &Path) -> Vec<Vec<String>> {
    csv_rows(&std::fs::read_to_string(results).expect("results file"))
}

fn stop(q: &mut Quizd) {
    q.terminate();
    assert!(q.wait_exit(PATIENCE).success(), "{}", q.log.join("\n"));
}

/// Takes up `name`'s attempt from a new connection with `code`; returns the welcome line.
fn resume(addr: SocketAddr, name: &str, code: &str) -> (Client, String) {
    let mut c = Client::connect(addr);
    c.expect("name> ");
    c.send(name);
    c.expect("code> ");
    c.send(code);
    let welcome = c.expect_line("Welcome back");
    (c, welcome)
}

#[test]
fn twenty_students_mid_quiz_killed_with_sigkill_resume_with_their_codes_and_finish_with_every_answer()
 {
    let class = Setup::new("crash-twenty", BANK);
    let (results, dir) = (&class.results, &class.dir);
    let args = class.args(&["--no-shuffle", "--time-limit", "0"]);
    let (mut q, addr) = Quizd::serve(&args);
    let mut class = Vec::new();
    for i in 0..20 {
        let name = format!("student{i:02}");
        let mut c = Client::connect(addr);
        c.expect("name> ");
        c.send(&name);
        let hello = c.expect("answer> ");
        let code = code_in(&hello);
        // From one to five answers each, every one with its verdict seen.
        let answered = i % 5 + 1;
        for _ in 0..answered {
            c.send("a");
            c.expect_line("Correct!");
            c.expect("answer> ");
        }
        class.push((name, code, answered, c));
    }
    kill9(&mut q);
    let journal = dir.path().join("results.csv.journal");
    let mode = std::fs::metadata(&journal).expect("the journal is beside the results");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600,
        "it holds resume codes"
    );
    assert!(rows(results).is_empty(), "nobody had finished");

    let (mut q, addr) = Quizd::serve(&args);
    let recovered = q.wait_for("the recovery line", |l| {
        l.contains("recovered from the journal")
    });
    assert!(
        recovered.contains("20 attempt(s) in progress brought back with 60 answer(s)"),
        "{recovered}"
    );
    for (name, code, answered, old) in class {
        drop(old);
        let (mut c, welcome) = resume(addr, &name, &code);
        assert_eq!(
            welcome,
            format!("Welcome back, {name}. Score so far: {answered}/{answered}.")
        );
        c.expect(&format!("Question {} of {QUESTIONS}", answered + 1));
        answer_rest(&mut c, answered, QUESTIONS);
        c.expect_line(&format!("Quiz over, {name}: you scored 6 out of 6"));
    }
    stop(&mut q);
    let rows = rows(results);
    assert_eq!(rows.len(), 20, "one row each: {rows:?}");
    for row in &rows {
        assert_eq!(
            (&*row[SCORE], &*row[ANSWERS], &*row[STATUS]),
            ("6", ALL_RIGHT, "completed"),
            "{row:?}"
        );
    }
    let mut names: Vec<&str> = rows.iter().map(|r| &*r[NAME]).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20);
    let journal = std::fs::metadata(&journal).expect("journal").len();
    assert!(
        journal < 200,
        "nothing is open after a clean stop: the journal is emptied ({journal} bytes)"
    );
}

/// The console of a live quiz: the token given, commands typed.
struct Console(Client);

impl Console {
    fn open(q: &mut Quizd) -> Console {
        let seen = q
            .log
            .iter()
            .find(|l| l.contains("teacher console on "))
            .cloned();
        let line = seen.unwrap_or_else(|| {
            q.wait_for("the console line", |l| l.contains("teacher console on "))
        });
        let rest = &line[line.find("teacher console on ").expect("just matched") + 19..];
        let addr = rest.split(' ').next().unwrap_or(rest);
        let mut c = Client::connect(addr.parse().expect("console address"));
        c.expect("token> ");
        c.send(TOKEN);
        c.expect_line("ok: token accepted");
        Console(c)
    }

    /// Types `command`; returns its `ok:` or `error:` line.
    fn says(&mut self, command: &str) -> String {
        self.0.send(command);
        loop {
            let line = self.0.expect_line("");
            let line = line.trim_start_matches("admin> ");
            if line.starts_with("ok:") || line.starts_with("error:") {
                return line.to_string();
            }
        }
    }
}

/// Every student answers question `q` (of 4) with `a`; the console sees it close.
fn live_question(console: &mut Console, students: &mut [(String, String, Client)], q: usize) {
    for (_, _, c) in students.iter_mut() {
        c.expect(&format!("Question {q} of 4"));
        c.expect("answer> ");
        c.send("a");
    }
    console.0.expect(&format!("live: question {q}/4 closed"));
    for (_, _, c) in students.iter_mut() {
        c.expect_line("Leaderboard");
    }
}

#[test]
fn a_live_quiz_killed_with_sigkill_comes_back_between_questions_with_its_scores() {
    let class = Setup::new("crash-live", BANK);
    let results = &class.results;
    let args = class.args(&[
        "--mode",
        "live",
        "-n",
        "4",
        "--no-shuffle",
        "--time-limit",
        "0",
        "--admin-token",
        TOKEN,
    ]);
    let (mut q, addr) = Quizd::serve(&args);
    let mut console = Console::open(&mut q);
    let mut students: Vec<(String, String, Client)> = (0..5)
        .map(|i| {
            let name = format!("player{i}");
            let mut c = Client::connect(addr);
            c.expect("name> ");
            c.send(&name);
            let hello = c.expect_line("Your resume code");
            (name, code_in(&hello), c)
        })
        .collect();
    for (_, _, c) in &mut students {
        c.expect_line("Waiting for the teacher");
    }
    assert!(console.says("start").starts_with("ok: question 1/4 open"));
    live_question(&mut console, &mut students, 1);
    assert!(console.says("next").starts_with("ok: question 2/4 open"));
    live_question(&mut console, &mut students, 2);
    // Question 3 opens and two answer; then the crash.
    assert!(console.says("next").starts_with("ok: question 3/4 open"));
    for (_, _, c) in students.iter_mut().take(2) {
        c.expect("answer> ");
        c.send("a");
        c.expect_line("Answer recorded");
    }
    kill9(&mut q);

    let (mut q, addr) = Quizd::serve(&args);
    let recovered = q.wait_for("the recovery line", |l| {
        l.contains("recovered from the journal")
    });
    assert!(
        recovered.contains("5 attempt(s) in progress")
            && recovered.contains("live quiz after question 3 of 4, waiting for next"),
        "{recovered}"
    );
    let mut console = Console::open(&mut q);
    let mut back = Vec::new();
    for (i, (name, code, old)) in students.into_iter().enumerate() {
        drop(old);
        let (mut c, welcome) = resume(addr, &name, &code);
        // Question 3 was open at the crash: it counts as closed then, with the two answers
        // it had.
        let score = if i < 2 { "3/3" } else { "2/3" };
        assert_eq!(
            welcome,
            format!("Welcome back, {name}. Score so far: {score}.")
        );
        c.expect_line("Waiting for the teacher");
        back.push((name, code, c));
    }
    assert!(console.says("next").starts_with("ok: question 4/4 open"));
    live_question(&mut console, &mut back, 4);
    console.0.expect("live: quiz over");
    stop(&mut q);
    let rows = rows(results);
    assert_eq!(rows.len(), 5, "{rows:?}");
    let points: Vec<u32> = rows
        .iter()
        .map(|r| r[POINTS].parse().expect("live rows have points"))
        .collect();
    let quick: Vec<&str> = ["player0", "player1"].into();
    for (row, &points) in rows.iter().zip(&points) {
        let (score, answers) = if quick.contains(&&*row[NAME]) {
            ("4", "1:a 2:a 3:a 4:a")
        } else {
            ("3", "1:a 2:a 3:- 4:a")
        };
        assert_eq!(
            (&*row[SCORE], &*row[ANSWERS], &*row[STATUS]),
            (score, answers, "completed"),
            "{row:?}"
        );
        assert!(points > 0, "the points before the crash count: {row:?}");
    }
}

// ---- killed at random moments under load -------------------------------------------------

/// Questions in the long bank.
const LONG: usize = 40;

/// [`LONG`] questions whose right answer is `a`.
fn long_bank() -> String {
    (1..=LONG)
        .map(|i| format!("Question number {i}?\nA) right\nB) wrong\nANSWER: A\n\n"))
        .collect()
}

/// The answers column of a student who answered every long question `a`.
fn long_answers() -> String {
    (1..=LONG)
        .map(|i| format!("{i}:a"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The server's address for this life, and a count of lives, for the students to reconnect.
#[derive(Default)]
struct Lives {
    now: Mutex<(u32, Option<SocketAddr>)>,
    changed: Condvar,
}

impl Lives {
    fn set(&self, life: u32, addr: Option<SocketAddr>) {
        *self.now.lock().expect("lock") = (life, addr);
        self.changed.notify_all();
    }

    /// The address of a life after `seen` (waits for the next one).
    fn after(&self, seen: u32) -> (u32, SocketAddr) {
        let mut now = self.now.lock().expect("lock");
        loop {
            if let (life, Some(addr)) = *now
                && life > seen
            {
                return (life, addr);
            }
            let (next, timeout) = self.changed.wait_timeout(now, PATIENCE).expect("lock");
            assert!(!timeout.timed_out(), "no new server within {PATIENCE:?}");
            now = next;
        }
    }
}

/// A line reader that reports a dead connection instead of failing the test: the server may
/// be killed at any byte.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    fn connect(addr: SocketAddr) -> io::Result<Wire> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        Ok(Wire {
            stream,
            buf: Vec::new(),
        })
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        self.stream.write_all(format!("{line}\r\n").as_bytes())
    }

    /// Text up to and including the first of `needles` to arrive, and which it was.
    fn until(&mut self, needles: &[&str]) -> io::Result<(usize, String)> {
        loop {
            if let Some((at, which)) = needles
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    common::find(&self.buf, n.as_bytes()).map(|at| (at + n.len(), i))
                })
                .min()
            {
                let text: Vec<u8> = self.buf.drain(..at).collect();
                return Ok((which, String::from_utf8_lossy(&text).into_owned()));
            }
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    panic!("the server said nothing for {PATIENCE:?}: {text:?}")
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What one student saw over every life of the server.
#[derive(Debug, Default)]
struct Seen {
    /// Verdicts received (every answer is right, so this is the score they were shown).
    verdicts: usize,
    code: Option<String>,
    finished: bool,
    resumed: u32,
}

/// One life of a student's connection: name (a new attempt or a resume), then answers until
/// `Quiz over`. Err: the server died under it.
fn attend(addr: SocketAddr, name: &str, seen: &mut Seen) -> io::Result<()> {
    let mut w = Wire::connect(addr)?;
    w.until(&["name> "])?;
    w.send(name)?;
    let (which, text) = w.until(&["answer> ", "code> ", "attempt allowed"])?;
    match which {
        0 => {
            assert_eq!(
                seen.verdicts, 0,
                "{name} was shown {} verdict(s), yet the server had no attempt of theirs: {text:?}",
                seen.verdicts
            );
            seen.code = Some(code_in(&text));
        }
        1 => {
            w.send(seen.code.as_deref().expect("a code was given before"))?;
            let (_, text) = w.until(&["answer> "])?;
            let at = text
                .find("Score so far: ")
                .expect("the welcome says the score")
                + 14;
            let score: usize = text[at..]
                .split('/')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("a score");
            assert!(
                score >= seen.verdicts,
                "{name} was shown {} verdicts but resumed with {score}: {text:?}",
                seen.verdicts
            );
            seen.verdicts = score;
            seen.resumed += 1;
        }
        _ => {
            // Their last answer ended the attempt on disk before they saw `Quiz over`.
            seen.finished = true;
            return Ok(());
        }
    }
    loop {
        // A student thinks a moment (a few milliseconds here), so the class stays mid-quiz
        // while the server is killed and started again.
        std::thread::sleep(Duration::from_millis(2));
        w.send("a")?;
        let (which, _) = w.until(&["Correct!", "Quiz over"])?;
        if which == 1 {
            seen.finished = true;
            return Ok(());
        }
        seen.verdicts += 1;
        let (which, _) = w.until(&["answer> ", "Quiz over"])?;
        if which == 1 {
            seen.finished = true;
            return Ok(());
        }
    }
}

#[test]
fn killed_at_random_moments_under_load_every_verdict_a_student_saw_is_in_their_one_row() {
    const STUDENTS: usize = 12;
    const KILLS: u32 = 20;
    let class = Setup::new("crash-random", &long_bank());
    let results = &class.results;
    let args = class.args(&["--no-shuffle", "--time-limit", "0", "-n", "40"]);
    let lives = Arc::new(Lives::default());
    let (mut q, addr) = Quizd::serve(&args);
    lives.set(1, Some(addr));
    let students: Vec<_> = (0..STUDENTS)
        .map(|i| {
            let lives = lives.clone();
            std::thread::spawn(move || {
                let name = format!("s{i:02}");
                let mut seen = Seen::default();
                let mut life = 0;
                while !seen.finished {
                    let (now, addr) = lives.after(life);
                    life = now;
                    let _ = attend(addr, &name, &mut seen);
                }
                (name, seen)
            })
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for life in 2..=KILLS + 1 {
        // A random moment: the students are answering as fast as the loop serves them.
        std::thread::sleep(Duration::from_millis(rng.u64(1..40)));
        lives.set(life - 1, None);
        kill9(&mut q);
        let (next, addr) = Quizd::serve(&args);
        q = next;
        lives.set(life, Some(addr));
    }
    let seen: Vec<(String, Seen)> = students
        .into_iter()
        .map(|t| t.join().expect("a student thread"))
        .collect();
    stop(&mut q);
    let rows = rows(results);
    for (name, seen) in &seen {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[NAME] == *name).collect();
        assert_eq!(mine.len(), 1, "{name} has exactly one row: {rows:?}");
        let row = mine[0];
        assert_eq!(
            (&*row[SCORE], &*row[ANSWERS], &*row[STATUS]),
            (
                LONG.to_string().as_str(),
                long_answers().as_str(),
                "completed"
            ),
            "{name}: {seen:?}"
        );
    }
    assert_eq!(rows.len(), STUDENTS, "{rows:?}");
    let resumed: u32 = seen.iter().map(|(_, s)| s.resumed).sum();
    assert!(resumed > 0, "the kills came mid-quiz: {seen:?}");
}

// ---- rows the results file never got ------------------------------------------------------

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Plays `name` through the whole quiz; returns the resume code.
fn play_all(addr: SocketAddr, name: &str) {
    let mut c = Client::connect(addr);
    c.expect("name> ");
    c.send(name);
    answer_rest(&mut c, 0, QUESTIONS);
    c.expect_line("Quiz over");
}

#[test]
fn a_row_the_results_file_could_not_take_before_sigkill_is_written_once_at_restart() {
    let class = Setup::new("crash-unwritten", BANK);
    let (results, dir) = (&class.results, &class.dir);
    let args = class.args(&["--no-shuffle", "--time-limit", "0"]);
    let (mut q, addr) = Quizd::serve(&args);
    // The results file stops taking rows (as a full disk would): its path now names a FIFO,
    // which quizd refuses to write to, so finished rows wait in memory.
    std::fs::rename(results, dir.path().join("moved.csv")).expect("move the results away");
    mkfifo(results);
    play_all(addr, "ada");
    play_all(addr, "bea");
    // Someone is still mid-quiz, so the journal is not emptied.
    let mut carl = Client::connect(addr);
    carl.expect("name> ");
    carl.send("carl");
    let code = code_in(&carl.expect("answer> "));
    carl.send("a");
    carl.expect_line("Correct!");
    kill9(&mut q);
    // The rows ada and bea were told about were only in memory: gone with the process.
    std::fs::remove_file(results).expect("remove the fifo");
    std::fs::rename(dir.path().join("moved.csv"), results).expect("move the results back");
    assert!(rows(results).is_empty());

    let (mut q, addr) = Quizd::serve(&args);
    let recovered = q.wait_for("the recovery line", |l| {
        l.contains("recovered from the journal")
    });
    assert!(
        recovered.contains("1 attempt(s) in progress") && recovered.contains("2 row(s) written"),
        "{recovered}"
    );
    let written: Vec<String> = rows(results).iter().map(|r| r[NAME].clone()).collect();
    assert_eq!(written, ["ada", "bea"]);
    // Killed again at once: the rows are not written a second time.
    kill9(&mut q);
    let (mut q, addr2) = Quizd::serve(&args);
    let _ = addr;
    let (mut c, welcome) = resume(addr2, "carl", &code);
    assert_eq!(welcome, "Welcome back, carl. Score so far: 1/1.");
    answer_rest(&mut c, 1, QUESTIONS);
    c.expect_line("Quiz over");
    stop(&mut q);
    let rows = rows(results);
    let names: Vec<&str> = rows.iter().map(|r| &*r[NAME]).collect();
    assert_eq!(names, ["ada", "bea", "carl"], "each row once");
    assert!(
        rows.iter()
            .all(|r| r[ANSWERS] == ALL_RIGHT && r[STATUS] == "completed")
    );
}

#[test]
fn a_restart_with_another_bank_refuses_with_one_line_unless_told_to_record_them_as_interrupted() {
    let dir = TempDir::new("crash-other-bank");
    let bank = dir.write("sockets.txt", BANK);
    let other = dir.write("other.txt", &long_bank());
    let results = dir.path().join("results.csv");
    let (mut q, addr) = Quizd::serve(&["--no-shuffle", "--results", text(&results), text(&bank)]);
    let mut c = Client::connect(addr);
    c.expect("name> ");
    c.send("dan");
    c.expect("answer> ");
    c.send("a");
    c.expect_line("Correct!");
    kill9(&mut q);

    // The same bank asked three at a time is another quiz for an attempt drawn six long.
    let (status, _, log) = Quizd::run(&[
        "--listen",
        "127.0.0.1:0",
        "-n",
        "3",
        "--results",
        text(&results),
        text(&bank),
    ]);
    assert_eq!(status.code(), Some(1), "{log:?}");
    let said = log.last().expect("a line");
    assert!(
        said.contains("(6 question(s), 6 per attempt)") && said.contains("--count"),
        "{said}"
    );

    let (status, _, log) = Quizd::run(&[
        "--listen",
        "127.0.0.1:0",
        "--results",
        text(&results),
        text(&other),
    ]);
    assert_eq!(status.code(), Some(1), "{log:?}");
    let said = log.last().expect("a line");
    assert!(
        said.contains("holds 1 attempt(s) in progress from")
            && said.contains("sockets.txt (6 question(s), 6 per attempt)")
            && said.contains("--journal-fresh"),
        "{said}"
    );
    assert!(rows(&results).is_empty(), "nothing was guessed");

    let (mut q, _) = Quizd::serve(&["--journal-fresh", "--results", text(&results), text(&other)]);
    q.wait_for("the fresh start", |l| l.contains("recorded as interrupted"));
    stop(&mut q);
    let rows = rows(&results);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (&*rows[0][NAME], &*rows[0][SCORE], &*rows[0][STATUS]),
        ("dan", "1", "interrupted")
    );
    assert!(rows[0][ANSWERS].starts_with("1:a 2:-"), "{rows:?}");
}

// ---- a journal the disk refuses ------------------------------------------------------------

/// A 1 MiB tmpfs, unmounted on drop; `None` where mounting is not allowed (not root, or in a
/// container without the capability): the test then says it skips.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1M", "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(at.to_path_buf()))
    }

    /// Fills it to the last byte.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).expect("filler");
        let block = vec![0x55u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(&[0x55]);
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).expect("remove filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A journal whose first page (4 KiB, what tmpfs allocates at a time) is full of one valid
/// record: with the disk full, the next record needs a page there is no room for.
fn journal_filling_its_first_page() -> Vec<u8> {
    use quizd::journal::record::{Header, MAGIC, put_header};
    for n in 3800..4096 {
        let mut buf = MAGIC.to_vec();
        put_header(
            &mut buf,
            &Header {
                fingerprint: 1,
                questions: 1,
                count: 1,
                live: false,
                origin: "x".repeat(n),
                numbered: 0,
                marks_unit: quizd::bank::Marks::UNIT,
            },
        );
        if buf.len() == 4096 {
            return buf;
        }
    }
    panic!("no padding fills the page exactly");
}

#[test]
fn while_the_journal_cannot_be_written_nothing_depending_on_it_is_sent_and_it_catches_up() {
    let class = Setup::new("crash-full", BANK);
    let Some(disk) = SmallDisk::mount(&class.dir.path().join("small")) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let journal = disk.0.join("quiz.journal");
    std::fs::write(&journal, journal_filling_its_first_page()).expect("journal");
    disk.fill();
    let args = class.args(&[
        "--no-shuffle",
        "--time-limit",
        "0",
        "--admin-token",
        TOKEN,
        "--journal",
        text(&journal),
    ]);
    let (mut q, addr) = Quizd::serve(&args);
    q.wait_for("the journal error", |l| l.contains("cannot write"));
    let mut console = Console::open(&mut q);
    let mut ann = Client::connect(addr);
    ann.expect("name> ");
    ann.send("ann");
    // The console answers (its reply depends on nothing unwritten) and sees ann seated...
    console.0.send("who");
    console.0.expect("ann");
    // ...but ann is shown nothing: her seat is not on disk yet.
    ann.stream.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 256];
    let early = ann.stream.read(&mut buf);
    assert!(
        matches!(&early, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "nothing before it is on disk: {:?}",
        early.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    );
    ann.stream.set_nonblocking(false).expect("blocking");
    // Output held for the journal is bounded like any output: a student who keeps typing
    // meanwhile is closed at the output cap, not kept in memory without end.
    let mut cal = Client::connect(addr);
    cal.expect("name> ");
    cal.send("cal");
    cal.send_raw("/help\r\n".repeat(600).as_bytes());
    let owed = cal.read_to_end();
    assert!(owed.len() < 1024, "nothing held for cal was sent: {owed:?}");

    // Space again: within a second the journal catches up, and ann gets her quiz.
    disk.free();
    console.0.expect("the journal is written again");
    let hello = ann.expect("answer> ");
    let code = code_in(&hello);
    ann.send("a");
    ann.expect_line("Correct! Score: 1/1");
    kill9(&mut q);

    let (mut q, addr) = Quizd::serve(&args);
    q.wait_for("the recovery line", |l| {
        l.contains("recovered from the journal")
    });
    let (_, welcome) = resume(addr, "ann", &code);
    assert_eq!(welcome, "Welcome back, ann. Score so far: 1/1.");
    stop(&mut q);
}
