//! The text of the console's data replies (`status`, `who`, `top`, `stats`), from plain views
//! the room fills in, sized for a telnet window of 80 columns.

use std::net::SocketAddr;
use std::time::Duration;

use crate::bank::Marks;
use crate::limits::MAX_NAME_CHARS;
use crate::text::{columns, human_bytes, human_duration, pad, sanitize};

/// Whether the students go at their own pace or the teacher moves everyone on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each student starts on giving a name and moves on by answering.
    SelfPaced,
    /// The teacher starts the quiz and moves everyone on together.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SelfPaced => "self-paced",
            Mode::Live => "live",
        }
    }
}

/// What `status` shows; the server fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub mode: Mode,
    pub title: String,
    /// Questions in the bank.
    pub questions: usize,
    /// Questions each attempt asks (`--count`), when fewer than the bank has.
    pub per_attempt: Option<usize>,
    /// Where the bank came from (files as loaded, or an upload's name); empty for the bundled
    /// bank.
    pub files: Vec<String>,
    /// Student connections open now, named or not.
    pub students_connected: usize,
    /// Students with a name and an attempt running.
    pub in_quiz: usize,
    /// Attempts finished since the server started.
    pub finished: u64,
    /// Live mode: where the game is, e.g. `lobby, waiting for start` or
    /// `question 3 of 10, 12 s left`. `None` in self-paced mode.
    pub live_phase: Option<String>,
}

/// `status`: a few `key: value` lines.
pub fn render_status(view: &StatusView) -> Vec<String> {
    let mut questions = view.questions.to_string();
    match view.per_attempt {
        Some(count) if count < view.questions => {
            questions.push_str(&format!(", {count} per attempt"))
        }
        Some(_) => questions.push_str(", all in every attempt"),
        None => {}
    }
    if !view.files.is_empty() {
        questions.push_str(&format!(" (from {})", view.files.join(", ")));
    }
    let mut mode = view.mode.as_str().to_owned();
    if let Some(phase) = &view.live_phase {
        mode.push_str(&format!(": {phase}"));
    }
    key_values(&[
        ("quiz", sanitize(&view.title, 60)),
        ("questions", questions),
        ("mode", mode),
        (
            "students",
            format!(
                "{} connected, {} in the quiz",
                view.students_connected, view.in_quiz
            ),
        ),
        ("attempts finished", view.finished.to_string()),
    ])
}

/// One student in `who`; the server fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoRow {
    /// The attempt's number for `kick #N`, `tell #N` and `code #N`; `None` before it starts.
    pub number: Option<usize>,
    /// Empty while the student has not given a name yet.
    pub name: String,
    /// Which of the name's attempts this is (from 1); `None` before it starts.
    pub attempt: Option<u32>,
    pub peer: SocketAddr,
    /// Where the student is, e.g. `naming`, `question 3/10`, `lobby`, `done`.
    pub state: String,
    /// Marks and questions answered so far; `None` before the first question.
    pub score: Option<(Marks, u32)>,
    /// Since the student last sent a line.
    pub idle: Duration,
}

/// `who`: a header and one aligned row per student, sorted by name (case-insensitive; students
/// without a name last, shown as `-`), then address.
pub fn render_who(rows: &[WhoRow]) -> Vec<String> {
    let mut sorted: Vec<&WhoRow> = rows.iter().collect();
    sorted.sort_by_cached_key(|row| (row.name.is_empty(), row.name.to_lowercase(), row.peer));
    let cells: Vec<Vec<String>> = sorted
        .iter()
        .map(|row| {
            vec![
                row.number.map_or("-".to_owned(), |n| format!("#{n}")),
                match sanitize(&row.name, MAX_NAME_CHARS) {
                    name if name.is_empty() => "-".to_owned(),
                    name => name,
                },
                row.attempt.map_or("-".to_owned(), |n| n.to_string()),
                row.peer.to_string(),
                row.state.clone(),
                row.score
                    .map_or("-".to_owned(), |(points, of)| format!("{points}/{of}")),
                human_duration(row.idle),
            ]
        })
        .collect();
    table(
        &["#", "name", "try", "address", "state", "score", "idle"],
        &[true, false, true, false, false, true, true],
        &cells,
    )
}

/// One row of `top`; the server ranks the attempts (ties share a rank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopRow {
    pub rank: usize,
    pub name: String,
    /// Which of the name's attempts it was (from 1).
    pub attempt: u32,
    /// Live mode: leaderboard points as shown (the ranking is by them, then by time).
    pub points: Option<String>,
    pub score: Marks,
    /// Questions in the attempt.
    pub max: u32,
    /// How long the attempt took.
    pub time: Duration,
}

/// `top`: a header and one aligned row per attempt, in the order given; with a `points`
/// column when the rows have points (live mode, whose `time` is the time taken to answer).
pub fn render_top(rows: &[TopRow]) -> Vec<String> {
    let live = rows.iter().any(|row| row.points.is_some());
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.rank.to_string(),
                sanitize(&row.name, MAX_NAME_CHARS),
                row.attempt.to_string(),
            ];
            if live {
                cells.push(row.points.clone().unwrap_or_default());
            }
            cells.extend([
                format!("{}/{}", row.score, row.max),
                format!("{}%", row.score.percent_of(row.max)),
                // Live: to the tenth of a second, as the students' leaderboard shows it.
                if live {
                    crate::text::seconds_tenths(row.time)
                } else {
                    human_duration(row.time)
                },
            ]);
            cells
        })
        .collect();
    if live {
        table(
            &["#", "name", "try", "points", "score", "%", "time"],
            &[true, false, true, true, true, true, true],
            &cells,
        )
    } else {
        table(
            &["#", "name", "try", "score", "%", "time"],
            &[true, false, true, true, true, true],
            &cells,
        )
    }
}

/// What `stats` shows; the server fills it in from its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsView {
    pub connected_students: usize,
    pub connected_teachers: usize,
    /// Most connections open at once since the start.
    pub peak_connections: usize,
    /// Student connections accepted since the start.
    pub accepted_total: u64,
    /// Connections refused because the server was full.
    pub rejected_full: u64,
    /// Connections refused because their address had too many open.
    pub rejected_address: u64,
    /// Connections closed because their output backed up.
    pub closed_output_cap: u64,
    /// Teacher consoles closed after too many wrong tokens.
    pub wrong_token_closes: u64,
    /// Consoles refused (every slot taken), and consoles without a token closed to make room.
    pub consoles_refused: u64,
    pub consoles_evicted: u64,
    pub attempts_started: u64,
    pub attempts_finished: u64,
    /// Attempts whose student dropped before answering (no row).
    pub attempts_discarded: u64,
    /// Attempts recorded before their resume window ended, because too many were waiting.
    pub attempts_parked_early: u64,
    /// New attempts refused because the name had taken those allowed.
    pub attempts_refused: u64,
    /// Wrong resume codes typed, and tries not heard because the name had to wait.
    pub wrong_codes: u64,
    pub codes_refused: u64,
    pub answers: u64,
    pub timeouts: u64,
    /// Input lines refused for being over [`crate::limits::MAX_LINE`].
    pub lines_too_long: u64,
    /// `/ask` messages passed on, and refused for coming too fast.
    pub asks: u64,
    pub asks_refused: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// What the journal did, in words (`off` without one).
    pub journal: String,
    /// What the projector board did, in words (`off` without one).
    pub board: String,
    pub uptime: Duration,
}

/// `stats`: aligned `key: value` lines, sizes and times in human units.
pub fn render_stats(view: &StatsView) -> Vec<String> {
    let bytes = |n: u64| {
        if n < 1024 {
            format!("{n} B")
        } else {
            format!("{} ({n} B)", human_bytes(n))
        }
    };
    key_values(&[
        (
            "connected",
            format!(
                "{}, {} (peak {})",
                count(view.connected_students, "student"),
                count(view.connected_teachers, "teacher"),
                view.peak_connections
            ),
        ),
        ("accepted", view.accepted_total.to_string()),
        ("refused (full)", view.rejected_full.to_string()),
        ("refused (address)", view.rejected_address.to_string()),
        ("closed (output cap)", view.closed_output_cap.to_string()),
        ("closed (wrong token)", view.wrong_token_closes.to_string()),
        (
            "consoles",
            format!(
                "{} refused (full), {} without a token closed to make room",
                view.consoles_refused, view.consoles_evicted
            ),
        ),
        (
            "attempts",
            format!(
                "{} started, {} finished, {} dropped before answering, {} recorded early (too many waiting), {} refused (taken already)",
                view.attempts_started,
                view.attempts_finished,
                view.attempts_discarded,
                view.attempts_parked_early,
                view.attempts_refused
            ),
        ),
        (
            "resume codes",
            format!(
                "{} wrong, {} not heard (name waiting)",
                view.wrong_codes, view.codes_refused
            ),
        ),
        ("answers", view.answers.to_string()),
        ("timeouts", view.timeouts.to_string()),
        ("lines too long", view.lines_too_long.to_string()),
        (
            "asks",
            format!("{} ({} refused, too fast)", view.asks, view.asks_refused),
        ),
        ("bytes in", bytes(view.bytes_in)),
        ("bytes out", bytes(view.bytes_out)),
        (
            "journal",
            view.journal
                .strip_prefix("journal: ")
                .unwrap_or(&view.journal)
                .to_string(),
        ),
        ("board", view.board.clone()),
        ("uptime", human_duration(view.uptime)),
    ])
}

/// `1 student`, `2 students`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `key: value` lines with the values lined up.
fn key_values(pairs: &[(&str, String)]) -> Vec<String> {
    let width = pairs
        .iter()
        .map(|(key, _)| key.len() + 1)
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}", format!("{key}:")))
        .collect()
}

/// Columns two spaces apart, each as wide as its widest cell (in characters); `right` says
/// which ones are aligned right. No trailing spaces.
pub fn table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| columns(h)).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(columns(cell));
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(&pad(cell, width, !right.get(i).copied().unwrap_or(false)));
        }
        text.truncate(text.trim_end().len());
        text
    };
    let mut lines = vec![line(&mut header.iter().copied())];
    lines.extend(
        rows.iter()
            .map(|row| line(&mut row.iter().map(String::as_str))),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Marks;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn who_is_aligned_and_sorted_by_name() {
        let rows = [
            WhoRow {
                number: Some(2),
                name: "bob".into(),
                attempt: Some(1),
                peer: addr("10.0.0.2:5001"),
                state: "question 3/10".into(),
                score: Some((Marks::whole(2), 3)),
                idle: Duration::from_secs(5),
            },
            WhoRow {
                number: None,
                name: String::new(),
                attempt: None,
                peer: addr("10.0.0.9:6000"),
                state: "naming".into(),
                score: None,
                idle: Duration::from_secs(12),
            },
            WhoRow {
                number: Some(14),
                name: "Alice".into(),
                attempt: Some(2),
                peer: addr("127.0.0.1:40000"),
                state: "done".into(),
                score: Some((Marks::whole(10), 10)),
                idle: Duration::from_secs(185),
            },
        ];
        assert_eq!(
            render_who(&rows),
            [
                "  #  name   try  address          state          score   idle",
                "#14  Alice    2  127.0.0.1:40000  done           10/10  3m05s",
                " #2  bob      1  10.0.0.2:5001    question 3/10    2/3     5s",
                "  -  -        -  10.0.0.9:6000    naming             -    12s",
            ]
        );
        assert_eq!(
            render_who(&[]),
            ["#  name  try  address  state  score  idle"]
        );
    }

    #[test]
    fn who_sanitises_names() {
        let rows = [WhoRow {
            number: Some(1),
            name: "ev\u{202e}il\u{1b}[2J".into(),
            attempt: Some(1),
            peer: addr("[::1]:7000"),
            state: "lobby".into(),
            score: None,
            idle: Duration::ZERO,
        }];
        assert_eq!(
            render_who(&rows)[1],
            "#1  evil[2J    1  [::1]:7000  lobby      -    0s"
        );
    }

    #[test]
    fn columns_line_up_for_names_with_wide_characters() {
        let row = |rank, name: &str| TopRow {
            rank,
            name: name.into(),
            attempt: 1,
            points: None,
            score: Marks::whole(1),
            max: 3,
            time: Duration::from_secs(9),
        };
        let lines = render_top(&[row(1, "Mei 李"), row(2, "Ümit"), row(3, "Sam O'Neil")]);
        let at = |line: &str| columns(&line[..line.find("  1  ").expect("the try column")]);
        assert_eq!(at(&lines[1]), at(&lines[2]), "{lines:#?}");
        assert_eq!(at(&lines[2]), at(&lines[3]), "{lines:#?}");
    }

    #[test]
    fn live_top_has_points_and_the_time_as_the_students_leaderboard_shows_it() {
        let row = |rank, name: &str, points: u32, millis| TopRow {
            rank,
            name: name.into(),
            attempt: 1,
            points: Some(points.to_string()),
            score: Marks::whole(1),
            max: 3,
            time: Duration::from_millis(millis),
        };
        assert_eq!(
            render_top(&[row(1, "Ană", 1, 900), row(2, "bob", 1, 1_400)]),
            [
                "#  name  try  points  score    %   time",
                "1  Ană     1       1    1/3  33%  0.9 s",
                "2  bob     1       1    1/3  33%  1.4 s",
            ]
        );
    }

    #[test]
    fn top_is_aligned_with_percentages() {
        let rows = [
            TopRow {
                rank: 1,
                name: "alice".into(),
                attempt: 1,
                points: None,
                score: Marks::whole(10),
                max: 10,
                time: Duration::from_secs(252),
            },
            TopRow {
                rank: 2,
                name: "Bartholomew".into(),
                attempt: 1,
                points: None,
                score: Marks::whole(7),
                max: 10,
                time: Duration::from_secs(59),
            },
            TopRow {
                rank: 2,
                name: "cy".into(),
                attempt: 1,
                points: None,
                score: Marks::whole(7),
                max: 10,
                time: Duration::from_secs(3725),
            },
        ];
        assert_eq!(
            render_top(&rows),
            [
                "#  name         try  score     %   time",
                "1  alice          1  10/10  100%  4m12s",
                "2  Bartholomew    1   7/10   70%    59s",
                "2  cy             1   7/10   70%  1h02m",
            ]
        );
        assert_eq!(render_top(&[]), ["#  name  try  score  %  time"]);
    }

    #[test]
    fn stats_are_key_value_lines_in_human_units() {
        let view = StatsView {
            connected_students: 24,
            connected_teachers: 1,
            peak_connections: 30,
            accepted_total: 41,
            rejected_full: 2,
            rejected_address: 0,
            closed_output_cap: 0,
            wrong_token_closes: 1,
            consoles_refused: 2,
            consoles_evicted: 5,
            attempts_started: 40,
            attempts_finished: 16,
            attempts_discarded: 3,
            attempts_parked_early: 0,
            attempts_refused: 6,
            wrong_codes: 7,
            codes_refused: 4,
            answers: 380,
            timeouts: 12,
            lines_too_long: 3,
            asks: 5,
            asks_refused: 2,
            bytes_in: 900,
            bytes_out: 1_572_864,
            journal:
                "journal: 3 writes, 3 fsyncs, 0.0 MiB (20 B per answer), 0 compactions, 0.0 s busy"
                    .into(),
            board: "off".into(),
            uptime: Duration::from_secs(3 * 3600 + 7 * 60 + 9),
        };
        assert_eq!(
            render_stats(&view),
            [
                "connected:            24 students, 1 teacher (peak 30)",
                "accepted:             41",
                "refused (full):       2",
                "refused (address):    0",
                "closed (output cap):  0",
                "closed (wrong token): 1",
                "consoles:             2 refused (full), 5 without a token closed to make room",
                "attempts:             40 started, 16 finished, 3 dropped before answering, 0 recorded early (too many waiting), 6 refused (taken already)",
                "resume codes:         7 wrong, 4 not heard (name waiting)",
                "answers:              380",
                "timeouts:             12",
                "lines too long:       3",
                "asks:                 5 (2 refused, too fast)",
                "bytes in:             900 B",
                "bytes out:            1.5 MiB (1572864 B)",
                "journal:              3 writes, 3 fsyncs, 0.0 MiB (20 B per answer), 0 compactions, 0.0 s busy",
                "board:                off",
                "uptime:               3h07m",
            ]
        );
    }

    #[test]
    fn status_shows_the_quiz_and_where_students_are() {
        let live = StatusView {
            mode: Mode::Live,
            title: "networks".into(),
            questions: 40,
            per_attempt: Some(10),
            files: vec!["questions/networks.gift".into()],
            students_connected: 25,
            in_quiz: 20,
            finished: 5,
            live_phase: Some("question 3 of 10, 12 s left".into()),
        };
        assert_eq!(
            render_status(&live),
            [
                "quiz:              networks",
                "questions:         40, 10 per attempt (from questions/networks.gift)",
                "mode:              live: question 3 of 10, 12 s left",
                "students:          25 connected, 20 in the quiz",
                "attempts finished: 5",
            ]
        );
        let self_paced = StatusView {
            mode: Mode::SelfPaced,
            title: "sockets".into(),
            questions: 12,
            per_attempt: None,
            files: Vec::new(),
            students_connected: 0,
            in_quiz: 0,
            finished: 0,
            live_phase: None,
        };
        assert_eq!(
            render_status(&self_paced),
            [
                "quiz:              sockets",
                "questions:         12",
                "mode:              self-paced",
                "students:          0 connected, 0 in the quiz",
                "attempts finished: 0",
            ]
        );
    }
}
