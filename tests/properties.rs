//! Property tests: every parser that reads what someone else wrote (a student's telnet client,
//! a teacher's console, a bank file, a name) meets arbitrary input, biased towards the bytes
//! and fragments each one treats specially. None may panic, and each keeps the promises its
//! documentation makes whatever it is given.
//!
//! Each property runs a fixed number of cases (the whole file takes a few seconds in a debug
//! build); `PROPTEST_CASES=N` runs N cases of each instead, for a longer hunt. A failure prints
//! the smallest input proptest found; keep it as a plain `#[test]` beside the property.
//!
//! The load generator's scanner is crate-private: its property is in
//! `src/tools/load/scanner.rs`.

use proptest::prelude::*;

/// `cases` cases (or `PROPTEST_CASES`), and no regression files written into the tree: a
/// failing input found here becomes a named test instead.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `bytes` cut at the given points (empty pieces included: a read may return nothing new).
fn split_at_points(bytes: &[u8], points: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p.index(bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for cut in cuts {
        pieces.push(bytes[from..cut].to_vec());
        from = cut;
    }
    pieces.push(bytes[from..].to_vec());
    pieces
}

/// Pieces of input joined into one.
fn concat(pieces: Vec<Vec<u8>>) -> Vec<u8> {
    pieces.concat()
}

// --- The telnet decoder ------------------------------------------------------------------

mod telnet {
    use super::*;
    use quizd::telnet::{Decoder, Event, MAX_LINE};

    const IAC: u8 = 255;
    const DONT: u8 = 254;
    const DO: u8 = 253;
    const WONT: u8 = 252;
    const WILL: u8 = 251;
    const SB: u8 = 250;
    const SE: u8 = 240;
    const TIMING_MARK: u8 = 6;
    /// The decoder's answer to `IAC AYT`.
    const AYT_REPLY: &[u8] = b"\r\n[quizd: yes]\r\n";
    /// Most reply bytes one input byte can cause: `IAC AYT`, two bytes, is answered with 16.
    const REPLY_BYTES_PER_INPUT_BYTE: usize = 8;

    /// An owned copy of an [`Event`], so that runs can be compared.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Line(String),
        TooLong,
        Leave,
        Reply(Vec<u8>),
    }

    impl From<Event<'_>> for Ev {
        fn from(event: Event<'_>) -> Self {
            match event {
                Event::Line(text) => Ev::Line(text.to_owned()),
                Event::TooLong => Ev::TooLong,
                Event::Leave => Ev::Leave,
                Event::Reply(bytes) => Ev::Reply(bytes.to_vec()),
            }
        }
    }

    /// Data bytes with a meaning of their own: line ends, NUL, Ctrl-C, Ctrl-D, BS, DEL, ESC,
    /// tab, and the telnet command bytes on their own.
    #[rustfmt::skip]
    const SPECIAL: &[u8] = &[
        b'\r', b'\n', 0x00, 0x03, 0x04, 0x08, 0x7F, 0x1B, b'\t', IAC, DONT, DO, WONT, WILL, SB, SE,
        246, 244, 236, 247, 248, 241, 0x80, 0x9B, 0xC3, 0xE2, 0xF0,
    ];
    /// Bytes that may follow IAC: every command, IAC itself, and a few unassigned codes.
    #[rustfmt::skip]
    const COMMANDS: &[u8] = &[
        IAC, DONT, DO, WONT, WILL, SB, SE, 249, 248, 247, 246, 245, 244, 243, 242, 241, 236, 0,
        b'a', b'\r',
    ];
    /// Options worth asking for: TIMING-MARK is answered every time, the others once.
    const OPTIONS: &[u8] = &[TIMING_MARK, 0, 1, 3, 24, 31, 34, 39, IAC, SE];

    /// One piece of input: a byte, a character, a telnet command, a line end, or a run long
    /// enough to reach the line limit.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            6 => prop::sample::select(SPECIAL).prop_map(|b| vec![b]),
            6 => (0x20u8..0x7F).prop_map(|b| vec![b]),
            3 => any::<u8>().prop_map(|b| vec![b]),
            3 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            // A character cut short: invalid UTF-8.
            2 => any::<char>()
                .prop_filter("multi-byte", |c| c.len_utf8() > 1)
                .prop_map(|c| c.to_string().into_bytes()[..c.len_utf8() - 1].to_vec()),
            3 => (
                prop::sample::select(&[WILL, WONT, DO, DONT][..]),
                prop_oneof![prop::sample::select(OPTIONS), any::<u8>()],
            )
                .prop_map(|(verb, option)| vec![IAC, verb, option]),
            3 => prop::sample::select(COMMANDS).prop_map(|c| vec![IAC, c]),
            1 => prop::collection::vec(any::<u8>(), 0..6).prop_map(|mut sub| {
                sub.insert(0, SB);
                sub.insert(0, IAC);
                sub.extend([IAC, SE]);
                sub
            }),
            2 => prop::sample::select(&["\r\n", "\r\0", "\n\r", "\r\r\n", "\x03", "\x04"][..])
                .prop_map(|end| end.as_bytes().to_vec()),
            1 => (
                MAX_LINE - 3..MAX_LINE + 3,
                prop::sample::select(&["a", "é", "\u{FFFD}", "\u{80}"][..])
            )
                .prop_map(|(n, c)| c.repeat(n).into_bytes()),
        ]
    }

    fn input() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(piece(), 0..120).prop_map(concat)
    }

    fn feed(decoder: &mut Decoder, bytes: &[u8], events: &mut Vec<Ev>) {
        decoder.feed(bytes, |event| events.push(Ev::from(event)));
    }

    fn decode_whole(input: &[u8]) -> Vec<Ev> {
        let mut events = Vec::new();
        feed(&mut Decoder::new(), input, &mut events);
        events
    }

    fn decode_pieces(pieces: &[Vec<u8>]) -> Vec<Ev> {
        let mut decoder = Decoder::new();
        let mut events = Vec::new();
        for piece in pieces {
            feed(&mut decoder, piece, &mut events);
        }
        events
    }

    /// Decodes `pieces` in turn as the server does, at most `budget` lines per call, calling
    /// again with the rest; checks that each call stops exactly at its budget or at the end.
    fn decode_with_budget(pieces: &[Vec<u8>], budget: usize) -> Result<Vec<Ev>, TestCaseError> {
        let mut decoder = Decoder::new();
        let mut events = Vec::new();
        for piece in pieces {
            let mut rest = piece.as_slice();
            loop {
                let mut lines = budget;
                let before = events.len();
                let used = decoder.feed_lines(rest, &mut lines, |e| events.push(Ev::from(e)));
                let handed = events[before..]
                    .iter()
                    .filter(|e| matches!(e, Ev::Line(_) | Ev::TooLong))
                    .count();
                prop_assert!(used <= rest.len());
                prop_assert_eq!(handed, budget - lines, "the budget counts every line");
                prop_assert!(
                    used == rest.len() || lines == 0,
                    "stopped early: used {} of {} with {} lines left",
                    used,
                    rest.len(),
                    lines
                );
                rest = &rest[used..];
                if rest.is_empty() {
                    break;
                }
            }
        }
        Ok(events)
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn decoder_events_do_not_depend_on_how_the_input_is_split_or_budgeted(
            input in input(),
            points in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
            budget in 1usize..6,
        ) {
            let whole = decode_whole(&input);
            let pieces = split_at_points(&input, &points);
            prop_assert_eq!(&decode_pieces(&pieces), &whole, "split at {:?}", points);
            let bytes: Vec<Vec<u8>> = input.chunks(1).map(<[u8]>::to_vec).collect();
            prop_assert_eq!(&decode_pieces(&bytes), &whole, "byte by byte");
            prop_assert_eq!(
                &decode_with_budget(std::slice::from_ref(&input), budget)?,
                &whole,
                "whole, budget {}",
                budget
            );
            prop_assert_eq!(
                &decode_with_budget(&pieces, budget)?,
                &whole,
                "split, budget {}",
                budget
            );
        }

        #[test]
        fn decoder_lines_hold_at_most_max_line_bytes_of_data_and_no_control_character(
            input in input(),
        ) {
            for event in decode_whole(&input) {
                let Ev::Line(text) = event else { continue };
                prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
                // The limit counts the client's bytes: an invalid sequence became one U+FFFD
                // (three bytes) from at least one byte.
                let replaced = text.matches('\u{FFFD}').count();
                prop_assert!(
                    text.len() - 2 * replaced <= MAX_LINE,
                    "{} bytes, {} of them U+FFFD",
                    text.len(),
                    replaced
                );
                prop_assert!(text.chars().count() <= MAX_LINE);
            }
        }

        #[test]
        fn decoder_replies_are_bounded_refusals_each_sent_once(input in input()) {
            let mut reply_bytes = 0;
            let mut refused = std::collections::HashSet::new();
            for event in decode_whole(&input) {
                let Ev::Reply(reply) = event else { continue };
                reply_bytes += reply.len();
                match reply.as_slice() {
                    AYT_REPLY => {}
                    [IAC, WONT, TIMING_MARK] => {}
                    [IAC, verb @ (WONT | DONT), option] => {
                        prop_assert!(refused.insert((*verb, *option)), "refused twice: {:?}", reply);
                    }
                    other => prop_assert!(false, "not a refusal: {:?}", other),
                }
            }
            prop_assert!(
                reply_bytes <= REPLY_BYTES_PER_INPUT_BYTE * input.len(),
                "{} reply bytes for {} input bytes",
                reply_bytes,
                input.len()
            );
        }
    }
}
