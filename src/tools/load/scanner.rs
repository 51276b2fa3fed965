//! The response scanner (pure): the server's output in, the protocol's anchors out as
//! [`Event`]s, whatever way the reads were split. It knows the protocol's text and nothing of
//! sockets or students; the engine decides what each event means for a student.
//!
//! The anchors are [`crate::wire`]'s, the constants quizd writes them with, so the generator
//! recognises exactly what the server sends; the tests below feed it lines made by `wire`'s
//! writers too, so a change to the wire that the scanner would miss fails here.

use crate::wire;

const NAME_PROMPT: &[u8] = wire::NAME_PROMPT.as_bytes();
const ANSWER_PROMPT: &[u8] = wire::ANSWER_PROMPT.as_bytes();
const CODE_PROMPT: &[u8] = wire::CODE_PROMPT.as_bytes();
const NEXT_PROMPT: &[u8] = wire::NEXT_PROMPT.as_bytes();

/// Verdict lines: each anchor and its kind.
const VERDICTS: [(&str, Verdict); 5] = [
    (wire::CORRECT, Verdict::Correct),
    (wire::WRONG, Verdict::Wrong),
    (wire::PARTLY, Verdict::Partly),
    (wire::TIME_UP, Verdict::TimeUp),
    (wire::RECORDED, Verdict::Recorded),
];

/// Whether a byte starts one of the line anchors (options aside). Most lines, such as a
/// question's text, start with none of them and are dismissed on this one lookup.
const STARTS_AN_ANCHOR: [bool; 256] = {
    let anchors = [
        wire::QUESTION,
        wire::QUIZ_OVER,
        wire::CORRECT,
        wire::WRONG,
        wire::PARTLY,
        wire::TIME_UP,
        wire::RECORDED,
        wire::SERVER_FULL,
        wire::ERROR,
    ];
    let mut starts = [false; 256];
    let mut i = 0;
    while i < anchors.len() {
        starts[anchors[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    starts
};

/// Which prompt arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prompt {
    Name,
    Answer,
    /// `code> `: the name given has an attempt in progress (an earlier run's, say).
    Code,
    /// `next> `: a question's time ran out; Enter shows the next.
    Next,
}

/// A verdict line's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Correct,
    Wrong,
    /// Part of the mark (Moodle's partial credit).
    Partly,
    TimeUp,
    Recorded,
}

/// What the server said, as far as a student acting on anchors cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    /// `name> ` or `answer> ` at the start of a line.
    Prompt(Prompt),
    /// `Question I of N`.
    Question {
        index: u32,
        of: u32,
    },
    /// `  x) ...`: an option lettered `x`.
    Option(u8),
    Verdict(Verdict),
    /// `Quiz over ... scored S out of N`.
    QuizOver {
        score: u32,
        of: u32,
    },
    /// `error: server full ...`.
    ServerFull,
    /// Any other `error: ...` line (without its line end).
    Error(&'a [u8]),
}

/// Turns server output into [`Event`]s. Reads may be split anywhere: a partial line is kept
/// until its end arrives, and a prompt is recognised when its last byte arrives, whether or
/// not more follows it in the same read.
///
/// A prompt is `name> ` or `answer> ` at the start of a line; the bytes after it start a new
/// line (the server's next line follows the prompt without a line end, e.g.
/// `answer> Time is up. ...`). Lines with no anchor produce no event.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    /// The incomplete line carried over from the previous read; empty between messages.
    partial: Vec<u8>,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Bytes carried over, waiting for the rest of their line.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Scans one read's bytes, calling `on` for each event in order.
    pub fn feed(&mut self, bytes: &[u8], on: &mut impl FnMut(Event<'_>)) {
        let mut bytes = bytes;
        if !self.partial.is_empty() {
            // Complete the carried line (through its line end, if it came), then scan it as
            // one piece so a prompt or anchor split across reads is seen whole.
            let end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| i + 1);
            self.partial.extend_from_slice(&bytes[..end]);
            bytes = &bytes[end..];
            let used = scan(&self.partial, on);
            self.partial.drain(..used);
            if !self.partial.is_empty() {
                // No line end yet: everything was carried.
                return;
            }
            // Give a large carried line's memory back: most students never need it again.
            if self.partial.capacity() > 1024 {
                self.partial = Vec::new();
            }
        }
        let used = scan(bytes, on);
        self.partial.extend_from_slice(&bytes[used..]);
    }
}

/// Emits the events of every prompt and complete line in `data`, which starts at a line start;
/// returns the bytes used (the rest is an incomplete line).
fn scan(data: &[u8], on: &mut impl FnMut(Event<'_>)) -> usize {
    let mut at = 0;
    loop {
        let rest = &data[at..];
        if rest.starts_with(ANSWER_PROMPT) {
            on(Event::Prompt(Prompt::Answer));
            at += ANSWER_PROMPT.len();
            continue;
        }
        if rest.starts_with(NAME_PROMPT) {
            on(Event::Prompt(Prompt::Name));
            at += NAME_PROMPT.len();
            continue;
        }
        if rest.starts_with(CODE_PROMPT) {
            on(Event::Prompt(Prompt::Code));
            at += CODE_PROMPT.len();
            continue;
        }
        if rest.starts_with(NEXT_PROMPT) {
            on(Event::Prompt(Prompt::Next));
            at += NEXT_PROMPT.len();
            continue;
        }
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return at;
        };
        let line = &rest[..end];
        if let Some(event) = classify(line.strip_suffix(b"\r").unwrap_or(line)) {
            on(event);
        }
        at += end + 1;
    }
}

/// The anchor a line (without its line end) starts with, if any.
fn classify(line: &[u8]) -> Option<Event<'_>> {
    let first = *line.first()?;
    if first == b' ' {
        // `  x) ` as `wire::option_prefix` writes it (a test holds the two together).
        return match line {
            [b' ', b' ', letter @ b'a'..=b'z', b')', b' ', ..] => Some(Event::Option(*letter)),
            _ => None,
        };
    }
    if !STARTS_AN_ANCHOR[usize::from(first)] {
        return None;
    }
    if let Some(rest) = line.strip_prefix(wire::QUESTION.as_bytes()) {
        let (index, rest) = number(rest)?;
        let (of, _) = number(rest.strip_prefix(b" of ")?)?;
        return Some(Event::Question { index, of });
    }
    if line.starts_with(wire::QUIZ_OVER.as_bytes()) {
        let at = find(line, b"scored ")? + 7;
        let (score, rest) = number(&line[at..])?;
        // Part of a mark (`2.67`): the whole marks are the score counted.
        let rest = match rest.strip_prefix(b".") {
            Some(fraction) => {
                &fraction[fraction.iter().take_while(|b| b.is_ascii_digit()).count()..]
            }
            None => rest,
        };
        let (of, _) = number(rest.strip_prefix(b" out of ")?)?;
        return Some(Event::QuizOver { score, of });
    }
    if let Some(&(_, verdict)) = VERDICTS
        .iter()
        .find(|(anchor, _)| line.starts_with(anchor.as_bytes()))
    {
        return Some(Event::Verdict(verdict));
    }
    // `error: server full` starts with `error: `: it goes first.
    if line.starts_with(wire::SERVER_FULL.as_bytes()) {
        Some(Event::ServerFull)
    } else if line.starts_with(wire::ERROR.as_bytes()) {
        Some(Event::Error(line))
    } else {
        None
    }
}

/// A decimal number at the start of `s`, and what follows it.
fn number(s: &[u8]) -> Option<(u32, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let n = s[..digits]
        .iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    Some((n, &s[digits..]))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Marks;

    /// A real quizd session (`-t 1 --no-shuffle`, the three-question bank): a refused command at
    /// the name prompt, a refused answer, a right one, a time-up, and the end.
    const SESSION: &[u8] = b"Welcome to quizd: three. 3 questions, 1 s each.\r\nType your name and press Enter (/help for commands).\r\nname> error: unknown command /quiz (type /help)\r\nname> Hello ada. Answer each question with the letter of your choice.\r\n\r\nQuestion 1 of 3 (1 s)\r\nWhich call binds a socket to a local address?\r\n  a) connect()\r\n  b) bind()\r\n  c) listen()\r\n  d) accept()\r\nanswer> error: answer with a letter from a to d\r\nanswer> Correct! Score: 1/1\r\n\r\nQuestion 2 of 3 (1 s)\r\nWhat does read() returning 0 mean on a TCP socket?\r\n  a) No data has arrived yet\r\n  b) An error happened\r\n  c) The peer closed its sending side\r\nanswer> Time is up. The answer was c) The peer closed its sending side. Score: 1/2\r\n\r\nQuestion 3 of 3 (1 s)\r\nWhich layer does TCP belong to?\r\n  a) Transport\r\n  b) Network\r\nanswer> Correct! Score: 2/3\r\n\r\nQuiz over, ada: you scored 2 out of 3 (67%).\r\n";

    /// With `--no-reveal`, a wrong answer, no time limit; and a refusal when full.
    const HIDDEN: &[u8] = b"Welcome to quizd: t. 1 question, no time limit.\r\nType your name and press Enter (/help for commands).\r\nname> Hello bo. Answer each question with the letter of your choice; your score comes at the end.\r\n\r\nQuestion 1 of 1\r\nIs a > b?\r\n  a) yes\r\n  b) no\r\nanswer> Answer recorded.\r\n\r\nQuiz over, bo: you scored 0 out of 1 (0%).\r\n";
    const FULL: &[u8] = b"error: server full (10 students connected); try again later\r\n";
    const WRONG: &[u8] = b"answer> Wrong. The answer was b) right 2. Score: 1/2\r\n";

    /// Events with their borrowed text copied out, so runs can be compared.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Prompt(Prompt),
        Question(u32, u32),
        Option(u8),
        Verdict(Verdict),
        QuizOver(u32, u32),
        ServerFull,
        Error(String),
    }

    fn own(e: Event<'_>) -> Owned {
        match e {
            Event::Prompt(p) => Owned::Prompt(p),
            Event::Question { index, of } => Owned::Question(index, of),
            Event::Option(l) => Owned::Option(l),
            Event::Verdict(v) => Owned::Verdict(v),
            Event::QuizOver { score, of } => Owned::QuizOver(score, of),
            Event::ServerFull => Owned::ServerFull,
            Event::Error(line) => Owned::Error(String::from_utf8_lossy(line).into_owned()),
        }
    }

    /// Feeds `pieces` in order to one scanner; returns the events and what is left carried.
    fn scan_pieces(pieces: &[&[u8]]) -> (Vec<Owned>, usize) {
        let mut scanner = Scanner::new();
        let mut events = Vec::new();
        for piece in pieces {
            scanner.feed(piece, &mut |e| events.push(own(e)));
        }
        (events, scanner.pending())
    }

    #[test]
    fn a_whole_session_gives_every_anchor_in_order() {
        use Owned::*;
        let (events, left) = scan_pieces(&[SESSION]);
        let answer = Prompt(super::Prompt::Answer);
        let name = Prompt(super::Prompt::Name);
        let expected = vec![
            name.clone(),
            Error("error: unknown command /quiz (type /help)".into()),
            name,
            Question(1, 3),
            Option(b'a'),
            Option(b'b'),
            Option(b'c'),
            Option(b'd'),
            answer.clone(),
            Error("error: answer with a letter from a to d".into()),
            answer.clone(),
            Verdict(super::Verdict::Correct),
            Question(2, 3),
            Option(b'a'),
            Option(b'b'),
            Option(b'c'),
            answer.clone(),
            Verdict(super::Verdict::TimeUp),
            Question(3, 3),
            Option(b'a'),
            Option(b'b'),
            answer,
            Verdict(super::Verdict::Correct),
            QuizOver(2, 3),
        ];
        assert_eq!(events, expected);
        assert_eq!(left, 0, "nothing carried after the last line");
    }

    #[test]
    fn other_transcripts_give_their_anchors() {
        use Owned::*;
        let (events, _) = scan_pieces(&[HIDDEN]);
        assert_eq!(
            events,
            vec![
                Prompt(super::Prompt::Name),
                Question(1, 1),
                Option(b'a'),
                Option(b'b'),
                Prompt(super::Prompt::Answer),
                Verdict(super::Verdict::Recorded),
                QuizOver(0, 1),
            ]
        );
        assert_eq!(scan_pieces(&[FULL]).0, vec![ServerFull]);
        assert_eq!(
            scan_pieces(&[WRONG]).0,
            vec![
                Prompt(super::Prompt::Answer),
                Verdict(super::Verdict::Wrong)
            ]
        );
    }

    #[test]
    fn reads_split_at_any_byte_give_the_same_events() {
        for transcript in [SESSION, HIDDEN, FULL, WRONG] {
            let (whole, _) = scan_pieces(&[transcript]);
            for at in 0..=transcript.len() {
                let (a, b) = transcript.split_at(at);
                assert_eq!(scan_pieces(&[a, b]).0, whole, "split at {at}");
            }
            for at in 0..=transcript.len() {
                for width in [1, 2, 7] {
                    let end = (at + width).min(transcript.len());
                    let pieces = [&transcript[..at], &transcript[at..end], &transcript[end..]];
                    assert_eq!(scan_pieces(&pieces).0, whole, "splits at {at} and {end}");
                }
            }
            let bytes: Vec<&[u8]> = transcript.chunks(1).collect();
            assert_eq!(scan_pieces(&bytes).0, whole, "one byte per read");
        }
    }

    #[test]
    fn a_prompt_is_seen_when_its_last_byte_arrives() {
        let mut scanner = Scanner::new();
        let mut events = Vec::new();
        scanner.feed(b"  d) accept()\r\nansw", &mut |e| events.push(own(e)));
        assert_eq!(events, vec![Owned::Option(b'd')]);
        assert_eq!(scanner.pending(), 4, "a partial prompt is carried");
        scanner.feed(b"er> ", &mut |e| events.push(own(e)));
        assert_eq!(events.last(), Some(&Owned::Prompt(Prompt::Answer)));
        assert_eq!(scanner.pending(), 0, "nothing carried between messages");
    }

    /// Lines as `wire`'s writers make them, so a change there that the scanner would no longer
    /// recognise fails here, not in a measurement.
    #[test]
    fn lines_written_by_the_wire_module_give_their_events() {
        use Owned::*;
        use std::time::Duration;
        let mut out = Vec::new();
        wire::greeting(&mut out, "t", 2, Some(Duration::from_secs(30)));
        wire::hello(&mut out, "ada", "Answer with a letter", false, "xxxxxx");
        out.extend_from_slice(wire::header(0, 2, Some(Duration::from_secs(30))).as_bytes());
        for shown in 0..26 {
            out.extend_from_slice(&wire::option_prefix(shown));
            wire::line(&mut out, "an option");
        }
        out.extend_from_slice(wire::ANSWER_PROMPT.as_bytes());
        wire::line(&mut out, "error: answer with a letter from a to z");
        out.extend_from_slice(wire::ANSWER_PROMPT.as_bytes());
        wire::correct(&mut out, Marks::whole(1), 1);
        wire::wrong(&mut out, "b) bind()", Marks::whole(1), 2);
        wire::time_up(&mut out, Some(("c) listen()", Marks::whole(1), 3)));
        wire::time_up(&mut out, None::<(&str, Marks, usize)>);
        wire::recorded(&mut out);
        wire::partly(
            &mut out,
            Marks::of_fraction(0.5),
            "a) x",
            Marks::from_units(15_000),
            4,
        );
        out.extend_from_slice(wire::header(1, 2, None).as_bytes());
        wire::quiz_over(&mut out, "ada", Marks::from_units(15_000), 2);
        out.extend_from_slice(wire::server_full(10).as_bytes());
        let mut expected = vec![Prompt(super::Prompt::Name), Question(1, 2)];
        expected.extend((b'a'..=b'z').map(Option));
        expected.extend([
            Prompt(super::Prompt::Answer),
            Error("error: answer with a letter from a to z".into()),
            Prompt(super::Prompt::Answer),
            Verdict(super::Verdict::Correct),
            Verdict(super::Verdict::Wrong),
            Verdict(super::Verdict::TimeUp),
            Verdict(super::Verdict::TimeUp),
            Verdict(super::Verdict::Recorded),
            Verdict(super::Verdict::Partly),
            Question(2, 2),
            QuizOver(1, 2),
            ServerFull,
        ]);
        let (events, left) = scan_pieces(&[&out]);
        assert_eq!(events, expected);
        assert_eq!(left, 0);
    }

    #[test]
    fn lines_that_only_look_like_anchors_are_not_anchors() {
        let (events, _) = scan_pieces(&[
            b"Is answer> a prompt here?\r\n   a) three spaces\r\n  A) capital\r\nQuestion of 3\r\nQuiz over, x: left.\r\nQuestions 1 of 2\r\n",
        ]);
        assert_eq!(events, vec![]);
    }

    /// Property: the scanner's events do not depend on how the server's output was split into
    /// reads.
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// What quizd's output is made of: every anchor and prompt, pieces of them, numbers
        /// (too long ones too), option prefixes, line ends and other bytes.
        #[rustfmt::skip]
        const FRAGMENTS: &[&str] = &[
            wire::NAME_PROMPT, wire::ANSWER_PROMPT, wire::CODE_PROMPT, wire::NEXT_PROMPT, wire::QUESTION,
            wire::CORRECT, wire::WRONG, wire::TIME_UP, wire::RECORDED, wire::QUIZ_OVER,
            wire::ERROR, wire::SERVER_FULL, "Question 1 of 3 (30 s)", "\r\nQuestion 12 of 30\r\n",
            " of ", "Quiz over, ada: you scored 2 out of 3 (67%).", ", ada: you scored ",
            "scored ", " out of ", "1", "12", "0", "999999999", "4294967295", "12345678901",
            "  a) ", "  z) ", "  A) ", "   b) ", "  ", "answer", "name", "> ", ">", "\r\n",
            "\r\n", "\n", "\r", " ", "x", "é", "\u{0}", "\u{1b}[2J",
        ];

        fn output() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(
                prop_oneof![
                    6 => prop::sample::select(FRAGMENTS).prop_map(|f| f.as_bytes().to_vec()),
                    1 => prop::collection::vec(any::<u8>(), 1..4),
                ],
                0..80,
            )
            .prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                // PROPTEST_CASES=N for a longer hunt, as in `tests/properties.rs`.
                cases: std::env::var("PROPTEST_CASES")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(512),
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn scanner_events_do_not_depend_on_how_output_is_split_into_reads(
                output in output(),
                points in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
            ) {
                let (whole, left) = scan_pieces(&[&output]);
                let mut cuts: Vec<usize> =
                    points.iter().map(|p| p.index(output.len() + 1)).collect();
                cuts.sort_unstable();
                let mut pieces: Vec<&[u8]> = Vec::new();
                let mut from = 0;
                for cut in cuts {
                    pieces.push(&output[from..cut]);
                    from = cut;
                }
                pieces.push(&output[from..]);
                prop_assert_eq!(scan_pieces(&pieces), (whole.clone(), left), "split: {:?}", pieces);
                let bytes: Vec<&[u8]> = output.chunks(1).collect();
                prop_assert_eq!(scan_pieces(&bytes), (whole, left), "byte by byte");
            }
        }
    }
}
