//! The built `quizd` binary driven by real clients: Linux `telnet` (inetutils) under a pty,
//! typed at by `expect`, and a live class of thirty whose raw clients send what telnet or nc
//! send. The bytes the server reads come from the clients themselves, not from a test that
//! imitates them.
//!
//! Nothing waits for a fixed time: the expect scripts wait for text (10 or 20 s at most per
//! step, a safety net), the Rust side waits for a line, a transcript anchor or an exit, each
//! bounded. Without `expect` or `telnet` on the PATH the telnet tests say so on stderr and
//! pass; the class then runs with raw clients only.

mod common;

use std::io::Read;
use std::net::{Shutdown, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::binary::{ANSWERS, ATTEMPT, BANK, MAX, NAME, POINTS, Quizd, STATUS, text};
use common::{Client, PATIENCE, TempDir, csv_rows};

/// How long a whole expect run may take before the test gives up on it.
const EXPECT_PATIENCE: Duration = Duration::from_secs(60);

/// What a telnet test prints on stderr (and then passes) where it cannot run.
const SKIP: &str = "skipped: telnet/expect not installed (apt-get install telnet expect)";

// ---------------------------------------------------------------------------------------------
// Finding the real clients
// ---------------------------------------------------------------------------------------------

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `tool` is an executable file in a PATH directory.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| is_executable(&d.join(tool))))
}

fn telnet_and_expect_here() -> bool {
    on_path("expect") && on_path("telnet")
}

/// Whether a telnet test can run; says it is skipped on stderr when it cannot.
fn real_telnet() -> bool {
    let here = telnet_and_expect_here();
    if !here {
        eprintln!("{SKIP}");
    }
    here
}

// ---------------------------------------------------------------------------------------------
// telnet under expect
// ---------------------------------------------------------------------------------------------

/// Tcl every script starts with: `want` waits for literal text (failing with a line naming
/// it), `upto` does the same and returns everything up to it, `telnet_at` starts the real
/// telnet on a pty of the given width (stty before exec, so telnet reports it with NAWS).
const PRELUDE: &str = r#"
set timeout [lindex $argv 0]
set port [lindex $argv 1]
log_user 1
proc upto {text} {
    expect {
        -ex $text { return $expect_out(buffer) }
        timeout { puts stderr "\nexpect: timed out waiting for <$text>"; exit 2 }
        eof { puts stderr "\nexpect: telnet ended before <$text>"; exit 3 }
    }
}
proc want {text} { upto $text }
proc telnet_at {port cols} {
    global spawn_id
    spawn -noecho sh -c "stty columns $cols rows 24; exec telnet 127.0.0.1 $port"
}
proc ends {} {
    expect {
        eof {}
        timeout { puts stderr "\nexpect: telnet did not end"; exit 4 }
    }
}
"#;

/// An `expect` process driving telnet; its pty output (what the student's screen got) is
/// collected as it arrives. Killed on drop if still running.
struct Telnet {
    child: Child,
    /// stdout chunks; disconnected when expect exits.
    chunks: Receiver<Vec<u8>>,
    stderr: Option<JoinHandle<String>>,
    /// Everything received so far.
    seen: Vec<u8>,
    /// How far `wait_for` has consumed `seen`.
    cursor: usize,
    _dir: TempDir,
}

/// A finished expect run.
struct Transcript {
    status: ExitStatus,
    /// The pty output, as the student's terminal received it.
    screen: String,
    stderr: String,
}

impl Telnet {
    /// Runs `body` (after [`PRELUDE`]) with `timeout port args...` as its argv.
    fn spawn(body: &str, step_timeout: u64, port: u16, args: &[&str]) -> Telnet {
        let dir = TempDir::new("expect");
        let script = dir.write("student.exp", &format!("{PRELUDE}\n{body}"));
        let mut child = Command::new("expect")
            .arg("-f")
            .arg(&script)
            .arg(step_timeout.to_string())
            .arg(port.to_string())
            .args(args)
            // UTF-8 in and out of the pty whatever the test run's locale.
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start expect (it is on the PATH)");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        Telnet {
            child,
            chunks: stream_chunks(stdout),
            stderr: Some(read_all(stderr)),
            seen: Vec::new(),
            cursor: 0,
            _dir: dir,
        }
    }

    /// Receives one chunk before `deadline`; false once expect has exited.
    fn receive(&mut self, deadline: Instant) -> bool {
        match self
            .chunks
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(chunk) => {
                self.seen.extend_from_slice(&chunk);
                true
            }
            Err(RecvTimeoutError::Disconnected) => false,
            Err(RecvTimeoutError::Timeout) => panic!(
                "telnet under expect: nothing more within {EXPECT_PATIENCE:?}; screen so far:\n{}",
                String::from_utf8_lossy(&self.seen)
            ),
        }
    }

    /// Waits until `needle` is on the screen after what earlier waits consumed; consumes it.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + EXPECT_PATIENCE;
        loop {
            if let Some(at) = common::find(&self.seen[self.cursor..], needle.as_bytes()) {
                self.cursor += at + needle.len();
                return;
            }
            if !self.receive(deadline) {
                let stderr = self.stderr_text();
                panic!(
                    "expect exited before {needle:?} was on the screen:\n{}\nstderr: {stderr}",
                    String::from_utf8_lossy(&self.seen)
                );
            }
        }
    }

    fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Waits for expect to exit (its stdout closes), at most [`EXPECT_PATIENCE`].
    fn finish(mut self) -> Transcript {
        let deadline = Instant::now() + EXPECT_PATIENCE;
        while self.receive(deadline) {}
        let status = self.child.wait().expect("wait for expect");
        Transcript {
            status,
            screen: String::from_utf8_lossy(&self.seen).into_owned(),
            stderr: self.stderr_text(),
        }
    }
}

impl Drop for Telnet {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Hands what `source` produces over a channel, chunk by chunk, until it closes.
fn stream_chunks(mut source: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match source.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

fn read_all(mut source: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = source.read_to_string(&mut s);
        s
    })
}

impl Transcript {
    /// The script ran to its end: every `want` was met.
    fn assert_completed(&self) {
        assert!(
            self.status.success(),
            "expect failed ({}): {}\nscreen:\n{}",
            self.status,
            self.stderr.trim(),
            self.screen
        );
    }

    /// Screen lines (CR LF separated; a lone CR returns to the start of the line, so what
    /// follows it is what shows).
    fn lines(&self) -> Vec<&str> {
        screen_lines(&self.screen)
    }

    /// The first line starting with `prefix`.
    fn line(&self, prefix: &str) -> &str {
        self.lines()
            .into_iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{}", self.screen))
    }

    /// The screen from the first `from` on, up to (not including) the next `to` after it.
    fn between(&self, from: &str, to: &str) -> &str {
        let start = self
            .screen
            .find(from)
            .unwrap_or_else(|| panic!("no {from:?} in:\n{}", self.screen));
        let rest = &self.screen[start..];
        let end = rest[from.len()..]
            .find(to)
            .unwrap_or_else(|| panic!("no {to:?} after {from:?} in:\n{}", self.screen));
        &rest[..from.len() + end]
    }
}

/// Lines as a terminal shows them: split at CR LF, each from its last lone CR on.
fn screen_lines(text: &str) -> Vec<&str> {
    text.split("\r\n")
        .map(|l| l.rsplit('\r').next().unwrap_or_default())
        .collect()
}

/// The widest screen line of `text`: (its width in characters, the line). Text on either
/// side of a lone CR shares a line, the wider of them showing how far the line reaches.
fn widest(text: &str) -> (usize, String) {
    text.split(['\r', '\n'])
        .map(|l| (l.chars().count(), l.to_string()))
        .max()
        .unwrap_or_default()
}

/// The bytes a client receives, less telnet commands: what its screen shows.
fn without_telnet_commands(bytes: &[u8]) -> Vec<u8> {
    const IAC: u8 = 0xFF;
    const SB: u8 = 0xFA;
    const SE: u8 = 0xF0;
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied()) {
            (IAC, Some(IAC)) => {
                out.push(IAC);
                i += 2;
            }
            (IAC, Some(SB)) => {
                let end = common::find(&bytes[i..], &[IAC, SE]).map_or(bytes.len(), |e| i + e + 2);
                i = end;
            }
            (IAC, Some(0xFB..=0xFE)) => i += 3,
            (IAC, _) => i += 2,
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// One telnet student against a self-paced quiz
// ---------------------------------------------------------------------------------------------

/// A quizd serving [`BANK`] (or another bank) to one telnet student, results in a temp dir.
struct Lesson {
    dir: TempDir,
    results: PathBuf,
    quizd: Quizd,
    addr: SocketAddr,
}

impl Lesson {
    /// quizd on `bank` in file order with `extra` options.
    fn serve(tag: &str, bank: &str, extra: &[&str]) -> Lesson {
        let dir = TempDir::new(tag);
        let bank = dir.write("bank.txt", bank);
        let results = dir.path().join("results.csv");
        let mut args = vec![
            "--no-shuffle",
            "--admin-listen",
            "off",
            "--results",
            text(&results),
            text(&bank),
        ];
        args.extend_from_slice(extra);
        let (quizd, addr) = Quizd::serve(&args);
        Lesson {
            dir,
            results,
            quizd,
            addr,
        }
    }

    /// Runs one telnet student through `body`, to its end.
    fn telnet(&self, body: &str) -> Transcript {
        let transcript = Telnet::spawn(body, 10, self.addr.port(), &[]).finish();
        transcript.assert_completed();
        transcript
    }

    /// Stops quizd as SIGTERM does (every attempt is saved); returns the results rows.
    fn stop_and_rows(mut self) -> Vec<Vec<String>> {
        self.quizd.terminate();
        let status = self.quizd.wait_exit(PATIENCE);
        assert_eq!(status.code(), Some(0), "{:#?}", self.quizd.log);
        let csv = std::fs::read_to_string(&self.results).expect("the results file exists");
        drop(self.dir);
        csv_rows(&csv)
    }
}

/// The only row of `rows`.
fn only_row(rows: &[Vec<String>]) -> &[String] {
    assert_eq!(rows.len(), 1, "one attempt, one row: {rows:#?}");
    &rows[0]
}

#[test]
fn a_utf8_name_typed_in_telnet_arrives_whole_on_screen_and_in_the_results() {
    if !real_telnet() {
        return;
    }
    let lesson = Lesson::serve("telnet-utf8", BANK, &[]);
    // Ană: ă is C4 83, and 83 is what telnet turns into IAC IP unless BINARY is agreed.
    let screen = lesson.telnet(
        r#"
telnet_at $port 80
want "name> "
send -- "An\u0103\r"
want "answer> "
send -- "b\r"
want "answer> "
send -- "/quit\r"
want "Quiz over"
ends
"#,
    );
    assert!(
        screen
            .line("Hello ")
            .starts_with("Hello An\u{103}. Answer each question"),
        "{}",
        screen.screen
    );
    assert!(
        screen.line("Correct!").starts_with("Correct! Score: 1/1"),
        "the quiz went on after the name: {}",
        screen.screen
    );
    assert_eq!(
        screen.line("Quiz over"),
        "Quiz over, An\u{103}: you scored 1 out of 3 (33%)."
    );
    let rows = lesson.stop_and_rows();
    let row = only_row(&rows);
    assert_eq!(row[NAME], "An\u{103}", "{row:?}");
    assert_eq!(
        (row[ANSWERS].as_str(), row[STATUS].as_str()),
        ("1:b 2:- 3:-", "quit")
    );
}

#[test]
fn an_arrow_key_typed_in_a_telnet_name_never_ends_up_in_it() {
    if !real_telnet() {
        return;
    }
    let lesson = Lesson::serve("telnet-arrow", BANK, &[]);
    // Aly, left arrow (ESC [ D), i, Enter: telnet in line mode sends the whole line.
    let screen = lesson.telnet(
        r#"
telnet_at $port 80
want "name> "
send -- "Aly\033\[Di\r"
want "answer> "
send -- "/quit\r"
want "Quiz over"
ends
"#,
    );
    let hello = screen.line("Hello ");
    assert!(
        hello.starts_with("Hello Alyi. ") && !hello.contains("[D") && !hello.contains('\u{1b}'),
        "{hello:?}"
    );
    let rows = lesson.stop_and_rows();
    assert_eq!(only_row(&rows)[NAME], "Alyi");
}

#[test]
fn ctrl_c_in_telnet_mid_quiz_asks_first_carries_on_after_an_answer_and_twice_in_a_row_leaves() {
    if !real_telnet() {
        return;
    }
    let lesson = Lesson::serve("telnet-ctrl-c", BANK, &[]);
    // Ctrl-C makes telnet send IAC IP and IAC DO TIMING-MARK.
    let screen = lesson.telnet(
        r#"
telnet_at $port 80
want "name> "
send -- "carol\r"
want "answer> "
send -- "\003"
want "Leave the quiz for good?"
want "answer> "
send -- "b\r"
want "Correct!"
want "answer> "
send -- "\003"
want "Leave the quiz for good?"
want "answer> "
send -- "\003"
want "You left the quiz"
want "Quiz over"
ends
"#,
    );
    let asked = screen
        .lines()
        .iter()
        .filter(|l| l.starts_with("Leave the quiz"))
        .count();
    assert_eq!(
        asked, 2,
        "one question per first Ctrl-C:\n{}",
        screen.screen
    );
    assert!(
        screen.line("Correct!").starts_with("Correct! Score: 1/1"),
        "an answer after the question is graded: {}",
        screen.screen
    );
    assert_eq!(
        screen.line("Quiz over"),
        "Quiz over, carol: you scored 1 out of 3 (33%)."
    );
    let rows = lesson.stop_and_rows();
    let row = only_row(&rows);
    assert_eq!(
        (row[ANSWERS].as_str(), row[STATUS].as_str()),
        ("1:b 2:- 3:-", "quit")
    );
}

#[test]
fn an_answer_half_typed_in_telnet_when_time_is_up_goes_with_the_enter_and_is_never_graded() {
    if !real_telnet() {
        return;
    }
    // One second per question: the smallest time limit there is (0 is none).
    let lesson = Lesson::serve("telnet-time-up", BANK, &["--time-limit", "1"]);
    // b (right for question 1, and a letter question 2 offers) typed, never Enter, until
    // the clock has run out; then Enter at next>.
    let screen = lesson.telnet(
        r#"
telnet_at $port 80
want "name> "
send -- "dora\r"
want "answer> "
send -- "b"
want "Time is up."
want "next> "
send -- "\r"
want "Question 2 of 3"
want "answer> "
send -- "/quit\r"
want "Quiz over"
ends
"#,
    );
    assert!(
        screen
            .line("Time is up.")
            .starts_with("Time is up. The answer was b) bind(). Score: 0/1"),
        "{}",
        screen.screen
    );
    let after_enter = screen.between("next> ", "Question 2 of 3");
    for verdict in ["Correct!", "Wrong.", "error:"] {
        assert!(
            !after_enter.contains(verdict),
            "the half-typed b was taken as an answer: {after_enter:?}"
        );
    }
    assert_eq!(
        screen.line("Quiz over"),
        "Quiz over, dora: you scored 0 out of 3 (0%)."
    );
    let rows = lesson.stop_and_rows();
    let row = only_row(&rows);
    assert_eq!(row[ANSWERS], "1:- 2:- 3:-", "{row:?}");
}

/// A question and an option too long for 50 columns.
const LONG_QUESTION: &str = "Which of these socket options lets a restarted server bind again at \
once to a port whose earlier connections are still in the TIME_WAIT state?";
const LONG_OPTION: &str = "SO_REUSEADDR, which allows the reuse of a local address even while \
earlier connections on that port linger in TIME_WAIT";

/// A student in a 50-column window who looks at the question and leaves.
const NARROW_WINDOW: &str = r#"
telnet_at $port 50
want "name> "
send -- "wanda\r"
want "answer> "
send -- "/quit\r"
want "Quiz over"
ends
"#;

fn long_bank() -> String {
    format!(
        "{LONG_QUESTION}\nA) {LONG_OPTION}\nB) SO_KEEPALIVE\nC) SO_LINGER with a zero timeout\n\
         ANSWER: A\n"
    )
}

/// The wrapped lines of the question text and of option a), from a question screen.
fn question_and_first_option(screen: &str) -> (Vec<&str>, Vec<&str>) {
    let lines = screen_lines(screen);
    let header = lines
        .iter()
        .position(|l| l.starts_with("Question 1 of 1"))
        .expect("the question's header");
    let a = lines
        .iter()
        .position(|l| l.starts_with("  a) "))
        .expect("option a)");
    let b = lines
        .iter()
        .position(|l| l.starts_with("  b) "))
        .expect("option b)");
    (lines[header + 1..a].to_vec(), lines[a..b].to_vec())
}

#[test]
fn telnet_in_a_50_column_window_gets_every_line_wrapped_to_50_between_words() {
    if !real_telnet() {
        return;
    }
    let lesson = Lesson::serve("telnet-width", &long_bank(), &[]);
    let screen = lesson.telnet(NARROW_WINDOW);
    // From the name on: the greeting goes out before telnet has said its width.
    let (width, line) = widest(screen.between("Hello ", "Connection closed"));
    assert!(
        width <= 50,
        "a line of {width} columns in a 50-column window: {line:?}\n{}",
        screen.screen
    );
    let (question, option) = question_and_first_option(&screen.screen);
    assert!(question.len() > 1, "the question was wrapped: {question:?}");
    assert_eq!(
        question.join(" "),
        LONG_QUESTION,
        "wrapped only between words"
    );
    assert!(option.len() > 1, "the option was wrapped: {option:?}");
    assert!(
        option[1..]
            .iter()
            .all(|l| l.starts_with("     ") && !l.starts_with("      ")),
        "continuations indented under the option's text: {option:?}"
    );
    let joined: Vec<&str> = option.iter().map(|l| l.trim()).collect();
    assert_eq!(joined.join(" "), format!("a) {LONG_OPTION}"));
    lesson.stop_and_rows();
}

/// Wrapped `lines` (of one paragraph) that broke early: a line after which the next line's
/// first word would still have fitted within `width`.
fn broken_early<'a>(lines: &[&'a str], width: usize) -> Vec<&'a str> {
    lines
        .windows(2)
        .filter(|pair| {
            let next_word = pair[1].split_whitespace().next().unwrap_or_default();
            pair[0].chars().count() + 1 + next_word.chars().count() <= width
        })
        .map(|pair| pair[0])
        .collect()
}

/// A question is wrapped once, at the window's width: not pre-wrapped at 80 columns and then
/// again, which left a short line wherever an 80-column break fell (`server bind again at
/// once to a` / `port whose ...`).
#[test]
fn telnet_in_a_50_column_window_gets_the_question_filled_line_by_line() {
    if !real_telnet() {
        return;
    }
    let lesson = Lesson::serve("telnet-fill", &long_bank(), &[]);
    let screen = lesson.telnet(NARROW_WINDOW);
    let (question, option) = question_and_first_option(&screen.screen);
    assert_eq!(
        broken_early(&question, 50),
        Vec::<&str>::new(),
        "{question:#?}"
    );
    assert_eq!(broken_early(&option, 50), Vec::<&str>::new(), "{option:#?}");
    lesson.stop_and_rows();
}

// ---------------------------------------------------------------------------------------------
// A live class of thirty
// ---------------------------------------------------------------------------------------------

/// Students in the class, the late joiner included.
const CLASS: usize = 30;
/// Questions per round.
const ROUND: usize = 5;
/// The console token.
const TOKEN: &str = "class-token-42";

/// Seven questions of which each round draws five. The right option says `right`, the others
/// `wrong`, so a student can pick either whatever the shuffle did.
const LIVE_BANK: &str = "\
Which call marks a socket as ready to accept connections?
A) wrong: connect()
B) right: listen()
C) wrong: bind()
ANSWER: B

Which call blocks until a client connects?
A) right: accept()
B) wrong: send()
ANSWER: A

What does read() returning 0 mean?
A) wrong: no data yet
B) wrong: an error
C) right: the peer closed its side
D) wrong: a signal arrived
ANSWER: C

Which protocol is connectionless?
A) wrong: TCP
B) right: UDP
ANSWER: B

Which port does HTTP use by default?
A) right: 80
B) wrong: 443
C) wrong: 22
ANSWER: A

Which address is the IPv4 loopback?
A) wrong: 0.0.0.0
B) wrong: 255.255.255.255
C) right: 127.0.0.1
ANSWER: C

What does listen()'s backlog bound?
A) right: connections waiting to be accepted
B) wrong: bytes in the receive buffer
ANSWER: A
";

/// What Linux telnet (inetutils 2.4, in an 80x24 window) answers to quizd's opening (IAC DO
/// BINARY, IAC DO NAWS): WILL BINARY, WILL NAWS and its window size. Captured from the real
/// client; it then ends lines with a bare LF, as [`Student::say`] does for these students.
const TELNET_REPLY: [u8; 15] = [
    0xFF, 0xFB, 0x00, 0xFF, 0xFB, 0x1F, 0xFF, 0xFA, 0x1F, 0x00, 80, 0x00, 24, 0xFF, 0xF0,
];

/// Raw student `i`'s plan: `i % 6` right answers, the first ones, so points spread from 0 to 5.
fn plan(i: usize) -> Vec<bool> {
    (1..=ROUND).map(|q| q <= i % 6).collect()
}

/// The telnet students' names and plans (R right, W wrong, question by question).
const TELNET_STUDENTS: [(&str, &str); 2] = [("telnet-ann", "RRRRW"), ("telnet-bo", "WRWRR")];

/// A raw client in the class (as nc, or sending telnet's negotiation reply first).
struct Student {
    name: String,
    client: Client,
    /// The question screen last read, up to `answer> `.
    screen: String,
    /// Points it should have, from the answers it chose.
    points: u32,
    /// Questions it was asked.
    asked: u32,
    /// Whether it negotiated as telnet (and ends lines as telnet does, LF) or is nc -C (CR LF).
    telnet: bool,
    /// Whether it answers each question (from 1) right.
    plan: Vec<bool>,
}

impl Student {
    /// Connects and gives the name, negotiating as telnet does when `telnet_reply`.
    fn join(addr: SocketAddr, name: String, telnet_reply: bool, plan: Vec<bool>) -> Student {
        let mut client = Client::connect(addr);
        if telnet_reply {
            client.send_raw(&TELNET_REPLY);
        }
        client.expect("name> ");
        client.send_raw(line_bytes(&name, telnet_reply).as_slice());
        Student {
            name,
            client,
            screen: String::new(),
            points: 0,
            asked: 0,
            telnet: telnet_reply,
            plan,
        }
    }

    /// Types `line` and Enter.
    fn say(&mut self, line: &str) {
        self.client
            .send_raw(line_bytes(line, self.telnet).as_slice());
    }

    /// Waits for question `q`'s screen; keeps it for [`Student::answer`].
    fn see_question(&mut self, q: usize) {
        let text = self.client.expect("answer> ");
        let header = format!("Question {q} of {ROUND}");
        let at = text
            .rfind(&header)
            .unwrap_or_else(|| panic!("{}: no {header:?} before the prompt: {text:?}", self.name));
        self.screen = text[at..].to_string();
    }

    /// Answers question `q`, on screen, right or wrong as planned.
    fn answer(&mut self, q: usize) {
        let right = self.plan[q - 1];
        let letter = letter_of(&self.screen, if right { "right" } else { "wrong" })
            .unwrap_or_else(|| panic!("{}: no option to choose in {:?}", self.name, self.screen));
        self.say(&letter.to_string());
        self.points += u32::from(right);
        self.asked += 1;
    }

    /// Everything this connection received, as its screen shows it.
    fn screen_text(&self) -> String {
        String::from_utf8_lossy(&without_telnet_commands(&self.client.log)).into_owned()
    }
}

/// `line` and Enter as telnet sends it in BINARY mode (LF), or as nc -C does (CR LF).
fn line_bytes(line: &str, telnet: bool) -> Vec<u8> {
    let end = if telnet { "\n" } else { "\r\n" };
    format!("{line}{end}").into_bytes()
}

/// The letter of the first option line (`  x) KIND...`) of `kind` on a question screen.
fn letter_of(screen: &str, kind: &str) -> Option<char> {
    screen_lines(screen).into_iter().find_map(|l| {
        let rest = l.strip_prefix("  ")?;
        let mut chars = rest.chars();
        let letter = chars.next()?;
        chars
            .as_str()
            .strip_prefix(") ")?
            .starts_with(kind)
            .then_some(letter)
    })
}

/// A telnet student of the class, answering by its plan by itself; it quits when round 2's
/// first question shows.
const CLASS_SCRIPT: &str = r#"
set name [lindex $argv 2]
set plan [lindex $argv 3]
telnet_at $port 80
want "name> "
send -- "$name\r"
want "Waiting for the teacher to start"
for {set q 1} {$q <= 5} {incr q} {
    want "Question $q of 5"
    set screen [upto "answer> "]
    set kind [expr {[string index $plan [expr {$q - 1}]] eq "R" ? "right" : "wrong"}]
    set pattern {\n  ([a-e])\) }
    append pattern $kind
    if {![regexp $pattern $screen -> letter]} {
        puts stderr "\nexpect: no $kind option in <$screen>"
        exit 5
    }
    send -- "$letter\r"
}
want "Final leaderboard:"
want "You finished"
want "Question 1 of 5"
want "answer> "
send -- "/quit\r"
want "Quiz over"
ends
"#;

/// One row of a leaderboard (the students' or the console's `top`): rank, name, points.
type Standing = (usize, String, u32);

/// The `Final leaderboard:` rows on a student's screen.
fn final_leaderboard(screen: &str) -> Vec<Standing> {
    let lines = screen_lines(screen);
    let start = lines
        .iter()
        .rposition(|l| *l == "Final leaderboard:")
        .unwrap_or_else(|| panic!("no final leaderboard in {screen:?}"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with("Quiz over"))
        .map(|l| leaderboard_row(l))
        .collect()
}

/// `   1. ann                      3 points  (1.0 s)`.
fn leaderboard_row(line: &str) -> Standing {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [rank, name, points, _unit, ..] => (
            rank.trim_end_matches('.').parse().expect("a rank"),
            name.to_string(),
            points.parse().expect("points"),
        ),
        _ => panic!("not a leaderboard row: {line:?}"),
    }
}

/// The podium of `live: quiz over. Podium: 1. ann 3 points (1.0 s), 2. ... Every attempt...`.
fn podium(line: &str) -> Vec<Standing> {
    let start = line.find("Podium: ").expect("a podium") + "Podium: ".len();
    let end = line
        .find(". Every attempt")
        .unwrap_or_else(|| panic!("no end to the podium in {line:?}"));
    line[start..end].split(", ").map(leaderboard_row).collect()
}

/// The rows of a `top` reply: `#  name  try  points  score  %  time`.
fn top_rows(reply: &str) -> Vec<Standing> {
    reply
        .lines()
        .map(|l| l.trim_start_matches("admin> ").trim_start())
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            assert!(words.len() >= 4, "not a top row: {l:?}");
            (
                words[0].parse().expect("a rank"),
                words[1].to_string(),
                words[3].parse().expect("points"),
            )
        })
        .collect()
}

fn names_and_points(rows: &[Standing]) -> Vec<(&str, u32)> {
    rows.iter().map(|(_, n, p)| (n.as_str(), *p)).collect()
}

/// The resume code on a student's screen (`Your resume code is k7qf2m (...`).
fn resume_code(screen: &str) -> String {
    let at = screen
        .find("Your resume code is ")
        .expect("a resume code was shown");
    screen[at + "Your resume code is ".len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// The class's quizd, its console (token given) and the results path.
struct LiveClass {
    dir: TempDir,
    results: PathBuf,
    quizd: Quizd,
    addr: SocketAddr,
    console: Client,
}

impl LiveClass {
    fn start() -> LiveClass {
        let dir = TempDir::new("live-class");
        let bank = dir.write("sockets.txt", LIVE_BANK);
        let results = dir.path().join("results.csv");
        let (mut quizd, addr) = Quizd::serve(&[
            "--mode",
            "live",
            "-n",
            "5",
            "--time-limit",
            "10",
            "--admin-token",
            TOKEN,
            "--results",
            text(&results),
            text(&bank),
        ]);
        let mut console = Client::connect(console_addr(&mut quizd));
        console.expect("token> ");
        console.send(TOKEN);
        console.expect_line("ok: token accepted");
        console.expect("admin> ");
        LiveClass {
            dir,
            results,
            quizd,
            addr,
            console,
        }
    }

    /// Types `command` at the console; returns the reply line starting `ok:` or `error:`.
    fn teacher(&mut self, command: &str) -> String {
        self.console.send(command);
        loop {
            let line = self.console.expect_line("");
            let line = line.trim_start_matches("admin> ");
            if line.starts_with("ok:") || line.starts_with("error:") {
                return line.to_string();
            }
        }
    }

    /// Waits for the console's unasked message starting `start`; returns it whole (the
    /// console wraps it at 80 columns like any line: joined again here).
    fn unasked(&mut self, start: &str) -> String {
        self.console.expect(start);
        let rest = self.console.expect("\r\nadmin> ");
        let rest = rest.trim_end_matches("\r\nadmin> ");
        format!(
            "{start}{}",
            rest.split("\r\n").collect::<Vec<_>>().join(" ")
        )
    }

    /// Waits for the console's unasked `live: question Q/5 closed (...)` message.
    fn closed(&mut self, q: usize) -> String {
        self.unasked(&format!("live: question {q}/{ROUND} closed"))
    }

    /// `top N`'s reply, up to its closing `.` line.
    fn top(&mut self, n: usize) -> String {
        self.console.send(&format!("top {n}"));
        self.console.expect("\r\n.\r\n")
    }

    /// Stops quizd (SIGTERM); returns the results rows.
    fn stop_and_rows(mut self) -> Vec<Vec<String>> {
        self.quizd.terminate();
        let status = self.quizd.wait_exit(PATIENCE);
        assert_eq!(status.code(), Some(0), "{:#?}", self.quizd.log);
        let csv = std::fs::read_to_string(&self.results).expect("the results file exists");
        drop(self.dir);
        csv_rows(&csv)
    }
}

/// The address in quizd's `teacher console on ADDR (...)` log line.
fn console_addr(q: &mut Quizd) -> SocketAddr {
    let line = q.wait_for("the console line", |l| l.contains("teacher console on "));
    let rest = &line[line.find("teacher console on ").expect("just matched") + 19..];
    let addr = rest.split(' ').next().unwrap_or(rest);
    addr.parse()
        .unwrap_or_else(|e| panic!("bad address {addr:?} in {line:?}: {e}"))
}

/// Every student sees question `q` and answers it by their plan; the console says it closed
/// because everyone answered.
fn everyone_answers(class: &mut LiveClass, students: &mut [Student], q: usize) {
    for s in students.iter_mut() {
        s.see_question(q);
    }
    answer_seen(class, students, q);
}

/// Students who have question `q` on screen answer it; it closes for everyone answering.
fn answer_seen(class: &mut LiveClass, students: &mut [Student], q: usize) {
    for s in students.iter_mut() {
        s.answer(q);
    }
    let closed = class.closed(q);
    assert!(
        closed.contains("(everyone answered)"),
        "question {q} should close as soon as everyone present answered: {closed}"
    );
}

/// Drops `s`'s connection mid-question `q` (closes it) and resumes its attempt from a new
/// one with its name and code, into the question still open; returns what the old connection
/// had received.
fn drop_and_resume(addr: SocketAddr, s: &mut Student, q: usize) -> Vec<u8> {
    let code = resume_code(&s.screen_text());
    let old_log = std::mem::take(&mut s.client.log);
    let _ = s.client.stream.shutdown(Shutdown::Both);
    s.client = Client::connect(addr);
    if s.telnet {
        s.client.send_raw(&TELNET_REPLY);
    }
    s.client.expect("name> ");
    let name = s.name.clone();
    s.say(&name);
    s.client.expect("code> ");
    s.say(&code);
    let welcome = s.client.expect_line("Welcome back");
    assert_eq!(
        welcome,
        format!(
            "Welcome back, {}. Score so far: {}/{}.",
            s.name,
            s.points,
            q - 1
        ),
        "the score shown is the one the next verdict continues"
    );
    s.see_question(q);
    old_log
}

/// The raw student who drops during question 2 and resumes.
const DROPPER: usize = 7;

/// `count` raw students in the lobby, every other one negotiating as telnet does.
fn raw_students(addr: SocketAddr, count: usize) -> Vec<Student> {
    let mut students: Vec<Student> = (0..count)
        .map(|i| Student::join(addr, format!("s{:02}", i + 1), i % 2 == 0, plan(i)))
        .collect();
    for s in &mut students {
        s.client
            .expect_line("Waiting for the teacher to start the quiz");
    }
    students
}

/// The real telnet students, started (when telnet and expect are here), in the lobby.
fn telnet_students(port: u16) -> Vec<Telnet> {
    if !telnet_and_expect_here() {
        eprintln!("telnet/expect not installed (apt-get install telnet expect): raw clients only");
        return Vec::new();
    }
    let mut telnets: Vec<Telnet> = TELNET_STUDENTS
        .iter()
        .map(|(name, plan)| Telnet::spawn(CLASS_SCRIPT, 20, port, &[name, plan]))
        .collect();
    for t in &mut telnets {
        t.wait_for("Waiting for the teacher to start");
    }
    telnets
}

/// Reads a student's end of round: checks its `Quiz over` line; returns its final leaderboard.
fn end_of_round(s: &mut Student) -> Vec<Standing> {
    let mut screen = s.client.expect("You finished");
    screen.push_str(&s.client.expect("\r\n"));
    let over = screen_lines(&screen)
        .into_iter()
        .find(|l| l.starts_with("Quiz over"))
        .unwrap_or_else(|| panic!("{}: no Quiz over line in {screen:?}", s.name))
        .to_string();
    let expected = format!(
        "Quiz over, {}: you scored {} out of {}",
        s.name, s.points, s.asked
    );
    assert!(
        over.starts_with(&expected),
        "{over:?}, expected {expected:?}"
    );
    final_leaderboard(&screen)
}

/// Points each student should have: from the raw students' answers and the telnet plans.
fn expected_points(students: &[Student], telnet: bool) -> Vec<(String, u32)> {
    let mut points: Vec<(String, u32)> = students
        .iter()
        .map(|s| (s.name.clone(), s.points))
        .collect();
    if telnet {
        for (name, plan) in TELNET_STUDENTS {
            let right = plan.chars().filter(|&c| c == 'R').count();
            points.push((name.to_string(), u32::try_from(right).expect("a few")));
        }
    }
    points.sort();
    points
}

/// The telnet students ran their scripts through round 2's first question, saw the same
/// final leaderboard, and no line wider than 80 columns.
fn check_telnet_transcripts(telnets: Vec<Telnet>, board: &[Standing]) {
    for (telnet, (name, _)) in telnets.into_iter().zip(TELNET_STUDENTS) {
        let t = telnet.finish();
        t.assert_completed();
        assert_eq!(
            final_leaderboard(&t.screen),
            board,
            "{name}'s final leaderboard"
        );
        assert!(t.screen.contains("You finished"), "{name}: {}", t.screen);
        let (width, line) = widest(&t.screen);
        assert!(
            width <= 80,
            "{name} got a line of {width} columns: {line:?}"
        );
    }
}

/// Every line a raw connection received is at most 80 columns wide. The student's own Enter
/// (echoed by their terminal, not sent by quizd) ends each prompt's line.
fn assert_fits_80(who: &str, received: &[u8]) {
    let mut screen = String::from_utf8_lossy(&without_telnet_commands(received)).into_owned();
    for prompt in ["name> ", "code> ", "answer> ", "next> "] {
        screen = screen.replace(prompt, &format!("{prompt}\r\n"));
    }
    let (width, line) = widest(&screen);
    assert!(width <= 80, "{who} got a line of {width} columns: {line:?}");
}

/// The round's rows (attempt 1): one per student, with the points and max expected.
fn check_round_rows(rows: &[Vec<String>], expected: &[(String, u32)]) {
    let mut round: Vec<&Vec<String>> = rows.iter().filter(|r| r[ATTEMPT] == "1").collect();
    round.sort_by(|a, b| a[NAME].cmp(&b[NAME]));
    let got: Vec<(String, u32)> = round
        .iter()
        .map(|r| {
            (
                r[NAME].clone(),
                r[POINTS].parse().expect("live rows have points"),
            )
        })
        .collect();
    assert_eq!(
        got, expected,
        "one row per student with its points: {round:#?}"
    );
    for r in &round {
        let max = if r[NAME] == "late" { "3" } else { "5" };
        assert_eq!(
            (r[MAX].as_str(), r[STATUS].as_str()),
            (max, "completed"),
            "{r:?}"
        );
    }
}

#[test]
fn a_live_class_of_thirty_with_a_late_joiner_and_a_resume_sees_one_podium_and_a_second_round() {
    let mut class = LiveClass::start();
    let telnets = telnet_students(class.addr.port());
    let mut students = raw_students(class.addr, CLASS - 1 - telnets.len());
    let started = class.teacher("start");
    assert!(
        started.starts_with("ok: question 1/5 open, 29 still to answer"),
        "{started}"
    );
    everyone_answers(&mut class, &mut students, 1);

    // Question 2: one student drops before answering and resumes into it; one joins late.
    let opened = class.teacher("next");
    assert!(opened.starts_with("ok: question 2/5 open"), "{opened}");
    for s in &mut students {
        s.see_question(2);
    }
    let dropped = drop_and_resume(class.addr, &mut students[DROPPER], 2);
    let mut late = Student::join(class.addr, "late".into(), true, vec![true; ROUND]);
    let waiting = late.client.expect_line("Waiting for the teacher");
    assert!(
        waiting.contains("you join at the next question"),
        "{waiting}"
    );
    answer_seen(&mut class, &mut students, 2);
    students.push(late);
    for q in 3..=ROUND {
        let opened = class.teacher("next");
        assert!(
            opened.starts_with(&format!("ok: question {q}/5 open")),
            "{opened}"
        );
        everyone_answers(&mut class, &mut students, q);
    }
    let over = class.unasked("live: quiz over");
    let podium = podium(&over);

    let boards: Vec<Vec<Standing>> = students.iter_mut().map(end_of_round).collect();
    let board = &boards[0];
    assert!(
        boards.iter().all(|b| b == board),
        "everyone sees one leaderboard"
    );
    let top = top_rows(&class.top(CLASS));
    assert_eq!(top.len(), CLASS, "{top:#?}");
    assert_eq!(
        &top[..board.len()],
        board.as_slice(),
        "top is the leaderboard"
    );
    assert_eq!(names_and_points(&podium), names_and_points(&top[..3]));
    let expected = expected_points(&students, !telnets.is_empty());
    let mut top_points: Vec<(String, u32)> = top.iter().map(|(_, n, p)| (n.clone(), *p)).collect();
    top_points.sort();
    assert_eq!(top_points, expected, "top's points are the answers given");

    // Round 2 starts with everyone still there.
    let again = class.teacher("start");
    assert!(
        again.starts_with("ok: question 1/5 open, 30 still to answer"),
        "{again}"
    );
    for s in &mut students {
        s.client.expect_line("Question 1 of 5");
    }
    check_telnet_transcripts(telnets, board);
    assert_fits_80("s08 before it dropped", &dropped);
    for s in &students {
        assert_fits_80(&s.name, &s.client.log);
    }
    check_round_rows(&class.stop_and_rows(), &expected);
}
