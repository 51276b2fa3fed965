//! Question banks: the question model, and loading banks from files.
//!
//! A bank file's format is chosen by its extension. This module does everything that is the
//! same for every format (reading files and directories, the size limits, the UTF-8 BOM,
//! invalid UTF-8, line splitting, "no questions found"), so a format parser only turns text into
//! questions. Problems in every file are collected and reported as `FILE:LINE: message`, so a
//! teacher can fix a bank in one pass instead of one error per run; past [`MAX_PROBLEMS`] they
//! are only counted (`... and N more problems`), so a file that is not a bank at all costs
//! neither memory nor a screenful per line.
//!
//! Reading never blocks the server's thread: only regular files are read (a FIFO, a device or
//! a socket named like a bank is refused, or skipped in a directory, without waiting on it),
//! and the caller caps how much one load may read ([`BankLimits`]): generous at start-up, small
//! for a bank switched while students are being served.
//!
//! - [`aiken`]: Moodle's Aiken format (`.txt`): multiple choice with one right option.
//! - [`gift`]: Moodle's GIFT format (`.gift`): multiple choice with one or several answers,
//!   matching, true/false, short answer, numeric and essay questions, with feedback and
//!   partial credit.
//! - [`grade`]: what a typed answer means for a question: the marks it earns, what to record,
//!   and which feedback to show. Pure, so every kind is tested without a session.
//! - [`marks`]: marks with parts (Moodle's partial credit), kept exact and shown to two
//!   places.

pub mod aiken;
pub mod gift;
pub mod grade;
pub mod marks;
pub mod markup;

pub use grade::{Graded, MAX_RESPONSE_CHARS, Response, RightAnswer};
pub use marks::Marks;

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::ops::Deref;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::limits::{MAX_PROBLEMS, MAX_SWITCH_BANK_BYTES};
use crate::text::human_bytes;

/// One question as the quiz asks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The question text; several source lines joined with '\n'.
    pub text: String,
    pub kind: Kind,
    /// The bank's name for the question (GIFT `::title::`). Kept for the teacher, never shown
    /// to students: titles often name the answer ("TCP handshake: SYN-ACK").
    pub title: Option<String>,
    /// Feedback shown after every verdict whatever the answer (GIFT general feedback,
    /// `####text`), after any feedback for the answer given.
    pub feedback: Option<String>,
    /// The bank file the question came from (as the user named it) and its first line (1-based).
    pub file: Arc<str>,
    pub line: u32,
}

impl Question {
    /// Whether it is an essay: recorded for the teacher, no mark given.
    pub fn is_essay(&self) -> bool {
        matches!(self.kind, Kind::Essay)
    }

    /// A question with no title and no general feedback.
    pub fn new(text: impl Into<String>, kind: Kind, file: &Arc<str>, line: u32) -> Question {
        Question {
            text: text.into(),
            kind,
            title: None,
            feedback: None,
            file: Arc::clone(file),
            line,
        }
    }
}

/// What kind of answer a question takes, what is right, and the feedback for each answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Multiple choice: the student picks one option. `options` in file order; `correct`
    /// indexes the right one (the one "The answer was ..." names), `also_right` any other that
    /// is right too (GIFT with two `=` options, each full marks as in Moodle). `feedback` is
    /// empty (Aiken has none) or holds one entry per option. `credit` is empty when every
    /// option is right or wrong; otherwise it holds each option's fraction of the mark
    /// (GIFT `=A ~%50%B ~C`: B is worth half).
    Choice {
        options: Vec<String>,
        correct: usize,
        also_right: Vec<usize>,
        feedback: Vec<Option<String>>,
        credit: Vec<f64>,
    },
    /// Multiple answers ("choose all that apply", a GIFT block of weighted `~%n%` options and
    /// no `=`): the student types every letter they choose (`a c`). Each option carries a
    /// fraction of the mark, negative for a penalty; the chosen fractions are added, as
    /// Moodle adds them, and the question scores that sum between 0 and 1.
    Multiple {
        options: Vec<String>,
        credit: Vec<f64>,
        feedback: Vec<Option<String>>,
    },
    /// Matching: each of `items` (numbered) goes with one of `choices` (lettered, shuffled
    /// like options); `answers[i]` is the choice that goes with item `i`. The student types one
    /// letter per item (`cab`); each pair right is worth its share of the mark, as in Moodle.
    /// `choices` holds each distinct answer once, with any extra wrong ones.
    Matching {
        items: Vec<String>,
        choices: Vec<String>,
        answers: Vec<u8>,
    },
    /// A statement the student marks true or false.
    TrueFalse {
        answer: bool,
        /// Shown to a student who answered right / wrong.
        right_feedback: Option<String>,
        wrong_feedback: Option<String>,
    },
    /// A typed answer compared with each of `answers` (case and spacing ignored). At least one
    /// of them is right; the others are known wrong answers that only carry feedback.
    Short {
        answers: Vec<ShortAnswer>,
        /// Feedback for an answer that matches none of `answers`.
        otherwise: Option<String>,
    },
    /// A typed number compared with each of `answers`' ranges, first match wins. At least one
    /// is right; the others are known wrong answers that only carry feedback.
    Numeric {
        answers: Vec<NumericAnswer>,
        /// Feedback for a number that falls in none of `answers`.
        otherwise: Option<String>,
    },
    /// Moodle's essay: a line of text recorded for the teacher to mark; no mark is given.
    Essay,
}

impl Kind {
    /// A multiple-choice question without feedback (what Aiken gives).
    pub fn choice(options: Vec<String>, correct: usize) -> Kind {
        Kind::Choice {
            options,
            correct,
            also_right: Vec::new(),
            feedback: Vec::new(),
            credit: Vec::new(),
        }
    }

    /// The lettered lines a question shows after its text: options, or a matching question's
    /// choices (empty for the kinds answered by typing).
    pub fn lettered(&self) -> &[String] {
        match self {
            Kind::Choice { options, .. } | Kind::Multiple { options, .. } => options,
            Kind::Matching { choices, .. } => choices,
            _ => &[],
        }
    }

    /// The line shown above `answer> ` saying what to type; `None` for multiple choice, whose
    /// lettered options say it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Kind::Choice { .. } => None,
            Kind::Multiple { .. } => {
                Some("Choose every answer that applies: type their letters, like a c.")
            }
            Kind::Matching { .. } => Some(
                "Type the letter that goes with each numbered item, in order: like cab for 1 c, 2 a, 3 b.",
            ),
            Kind::TrueFalse { .. } => Some("Type true or false."),
            Kind::Short { .. } => Some("Type your answer."),
            Kind::Numeric { .. } => Some("Type a number."),
            Kind::Essay => Some("Type your answer on one line; your teacher will mark it."),
        }
    }
}

/// One answer a short-answer question knows.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortAnswer {
    /// As the bank wrote it; what "The answer was ..." shows.
    pub text: String,
    /// [`normalise`]d `text`: what a typed answer is compared with.
    pub key: String,
    /// The fraction of the mark it is worth: 1 (right), 0 (a known wrong answer, there for its
    /// feedback), or between (Moodle's partial credit, `=%50%Cat`).
    pub credit: f64,
    pub feedback: Option<String>,
}

/// Whether a fraction of the mark is full marks (within Moodle's millionth).
pub fn full_credit(credit: f64) -> bool {
    Marks::of_fraction(credit).is_full()
}

impl ShortAnswer {
    /// Worth full marks.
    pub fn right(&self) -> bool {
        full_credit(self.credit)
    }

    /// Whether a typed answer ([`normalise`]d) is this one. A `*` in the answer matches any
    /// run of characters, as in Moodle (`\*` is a star itself): `Par*` matches `Paris` and
    /// `Parma`.
    pub fn matches(&self, typed: &str) -> bool {
        if !self.key.contains('*') {
            return self.key == typed;
        }
        wildcard_match(&self.key, typed)
    }
}

/// Moodle's `compare_string_with_wildcard`: the pattern split on runs of unescaped `*`, each
/// part found in order, the first at the start and the last at the end.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'*') => {
                chars.next();
                if let Some(last) = parts.last_mut() {
                    last.push('*');
                }
            }
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                parts.push(String::new());
            }
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    let [first, middle @ .., last] = parts.as_slice() else {
        // No unescaped star: the pattern is the answer itself.
        return parts.first().is_some_and(|only| only == text);
    };
    let Some(mut text) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for part in middle {
        match text.find(part.as_str()) {
            Some(at) => text = &text[at + part.len()..],
            None => return false,
        }
    }
    text.ends_with(last.as_str())
}

/// One answer a numeric question knows: a closed range of numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericAnswer {
    /// Smallest and largest number accepted: `{#3.14:0.01}` is 3.13 to 3.15, `{#1..5}` 1 to 5,
    /// `{#2}` 2 to 2. Compared with a relative slack of [`grade::NUMERIC_SLACK`], so that
    /// 3.14 - 0.01 computed in binary still accepts a typed 3.13.
    pub min: f64,
    pub max: f64,
    /// The fraction of the mark it is worth, as for a [`ShortAnswer`].
    pub credit: f64,
    pub feedback: Option<String>,
    /// How "The answer was ..." names it: `1822`, `3.14 (+/- 0.01)`, `any number from 1 to 5`.
    pub shown: String,
}

/// A short answer as compared: trimmed, runs of whitespace folded to one space, lowercased,
/// invisible characters (a soft hyphen, ZWNJ, ZWJ, ZWSP...) dropped, as they are from what a
/// student types: a bank may hold them, and a student cannot be expected to type them.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(
            word.chars()
                .filter(|&c| !crate::text::is_invisible(c))
                .flat_map(char::to_lowercase),
        );
    }
    out
}

/// Bank text quoted in a problem message, made safe to print: control characters and escape
/// sequences dropped, whitespace (line breaks too) folded to one space, cut at 40 characters
/// with `...`. Problems reach terminals: `quizd --check`, start-up errors, the console.
pub(crate) fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    let clean = crate::text::sanitize(text, usize::MAX);
    match clean.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &clean[..cut]),
        None => clean,
    }
}

/// One problem found in a bank, shown as `FILE:LINE: message` (or `FILE: message` when line is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u32,
    pub message: String,
    /// Not a problem that refuses the bank: a question quizd cannot ask was skipped, or
    /// something was read as Moodle reads it but may not be what the teacher meant. Shown
    /// as `FILE:LINE: warning: message`.
    pub warning: bool,
}

impl Problem {
    /// A problem at `line` of `file`; line 0 means the file as a whole.
    pub fn new(file: impl Into<String>, line: u32, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line,
            message: message.into(),
            warning: false,
        }
    }

    /// A warning at `line` of `file`.
    pub fn warning(file: impl Into<String>, line: u32, message: impl Into<String>) -> Self {
        Problem {
            warning: true,
            ..Problem::new(file, line, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warning = if self.warning { "warning: " } else { "" };
        match (self.file.as_str(), self.line) {
            ("", _) => write!(f, "{warning}{}", self.message),
            (file, 0) => write!(f, "{file}: {warning}{}", self.message),
            (file, line) => write!(f, "{file}:{line}: {warning}{}", self.message),
        }
    }
}

impl std::error::Error for Problem {}

/// The problems found so far: the first [`MAX_PROBLEMS`] kept, the rest only counted. Reads as
/// the slice of those kept; [`Problems::into_vec`] adds the `... and N more problems` line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems {
    kept: Vec<Problem>,
    /// Problems found past the cap (or dropped when two lists were merged).
    more: usize,
    /// Warnings, capped the same way but apart, so many skipped questions never hide a
    /// problem.
    warnings: Vec<Problem>,
    more_warnings: usize,
    /// Questions left out (each with a warning).
    pub skipped: usize,
    /// `--skip-broken`: a mistake in a question skips that question (with a warning) instead
    /// of refusing the bank.
    pub(crate) lenient: bool,
}

impl Problems {
    /// Records a problem; past the cap it is only counted (and its text never built).
    pub(crate) fn report(&mut self, file: &str, line: u32, message: impl Into<String>) {
        if self.lenient {
            let message = message.into();
            return self.skip(
                file,
                line,
                format!("skipped, a mistake (--skip-broken): {message}"),
            );
        }
        if self.kept.len() < MAX_PROBLEMS {
            self.kept.push(Problem::new(file, line, message));
        } else {
            self.more += 1;
        }
    }

    /// Records a warning; past the cap it is only counted.
    pub(crate) fn warn(&mut self, file: &str, line: u32, message: impl Into<String>) {
        if self.warnings.len() < MAX_PROBLEMS {
            self.warnings.push(Problem::warning(file, line, message));
        } else {
            self.more_warnings += 1;
        }
    }

    /// A question quizd cannot ask is left out, with a warning saying why.
    pub(crate) fn skip(&mut self, file: &str, line: u32, message: impl Into<String>) {
        self.skipped += 1;
        self.warn(file, line, message);
    }

    /// Every problem found, kept or counted (warnings are not problems).
    pub fn total(&self) -> usize {
        self.kept.len() + self.more
    }

    /// Every warning, kept or counted.
    pub fn total_warnings(&self) -> usize {
        self.warnings.len() + self.more_warnings
    }

    /// The warnings alone, as [`Problems::into_vec`] lists them.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut all = self.warnings.clone();
        if self.more_warnings > 0 {
            all.push(Problem::warning(
                "",
                0,
                more_problems_message(self.more_warnings).replace("problem", "warning"),
            ));
        }
        all
    }

    /// Sorts the kept problems by line (stable: same-line problems stay in the order found).
    pub(crate) fn sort_by_line(&mut self) {
        self.kept.sort_by_key(|problem| problem.line);
        self.warnings.sort_by_key(|problem| problem.line);
    }

    /// Adds `other`'s problems after these (the next file of a load).
    fn append(&mut self, other: Problems) {
        self.kept.extend(other.kept);
        self.more += other.more;
        self.warnings.extend(other.warnings);
        self.more_warnings += other.more_warnings;
        self.skipped += other.skipped;
        self.trim();
    }

    /// Merges two lists of one file, both in line order, into one in line order.
    fn merge_by_line(&mut self, other: Problems) {
        self.append(other);
        self.sort_by_line();
    }

    fn trim(&mut self) {
        if self.kept.len() > MAX_PROBLEMS {
            self.more += self.kept.len() - MAX_PROBLEMS;
            self.kept.truncate(MAX_PROBLEMS);
        }
        if self.warnings.len() > MAX_PROBLEMS {
            self.more_warnings += self.warnings.len() - MAX_PROBLEMS;
            self.warnings.truncate(MAX_PROBLEMS);
        }
    }

    /// The problems as callers see them: those kept, then, if any were only counted, one
    /// last `... and N more problems`.
    pub fn into_vec(self) -> Vec<Problem> {
        let warnings = self.warnings();
        let mut all = self.kept;
        if self.more > 0 {
            all.push(Problem::new("", 0, more_problems_message(self.more)));
        }
        all.extend(warnings);
        all
    }
}

impl From<Problem> for Problems {
    fn from(problem: Problem) -> Problems {
        Problems {
            kept: vec![problem],
            ..Problems::default()
        }
    }
}

impl Deref for Problems {
    type Target = [Problem];

    fn deref(&self) -> &[Problem] {
        &self.kept
    }
}

/// The last line of a capped list of problems.
fn more_problems_message(more: usize) -> String {
    let s = if more == 1 { "" } else { "s" };
    format!("... and {more} more problem{s}")
}

/// How many problems a list returned by [`load`], [`load_with`], [`parse`] or [`from_text`]
/// stands for: its length, or, when it ends with `... and N more problems`, the problems
/// listed plus N. For a count such as `quizd: N problem(s) found`.
pub fn total_problems(problems: &[Problem]) -> usize {
    let problems: Vec<Problem> = problems.iter().filter(|p| !p.warning).cloned().collect();
    let problems = problems.as_slice();
    let more = problems.last().and_then(|last| {
        if !last.file.is_empty() || last.line != 0 {
            return None;
        }
        let rest = last.message.strip_prefix("... and ")?;
        let (count, tail) = rest.split_once(' ')?;
        tail.starts_with("more problem")
            .then(|| count.parse::<usize>().ok())
            .flatten()
    });
    match more {
        Some(more) => problems.len() - 1 + more,
        None => problems.len(),
    }
}

/// A set of questions ready to serve.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bank {
    pub title: String,
    pub questions: Vec<Question>,
    /// What was read but not as the teacher may expect: questions skipped (each says why),
    /// things read as Moodle reads them. `FILE:LINE: warning: ...` lines.
    pub warnings: Vec<Problem>,
    /// Questions left out because quizd cannot ask them in a terminal.
    pub skipped: usize,
}

/// What a parser returns for a file it could read: the questions, and the warnings (with
/// the count of questions skipped).
#[derive(Debug, Default)]
pub struct Parsed {
    pub questions: Vec<Question>,
    pub notes: Problems,
}

pub use crate::limits::MAX_BANK_BYTES;

/// How much one load may read, chosen by the caller: what start-up can afford is not what a
/// server with students waiting on its one thread can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankLimits {
    /// Largest bank file, in bytes; a larger one is a `FILE: too large: ...` problem.
    pub max_file_bytes: u64,
    /// Most bytes all the files of one load may hold together when the bank is switched while
    /// students are being served; a file that takes the load past it is refused with
    /// `too large to switch to while serving ...: restart quizd with it`. `None`: no such cap.
    pub max_switch_bytes: Option<u64>,
    /// Which format to read the files as (`--format`); `None`: by extension and content.
    pub format: Option<Format>,
    /// `--skip-broken`: a question with a mistake is skipped with a warning; the bank loads.
    pub skip_broken: bool,
}

impl BankLimits {
    /// Start-up and `quizd --check`: each file up to [`MAX_BANK_BYTES`], no total cap (a
    /// 100,000-question bank is ~18 MB and starts in well under 0.5 s).
    pub const AT_START: BankLimits = BankLimits {
        max_file_bytes: MAX_BANK_BYTES,
        max_switch_bytes: None,
        format: None,
        skip_broken: false,
    };
    /// A bank switched while serving (the console's `load` and `reload`): all its files
    /// together up to [`MAX_SWITCH_BANK_BYTES`], so the switch stalls students only briefly.
    pub const WHILE_SERVING: BankLimits = BankLimits {
        max_file_bytes: MAX_BANK_BYTES,
        max_switch_bytes: Some(MAX_SWITCH_BANK_BYTES),
        format: None,
        skip_broken: false,
    };
}

/// What one load has read so far, against its [`BankLimits`].
struct Budget {
    limits: BankLimits,
    read: u64,
}

impl Budget {
    fn new(limits: BankLimits) -> Budget {
        Budget { limits, read: 0 }
    }

    /// Checks a file of `size` bytes against the limits before it is read; returns how many
    /// bytes of it may be read (a file that grows while read is caught there).
    fn admit(&self, name: &str, size: u64) -> Result<u64, Problem> {
        let max_file = self.limits.max_file_bytes;
        if size > max_file {
            return Err(too_large(name, size, max_file));
        }
        match self.limits.max_switch_bytes {
            Some(total) if self.read.saturating_add(size) > total => {
                Err(too_large_to_switch(name, self.read, size, total))
            }
            Some(total) => Ok(max_file.min(total - self.read)),
            None => Ok(max_file),
        }
    }

    /// Checks what was actually read (the file may have grown) and counts it.
    fn took(&mut self, name: &str, read: u64, allowed: u64) -> Result<(), Problem> {
        if read > allowed {
            return Err(self
                .admit(name, read)
                .err()
                .unwrap_or_else(|| too_large(name, read, allowed)));
        }
        self.read += read;
        Ok(())
    }
}

/// Parses one bank's text; `file` names it in messages and picks the format by extension
/// (`.txt` = Aiken, `.gift` = GIFT; anything else is a Problem saying which extensions are
/// supported).
/// Takes raw bytes: strips a UTF-8 BOM; invalid UTF-8 is a Problem at the line where it occurs.
/// At most [`MAX_PROBLEMS`] problems are listed, then `... and N more problems`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Question>, Vec<Problem>> {
    parse_file(file, bytes).map(|parsed| parsed.questions)
}

/// [`parse`], with the warnings and the count of questions skipped.
pub fn parse_file(file: &str, bytes: &[u8]) -> Result<Parsed, Vec<Problem>> {
    let format = Format::of(Path::new(file)).ok_or_else(|| vec![unsupported(file)])?;
    parse_as(format, file, bytes)
        .and_then(|parsed| nonempty(parsed, file))
        .map_err(Problems::into_vec)
}

/// How the problem of a load with nothing quizd can ask starts: not a mistake in a bank
/// (`--check` tells it apart by this).
pub const NOTHING_TO_ASK: &str = "no question quizd can ask";

/// A load with no question at all to ask is refused (its warnings say why); `name` is the
/// file, or empty for a load of several.
fn nonempty(parsed: Parsed, name: &str) -> Result<Parsed, Problems> {
    if !parsed.questions.is_empty() {
        return Ok(parsed);
    }
    let why = match parsed.notes.skipped {
        0 => format!("{NOTHING_TO_ASK} (the warnings say why)"),
        n => format!("{NOTHING_TO_ASK} ({n} skipped, each said why)"),
    };
    let mut problems: Problems = Problem::new(name, 0, why).into();
    problems.append(parsed.notes);
    Err(problems)
}

/// Loads every path: a file is one bank, a directory means every bank file in it (by supported
/// extension, sorted by name, not recursive; hidden files skipped). Collects the problems of
/// ALL files before returning. Errors: unreadable file/dir (`FILE: cannot read: <reason>`),
/// not a regular file (a FIFO, a device: refused without waiting on it), too large, a directory
/// with no bank files, a file with no questions; at most [`MAX_PROBLEMS`] are listed, then
/// `... and N more problems`. Title: for one path, its file stem (or directory name); for
/// several, the titles joined with " + ". Start-up's limits ([`BankLimits::AT_START`]).
pub fn load(paths: &[PathBuf]) -> Result<Bank, Vec<Problem>> {
    load_with(paths, BankLimits::AT_START)
}

/// [`load`] with the caller's limits: [`BankLimits::WHILE_SERVING`] for a bank switched while
/// students are served (the console's `load` and `reload`), which refuses banks over
/// [`MAX_SWITCH_BANK_BYTES`] in all before reading the file that takes the load past it.
pub fn load_with(paths: &[PathBuf], limits: BankLimits) -> Result<Bank, Vec<Problem>> {
    if paths.is_empty() {
        return Err(vec![Problem::new("", 0, "no bank file or directory given")]);
    }
    let mut budget = Budget::new(limits);
    let parsed = gather(paths.iter().map(|path| load_path(path, &mut budget)))
        .and_then(|parsed| nonempty(parsed, ""))
        .map_err(Problems::into_vec)?;
    let titles: Vec<String> = paths.iter().map(|path| title_of(path)).collect();
    Ok(Bank {
        title: titles.join(" + "),
        questions: parsed.questions,
        warnings: parsed.notes.warnings(),
        skipped: parsed.notes.skipped,
    })
}

/// The bank compiled into the binary (so `quizd` with no argument works from any directory):
/// `include_str!("../../questions/sockets.txt")`, title "sockets", file name "sockets.txt".
pub fn bundled() -> Result<Bank, Vec<Problem>> {
    const SOCKETS: &str = include_str!("../../questions/sockets.txt");
    from_text("sockets.txt", SOCKETS.as_bytes())
}

/// A bank from text that is not a file on disk (the bundled bank, a teacher's upload): parsed
/// as [`parse`] does (at most [`MAX_PROBLEMS`] problems listed), titled with `file`'s name
/// without its extension.
pub fn from_text(file: &str, bytes: &[u8]) -> Result<Bank, Vec<Problem>> {
    let title = Path::new(file).file_stem().map_or_else(
        || file.to_owned(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let parsed = parse_file(file, bytes)?;
    Ok(Bank {
        title,
        questions: parsed.questions,
        warnings: parsed.notes.warnings(),
        skipped: parsed.notes.skipped,
    })
}

/// The bank formats quizd reads. Adding one means a variant, an entry in [`Format::ALL`] and
/// an arm in each method; file handling, decoding and messages stay shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Aiken,
    Gift,
}

impl Format {
    const ALL: &'static [Format] = &[Format::Aiken, Format::Gift];

    /// The file extension that selects this format (compared ignoring ASCII case, since
    /// banks written on Windows are often `.TXT`).
    fn extension(self) -> &'static str {
        match self {
            Format::Aiken => "txt",
            Format::Gift => "gift",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Aiken => "Aiken",
            Format::Gift => "GIFT",
        }
    }

    fn parse(self, file: &Arc<str>, text: &str, lenient: bool) -> Result<Parsed, Problems> {
        let problems = Problems {
            lenient,
            ..Problems::default()
        };
        match self {
            Format::Aiken => aiken::parse(file, text, problems),
            Format::Gift => gift::parse(file, text, problems),
        }
    }

    /// The format a bank file's name asks for, if quizd reads it.
    fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?;
        Self::ALL
            .iter()
            .copied()
            .find(|format| format.extension().eq_ignore_ascii_case(extension))
    }

    /// The supported extensions for messages, e.g. `.txt (Aiken)`.
    fn supported() -> String {
        let each: Vec<String> = Self::ALL
            .iter()
            .map(|format| format!(".{} ({})", format.extension(), format.name()))
            .collect();
        each.join(", ")
    }
}

/// Decodes and parses one bank file whose format is already known, adding the checks every
/// format shares: invalid UTF-8 and a file with no questions at all.
fn parse_as(format: Format, file: &str, bytes: &[u8]) -> Result<Parsed, Problems> {
    read_as(format, file, bytes, true, false)
}

/// [`parse_as`]; with `sniff`, a `.txt` file whose content is GIFT is read as GIFT.
fn read_as(
    format: Format,
    file: &str,
    bytes: &[u8],
    sniff: bool,
    lenient: bool,
) -> Result<Parsed, Problems> {
    if let Some(problem) = utf16(file, bytes) {
        return Err(problem.into());
    }
    let (text, mut problems) = decode(file, bytes);
    // Moodle's own GIFT export is saved as `.txt` (qformat_gift::export_file_extension): a
    // `.txt` file that reads as GIFT is GIFT.
    let format = if sniff && format == Format::Aiken && looks_like_gift(&text) {
        Format::Gift
    } else {
        format
    };
    let name: Arc<str> = Arc::from(file);
    match format.parse(&name, &text, lenient) {
        Ok(parsed) if problems.total() > 0 => {
            problems.merge_by_line(parsed.notes);
            Err(problems)
        }
        Ok(mut parsed) if parsed.questions.is_empty() => {
            if parsed.notes.skipped == 0 && parsed.notes.total_warnings() == 0 {
                return Err(Problem::new(file, 1, "no questions found").into());
            }
            // Questions quizd cannot ask, or only a description: Moodle imports it, so it is
            // no mistake; only a load with nothing at all to ask is refused (see `nonempty`).
            parsed.notes.warn(
                file,
                0,
                "nothing in this file quizd can ask (see the warnings above)",
            );
            Ok(parsed)
        }
        Ok(mut parsed) => {
            parsed.notes.merge_by_line(problems);
            Ok(parsed)
        }
        Err(more) => {
            // Both lists are in line order; a stable sort interleaves them by line.
            problems.merge_by_line(more);
            Err(problems)
        }
    }
}

/// A file in UTF-16 (a byte-order mark, or every other byte zero, as Notepad's "Unicode"
/// writes): one line naming it, rather than a problem per line that does not exist.
fn utf16(file: &str, bytes: &[u8]) -> Option<Problem> {
    let bom = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    let sample = &bytes[..bytes.len().min(4096)];
    let zeros_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let half = sample.len() / 2;
    // Zeros at one parity and not the other (a file of zeros is no text at all, and says so).
    let (even, odd) = (zeros_at(0), zeros_at(1));
    let interleaved =
        half >= 2 && ((even * 2 > half && odd * 4 < half) || (odd * 2 > half && even * 4 < half));
    (bom || interleaved).then(|| {
        Problem::new(
            file,
            0,
            "is UTF-16 (what Notepad calls \"Unicode\"): save it as UTF-8 and load it again",
        )
    })
}

/// Whether a file named as Aiken is GIFT: nothing in it looks like Aiken (an `ANSWER:` line,
/// even misspelled, or an option line `A)`, `B.`), and a GIFT answer block holds `=`, `~`,
/// `#`, `T` or `F` (or a `::title::` or `$CATEGORY:` line says GIFT).
fn looks_like_gift(text: &str) -> bool {
    let mut gift = false;
    for line in source_lines(text) {
        let t = line.text.trim_start();
        let upper = t.get(..6).map(str::to_ascii_uppercase);
        let bytes = t.as_bytes();
        let aiken_option =
            bytes.len() >= 2 && bytes[0].is_ascii_uppercase() && matches!(bytes[1], b')' | b'.');
        if upper.as_deref() == Some("ANSWER") || aiken_option {
            return false;
        }
        if t.starts_with("::") || t.starts_with("$CATEGORY:") {
            gift = true;
        }
        if let Some(open) = t.find('{') {
            let inner = t[open + 1..].trim_start();
            if inner.starts_with(['=', '~', '#', '}'])
                || inner.starts_with("T}")
                || inner.starts_with("F}")
                || inner.is_empty()
            {
                gift = true;
            }
        }
    }
    gift
}

/// Strips a UTF-8 BOM and decodes the rest. Invalid UTF-8 is replaced (so the rest of the file
/// is still checked in the same run) and reported once for each line where it occurs.
fn decode<'b>(file: &str, bytes: &'b [u8]) -> (Cow<'b, str>, Problems) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let problems = invisible_problems(file, text, &[]);
        return (Cow::Borrowed(text), problems);
    }
    let mut text = String::with_capacity(bytes.len());
    let mut bad_offsets = Vec::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            bad_offsets.push(text.len());
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    let bad_lines = lines_holding(&text, &bad_offsets);
    let mut problems = Problems::default();
    for &line in &bad_lines {
        problems.report(
            file,
            line,
            "not valid UTF-8: save the file with UTF-8 encoding",
        );
    }
    problems.merge_by_line(invisible_problems(file, &text, &bad_lines));
    (Cow::Owned(text), problems)
}

/// A problem for each line (but those in `skip`, reported already) holding a character that
/// can move a cursor or hide text ([`crate::text::unfit_for_a_bank`]): ESC starting an escape
/// sequence, another control character, a bidi override. Question text goes to every
/// student's screen. U+FFFD is what undecodable bytes became (an upload, decoded on arrival).
/// Format characters that do neither (ZWNJ, ZWJ, soft hyphen, LRM, RLM, ZWSP...) are text.
fn invisible_problems(file: &str, text: &str, skip: &[u32]) -> Problems {
    let mut problems = Problems::default();
    // Plain printable ASCII (most banks, most lines) cannot hold one: only lines with a control
    // byte or a non-ASCII byte are decoded and looked at, which keeps this off start-up time.
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b >= 0x7f;
    if !text.bytes().any(suspect) {
        return problems;
    }
    // `skip` is ascending, as are the lines.
    let mut skip = skip.iter().copied().peekable();
    for line in source_lines(text) {
        while skip.next_if(|&number| number < line.number).is_some() {}
        if !line.text.bytes().any(suspect) || skip.next_if_eq(&line.number).is_some() {
            continue;
        }
        let Some(c) = line
            .text
            .chars()
            .find(|&c| crate::text::unfit_for_a_bank(c))
        else {
            continue;
        };
        if c == char::REPLACEMENT_CHARACTER {
            problems.report(
                file,
                line.number,
                "holds U+FFFD, the mark of bytes that were not valid text: save the bank as UTF-8",
            );
        } else {
            problems.report(
                file,
                line.number,
                format!(
                    "holds the control character U+{:04X}: remove it (it could garble or hide text on students' screens)",
                    u32::from(c)
                ),
            );
        }
    }
    problems
}

/// The numbers of the lines holding the given byte offsets (ascending), each line once.
fn lines_holding(text: &str, offsets: &[usize]) -> Vec<u32> {
    let mut offsets = offsets.iter().copied().peekable();
    let mut lines = Vec::new();
    for line in source_lines(text) {
        let end = line.start + line.text.len();
        let mut hit = false;
        while offsets.next_if(|&offset| offset < end).is_some() {
            hit = true;
        }
        if hit {
            lines.push(line.number);
        }
    }
    lines
}

/// One physical line of a bank file, without its line ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceLine<'a> {
    /// 1-based, as an editor shows it.
    pub number: u32,
    /// Byte offset of the line's first character in the whole text.
    pub start: usize,
    pub text: &'a str,
}

/// Splits text into lines ending in LF, CRLF or a lone CR (old Mac files; Moodle splits on CR
/// too), so line numbers match what the teacher's editor shows whatever wrote the file.
pub(crate) fn source_lines(text: &str) -> SourceLines<'_> {
    SourceLines {
        text,
        pos: 0,
        number: 0,
    }
}

/// Iterator returned by [`source_lines`].
pub(crate) struct SourceLines<'a> {
    text: &'a str,
    pos: usize,
    number: u32,
}

impl<'a> Iterator for SourceLines<'a> {
    type Item = SourceLine<'a>;

    fn next(&mut self) -> Option<SourceLine<'a>> {
        let rest = self.text.get(self.pos..).filter(|rest| !rest.is_empty())?;
        let len = rest
            .bytes()
            .position(|byte| byte == b'\n' || byte == b'\r')
            .unwrap_or(rest.len());
        // `len` is at an ASCII byte or the end, so both halves are valid str slices.
        let (text, ending) = rest.split_at(len);
        let ending_len = if ending.starts_with("\r\n") {
            2
        } else {
            ending.len().min(1)
        };
        self.number = self.number.saturating_add(1);
        let line = SourceLine {
            number: self.number,
            start: self.pos,
            text,
        };
        self.pos += len + ending_len;
        Some(line)
    }
}

/// Merges the results of several files: all their questions in order, or all their problems.
fn gather(results: impl IntoIterator<Item = Result<Parsed, Problems>>) -> Result<Parsed, Problems> {
    let mut questions = Vec::new();
    let mut problems = Problems::default();
    for result in results {
        match result {
            Ok(mut more) => {
                questions.append(&mut more.questions);
                problems.append(more.notes);
            }
            Err(more) => problems.append(more),
        }
    }
    if problems.total() == 0 {
        Ok(Parsed {
            questions,
            notes: problems,
        })
    } else {
        Err(problems)
    }
}

/// Loads one command-line path, a bank file or a directory of them. Anything else (a FIFO, a
/// device, a socket) is refused from its `stat`, without opening it.
fn load_path(path: &Path, budget: &mut Budget) -> Result<Parsed, Problems> {
    let name = path.display().to_string();
    let metadata = fs::metadata(path).map_err(|error| cannot_read(&name, &error))?;
    if metadata.is_dir() {
        load_dir(path, &name, budget)
    } else if metadata.is_file() {
        load_file(path, &name, budget)
    } else {
        Err(not_regular(&name, metadata.file_type()).into())
    }
}

/// Loads every bank file directly inside `dir`, in name order.
fn load_dir(dir: &Path, name: &str, budget: &mut Budget) -> Result<Parsed, Problems> {
    let files = bank_files(dir).map_err(|error| cannot_read(name, &error))?;
    if files.is_empty() {
        let message = format!(
            "no bank files in this directory (quizd reads {})",
            Format::supported()
        );
        return Err(Problem::new(name, 0, message).into());
    }
    gather(
        files
            .iter()
            .map(|file| load_file(file, &file.display().to_string(), budget)),
    )
}

/// The bank files directly inside `dir`, sorted by name. Hidden files (editor locks, `.git`),
/// other extensions, and anything that is not a regular file (a subdirectory, a FIFO, a device,
/// a socket: reading one could wait forever) are skipped; links are followed (`stat`, which
/// never waits on what it finds). A broken link with a bank extension is kept so that reading
/// it reports the problem instead of silently dropping a bank.
fn bank_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if hidden || Format::of(&path).is_none() {
            continue;
        }
        match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => files.push(path),
            Ok(metadata) => log::debug!(
                "skipping {}: {}",
                path.display(),
                not_regular_message(metadata.file_type())
            ),
            Err(_) => files.push(path),
        }
    }
    files.sort();
    Ok(files)
}

/// Loads one bank file; its extension is checked before reading so that a wrong file (a PDF,
/// a video) is refused without reading it.
fn load_file(path: &Path, name: &str, budget: &mut Budget) -> Result<Parsed, Problems> {
    let forced = budget.limits.format;
    let format = forced
        .or_else(|| Format::of(path))
        .ok_or_else(|| unsupported(name))?;
    let bytes = read_bank(path, name, budget)?;
    read_as(
        format,
        name,
        &bytes,
        forced.is_none(),
        budget.limits.skip_broken,
    )
}

/// Reads a whole bank file within the budget. The file is opened without blocking
/// (`O_NONBLOCK`: opening a FIFO would otherwise wait for a writer, holding the server's one
/// thread) and read only if it is a regular file; its size is checked against the limits
/// before reading, and again after (it may grow while read).
fn read_bank(path: &Path, name: &str, budget: &mut Budget) -> Result<Vec<u8>, Problem> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|error| cannot_read(name, &error))?;
    let metadata = file.metadata().map_err(|error| cannot_read(name, &error))?;
    if !metadata.is_file() {
        return Err(not_regular(name, metadata.file_type()));
    }
    let allowed = budget.admit(name, metadata.len())?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(allowed.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| cannot_read(name, &error))?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    budget.took(name, read, allowed)?;
    Ok(bytes)
}

/// The bank's title for one path: the file stem, or the directory's own name (resolved for
/// paths like `.` that have none).
fn title_of(path: &Path) -> String {
    let name = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    name.map(|name| name.to_string_lossy().into_owned())
        .or_else(|| {
            let full = fs::canonicalize(path).ok()?;
            Some(full.file_name()?.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| path.display().to_string())
}

fn cannot_read(name: &str, error: &io::Error) -> Problem {
    Problem::new(
        name,
        0,
        format!("cannot read: {}", crate::text::describe_io_error(error)),
    )
}

fn too_large(name: &str, size: u64, limit: u64) -> Problem {
    let message = format!(
        "too large: {size} bytes, the limit is {limit} bytes ({})",
        human_bytes(limit)
    );
    Problem::new(name, 0, message)
}

/// A file that takes a load made while serving past its cap; `before` is what the load's
/// earlier files hold.
fn too_large_to_switch(name: &str, before: u64, size: u64, limit: u64) -> Problem {
    let total = before.saturating_add(size);
    let with = if before > 0 {
        " with the banks before it"
    } else {
        ""
    };
    let message = format!(
        "too large to switch to while serving ({}{with}; the limit is {}): restart quizd with it",
        human_bytes(total),
        human_bytes(limit)
    );
    Problem::new(name, 0, message)
}

fn not_regular(name: &str, file_type: fs::FileType) -> Problem {
    let message = format!(
        "{}: quizd reads banks from regular files only",
        not_regular_message(file_type)
    );
    Problem::new(name, 0, message)
}

/// `not a regular file (a FIFO)`, for a file type that is neither a file nor a directory.
pub(crate) fn not_regular_message(file_type: fs::FileType) -> String {
    let what = if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    };
    format!("not a regular file ({what})")
}

fn unsupported(name: &str) -> Problem {
    let message = format!("not a bank file: quizd reads {}", Format::supported());
    Problem::new(name, 0, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    /// A directory under the system temp dir, unique to this process and test, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("quizd-bank-{}-{test}", std::process::id()));
            // A leftover from an earlier run with the same pid may exist.
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }

        fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, contents).expect("write temp file");
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const GOOD: &str = "Q1?\nA) yes\nB) no\nANSWER: A\n";
    const OTHER: &str = "Q2?\nA. one\nB. two\nC. three\nANSWER: C\n";
    const GIFT: &str = "// a GIFT bank\n::t:: Q3? {T}\n";

    fn messages(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    fn texts(questions: &[Question]) -> Vec<&str> {
        questions
            .iter()
            .map(|question| question.text.as_str())
            .collect()
    }

    #[test]
    fn problem_display_shows_file_line_and_message() {
        assert_eq!(Problem::new("a.txt", 3, "bad").to_string(), "a.txt:3: bad");
        assert_eq!(Problem::new("a.txt", 0, "bad").to_string(), "a.txt: bad");
        assert_eq!(Problem::new("", 0, "bad").to_string(), "bad");
    }

    #[test]
    fn txt_extension_is_aiken_ignoring_case() {
        let questions = parse("dir/BANK.TXT", GOOD.as_bytes()).expect("valid bank");
        assert_eq!(texts(&questions), ["Q1?"]);
        assert_eq!(&*questions[0].file, "dir/BANK.TXT");
        assert_eq!(questions[0].line, 1);
    }

    #[test]
    fn gift_extension_is_gift_ignoring_case() {
        let questions = parse("dir/Bank.GIFT", GIFT.as_bytes()).expect("valid bank");
        assert_eq!(texts(&questions), ["Q3?"]);
        assert!(matches!(
            questions[0].kind,
            Kind::TrueFalse { answer: true, .. }
        ));
        // Named .txt, it is still GIFT: its content says so (Moodle's GIFT export is .txt).
        assert_eq!(
            texts(&parse("dir/bank.txt", GIFT.as_bytes()).expect("GIFT")),
            ["Q3?"]
        );
        // --format aiken reads it as Aiken, whatever it looks like.
        let dir = TempDir::new("forced");
        let file = dir.write("bank.txt", GIFT);
        let forced = BankLimits {
            format: Some(Format::Aiken),
            ..BankLimits::AT_START
        };
        assert!(load_with(std::slice::from_ref(&file), forced).is_err());
        let gift = BankLimits {
            format: Some(Format::Gift),
            ..BankLimits::AT_START
        };
        let other = dir.write("bank.questions", GIFT);
        assert_eq!(
            texts(
                &load_with(&[other], gift)
                    .expect("any name with --format")
                    .questions
            ),
            ["Q3?"]
        );
    }

    #[test]
    fn gift_problems_come_with_file_and_line_and_utf8_problems_interleave() {
        let bytes = b"Caf\xE9?{T}\n\nQ?{~a}\n";
        let problems = parse("x.gift", bytes).unwrap_err();
        assert_eq!(
            messages(&problems),
            [
                "x.gift:1: not valid UTF-8: save the file with UTF-8 encoding",
                "x.gift:3: a multiple-choice question needs at least 2 options",
            ]
        );
    }

    #[test]
    fn unsupported_extension_names_the_supported_ones() {
        let problems = parse("notes.pdf", GOOD.as_bytes()).unwrap_err();
        assert_eq!(
            messages(&problems),
            ["notes.pdf: not a bank file: quizd reads .txt (Aiken), .gift (GIFT)"]
        );
        let problems = parse("noextension", GOOD.as_bytes()).unwrap_err();
        assert_eq!(
            messages(&problems),
            ["noextension: not a bank file: quizd reads .txt (Aiken), .gift (GIFT)"]
        );
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let bytes = [b"\xEF\xBB\xBF".as_slice(), GOOD.as_bytes()].concat();
        let questions = parse("bom.txt", &bytes).expect("valid bank");
        assert_eq!(texts(&questions), ["Q1?"]);
    }

    #[test]
    fn invalid_utf8_is_reported_at_each_line_where_it_occurs() {
        let bytes = b"Caf\xE9 question?\r\nA) \xFF\xFE yes\r\nB) no\r\nANSWER: A\r\n\r\nQ2?\r\nA) x\r\nANSWER: A\r\n";
        let problems = parse("latin1.txt", bytes).unwrap_err();
        assert_eq!(
            messages(&problems),
            [
                "latin1.txt:1: not valid UTF-8: save the file with UTF-8 encoding",
                "latin1.txt:2: not valid UTF-8: save the file with UTF-8 encoding",
                "latin1.txt:8: a question needs at least 2 options",
            ]
        );
    }

    #[test]
    fn empty_or_blank_file_has_no_questions_found() {
        for contents in ["", "\n\n  \r\n\t\n", "\u{feff}"] {
            let problems = parse("x.txt", contents.as_bytes()).unwrap_err();
            assert_eq!(messages(&problems), ["x.txt:1: no questions found"]);
        }
    }

    #[test]
    fn control_characters_and_bidi_overrides_in_a_bank_are_problems_on_their_line() {
        let text = "Q1 \x1b[2J clear?\nA) a\nB) b\nANSWER: A\n\nQ2?\nA) \u{202e}drow\nB) tab\there is fine\nANSWER: B\n";
        let problems = parse("t.txt", text.as_bytes()).expect_err("refused");
        let lines: Vec<u32> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 7], "{problems:?}");
        assert!(problems[0].message.contains("U+001B"), "{problems:?}");
        assert!(problems[1].message.contains("U+202E"), "{problems:?}");
    }

    #[test]
    fn format_characters_that_move_no_cursor_are_text_in_a_bank() {
        // ZWNJ (Persian), ZWJ (an emoji family), a soft hyphen pasted from Word, LRM and RLM,
        // the word joiner, a zero-width space.
        let text = "\u{645}\u{06cc}\u{200c}\u{062e}\u{0648}\u{0627}\u{0647}\u{0645}? \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\nA) net\u{00ad}work \u{200e}x\u{200f}\nB) a\u{2060}b\u{200b}c\nANSWER: A\n";
        let questions = parse("fa.txt", text.as_bytes()).expect("loads");
        assert!(questions[0].text.contains('\u{200c}'), "kept as written");
    }

    #[test]
    fn skip_broken_leaves_out_the_questions_with_a_mistake_and_serves_the_rest() {
        let dir = TempDir::new("skip-broken");
        let gift = dir.write(
            "mixed.gift",
            "Good? {T}\n\nBad? {#x}\n\nWorse? {=a ~b\n\nAlso good? {=yes}\n",
        );
        let aiken = dir.write(
            "mixed.txt",
            "Good?\nA) a\nB) b\nANSWER: A\n\nBad?\nA) a\nB) b\nANSWER: C\n",
        );
        assert!(
            load(std::slice::from_ref(&gift)).is_err(),
            "refused by default"
        );
        let lenient = BankLimits {
            skip_broken: true,
            ..BankLimits::AT_START
        };
        let bank = load_with(&[gift, aiken], lenient).expect("served");
        assert_eq!(texts(&bank.questions), ["Good?", "Also good?", "Good?"]);
        assert_eq!(bank.skipped, 3, "{:#?}", bank.warnings);
        assert!(
            bank.warnings.iter().all(|w| w.warning
                && w.message
                    .starts_with("skipped, a mistake (--skip-broken): ")),
            "{:#?}",
            bank.warnings
        );
    }

    #[test]
    fn a_file_with_nothing_to_ask_is_a_warning_in_a_load_that_has_questions() {
        let dir = TempDir::new("nothing-to-ask");
        let good = dir.write("a-good.gift", "Q? {T}\n");
        let matching = dir.write("b-cloze.gift", "The {1:MULTICHOICE:=red~blue} car.\n");
        let prompt = dir.write("c-prompt.gift", "Discuss this in pairs.\n");
        let bank = load(std::slice::from_ref(&dir.0)).expect("the directory serves");
        assert_eq!(texts(&bank.questions), ["Q?"]);
        assert_eq!(bank.skipped, 1);
        assert!(
            bank.warnings
                .iter()
                .any(|w| w.file == matching.display().to_string()
                    && w.message.starts_with("nothing in this file quizd can ask")),
            "{:#?}",
            bank.warnings
        );
        // Alone, a file with nothing to ask is refused, its warnings saying why.
        let problems = load(std::slice::from_ref(&matching)).expect_err("nothing to ask");
        assert!(
            problems[0]
                .message
                .starts_with("no question quizd can ask (1 skipped"),
            "{problems:?}"
        );
        assert!(load(&[prompt]).is_err());
        drop(good);
    }

    #[test]
    fn an_aiken_file_with_braces_and_a_misspelled_answer_line_is_not_read_as_gift() {
        let text = "Which set is {1, 2, 3} in roster form?\nA) Yes\nB) No\nAnswer: A\n\nWhich is a prime?\nA) 4\nB) 7\nAnswer: B\n";
        let problems = parse("sets.txt", text.as_bytes()).expect_err("read as Aiken");
        assert!(
            problems[0]
                .message
                .contains("write the answer line as ANSWER:"),
            "{problems:?}"
        );
    }

    #[test]
    fn short_answers_with_format_characters_are_graded_as_the_student_types_them() {
        let text = "Word? {=Photo\u{00ad}synthesis =\u{645}\u{06cc}\u{200c}\u{062e}\u{0648}\u{0627}\u{0647}\u{0645}}";
        let q = &parse("f.gift", text.as_bytes()).expect("loads")[0];
        for typed in [
            "photosynthesis",
            "Photo\u{00ad}synthesis",
            "\u{645}\u{06cc}\u{200c}\u{062e}\u{0648}\u{0627}\u{0647}\u{0645}",
        ] {
            assert!(q.grade(typed, &[]).expect("graded").right(), "{typed:?}");
        }
    }

    #[test]
    fn aiken_text_is_shown_as_written_as_moodle_shows_it() {
        let text = "Which tag makes <em>emphasis</em>?\nA) <b>\nB) <i>\nC) <p>\nANSWER: B\n";
        let q = &parse("html.txt", text.as_bytes()).expect("loads")[0];
        assert_eq!(q.text, "Which tag makes <em>emphasis</em>?");
        let Kind::Choice { options, .. } = &q.kind else {
            panic!("choice")
        };
        assert_eq!(options, &["<b>", "<i>", "<p>"]);
    }

    #[test]
    fn a_utf16_file_is_named_in_one_line() {
        let text = "Q?\nA) a\nB) b\nANSWER: A\n";
        for (bom, encode) in [
            (&[0xff, 0xfe][..], u16::to_le_bytes as fn(u16) -> [u8; 2]),
            (&[0xfe, 0xff][..], u16::to_be_bytes),
        ] {
            let mut bytes = bom.to_vec();
            bytes.extend(text.encode_utf16().flat_map(encode));
            let problems = parse("notepad.txt", &bytes).expect_err("refused");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(
                problems[0].to_string(),
                "notepad.txt: is UTF-16 (what Notepad calls \"Unicode\"): save it as UTF-8 and load it again"
            );
        }
        // No byte-order mark, but every other byte zero: UTF-16 too.
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(parse("no-bom.txt", &bytes).expect_err("refused").len(), 1);
    }

    #[test]
    fn a_moodle_gift_export_saved_as_txt_is_read_as_gift() {
        let export = "// question: 1  name: Ports\n::Ports::[html]Which port is HTTPS?{\n\t~80\n\t=443\n}\n\n";
        let questions = parse("moodle-export.txt", export.as_bytes()).expect("read as GIFT");
        assert_eq!(questions.len(), 1);
        assert_eq!(questions[0].title.as_deref(), Some("Ports"));
        // An Aiken bank stays Aiken.
        let aiken = "Q?\nA) a\nB) b\nANSWER: A\n";
        assert_eq!(parse("a.txt", aiken.as_bytes()).expect("aiken").len(), 1);
    }

    #[test]
    fn replacement_characters_from_an_upload_are_a_problem_but_bad_utf8_is_reported_once() {
        let upload = "Caf\u{fffd}?\nA) a\nB) b\nANSWER: A\n";
        let problems = parse("up.txt", upload.as_bytes()).expect_err("refused");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("U+FFFD"), "{problems:?}");
        let latin1 = b"Caf\xe9?\nA) a\nB) b\nANSWER: A\n";
        let problems = parse("l.txt", latin1).expect_err("refused");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("not valid UTF-8"),
            "{problems:?}"
        );
    }

    #[test]
    fn source_lines_split_on_lf_crlf_and_lone_cr() {
        let lines: Vec<(u32, usize, &str)> = source_lines("a\nb\r\nc\rd\n\ne")
            .map(|line| (line.number, line.start, line.text))
            .collect();
        assert_eq!(
            lines,
            [
                (1, 0, "a"),
                (2, 2, "b"),
                (3, 5, "c"),
                (4, 7, "d"),
                (5, 9, ""),
                (6, 10, "e")
            ]
        );
        assert_eq!(source_lines("").count(), 0);
        assert_eq!(source_lines("x\n").count(), 1);
        assert_eq!(source_lines("\r\n\r\n").count(), 2);
    }

    #[test]
    fn load_one_file_takes_its_stem_as_title() {
        let dir = TempDir::new("one-file");
        let path = dir.write("networks.txt", GOOD);
        let bank = load(std::slice::from_ref(&path)).expect("valid bank");
        assert_eq!(bank.title, "networks");
        assert_eq!(texts(&bank.questions), ["Q1?"]);
        assert_eq!(*bank.questions[0].file, *path.display().to_string());
    }

    #[test]
    fn load_directory_reads_bank_files_sorted_skipping_hidden_and_others() {
        let dir = TempDir::new("directory");
        dir.write("b.txt", OTHER);
        dir.write("a.txt", GOOD);
        dir.write(".hidden.txt", "not even a bank");
        dir.write("notes.md", "not a bank");
        fs::create_dir(dir.0.join("sub.txt")).expect("create subdir");
        let bank = load(std::slice::from_ref(&dir.0)).expect("valid banks");
        assert_eq!(texts(&bank.questions), ["Q1?", "Q2?"]);
        assert_eq!(
            *bank.questions[1].file,
            *dir.0.join("b.txt").display().to_string()
        );
        assert_eq!(
            bank.title,
            format!("quizd-bank-{}-directory", std::process::id())
        );
    }

    #[test]
    fn load_directory_mixes_aiken_and_gift_banks_in_name_order() {
        let dir = TempDir::new("mixed");
        dir.write("b.gift", GIFT);
        dir.write("a.txt", GOOD);
        dir.write("c.txt", OTHER);
        let bank = load(std::slice::from_ref(&dir.0)).expect("valid banks");
        assert_eq!(texts(&bank.questions), ["Q1?", "Q3?", "Q2?"]);
        assert_eq!(bank.questions[1].title.as_deref(), Some("t"));
    }

    #[test]
    fn load_several_paths_joins_titles_and_questions() {
        let dir = TempDir::new("several");
        let first = dir.write("sockets.txt", GOOD);
        let second = dir.write("general.txt", OTHER);
        let bank = load(&[first, second]).expect("valid banks");
        assert_eq!(bank.title, "sockets + general");
        assert_eq!(texts(&bank.questions), ["Q1?", "Q2?"]);
    }

    #[test]
    fn load_reports_the_problems_of_all_files() {
        let dir = TempDir::new("all-problems");
        dir.write("a.txt", "Q?\nA) only\nANSWER: A\n");
        dir.write("b.txt", GOOD);
        dir.write("c.txt", "\n");
        let missing = dir.0.join("missing.txt");
        let problems = load(&[dir.0.clone(), missing.clone()]).unwrap_err();
        let a = dir.0.join("a.txt").display().to_string();
        let c = dir.0.join("c.txt").display().to_string();
        let messages = messages(&problems);
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[0],
            format!("{a}:3: a question needs at least 2 options")
        );
        assert_eq!(messages[1], format!("{c}:1: no questions found"));
        assert!(messages[2].starts_with(&format!("{}: cannot read: ", missing.display())));
    }

    #[test]
    fn load_unreadable_path_says_cannot_read_and_why() {
        let path = std::env::temp_dir().join("quizd-bank-does-not-exist/bank.txt");
        let problems = load(std::slice::from_ref(&path)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 0);
        let expected = format!("{}: cannot read: ", path.display());
        assert!(
            problems[0].to_string().starts_with(&expected),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn load_directory_without_bank_files_is_a_problem() {
        let dir = TempDir::new("no-banks");
        dir.write("readme.md", "hello");
        let problems = load(std::slice::from_ref(&dir.0)).unwrap_err();
        let expected = format!(
            "{}: no bank files in this directory (quizd reads .txt (Aiken), .gift (GIFT))",
            dir.0.display()
        );
        assert_eq!(messages(&problems), [expected]);
    }

    #[test]
    fn load_refuses_unsupported_file_without_reading_it() {
        let dir = TempDir::new("unsupported");
        let path = dir.write("bank.xml", GOOD);
        let problems = load(std::slice::from_ref(&path)).unwrap_err();
        let expected = format!(
            "{}: not a bank file: quizd reads .txt (Aiken), .gift (GIFT)",
            path.display()
        );
        assert_eq!(messages(&problems), [expected]);
    }

    #[test]
    fn load_refuses_file_over_size_limit() {
        let dir = TempDir::new("too-large");
        let path = dir.0.join("huge.txt");
        // A sparse file: the size check must come before reading.
        File::create(&path)
            .and_then(|file| file.set_len(MAX_BANK_BYTES + 1))
            .expect("create sparse file");
        let problems = load(std::slice::from_ref(&path)).unwrap_err();
        let expected = format!(
            "{}: too large: 67108865 bytes, the limit is 67108864 bytes (64 MiB)",
            path.display()
        );
        assert_eq!(messages(&problems), [expected]);
    }

    #[test]
    fn load_with_no_paths_is_a_problem() {
        let problems = load(&[]).unwrap_err();
        assert_eq!(messages(&problems), ["no bank file or directory given"]);
    }

    /// Runs `load_with` on its own thread and fails the test if it has not returned within
    /// a few seconds (a load that blocks, on a FIFO say, would otherwise hang the test run).
    fn load_within_seconds(paths: Vec<PathBuf>, limits: BankLimits) -> Result<Bank, Vec<Problem>> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(load_with(&paths, limits));
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the load blocked: it did not return within 5 s")
    }

    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
        // SAFETY: mkfifo only reads the NUL-terminated path we pass.
        let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
        assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
    }

    #[test]
    fn a_fifo_named_like_a_bank_is_refused_at_once_not_waited_on() {
        let dir = TempDir::new("fifo");
        let fifo = dir.0.join("x.txt");
        mkfifo(&fifo);
        let problems = load_within_seconds(vec![fifo.clone()], BankLimits::AT_START)
            .expect_err("a FIFO is not a bank");
        assert_eq!(
            messages(&problems),
            [format!(
                "{}: not a regular file (a FIFO): quizd reads banks from regular files only",
                fifo.display()
            )]
        );
        // In a directory it is skipped; the real bank beside it loads.
        dir.write("a.txt", GOOD);
        let bank = load_within_seconds(vec![dir.0.clone()], BankLimits::WHILE_SERVING)
            .expect("the regular bank loads");
        assert_eq!(texts(&bank.questions), ["Q1?"]);
    }

    #[test]
    fn a_device_behind_a_bank_name_is_refused_without_reading_it() {
        let dir = TempDir::new("device");
        let zero = dir.0.join("z.txt");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink to /dev/zero");
        let problems = load_within_seconds(vec![zero.clone()], BankLimits::AT_START)
            .expect_err("a device is not a bank");
        assert_eq!(
            messages(&problems),
            [format!(
                "{}: not a regular file (a character device): quizd reads banks from regular files only",
                zero.display()
            )]
        );
        dir.write("a.txt", GOOD);
        let bank = load_within_seconds(vec![dir.0.clone()], BankLimits::AT_START)
            .expect("the device is skipped in a directory");
        assert_eq!(texts(&bank.questions), ["Q1?"]);
    }

    #[test]
    fn a_link_to_a_regular_bank_file_is_followed() {
        let dir = TempDir::new("link");
        let real = dir.write("real.bank", GOOD);
        let sub = dir.0.join("sub");
        fs::create_dir(&sub).expect("sub dir");
        std::os::unix::fs::symlink(&real, sub.join("l.txt")).expect("symlink");
        let bank = load(std::slice::from_ref(&sub)).expect("the link is read");
        assert_eq!(texts(&bank.questions), ["Q1?"]);
    }

    /// A sparse file of `len` NUL bytes: reading it would report U+0000, so a bare size
    /// problem shows it was refused before being read.
    fn sparse(dir: &TempDir, name: &str, len: u64) -> PathBuf {
        let path = dir.0.join(name);
        File::create(&path)
            .and_then(|file| file.set_len(len))
            .expect("create sparse file");
        path
    }

    #[test]
    fn a_bank_switched_while_serving_is_capped_before_it_is_read() {
        let dir = TempDir::new("switch-cap");
        let big = sparse(&dir, "big.txt", 5 * 1024 * 1024);
        let problems =
            load_with(std::slice::from_ref(&big), BankLimits::WHILE_SERVING).unwrap_err();
        assert_eq!(
            messages(&problems),
            [format!(
                "{}: too large to switch to while serving (5 MiB; the limit is 1 MiB): restart quizd with it",
                big.display()
            )]
        );
        // At start-up the same file is read (and is no bank).
        let problems = load(std::slice::from_ref(&big)).unwrap_err();
        assert!(problems[0].message.contains("U+0000"), "{problems:?}");
        // A bank under the cap switches.
        let good = dir.write("good.txt", GOOD);
        let bank = load_with(&[good], BankLimits::WHILE_SERVING).expect("small bank");
        assert_eq!(texts(&bank.questions), ["Q1?"]);
    }

    #[test]
    fn the_switch_cap_counts_all_the_files_of_one_load() {
        let dir = TempDir::new("switch-total");
        let first = sparse(&dir, "a.txt", 768 * 1024);
        let second = sparse(&dir, "b.txt", 768 * 1024);
        let problems = load_with(&[first, second.clone()], BankLimits::WHILE_SERVING).unwrap_err();
        let last = problems.last().expect("problems").to_string();
        assert_eq!(
            last,
            format!(
                "{}: too large to switch to while serving (1.5 MiB with the banks before it; the limit is 1 MiB): restart quizd with it",
                second.display()
            )
        );
        // The same files in a directory: the cap is for the load, not for each file.
        let problems =
            load_with(std::slice::from_ref(&dir.0), BankLimits::WHILE_SERVING).unwrap_err();
        assert!(
            problems.iter().any(|p| p
                .message
                .starts_with("too large to switch to while serving")),
            "{problems:?}"
        );
    }

    /// `n` GIFT questions, each a problem (a multiple-choice question with one option).
    fn broken_gift(n: usize) -> String {
        (0..n).map(|i| format!("Q{i}? {{~a}}\n\n")).collect()
    }

    #[test]
    fn a_bank_with_thousands_of_problems_lists_the_first_ones_and_counts_the_rest() {
        let text = broken_gift(10_000);
        let problems = from_text("up.gift", text.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(
            problems[0].to_string(),
            "up.gift:1: a multiple-choice question needs at least 2 options"
        );
        assert_eq!(
            problems[MAX_PROBLEMS].to_string(),
            format!("... and {} more problems", 10_000 - MAX_PROBLEMS)
        );
        assert_eq!(total_problems(&problems), 10_000);
        // The same from a file, and from a directory of two such files (one cap for the load).
        let dir = TempDir::new("many-problems");
        let file = dir.write("a.gift", &text);
        let problems = load(std::slice::from_ref(&file)).unwrap_err();
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(total_problems(&problems), 10_000);
        dir.write("b.gift", &broken_gift(60));
        let problems = load(std::slice::from_ref(&dir.0)).unwrap_err();
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(total_problems(&problems), 10_060);
    }

    #[test]
    fn a_file_that_is_no_text_at_all_lists_at_most_the_cap() {
        // Every line invalid UTF-8 and every line holding a control character.
        let bytes: Vec<u8> = b"\xff\x01?\n".repeat(5_000);
        let problems = parse("bin.txt", &bytes).unwrap_err();
        assert_eq!(problems.len(), MAX_PROBLEMS + 1, "{:?}", &problems[..3]);
        assert_eq!(problems[0].line, 1);
        assert!(total_problems(&problems) >= 5_000);
    }

    #[test]
    fn total_problems_is_the_length_of_an_uncapped_list() {
        let few = vec![Problem::new("a.txt", 1, "bad"), Problem::new("", 0, "bad")];
        assert_eq!(total_problems(&few), 2);
        assert_eq!(total_problems(&[]), 0);
        let mut capped = Problems::default();
        for line in 0..=MAX_PROBLEMS as u32 {
            capped.report("a.txt", line + 1, "bad");
        }
        let listed = capped.into_vec();
        assert_eq!(
            listed.last().map(ToString::to_string).as_deref(),
            Some("... and 1 more problem")
        );
        assert_eq!(total_problems(&listed), MAX_PROBLEMS + 1);
    }

    /// The bundled bank is a full classroom quiz, not a sample.
    const MIN_BUNDLED_QUESTIONS: usize = 25;

    #[test]
    fn bundled_bank_loads() {
        let bank =
            bundled().unwrap_or_else(|problems| panic!("{}", messages(&problems).join("\n")));
        assert_eq!(bank.title, "sockets");
        assert!(
            bank.questions.len() >= MIN_BUNDLED_QUESTIONS,
            "{} questions",
            bank.questions.len()
        );
        assert!(
            bank.questions
                .iter()
                .all(|question| &*question.file == "sockets.txt")
        );
    }
}
