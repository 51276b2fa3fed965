//! The quiz as served: a bank plus the settings every attempt shares, prepared once.
//!
//! A student's attempt is described by one 64-bit seed: it picks which questions they get, in
//! which order, and how each question's options are lettered. Nothing per-student is stored
//! here, so a session stays small and a shuffle can be recomputed wherever it is needed.

use std::time::Duration;

use crate::bank::{Bank, Kind, Question};
use crate::limits::{MAX_DURATION, MAX_OPTIONS};
pub use crate::text::DEFAULT_WIDTH;

/// How right answers are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// One point per right answer.
    Count,
    /// `crate::room::live::SPEED_POINTS` for a right answer within `crate::room::live::FULL_POINTS_WITHIN`, falling linearly to
    /// half of that at the deadline (see `crate::room::live::points`).
    Speed,
}

/// How a live quiz runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSettings {
    /// Open the next question this long after one closes, without waiting for `next`.
    pub auto_next: Option<Duration>,
    pub scoring: Scoring,
}

/// How attempts are run; shared by every session.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Questions per attempt; `None` asks the whole bank.
    pub count: Option<usize>,
    /// Time allowed per question; `None` for no limit.
    pub time_limit: Option<Duration>,
    /// Shuffle question order and option order per student.
    pub shuffle: bool,
    /// Fixed seed: the same name gets the same questions in the same order on every run.
    pub seed: Option<u64>,
    /// Tell students whether they were right (and the right answer) after each question.
    pub reveal: bool,
    /// A student who sends nothing for this long, with no question clock running, is closed.
    pub idle_timeout: Duration,
    /// A student who drops mid-quiz may resume within this long; then the attempt is recorded
    /// (zero: recorded at once).
    pub resume_window: Duration,
    /// Teacher-paced: everyone gets the same questions at the same time (`None`: self-paced).
    pub live: Option<LiveSettings>,
    /// Attempts each name may take at this quiz (`None`: no limit), counted by name as names
    /// are compared (`Alice` and `аlice` count as `alice`); a teacher's `retake NAME` grants
    /// one more. One by default, as a graded quiz wants.
    pub attempts: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            count: None,
            time_limit: Some(Duration::from_secs(30)),
            shuffle: true,
            seed: None,
            reveal: true,
            idle_timeout: Duration::from_secs(600),
            resume_window: Duration::from_secs(600),
            live: None,
            attempts: Some(1),
        }
    }
}

/// A bank prepared for serving.
#[derive(Debug)]
pub struct Quiz {
    /// Shown in the welcome line and written to the results `quiz` column.
    pub title: String,
    /// Every question of the bank, in file order (their index + 1 is the number in results).
    pub questions: Vec<Question>,
    pub settings: Settings,
    /// The bytes each question puts on the wire, built once here rather than formatted per
    /// student per question; `wire[i]` belongs to `questions[i]`.
    wire: Vec<Wire>,
    /// `Question I of N (T s)` with its blank line before it, per position in an attempt.
    headers: Vec<Box<[u8]>>,
    /// How the greeting tells students to answer, from the kinds of question in the bank:
    /// `Answer each question with the letter of your choice` (no final stop).
    pub how_to_answer: String,
    /// [`Quiz::fingerprint`], worked out once (the journal writes it at start-up and in every
    /// snapshot).
    fingerprint: std::cell::OnceCell<u64>,
}

/// One question's text as sent: lines ending CR LF, ready to copy into output. Prepared as
/// the bank wrote it; the copy wrapped at [`DEFAULT_WIDTH`] (most terminals, and every client
/// that does not say its width) is made the first time it is asked, so start-up does no
/// wrapping and asking does none after the first time.
#[derive(Debug)]
pub struct Wire {
    /// The question text, every line ending CR LF.
    pub text: Box<[u8]>,
    /// Each option's text followed by CR LF, in bank order (the `  a) ` before it depends on
    /// the student's lettering and is added when asked).
    pub options: Box<[Box<[u8]>]>,
    /// The line saying what to type (`Type a number.`) and CR LF, for the kinds without
    /// options; empty for multiple choice.
    pub hint: Box<[u8]>,
    /// The same wrapped at [`DEFAULT_WIDTH`], once asked; `None` inside when it fits as is.
    wrapped: std::cell::OnceCell<Option<Box<Wire>>>,
}

impl Wire {
    /// The question's bytes as the bank wrote them.
    fn new(question: &Question) -> Wire {
        let with_crlf = |text: &str| {
            let mut bytes = Vec::with_capacity(text.len() + 2);
            bytes.extend_from_slice(text.as_bytes());
            bytes.extend_from_slice(b"\r\n");
            bytes.into_boxed_slice()
        };
        let mut text = Vec::with_capacity(question.text.len() + 8);
        for line in question.text.split('\n') {
            text.extend_from_slice(line.trim_end_matches('\r').as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        // A matching question's items are numbered under its text; its choices are lettered
        // like options.
        if let Kind::Matching { items, .. } = &question.kind {
            for (i, item) in items.iter().enumerate() {
                text.extend_from_slice(format!("  {}. {item}\r\n", i + 1).as_bytes());
            }
        }
        let options = question
            .kind
            .lettered()
            .iter()
            .map(|o| with_crlf(o))
            .collect();
        // A matching question's example is as long as its list of items.
        let hint = match &question.kind {
            Kind::Matching { items, choices, .. } => {
                let letters: String = (0..items.len())
                    .map(|i| crate::text::letter((i + 1) % choices.len().max(1)))
                    .collect();
                let pairs: Vec<String> = letters
                    .chars()
                    .enumerate()
                    .map(|(i, l)| format!("{} {l}", i + 1))
                    .collect();
                Some(format!(
                    "Type the letter that goes with each numbered item, in order: like {letters} for {}.",
                    pairs.join(", ")
                ))
            }
            _ => question.kind.hint().map(str::to_owned),
        };
        Wire {
            text: text.into(),
            options,
            hint: hint.as_deref().map(with_crlf).unwrap_or_default(),
            wrapped: std::cell::OnceCell::new(),
        }
    }

    /// The text for a window `width` columns wide (`None`: not said, taken as
    /// [`DEFAULT_WIDTH`]): wrapped at [`DEFAULT_WIDTH`], or as written for the room to wrap
    /// at another width.
    pub fn for_width(&self, width: Option<u16>) -> &Wire {
        match width {
            Some(w) if usize::from(w) != DEFAULT_WIDTH => self,
            _ => self
                .wrapped
                .get_or_init(|| self.wrapped_at_default())
                .as_deref()
                .unwrap_or(self),
        }
    }

    /// This text wrapped at [`DEFAULT_WIDTH`]; `None` if it fits as it is (most questions).
    fn wrapped_at_default(&self) -> Option<Box<Wire>> {
        // An option is wrapped behind the `  a) ` it is shown with (five columns, whatever
        // the letter), which is then left off.
        let option = |o: &[u8]| {
            let mut line = Vec::with_capacity(o.len() + 5);
            line.extend_from_slice(b"  a) ");
            line.extend_from_slice(o);
            line
        };
        // (Checked without allocating: asking a question that fits allocates nothing.)
        let fits = !crate::text::needs_wrap(&self.text, DEFAULT_WIDTH)
            && !crate::text::needs_wrap(&self.hint, DEFAULT_WIDTH)
            && self
                .options
                .iter()
                .all(|o| !crate::text::needs_wrap(o, DEFAULT_WIDTH - 5));
        (!fits).then(|| {
            Box::new(Wire {
                text: wrapped(&self.text, DEFAULT_WIDTH, 0).into(),
                options: self
                    .options
                    .iter()
                    .map(|o| wrapped(&option(o), DEFAULT_WIDTH, 5).into())
                    .collect(),
                hint: wrapped(&self.hint, DEFAULT_WIDTH, 0).into(),
                wrapped: std::cell::OnceCell::from(None),
            })
        })
    }
}

/// `text` wrapped at `width`, without its first `skip` bytes.
fn wrapped(text: &[u8], width: usize, skip: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    if crate::text::needs_wrap(text, width) {
        crate::text::wrap_into(text, width, &mut out);
    } else {
        out.extend_from_slice(text);
    }
    out.drain(..skip.min(out.len()));
    out
}

/// The display order of one question's options: `slots[shown] = index in the bank`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionOrder {
    slots: [u8; MAX_OPTIONS],
    len: u8,
}

impl OptionOrder {
    /// The bank's index of the option shown at position `shown`.
    pub fn bank_index(&self, shown: usize) -> usize {
        usize::from(self.slots[shown])
    }

    /// The position at which the bank's option `bank_index` is shown.
    pub fn shown_at(&self, bank_index: usize) -> usize {
        self.slots[..usize::from(self.len)]
            .iter()
            .position(|&slot| usize::from(slot) == bank_index)
            .unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// `as_slice()[shown]` is the bank index of the option shown at `shown`: the lettering
    /// [`crate::bank::Question::grade`] takes.
    pub fn as_slice(&self) -> &[u8] {
        &self.slots[..usize::from(self.len)]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Quiz {
    /// Prepares `bank`. Durations are clamped to [`MAX_DURATION`] so that deadline arithmetic
    /// (`now + limit`) cannot overflow, whatever a caller passes.
    pub fn new(bank: Bank, mut settings: Settings) -> Quiz {
        settings.time_limit = settings.time_limit.map(|d| d.min(MAX_DURATION));
        settings.idle_timeout = settings.idle_timeout.min(MAX_DURATION);
        settings.resume_window = settings.resume_window.min(MAX_DURATION);
        let wire = bank.questions.iter().map(Wire::new).collect();
        let how_to_answer = how_to_answer(&bank.questions);
        let mut quiz = Quiz {
            title: bank.title,
            questions: bank.questions,
            settings,
            wire,
            headers: Vec::new(),
            how_to_answer,
            fingerprint: std::cell::OnceCell::new(),
        };
        let count = quiz.count();
        quiz.headers = (0..count)
            .map(|i| {
                crate::wire::header(i, count, quiz.settings.time_limit)
                    .into_bytes()
                    .into_boxed_slice()
            })
            .collect();
        quiz
    }

    /// The wire bytes of bank question `question`.
    pub fn wire(&self, question: u32) -> &Wire {
        &self.wire[question as usize]
    }

    /// The header of the attempt's question at `position` (0-based): a blank line, then
    /// `Question I of N (T s)`.
    pub fn header(&self, position: usize) -> &[u8] {
        self.headers.get(position).map_or(&[], |h| h)
    }

    /// Questions in one attempt.
    pub fn count(&self) -> usize {
        let all = self.questions.len();
        self.settings.count.map_or(all, |n| n.min(all))
    }

    /// The seed of a name's `attempt`th attempt (from 1): fixed by `--seed`, the name and the
    /// attempt (so a run can be replayed, and a retake is not the same quiz again), otherwise
    /// drawn from `rng`, the room's generator.
    /// A hash (FNV-1a, 64 bits) of every question, all it holds (text, options, answers,
    /// feedback, where it came from): the journal's way to know, at a restart, that attempts
    /// drawn from this bank can carry on with the bank given now.
    pub fn fingerprint(&self) -> u64 {
        *self.fingerprint.get_or_init(|| {
            let mut h = Fnv::default();
            for q in &self.questions {
                let _ = std::fmt::Write::write_fmt(&mut h, format_args!("{:?}\n", q.kind));
                let _ = std::fmt::Write::write_fmt(&mut h, format_args!("{:?}\n", q.text));
            }
            h.0
        })
    }

    /// The fingerprint 0.4 gave this bank (before marks had parts, when a choice had no
    /// `credit` and an answer was `right: bool`), so that a journal 0.4 left behind is still
    /// recognised after an upgrade. Banks with kinds 0.4 did not ask never match.
    pub fn legacy_fingerprint(&self) -> u64 {
        let mut h = Fnv::default();
        for q in &self.questions {
            let kind = format!("{:?}", q.kind)
                .replace(", credit: []", "")
                .replace("credit: 1.0,", "right: true,")
                .replace("credit: 0.0,", "right: false,");
            let _ = std::fmt::Write::write_fmt(&mut h, format_args!("{kind}\n"));
            let _ = std::fmt::Write::write_fmt(&mut h, format_args!("{:?}\n", q.text));
        }
        h.0
    }

    pub fn attempt_seed(&self, name: &str, attempt: u32, rng: &mut fastrand::Rng) -> u64 {
        match self.settings.seed {
            Some(seed) => {
                let first = mix(seed ^ fnv1a(name.to_lowercase().as_bytes()));
                if attempt <= 1 {
                    first
                } else {
                    mix(first ^ u64::from(attempt))
                }
            }
            None => rng.u64(..),
        }
    }

    /// The bank indices of the questions one attempt asks, in the order asked.
    pub fn draw(&self, seed: u64) -> Vec<u32> {
        let all = self.questions.len();
        let count = self.count();
        if !self.settings.shuffle {
            return (0..count as u32).collect();
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        if count * 4 >= all {
            // Most of the bank: a partial Fisher-Yates over every index.
            let mut order: Vec<u32> = (0..all as u32).collect();
            for i in 0..count {
                let j = rng.usize(i..all);
                order.swap(i, j);
            }
            order.truncate(count);
            order
        } else {
            // A few from a large bank: Floyd's sampling, no bank-sized allocation per student.
            let mut picked = std::collections::HashSet::with_capacity(count);
            let mut order = Vec::with_capacity(count);
            for j in (all - count)..all {
                let t = rng.usize(..=j) as u32;
                let pick = if picked.insert(t) { t } else { j as u32 };
                picked.insert(pick);
                order.push(pick);
            }
            rng.shuffle(&mut order);
            order
        }
    }

    /// How the options of bank question `question` are lettered for the attempt `seed`: as
    /// the bank has them in live mode (everyone sees the same letters) or without shuffling.
    pub fn option_order(&self, seed: u64, question: u32) -> OptionOrder {
        let len = self.questions[question as usize]
            .kind
            .lettered()
            .len()
            .min(MAX_OPTIONS);
        let mut slots = [0u8; MAX_OPTIONS];
        for (i, slot) in slots.iter_mut().enumerate().take(len) {
            *slot = i as u8;
        }
        if self.settings.shuffle && self.settings.live.is_none() {
            let mut rng = fastrand::Rng::with_seed(mix(seed ^ u64::from(question)));
            rng.shuffle(&mut slots[..len]);
        }
        OptionOrder {
            slots,
            len: len as u8,
        }
    }
}

/// The greeting's instruction for a bank: the multiple-choice wording when that is all there
/// is (as it always was), otherwise each kind of answer the bank asks for.
fn how_to_answer(questions: &[Question]) -> String {
    let has = |kind: fn(&Kind) -> bool| questions.iter().any(|q| kind(&q.kind));
    let kinds = [
        (
            has(|k| matches!(k, Kind::Choice { .. })),
            "the letter of your choice",
        ),
        (
            has(|k| matches!(k, Kind::TrueFalse { .. })),
            "true or false",
        ),
        (
            has(|k| matches!(k, Kind::Multiple { .. })),
            "the letters of every answer that applies",
        ),
        (
            has(|k| matches!(k, Kind::Matching { .. })),
            "a letter for each numbered item",
        ),
        (has(|k| matches!(k, Kind::Numeric { .. })), "a number"),
        (has(|k| matches!(k, Kind::Short { .. })), "a few words"),
        (
            has(|k| matches!(k, Kind::Essay)),
            "a sentence for your teacher",
        ),
    ];
    let present: Vec<&str> = kinds
        .iter()
        .filter(|(present, _)| *present)
        .map(|&(_, words)| words)
        .collect();
    match present.as_slice() {
        [] | ["the letter of your choice"] => {
            "Answer each question with the letter of your choice".to_owned()
        }
        [one] => format!("Answer each question with {one}"),
        [several @ .., last] => format!(
            "Answer each question as it asks: {}, or {last}",
            several.join(", ")
        ),
    }
}

/// FNV-1a: a stable hash (unlike std's `DefaultHasher`) so `--seed` means the same on every build.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.bytes(bytes);
    h.0
}

/// FNV-1a, fed a piece at a time (or through `write!`, so text need not be built to be
/// hashed).
pub(crate) struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl std::fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

/// SplitMix64's finaliser: spreads nearby seeds far apart.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_long_question_is_wrapped_at_80_once_when_first_asked_and_kept_plain_for_other_widths() {
        let file: Arc<str> = Arc::from("t.txt");
        let long = "word ".repeat(30);
        let question = Question::new(
            long.trim_end().to_string(),
            Kind::choice(vec![long.trim_end().into(), "short".into()], 0),
            &file,
            1,
        );
        let wire = Wire::new(&question);
        assert!(wire.wrapped.get().is_none(), "nothing wrapped at start-up");
        let at80 = wire.for_width(None);
        let lines = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        for line in lines(&at80.text).split("\r\n") {
            assert!(line.len() <= 80, "{line:?}");
        }
        // The option's continuation lines up under its text, behind the `  a) ` added later.
        assert!(
            lines(&at80.options[0]).contains("\r\n     word"),
            "{:?}",
            lines(&at80.options[0])
        );
        assert!(
            std::ptr::eq(at80, wire.for_width(Some(80))),
            "made once, then reused"
        );
        assert!(
            std::ptr::eq(&wire, wire.for_width(Some(50))),
            "the room wraps other widths"
        );
        // A question that fits has no second copy.
        let short = Wire::new(&Question::new(
            "q?".to_string(),
            Kind::choice(vec!["a".into(), "b".into()], 0),
            &file,
            2,
        ));
        assert!(std::ptr::eq(&short, short.for_width(None)));
    }

    fn bank(n: usize) -> Bank {
        let file: Arc<str> = Arc::from("t.txt");
        Bank {
            title: "t".into(),
            questions: (0..n)
                .map(|i| {
                    Question::new(
                        format!("q{i}"),
                        Kind::choice(vec!["w".into(), "x".into(), "y".into(), "z".into()], 1),
                        &file,
                        i as u32 + 1,
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    fn quiz(n: usize, settings: Settings) -> Quiz {
        Quiz::new(bank(n), settings)
    }

    fn is_distinct_in_range(order: &[u32], all: usize) -> bool {
        let set: std::collections::HashSet<_> = order.iter().collect();
        set.len() == order.len() && order.iter().all(|&i| (i as usize) < all)
    }

    #[test]
    fn draw_without_shuffle_takes_the_first_questions_in_file_order() {
        let q = quiz(
            10,
            Settings {
                count: Some(3),
                shuffle: false,
                ..Settings::default()
            },
        );
        assert_eq!(q.draw(7), vec![0, 1, 2]);
    }

    #[test]
    fn draw_gives_distinct_questions_for_small_and_large_counts() {
        for (all, count) in [(10, 10), (10, 4), (1000, 5), (1000, 999)] {
            let q = quiz(
                all,
                Settings {
                    count: Some(count),
                    ..Settings::default()
                },
            );
            for seed in 0..50 {
                let order = q.draw(seed);
                assert_eq!(order.len(), count);
                assert!(is_distinct_in_range(&order, all), "{all} {count} {order:?}");
            }
        }
    }

    #[test]
    fn count_larger_than_the_bank_asks_the_whole_bank() {
        let q = quiz(
            5,
            Settings {
                count: Some(50),
                ..Settings::default()
            },
        );
        assert_eq!(q.count(), 5);
    }

    #[test]
    fn fixed_seed_gives_the_same_attempt_for_the_same_name_in_any_case() {
        let q = quiz(
            20,
            Settings {
                seed: Some(42),
                ..Settings::default()
            },
        );
        // Whatever the room's generator says, the seed decides.
        let mut rng = fastrand::Rng::with_seed(1);
        let mut other = fastrand::Rng::with_seed(2);
        let a = q.attempt_seed("Alice", 1, &mut rng);
        assert_eq!(a, q.attempt_seed("alice", 1, &mut other));
        assert_ne!(a, q.attempt_seed("bob", 1, &mut rng));
        assert_ne!(
            a,
            q.attempt_seed("alice", 2, &mut rng),
            "a retake is another draw"
        );
        assert_eq!(q.draw(a), q.draw(q.attempt_seed("ALICE", 1, &mut other)));
    }

    #[test]
    fn option_order_is_a_permutation_and_inverts() {
        let q = quiz(3, Settings::default());
        for seed in 0..100 {
            let order = q.option_order(seed, 1);
            assert_eq!(order.len(), 4);
            let mut seen = [false; 4];
            for shown in 0..4 {
                let b = order.bank_index(shown);
                seen[b] = true;
                assert_eq!(order.shown_at(b), shown);
            }
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn huge_durations_are_clamped_so_deadlines_cannot_overflow() {
        let q = quiz(
            3,
            Settings {
                time_limit: Some(Duration::MAX),
                idle_timeout: Duration::MAX,
                ..Settings::default()
            },
        );
        assert_eq!(q.settings.time_limit, Some(MAX_DURATION));
        assert_eq!(q.settings.idle_timeout, MAX_DURATION);
        let _ = std::time::Instant::now() + MAX_DURATION;
    }

    #[test]
    fn option_order_without_shuffle_is_the_bank_order() {
        let q = quiz(
            3,
            Settings {
                shuffle: false,
                ..Settings::default()
            },
        );
        let order = q.option_order(99, 0);
        assert_eq!(
            (0..4).map(|i| order.bank_index(i)).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
    }
}
