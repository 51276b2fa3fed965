//! The room on a virtual clock, driven the way the server drives it but with no sockets: a
//! [`Class`] holds a room, a sink that keeps everything the room asked for, and a clock that
//! only moves when told (quinn-proto's `Pair` is the model). Teacher commands, the live game,
//! resume windows and console timeouts run here in microseconds; the TCP tests keep what only
//! TCP shows.

use crate::bank::Marks;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::roster::Attempt;
use super::*;
use crate::bank::Response::Choice as C;
use crate::bank::{Bank, Kind, Problem, Question};
use crate::limits::{ASK_INTERVAL, CODE_LEN};
use crate::quiz::{LiveSettings, Quiz, Scoring, Settings};

const TOKEN: &str = "sesame-42";

/// What the room asked of the world, in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Sent(ConnId, String),
    Closed(ConnId),
    Recorded(String, Status),
}

/// A sink that keeps everything: output per connection (unread), every event in order, the
/// rows, and bank files held in memory for `load` and `reload`.
#[derive(Default)]
struct Sink {
    unread: HashMap<ConnId, String>,
    closed: std::collections::HashSet<ConnId>,
    events: Vec<Event>,
    rows: Vec<Attempt>,
    files: HashMap<PathBuf, String>,
    shutdown: bool,
}

impl Io for Sink {
    fn send(&mut self, id: ConnId, bytes: &[u8]) {
        assert!(!self.closed.contains(&id), "bytes for {id} after its close");
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.unread.entry(id).or_default().push_str(&text);
        self.events.push(Event::Sent(id, text));
    }

    fn close(&mut self, id: ConnId) {
        self.closed.insert(id);
        self.events.push(Event::Closed(id));
    }

    fn record(&mut self, attempt: &Attempt, _quiz: &Quiz) {
        self.events
            .push(Event::Recorded(attempt.name.clone(), attempt.status));
        self.rows.push(attempt.clone());
    }

    fn read_banks(&mut self, paths: &[PathBuf]) -> Result<Bank, Vec<Problem>> {
        let mut questions = Vec::new();
        for path in paths {
            let name = path.display().to_string();
            let Some(text) = self.files.get(path) else {
                return Err(vec![Problem::new(name, 0, "cannot read: no such file")]);
            };
            questions.extend(crate::bank::parse(&name, text.as_bytes())?);
        }
        Ok(Bank {
            title: "files".into(),
            questions,
            ..Default::default()
        })
    }

    fn results(&mut self) -> Result<String, String> {
        Ok(format!("{} row(s)\n", self.rows.len()))
    }

    fn net(&self) -> NetStats {
        NetStats {
            accepted: 7,
            ..NetStats::default()
        }
    }

    fn shutdown(&mut self) {
        self.shutdown = true;
    }
}

/// A room, its sink and a virtual clock.
struct Class {
    room: Room,
    io: Sink,
    now: Instant,
    next_id: ConnId,
}

/// Three questions; the right option is always the bank's second ("right N"). The session's
/// tests use it too.
pub(super) fn three() -> Bank {
    let file: Arc<str> = Arc::from("t.txt");
    Bank {
        title: "t".into(),
        questions: (1..=3)
            .map(|i| {
                Question::new(
                    format!("Question text {i}?"),
                    Kind::choice(
                        vec![
                            format!("wrong {i}"),
                            format!("right {i}"),
                            format!("other {i}"),
                            format!("last {i}"),
                        ],
                        1,
                    ),
                    &file,
                    i,
                )
            })
            .collect(),
        ..Default::default()
    }
}

fn in_order() -> Settings {
    Settings {
        shuffle: false,
        ..Settings::default()
    }
}

fn live(auto_next: Option<u64>, scoring: Scoring) -> Settings {
    Settings {
        live: Some(LiveSettings {
            auto_next: auto_next.map(Duration::from_secs),
            scoring,
        }),
        ..in_order()
    }
}

fn peer(id: ConnId) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000 + id as u16))
}

/// The resume code shown on a screen.
fn code_in(screen: &str) -> String {
    let at = screen.find("resume code is ").expect("the code is shown") + 15;
    screen[at..at + CODE_LEN].to_string()
}

impl Class {
    fn new(settings: Settings) -> Class {
        Class::serving(three(), settings, 1)
    }

    fn serving(bank: Bank, settings: Settings, seed: u64) -> Class {
        let now = Instant::now();
        let config = RoomConfig {
            admin_token: TOKEN.into(),
            banks: vec![PathBuf::from("first.txt")],
            ..RoomConfig::replayable(Quiz::new(bank, settings), seed)
        };
        Class {
            room: Room::new(config, now),
            io: Sink::default(),
            now,
            next_id: 0,
        }
    }

    /// What connection `id` was sent since the last look.
    fn take(&mut self, id: ConnId) -> String {
        self.io.unread.remove(&id).unwrap_or_default()
    }

    fn connect(&mut self, door: Door) -> ConnId {
        self.connect_from(door, [127, 0, 0, 1])
    }

    fn connect_from(&mut self, door: Door, ip: [u8; 4]) -> ConnId {
        let id = self.next_id;
        self.next_id += 1;
        let peer = SocketAddr::from((ip, 40_000 + id as u16));
        self.room
            .handle_connect(id, door, peer, self.now, &mut self.io);
        id
    }

    /// A student at `name> `.
    fn student(&mut self) -> ConnId {
        let id = self.connect(Door::Student);
        assert!(self.take(id).ends_with("name> "));
        id
    }

    /// A student who gave `name`; returns the connection and what they saw.
    fn named(&mut self, name: &str) -> (ConnId, String) {
        let id = self.student();
        let shown = self.send(id, name);
        (id, shown)
    }

    /// A teacher at `admin> `.
    fn teacher(&mut self) -> ConnId {
        let id = self.connect(Door::Teacher);
        assert!(self.take(id).ends_with("token> "));
        assert!(self.send(id, TOKEN).ends_with("admin> "));
        id
    }

    /// Sends a line; returns what that connection saw.
    fn send(&mut self, id: ConnId, line: &str) -> String {
        self.room.handle_line(id, line, self.now, &mut self.io);
        self.take(id)
    }

    fn drop_conn(&mut self, id: ConnId) {
        self.room
            .handle_close(id, Status::Disconnected, self.now, &mut self.io);
        self.io.unread.remove(&id);
    }

    /// Moves the clock on by `d`, firing every deadline on the way at its own instant, as the
    /// server's loop would.
    fn wait(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(at) = self.room.next_deadline() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.room.handle_timeout(self.now, &mut self.io);
        }
        self.now = target;
        self.room.handle_timeout(self.now, &mut self.io);
    }

    fn secs(&mut self, s: u64) {
        self.wait(Duration::from_secs(s));
    }

    fn closed(&self, id: ConnId) -> bool {
        self.io.closed.contains(&id)
    }

    fn row(&self, name: &str) -> &Attempt {
        self.io
            .rows
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("no row for {name}: {:?}", self.io.rows))
    }
}

// --- the room's promises --------------------------------------------------------------------

#[test]
fn an_attempt_is_recorded_before_the_bytes_that_announce_it() {
    let mut c = Class::new(in_order());
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    c.send(alice, "b");
    c.send(alice, "b");
    let recorded =
        c.io.events
            .iter()
            .position(|e| matches!(e, Event::Recorded(name, Status::Completed) if name == "alice"))
            .expect("alice's row");
    let announced = c
        .io
        .events
        .iter()
        .position(
            |e| matches!(e, Event::Sent(id, text) if *id == alice && text.contains("Quiz over")),
        )
        .expect("alice's final line");
    assert!(recorded < announced, "{:?}", c.io.events);
    assert!(c.closed(alice));
}

#[test]
fn the_same_seeds_replay_the_same_class_byte_for_byte() {
    let run = || {
        let mut c = Class::serving(three(), Settings::default(), 42);
        let mut all = String::new();
        for name in ["ann", "bo", "cy"] {
            let (id, shown) = c.named(name);
            all += &shown;
            all += &c.send(id, "a");
            c.secs(31);
            all += &c.take(id);
        }
        all
    };
    let first = run();
    assert!(first.contains("Your resume code is "), "{first}");
    assert_eq!(first, run(), "codes, draws and lettering all replay");
}

#[test]
fn a_closed_connection_gets_nothing_more_and_its_id_can_be_used_again() {
    let mut c = Class::new(in_order());
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    c.drop_conn(alice);
    // The same id, a new connection: a fresh greeting, and alice's seat waits for its code.
    c.room
        .handle_connect(alice, Door::Student, peer(9), c.now, &mut c.io);
    assert!(c.take(alice).starts_with("Welcome to quizd"));
    assert!(c.send(alice, "alice").ends_with("code> "));
}

// --- resume windows -------------------------------------------------------------------------

#[test]
fn a_dropped_attempt_waits_for_the_resume_window_then_is_recorded() {
    let mut c = Class::new(Settings {
        resume_window: Duration::from_secs(600),
        ..in_order()
    });
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    c.drop_conn(alice);
    c.secs(599);
    assert!(c.io.rows.is_empty(), "still in the window");
    c.secs(1);
    let row = c.row("alice");
    assert_eq!(row.status, Status::Disconnected);
    assert_eq!(row.responses, vec![(0, Some(C(1))), (1, None), (2, None)]);
    // No code is asked for any more; the name has taken its one attempt.
    let (_, shown) = c.named("alice");
    assert!(
        shown.starts_with("error: alice has had the 1 attempt allowed"),
        "{shown}"
    );
}

#[test]
fn a_student_resumes_within_the_window_with_the_clock_as_it_stands() {
    let mut c = Class::new(in_order());
    let (alice, hello) = c.named("alice");
    let code = code_in(&hello);
    c.send(alice, "b");
    c.secs(10);
    c.drop_conn(alice);
    c.secs(5);
    let back = c.student();
    assert!(c.send(back, "ALICE").ends_with("code> "));
    let shown = c.send(back, &code);
    assert!(
        shown.starts_with("Welcome back, alice. Score so far: 1/1.\r\n"),
        "{shown}"
    );
    assert!(shown.contains("Question 2 of 3"), "{shown}");
    assert!(shown.ends_with("(15 s left)\r\nanswer> "), "{shown}");
    // 15 s later the clock runs out on the resumed question.
    c.secs(15);
    assert!(c.take(back).starts_with("\r\nTime is up."));
    assert_eq!(c.room.counters().resumed, 1);
}

#[test]
fn resuming_from_a_second_connection_evicts_the_first() {
    let mut c = Class::new(in_order());
    let (first, hello) = c.named("alice");
    let second = c.student();
    c.send(second, "alice");
    c.send(second, &code_in(&hello));
    let told = c.take(first);
    assert!(
        told.contains("Your attempt was resumed from another connection"),
        "{told}"
    );
    assert!(c.closed(first));
    assert!(!c.closed(second));
}

// --- the console ----------------------------------------------------------------------------

#[test]
fn a_console_that_gives_no_token_in_time_is_told_and_closed_and_one_that_did_stays() {
    let mut c = Class::new(in_order());
    let late = c.connect(Door::Teacher);
    c.take(late);
    let quick = c.teacher();
    c.secs(29);
    assert!(!c.closed(late));
    c.secs(1);
    assert_eq!(
        c.take(late),
        "\r\nerror: no token given in 30 s; closing.\r\n"
    );
    assert!(c.closed(late));
    c.secs(3600);
    assert!(!c.closed(quick), "a console past the token has no deadline");
    assert!(c.send(quick, "status").contains("quiz:"));
}

#[test]
fn three_wrong_tokens_close_the_console_and_are_counted() {
    let mut c = Class::new(in_order());
    let t = c.connect(Door::Teacher);
    c.take(t);
    c.send(t, "guess1");
    c.send(t, "guess2");
    assert!(c.send(t, "guess3").contains("error: wrong token; closing"));
    assert!(c.closed(t));
    assert_eq!(c.room.counters().wrong_token_closes, 1);
}

#[test]
fn status_who_top_and_stats_describe_the_class() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    let (bob, _) = c.named("bob");
    c.send(bob, "a");
    c.drop_conn(bob);
    let _lurker = c.student();
    c.secs(4);

    let status = c.send(t, "status");
    assert!(
        status.contains("questions:         3, all in every attempt (from first.txt)"),
        "{status}"
    );
    assert!(
        status.contains("students:          2 connected, 2 in the quiz"),
        "{status}"
    );
    assert!(status.ends_with(".\r\nadmin> "), "{status}");

    let who = c.send(t, "who");
    let line = |name: &str| {
        who.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in {who}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("alice"),
        "#1 alice 1 127.0.0.1:40001 question 2/3 1/1 4s"
    );
    assert_eq!(
        line("bob"),
        "#2 bob 1 127.0.0.1:40002 dropped at 2/3, may resume 0/1 4s"
    );
    assert_eq!(line("-"), "- - - 127.0.0.1:40003 naming - 4s");

    let top = c.send(t, "top 1");
    let folded = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(folded(&top).contains("1 alice 1 1/3 33% 4s"), "{top}");
    let stats = c.send(t, "stats");
    assert!(folded(&stats).contains("accepted: 7"), "{stats}");
    assert!(
        folded(&stats).contains("attempts: 2 started, 0 finished"),
        "{stats}"
    );
    assert!(folded(&stats).contains("answers: 2"), "{stats}");
    assert_eq!(c.send(t, "results"), "0 row(s)\r\n.\r\nadmin> ");
}

#[test]
fn say_and_tell_reach_students_on_their_own_line_with_their_prompt() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    let naming = c.student();
    assert_eq!(
        c.send(t, "say Pens down in 5"),
        "ok: sent to 3 student(s)\r\nadmin> "
    );
    assert_eq!(c.take(alice), "\r\n[teacher] Pens down in 5\r\nanswer> ");
    assert_eq!(c.take(naming), "\r\n[teacher] Pens down in 5\r\nname> ");
    c.take(bob);
    assert_eq!(c.send(t, "tell BOB hi"), "ok: sent to BOB\r\nadmin> ");
    assert_eq!(c.take(bob), "\r\n[teacher, to you] hi\r\nanswer> ");
    assert_eq!(c.take(alice), "");
    assert!(
        c.send(t, "tell carol hi")
            .starts_with("error: no student named carol")
    );
}

#[test]
fn kick_removes_a_connected_student_and_a_parked_seat_and_records_both() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    let (bob, _) = c.named("bob");
    c.send(bob, "b");
    c.drop_conn(bob);
    assert_eq!(
        c.send(t, "kick alice"),
        "ok: alice removed; their answers are saved\r\nadmin> "
    );
    let told = c.take(alice);
    assert!(
        told.contains("The teacher removed you from the quiz; your answers so far are saved.\r\nQuiz over, alice: you scored 1 out of 3"),
        "{told}"
    );
    assert!(c.closed(alice));
    // bob dropped and may resume: kicking him ends the wait now.
    assert_eq!(
        c.send(t, "kick bob"),
        "ok: bob removed; their answers are saved\r\nadmin> "
    );
    assert_eq!(c.row("alice").status, Status::Kicked);
    assert_eq!(c.row("bob").status, Status::Kicked);
    assert!(
        c.send(t, "kick bob")
            .starts_with("error: no student named bob")
    );
    // Nobody is asked for bob's code any more.
    let (_, shown) = c.named("bob");
    assert!(!shown.contains("code> "), "{shown}");
}

#[test]
fn end_finishes_every_attempt_connected_or_parked() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    c.send(bob, "b");
    c.drop_conn(bob);
    assert_eq!(
        c.send(t, "end"),
        "ok: quiz ended for 2 student(s); their answers are saved\r\nadmin> "
    );
    assert!(c.take(alice).contains("The teacher ended the quiz"));
    assert_eq!(c.row("alice").status, Status::Ended);
    assert_eq!(c.row("bob").status, Status::Ended);
    assert!(
        c.send(t, "start")
            .starts_with("error: this quiz is self-paced")
    );
}

#[test]
fn shutdown_from_the_console_replies_then_asks_the_server_to_stop() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    assert_eq!(
        c.send(t, "shutdown"),
        "ok: shutting down; every answer is saved\r\nadmin> "
    );
    assert!(c.io.shutdown);
    // The server then stops the room: everyone is told, every attempt recorded.
    let now = c.now;
    c.room.handle_shutdown(now, &mut c.io);
    assert!(c.take(alice).contains("Server is shutting down"));
    assert!(c.take(t).contains("server shutting down"));
    assert_eq!(c.row("alice").status, Status::Shutdown);
    assert!(c.closed(alice) && c.closed(t));
}

#[test]
fn students_ask_questions_that_every_console_past_the_token_sees() {
    let mut c = Class::new(in_order());
    let t1 = c.teacher();
    let t2 = c.teacher();
    let pending = c.connect(Door::Teacher);
    c.take(pending);
    let (alice, _) = c.named("alice");
    assert_eq!(
        c.send(alice, "/ask is b a \x1b[2Jtrick?"),
        "Sent to the teacher.\r\nanswer> "
    );
    for t in [t1, t2] {
        assert_eq!(
            c.take(t),
            "\r\nask from alice (127.0.0.1:40003): is b a [2Jtrick?\r\nadmin> "
        );
    }
    assert_eq!(c.take(pending), "", "not before the token");
    assert_eq!(c.room.counters().asks, 1);
}

#[test]
fn ask_with_no_console_past_the_token_says_where_the_question_went() {
    let mut c = Class::new(in_order());
    let pending = c.connect(Door::Teacher);
    c.take(pending);
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    assert!(
        c.send(alice, "/ask one")
            .starts_with("Sent to the teacher.")
    );
    c.send(t, "quit");
    c.drop_conn(t);
    c.now += ASK_INTERVAL;
    assert_eq!(
        c.send(alice, "/ask two"),
        "No teacher console is open: your question went to the server's log.\r\nanswer> "
    );
    // A console still at token> is not listening either, and closing it changes nothing.
    c.drop_conn(pending);
    let t = c.teacher();
    c.now += ASK_INTERVAL;
    assert!(
        c.send(alice, "/ask three")
            .starts_with("Sent to the teacher.")
    );
    c.drop_conn(t);
}

#[test]
fn console_notices_wrap_between_words_to_the_console_window() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice_with_a_rather_long_name");
    let (bob, _) = c.named("bob_with_an_even_longer_name_x");
    c.send(t, "start");
    c.take(alice);
    c.send(alice, "b");
    c.send(bob, "a");
    let told = c.take(t);
    let lines: Vec<&str> = told.split("\r\n").collect();
    assert!(lines.len() > 3, "{told}");
    for line in &lines {
        assert!(line.chars().count() <= 80, "{line:?} in {told}");
    }
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        words(&told).join(" "),
        "live: question 1/3 closed (everyone answered). Answers: a 1 | b 1 | c 0 | d 0 | none 0. \
         Top: 1. alice_with_a_rather_long_name 1 point (0.0s), 2. bob_with_an_even_longer_name_x \
         0 points (0.0s); next opens the next admin>"
    );
    // A window the console reported is used instead.
    c.room.handle_window(t, 40);
    c.send(t, "next");
    c.send(alice, "b");
    c.send(bob, "b");
    for line in c.take(t).split("\r\n") {
        assert!(line.chars().count() <= 40, "{line:?}");
    }
}

// --- banks ----------------------------------------------------------------------------------

const GOOD: &str = "Q1?\nA) yes\nB) no\nANSWER: A\n";
const OTHER: &str = "Q2?\nA. one\nB. two\nANSWER: B\n\nQ3?\nA. x\nB. y\nANSWER: A\n";

/// `upload NAME` and the lines of `text`, then `.`: returns the reply.
fn upload(c: &mut Class, t: ConnId, name: &str, text: &str) -> String {
    c.send(t, &format!("upload {name}"));
    for line in text.lines() {
        c.send(t, line);
    }
    c.send(t, ".")
}

#[test]
fn upload_then_status_names_the_upload_and_reload_does_not_go_back_to_the_old_files() {
    let mut c = Class::new(in_order());
    c.io.files.insert(PathBuf::from("first.txt"), OTHER.into());
    let t = c.teacher();
    assert_eq!(
        upload(&mut c, t, "mine.txt", GOOD),
        "ok: 1 question; now serving mine\r\nadmin> "
    );
    let status = c.send(t, "status");
    assert!(
        status.contains("questions:         1, all in every attempt (from mine.txt, uploaded)"),
        "{status}"
    );
    assert!(!status.contains("first.txt"), "{status}");
    let reply = c.send(t, "reload");
    assert!(
        reply
            .starts_with("error: the bank was uploaded (mine.txt): there is no file to read again"),
        "{reply}"
    );
    assert_eq!(c.room.quiz().questions.len(), 1, "still the upload");
    // load names files again; reload then reads them.
    assert!(c.send(t, "load first.txt").starts_with("ok: 2 questions"));
    c.io.files.insert(PathBuf::from("first.txt"), GOOD.into());
    assert!(c.send(t, "reload").starts_with("ok: 1 question"));
    assert!(c.send(t, "status").contains("(from first.txt)"));
}

#[test]
fn a_bad_bank_keeps_the_old_one_and_lists_every_problem() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    c.io.files
        .insert(PathBuf::from("bad.txt"), "Q?\nA) x\nANSWER: C\n".into());
    let reply = c.send(t, "load bad.txt");
    assert!(reply.starts_with("error: bad.txt:"), "{reply}");
    assert_eq!(c.room.quiz().questions.len(), 3);
    assert!(
        c.send(t, "load missing.txt")
            .starts_with("error: missing.txt: cannot read")
    );
    assert!(c.send(t, "status").contains("(from first.txt)"));
}

#[test]
fn banks_switch_only_between_quizzes() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let reply = upload(&mut c, t, "mine.txt", GOOD);
    assert!(reply.contains("1 student(s) are mid-quiz"), "{reply}");
    // Refused before anything is read or parsed: a missing file is not even looked at.
    let reply = c.send(t, "load missing.txt");
    assert!(
        reply.starts_with("error: 1 student(s) are mid-quiz"),
        "{reply}"
    );
    c.send(alice, "/quit");
    assert!(upload(&mut c, t, "mine.txt", GOOD).starts_with("ok: 1 question"));
}

#[test]
fn a_bank_switch_records_attempts_waiting_for_students_who_dropped_and_is_not_blocked_by_them() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    parked(&mut c, "alice");
    let reply = upload(&mut c, t, "mine.txt", GOOD);
    assert!(
        reply.starts_with("ok: 1 question; now serving")
            && reply.contains("(1 attempt(s) of students who dropped recorded as ended)"),
        "{reply}"
    );
    let row = c.io.rows.last().expect("alice's row");
    assert_eq!((row.name.as_str(), row.status), ("alice", Status::Ended));
    assert_eq!(row.responses.len(), 3, "recorded against the bank she took");
    // Her name is free: no seat waits for a resume code.
    let (_, shown) = c.named("alice");
    assert!(!shown.contains("code> "), "{shown}");
}

// --- the live game --------------------------------------------------------------------------

/// Starts a live quiz from console `t`; returns the reply.
fn start(c: &mut Class, t: ConnId) -> String {
    c.send(t, "start")
}

#[test]
fn end_in_a_live_lobby_is_refused_and_a_kick_there_records_nothing() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    assert!(
        c.send(t, "end")
            .starts_with("error: the quiz has not started")
    );
    assert_eq!(c.take(alice), "");
    assert_eq!(
        c.send(t, "kick bob"),
        "ok: bob removed; their answers are saved\r\nadmin> "
    );
    assert_eq!(
        c.take(bob),
        "\r\nThe teacher removed you from the quiz.\r\n"
    );
    assert!(c.closed(bob));
    assert!(c.io.rows.is_empty(), "{:?}", c.io.rows);
    // The same between rounds: alice plays one round, and the next lobby has nothing to end.
    start(&mut c, t);
    for _ in 0..3 {
        c.send(alice, "b");
        c.send(t, "next");
    }
    assert_eq!(c.io.rows.len(), 1);
    c.take(t);
    assert!(
        c.send(t, "end")
            .starts_with("error: the quiz has not started")
    );
    assert_eq!(c.io.rows.len(), 1);
}

#[test]
fn a_live_class_waiting_for_the_next_round_can_be_given_another_bank() {
    let mut c = Class::new(live(None, Scoring::Count));
    c.io.files.insert(PathBuf::from("other.txt"), OTHER.into());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    start(&mut c, t);
    c.send(alice, "b");
    c.send(bob, "a");
    // Mid-question, the switch is refused.
    c.take(t);
    let refused = c.send(t, "load other.txt");
    assert!(
        refused.starts_with("error: 2 student(s) are mid-quiz"),
        "{refused}"
    );
    c.send(t, "next");
    for _ in 0..2 {
        c.send(alice, "b");
        c.send(bob, "b");
        c.send(t, "next");
    }
    assert_eq!(c.io.rows.len(), 2, "the round is recorded");
    c.take(alice);
    c.take(t);
    // Between rounds, everyone is in the next lobby: the switch goes through, and they stay.
    // Someone still at name> is told nothing (they are not in the lobby yet).
    let naming = c.student();
    c.take(naming);
    assert_eq!(
        c.send(t, "load other.txt"),
        "ok: 2 questions; now serving files\r\nadmin> "
    );
    let shown = c.take(alice);
    assert!(
        shown.starts_with("The teacher changed the quiz to files.\r\n\r\nWaiting for the teacher to start the quiz"),
        "{shown}"
    );
    assert_eq!(c.io.rows.len(), 2, "nothing recorded for the lobby");
    assert_eq!(c.take(naming), "");
    assert!(!c.closed(alice) && !c.closed(bob));
    assert_eq!(
        c.room.counters().started,
        4,
        "two per round, none for the switch"
    );
    // The next round asks the new bank's questions, to both.
    start(&mut c, t);
    for id in [alice, bob] {
        assert!(c.take(id).contains("Question 1 of 2"));
    }
}

#[test]
fn a_student_joining_during_the_last_question_waits_for_the_next_round_unranked() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    start(&mut c, t);
    c.send(alice, "b");
    c.send(t, "next");
    c.send(alice, "b");
    c.send(t, "next");
    let (late, shown) = c.named("late");
    assert!(
        shown.ends_with("you join at the next round (this one is ending).\r\n"),
        "{shown}"
    );
    // The name is theirs meanwhile, look-alikes too; and they can ask what there is to ask.
    for other in ["late", "LATE"] {
        let (id, shown) = c.named(other);
        assert!(shown.starts_with("error: the name"), "{shown}");
        c.drop_conn(id);
    }
    assert!(c.send(late, "/code").starts_with("Your resume code is "));
    assert_eq!(
        c.send(late, "/score"),
        "You join when the next round starts: no score yet.\r\n"
    );
    assert_eq!(
        c.send(late, "b"),
        "You join when the next round starts.\r\n"
    );
    // Another who joins then and is removed by the teacher frees their name.
    let (gone, _) = c.named("gone");
    assert_eq!(
        c.send(t, "kick gone"),
        "ok: gone removed; their answers are saved\r\nadmin> "
    );
    assert_eq!(
        c.take(gone),
        "\r\nThe teacher removed you from the quiz.\r\n"
    );
    assert!(c.closed(gone));
    let (again, shown) = c.named("gone");
    assert!(shown.ends_with("(this one is ending).\r\n"), "{shown}");
    c.drop_conn(again);
    let end = c.send(alice, "b");
    assert!(end.contains("You finished 1st of 1."), "{end}");
    let screen = c.take(late);
    assert!(
        !screen.contains("Quiz over") && !screen.contains("You finished"),
        "{screen}"
    );
    assert!(
        screen.contains("Waiting for the teacher to start the quiz: 2 students here."),
        "{screen}"
    );
    let rows: Vec<&str> = c.io.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rows, ["alice"]);
    // The next round counts them in.
    start(&mut c, t);
    assert!(c.take(late).contains("Question 1 of 3"));
}

#[test]
fn with_a_seed_each_live_round_draws_its_own_questions_and_a_rerun_draws_the_same() {
    let rounds = || {
        let mut c = Class::new(Settings {
            shuffle: true,
            seed: Some(7),
            ..live(None, Scoring::Count)
        });
        let t = c.teacher();
        let (alice, _) = c.named("alice");
        let mut orders = Vec::new();
        for _ in 0..3 {
            let order = c.room.shared.live.as_ref().map(|l| l.order.to_vec());
            orders.push(order.expect("live"));
            start(&mut c, t);
            for _ in 0..3 {
                c.send(alice, "a");
                c.send(t, "next");
            }
        }
        orders
    };
    let first = rounds();
    assert!(first[0] != first[1] || first[1] != first[2], "{first:?}");
    assert_eq!(first, rounds(), "replayable");
}

#[test]
fn a_live_resume_into_the_open_question_shows_the_time_left_on_the_room_clock() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, hello) = c.named("bob");
    start(&mut c, t);
    c.send(alice, "b");
    c.send(bob, "b");
    c.send(t, "next");
    c.drop_conn(bob);
    c.secs(10);
    let (back, _) = c.named("bob");
    let shown = c.send(back, &code_in(&hello));
    assert!(
        shown.contains("Question 2 of 3 (30 s)") && shown.ends_with("(20 s left)\r\nanswer> "),
        "{shown}"
    );
    c.send(alice, "b");
}

#[test]
fn a_question_that_closes_with_nobody_left_tells_the_console_nobody() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    c.room.handle_window(t, 200);
    let (alice, _) = c.named("alice");
    start(&mut c, t);
    c.take(t);
    // Her only student leaves before answering: nothing is left to rank.
    c.drop_conn(alice);
    c.secs(30);
    let told = c.take(t);
    assert!(told.contains("Top: nobody yet"), "{told}");
}

#[test]
fn live_time_and_score_follow_the_room_clock_and_count_what_each_student_was_asked() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    start(&mut c, t);
    c.send(alice, "b");
    c.secs(30);
    // bob let question 1 run out: he is held at next> while question 2 opens.
    c.send(t, "next");
    c.take(bob);
    assert_eq!(
        c.send(bob, "/time"),
        "Time left: 30 s (press Enter to see the question)\r\nnext> "
    );
    c.secs(10);
    let shown = c.send(bob, "");
    assert!(
        shown.contains("Question 2 of 3 (30 s)") && shown.ends_with("(20 s left)\r\nanswer> "),
        "{shown}"
    );
    // A late joiner is scored on what they were asked, before and after answering.
    let (late, _) = c.named("late");
    c.send(alice, "b");
    c.send(bob, "b");
    c.send(t, "next");
    c.take(late);
    assert_eq!(
        c.send(late, "/score"),
        "Score: 0/0 (1 question in all)\r\nanswer> "
    );
    c.send(late, "b");
    assert_eq!(c.send(late, "/score"), "Score: 0/0 (1 question in all)\r\n");
    c.take(alice);
    assert_eq!(
        c.send(alice, "/score"),
        "Score: 2/2 (3 questions in all)\r\nanswer> "
    );
}

#[test]
fn a_live_game_of_three_with_a_drop_and_resume_and_one_who_never_answers() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    c.room.handle_window(t, 200);
    let (alice, shown) = c.named("alice");
    assert!(
        shown.ends_with("Waiting for the teacher to start the quiz: 1 student here.\r\n"),
        "{shown}"
    );
    let (bob, hello) = c.named("bob");
    let bob_code = code_in(&hello);
    let (carol, shown) = c.named("carol");
    assert!(shown.contains("3 students here."));
    assert!(c.send(carol, "b").starts_with("error: no question is open"));

    // start: question 1 for everyone at once, the same lettering.
    assert_eq!(
        start(&mut c, t),
        "ok: question 1/3 open, 3 still to answer\r\nadmin> "
    );
    for id in [alice, bob, carol] {
        let screen = c.take(id);
        assert!(
            screen.contains(
                "Question 1 of 3 (30 s)\r\nQuestion text 1?\r\n  a) wrong 1\r\n  b) right 1"
            ),
            "{screen}"
        );
        assert!(screen.ends_with("answer> "));
    }
    c.secs(2);
    assert_eq!(
        c.send(alice, "b"),
        "Answer recorded; waiting for the others.\r\n"
    );
    c.secs(1);
    c.send(bob, "a");
    // carol never answers: the clock closes the question.
    c.secs(26);
    assert_eq!(c.take(alice), "");
    c.secs(1);
    let seen: Vec<String> = [alice, bob, carol].map(|id| c.take(id)).into();
    assert!(
        seen[0].starts_with("\r\nCorrect! Score: 1/1\r\n"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].starts_with("\r\nWrong. The answer was b) right 1. Score: 0/1"),
        "{}",
        seen[1]
    );
    assert!(
        seen[2].starts_with("\r\nTime is up. The answer was b) right 1. Score: 0/1"),
        "{}",
        seen[2]
    );
    for screen in &seen {
        assert!(
            screen.contains("Answers: a 1 | b 1 | c 0 | d 0 | none 1\r\nLeaderboard:\r\n"),
            "{screen}"
        );
    }
    assert!(seen[0].contains("You are 1st of 3."), "{}", seen[0]);
    // bob answered faster than carol's full 30 s: 2nd.
    assert!(seen[1].contains("You are 2nd of 3."), "{}", seen[1]);
    assert!(seen[2].contains("You are 3rd of 3."), "{}", seen[2]);
    // The teacher is told, without asking.
    let told = c.take(t);
    assert!(
        told.contains(
            "live: question 1/3 closed (time up). Answers: a 1 | b 1 | c 0 | d 0 | none 1. \
             Top: 1. alice 1 point (2.0s), 2. bob 0 points (3.0s), 3. carol 0 points (30.0s); \
             next opens the next"
        ),
        "{told}"
    );

    // Question 2: bob drops; alice answers; the question still waits for carol.
    assert!(c.send(t, "next").starts_with("ok: question 2/3 open"));
    c.drop_conn(bob);
    c.send(alice, "b");
    // bob comes back while the question is open and answers it.
    let bob2 = c.student();
    c.send(bob2, "bob");
    let back = c.send(bob2, &bob_code);
    assert!(back.starts_with("Welcome back, bob."), "{back}");
    assert!(back.contains("Question 2 of 3"), "{back}");
    c.send(bob2, "b");
    assert_eq!(c.take(alice), "", "carol still has not answered");
    c.secs(30);
    assert!(c.take(bob2).starts_with("\r\nCorrect! Score: 1/2"));

    // Question 3: carol leaves for good (Ctrl-C twice: the first asks); when the other two
    // answer, it closes at once.
    c.send(t, "next");
    c.take(carol);
    c.room.handle_leave(carol, c.now, &mut c.io);
    assert!(c.take(carol).starts_with(
        "\r\nLeave the quiz for good? Your answers so far are saved.\r\nPress Ctrl-C"
    ));
    c.room.handle_leave(carol, c.now, &mut c.io);
    c.send(alice, "b");
    let bob_screen = c.send(bob2, "c");
    // The last question closing is the end: results, the podium, their own line, and the
    // lobby of the next round, with nobody disconnected and nothing for the teacher to type.
    let screen = c.take(alice);
    assert!(
        screen.contains("Answers: a 0 | b 1 | c 1 | d 0 | none 0"),
        "carol left: {screen}"
    );
    assert!(
        screen
            .contains("Final leaderboard:\r\n   1. alice                    3 points  (2.0 s)\r\n"),
        "{screen}"
    );
    assert!(
        screen.contains(
            "Quiz over, alice: you scored 3 out of 3 (100%).\r\nYou finished 1st of 2.\r\n\r\n\
             Waiting for the teacher to start the quiz: 2 students here.\r\n"
        ),
        "{screen}"
    );
    assert!(!c.closed(alice) && !c.closed(bob2));
    assert!(
        bob_screen.contains("Quiz over, bob: you scored 1 out of 3"),
        "{bob_screen}"
    );
    let told = c.take(t);
    assert!(
        told.contains("live: question 3/3 closed (everyone answered)")
            && told.contains("; that was the last")
            && told.contains("live: quiz over. Podium: 1. alice 3 points (2.0s), 2. bob"),
        "{told}"
    );
    assert!(
        c.send(t, "next")
            .starts_with("error: the quiz has not started (type start)")
    );
    assert_eq!(c.row("alice").status, Status::Completed);
    assert_eq!(
        c.row("bob").responses,
        vec![(0, Some(C(0))), (1, Some(C(1))), (2, Some(C(2)))]
    );
    assert_eq!(c.row("carol").status, Status::Quit);
    assert_eq!(
        c.row("carol").responses,
        vec![(0, None), (1, None), (2, None)]
    );
    // alice and bob are in the next round's lobby, as their second attempts.
    assert_eq!(c.room.in_quiz(), 2);
    assert!(
        c.send(t, "status")
            .contains("mode:              live: lobby")
    );
    assert!(c.send(t, "who").contains("alice    2"));
    // They were told how many are here as they were seated: no update repeats it.
    c.secs(5);
    assert_eq!(c.take(alice), "");
    assert!(start(&mut c, t).starts_with("ok: question 1/3 open, 2 still to answer"));
}

#[test]
fn auto_next_moves_the_live_game_on_without_the_teacher() {
    let mut c = Class::new(live(Some(5), Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    start(&mut c, t);
    c.take(alice);
    c.take(bob);
    c.send(alice, "b");
    c.send(bob, "b");
    // Everyone answered: closed at once; the next opens 5 s later.
    assert!(c.take(alice).contains("You are 1st of 2."));
    c.secs(4);
    assert!(!c.take(alice).contains("Question 2"));
    c.secs(1);
    assert!(c.take(alice).contains("Question 2 of 3"));
    // Nobody answers question 2: its clock closes it, 5 s later question 3 opens.
    c.take(bob);
    c.secs(30);
    let closed = c.take(bob);
    assert!(closed.starts_with("\r\nTime is up."), "{closed}");
    assert!(
        closed.ends_with(
            "Waiting for the next question: it opens in 5 s.\r\n\
             Press Enter when you are ready for it.\r\nnext> "
        ),
        "{closed}"
    );
    // alice presses Enter meanwhile: question 3 shows for her as it opens.
    c.take(alice);
    assert_eq!(c.send(alice, ""), "");
    c.secs(5);
    assert!(c.take(alice).contains("Question 3 of 3"));
    // bob did not: whatever he had half typed for question 2 goes with the Enter that shows
    // question 3, never into its answer.
    assert_eq!(
        c.take(bob),
        "\r\nQuestion 3 is open: press Enter to see it.\r\nnext> "
    );
    assert!(c.send(bob, "c").contains("Question 3 of 3"));
    c.send(alice, "b");
    // The last answer closes the last question, and that is the end at once.
    let bob_screen = c.send(bob, "a");
    assert!(
        c.take(alice)
            .contains("Quiz over, alice: you scored 2 out of 3")
    );
    assert!(
        bob_screen.contains("Quiz over, bob: you scored 1 out of 3"),
        "{bob_screen}"
    );
    assert_eq!(c.io.rows.len(), 2);
}

#[test]
fn speed_scoring_ranks_the_faster_right_answer_first() {
    let mut c = Class::new(live(None, Scoring::Speed));
    let t = c.teacher();
    let (slow, _) = c.named("slow");
    let (fast, _) = c.named("fast");
    start(&mut c, t);
    c.wait(Duration::from_millis(400));
    c.send(fast, "b");
    c.wait(Duration::from_millis(14_850));
    // The last answer closes the question: the results come straight after it.
    let board = c.send(slow, "b");
    assert!(c.take(fast).contains("You are 1st of 2."));
    let fast_at = board.find("fast").expect("fast listed");
    let slow_at = board.find("slow ").expect("slow listed");
    assert!(fast_at < slow_at, "{board}");
    assert!(board.contains("1000 points"), "{board}");
    // 15.25 s of 30: 1000 - 500 * 14.75 / 29.5 = 750.
    assert!(board.contains("750 points"), "{board}");
    // The teacher's top is that leaderboard: by points, then time, the points shown.
    c.take(t);
    let top = c.send(t, "top");
    let rows: Vec<Vec<&str>> = top
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["#", "name", "try", "points", "score", "%", "time"]
    );
    assert_eq!(rows[1][..4], ["1", "fast", "1", "1000"]);
    assert_eq!(rows[2][..4], ["2", "slow", "1", "750"]);
}

#[test]
fn start_with_nobody_here_says_so() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    assert_eq!(
        start(&mut c, t),
        "error: nobody is here yet; start once students have joined (status says how many)\r\nadmin> "
    );
}

#[test]
fn a_late_joiner_waits_for_the_next_question_and_is_never_charged_for_one_not_seen() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    start(&mut c, t);
    c.take(alice);
    let (late, shown) = c.named("late");
    assert!(
        shown.ends_with("you join at the next question.\r\n"),
        "{shown}"
    );
    c.send(alice, "b");
    // Question 1 closes: no verdict for one they never saw, just the room's results.
    let seen = c.take(late);
    assert!(!seen.contains("Time is up"), "{seen}");
    assert!(
        seen.starts_with("\r\nAnswers: a 0 | b 1 | c 0 | d 0 | none 0\r\n"),
        "{seen}"
    );
    c.send(t, "next");
    c.take(late);
    c.send(alice, "b");
    let verdict = c.send(late, "b");
    assert!(verdict.contains("Correct! Score: 1/1"), "{verdict}");
    c.send(t, "next");
    c.send(alice, "b");
    let end = c.send(late, "a");
    assert!(
        end.contains("Quiz over, late: you scored 1 out of 2 (50%)."),
        "{end}"
    );
    let row = c.row("late");
    assert_eq!((row.score, row.max), (Marks::whole(1), 2));
}

#[test]
fn the_score_shown_on_resume_is_the_one_the_next_verdict_continues() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, hello) = c.named("bob");
    let code = code_in(&hello);
    start(&mut c, t);
    c.send(alice, "b");
    c.send(bob, "b");
    c.send(t, "next");
    // bob answers question 2 right, drops, and comes back before it closes.
    c.send(bob, "b");
    c.drop_conn(bob);
    let back = c.student();
    c.send(back, "bob");
    let welcome = c.send(back, &code);
    assert!(
        welcome.starts_with("Welcome back, bob. Score so far: 1/1."),
        "{welcome}"
    );
    let verdict = c.send(alice, "a");
    assert!(verdict.contains("Wrong."), "{verdict}");
    assert!(c.take(back).contains("Correct! Score: 2/2"));
}

#[test]
fn a_live_student_who_drops_keeps_their_place_until_the_quiz_is_over() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    start(&mut c, t);
    c.send(alice, "b");
    c.send(bob, "a");
    c.send(t, "next");
    c.send(alice, "b");
    c.drop_conn(bob);
    // bob was the last to answer: his leaving closes the question.
    assert!(c.take(alice).contains("You are 1st of 2."));
    // However long he is away, his seat waits.
    c.secs(7 * 24 * 3600 - 1);
    assert!(c.io.rows.is_empty());
    c.take(t);
    assert!(c.send(t, "end").contains("ok: quiz over"));
    assert_eq!(c.row("bob").status, Status::Ended);
    assert_eq!(c.row("alice").status, Status::Ended);
}

#[test]
fn live_commands_are_checked_against_the_phase() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    assert_eq!(
        c.send(t, "next"),
        "error: the quiz has not started (type start)\r\nadmin> "
    );
    c.named("alice");
    start(&mut c, t);
    assert!(start(&mut c, t).starts_with("error: the quiz has started already"));
}

#[test]
fn nothing_is_sent_to_a_path_that_is_not_a_bank() {
    // Sanity for the sink: files the test did not put there cannot be read.
    let mut io = Sink::default();
    assert!(
        io.read_banks(&[Path::new("nope.txt").to_path_buf()])
            .is_err()
    );
}

// --- hardening: names, codes, deadlines -----------------------------------------------------

#[test]
fn an_attempt_with_no_answer_does_not_hold_its_name_when_its_student_drops() {
    let mut c = Class::new(in_order());
    for _ in 0..3 {
        let (id, _) = c.named("alice");
        c.drop_conn(id);
    }
    // No code asked for: the name was never held.
    let (_, shown) = c.named("alice");
    assert!(shown.contains("Question 1 of 3"), "{shown}");
    assert!(c.io.rows.is_empty(), "nothing answered, nothing recorded");
    assert_eq!(c.room.counters().discarded, 3);
}

#[test]
fn a_name_that_looks_like_a_students_in_the_quiz_is_refused_and_the_same_name_asks_for_the_code() {
    let mut c = Class::new(in_order());
    c.named("alice");
    for lookalike in ["\u{430}lice", "aIice"] {
        let id = c.student();
        assert_eq!(
            c.send(id, lookalike),
            format!(
                "error: {lookalike} looks too much like alice, who is in the quiz; choose another name\r\nname> "
            )
        );
    }
    // Fullwidth letters are not name characters at all.
    let id = c.student();
    assert!(
        c.send(id, "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}")
            .starts_with("error: names may hold letters, digits, spaces and punctuation")
    );
    let id = c.student();
    assert!(c.send(id, "ALICE").ends_with("code> "));
    let blank = c.student();
    assert!(
        c.send(blank, "\u{2800}")
            .starts_with("error: names may hold letters, digits, spaces and punctuation")
    );
}

/// A student named `name` who answered one question, then dropped; returns the code.
#[test]
fn letting_the_clock_run_out_then_reconnecting_is_no_way_round_the_attempt_limit() {
    let mut c = Class::new(Settings {
        attempts: Some(1),
        resume_window: Duration::from_secs(600),
        ..in_order()
    });
    let (alice, _) = c.named("alice");
    c.secs(30);
    assert!(
        c.take(alice)
            .contains("Time is up. The answer was b) right 1.")
    );
    c.send(alice, "");
    c.drop_conn(alice);
    // The attempt waits for its student, who needs the code to go on.
    let (again, shown) = c.named("alice");
    assert!(shown.ends_with("code> "), "{shown}");
    c.drop_conn(again);
    // Unclaimed, it is recorded, and the name has had its attempt.
    c.secs(600);
    assert_eq!(c.io.rows.len(), 1);
    assert_eq!(c.io.rows[0].status, Status::Disconnected);
    let (_, shown) = c.named("alice");
    assert!(
        shown.starts_with("error: alice has had the 1 attempt allowed"),
        "{shown}"
    );
    // Dropping before any question is done still frees the name (nothing was shown).
    let (bob, _) = c.named("bob");
    c.drop_conn(bob);
    let (_, shown) = c.named("bob");
    assert!(shown.contains("Question 1 of 3"), "{shown}");
}

fn parked(c: &mut Class, name: &str) -> String {
    let (id, hello) = c.named(name);
    c.send(id, "b");
    c.drop_conn(id);
    code_in(&hello)
}

#[test]
fn wrong_codes_count_per_name_across_connections_then_each_try_waits_and_the_teacher_can_reissue() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    c.room.handle_window(t, 200);
    let code = parked(&mut c, "alice");
    let wrong = if code == "zzzzzz" { "yyyyyy" } else { "zzzzzz" };
    // Four wrong codes from four connections, each going back to the name prompt with Enter.
    for _ in 0..4 {
        let id = c.student();
        c.send(id, "alice");
        assert!(
            c.send(id, wrong)
                .starts_with("error: wrong resume code; try again")
        );
        assert_eq!(c.send(id, ""), "name> ");
    }
    assert_eq!(c.take(t), "", "no alert yet");
    // The fifth starts a wait, and the teachers are told once.
    let id = c.student();
    c.send(id, "alice");
    c.send(id, wrong);
    let alert = c.take(t);
    assert!(
        alert.contains(
            "resume code for alice: 5 wrong tries, the last from 127.0.0.1; that address waits 15 s"
        ),
        "{alert}"
    );
    // During the wait, not even the right code is heard.
    let id = c.student();
    c.send(id, "alice");
    let refused = c.send(id, &code);
    assert!(
        refused.starts_with("error: too many wrong codes for alice; try again in 15 s or ask for a new code\r\nname> "),
        "{refused}"
    );
    assert_eq!(c.room.counters().wrong_codes, 5);
    let who = c.send(t, "who");
    assert!(
        who.contains("dropped at 2/3, may resume, 5 wrong codes"),
        "{who}"
    );
    // The teacher gives a new code; the old one stops working; the wait ends.
    let reply = c.send(t, "code alice");
    let new = reply
        .strip_prefix("ok: new resume code for alice: ")
        .map(|rest| rest[..CODE_LEN].to_string())
        .unwrap_or_else(|| panic!("{reply}"));
    assert!(reply.contains("(the old one no longer works)"), "{reply}");
    let id = c.student();
    c.send(id, "alice");
    if new != code {
        assert!(c.send(id, &code).starts_with("error: wrong resume code"));
    }
    let back = c.send(id, &new);
    assert!(back.starts_with("Welcome back, alice."), "{back}");
}

#[test]
fn at_most_twenty_codes_for_one_name_are_tried_in_ten_minutes_however_many_connections() {
    let mut c = Class::new(Settings {
        resume_window: Duration::from_secs(3600),
        ..in_order()
    });
    let code = parked(&mut c, "alice");
    let mut guesses = 0u64;
    // A guesser opens a connection after another, as fast as the room answers, for ten
    // minutes of the room's clock.
    let end = c.now + Duration::from_secs(600);
    while c.now < end {
        let id = c.student();
        c.send(id, "alice");
        for _ in 0..3 {
            guesses += 1;
            let guess = format!("{:06}", guesses % 1_000_000);
            assert_ne!(guess, code);
            c.send(id, &guess);
        }
        c.drop_conn(id);
        c.secs(1);
    }
    let tried = c.room.counters().wrong_codes;
    assert!(tried <= 20, "{tried} codes tried in ten minutes");
    assert!(guesses > 1_500, "the guesser kept going: {guesses}");
    // The rightful owner, after the wait, resumes.
    c.wait(Duration::from_secs(300));
    let id = c.student();
    c.send(id, "alice");
    let back = c.send(id, &code);
    assert!(back.starts_with("Welcome back, alice."), "{back}");
}

#[test]
fn going_back_and_forth_between_name_and_code_does_not_dodge_the_name_deadline() {
    let mut c = Class::new(in_order());
    let _code = parked(&mut c, "alice");
    let id = c.student();
    for _ in 0..59 {
        c.send(id, "alice");
        c.send(id, "");
        c.send(id, "/help");
        c.secs(1);
    }
    assert!(!c.closed(id));
    c.secs(1);
    assert!(
        c.take(id)
            .ends_with("error: no name given in 60 s; closing.\r\n")
    );
    assert!(c.closed(id));
}

#[test]
fn one_address_keeps_at_most_its_quota_of_dropped_attempts_and_gives_up_its_own_oldest() {
    let mut c = Class::new(in_order());
    // All from 127.0.0.1, whose quota is --max-per-address (50).
    for n in 0..crate::limits::MAX_PER_ADDRESS + 2 {
        parked(&mut c, &format!("s{n}"));
    }
    assert_eq!(c.room.counters().parked_early, 2);
    let early: Vec<&str> = c.io.rows.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(early, ["s0", "s1"]);
    assert!(c.io.rows.iter().all(|a| a.status == Status::Disconnected));
}

/// A student who answered one question and dropped, from `ip`; returns the resume code.
fn parked_from(c: &mut Class, name: &str, ip: [u8; 4]) -> String {
    let id = c.connect_from(Door::Student, ip);
    let hello = c.send(id, name);
    c.send(id, "b");
    c.drop_conn(id);
    code_in(&hello)
}

/// Every pupil resumes with their code.
fn all_resume(c: &mut Class, pupils: &[(String, [u8; 4], String)]) {
    for (name, ip, code) in pupils {
        let id = c.connect_from(Door::Student, *ip);
        c.send(id, name);
        assert!(c.send(id, code).contains("Welcome back"), "{name}");
    }
}

#[test]
fn one_address_dropping_attempt_after_attempt_uses_up_its_own_quota_not_the_class_seats() {
    let mut c = Class::new(in_order());
    // A class of 30, each on their own machine, drops (the Wi-Fi went down).
    let pupils: Vec<(String, [u8; 4], String)> = (0..30u8)
        .map(|n| {
            let (name, ip) = (format!("pupil{n}"), [127, 0, 1, n]);
            let code = parked_from(&mut c, &name, ip);
            (name, ip, code)
        })
        .collect();
    // One machine answers one question and drops, over and over.
    for n in 0..crate::limits::MAX_PARKED_SEATS {
        parked_from(&mut c, &format!("bot{n}"), [127, 0, 0, 9]);
    }
    assert!(
        c.io.rows.iter().all(|a| a.name.starts_with("bot")),
        "only the flooding address's attempts were recorded early"
    );
    assert_eq!(c.io.rows[0].name, "bot0", "its oldest first");
    all_resume(&mut c, &pupils);
}

#[test]
fn when_too_many_wait_in_all_the_newest_is_recorded_and_a_class_behind_one_address_keeps_its_seats()
{
    let mut c = Class::new(in_order());
    // A class of 30 behind one NAT drops.
    let pupils: Vec<(String, [u8; 4], String)> = (0..30u8)
        .map(|n| {
            let (name, ip) = (format!("pupil{n}"), [127, 0, 200, 1]);
            let code = parked_from(&mut c, &name, ip);
            (name, ip, code)
        })
        .collect();
    // Thousands of addresses drop two throw-away attempts each, past the cap in all.
    let total = crate::limits::MAX_PARKED_SEATS;
    for n in 0..total {
        let host = (n / 2) as u16;
        let ip = [127, 1, (host >> 8) as u8, host as u8];
        parked_from(&mut c, &format!("bot{n}"), ip);
    }
    assert_eq!(c.room.counters().parked_early, 30);
    let early: Vec<&str> = c.io.rows.iter().map(|a| a.name.as_str()).collect();
    let last: Vec<String> = (total - 30..total).map(|n| format!("bot{n}")).collect();
    assert_eq!(early, last, "the newest were recorded at once");
    all_resume(&mut c, &pupils);
}

#[test]
fn wrong_tokens_from_every_console_at_an_address_together_make_each_further_try_wait() {
    let mut c = Class::new(in_order());
    let mut wrong = 0;
    // Five wrong tokens from two consoles (each closes after three).
    for console in 0..2 {
        let t = c.connect(Door::Teacher);
        c.take(t);
        for _ in 0..(if console == 0 { 3 } else { 2 }) {
            c.send(t, "guess-1234");
            wrong += 1;
        }
        if wrong == 5 {
            // The fifth starts a wait: even the right token is not heard now, on a fresh
            // console too.
            let fresh = c.connect(Door::Teacher);
            c.take(fresh);
            let refused = c.send(fresh, TOKEN);
            assert_eq!(
                refused,
                "\r\nerror: too many wrong tokens lately; try again in 1 s\r\ntoken> "
            );
            c.wait(Duration::from_secs(1));
            assert!(c.send(fresh, TOKEN).ends_with("admin> "), "after the wait");
        }
    }
    assert_eq!(c.room.counters().tokens_refused, 1);
    // The right token starts the count again.
    let t = c.connect(Door::Teacher);
    c.take(t);
    assert!(
        c.send(t, "guess-1234")
            .starts_with("\r\nerror: wrong token")
    );
}

#[test]
fn when_every_console_slot_is_taken_the_oldest_without_a_token_makes_room() {
    let mut c = Class::new(in_order());
    let teacher = c.teacher();
    // Fifteen silent connections from one address fill the other slots.
    let silent: Vec<ConnId> = (0..15)
        .map(|_| {
            let id = c.connect(Door::Teacher);
            c.take(id);
            c.secs(1);
            id
        })
        .collect();
    assert_eq!(c.room.consoles(), crate::limits::MAX_TEACHERS);
    let now = c.now;
    assert!(c.room.make_room_for_console(now, &mut c.io));
    assert!(c.closed(silent[0]), "the oldest without a token went");
    assert!(c.take(silent[0]).contains("every console slot is taken"));
    assert!(!c.closed(teacher));
    assert_eq!(c.room.consoles(), crate::limits::MAX_TEACHERS - 1);
    // With every console past the token, there is no room to make.
    for &id in &silent[1..] {
        c.send(id, TOKEN);
    }
    let extra = c.teacher();
    assert_eq!(c.room.consoles(), crate::limits::MAX_TEACHERS);
    let now = c.now;
    assert!(!c.room.make_room_for_console(now, &mut c.io));
    assert!(!c.closed(extra));
}

#[test]
fn ask_is_limited_by_name_and_by_address_not_by_connection() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (alice, hello) = c.named("alice");
    assert!(
        c.send(alice, "/ask one")
            .starts_with("Sent to the teacher.")
    );
    // Reconnecting under the same name gets no fresh ask.
    c.send(alice, "b");
    c.drop_conn(alice);
    let again = c.student();
    c.send(again, "alice");
    c.send(again, &code_in(&hello));
    assert!(
        c.send(again, "/ask two")
            .starts_with("error: one question every 10 s")
    );
    // Other names from the same address share its five asks per interval.
    for n in 0..4 {
        let (id, _) = c.named(&format!("other{n}"));
        assert!(c.send(id, "/ask hi").starts_with("Sent"), "{n}");
    }
    let (sixth, _) = c.named("sixth");
    assert!(
        c.send(sixth, "/ask hi")
            .starts_with("error: one question every 10 s")
    );
    assert_eq!(c.take(t).matches("ask from").count(), 5);
    assert_eq!(c.room.counters().asks_refused, 2);
    c.secs(10);
    assert!(c.send(sixth, "/ask hi").starts_with("Sent"));
}

#[test]
fn a_resume_that_evicts_a_connected_holder_keeps_the_live_question_countable() {
    // Found by review: the evicted connection was still counted as one to wait for.
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (alice, hello) = c.named("alice");
    let code = code_in(&hello);
    let (bob, _) = c.named("bob");
    assert_eq!(
        start(&mut c, t),
        "ok: question 1/3 open, 2 still to answer\r\nadmin> "
    );
    // alice's laptop switches network: her old connection is still open on the server when
    // she connects again and resumes with her code.
    let again = c.student();
    assert!(c.send(again, "alice").ends_with("code> "));
    let back = c.send(again, &code);
    assert!(back.contains("Question 1 of 3"), "{back}");
    assert!(c.closed(alice), "the old connection is evicted");
    let status = c.send(t, "status");
    assert!(
        status.contains("mode:              live: question 1/3 open, 2 still to answer"),
        "{status}"
    );
    c.send(again, "b");
    let seen = c.send(bob, "b");
    assert!(
        seen.contains("Answers: a 0 | b 2"),
        "the question did not close: {seen:?}"
    );
}

#[test]
fn who_shows_how_long_a_dropped_student_has_been_away() {
    let mut c = Class::new(live(None, Scoring::Count));
    let t = c.teacher();
    let (_alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    start(&mut c, t);
    c.send(bob, "b");
    c.drop_conn(bob);
    c.secs(90);
    let who = c.send(t, "who");
    let row = who
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("bob"))
        .unwrap_or("");
    assert!(row.ends_with("1m30s"), "{who}");
}

#[test]
fn attempt_numbers_are_never_reused_so_kick_by_number_cannot_reach_someone_else() {
    // Found by review: numbers were slots, and a later student took a quitter's number.
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let (first, _) = c.named("first");
    let (second, _) = c.named("second");
    assert!(c.send(t, "who").contains("#2  second"));
    c.send(second, "/quit");
    let (third, _) = c.named("third");
    let who = c.send(t, "who");
    assert!(who.contains("#3  third"), "{who}");
    assert_eq!(
        c.send(t, "kick #2"),
        "error: no student named #2 is in the quiz\r\nadmin> "
    );
    assert!(!c.closed(third) && !c.closed(first));
}

#[test]
fn a_guesser_waiting_out_its_backoff_cannot_keep_the_student_from_resuming_elsewhere() {
    // Found by review: with one wait per name, a guesser polling for its end and spending its
    // free tries at once kept the rightful student locked out, even after `code NAME`.
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let code = parked(&mut c, "alice");
    let guess = |c: &mut Class| {
        let id = c.connect_from(Door::Student, [127, 0, 0, 66]);
        c.take(id);
        c.send(id, "alice");
        let shown = c.send(id, if code == "zzzzzz" { "yyyyyy" } else { "zzzzzz" });
        c.drop_conn(id);
        shown
    };
    for _ in 0..5 {
        guess(&mut c);
    }
    assert!(
        guess(&mut c).starts_with("error: too many wrong codes"),
        "the guesser waits"
    );
    // alice, at her own machine, is not kept waiting.
    let id = c.connect_from(Door::Student, [127, 0, 0, 9]);
    c.take(id);
    c.send(id, "alice");
    assert!(c.send(id, &code).starts_with("Welcome back, alice."));
    assert!(
        c.take(t).contains("127.0.0.66"),
        "the teacher is told where the guesses came from"
    );
}

#[test]
fn tries_refused_during_a_wait_still_count_against_the_connection() {
    let mut c = Class::new(in_order());
    let code = parked(&mut c, "alice");
    let wrong = if code == "zzzzzz" { "yyyyyy" } else { "zzzzzz" };
    for _ in 0..5 {
        let id = c.student();
        c.send(id, "alice");
        c.send(id, wrong);
        c.drop_conn(id);
    }
    // One connection polls for the end of the wait: its third refused try closes it.
    let id = c.student();
    for _ in 0..2 {
        c.send(id, "alice");
        assert!(c.send(id, wrong).starts_with("error: too many wrong codes"));
    }
    c.send(id, "alice");
    assert_eq!(
        c.send(id, wrong),
        "error: too many tries for a resume code; closing.\r\n"
    );
    assert!(c.closed(id));
}

#[test]
fn a_token_guesser_waiting_out_its_backoff_does_not_keep_the_teacher_out() {
    // Found by review: one wait for every console let a guesser lock the teacher out.
    let mut c = Class::new(in_order());
    let guess = |c: &mut Class| {
        let id = c.connect_from(Door::Teacher, [127, 0, 0, 77]);
        c.take(id);
        c.send(id, "guess-1234")
    };
    for _ in 0..5 {
        guess(&mut c);
    }
    assert!(guess(&mut c).starts_with("\r\nerror: too many wrong tokens lately"));
    // The teacher, at the server, gets in at once.
    let t = c.connect_from(Door::Teacher, [127, 0, 0, 1]);
    c.take(t);
    assert!(c.send(t, TOKEN).ends_with("admin> "));
    // A guesser polling one connection is closed after three tries, heard or not.
    let id = c.connect_from(Door::Teacher, [127, 0, 0, 77]);
    c.take(id);
    c.send(id, "guess-1");
    c.send(id, "guess-2");
    assert!(c.send(id, "guess-3").ends_with("; closing\r\n"));
    assert!(c.closed(id));
}

#[test]
fn ask_needs_a_name_and_everyone_together_gets_thirty_per_interval() {
    // Found by review: thousands of addresses, five asks each before a name, flooded the
    // console.
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let anonymous = c.student();
    assert!(
        c.send(anonymous, "/ask hello")
            .starts_with("error: give your name first")
    );
    let mut sent = 0;
    for n in 0..40u8 {
        let id = c.connect_from(Door::Student, [127, 0, 1, n]);
        c.take(id);
        c.send(id, &format!("s{n}"));
        if c.send(id, "/ask hi").starts_with("Sent") {
            sent += 1;
        }
    }
    assert_eq!(sent, 30);
    assert_eq!(c.take(t).matches("ask from").count(), 30);
}

// --- attempts ------------------------------------------------------------------------------

/// `name` takes the three-question quiz to the end; returns what they saw last.
fn take_quiz(c: &mut Class, name: &str) -> String {
    let (id, _) = c.named(name);
    c.send(id, "b");
    c.send(id, "b");
    c.send(id, "b")
}

#[test]
fn a_name_that_took_the_quiz_is_refused_another_attempt_until_the_teacher_allows_one() {
    let mut c = Class::new(in_order());
    let t = c.teacher();
    assert!(take_quiz(&mut c, "alice").contains("Quiz over, alice"));
    // Again, and under names that look like it: refused, back at the name prompt.
    for again in ["alice", "Alice", "\u{430}lice", "aIice"] {
        let (_, shown) = c.named(again);
        assert_eq!(
            shown,
            format!(
                "error: {again} has had the 1 attempt allowed; your teacher can allow another\r\nname> "
            )
        );
    }
    assert_eq!(c.room.counters().retakes_refused, 4);
    assert_eq!(
        c.send(t, "retake bob"),
        "error: bob has not taken this quiz yet (1 attempt(s) allowed); they may start\r\nadmin> "
    );
    assert!(
        c.send(t, "retake #1")
            .starts_with("error: usage: retake NAME")
    );
    assert_eq!(
        c.send(t, "retake ALICE"),
        "ok: ALICE may start 1 more attempt(s) (1 taken so far)\r\nadmin> "
    );
    // The second attempt is numbered as such in `who`, `top` and the results.
    let (second, _) = c.named("alice");
    let who = c.send(t, "who");
    assert!(who.contains("#2  alice    2  127.0.0.1"), "{who}");
    c.send(second, "b");
    c.send(second, "a");
    c.send(second, "b");
    let top = c.send(t, "top");
    assert!(
        top.contains("1  alice    1    3/3") && top.contains("2  alice    2    2/3"),
        "{top}"
    );
    let attempts: Vec<u32> = c.io.rows.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [1, 2]);
    // And that was the last one allowed.
    let (_, shown) = c.named("alice");
    assert!(
        shown.starts_with("error: alice has had the 2 attempts allowed"),
        "{shown}"
    );
}

#[test]
fn without_a_limit_attempts_are_numbered_and_a_new_bank_starts_the_count_again() {
    let mut c = Class::new(Settings {
        attempts: None,
        ..in_order()
    });
    let t = c.teacher();
    take_quiz(&mut c, "alice");
    take_quiz(&mut c, "alice");
    assert_eq!(
        c.io.rows.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        c.send(t, "retake alice")
            .starts_with("ok: attempts are not limited")
    );

    let mut c = Class::new(in_order());
    let t = c.teacher();
    take_quiz(&mut c, "alice");
    assert!(upload(&mut c, t, "mine.txt", GOOD).starts_with("ok: 1 question"));
    let (_, shown) = c.named("alice");
    assert!(shown.contains("Question 1 of 1"), "a new quiz: {shown}");
}

#[test]
fn a_code_typed_for_an_attempt_that_ended_meanwhile_is_never_checked_against_the_next_in_its_slot()
{
    let mut c = Class::new(in_order());
    let t = c.teacher();
    let code = parked(&mut c, "zed");
    let guesser = c.student();
    assert!(c.send(guesser, "zed").ends_with("code> "));
    // The bank switch records zed's attempt; newkid's takes its slot.
    assert!(upload(&mut c, t, "mine.txt", GOOD).starts_with("ok: 1 question"));
    let (_, shown) = c.named("newkid");
    assert!(shown.contains("Question 1 of 1"), "{shown}");
    assert_eq!(
        c.send(guesser, &code),
        "That quiz has just ended; type a name to start a new one.\r\nname> "
    );
    let who = c.send(t, "who");
    assert!(!who.contains("wrong codes"), "{who}");
}

#[test]
fn reload_keeps_the_given_title_and_another_bank_brings_its_own() {
    let now = Instant::now();
    let config = RoomConfig {
        admin_token: TOKEN.into(),
        banks: vec![PathBuf::from("first.txt")],
        title: Some("Week 1".into()),
        ..RoomConfig::replayable(Quiz::new(three(), in_order()), 1)
    };
    let mut c = Class {
        room: Room::new(config, now),
        io: Sink::default(),
        now,
        next_id: 0,
    };
    c.io.files.insert(PathBuf::from("first.txt"), GOOD.into());
    let t = c.teacher();
    assert_eq!(
        c.send(t, "reload"),
        "ok: 1 question; now serving Week 1\r\nadmin> "
    );
    assert_eq!(
        upload(&mut c, t, "week2.txt", GOOD),
        "ok: 1 question; now serving week2\r\nadmin> "
    );
}

// --- the journal ----------------------------------------------------------------------------

impl Class {
    /// A class whose room writes a journal.
    fn journaled(settings: Settings) -> Class {
        let mut c = Class::new(settings);
        let config = RoomConfig {
            admin_token: TOKEN.into(),
            journal: true,
            ..RoomConfig::replayable(Quiz::new(three(), c.room.quiz().settings.clone()), 7)
        };
        c.room = Room::new(config, c.now);
        c
    }

    /// What the journal holds so far, read back as start-up reads it.
    fn replay(&mut self) -> crate::journal::Recovered {
        let mut bytes = crate::journal::record::MAGIC.to_vec();
        bytes.extend_from_slice(self.room.journal_mut().expect("journal on"));
        let (records, len, tail) = crate::journal::record::read_frames(&bytes);
        assert_eq!(
            (len, tail),
            (bytes.len(), crate::journal::record::Tail::Clean)
        );
        crate::journal::Recovered::fold(records)
    }

    /// Every seat in the room is in the journal as it stands, and nothing else is.
    fn assert_journal_is_the_room(&mut self) {
        let recovered = self.replay();
        let seats: Vec<&roster::Seat> = self.room.shared.roster.seats().collect();
        assert_eq!(recovered.seats.len(), seats.len(), "{recovered:#?}");
        for seat in seats {
            let kept = &recovered.seats[&seat.id()];
            assert_eq!(kept.name, seat.name);
            assert_eq!(kept.code, seat.code);
            assert_eq!(kept.progress.chosen, seat.chosen, "{}", seat.name);
            assert_eq!(
                (
                    kept.progress.score,
                    kept.progress.index as usize,
                    kept.progress.points
                ),
                (seat.score.units(), seat.index, seat.points),
                "{}",
                seat.name
            );
        }
        let rows: Vec<&Attempt> = recovered.ended.iter().map(|e| &e.attempt).collect();
        assert_eq!(
            rows,
            self.io.rows.iter().collect::<Vec<_>>(),
            "every row, whole"
        );
    }
}

#[test]
fn every_change_to_an_attempt_reaches_the_journal_as_it_happens() {
    let mut c = Class::journaled(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    let (bob, _) = c.named("bob");
    let (carol, _) = c.named("carol");
    c.assert_journal_is_the_room();
    c.send(alice, "b");
    c.send(bob, "a");
    c.assert_journal_is_the_room();
    // A clock that runs out, a drop, a new code from the teacher, a kick, a quit.
    c.secs(31);
    c.assert_journal_is_the_room();
    c.drop_conn(carol);
    c.send(t, "code carol");
    c.assert_journal_is_the_room();
    c.send(t, "kick bob");
    c.send(alice, "");
    c.send(alice, "/quit");
    c.assert_journal_is_the_room();
    assert_eq!(c.io.rows.len(), 2);
}

#[test]
fn every_change_of_a_live_game_reaches_the_journal() {
    let mut c = Class::journaled(live(None, Scoring::Speed));
    let t = c.teacher();
    let (ann, _) = c.named("ann");
    let (ben, _) = c.named("ben");
    start(&mut c, t);
    c.secs(2);
    c.send(ann, "b");
    c.secs(1);
    c.send(ben, "a");
    c.assert_journal_is_the_room();
    let recovered = c.replay();
    assert_eq!(
        recovered.live.map(|l| l.phase),
        Some(crate::journal::record::LivePhase::Closed(0))
    );
    assert!(
        recovered.seats.values().any(|s| s.progress.points > 0),
        "the points of the closed question"
    );
}

#[test]
fn a_room_restored_from_a_journal_lets_a_student_carry_on_with_score_code_and_clock() {
    let mut c = Class::journaled(in_order());
    let (alice, hello) = c.named("alice");
    let code = code_in(&hello);
    c.send(alice, "b");
    c.secs(10);
    let recovered = c.replay();

    // The server dies; a new room starts from the journal, later.
    let mut d = Class::journaled(in_order());
    d.now += Duration::from_secs(3600);
    let restored = d.room.restore(&recovered, d.now);
    assert_eq!((restored.seats, restored.answers), (1, 1));
    assert_eq!(d.room.in_quiz(), 1, "alice's attempt waits for her");
    let back = d.student();
    assert!(d.send(back, "alice").ends_with("code> "));
    let shown = d.send(back, &code);
    assert!(
        shown.starts_with("Welcome back, alice. Score so far: 1/1.\r\n"),
        "{shown}"
    );
    assert!(shown.contains("Question 2 of 3"), "{shown}");
    // Her clock had 30 s when last written: it runs again from her return.
    assert!(shown.ends_with("(30 s left)\r\nanswer> "), "{shown}");
    d.secs(29);
    assert!(d.send(back, "b").starts_with("Correct! Score: 2/2"));
    d.send(back, "b");
    let row = d.row("alice").clone();
    assert_eq!(
        row.id,
        recovered.seats.keys().next().copied().expect("her id")
    );
    assert_eq!(
        row.responses,
        vec![(0, Some(C(1))), (1, Some(C(1))), (2, Some(C(1)))]
    );
    // New attempts are numbered after hers.
    let (_, _) = d.named("zed");
    let zed = d
        .room
        .shared
        .roster
        .seats()
        .find(|s| s.name == "zed")
        .map(|s| s.number);
    assert!(zed > Some(row.id.number), "{zed:?}");
}

#[test]
fn an_unclaimed_restored_attempt_is_recorded_when_its_resume_window_ends() {
    let mut c = Class::journaled(in_order());
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    let recovered = c.replay();
    let mut d = Class::journaled(in_order());
    d.room.restore(&recovered, d.now);
    d.secs(601);
    let row = d.row("alice");
    assert_eq!(
        (row.status, row.score),
        (Status::Disconnected, Marks::whole(1))
    );
}

#[test]
fn attempts_taken_before_a_crash_still_count_after_it() {
    let mut c = Class::journaled(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    for _ in 0..3 {
        c.send(alice, "b");
    }
    let (bob, _) = c.named("bob");
    for _ in 0..3 {
        c.send(bob, "b");
    }
    c.send(t, "retake bob");
    let recovered = c.replay();

    let mut d = Class::journaled(in_order());
    d.room.restore(&recovered, d.now);
    let (_, refused) = d.named("ALICE");
    assert!(
        refused.starts_with("error: ALICE has had the 1 attempt allowed"),
        "{refused}"
    );
    let (_, again) = d.named("bob");
    assert!(
        again.starts_with("Hello bob."),
        "the retake holds too: {again}"
    );
}

#[test]
fn while_the_journal_cannot_be_written_answers_are_refused_and_the_teacher_is_told() {
    let mut c = Class::journaled(in_order());
    let t = c.teacher();
    let (alice, _) = c.named("alice");
    c.room.set_saving_failed(true, &mut c.io);
    assert!(
        c.take(t)
            .contains("the journal cannot be written (is the disk full?)")
    );
    let refused = c.send(alice, "b");
    assert!(
        refused.starts_with("error: answers cannot be saved right now"),
        "{refused}"
    );
    assert!(refused.ends_with("answer> "), "{refused}");
    assert_eq!(c.room.counters().answers, 0, "not taken");
    c.room.set_saving_failed(false, &mut c.io);
    assert!(c.take(t).contains("the journal is written again"));
    assert!(c.send(alice, "b").starts_with("Correct! Score: 1/1"));
}

#[test]
fn a_journaled_attempt_that_does_not_fit_the_quiz_is_not_brought_back_but_recorded() {
    let mut c = Class::journaled(in_order());
    let (alice, _) = c.named("alice");
    c.send(alice, "b");
    let mut recovered = c.replay();
    // As a corrupt (but checksummed) record, or another bank, could say: question 9 of 3.
    for seat in recovered.seats.values_mut() {
        seat.order[1] = 9;
    }
    let mut d = Class::journaled(in_order());
    let restored = d.room.restore(&recovered, d.now);
    assert_eq!(restored.seats, 0);
    assert_eq!(restored.unfit.len(), 1);
    assert_eq!(restored.unfit[0].status, Status::Interrupted);
    assert_eq!(
        restored.unfit[0].responses[0],
        (0, Some(C(1))),
        "her answer is kept"
    );
    assert_eq!(d.room.in_quiz(), 0);
}

#[test]
fn a_restored_clock_loses_the_time_that_passed_before_the_journal_last_wrote() {
    let mut c = Class::journaled(in_order());
    let (alice, hello) = c.named("alice");
    let code = code_in(&hello);
    c.send(alice, "b");
    c.secs(12);
    // Someone else answers 12 s later: the crash came after that.
    let (bob, _) = c.named("bob");
    c.send(bob, "b");
    let recovered = c.replay();
    let mut d = Class::journaled(in_order());
    d.room.restore(&recovered, d.now);
    let back = d.student();
    d.send(back, "alice");
    let shown = d.send(back, &code);
    assert!(shown.ends_with("(18 s left)\r\nanswer> "), "{shown}");
}

#[test]
fn restored_live_seats_wait_for_the_round_not_the_resume_window() {
    let mut c = Class::journaled(live(None, Scoring::Count));
    let t = c.teacher();
    let (ann, _) = c.named("ann");
    start(&mut c, t);
    c.send(ann, "b");
    let recovered = c.replay();
    let mut d = Class::journaled(live(None, Scoring::Count));
    d.room.restore(&recovered, d.now);
    d.secs(3600);
    assert!(d.io.rows.is_empty(), "{:?}", d.io.rows);
    assert_eq!(d.room.in_quiz(), 1);
}
