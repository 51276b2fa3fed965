//! Moodle's Aiken format: multiple-choice questions with exactly one right option.
//!
//! ```text
//! Which call makes a TCP socket accept connections?
//! A) listen()
//! B. connect()
//! ANSWER: A
//! ```
//!
//! Lines are read the way Moodle's importer reads them (`question/format/aiken/format.php`,
//! `qformat_aiken::readquestions`, current version with per-line error reporting), each line on
//! its own:
//!
//! - Lines end in LF, CRLF or a lone CR (Moodle also splits on CR). Each line is trimmed of
//!   surrounding whitespace (Moodle: `trim`), and blank lines are ignored anywhere.
//! - An **option** is a capital ASCII letter, `)` or `.`, then the option text, which is trimmed
//!   (Moodle: `/^[A-Z][).][ \t]?/`, text `trim(substr($line, 2))`).
//! - **`ANSWER:`** (capitals, colon straight after; Moodle: `/^ANSWER:/`) followed by the right
//!   option's letter ends the question; spaces around the letter are optional.
//! - Any other line is **question text**.
//! - Like Moodle, we reject: a question with fewer than 2 options; an option or `ANSWER:` line
//!   with no question started; a question that has no `ANSWER:` line before the next question
//!   or the end of the file.
//!
//! Where Moodle silently imports something that is almost certainly a mistake, or reads a line
//! differently from what the teacher meant, we differ on purpose:
//!
//! - Consecutive text lines are one question's text, joined with `\n` (blank lines between them
//!   are dropped). Moodle starts a new question at every text line, discarding the previous one.
//! - `A.` is an option only when followed by whitespace or nothing, so text starting with an
//!   abbreviation (`U.S. law…`, `E.g.…`) stays text; `A)text` is an option, as in Moodle.
//! - Options must be lettered A, B, C… in order: Moodle numbers them by position and ignores
//!   the letters, so a skipped or repeated letter silently shifts which option is right.
//! - The `ANSWER:` line must name exactly one capital letter of an existing option. Moodle takes
//!   the first character of whatever follows and, for a lowercase letter, a letter past the last
//!   option, or nothing at all, imports a question with no right option.
//! - Empty options and more than 26 options are errors (Moodle imports an empty choice; its own
//!   exporter refuses more than 26).
//! - A misspelled answer line (`Answer: B`, `ANSWER : B`, `ANSWER B`) is reported as such;
//!   Moodle would take it as the text of a new question.
//! - A one-character line is text; Moodle drops every line shorter than 2 bytes.
//! - Text is kept as written: Moodle HTML-escapes it for its own pages, quizd escapes on output.
//!
//! Every problem is reported, not just the first. After a mistake that leaves a question's
//! structure unclear (an option out of order or without a question, a text line straight after
//! an option), lines are skipped up to the next `ANSWER:` line or to a text line after a blank
//! line, so one mistake gives one message rather than a cascade. After a mistake that leaves the
//! structure clear (an empty option, a bad `ANSWER:` letter) reading goes on normally, and the
//! question is left out.

use std::mem;
use std::sync::Arc;

use super::{Kind, Parsed, Problems, Question, source_lines};

/// Option letters, in order; a question has at most one option per letter.
const LETTERS: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Parses an Aiken bank. `file` names it in questions and problems; `text` is the decoded file
/// (a leading BOM is ignored); problems go into `problems` (which says whether a mistake
/// skips its question, `--skip-broken`). Returns every question, or every problem found.
pub fn parse(file: &Arc<str>, text: &str, problems: Problems) -> Result<Parsed, Problems> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new(file);
    parser.problems = problems;
    for line in source_lines(text) {
        parser.line(line.number, line.text.trim());
    }
    parser.finish()
}

/// The letter of the option at `index`, for messages.
fn letter(index: usize) -> char {
    LETTERS.get(index).map_or('?', |&byte| char::from(byte))
}

/// What a trimmed line is. Like Moodle, this is decided from the line alone; what the line
/// means for the question being read is up to [`Parser`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    Option {
        letter: u8,
        text: &'a str,
    },
    /// The trimmed text after `ANSWER:`.
    Answer(&'a str),
    MisspelledAnswer,
    Text(&'a str),
}

fn classify(line: &str) -> Line<'_> {
    if line.is_empty() {
        Line::Blank
    } else if let Some(option) = option(line) {
        option
    } else if let Some(answer) = line.strip_prefix("ANSWER:") {
        Line::Answer(answer.trim())
    } else if is_misspelled_answer(line) {
        Line::MisspelledAnswer
    } else {
        Line::Text(line)
    }
}

/// `A) text`, `A)text`, `A. text`, `A.text`, or an empty `A)` / `A.` (reported later as an
/// empty option): Moodle's rule, `/^[A-Z][).][ \t]?/`.
fn option(line: &str) -> Option<Line<'_>> {
    let &[letter, mark, ..] = line.as_bytes() else {
        return None;
    };
    if !letter.is_ascii_uppercase() || !matches!(mark, b')' | b'.') {
        return None;
    }
    // The first two bytes are ASCII, so 2 is a character boundary.
    let rest = line.get(2..)?;
    Some(Line::Option {
        letter,
        text: rest.trim(),
    })
}

/// `Answer: B`, `ANSWER : B`, `answer:B`, `ANSWER B`: meant as the answer line, though not
/// Moodle's exact `ANSWER:` (which it would read as the text of a new question).
fn is_misspelled_answer(line: &str) -> bool {
    let Some((word, rest)) = line.split_at_checked(6) else {
        return false;
    };
    if !word.eq_ignore_ascii_case("answer") {
        return false;
    }
    let after = rest.trim_start();
    let spaced = after.len() < rest.len();
    let single_letter = after.len() == 1 && after.bytes().all(|byte| byte.is_ascii_alphabetic());
    after.starts_with(':') || (spaced && single_letter)
}

/// The letter after `ANSWER:` as an index into a question's `count` (2 to 26) options.
fn answer_index(answer: &str, count: usize) -> Result<usize, String> {
    let last = letter(count - 1);
    let mut chars = answer.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Err(format!(
            "ANSWER: needs the letter of the right option (A to {last})"
        )),
        (Some(found), None) if found.is_ascii_uppercase() => {
            let index = usize::from(u8::try_from(found).unwrap_or(b'A') - b'A');
            if index < count {
                Ok(index)
            } else {
                Err(format!(
                    "ANSWER names option {found} but the question has {count} options (A to {last})"
                ))
            }
        }
        (Some(found), None) if found.is_ascii_lowercase() => Err(format!(
            "ANSWER letter must be a capital: write ANSWER: {}",
            found.to_ascii_uppercase()
        )),
        _ => Err(format!(
            "ANSWER: takes one letter (A to {last}), not \"{}\": a question has exactly one right option",
            shorten(answer)
        )),
    }
}

/// Bank text quoted in a problem message: what the file holds can reach a terminal (`--check`,
/// start-up errors, the console), so control characters and escape sequences are dropped, line
/// breaks become spaces, and it is cut at 40 characters.
fn shorten(text: &str) -> String {
    crate::bank::quote(text)
}

/// A question whose lines are being read.
struct Draft {
    line: u32,
    text: String,
    options: Vec<String>,
    /// Options whose letter is not the one their place calls for: (line, letter written,
    /// letter expected), and each option's letter as written.
    misnumbered: Vec<(u32, u8, u8)>,
    labels: Vec<u8>,
    /// A problem was reported for this question: keep checking its lines, but leave it out.
    failed: bool,
}

impl Draft {
    fn new(line: u32, text: &str) -> Self {
        Draft {
            line,
            text: text.to_owned(),
            options: Vec::new(),
            misnumbered: Vec::new(),
            labels: Vec::new(),
            failed: false,
        }
    }

    /// The question, its text and options as written: Moodle shows Aiken text literally
    /// (`htmlspecialchars`), so `<b>` is shown as typed.
    fn into_question(self, file: &Arc<str>, correct: usize) -> Question {
        Question::new(
            self.text,
            Kind::choice(self.options, correct),
            file,
            self.line,
        )
    }
}

enum State {
    /// Before the first question, or after an `ANSWER:` line.
    Between { after_answer: bool },
    /// Reading a question's text (no options yet) or its options.
    Reading(Draft),
    /// After a mistake that leaves the question's structure unclear: skipping to the next
    /// `ANSWER:` line, or a text line after a blank line, to resynchronise.
    Skipping,
}

struct Parser<'f> {
    file: &'f Arc<str>,
    state: State,
    /// The line before the current one was blank (or there was none): a text line after it
    /// reads as the start of a new question rather than as part of the last one.
    after_blank: bool,
    /// The last non-blank line, where a question cut off by the end of the file is reported.
    last_line: u32,
    questions: Vec<Question>,
    /// Capped: past [`crate::limits::MAX_PROBLEMS`] problems are only counted.
    problems: Problems,
}

impl<'f> Parser<'f> {
    fn new(file: &'f Arc<str>) -> Self {
        Parser {
            file,
            state: State::Between {
                after_answer: false,
            },
            after_blank: true,
            last_line: 0,
            questions: Vec::new(),
            problems: Problems::default(),
        }
    }

    fn report(&mut self, line: u32, message: impl Into<String>) {
        self.problems.report(self.file, line, message);
    }

    /// Takes one trimmed line.
    fn line(&mut self, number: u32, text: &str) {
        let line = classify(text);
        let state = mem::replace(&mut self.state, State::Skipping);
        self.state = match line {
            Line::Blank => state,
            Line::Text(text) => self.text(state, number, text),
            Line::Option { letter, text } => self.option(state, number, letter, text),
            Line::Answer(answer) => self.answer(state, number, answer),
            Line::MisspelledAnswer => {
                // Reported whatever the state: it is a mistake of its own, and it ends the
                // question the teacher meant it for.
                self.report(
                    number,
                    "write the answer line as ANSWER: and the letter (capitals, colon right after ANSWER)",
                );
                State::Between { after_answer: true }
            }
        };
        self.after_blank = line == Line::Blank;
        if !self.after_blank {
            self.last_line = number;
        }
    }

    fn text(&mut self, state: State, number: u32, text: &str) -> State {
        match state {
            State::Reading(mut draft) if draft.options.is_empty() => {
                draft.text.push('\n');
                draft.text.push_str(text);
                State::Reading(draft)
            }
            State::Reading(_) if self.after_blank => {
                self.report(
                    number,
                    "question has no ANSWER: line before the next question starts",
                );
                State::Reading(Draft::new(number, text))
            }
            State::Reading(draft) => {
                let count = draft.options.len();
                let expected = if count < LETTERS.len() {
                    format!("option {} or the ANSWER: line", letter(count))
                } else {
                    "the ANSWER: line".to_owned()
                };
                let last = letter(count - 1);
                self.report(
                    number,
                    format!(
                        "expected {expected} after option {last} (an option must fit on one line)"
                    ),
                );
                State::Skipping
            }
            State::Skipping if !self.after_blank => State::Skipping,
            State::Between { .. } | State::Skipping => State::Reading(Draft::new(number, text)),
        }
    }

    fn option(&mut self, state: State, number: u32, letter_byte: u8, text: &str) -> State {
        let found = char::from(letter_byte);
        match state {
            State::Reading(mut draft) => {
                let count = draft.options.len();
                let Some(&expected) = LETTERS.get(count) else {
                    self.report(number, "a question has at most 26 options (A to Z)");
                    return State::Skipping;
                };
                if letter_byte != expected {
                    // Moodle reads options by their place, whatever their letters: decided at
                    // the ANSWER: line (see `finish_question`).
                    draft.misnumbered.push((number, letter_byte, expected));
                }
                draft.labels.push(letter_byte);
                if text.is_empty() {
                    self.report(number, format!("option {found} is empty"));
                    draft.failed = true;
                }
                draft.options.push(text.to_owned());
                State::Reading(draft)
            }
            State::Between { after_answer } => {
                let message = if after_answer && !self.after_blank {
                    format!("option {found} comes after the ANSWER: line; options go before it")
                } else {
                    format!("option {found} has no question text before it")
                };
                self.report(number, message);
                State::Skipping
            }
            State::Skipping => State::Skipping,
        }
    }

    fn answer(&mut self, state: State, number: u32, answer: &str) -> State {
        match state {
            State::Reading(draft) => self.finish_question(draft, number, answer),
            State::Between { after_answer } => {
                let message = if after_answer && !self.after_blank {
                    "a second ANSWER: line; a question has exactly one right option"
                } else {
                    "ANSWER: line has no question before it"
                };
                self.report(number, message);
            }
            State::Skipping => {}
        }
        State::Between { after_answer: true }
    }

    fn finish_question(&mut self, draft: Draft, number: u32, answer: &str) {
        if draft.options.len() < 2 {
            self.report(number, "a question needs at least 2 options");
            return;
        }
        // Options with letters out of order: Moodle reads them by place (`ANSWER: C` is the
        // third). Where the third is also the one written `C`, that is what the teacher meant:
        // loaded, with a warning. Otherwise Moodle would mark another option right than the
        // one the letter names: a problem, at the first misnumbered option.
        if let Some(&(line, found, expected)) = draft.misnumbered.first() {
            let named = answer_index(answer, draft.options.len())
                .ok()
                .and_then(|i| draft.labels.get(i))
                .is_some_and(|&label| {
                    Some(label) == answer.trim().bytes().next().map(|b| b.to_ascii_uppercase())
                });
            let (found, expected) = (char::from(found), char::from(expected));
            if named {
                for &(line, found, expected) in &draft.misnumbered {
                    self.problems.warn(
                        self.file,
                        line,
                        format!(
                            "option {} is out of order (expected {}): read by its place, as Moodle reads it",
                            char::from(found),
                            char::from(expected)
                        ),
                    );
                }
            } else {
                self.report(
                    line,
                    format!("option {found} is out of order: expected {expected}"),
                );
                return;
            }
        }
        match answer_index(answer, draft.options.len()) {
            Err(message) => self.report(number, message),
            Ok(_) if draft.failed => {}
            Ok(correct) => {
                let question = draft.into_question(self.file, correct);
                self.questions.push(question);
            }
        }
    }

    fn finish(mut self) -> Result<Parsed, Problems> {
        if let State::Reading(_) = self.state {
            self.report(
                self.last_line,
                "question has no ANSWER: line before the end of the file",
            );
        }
        if self.problems.total() == 0 {
            self.problems.sort_by_line();
            Ok(Parsed {
                questions: self.questions,
                notes: self.problems,
            })
        } else {
            Err(self.problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Vec<Question>, Vec<crate::bank::Problem>> {
        parse(&Arc::from("sockets.txt"), text, Problems::default())
            .map(|parsed| parsed.questions)
            .map_err(Problems::into_vec)
    }

    fn questions(text: &str) -> Vec<Question> {
        parse_str(text).unwrap_or_else(|problems| {
            let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("unexpected problems:\n{}", messages.join("\n"))
        })
    }

    fn problems(text: &str) -> Vec<String> {
        match parse_str(text) {
            Ok(questions) => panic!("expected problems, got {} questions", questions.len()),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    fn choice(question: &Question) -> (Vec<&str>, usize) {
        let Kind::Choice {
            options, correct, ..
        } = &question.kind
        else {
            panic!("Aiken questions are multiple choice")
        };
        (options.iter().map(String::as_str).collect(), *correct)
    }

    #[test]
    fn reads_paren_and_dot_styles() {
        let qs = questions(
            "What is 2+2?\nA) 3\nB) 4\nC) 5\nANSWER: B\nCapital of France?\nA. Paris\nB. Lyon\nANSWER: A\n",
        );
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].text, "What is 2+2?");
        assert_eq!(choice(&qs[0]), (vec!["3", "4", "5"], 1));
        assert_eq!(qs[1].text, "Capital of France?");
        assert_eq!(choice(&qs[1]), (vec!["Paris", "Lyon"], 0));
        assert_eq!((qs[0].line, qs[1].line), (1, 6));
        assert_eq!(&*qs[1].file, "sockets.txt");
    }

    #[test]
    fn joins_multi_line_question_text_with_newlines() {
        let qs = questions(
            "Look at this code:\n\n    x = recv(s)\nWhat is x?\nA) bytes\nB) a str\nANSWER: A\n",
        );
        assert_eq!(qs[0].text, "Look at this code:\nx = recv(s)\nWhat is x?");
        assert_eq!(qs[0].line, 1);
    }

    #[test]
    fn accepts_crlf_and_lone_cr_line_endings() {
        let crlf =
            questions("Q?\r\nA) a\r\nB) b\r\nANSWER: B\r\n\r\nR?\r\nA) c\r\nB) d\r\nANSWER: A");
        assert_eq!(crlf.len(), 2);
        assert_eq!(crlf[1].line, 6);
        assert_eq!(choice(&crlf[0]), (vec!["a", "b"], 1));
        let cr = questions("Q?\rA) a\rB) b\rANSWER: B\r");
        assert_eq!(choice(&cr[0]), (vec!["a", "b"], 1));
    }

    #[test]
    fn ignores_blank_lines_surrounding_spaces_and_tabs() {
        let qs =
            questions("\n\n   Q?   \n\n\tA)\tfirst  \n\n  B.   second\t\n\n\n  ANSWER:\tB  \n\n\n");
        assert_eq!(qs[0].text, "Q?");
        assert_eq!(qs[0].line, 3);
        assert_eq!(choice(&qs[0]), (vec!["first", "second"], 1));
    }

    #[test]
    fn ignores_a_leading_bom() {
        let qs = questions("\u{feff}Q?\nA) a\nB) b\nANSWER: A\n");
        assert_eq!(qs[0].text, "Q?");
    }

    #[test]
    fn accepts_paren_option_and_answer_without_space_like_moodle() {
        let qs = questions("Q?\nA)Incorrect\nB)Correct\nANSWER:B\n");
        assert_eq!(choice(&qs[0]), (vec!["Incorrect", "Correct"], 1));
    }

    #[test]
    fn a_dot_without_a_space_after_the_letter_is_an_option_as_in_moodle() {
        let qs = questions("Which format is text?\nA.XML\nB.PNG\nANSWER: A\n");
        assert_eq!(
            choice(&qs[0]),
            (vec!["XML", "PNG"], 0),
            "what the old reading refused with a misleading 'needs at least 2 options'"
        );
        // A line of text that happens to look like one is an option to Moodle too, and the
        // letters out of order say so.
        assert!(
            problems("Which is true?\nU.S. law applies.\nA. yes\nB. no\nANSWER: B\n")
                .iter()
                .any(|p| p.contains("out of order")),
        );
    }

    #[test]
    fn one_character_line_is_question_text() {
        let qs = questions("What does this print?\nx\nA) 1\nB) 2\nANSWER: A\n");
        assert_eq!(qs[0].text, "What does this print?\nx");
    }

    #[test]
    fn accepts_26_options() {
        let options: String = LETTERS
            .iter()
            .map(|&byte| format!("{}) option\n", char::from(byte)))
            .collect();
        let qs = questions(&format!("Q?\n{options}ANSWER: Z\n"));
        assert_eq!(choice(&qs[0]).0.len(), 26);
        assert_eq!(choice(&qs[0]).1, 25);
    }

    #[test]
    fn option_out_of_order_is_read_by_place_when_the_answer_letter_agrees_as_moodle_reads_it() {
        // Moodle counts options by place: `ANSWER: C` is the third, here written `C`: what
        // the teacher meant. Loaded, with a warning at the misnumbered option.
        let text = "Q?\nA) Volt\nD) Ohm\nC) Ampere\nD) Newton\nANSWER: C\n";
        let parsed = parse(&Arc::from("sockets.txt"), text, Problems::default()).expect("loads");
        assert_eq!(
            choice(&parsed.questions[0]),
            (vec!["Volt", "Ohm", "Ampere", "Newton"], 2)
        );
        assert_eq!(
            parsed
                .notes
                .warnings()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "sockets.txt:3: warning: option D is out of order (expected B): read by its place, as Moodle reads it"
            ]
        );
        // Here Moodle's third option is the one written `D`, not `C`: it would mark another
        // option right than the letter names. A problem.
        let text = "Q?\nA) a\nC) c\nD) d\nANSWER: C\n";
        assert_eq!(
            problems(text),
            ["sockets.txt:3: option C is out of order: expected B"]
        );
    }

    #[test]
    fn first_option_not_a() {
        let text = "Which statements hold?\nI. TCP is reliable\nA) I only\nB) none\nANSWER: A\n";
        assert_eq!(
            problems(text),
            ["sockets.txt:2: option I is out of order: expected A"]
        );
    }

    #[test]
    fn answer_letter_past_the_last_option() {
        let text = "Q?\nA) a\nB) b\nC) c\nD) d\nANSWER: E\n";
        assert_eq!(
            problems(text),
            ["sockets.txt:6: ANSWER names option E but the question has 4 options (A to D)"]
        );
    }

    #[test]
    fn lowercase_answer_letter() {
        assert_eq!(
            problems("Q?\nA) a\nB) b\nANSWER: b\n"),
            ["sockets.txt:4: ANSWER letter must be a capital: write ANSWER: B"]
        );
    }

    #[test]
    fn answer_with_several_letters_or_none() {
        assert_eq!(
            problems("Q?\nA) a\nB) b\nANSWER: A, B\n"),
            [
                "sockets.txt:4: ANSWER: takes one letter (A to B), not \"A, B\": a question has exactly one right option"
            ]
        );
        assert_eq!(
            problems("Q?\nA) a\nB) b\nANSWER:\n"),
            ["sockets.txt:4: ANSWER: needs the letter of the right option (A to B)"]
        );
    }

    #[test]
    fn long_text_in_messages_is_shortened() {
        let answer = "A".repeat(100);
        let expected = format!(
            "sockets.txt:4: ANSWER: takes one letter (A to B), not \"{}...\": a question has exactly one right option",
            "A".repeat(40)
        );
        assert_eq!(
            problems(&format!("Q?\nA) a\nB) b\nANSWER: {answer}\n")),
            [expected]
        );
    }

    #[test]
    fn missing_answer_before_next_question() {
        let text = "Q1?\nA) a\nB) b\n\nQ2?\nA) c\nB) d\nANSWER: A\n";
        assert_eq!(
            problems(text),
            ["sockets.txt:5: question has no ANSWER: line before the next question starts"]
        );
    }

    #[test]
    fn missing_answer_at_end_of_file() {
        assert_eq!(
            problems("Q1?\nA) a\nB) b\n\n\n"),
            ["sockets.txt:3: question has no ANSWER: line before the end of the file"]
        );
        assert_eq!(
            problems("Q1?\nA) a\nB) b\nANSWER: A\nTrailing text\n"),
            ["sockets.txt:5: question has no ANSWER: line before the end of the file"]
        );
    }

    #[test]
    fn single_option() {
        assert_eq!(
            problems("Q?\nA) only\nANSWER: A\n"),
            ["sockets.txt:3: a question needs at least 2 options"]
        );
    }

    #[test]
    fn no_options_at_all() {
        assert_eq!(
            problems("Q?\na) lowercase\nb) options\nANSWER: A\n"),
            ["sockets.txt:4: a question needs at least 2 options"]
        );
    }

    #[test]
    fn empty_option() {
        assert_eq!(
            problems("Q?\nA) a\nB)   \nC. \nANSWER: A\n"),
            [
                "sockets.txt:3: option B is empty",
                "sockets.txt:4: option C is empty",
            ]
        );
    }

    #[test]
    fn empty_question_text() {
        assert_eq!(
            problems("A) a\nB) b\nANSWER: A\n"),
            ["sockets.txt:1: option A has no question text before it"]
        );
        assert_eq!(
            problems("Q?\nA) a\nB) b\nANSWER: A\n\nA) c\nB) d\nANSWER: B\n"),
            ["sockets.txt:6: option A has no question text before it"]
        );
    }

    #[test]
    fn option_after_answer_line() {
        assert_eq!(
            problems("Q?\nA) a\nB) b\nANSWER: A\nC) c\n"),
            ["sockets.txt:5: option C comes after the ANSWER: line; options go before it"]
        );
    }

    #[test]
    fn too_many_options() {
        let options: String = LETTERS
            .iter()
            .map(|&byte| format!("{}) option\n", char::from(byte)))
            .collect();
        assert_eq!(
            problems(&format!("Q?\n{options}A) one more\nANSWER: A\n")),
            ["sockets.txt:28: a question has at most 26 options (A to Z)"]
        );
    }

    #[test]
    fn answer_without_a_question() {
        assert_eq!(
            problems("ANSWER: A\nQ?\nA) a\nB) b\nANSWER: A\n"),
            ["sockets.txt:1: ANSWER: line has no question before it"]
        );
    }

    #[test]
    fn second_answer_line() {
        assert_eq!(
            problems("Q?\nA) a\nB) b\nANSWER: A\nANSWER: B\n"),
            ["sockets.txt:5: a second ANSWER: line; a question has exactly one right option"]
        );
    }

    #[test]
    fn misspelled_answer_lines() {
        for line in [
            "Answer: A",
            "ANSWER : A",
            "answer:A",
            "ANSWER A",
            "Answer\tB",
        ] {
            let text = format!("Q?\nA) a\nB) b\n{line}\n\nR?\nA) c\nB) d\nANSWER: B\n");
            assert_eq!(
                problems(&text),
                [
                    "sockets.txt:4: write the answer line as ANSWER: and the letter (capitals, colon right after ANSWER)"
                ],
                "{line}"
            );
        }
    }

    #[test]
    fn text_starting_with_answer_is_still_text() {
        let qs = questions("Answer the following:\nAnswers differ?\nA) yes\nB) no\nANSWER: A\n");
        assert_eq!(qs[0].text, "Answer the following:\nAnswers differ?");
    }

    #[test]
    fn wrapped_option_line_is_one_problem() {
        let text =
            "Q?\nA) a long option\n   that wraps\nB) b\nANSWER: A\n\nR?\nA) c\nB) d\nANSWER: B\n";
        assert_eq!(
            problems(text),
            [
                "sockets.txt:3: expected option B or the ANSWER: line after option A (an option must fit on one line)"
            ]
        );
    }

    #[test]
    fn resynchronises_at_a_text_line_after_a_blank_line() {
        // The out-of-order question also lacks its ANSWER line; the next question is still checked.
        let text = "Q1?\nA) a\nC) c\n\nQ2?\nA) a\nB) b\nANSWER: C\n";
        assert_eq!(
            problems(text),
            [
                "sockets.txt:5: question has no ANSWER: line before the next question starts",
                "sockets.txt:8: ANSWER names option C but the question has 2 options (A to B)",
            ]
        );
    }

    #[test]
    fn reports_every_problem_in_one_file_without_cascades() {
        let text = "\
Good question?
A) yes
B) no
ANSWER: A

Single option?
A) only
ANSWER: A

Out of order?
A) a
C) c
D) d
ANSWER: D

Empty option?
A) a
B)
ANSWER: A

Bad letter?
A) a
B) b
ANSWER: E

No answer?
A) a
B) b

Last good question?
A) a
B) b
ANSWER: B
";
        assert_eq!(
            problems(text),
            [
                "sockets.txt:8: a question needs at least 2 options",
                "sockets.txt:12: option C is out of order: expected B",
                "sockets.txt:18: option B is empty",
                "sockets.txt:24: ANSWER names option E but the question has 2 options (A to B)",
                "sockets.txt:30: question has no ANSWER: line before the next question starts",
            ]
        );
    }

    #[test]
    fn parses_ten_thousand_questions() {
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!(
                "Question {i}?\nA) first\nB) second\nC) third\nD) fourth\nANSWER: {}\n\n",
                letter(i % 4)
            ));
        }
        let qs = questions(&text);
        assert_eq!(qs.len(), 10_000);
        assert_eq!(qs[9_999].line, 9_999 * 7 + 1);
        assert_eq!(choice(&qs[9_999]).1, 3);
    }

    #[test]
    fn classifies_lines_like_moodle() {
        assert_eq!(
            classify("A) x"),
            Line::Option {
                letter: b'A',
                text: "x"
            }
        );
        assert_eq!(
            classify("B.\tx"),
            Line::Option {
                letter: b'B',
                text: "x"
            }
        );
        assert_eq!(
            classify("C)"),
            Line::Option {
                letter: b'C',
                text: ""
            }
        );
        assert_eq!(classify("ANSWER: D"), Line::Answer("D"));
        // Moodle's rule, /^[A-Z][).][ \t]?/: no space is needed after the mark.
        assert_eq!(
            classify("A.XML"),
            Line::Option {
                letter: b'A',
                text: "XML"
            }
        );
        assert_eq!(classify("é) x"), Line::Text("é) x"));
        assert_eq!(classify("ANSWERS: all"), Line::Text("ANSWERS: all"));
        assert_eq!(classify(""), Line::Blank);
    }
}
