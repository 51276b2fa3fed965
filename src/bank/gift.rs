//! Moodle's GIFT format (`.gift`): the part of it a quiz uses.
//!
//! ```text
//! // A comment line.
//! $CATEGORY: networks/transport
//!
//! ::Handshake:: How many segments does TCP's opening handshake take? {#3}
//!
//! ::Port:: Which port does HTTPS listen on by default? {
//!     ~80   # That is plain HTTP.
//!     =443
//!     ~8080
//! }
//!
//! UDP retransmits lost datagrams. {F # No: UDP leaves that to the application.}
//!
//! The {=DNS =Domain Name System} maps host names to IP addresses.
//! ```
//!
//! Questions are read the way Moodle's importer reads them (`question/format/gift/format.php`,
//! `qformat_gift::readquestion`, and `qformat_default::readquestions` for the splitting):
//!
//! - Lines end in LF, CRLF or a lone CR; each is trimmed. A blank line ends a question, so a
//!   question (text and answers) may span several lines but holds no blank line.
//! - A line starting `//` is a comment, wherever it is. A question that starts with
//!   `$CATEGORY:` sets Moodle's category; quizd ignores it.
//! - `::title::` at the start names the question. `[html]`, `[moodle]`, `[plain]` or
//!   `[markdown]` at the start of a text says how Moodle renders it; quizd drops the marker and
//!   shows the text as written (it serves plain text).
//! - The answers are in one block `{...}`. Text after the block makes a "missing word" question:
//!   the block's place shows `_____`.
//! - `\~ \= \# \{ \} \:` and `\\` write those characters literally; `\n` is a line break.
//! - Inside the block, as Moodle decides in this order: `#` first is **numeric** (`{#3.14:0.01}`
//!   is 3.13 to 3.15, `{#1..5}`, `{#42}`, several `=` answers); any `~` is **multiple choice**
//!   (`=` the right option, `~` the wrong ones); `T`, `TRUE`, `F` or `FALSE` is **true/false**;
//!   anything else is **short answer** (each accepted answer after `=`).
//! - Feedback follows an answer after `#`. True/false takes `{T#if wrong#if right}`. `####`
//!   starts general feedback, shown whatever the answer. In short-answer and numeric questions,
//!   `=%0%` marks a known wrong answer (for its feedback) and `=%0%*#...` or, numeric only,
//!   `~#...` gives feedback for any other answer (what Moodle's own export writes).
//!
//! A description (text with no answer block) is shown before the next question. An empty wrong
//! option is dropped, as Moodle drops it (`~=right` reads as `=right`). A short answer listed
//! twice counts once.
//!
//! Weights are Moodle's: `~%50%` in a block with an `=` is partial credit in a one-answer
//! question, in a block without one an option of a multiple-answer question (whose positive
//! weights must make 100%); `=%50%` is partial credit in a short or numeric answer. Matching
//! (`=item -> answer`) and essays (`{}`) are asked. Embedded answers (cloze) are skipped with a
//! `FILE:LINE: warning:` that names them. A `*` in a short answer is a wildcard, as Moodle
//! matches it. Moodle behaviours that almost always hide a mistake are `FILE:LINE:`
//! problems, which refuse the bank:
//!
//! - Multiple choice needs a right option (Moodle imports a question with none), at least 2
//!   options and at most 26.
//! - Text before the first `=`/`~` of a multiple-choice block (Moodle makes it a wrong option).
//! - A `{` without its `}` (often a blank line inside the block: Moodle reports it too, and
//!   the stray `}` of the rest is not reported again), a `}` with no `{`, a second block.
//! - A `$CATEGORY:` line followed by more lines (Moodle would swallow the question into the
//!   category's name), and a `::title` with no closing `::`.
//! - True/false is recognised in any case (`{true}`); Moodle takes only capitals and makes
//!   `{true}` a short answer whose one accepted answer is "true", so only the word counts.
//! - Numbers with a decimal comma, a backwards range (`{#5..1}`) and a negative margin are
//!   reported; Moodle would import a question nobody can answer right.
//!
//! Every problem is reported; one mistake gives one message, since a blank line always starts
//! the next question afresh.

use std::sync::Arc;

use super::markup::{self, Markup, Media};
use super::{
    Kind, Marks, NumericAnswer, Parsed, Problems, Question, ShortAnswer, full_credit, normalise,
    source_lines,
};

/// Most options in a multiple-choice question (letters a to z).
use crate::limits::{MAX_ANSWERS, MAX_OPTIONS};

/// Characters a backslash escapes (`n` is the line break).
const ESCAPABLE: &[u8] = b"\\:#={}~n";

/// Text-format markers Moodle reads at the start of a text (case-sensitive, as in Moodle).
const FORMAT_MARKERS: [(&str, Markup); 4] = [
    ("[html]", Markup::Html),
    ("[moodle]", Markup::Moodle),
    ("[plain]", Markup::Plain),
    ("[markdown]", Markup::Markdown),
];

/// Parses a GIFT bank. `file` names it in questions and problems; `text` is the decoded file
/// (a leading BOM is ignored); problems go into `problems` (which says whether a mistake
/// skips its question, `--skip-broken`). Returns every question, or every problem found.
pub fn parse(file: &Arc<str>, text: &str, problems: Problems) -> Result<Parsed, Problems> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser {
        file,
        skip: None,
        description: None,
        after_unclosed: false,
        questions: Vec::new(),
        problems,
    };
    let mut block: Vec<(u32, &str)> = Vec::new();
    for line in source_lines(text) {
        let trimmed = line.text.trim();
        if !trimmed.is_empty() {
            block.push((line.number, trimmed));
        } else if !block.is_empty() {
            parser.block(&block, Some(line.number));
            block.clear();
        }
    }
    if !block.is_empty() {
        parser.block(&block, None);
    }
    parser.finish()
}

/// A problem found in a question: its line and what to do about it.
type Found = (u32, String);

struct Parser<'f> {
    file: &'f Arc<str>,
    /// Why the question just read is left out (a type quizd cannot ask): a warning, not a
    /// problem.
    skip: Option<Found>,
    /// Descriptions (text with no answer block, Moodle's "description" item) waiting to be
    /// shown before the next question, and the line of the first.
    description: Option<(u32, Vec<String>)>,
    /// The last question's answer block was never closed: a `}` that starts the next one is
    /// the rest of it, already reported.
    after_unclosed: bool,
    questions: Vec<Question>,
    /// Capped: past [`crate::limits::MAX_PROBLEMS`] problems are only counted.
    problems: Problems,
}

impl Parser<'_> {
    /// Takes the lines of one question (no blank line among them); `ended_by` is the blank
    /// line after them, `None` at the end of the file.
    fn block(&mut self, lines: &[(u32, &str)], ended_by: Option<u32>) {
        let after_unclosed = std::mem::take(&mut self.after_unclosed);
        let lines: Vec<(u32, &str)> = lines
            .iter()
            .copied()
            .filter(|(_, text)| !text.starts_with("//"))
            .collect();
        let Some(&(first, first_text)) = lines.first() else {
            return;
        };
        if first_text.starts_with("$CATEGORY:") {
            if let Some(&(second, _)) = lines.get(1) {
                self.report(
                    second,
                    "put a blank line after the $CATEGORY: line (Moodle would read this \
                     question as part of the category's name)",
                );
            }
            return;
        }
        let source = Source::join(&lines);
        if after_unclosed && first_brace(&source.text) == Some(b'}') {
            return;
        }
        match self.question(&source, first, ended_by) {
            Ok(mut question) => {
                if let Some((_, mut parts)) = self.description.take() {
                    // Shown before the question it introduces, wherever shuffling puts it.
                    parts.push(std::mem::take(&mut question.text));
                    question.text = parts.join("\n\n");
                }
                self.questions.push(question);
            }
            Err(found) if found.is_empty() => {
                if let Some((line, message)) = self.skip.take() {
                    self.problems.skip(self.file, line, message);
                }
            }
            Err(found) => {
                self.skip = None;
                // With --skip-broken, the question is skipped once, whatever else is wrong in it.
                let lenient = self.problems.lenient;
                for (i, (line, message)) in found.into_iter().enumerate() {
                    if lenient && i > 0 {
                        self.problems
                            .warn(self.file, line, format!("and: {message}"));
                    } else {
                        self.report(line, message);
                    }
                }
            }
        }
    }

    fn report(&mut self, line: u32, message: impl Into<String>) {
        self.problems.report(self.file, line, message);
    }

    fn question(
        &mut self,
        source: &Source,
        first: u32,
        ended_by: Option<u32>,
    ) -> Result<Question, Vec<Found>> {
        let fail = |line: u32, message: &str| Err(vec![(line, message.to_owned())]);
        let mut rest = source.text.as_str();
        let mut title = None;
        if let Some(named) = rest.strip_prefix("::") {
            let Some(end) = find_plain(named, "::") else {
                return fail(
                    first,
                    "the title has no closing :: (write ::title:: before the question text)",
                );
            };
            title = Some(clean_answer(&named[..end])).filter(|title| !title.is_empty());
            rest = &named[end + 2..];
        }
        let (open, close) = (find_plain(rest, "{"), find_plain(rest, "}"));
        let (open, close) = match (open, close) {
            (None, None) => {
                // A description: shown before the next question, as a quiz shows it.
                let text = clean_text(rest);
                if !text.is_empty() {
                    if find_plain(rest, "=").is_some() || find_plain(rest, "~").is_some() {
                        // `Which port? =443`: answers with their braces forgotten.
                        self.problems.warn(
                            self.file,
                            first,
                            "read as a description (text with no { } block), shown before the next question: if it is a question, put its answers in { }",
                        );
                    }
                    match self.description.as_mut() {
                        // Parts kept apart and joined once: a run of descriptions costs
                        // their length, not its square.
                        Some((_, parts)) => parts.push(text),
                        None => self.description = Some((first, vec![text])),
                    }
                }
                return Err(Vec::new());
            }
            (Some(open), None) => {
                self.after_unclosed = true;
                let message = match ended_by {
                    Some(blank) => format!(
                        "the answer block opened here is not closed before the blank line at \
                         line {blank}, which ends the question: close it with }} (and keep \
                         blank lines out of a question)"
                    ),
                    None => "the answer block opened here is not closed before the end of the \
                             file: close it with }"
                        .to_owned(),
                };
                return Err(vec![(source.line_of(&rest[open..]), message)]);
            }
            (open, Some(close)) => match open {
                Some(open) if open < close => (open, close),
                _ => {
                    return fail(
                        source.line_of(&rest[close..]),
                        "} with no { before it: write \\} for a brace in the text",
                    );
                }
            },
        };
        let block_line = source.line_of(&rest[open..]);
        let inner = &rest[open + 1..close];
        let after = &rest[close + 1..];
        if let Some(at) = find_plain(inner, "{") {
            return fail(
                source.line_of(&inner[at..]),
                "{ inside the answer block: close the block with } first, or write \\{ for a \
                 brace",
            );
        }
        // Embedded answers (cloze) have a block per gap: the question is skipped, not refused.
        if is_embedded(inner.trim()) || has_embedded_block(after) {
            self.skip = Some((
                block_line,
                "skipped: embedded answers (cloze, {1:MULTICHOICE:...}), which quizd cannot ask \
                 in a terminal"
                    .to_owned(),
            ));
            return Err(Vec::new());
        }
        // Moodle imports these, showing the second block as text, or a question with no
        // text: nothing a student can answer as meant. Skipped, with the reason; the rest of
        // the bank is served.
        if let Some(at) = first_brace_at(after) {
            self.skip = Some((
                source.line_of(&after[at..]),
                "skipped: a second answer block, which Moodle would show as text (two questions \
                 without a blank line between them?): a question has one { }; write \\{ and \\} \
                 for braces in the text"
                    .to_owned(),
            ));
            return Err(Vec::new());
        }
        let mut media = Media::default();
        let (text, markup) = if after.trim().is_empty() {
            render_text(&rest[..open], Markup::Moodle, &mut media)
        } else {
            // A missing-word question: the blank shows where the answer goes.
            render_text(
                &format!("{}_____{after}", &rest[..open]),
                Markup::Moodle,
                &mut media,
            )
        };
        if text.is_empty() {
            self.skip = Some((
                first,
                if title.is_some() {
                    "skipped: the question has no text, only a ::title::, which students never \
                     see: write the question after the title"
                } else {
                    "skipped: the question has no text: write it before the answer block"
                }
                .to_owned(),
            ));
            return Err(Vec::new());
        }
        let (answers, general) = match rfind_plain(inner, "####") {
            Some(at) => {
                let (text, _) = render_text(&inner[at + 4..], markup, &mut media);
                (&inner[..at], Some(text).filter(|t| !t.is_empty()))
            }
            None => (inner, None),
        };
        let answers_read = Answers {
            source,
            block_line,
            skip: std::cell::RefCell::new(None),
            warnings: std::cell::RefCell::new(Vec::new()),
            markup,
            media: std::cell::RefCell::new(Media::default()),
        };
        let kind = answers_read.kind(answers.trim());
        let skip = answers_read.skip.into_inner();
        media.append(answers_read.media.into_inner());
        if skip.is_none() {
            for (line, message) in answers_read.warnings.into_inner() {
                self.problems.warn(self.file, line, message);
            }
            for warning in media.warnings() {
                self.problems.warn(self.file, first, warning);
            }
        }
        let kind = match (kind, skip) {
            // A mistake is reported even in a question quizd would skip.
            (Err(found), _) if !found.is_empty() => return Err(found),
            (_, Some(why)) => {
                self.skip = Some(why);
                return Err(Vec::new());
            }
            (Ok(kind), None) => kind,
            (Err(found), None) => return Err(found),
        };
        Ok(Question {
            text,
            kind,
            title,
            feedback: general,
            file: Arc::clone(self.file),
            line: first,
        })
    }

    fn finish(mut self) -> Result<Parsed, Problems> {
        if let Some((line, _)) = self.description.take() {
            self.problems.warn(
                self.file,
                line,
                "a description with no question after it is not shown",
            );
        }
        if self.problems.total() == 0 {
            self.problems.sort_by_line();
            Ok(Parsed {
                questions: self.questions,
                notes: self.problems,
            })
        } else {
            self.problems.sort_by_line();
            Err(self.problems)
        }
    }
}

/// One question's lines joined with `\n`, remembering where each line starts so that a
/// problem anywhere in it is reported at its own line.
struct Source {
    text: String,
    /// `(offset in text, line number)` per line, ascending.
    starts: Vec<(usize, u32)>,
}

impl Source {
    fn join(lines: &[(u32, &str)]) -> Source {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(lines.len());
        for &(number, line) in lines {
            if !text.is_empty() {
                text.push('\n');
            }
            starts.push((text.len(), number));
            text.push_str(line);
        }
        Source { text, starts }
    }

    /// The line where `part`, a slice of `self.text`, starts.
    fn line_of(&self, part: &str) -> u32 {
        let offset = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let after = self.starts.partition_point(|&(start, _)| start <= offset);
        self.starts
            .get(after.saturating_sub(1))
            .map_or(0, |&(_, line)| line)
    }
}

/// Reads one answer block into a [`Kind`]; every problem is reported at its own line.
struct Answers<'s> {
    source: &'s Source,
    /// The line of the block's `{`, for problems of the block as a whole.
    block_line: u32,
    /// Set when the question is of a type quizd cannot ask: it is skipped with this warning
    /// (unless it also has a mistake, which is reported).
    skip: std::cell::RefCell<Option<Found>>,
    /// Things read as Moodle reads them that may not be what the teacher meant.
    warnings: std::cell::RefCell<Vec<Found>>,
    /// How answers and feedback without a marker of their own are written: as the question
    /// text is (Moodle's `parse_text_with_format` default).
    markup: Markup,
    /// Images and recordings named in answers and feedback.
    media: std::cell::RefCell<Media>,
}

impl Answers<'_> {
    /// An option or answer as shown (one line).
    fn answer(&self, raw: &str) -> String {
        let (text, _) = render_text(raw, self.markup, &mut self.media.borrow_mut());
        text.replace('\n', " ")
    }

    /// Feedback as shown, `None` when there is none.
    fn feedback(&self, raw: &str) -> Option<String> {
        let (text, _) = render_text(raw, self.markup, &mut self.media.borrow_mut());
        Some(text).filter(|text| !text.is_empty())
    }

    /// The question is of a type quizd cannot ask (the first reason found is kept).
    fn cannot_ask(&self, line: u32, what: &str) {
        let mut skip = self.skip.borrow_mut();
        if skip.is_none() {
            *skip = Some((line, format!("skipped: {what}")));
        }
    }

    /// At most [`MAX_ANSWERS`] answers in a short-answer or numeric block.
    fn few_answers(&self, body: &str) -> Result<(), Vec<Found>> {
        if answer_items(body).nth(MAX_ANSWERS).is_some() {
            return Err(vec![(
                self.block_line,
                format!("a question has at most {MAX_ANSWERS} answers"),
            )]);
        }
        Ok(())
    }

    /// Whether the question is already known to be skipped.
    fn skipping(&self) -> bool {
        self.skip.borrow().is_some()
    }

    /// `body` is the trimmed inside of the block, general feedback removed.
    fn kind(&self, body: &str) -> Result<Kind, Vec<Found>> {
        if body.is_empty() {
            // An essay: recorded for the teacher to mark.
            return Ok(Kind::Essay);
        }
        if is_embedded(body) {
            self.cannot_ask(
                self.block_line,
                "embedded answers (cloze, {1:MULTICHOICE:...}), which quizd cannot ask in a terminal",
            );
            return Err(Vec::new());
        }
        if let Some(numbers) = body.strip_prefix('#') {
            self.numeric(numbers)
        } else if find_plain(body, "~").is_some() {
            self.choice(body)
        } else if find_plain(body, "=").is_some() && body.contains("->") {
            self.matching(body)
        } else if let Some(answer) = true_false_word(body) {
            Ok(self.true_false(body, answer))
        } else {
            self.short(body)
        }
    }

    fn choice(&self, body: &str) -> Result<Kind, Vec<Found>> {
        let (lead, items) = split_plain(body, b"=~");
        let mut found = Vec::new();
        if !lead.trim().is_empty() {
            found.push((
                self.source.line_of(lead),
                "text before the first option: start every option with = (the right one) or ~ \
                 (a wrong one)"
                    .to_owned(),
            ));
        }
        // As Moodle: an `=` anywhere makes a one-answer question; without one, the weighted
        // options make a multiple-answer question ("choose all that apply").
        let single = find_plain(body, "=").is_some();
        let mut options = Vec::with_capacity(items.len());
        let mut feedback = Vec::with_capacity(items.len());
        let mut credit = Vec::with_capacity(items.len());
        let mut right = Vec::new();
        for &(marker, item) in &items {
            let line = self.source.line_of(item);
            let (weight, rest) = weight(item);
            let fraction = match (marker, weight) {
                (b'=', None) => 1.0,
                (_, None) => 0.0,
                (_, Some(percent)) if !(-100.0..=100.0).contains(&percent) => {
                    found.push((
                        line,
                        format!(
                            "a weight of {percent}%: weights go from -100% to 100%, like ~%50%"
                        ),
                    ));
                    continue;
                }
                (b'=', Some(percent)) if percent != 100.0 => {
                    self.warnings.borrow_mut().push((
                        line,
                        format!(
                            "=%{percent}% is read as an option worth {percent}%; Moodle gives an \
                             option after = full marks and shows %{percent}% in its text: write \
                             ~%{percent}% to mean the same in both"
                        ),
                    ));
                    percent / 100.0
                }
                (_, Some(percent)) => percent / 100.0,
            };
            let (answer, comment) = split_feedback(rest);
            let option = self.answer(answer);
            if option.is_empty() && marker == b'~' && comment.trim().is_empty() {
                // Moodle drops an empty wrong option: `~=right` is a slip for `=right`.
                continue;
            }
            if option.is_empty() {
                found.push((
                    line,
                    format!(
                        "an option after {} is empty: write its text, or remove the {0}",
                        char::from(marker)
                    ),
                ));
                continue;
            }
            if full_credit(fraction) {
                right.push((options.len(), line));
            }
            options.push(option);
            feedback.push(self.feedback(comment));
            credit.push(fraction);
        }
        // Moodle refuses a multiple-answer question whose right options do not add up to the
        // whole mark (rounded to 1%), as it refuses a one-answer question with none right.
        let total: f64 = credit.iter().filter(|&&c| c > 0.0).sum();
        let adds_up = ((total * 100.0).round() - 100.0).abs() < 0.5;
        if found.is_empty() && !self.skipping() {
            if options.len() < 2 {
                found.push((
                    self.block_line,
                    "a multiple-choice question needs at least 2 options".to_owned(),
                ));
            } else if options.len() > MAX_OPTIONS {
                found.push((
                    self.block_line,
                    format!("a question has at most {MAX_OPTIONS} options (a to z)"),
                ));
            } else if right.is_empty() && (single || total <= 0.0) {
                found.push((
                    self.block_line,
                    if single {
                        "no option is worth full marks: mark the right one with = alone (no weight)"
                    } else {
                        "no right option: mark the right one with = and the wrong ones with ~"
                    }
                    .to_owned(),
                ));
            } else if !single && !adds_up {
                // Moodle's import takes it, with a notice; its editor would not let it be
                // saved. Choosing every right option then gives that much of the mark.
                self.warnings.borrow_mut().push((
                    self.block_line,
                    format!(
                        "the weights of the right options add up to {}%, not 100%: choosing them \
                         all gives {} of the mark (Moodle's editor asks for 100%)",
                        (total * 10_000.0).round() / 100.0,
                        Marks::of_fraction(total)
                    ),
                ));
            }
        }
        if !found.is_empty() || self.skipping() {
            return Err(found);
        }
        if feedback.iter().all(Option::is_none) {
            feedback.clear();
        }
        if !single {
            return Ok(Kind::Multiple {
                options,
                credit,
                feedback,
            });
        }
        let Some(&(correct, _)) = right.first() else {
            return Err(found);
        };
        // Two `=` options: Moodle makes each full marks in a one-answer question. Credit is
        // kept only where an option is worth part of the mark; a penalty in a one-answer
        // question scores nothing (quizd never takes marks below zero).
        let also_right = right.iter().skip(1).map(|&(index, _)| index).collect();
        if let Some(&penalty) = credit.iter().find(|&&c| c < 0.0) {
            self.warnings.borrow_mut().push((
                self.block_line,
                format!(
                    "a penalty ({}%) in a one-answer question scores 0 in quizd; Moodle takes it \
                     off the quiz's total",
                    penalty * 100.0
                ),
            ));
        }
        if !credit.iter().any(|&c| Marks::of_fraction(c).is_partial()) {
            credit.clear();
        }
        Ok(Kind::Choice {
            options,
            correct,
            also_right,
            feedback,
            credit,
        })
    }

    /// `{=France -> Paris =Italy -> Rome = -> Madrid}`: items and the answer each goes with;
    /// an item left empty adds a wrong answer, as in Moodle.
    fn matching(&self, body: &str) -> Result<Kind, Vec<Found>> {
        let (lead, pairs) = split_plain(body, b"=");
        // Checked before any pair is read: each answer is compared with those before it.
        if pairs.len() > MAX_ANSWERS {
            return Err(vec![(
                self.block_line,
                format!(
                    "a matching question has at most {MAX_OPTIONS} items and {MAX_OPTIONS} answers (a to z)"
                ),
            )]);
        }
        let mut found = Vec::new();
        if !lead.trim().is_empty() {
            found.push((
                self.source.line_of(lead),
                "text before the first pair: write each pair as =item -> answer".to_owned(),
            ));
        }
        let mut items = Vec::new();
        let mut choices: Vec<String> = Vec::new();
        let mut answers = Vec::new();
        for &(_, pair) in &pairs {
            let line = self.source.line_of(pair);
            let Some(at) = pair.find("->") else {
                found.push((
                    line,
                    "a pair without ->: in a matching question write each pair as =item -> answer"
                        .to_owned(),
                ));
                continue;
            };
            let (item, answer) = (&pair[..at], &pair[at + 2..]);
            // As Moodle: answers are compared and shown as written; items are rendered like
            // the question text.
            let answer = plain_answer(answer);
            if answer.is_empty() {
                found.push((line, "an answer after -> is empty: write it".to_owned()));
                continue;
            }
            let choice = match choices.iter().position(|known| *known == answer) {
                Some(known) => known,
                None => {
                    choices.push(answer);
                    choices.len() - 1
                }
            };
            let item = self.answer(item);
            if !item.is_empty() {
                items.push(item);
                answers.push(u8::try_from(choice).unwrap_or(u8::MAX));
            }
        }
        if found.is_empty() {
            if items.len() < 2 {
                found.push((
                    self.block_line,
                    "a matching question needs at least 2 pairs, like {=France -> Paris =Italy -> Rome}"
                        .to_owned(),
                ));
            } else if items.len() > MAX_OPTIONS || choices.len() > MAX_OPTIONS {
                found.push((
                    self.block_line,
                    format!("a matching question has at most {MAX_OPTIONS} items and {MAX_OPTIONS} answers (a to z)"),
                ));
            }
        }
        if found.is_empty() {
            Ok(Kind::Matching {
                items,
                choices,
                answers,
            })
        } else {
            Err(found)
        }
    }

    /// `{T}`, `{FALSE#feedback if wrong#feedback if right}`.
    fn true_false(&self, body: &str, answer: bool) -> Kind {
        // As Moodle: the first `#` starts the feedback for a wrong answer, the second the one
        // for a right answer (which keeps any further `#`).
        let (_, comments) = split_feedback(body);
        let (wrong, right) = split_feedback(comments);
        Kind::TrueFalse {
            answer,
            right_feedback: self.feedback(right),
            wrong_feedback: self.feedback(wrong),
        }
    }

    /// `{=Paris =paris#Right}`, `{Paris}`, `{=Paris =%0%Lyon#No, that is... =%0%*#Any other}`.
    fn short(&self, body: &str) -> Result<Kind, Vec<Found>> {
        self.few_answers(body)?;
        let mut found = Vec::new();
        let mut answers = Vec::new();
        let mut otherwise = None;
        for item in answer_items(body) {
            let line = self.source.line_of(item);
            let Some((right, rest)) = self.credit(item, line, &mut found) else {
                continue;
            };
            let (answer, comment) = split_feedback(rest);
            // Compared as written, as Moodle compares them: never rendered as HTML, so
            // `vector<int>` and `<stdio.h>` stay what the student types.
            let text = plain_answer(answer);
            if !text.is_empty() && text.trim_matches('*').is_empty() {
                self.catch_all(right, line, comment, &mut otherwise, &mut found);
            } else if text.is_empty() {
                found.push((
                    line,
                    "an answer after = is empty: write it, or remove the =".to_owned(),
                ));
            } else if let Some(first) = {
                let key = normalise(&text);
                answers.iter().find(|known: &&ShortAnswer| known.key == key)
            } {
                // Moodle accepts a second copy and grades by the first. One marked the other
                // way could never count (=%0%DNS ... =DNS grades DNS wrong): a mistake. One
                // with other feedback is worth a word.
                if first.credit != right {
                    found.push((
                        line,
                        format!(
                            "the answer {} is already given above marked the other way (answers ignore case and spaces), and the first one counts: remove one",
                            shorten(&text)
                        ),
                    ));
                } else if first.feedback != self.feedback(comment) {
                    self.warnings.borrow_mut().push((
                        line,
                        format!(
                            "the answer {} is given above already (answers ignore case and spaces) with other feedback; the first one's is shown, as in Moodle",
                            shorten(&text)
                        ),
                    ));
                }
            } else {
                answers.push(ShortAnswer {
                    key: normalise(&text),
                    text,
                    credit: right,
                    feedback: self.feedback(comment),
                });
            }
        }
        if found.is_empty() && !self.skipping() && !answers.iter().any(ShortAnswer::right) {
            found.push((
                self.block_line,
                "no right answer: write each accepted answer after =, like {=Paris =Paris, \
                 France}"
                    .to_owned(),
            ));
        }
        if found.is_empty() {
            Ok(Kind::Short { answers, otherwise })
        } else {
            Err(found)
        }
    }

    /// `{#3.14:0.01}`, `{#1..5}`, `{#=1822 #Yes =%0%1823 #Off by one ~#Look it up}`; `body` is
    /// what follows the `#`.
    fn numeric(&self, body: &str) -> Result<Kind, Vec<Found>> {
        let mut found = Vec::new();
        let mut otherwise = None;
        let numbers = match find_plain(body, "~") {
            Some(at) => {
                let wrong = &body[at + 1..];
                let (head, comment) = split_feedback(wrong);
                if head.trim().is_empty() {
                    otherwise = self.feedback(comment);
                } else {
                    found.push((
                        self.source.line_of(wrong),
                        "in a numeric question ~ only gives the feedback for any other number, \
                         as ~#feedback after the answers; write every accepted number after ="
                            .to_owned(),
                    ));
                }
                &body[..at]
            }
            None => body,
        };
        self.few_answers(numbers)?;
        let mut answers = Vec::new();
        for item in answer_items(numbers) {
            let line = self.source.line_of(item);
            let Some((right, rest)) = self.credit(item, line, &mut found) else {
                continue;
            };
            let (spec, comment) = split_feedback(rest);
            let spec = spec.trim();
            if spec == "*" {
                self.catch_all(right, line, comment, &mut otherwise, &mut found);
                continue;
            }
            match number_spec(spec) {
                // Numbers are graded by the first answer that accepts them, so an answer worth
                // less that overlaps a later one would grade part of its range down (a looser
                // range for part of the mark after the exact one is what teachers mean).
                Ok((min, max, _))
                    if answers.iter().any(|known: &NumericAnswer| {
                        known.credit < right && known.min <= max && min <= known.max
                    }) =>
                {
                    found.push((
                        line,
                        format!(
                            "{} overlaps an answer above worth less, and numbers in both are graded by the first: make the ranges apart, or put this one first",
                            shorten(spec)
                        ),
                    ));
                }
                Ok((min, max, shown)) => answers.push(NumericAnswer {
                    min,
                    max,
                    credit: right,
                    feedback: self.feedback(comment),
                    shown,
                }),
                Err(message) => found.push((line, message)),
            }
        }
        if found.is_empty() && !self.skipping() && !answers.iter().any(|a| full_credit(a.credit)) {
            found.push((
                self.block_line,
                "no right number: write it after the #, like {#42}, {#3.14:0.01} (give or take \
                 0.01) or {#1..5} (any number from 1 to 5)"
                    .to_owned(),
            ));
        }
        if found.is_empty() {
            Ok(Kind::Numeric { answers, otherwise })
        } else {
            Err(found)
        }
    }

    /// The fraction of the mark a short or numeric answer gives: right (`=`, `=%100%`), a
    /// known wrong answer (`=%0%`; a penalty is worth nothing too, as quizd never takes marks
    /// below zero), or partial credit (`=%50%`), and the rest of it. A weight above 100% is
    /// a mistake.
    fn credit<'i>(
        &self,
        item: &'i str,
        line: u32,
        found: &mut Vec<Found>,
    ) -> Option<(f64, &'i str)> {
        match weight(item) {
            (None, rest) => Some((1.0, rest)),
            (Some(percent), _) if percent > 100.0 => {
                found.push((
                    line,
                    format!("a weight of {percent}%: an answer is worth at most 100%"),
                ));
                None
            }
            (Some(percent), rest) => Some(((percent / 100.0).max(0.0), rest)),
        }
    }

    /// `=%0%*#feedback`: the feedback for any answer the question does not list.
    fn catch_all(
        &self,
        credit: f64,
        line: u32,
        comment: &str,
        otherwise: &mut Option<String>,
        found: &mut Vec<Found>,
    ) {
        if credit > 0.0 {
            found.push((
                line,
                "* (any answer) cannot be right: write it as =%0%*#feedback, for the feedback \
                 to any other answer"
                    .to_owned(),
            ));
        } else if otherwise.is_some() {
            found.push((
                line,
                "a second feedback for any other answer: keep one".to_owned(),
            ));
        } else {
            *otherwise = self.feedback(comment);
        }
    }
}

/// Whether `text` (after a question's first block) holds another block of embedded answers.
fn has_embedded_block(text: &str) -> bool {
    let mut rest = text;
    while let Some(at) = find_plain(rest, "{") {
        let inner = &rest[at + 1..];
        let end = find_plain(inner, "}").unwrap_or(inner.len());
        if is_embedded(inner[..end].trim()) {
            return true;
        }
        // Past this block's `}` (or the end).
        rest = inner.get(end + 1..).unwrap_or("");
    }
    false
}

/// Moodle's embedded answers (cloze) inside a block: `1:MULTICHOICE:...`, `:SA:...`.
fn is_embedded(body: &str) -> bool {
    let rest = body.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    let kind_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_uppercase() || *b == b'_')
        .count();
    kind_len > 0 && rest[kind_len..].starts_with(':')
}

/// The answers of a short-answer or numeric block: text before the first `=` (Moodle takes it
/// as an answer too, so `{Paris}` works) and each `=` answer.
fn answer_items(body: &str) -> impl Iterator<Item = &str> {
    let (lead, items) = split_plain(body, b"=");
    let lead = (!lead.trim().is_empty()).then_some(lead);
    lead.into_iter()
        .chain(items.into_iter().map(|(_, item)| item))
}

/// `T`, `TRUE`, `F`, `FALSE` (any case) before any feedback: a true/false question.
fn true_false_word(body: &str) -> Option<bool> {
    let (word, _) = split_feedback(body);
    let word = word.trim();
    if ["t", "true"].iter().any(|w| word.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if ["f", "false"].iter().any(|w| word.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

/// A numeric answer: `42`, `3.14:0.01` (give or take), `1..5` (a range). Returns the smallest
/// and largest number accepted and how a verdict names the answer.
fn number_spec(spec: &str) -> Result<(f64, f64, String), String> {
    if let Some(at) = spec.find("..").filter(|&at| at > 0) {
        let (low, high) = (spec[..at].trim(), spec[at + 2..].trim());
        let (min, max) = (bank_number(low)?, bank_number(high)?);
        if min > max {
            return Err(format!(
                "the range {} runs backwards: write the smaller number first ({}..{})",
                shorten(spec),
                shorten(high),
                shorten(low)
            ));
        }
        Ok((min, max, format!("any number from {low} to {high}")))
    } else if let Some(at) = spec.find(':').filter(|&at| at > 0) {
        let (value, margin) = (spec[..at].trim(), spec[at + 1..].trim());
        let (center, tolerance) = (bank_number(value)?, bank_number(margin)?);
        if tolerance < 0.0 {
            return Err(format!(
                "the margin in {} is negative: write how far off an answer may be, like \
                 {}:{}",
                shorten(spec),
                shorten(value),
                shorten(margin.trim_start_matches('-'))
            ));
        }
        let shown = if tolerance == 0.0 {
            value.to_owned()
        } else {
            format!("{value} (+/- {margin})")
        };
        Ok((center - tolerance, center + tolerance, shown))
    } else {
        let value = bank_number(spec)?;
        Ok((value, value, spec.to_owned()))
    }
}

/// A number written in a bank: what Rust reads as a finite f64 (`42`, `-2`, `3.14`, `1e3`).
fn bank_number(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err(
            "a number is missing: write {#42}, {#3.14:0.01} or {#1..5} (see the README)".into(),
        );
    }
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ if text.contains(',') => Err(format!(
            "\"{}\" is not a number: write the decimal point as . (like 3.14); students may \
             type either",
            shorten(text)
        )),
        _ => Err(format!(
            "\"{}\" is not a number: write numbers like 42, -2, 3.14 or 1e3",
            shorten(text)
        )),
    }
}

/// `%100%`, `%0%`, `%-50%`, `%33.3%` at the start of an answer (as Moodle's
/// `/^%\-*([0-9]{1,2})\.?([0-9]*)%/`, without its digit limit), and the rest. Text that starts
/// with `%` but is no weight (`{=%}`) is left as answer text, as Moodle does.
fn weight(item: &str) -> (Option<f64>, &str) {
    let trimmed = item.trim_start();
    let Some((number, rest)) = trimmed
        .strip_prefix('%')
        .and_then(|inner| inner.split_once('%'))
    else {
        return (None, item);
    };
    let digits = number.strip_prefix('-').unwrap_or(number);
    let shaped = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
    match number.parse::<f64>() {
        Ok(percent) if shaped => (Some(percent), rest),
        _ => (None, item),
    }
}

/// Splits an answer from its feedback at the first unescaped `#`.
fn split_feedback(item: &str) -> (&str, &str) {
    match find_plain(item, "#") {
        Some(at) => (&item[..at], &item[at + 1..]),
        None => (item, ""),
    }
}

/// Splits `text` at every unescaped byte in `markers`: the text before the first one, then
/// each marker and the text after it up to the next.
fn split_plain<'t>(text: &'t str, markers: &[u8]) -> (&'t str, Vec<(u8, &'t str)>) {
    let bytes = text.as_bytes();
    let cuts: Vec<usize> = plain_offsets(text)
        .filter(|&at| markers.contains(&bytes[at]))
        .collect();
    let lead = &text[..cuts.first().copied().unwrap_or(text.len())];
    let items = cuts
        .iter()
        .enumerate()
        .map(|(n, &at)| {
            let end = cuts.get(n + 1).copied().unwrap_or(text.len());
            (bytes[at], &text[at + 1..end])
        })
        .collect();
    (lead, items)
}

/// Byte offsets of the characters of `text` that are neither escaped nor an escaping
/// backslash. Offsets inside multi-byte characters are included, but only ever compared with
/// ASCII, so every match is at a character boundary.
fn plain_offsets(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let &byte = bytes.get(at)?;
            if byte == b'\\'
                && bytes
                    .get(at + 1)
                    .is_some_and(|next| ESCAPABLE.contains(next))
            {
                at += 2;
                continue;
            }
            at += 1;
            return Some(at - 1);
        }
    })
}

/// Whether the escapable character at `at` is escaped: a backslash escapes it when the run of
/// backslashes right before it is odd (each pair being one escaped backslash). This is what
/// [`plain_offsets`] decides, found from the match backwards instead of from the start, so
/// searching can use the standard library's fast substring search.
fn is_escaped(text: &str, at: usize) -> bool {
    text.as_bytes()[..at]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// The first unescaped occurrence of the ASCII `pattern` (starting with an escapable
/// character) in `text`.
fn find_plain(text: &str, pattern: &str) -> Option<usize> {
    // Occurrences may overlap (`\:::`): search again from the next byte, not past the match.
    let mut from = 0;
    while let Some(found) = text.get(from..)?.find(pattern) {
        let at = from + found;
        if !is_escaped(text, at) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The last unescaped occurrence of the ASCII `pattern` in `text`.
fn rfind_plain(text: &str, pattern: &str) -> Option<usize> {
    let mut to = text.len();
    while let Some(at) = text.get(..to)?.rfind(pattern) {
        if !is_escaped(text, at) {
            return Some(at);
        }
        to = at + pattern.len() - 1;
    }
    None
}

/// Where the first unescaped brace of `text` is.
fn first_brace_at(text: &str) -> Option<usize> {
    text.match_indices(['{', '}'])
        .map(|(at, _)| at)
        .find(|&at| !is_escaped(text, at))
}

/// The first unescaped brace of `text`: `{` or `}`.
fn first_brace(text: &str) -> Option<u8> {
    first_brace_at(text).map(|at| text.as_bytes()[at])
}

/// Resolves GIFT escapes; a backslash before any other character is a backslash.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && next.is_ascii()
            && ESCAPABLE.contains(&(next as u8))
        {
            out.push(if next == 'n' { '\n' } else { next });
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// Question or feedback text as shown: its format marker read (`default` without one),
/// escapes resolved, HTML or Markdown rendered as terminal text, each line trimmed. Images it
/// names are added to `images`. Returns the text and how it was written.
fn render_text(raw: &str, default: Markup, media: &mut Media) -> (String, Markup) {
    let trimmed = raw.trim();
    let (markup, body) = FORMAT_MARKERS
        .iter()
        .find_map(|&(marker, markup)| trimmed.strip_prefix(marker).map(|rest| (markup, rest)))
        .unwrap_or((default, trimmed));
    let text = media.keep(markup::render(&unescape(body), markup));
    let lines: Vec<&str> = text.split('\n').map(str::trim).collect();
    (lines.join("\n").trim().to_owned(), markup)
}

/// A short answer as written: its format marker dropped, escapes resolved, one line; no
/// rendering.
fn plain_answer(raw: &str) -> String {
    let trimmed = raw.trim();
    let body = FORMAT_MARKERS
        .iter()
        .find_map(|&(marker, _)| trimmed.strip_prefix(marker))
        .unwrap_or(trimmed);
    let text = unescape(body);
    let lines: Vec<&str> = text.split('\n').map(str::trim).collect();
    lines.join(" ").trim().to_owned()
}

/// Text as shown, read as Moodle's default format (no marker: HTML only if it looks like it).
fn clean_text(raw: &str) -> String {
    render_text(raw, Markup::Moodle, &mut Media::default()).0
}

/// An option, answer or title: one line on screen, so line breaks become spaces.
fn clean_answer(raw: &str) -> String {
    clean_text(raw).replace('\n', " ")
}

/// Bank text quoted in a problem message: what the file holds can reach a terminal (`--check`,
/// start-up errors, the console), so control characters and escape sequences are dropped, line
/// breaks become spaces, and it is cut at 40 characters.
fn shorten(text: &str) -> String {
    crate::bank::quote(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Vec<Question>, Vec<crate::bank::Problem>> {
        parse(&Arc::from("net.gift"), text, Problems::default())
            .map(|parsed| parsed.questions)
            .map_err(Problems::into_vec)
    }

    /// How many questions were read, and the warnings (line and message).
    fn warned(text: &str) -> (usize, Vec<(u32, String)>) {
        let parsed = parse(&Arc::from("net.gift"), text, Problems::default())
            .unwrap_or_else(|problems| panic!("unexpected problems: {:#?}", problems.into_vec()));
        let warnings = parsed
            .notes
            .warnings()
            .into_iter()
            .map(|p| (p.line, p.message))
            .collect();
        (parsed.questions.len(), warnings)
    }

    fn questions(text: &str) -> Vec<Question> {
        parse_str(text).unwrap_or_else(|problems| {
            let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("unexpected problems:\n{}", messages.join("\n"))
        })
    }

    fn question(text: &str) -> Question {
        let mut all = questions(text);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    fn problems(text: &str) -> Vec<String> {
        match parse_str(text) {
            Ok(questions) => panic!("expected problems, got {questions:#?}"),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    /// The one problem of a one-question bank, without the `net.gift:LINE: ` prefix.
    fn problem(text: &str) -> (u32, String) {
        match parse_str(text) {
            Ok(questions) => panic!("expected a problem, got {questions:#?}"),
            Err(problems) => {
                assert_eq!(problems.len(), 1, "{problems:#?}");
                (problems[0].line, problems[0].message.clone())
            }
        }
    }

    fn choice(question: &Question) -> (Vec<&str>, usize, Vec<Option<&str>>) {
        let Kind::Choice {
            options,
            correct,
            feedback,
            ..
        } = &question.kind
        else {
            panic!("multiple choice: {question:#?}")
        };
        (
            options.iter().map(String::as_str).collect(),
            *correct,
            feedback.iter().map(Option::as_deref).collect(),
        )
    }

    fn true_false(question: &Question) -> (bool, Option<&str>, Option<&str>) {
        let Kind::TrueFalse {
            answer,
            right_feedback,
            wrong_feedback,
        } = &question.kind
        else {
            panic!("true/false: {question:#?}")
        };
        (
            *answer,
            right_feedback.as_deref(),
            wrong_feedback.as_deref(),
        )
    }

    /// Each known answer as (text, key, right, feedback), and the feedback for any other.
    #[allow(clippy::type_complexity)]
    fn short(question: &Question) -> (Vec<(&str, &str, bool, Option<&str>)>, Option<&str>) {
        let Kind::Short { answers, otherwise } = &question.kind else {
            panic!("short answer: {question:#?}")
        };
        let answers = answers
            .iter()
            .map(|a| {
                (
                    a.text.as_str(),
                    a.key.as_str(),
                    a.right(),
                    a.feedback.as_deref(),
                )
            })
            .collect();
        (answers, otherwise.as_deref())
    }

    /// Each known answer as (min, max, right, feedback, shown), and the feedback for any other.
    #[allow(clippy::type_complexity)]
    fn numeric(question: &Question) -> (Vec<(f64, f64, bool, Option<&str>, &str)>, Option<&str>) {
        let Kind::Numeric { answers, otherwise } = &question.kind else {
            panic!("numeric: {question:#?}")
        };
        let answers = answers
            .iter()
            .map(|a| {
                (
                    a.min,
                    a.max,
                    a.right(),
                    a.feedback.as_deref(),
                    a.shown.as_str(),
                )
            })
            .collect();
        (answers, otherwise.as_deref())
    }

    #[test]
    fn a_short_answer_listed_twice_loads_as_in_moodle() {
        let twice = question("Is it? {=It is =it is}");
        assert_eq!(short(&twice).0.len(), 1, "the first one counts");
        question("OK? {=yes =yes}");
        assert_eq!(
            warned("Q? {=yes#Good. =yes#Great!}").1,
            vec![(
                1,
                "the answer yes is given above already (answers ignore case and spaces) with \
                 other feedback; the first one's is shown, as in Moodle"
                    .into()
            )]
        );
    }

    #[test]
    fn an_answer_an_earlier_one_would_always_match_first_is_a_problem() {
        let shadowed = problems("Q? {=%0%dns#no =DNS}");
        assert_eq!(shadowed.len(), 1, "{shadowed:?}");
        assert!(
            shadowed[0].starts_with(
                "net.gift:1: the answer DNS is already given above marked the other way"
            ),
            "{shadowed:?}"
        );
        let overlap = problems("Q? {#=%0%5 =5:1}");
        assert_eq!(overlap.len(), 1, "{overlap:?}");
        assert!(
            overlap[0].contains("overlaps an answer above"),
            "{overlap:?}"
        );
        // Ranges marked the same way may overlap; apart, right and wrong are fine.
        question("Q? {#=1..5 =4..6}");
        question("Q? {#=%0%1..2 =3..4}");
    }

    #[test]
    fn reads_a_bank_mixing_every_kind_with_titles_comments_and_a_category() {
        let qs = questions(
            "\
// Networks, week 3.
$CATEGORY: $course$/networks

::Port::Which port does HTTPS use by default? {
    ~80   # That is plain HTTP.
    =443
    ~8080
}

// True/false with feedback for a wrong and a right answer.
::UDP:: UDP retransmits lost datagrams.{F#No: UDP leaves that to the application.#Right.}

::DNS:: What does DNS stand for? {=Domain Name System =domain  name service#Close enough.}

::Handshake:: How many segments open a TCP connection?{#3}
",
        );
        assert_eq!(qs.len(), 4);
        assert_eq!(
            qs.iter().map(|q| q.line).collect::<Vec<_>>(),
            [4, 11, 13, 15]
        );
        assert_eq!(
            qs.iter().map(|q| q.title.as_deref()).collect::<Vec<_>>(),
            [Some("Port"), Some("UDP"), Some("DNS"), Some("Handshake")]
        );
        assert!(qs.iter().all(|q| &*q.file == "net.gift"));
        assert_eq!(qs[0].text, "Which port does HTTPS use by default?");
        assert_eq!(
            choice(&qs[0]),
            (
                vec!["80", "443", "8080"],
                1,
                vec![Some("That is plain HTTP."), None, None]
            )
        );
        assert_eq!(qs[1].text, "UDP retransmits lost datagrams.");
        assert_eq!(
            true_false(&qs[1]),
            (
                false,
                Some("Right."),
                Some("No: UDP leaves that to the application.")
            )
        );
        assert_eq!(
            short(&qs[2]),
            (
                vec![
                    ("Domain Name System", "domain name system", true, None),
                    (
                        "domain  name service",
                        "domain name service",
                        true,
                        Some("Close enough.")
                    ),
                ],
                None
            )
        );
        assert_eq!(numeric(&qs[3]), (vec![(3.0, 3.0, true, None, "3")], None));
    }

    #[test]
    fn a_question_and_its_block_may_span_lines() {
        let q =
            question("::Code::\nWhat does this print?\nprint(len(\"abc\"))\n{\n#\n=3 # Yes.\n}\n");
        assert_eq!(q.text, "What does this print?\nprint(len(\"abc\"))");
        assert_eq!(q.line, 1);
        assert_eq!(numeric(&q).0, vec![(3.0, 3.0, true, Some("Yes."), "3")]);
    }

    #[test]
    fn text_after_the_block_makes_a_missing_word_question() {
        let q = question("The {~UDP =TCP ~ICMP} protocol guarantees ordered delivery.\n");
        assert_eq!(q.text, "The _____ protocol guarantees ordered delivery.");
        assert_eq!(choice(&q).1, 1);
        let q = question("::MW::Port {\n=22\n} is SSH's.\n");
        assert_eq!(q.text, "Port _____ is SSH's.");
        let q = question("{=ping} sends ICMP echo requests.");
        assert_eq!(q.text, "_____ sends ICMP echo requests.");
    }

    #[test]
    fn escapes_write_special_characters_and_line_breaks() {
        let q = question(
            "::a\\:b:: In C\\#, is 1 \\= 1 \\{always\\} \\~true\\~?\\nThink \\\\ twice. {\n\
             =yes \\# indeed # Right\\: it \\= 1.\n~no\\{\n}",
        );
        assert_eq!(q.title.as_deref(), Some("a:b"));
        assert_eq!(q.text, "In C#, is 1 = 1 {always} ~true~?\nThink \\ twice.");
        assert_eq!(
            choice(&q),
            (
                vec!["yes # indeed", "no{"],
                0,
                vec![Some("Right: it = 1."), None]
            )
        );
        // A backslash before anything else is a backslash; `\\{` is a backslash and a brace.
        let q = question("Path C:\\temp\\\\{=ok}");
        assert_eq!(q.text, "Path C:\\temp\\");
    }

    #[test]
    fn a_line_break_in_an_option_or_answer_becomes_a_space() {
        let q = question("Q? {=one\\ntwo ~three}");
        assert_eq!(choice(&q).0, ["one two", "three"]);
    }

    #[test]
    fn format_markers_say_how_text_is_written_and_it_is_shown_as_terminal_text() {
        // Answers and feedback without a marker are written as the question text is.
        let q = question(
            "::T::[markdown]Is *this* bold? {=[plain]no *really* #[html]<b>not</b>&nbsp;here ~**yes**}",
        );
        assert_eq!(q.text, "Is this bold?");
        assert_eq!(choice(&q).0, ["no *really*", "yes"]);
        assert_eq!(choice(&q).2, [Some("not here"), None]);
        let q = question("[html]<p>Hi</p>{T}");
        assert_eq!(q.text, "Hi");
        // What Moodle's export writes: HTML and entities with no marker in the answers.
        let q = question(
            "::Q1::[html]<p>Which is &quot;secure&quot;?</p>{\n\t~<p>HTTP</p>\n\t=<p>HTTPS</p>#<p>Yes: TLS.</p>\n}",
        );
        assert_eq!(q.text, "Which is \"secure\"?");
        assert_eq!(choice(&q).0, ["HTTP", "HTTPS"]);
        assert_eq!(choice(&q).2, [None, Some("Yes: TLS.")]);
        // Only Moodle's four names are markers.
        let q = question("[note] Q? {T}");
        assert_eq!(q.text, "[note] Q?");
    }

    #[test]
    fn an_image_is_named_in_the_text_and_the_question_gets_a_warning() {
        let text = "[html]<p>Which animal? <img src=\"@@PLUGINFILE@@/cat.jpg\" alt=\"a cat\"></p>{=cat ~dog}";
        let parsed = parse(&Arc::from("net.gift"), text, Problems::default()).expect("loads");
        assert_eq!(parsed.questions[0].text, "Which animal? [image: a cat]");
        assert_eq!(
            warned(text).1,
            vec![(
                1,
                "needs an image a terminal cannot show (a cat); students see [image: ...] in its place"
                    .into()
            )]
        );
    }

    #[test]
    fn true_false_in_any_case_with_feedback_for_wrong_then_right() {
        for (block, answer) in [
            ("{T}", true),
            ("{TRUE}", true),
            ("{true}", true),
            ("{ F }", false),
            ("{FALSE}", false),
            ("{false}", false),
        ] {
            let q = question(&format!("Q? {block}"));
            assert_eq!(true_false(&q), (answer, None, None), "{block}");
        }
        let q = question("Q? {TRUE#Wrong: it is.#Right: it is.####Both see this.}");
        assert_eq!(
            true_false(&q),
            (true, Some("Right: it is."), Some("Wrong: it is."))
        );
        assert_eq!(q.feedback.as_deref(), Some("Both see this."));
        let q = question("Q? {T##Only when right.}");
        assert_eq!(true_false(&q), (true, Some("Only when right."), None));
    }

    #[test]
    fn short_answers_take_a_bare_answer_weights_0_and_100_and_a_catch_all() {
        assert_eq!(
            short(&question("Capital of France? {Paris}")).0,
            vec![("Paris", "paris", true, None)]
        );
        let q = question(
            "Capital of France? {\n=%100%Paris\n=%0%Lyon # Second city.\n=%0%*#Look at a map.\n}",
        );
        assert_eq!(
            short(&q),
            (
                vec![
                    ("Paris", "paris", true, None),
                    ("Lyon", "lyon", false, Some("Second city."))
                ],
                Some("Look at a map.")
            )
        );
        // `%` alone is an answer, not a weight (as in Moodle).
        assert_eq!(
            short(&question("Modulo in C? {=%}")).0,
            vec![("%", "%", true, None)]
        );
    }

    #[test]
    fn numeric_answers_as_value_margin_range_and_several_with_feedback() {
        assert_eq!(
            numeric(&question("g in m/s²? {#9.81:0.01}")).0,
            vec![(9.81 - 0.01, 9.81 + 0.01, true, None, "9.81 (+/- 0.01)")]
        );
        assert_eq!(
            numeric(&question("1 to 5? {#1..5}")).0,
            vec![(1.0, 5.0, true, None, "any number from 1 to 5")]
        );
        assert_eq!(
            numeric(&question("Below zero? {#-5..-1}")).0,
            vec![(-5.0, -1.0, true, None, "any number from -5 to -1")]
        );
        let q = question(
            "When was TCP's RFC 793 published? {#\n\
             =1981 # Yes, September 1981.\n\
             =%0%1980:0 # A year early.\n\
             ~# It came out in the early 1980s.\n}",
        );
        assert_eq!(
            numeric(&q),
            (
                vec![
                    (1981.0, 1981.0, true, Some("Yes, September 1981."), "1981"),
                    (1980.0, 1980.0, false, Some("A year early."), "1980"),
                ],
                Some("It came out in the early 1980s.")
            )
        );
        assert_eq!(
            numeric(&question("Kilo? {#1e3 =%0%*#Think powers of ten.}")),
            (
                vec![(1000.0, 1000.0, true, None, "1e3")],
                Some("Think powers of ten.")
            )
        );
    }

    #[test]
    fn reads_what_moodles_own_gift_export_writes() {
        let qs = questions(
            "\
// question: 0  name: Switch category to $course$/Default
$CATEGORY: $course$/Default


// question: 41  name: tf
::tf::[html]<p>The sky is blue.</p>{TRUE#wrong#right}


// question: 42  name: sa
::sa::[html]Name a primary colour.{
\t=%100%red#
\t=%100%blue#yes
}


// question: 43  name: num
::num::[html]Two plus two?{#
\t=%100%4:0#
\t~#no
\t####Count on your fingers.
}
",
        );
        assert_eq!(qs.len(), 3);
        assert_eq!(true_false(&qs[0]), (true, Some("right"), Some("wrong")));
        assert_eq!(
            short(&qs[1]).0,
            vec![
                ("red", "red", true, None),
                ("blue", "blue", true, Some("yes"))
            ]
        );
        assert_eq!(
            numeric(&qs[2]),
            (vec![(4.0, 4.0, true, None, "4")], Some("no"))
        );
        assert_eq!(qs[2].feedback.as_deref(), Some("Count on your fingers."));
    }

    #[test]
    fn comments_anywhere_and_comment_only_blocks_are_skipped() {
        let qs = questions(
            "// only a comment\n// and another\n\n// before\nQ1? {\n// inside\n=a ~b\n}\n// after\n\n\n$CATEGORY: x\n// y\n\nQ2? {T}",
        );
        assert_eq!(
            qs.iter()
                .map(|q| (q.text.as_str(), q.line))
                .collect::<Vec<_>>(),
            [("Q1?", 5), ("Q2?", 15)]
        );
        assert_eq!(choice(&qs[0]).0, ["a", "b"]);
    }

    #[test]
    fn line_ends_and_a_bom_do_not_matter() {
        for text in [
            "\u{feff}Q1? {T}\r\n\r\nQ2?\r\n{=a\r\n~b}\r\n",
            "Q1? {T}\r\rQ2?\r{=a\r~b}",
        ] {
            let qs = questions(text);
            assert_eq!(qs.len(), 2, "{text:?}");
            assert_eq!((qs[1].text.as_str(), qs[1].line), ("Q2?", 3));
        }
    }

    #[test]
    fn general_feedback_goes_to_the_question() {
        let q = question("Q? {=a ~b ####See chapter 2.}");
        assert_eq!(q.feedback.as_deref(), Some("See chapter 2."));
        assert_eq!(choice(&q).0, ["a", "b"]);
        assert_eq!(
            choice(&q).2,
            Vec::<Option<&str>>::new(),
            "no option feedback"
        );
    }

    #[test]
    fn types_quizd_cannot_ask_are_skipped_with_a_warning_that_names_them() {
        // An essay is asked: recorded for the teacher to mark.
        let essay = question("Tell me. {\n####Be brief.\n}");
        assert!(essay.is_essay());
        assert_eq!(essay.feedback.as_deref(), Some("Be brief."));
        assert!(question("Tell me. {}").is_essay());
        assert_eq!(
            warned("Cloze: the {1:MULTICHOICE:=red~blue} car.").1,
            vec![(
                1,
                "skipped: embedded answers (cloze, {1:MULTICHOICE:...}), which quizd cannot ask \
                 in a terminal"
                    .into()
            )]
        );
    }

    #[test]
    fn a_question_with_several_embedded_answer_blocks_is_skipped_not_refused() {
        assert_eq!(
            warned("He is good {1:MC:~on~=at} tennis and keen {1:SA:=on} it.\n\nNext? {T}"),
            (
                1,
                vec![(
                    1,
                    "skipped: embedded answers (cloze, {1:MULTICHOICE:...}), which quizd cannot \
                     ask in a terminal"
                        .into()
                )]
            )
        );
    }

    #[test]
    fn short_answers_are_compared_as_written_never_rendered() {
        let q = question("[html]<p>Which type holds ints?</p>{=vector<int> =<stdio.h>}");
        let (answers, _) = short(&q);
        let texts: Vec<&str> = answers.iter().map(|a| a.0).collect();
        assert_eq!(texts, ["vector<int>", "<stdio.h>"]);
        assert!(q.grade("vector<int>", &[]).expect("graded").right());
        assert!(!q.grade("vector", &[]).expect("graded").right());
        // A run of stars alone is the catch-all, and cannot be right.
        assert_eq!(
            problem("Q? {=**}").1,
            "* (any answer) cannot be right: write it as =%0%*#feedback, for the feedback to \
             any other answer"
        );
        // At most 100 answers.
        let many: String = (0..101).map(|i| format!("=a{i} ")).collect();
        assert_eq!(
            problem(&format!("Q? {{{many}}}")).1,
            "a question has at most 100 answers"
        );
    }

    #[test]
    fn answers_with_their_braces_forgotten_are_a_description_with_a_warning() {
        let (count, warnings) =
            warned("Which port does HTTPS use? =443\n\nWhich transport? {=UDP ~TCP}");
        assert_eq!(count, 1);
        assert_eq!(
            warnings,
            vec![(
                1,
                "read as a description (text with no { } block), shown before the next \
                 question: if it is a question, put its answers in { }"
                    .into()
            )]
        );
    }

    #[test]
    fn a_description_is_shown_before_the_next_question() {
        let qs = questions(
            "Q1? {T}\n\n::Intro:: Read this first.\nThen answer.\n\n[html]<b>Part 2</b>\n\nQ2? {F}\n",
        );
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].text, "Q1?");
        assert_eq!(
            qs[1].text,
            "Read this first.\nThen answer.\n\nPart 2\n\nQ2?"
        );
        assert_eq!(
            warned("Q1? {T}\n\nThe end, thank you.\n"),
            (
                1,
                vec![(
                    3,
                    "a description with no question after it is not shown".into()
                )]
            )
        );
    }

    /// The marks one typed answer earns, as shown (`0.5`).
    fn marks(q: &Question, typed: &str) -> String {
        let lettering: Vec<u8> = (0..26).collect();
        q.grade(typed, &lettering)
            .expect("graded")
            .marks
            .to_string()
    }

    #[test]
    fn weighted_options_without_an_equals_make_a_multiple_answer_question_graded_as_moodle() {
        // Moodle's own example: two right options at 50%, penalties for the wrong ones.
        let q = question(
            "What two people are entombed in Grant's tomb? {\n~%-100%No one\n~%50%Grant\n~%50%Grant's wife\n~%-100%Grant's father\n}",
        );
        let Kind::Multiple {
            options, credit, ..
        } = &q.kind
        else {
            panic!("multiple answers: {q:?}");
        };
        assert_eq!(options.len(), 4);
        assert_eq!(credit, &[-1.0, 0.5, 0.5, -1.0]);
        // Sum of the chosen weights, between 0 and 1; any order, spaces or commas.
        assert_eq!(marks(&q, "b c"), "1");
        assert_eq!(marks(&q, "C,B"), "1");
        assert_eq!(marks(&q, "bc"), "1");
        assert_eq!(marks(&q, "b"), "0.5");
        assert_eq!(marks(&q, "b b"), "0.5", "a letter twice counts once");
        assert_eq!(
            marks(&q, "a b c"),
            "0",
            "a penalty takes it to zero, not below"
        );
        assert_eq!(marks(&q, "a"), "0");
        assert_eq!(
            q.right_answer(&[0, 1, 2, 3]).to_string(),
            "b) Grant, c) Grant's wife"
        );
        assert_eq!(
            q.grade("b e", &[0, 1, 2, 3]),
            Err("answer with the letters of every answer you choose, from a to d, like a c".into())
        );
        assert!(q.grade("", &[0, 1, 2, 3]).is_err());
        assert!(q.grade("b or c", &[0, 1, 2, 3]).is_err());
        // Full marks on one option and no `=` is still Moodle's multiple-answer question.
        let q = question("Q? {~%100%raised ~%-100%grew ~fell}");
        assert!(matches!(q.kind, Kind::Multiple { .. }));
        assert_eq!(marks(&q, "a"), "1");
        assert_eq!(marks(&q, "a b"), "0");
        // Weights that do not make the whole mark load as Moodle's import loads them, with a
        // warning: all the right ones give 0.9.
        let (served, warnings) = warned("Q? {\n~%50%a\n~%40%b\n~c\n}");
        assert_eq!(served, 1);
        assert_eq!(
            warnings,
            [(
                1,
                "the weights of the right options add up to 90%, not 100%: choosing them all \
                 gives 0.9 of the mark (Moodle's editor asks for 100%)"
                    .to_string()
            )]
        );
        assert!(
            problems("Q? {=%50%a ~%50%b}").iter().any(|p| p
                == "net.gift:1: no option is worth full marks: mark the right one with = alone (no weight)"),
            "{:?}",
            problems("Q? {=%50%a ~%50%b}")
        );
        // A matching block past the limit is refused before its pairs are read (a 1 MiB block
        // of pairs took half a minute when every answer was compared with those before it).
        let many: String = (0..50_000).map(|i| format!("=i{i} -> a{i}\n")).collect();
        let refused = problem(&format!("M? {{\n{many}}}"));
        assert!(
            refused
                .1
                .starts_with("a matching question has at most 26 items"),
            "{refused:?}"
        );
        // Within the answers read, past 26 items: the same limit, once they are read.
        let pairs: String = (0..27).map(|i| format!("=i{i} -> a{i}\n")).collect();
        let refused = problem(&format!("M? {{\n{pairs}}}"));
        assert!(
            refused
                .1
                .starts_with("a matching question has at most 26 items"),
            "{refused:?}"
        );
        let pairs: String = (0..26).map(|i| format!("=i{i} -> a{i}\n")).collect();
        assert!(matches!(
            question(&format!("M? {{\n{pairs}}}")).kind,
            Kind::Matching { .. }
        ));
        // Thirds written to Moodle's precision make the whole mark.
        let q = question("Q? {~%33.33333%a ~%33.33333%b ~%33.33333%c ~d}");
        assert_eq!(marks(&q, "a b c"), "1");
        assert_eq!(marks(&q, "a"), "0.33");
        assert_eq!(
            problem("Q? {=a ~%150%b}").1,
            "a weight of 150%: weights go from -100% to 100%, like ~%50%"
        );
    }

    #[test]
    fn partial_credit_in_one_answer_short_and_numeric_questions_is_given_as_weighted() {
        let q = question("Q? {\n=a\n~%50%b\n~c\n~%-50%d\n}");
        assert_eq!(choice(&q).1, 0);
        assert_eq!(
            [
                marks(&q, "a"),
                marks(&q, "b"),
                marks(&q, "c"),
                marks(&q, "d")
            ],
            ["1", "0.5", "0", "0"],
            "a penalty in a one-answer question scores nothing"
        );
        let q = question("Q? {=a ~%-50%b ~c}");
        assert_eq!(choice(&q).1, 0);
        assert_eq!(marks(&q, "b"), "0");
        assert_eq!(
            warned("Q? {=a ~%-50%b ~c}").1,
            [(
                1,
                "a penalty (-50%) in a one-answer question scores 0 in quizd; Moodle takes it off \
                 the quiz's total"
                    .to_string()
            )]
        );
        // `=%50%`: Moodle would give full marks and show "%50%b"; quizd reads the weight, and
        // says so.
        let (served, warnings) = warned("Q? {=a =%50%b ~c}");
        assert_eq!(served, 1);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .1
                .starts_with("=%50% is read as an option worth 50%")
        );
        let q = question("Q? {=%50%half =full}");
        assert_eq!(
            [marks(&q, "half"), marks(&q, "FULL"), marks(&q, "none")],
            ["0.5", "1", "0"]
        );
        assert_eq!(q.right_answer(&[]).to_string(), "full");
        // A looser range for part of the mark after the exact one.
        let q = question("When? {#\n=1822:0\n=%33.3%1822:2\n}");
        assert_eq!(
            [marks(&q, "1822"), marks(&q, "1823"), marks(&q, "1830")],
            ["1", "0.33", "0"]
        );
        assert_eq!(
            problem("Q? {=%120%x}").1,
            "a weight of 120%: an answer is worth at most 100%"
        );
        assert!(
            problem("When? {#\n=%50%1822:2\n=1822:0\n}")
                .1
                .contains("overlaps an answer above worth less"),
            "a looser range first would grade the exact one down"
        );
    }

    #[test]
    fn matching_pairs_are_asked_with_each_distinct_answer_once_and_scored_per_pair() {
        let q = question(
            "Match the capitals. {\n=France -> Paris\n=Italy -> Rome\n=Spain -> Madrid\n= -> Lisbon\n=Gaul -> Paris\n}",
        );
        let Kind::Matching {
            items,
            choices,
            answers,
        } = &q.kind
        else {
            panic!("matching: {q:?}");
        };
        assert_eq!(items, &["France", "Italy", "Spain", "Gaul"]);
        assert_eq!(
            choices,
            &["Paris", "Rome", "Madrid", "Lisbon"],
            "each answer once, the extra one kept"
        );
        assert_eq!(answers, &[0, 1, 2, 0]);
        assert_eq!(marks(&q, "abca"), "1");
        assert_eq!(marks(&q, "a b c a"), "1");
        assert_eq!(marks(&q, "abcd"), "0.75");
        assert_eq!(marks(&q, "dddd"), "0");
        let err = q.grade("abc", &[0, 1, 2, 3]).expect_err("too few");
        assert_eq!(
            err,
            "type 4 letters from a to d, one for each numbered item in order, like abcd"
        );
        assert!(q.grade("abcae", &[0, 1, 2, 3]).is_err(), "too many");
        // As the student saw them: choices shuffled as d) Paris, a) Rome...
        let lettering = [1, 2, 3, 0];
        assert_eq!(
            q.grade("dabd", &lettering).expect("graded").marks,
            Marks::ONE
        );
        assert_eq!(
            q.right_answer(&lettering).to_string(),
            "dabd (1 Paris, 2 Rome, 3 Madrid, 4 Paris)"
        );
        assert_eq!(
            problem("Match. {=a -> b}").1,
            "a matching question needs at least 2 pairs, like {=France -> Paris =Italy -> Rome}"
        );
        assert_eq!(
            problem("Match.\n{=a -> b\n=c\n}"),
            (
                3,
                "a pair without ->: in a matching question write each pair as =item -> answer"
                    .into()
            )
        );
    }

    #[test]
    fn two_right_options_are_each_right_as_in_moodle_and_none_is_a_problem() {
        let q = question("Q? {\n=a\n~b\n=c\n}");
        assert_eq!(choice(&q).1, 0, "the first is the one named");
        for (typed, right) in [("a", true), ("b", false), ("c", true)] {
            assert_eq!(
                q.grade(typed, &[0, 1, 2]).expect("graded").right(),
                right,
                "{typed}"
            );
        }
        assert_eq!(
            problem("Q?\n{~a ~b}"),
            (
                2,
                "no right option: mark the right one with = and the wrong ones with ~".into()
            )
        );
    }

    #[test]
    fn multiple_choice_options_count_and_shape() {
        assert_eq!(
            problem("Q? {~a}"),
            (
                1,
                "a multiple-choice question needs at least 2 options".into()
            )
        );
        let many: String = (0..27).map(|i| format!("~o{i}\n")).collect();
        assert_eq!(
            problem(&format!("Q? {{\n=right\n{many}}}")),
            (1, "a question has at most 26 options (a to z)".into())
        );
        // An empty wrong option is dropped, as Moodle drops it: `~=right` is a slip for
        // `=right` that a whole course made.
        assert_eq!(
            choice(&question("Q? {\n=a\n~\n~c\n}")),
            (vec!["a", "c"], 0, vec![])
        );
        assert_eq!(
            choice(&question("Capital of France? {~=Paris ~London ~Rome}")),
            (vec!["Paris", "London", "Rome"], 0, vec![])
        );
        assert_eq!(
            problem("Q? {\n=  # feedback only\n~c\n}"),
            (
                2,
                "an option after = is empty: write its text, or remove the =".into()
            )
        );
        assert_eq!(
            problem("Q? {\nfirst\n=a\n~b\n}"),
            (
                2,
                "text before the first option: start every option with = (the right one) or ~ \
                 (a wrong one)"
                    .into()
            )
        );
    }

    #[test]
    fn braces_out_of_place_are_reported_where_they_are() {
        assert_eq!(
            problem("Q? {\n=a\n~b\n"),
            (
                1,
                "the answer block opened here is not closed before the end of the file: close \
                 it with }"
                    .into()
            )
        );
        assert_eq!(
            problem("Q? a } b {T}"),
            (
                1,
                "} with no { before it: write \\} for a brace in the text".into()
            )
        );
        assert_eq!(
            problem("Q?\n{=a\n{~b}"),
            (
                3,
                "{ inside the answer block: close the block with } first, or write \\{ for a \
                 brace"
                    .into()
            )
        );
        // Moodle shows a second block as text: skipped, the rest served.
        assert_eq!(
            warned("Q? {T} and\n{F}\n\nNext? {T}"),
            (
                1,
                vec![(
                    2,
                    "skipped: a second answer block, which Moodle would show as text (two \
                     questions without a blank line between them?): a question has one { }; \
                     write \\{ and \\} for braces in the text"
                        .into()
                )]
            )
        );
    }

    #[test]
    fn a_blank_line_inside_a_block_is_one_problem_not_two() {
        assert_eq!(
            problems("Q1? {\n=a\n\n~b\n}\n\nQ2? {T}\n\nQ3 }? {T}"),
            [
                "net.gift:1: the answer block opened here is not closed before the blank line \
                 at line 3, which ends the question: close it with } (and keep blank lines out \
                 of a question)",
                "net.gift:9: } with no { before it: write \\} for a brace in the text",
            ]
        );
    }

    #[test]
    fn title_and_text_problems() {
        assert_eq!(
            problem("::Unclosed title Q? {T}"),
            (
                1,
                "the title has no closing :: (write ::title:: before the question text)".into()
            )
        );
        // Moodle imports a question with no text; nobody could answer it: skipped.
        for text in ["{T}\n\nNext? {T}", "[html] {T}\n\nNext? {T}"] {
            assert_eq!(
                warned(text),
                (
                    1,
                    vec![(
                        1,
                        "skipped: the question has no text: write it before the answer block"
                            .into()
                    )]
                ),
                "{text:?}"
            );
        }
        // The whole question in its title (students never see titles).
        assert_eq!(
            warned("::Is UDP connectionless?::\n{T}\n\nNext? {T}").1,
            [(
                1,
                "skipped: the question has no text, only a ::title::, which students never \
                 see: write the question after the title"
                    .to_string()
            )]
        );
    }

    #[test]
    fn a_category_line_needs_a_blank_line_after_it() {
        assert_eq!(
            problem("$CATEGORY: networks\n// comment\nQ? {T}\n"),
            (
                3,
                "put a blank line after the $CATEGORY: line (Moodle would read this question \
                 as part of the category's name)"
                    .into()
            )
        );
    }

    #[test]
    fn short_answer_problems() {
        // A wildcard, as Moodle matches it: loads, and grades.
        let q = question("Which city? {=Par* =%0%Lyon#No. =New*York}");
        for (typed, right) in [
            ("Paris", true),
            ("par", true),
            ("PARMA", true),
            ("new   york", true),
            ("NewYork", true),
            ("Lyon", false),
            ("Apar", false),
        ] {
            assert_eq!(
                q.grade(typed, &[]).expect("graded").right(),
                right,
                "{typed}"
            );
        }
        let literal = question("Star? {=a\\*b}");
        assert!(literal.grade("a*b", &[]).expect("graded").right());
        assert!(!literal.grade("axb", &[]).expect("graded").right());
        assert_eq!(
            problem("Q? {=*}"),
            (
                1,
                "* (any answer) cannot be right: write it as =%0%*#feedback, for the feedback \
                 to any other answer"
                    .into()
            )
        );
        assert_eq!(
            problem("Q? {=a =%0%*#x =%0%*#y}"),
            (1, "a second feedback for any other answer: keep one".into())
        );
        assert_eq!(
            problem("Q? {\n=Paris\n=\n}"),
            (
                3,
                "an answer after = is empty: write it, or remove the =".into()
            )
        );
        assert_eq!(
            problem("Q? {=%0%Lyon#No.}"),
            (
                1,
                "no right answer: write each accepted answer after =, like {=Paris =Paris, \
                 France}"
                    .into()
            )
        );
    }

    #[test]
    fn numeric_problems() {
        let not_a_number = |text: &str| {
            format!("\"{text}\" is not a number: write numbers like 42, -2, 3.14 or 1e3")
        };
        assert_eq!(problem("Q? {#abc}"), (1, not_a_number("abc")));
        assert_eq!(problem("Q? {#1..five}"), (1, not_a_number("five")));
        assert_eq!(problem("Q? {#inf}"), (1, not_a_number("inf")));
        assert_eq!(
            problem("Q? {#3,14}"),
            (
                1,
                "\"3,14\" is not a number: write the decimal point as . (like 3.14); students \
                 may type either"
                    .into()
            )
        );
        assert_eq!(
            problem("Q? {#5..1}"),
            (
                1,
                "the range 5..1 runs backwards: write the smaller number first (1..5)".into()
            )
        );
        assert_eq!(
            problem("Q? {#3:-1}"),
            (
                1,
                "the margin in 3:-1 is negative: write how far off an answer may be, like 3:1"
                    .into()
            )
        );
        let no_number = "no right number: write it after the #, like {#42}, {#3.14:0.01} (give \
                         or take 0.01) or {#1..5} (any number from 1 to 5)";
        assert_eq!(problem("Q? {#}"), (1, no_number.into()));
        assert_eq!(problem("Q? {#=%0%4#no}"), (1, no_number.into()));
        assert_eq!(
            problem("Q? {#=}"),
            (
                1,
                "a number is missing: write {#42}, {#3.14:0.01} or {#1..5} (see the README)".into()
            )
        );
        assert_eq!(
            problem("Q? {#\n=5\n~6 # close\n}"),
            (
                3,
                "in a numeric question ~ only gives the feedback for any other number, as \
                 ~#feedback after the answers; write every accepted number after ="
                    .into()
            )
        );
    }

    #[test]
    fn reports_every_problem_in_a_file_then_every_question_skipped() {
        let text = "\
Good? {T}

Two right? {=a =b ~c}

The {1:MULTICHOICE:=red~blue} car.

Also good? {=yes}

Bad number? {#x}
";
        assert_eq!(
            problems(text),
            [
                "net.gift:9: \"x\" is not a number: write numbers like 42, -2, 3.14 or 1e3",
                "net.gift:5: warning: skipped: embedded answers (cloze, {1:MULTICHOICE:...}), \
                 which quizd cannot ask in a terminal",
            ]
        );
    }

    #[test]
    fn long_text_in_messages_is_shortened() {
        let long = "x".repeat(100);
        let (_, message) = problem(&format!("Q? {{#{long}}}"));
        assert_eq!(message, not_a_number_prefix(&"x".repeat(40)));
    }

    fn not_a_number_prefix(shown: &str) -> String {
        format!("\"{shown}...\" is not a number: write numbers like 42, -2, 3.14 or 1e3")
    }

    #[test]
    fn plain_offsets_skip_escapes_and_only_escapes() {
        let text = r"a\{b\\{c\xd";
        let plain: String = plain_offsets(text)
            .map(|at| char::from(text.as_bytes()[at]))
            .collect();
        assert_eq!(plain, r"ab{c\xd");
        assert_eq!(find_plain(text, "{"), Some(6));
        assert_eq!(unescape(r"\:\#\=\{\}\~\\\n\x"), ":#={}~\\\n\\x");
    }

    #[test]
    fn parses_ten_thousand_questions() {
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!(
                "::q{i}:: Question {i}? {{\n=right # yes\n~wrong\n~other\n~last\n}}\n\n"
            ));
        }
        let qs = questions(&text);
        assert_eq!(qs.len(), 10_000);
        assert_eq!(qs[9_999].line, 9_999 * 7 + 1);
    }

    #[test]
    fn the_backward_escape_check_agrees_with_the_forward_scan() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = [b'\\', b'{', b'}', b'~', b'=', b'#', b':', b'a', b'x', b'n'];
        for _ in 0..20_000 {
            let text: String = (0..12)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    char::from(alphabet[(seed % alphabet.len() as u64) as usize])
                })
                .collect();
            for pattern in ["{", "}", "~", "=", "#", "::", "####"] {
                let forward = plain_offsets(&text)
                    .find(|&at| text.as_bytes()[at..].starts_with(pattern.as_bytes()));
                assert_eq!(find_plain(&text, pattern), forward, "{text:?} {pattern:?}");
                let last = plain_offsets(&text)
                    .filter(|&at| text.as_bytes()[at..].starts_with(pattern.as_bytes()))
                    .last();
                assert_eq!(rfind_plain(&text, pattern), last, "{text:?} {pattern:?}");
            }
            let brace = plain_offsets(&text).find(|&at| matches!(text.as_bytes()[at], b'{' | b'}'));
            assert_eq!(first_brace_at(&text), brace, "{text:?}");
        }
    }
}
