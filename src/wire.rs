//! The protocol's fixed text: prompts, anchors and the lines built around them.
//!
//! `PROTOCOL.md` (and the README's "Wire protocol") promise scripts that these strings do not
//! change without a version note. Everything that speaks the protocol takes them from here: the
//! student session and the teacher console write them, the raw baseline sends the same bytes,
//! and the load generator's scanner recognises them. A test in this module pins each anchor to
//! its documented text, so a change here is a deliberate one.
//!
//! Writers append to an output buffer with `write!` and allocate nothing, so a verdict and the
//! next question cost no allocation per answer.

use std::fmt::Display;

use crate::bank::Marks;
use std::io::Write as _;
use std::time::Duration;

/// Line end of every line the server sends.
pub const CRLF: &[u8] = b"\r\n";

/// Prompt for a student's name.
pub const NAME_PROMPT: &str = "name> ";
/// Prompt for an answer.
pub const ANSWER_PROMPT: &str = "answer> ";
/// Prompt for a resume code, after a name with an attempt in progress.
pub const CODE_PROMPT: &str = "code> ";
/// Prompt after a question's time ran out, before the next one: Enter shows it (and whatever
/// the student had half typed for the last one goes with that Enter, never into the next).
pub const NEXT_PROMPT: &str = "next> ";
/// The line before [`NEXT_PROMPT`].
pub const PRESS_ENTER: &str = "Press Enter for the next question.";
/// Prompt for the console token.
pub const TOKEN_PROMPT: &str = "token> ";
/// Prompt of a teacher who is in.
pub const ADMIN_PROMPT: &str = "admin> ";

/// Starts a question's header line: `Question I of N`.
pub const QUESTION: &str = "Question ";
/// Verdict anchors.
pub const CORRECT: &str = "Correct!";
pub const WRONG: &str = "Wrong.";
/// An answer worth part of the mark (a multiple-answer question with some of its right
/// options, two pairs of three matched, a short answer with partial credit).
pub const PARTLY: &str = "Partly right";
pub const TIME_UP: &str = "Time is up.";
/// The verdict under `--no-reveal`.
pub const RECORDED: &str = "Answer recorded.";
/// The verdict on an essay: no mark now, the teacher gives one.
pub const FOR_THE_TEACHER: &str = "Answer recorded; your teacher will mark it.";
/// Starts the last line of an attempt, which holds `scored S out of N`.
pub const QUIZ_OVER: &str = "Quiz over";
/// Starts every error line, on both ports.
pub const ERROR: &str = "error: ";
/// Starts the one line a connection gets when the server is full.
pub const SERVER_FULL: &str = "error: server full";
/// Live mode: starts the lines of a student waiting for the teacher.
pub const WAITING: &str = "Waiting for the teacher";
/// Live mode: the answer distribution line, and the leaderboard's first line.
pub const ANSWERS: &str = "Answers:";
pub const LEADERBOARD: &str = "Leaderboard:";
/// The line ending a multi-line console reply.
pub const END_OF_BLOCK: &str = ".";

/// One line of text and CR LF.
pub fn line(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(CRLF);
}

/// The greeting on the student port: the welcome line, then the name prompt.
pub fn greeting(out: &mut Vec<u8>, title: &str, count: usize, time_limit: Option<Duration>) {
    let _ = write!(
        out,
        "Welcome to quizd: {title}. {count} question{}",
        if count == 1 { "" } else { "s" }
    );
    let _ = match time_limit {
        Some(limit) => write!(out, ", {} s each.\r\n", limit.as_secs()),
        None => write!(out, ", no time limit.\r\n"),
    };
    line(out, "Type your name and press Enter (/help for commands).");
    out.extend_from_slice(NAME_PROMPT.as_bytes());
}

/// A question's header with the blank line before it: `\r\nQuestion 3 of 10 (30 s)\r\n`.
pub fn header(position: usize, count: usize, time_limit: Option<Duration>) -> String {
    let mut header = format!("\r\n{QUESTION}{} of {count}", position + 1);
    if let Some(limit) = time_limit {
        header.push_str(&format!(" ({} s)", limit.as_secs()));
    }
    header.push_str("\r\n");
    header
}

/// The `  b) ` before an option shown at position `shown` (0 is `a`).
pub fn option_prefix(shown: usize) -> [u8; 5] {
    [b' ', b' ', crate::text::letter(shown) as u8, b')', b' ']
}

/// `Hello alice. Answer each question ...` and the resume code line, after a name.
pub fn hello(out: &mut Vec<u8>, name: &str, how_to_answer: &str, reveal: bool, code: &str) {
    // Under --no-reveal nothing is marked until the end, and that is all that is promised.
    let when = if reveal {
        ""
    } else {
        "; your score comes at the end"
    };
    let _ = write!(out, "Hello {name}. {how_to_answer}{when}.\r\n");
    let _ = write!(
        out,
        "Your resume code is {code} (/code shows it again). If you are disconnected,\r\n\
         connect again with the same name and type it.\r\n"
    );
}

/// `Correct! Score: S/A`.
pub fn correct(out: &mut Vec<u8>, score: Marks, answered: usize) {
    let _ = write!(out, "{CORRECT} Score: {score}/{answered}\r\n");
}

/// `Wrong. The answer was X. Score: S/A`.
pub fn wrong(out: &mut Vec<u8>, answer: impl Display, score: Marks, answered: usize) {
    let _ = write!(out, "{WRONG} ");
    answer_was(out, answer, score, answered);
}

/// `Partly right (0.5 of 1). The answer was X. Score: S/A`.
pub fn partly(
    out: &mut Vec<u8>,
    marks: Marks,
    answer: impl Display,
    score: Marks,
    answered: usize,
) {
    let _ = write!(out, "{PARTLY} ({} of 1). ", marks.as_part());
    answer_was(out, answer, score, answered);
}

/// `The answer was X. Score: S/A` and CR LF; an answer that ends a sentence itself
/// (`b) hard work.`) gets no second full stop.
fn answer_was(out: &mut Vec<u8>, answer: impl Display, score: Marks, answered: usize) {
    let _ = write!(out, "The answer was {answer}");
    if !matches!(out.last(), Some(b'.' | b'!' | b'?')) {
        out.push(b'.');
    }
    let _ = write!(out, " Score: {score}/{answered}\r\n");
}

/// `Time is up. The answer was X. Score: S/A`, or `Time is up.` alone when answers are not
/// revealed (`answer`: `None`).
pub fn time_up(out: &mut Vec<u8>, answer: Option<(impl Display, Marks, usize)>) {
    match answer {
        Some((answer, score, answered)) => {
            let _ = write!(out, "{TIME_UP} ");
            answer_was(out, answer, score, answered);
        }
        None => {
            let _ = write!(out, "{TIME_UP}\r\n");
        }
    }
}

/// Whether `line` carries anchors from its start to its end (a verdict ending `Score: S/A`,
/// `Quiz over ... scored S out of N (P%).`), so that wrapping must leave it whole. A bank's
/// feedback line that merely starts `Correct!` is not one.
pub fn keep_whole(line: &str) -> bool {
    let verdict = [CORRECT, WRONG, TIME_UP, PARTLY]
        .iter()
        .any(|anchor| line.starts_with(anchor))
        && score_at_end(line).is_some();
    verdict
        || line == RECORDED
        || line == TIME_UP
        || (line.starts_with(QUIZ_OVER) && line.contains(" out of ") && line.ends_with("%)."))
}

/// Where a line's closing `Score: S/A` starts, if it ends with one.
fn score_at_end(line: &str) -> Option<usize> {
    let at = line.rfind(" Score: ")? + 1;
    let (s, a) = line[at..].strip_prefix("Score: ")?.split_once('/')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (Marks::parse(s).is_some() && digits(a)).then_some(at)
}

/// A verdict line too wide for its window, split so that its anchors stay on one line:
/// `Wrong. The answer was X. Score: S/A` gives `Wrong.`, `Score: S/A` (to be written with a
/// space between) and `The answer was X.` (the same for `Time is up.`, and for `Partly right
/// (0.5 of 1).`, which keeps the marks it gave). `None` for any other line.
pub fn split_verdict(line: &str) -> Option<(&str, &str, &str)> {
    let (anchor, rest) = [WRONG, TIME_UP]
        .into_iter()
        .find_map(|anchor| Some((anchor, line.strip_prefix(anchor)?.strip_prefix(' ')?)))
        .or_else(|| {
            line.strip_prefix(PARTLY)?;
            let end = line.find(". ")? + 1;
            Some((&line[..end], &line[end + 1..]))
        })?;
    let at = score_at_end(rest)?;
    let answer = rest[..at].trim_end();
    (!answer.is_empty()).then_some((anchor, &rest[at..], answer))
}

/// `Answer recorded.` (answers not revealed).
pub fn recorded(out: &mut Vec<u8>) {
    line(out, RECORDED);
}

/// `Quiz over, alice: you scored 8 out of 10 (80%).`
pub fn quiz_over(out: &mut Vec<u8>, name: &str, score: Marks, max: u32) {
    let _ = write!(
        out,
        "{QUIZ_OVER}, {name}: you scored {score} out of {max} ({}%).\r\n",
        score.percent_of(max)
    );
}

/// The line a connection gets when `students` are connected and no more fit.
pub fn server_full(students: usize) -> String {
    format!("{SERVER_FULL} ({students} students connected); try again later\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Marks;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The anchors as PROTOCOL.md writes them; changing one needs a README version note.
    #[test]
    fn anchors_are_the_documented_ones() {
        assert_eq!(
            [
                NAME_PROMPT,
                ANSWER_PROMPT,
                CODE_PROMPT,
                NEXT_PROMPT,
                TOKEN_PROMPT,
                ADMIN_PROMPT
            ],
            [
                "name> ", "answer> ", "code> ", "next> ", "token> ", "admin> "
            ]
        );
        assert_eq!(
            [CORRECT, WRONG, TIME_UP, RECORDED, QUIZ_OVER, PARTLY],
            [
                "Correct!",
                "Wrong.",
                "Time is up.",
                "Answer recorded.",
                "Quiz over",
                "Partly right"
            ]
        );
        assert_eq!(
            [ERROR, SERVER_FULL, WAITING, ANSWERS, LEADERBOARD],
            [
                "error: ",
                "error: server full",
                "Waiting for the teacher",
                "Answers:",
                "Leaderboard:"
            ]
        );
    }

    #[test]
    fn lines_read_as_the_protocol_shows_them() {
        assert_eq!(
            text(|o| greeting(o, "sockets", 10, Some(Duration::from_secs(30)))),
            "Welcome to quizd: sockets. 10 questions, 30 s each.\r\n\
             Type your name and press Enter (/help for commands).\r\nname> "
        );
        assert_eq!(
            text(|o| greeting(o, "one", 1, None)),
            "Welcome to quizd: one. 1 question, no time limit.\r\n\
             Type your name and press Enter (/help for commands).\r\nname> "
        );
        assert_eq!(
            header(2, 10, Some(Duration::from_secs(30))),
            "\r\nQuestion 3 of 10 (30 s)\r\n"
        );
        assert_eq!(header(0, 1, None), "\r\nQuestion 1 of 1\r\n");
        assert_eq!(&option_prefix(1), b"  b) ");
        assert_eq!(
            text(|o| correct(o, Marks::whole(3), 3)),
            "Correct! Score: 3/3\r\n"
        );
        assert_eq!(
            text(|o| wrong(o, "b) bind()", Marks::whole(2), 3)),
            "Wrong. The answer was b) bind(). Score: 2/3\r\n"
        );
        assert_eq!(
            text(|o| time_up(o, Some(("254", Marks::ZERO, 1)))),
            "Time is up. The answer was 254. Score: 0/1\r\n"
        );
        // An option that ends in a full stop gets no second one.
        assert_eq!(
            text(|o| wrong(o, "b) hard work.", Marks::ZERO, 1)),
            "Wrong. The answer was b) hard work. Score: 0/1\r\n"
        );
        assert_eq!(
            text(|o| time_up(o, None::<(&str, Marks, usize)>)),
            "Time is up.\r\n"
        );
        assert_eq!(
            text(|o| quiz_over(o, "alice", Marks::whole(8), 10)),
            "Quiz over, alice: you scored 8 out of 10 (80%).\r\n"
        );
        assert!(server_full(3).starts_with(SERVER_FULL));
    }

    #[test]
    fn part_of_a_mark_reads_partly_right_with_the_marks_and_keeps_its_anchors_when_split() {
        let half = Marks::of_fraction(0.5);
        let line = text(|o| {
            partly(
                o,
                half,
                "b) Grant, c) his wife",
                Marks::from_units(15_000),
                2,
            )
        });
        assert_eq!(
            line,
            "Partly right (0.5 of 1). The answer was b) Grant, c) his wife. Score: 1.5/2\r\n"
        );
        let line = line.trim_end();
        assert!(keep_whole(line));
        assert_eq!(
            split_verdict(line),
            Some((
                "Partly right (0.5 of 1).",
                "Score: 1.5/2",
                "The answer was b) Grant, c) his wife."
            ))
        );
        assert_eq!(
            text(|o| quiz_over(o, "bo", Marks::from_units(26_667), 4)),
            "Quiz over, bo: you scored 2.67 out of 4 (67%).\r\n"
        );
    }
}
