//! Grading: what one typed answer means for one question.
//!
//! [`Question::grade`] takes the student's line and says whether it is right, what to record
//! in the results, and which feedback the bank has for it; or, for a line that is not an answer
//! of the right form ("maybe" to a true/false question), the message to show instead, with no
//! penalty. Multiple choice is graded without allocating: a class answers it thousands of
//! times a second and `tests/alloc.rs` holds it to zero. Typed answers may allocate (they are
//! recorded as text anyway).

use std::borrow::Cow;
use std::fmt;

use super::{Kind, Marks, NumericAnswer, Question, normalise};

pub use crate::limits::MAX_RESPONSE_CHARS;

/// Numeric answers are compared with this relative slack, so that a bound computed in binary
/// (3.14 - 0.01 is 3.1300000000000003) still accepts the number the teacher meant (3.13).
/// Moodle adds a similar tiny fraction for the same reason.
pub const NUMERIC_SLACK: f64 = 1e-9;

/// What a student answered, as the results record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Multiple choice: the bank index of the option chosen (not the shuffled letter).
    Choice(u8),
    /// Multiple answers: the bank indices of the options chosen, as bits (bit `i`: option
    /// `i`; at most 26 options).
    Picks(u32),
    /// Matching: per item, the bank index of the choice given for it.
    Pairs(Box<[u8]>),
    /// Any other kind: the answer as typed (trimmed, invisible characters removed, at most
    /// [`MAX_RESPONSE_CHARS`]); for true/false the word `true` or `false`, whatever was typed.
    Text(Box<str>),
}

/// The verdict on one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded<'q> {
    /// The marks it earns, from none to [`Marks::ONE`] (full marks: right).
    pub marks: Marks,
    pub response: Response,
    /// The bank's feedback for this answer, if any (general feedback is the question's own);
    /// for several options chosen, each one's on its own line.
    pub feedback: Option<Cow<'q, str>>,
}

impl Graded<'_> {
    /// Full marks.
    pub fn right(&self) -> bool {
        self.marks.is_full()
    }
}

impl Question {
    /// Grades one typed answer. `lettering[shown]` is the bank index of the option shown with
    /// letter `shown` (a, b, ...), as the student saw them; only multiple choice uses it.
    ///
    /// `Err` holds what to tell the student (shown after `error: `) when the line is not an
    /// answer of the right form: not a letter in range, not true or false, not a number. Such
    /// a line costs nothing; the student answers again.
    pub fn grade(&self, input: &str, lettering: &[u8]) -> Result<Graded<'_>, String> {
        match &self.kind {
            Kind::Choice {
                options,
                correct,
                also_right,
                feedback,
                credit,
            } => {
                let Some(shown) = parse_letter(input, options.len()) else {
                    return Err(format!(
                        "answer with a letter from a to {}",
                        letter(options.len().saturating_sub(1))
                    ));
                };
                let picked = bank_index(lettering, shown);
                let right = picked == *correct || also_right.contains(&picked);
                let marks = match credit.get(picked) {
                    Some(&fraction) => Marks::of_fraction(fraction),
                    None if right => Marks::ONE,
                    None => Marks::ZERO,
                };
                Ok(Graded {
                    marks,
                    response: Response::Choice(u8::try_from(picked).unwrap_or(u8::MAX)),
                    feedback: feedback
                        .get(picked)
                        .and_then(Option::as_deref)
                        .map(Cow::Borrowed),
                })
            }
            Kind::Multiple {
                options,
                credit,
                feedback,
            } => {
                let Some(shown) = parse_letters(input, options.len()) else {
                    return Err(format!(
                        "answer with the letters of every answer you choose, from a to {}, like a c",
                        letter(options.len().saturating_sub(1))
                    ));
                };
                let mut picks = 0u32;
                let mut sum = 0.0;
                let mut said: Option<Cow<'_, str>> = None;
                for slot in (0..options.len()).filter(|&s| shown & (1 << s) != 0) {
                    let picked = bank_index(lettering, slot);
                    picks |= 1 << picked;
                    sum += credit.get(picked).copied().unwrap_or(0.0);
                    if let Some(text) = feedback.get(picked).and_then(Option::as_deref) {
                        said = Some(match said {
                            None => Cow::Borrowed(text),
                            Some(before) => Cow::Owned(format!("{before}\n{text}")),
                        });
                    }
                }
                Ok(Graded {
                    marks: Marks::of_fraction(sum),
                    response: Response::Picks(picks),
                    feedback: said,
                })
            }
            Kind::Matching {
                items,
                choices,
                answers,
            } => {
                let Some(given) = parse_pairs(input, items.len(), choices.len()) else {
                    return Err(format!(
                        "type {} letters from a to {}, one for each numbered item in order, like {}",
                        items.len(),
                        letter(choices.len().saturating_sub(1)),
                        example_pairs(items.len(), choices.len()),
                    ));
                };
                let pairs: Box<[u8]> = given
                    .iter()
                    .map(|&shown| bank_index(lettering, usize::from(shown)) as u8)
                    .collect();
                let right = pairs.iter().zip(answers).filter(|(a, b)| a == b).count();
                Ok(Graded {
                    marks: Marks::of_fraction(right as f64 / items.len().max(1) as f64),
                    response: Response::Pairs(pairs),
                    feedback: None,
                })
            }
            Kind::TrueFalse {
                answer,
                right_feedback,
                wrong_feedback,
            } => {
                let said = parse_true_false(input).ok_or("answer true or false (or t or f)")?;
                let right = said == *answer;
                let feedback = if right {
                    right_feedback
                } else {
                    wrong_feedback
                };
                Ok(Graded {
                    marks: if right { Marks::ONE } else { Marks::ZERO },
                    response: Response::Text(if said { "true" } else { "false" }.into()),
                    feedback: feedback.as_deref().map(Cow::Borrowed),
                })
            }
            Kind::Short { answers, otherwise } => {
                let typed = cleaned(input);
                let key = normalise(&typed);
                if key.is_empty() {
                    return Err("type your answer".into());
                }
                let matched = answers
                    .iter()
                    .find(|known| known.matches(&key))
                    .map(|known| (known.credit, &known.feedback));
                Ok(open_answer(typed, matched, otherwise))
            }
            Kind::Essay => {
                let typed = cleaned(input);
                if typed.is_empty() {
                    return Err("type your answer".into());
                }
                Ok(Graded {
                    marks: Marks::ZERO,
                    response: Response::Text(typed.into()),
                    feedback: None,
                })
            }
            Kind::Numeric { answers, otherwise } => {
                let typed = cleaned(input);
                let number =
                    parse_number(&typed).ok_or("answer with a number, like 42, -2, 3.14 or 1e3")?;
                let matched = answers
                    .iter()
                    .find(|known| known.accepts(number))
                    .map(|known| (known.credit, &known.feedback));
                Ok(open_answer(typed, matched, otherwise))
            }
        }
    }

    /// The marks a recorded response earned (as [`Question::grade`] gave them), for the
    /// results and the item analysis; `None` for an essay, which the teacher marks.
    pub fn marks_for(&self, response: &Response) -> Option<Marks> {
        let lettering: Vec<u8> = (0..self.kind.lettered().len().min(26) as u8).collect();
        let typed = match (response, &self.kind) {
            (_, Kind::Essay) => return None,
            (Response::Choice(c), _) => letter(usize::from(*c)).to_string(),
            (Response::Picks(bits), _) => (0..26usize)
                .filter(|i| bits & (1 << i) != 0)
                .map(letter)
                .collect(),
            (Response::Pairs(pairs), _) => pairs.iter().map(|&c| letter(usize::from(c))).collect(),
            (Response::Text(text), _) => text.to_string(),
        };
        Some(
            self.grade(&typed, &lettering)
                .map_or(Marks::ZERO, |graded| graded.marks),
        )
    }

    /// The right answer as "The answer was ..." names it to the student who saw `lettering`
    /// (see [`Question::grade`]): `b) bind()`, `true`, `no one`, `3.14 (+/- 0.01)`.
    pub fn right_answer<'q>(&'q self, lettering: &'q [u8]) -> RightAnswer<'q> {
        RightAnswer {
            question: self,
            lettering,
        }
    }
}

impl NumericAnswer {
    /// Worth full marks.
    pub fn right(&self) -> bool {
        super::full_credit(self.credit)
    }

    /// Whether `number` is in this answer's range (with [`NUMERIC_SLACK`]).
    pub fn accepts(&self, number: f64) -> bool {
        let slack = |bound: f64| bound.abs().max(1.0) * NUMERIC_SLACK;
        self.min - slack(self.min) <= number && number <= self.max + slack(self.max)
    }
}

/// The right answer of a question, written without allocating; see [`Question::right_answer`].
pub struct RightAnswer<'q> {
    question: &'q Question,
    lettering: &'q [u8],
}

impl fmt::Display for RightAnswer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.question.kind {
            Kind::Choice {
                options, correct, ..
            } => {
                let shown = self
                    .lettering
                    .iter()
                    .position(|&index| usize::from(index) == *correct)
                    .unwrap_or(*correct);
                let text = options.get(*correct).map_or("", String::as_str);
                write!(f, "{}) ", letter(shown))?;
                one_line(f, text)
            }
            Kind::Multiple {
                options, credit, ..
            } => {
                // Every option worth something, in the order the student saw them.
                let mut first = true;
                for shown in 0..options.len() {
                    let index = bank_index(self.lettering, shown);
                    if credit.get(index).is_some_and(|&c| c > 0.0) {
                        if !first {
                            f.write_str(", ")?;
                        }
                        first = false;
                        write!(f, "{}) ", letter(shown))?;
                        one_line(f, options.get(index).map_or("", String::as_str))?;
                    }
                }
                Ok(())
            }
            Kind::Matching {
                items,
                choices,
                answers,
            } => {
                // `cab (1 Paris, 2 Rome, 3 Madrid)`: the letters to type, then what they mean.
                let shown_letter = |choice: u8| {
                    let shown = (0..choices.len())
                        .find(|&s| bank_index(self.lettering, s) == usize::from(choice))
                        .unwrap_or(usize::from(choice));
                    letter(shown)
                };
                for &choice in answers {
                    write!(f, "{}", shown_letter(choice))?;
                }
                f.write_str(" (")?;
                for (i, &choice) in answers.iter().enumerate().take(items.len()) {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} ", i + 1)?;
                    one_line(
                        f,
                        choices.get(usize::from(choice)).map_or("", String::as_str),
                    )?;
                }
                f.write_str(")")
            }
            Kind::TrueFalse { answer, .. } => f.write_str(if *answer { "true" } else { "false" }),
            Kind::Short { answers, .. } => {
                let first = answers.iter().find(|known| known.right());
                one_line(f, first.map_or("", |known| known.text.as_str()))
            }
            Kind::Numeric { answers, .. } => {
                let first = answers.iter().find(|known| known.right());
                one_line(f, first.map_or("", |known| known.shown.as_str()))
            }
            // No right answer: the teacher marks it.
            Kind::Essay => f.write_str("for your teacher to mark"),
        }
    }
}

/// `text` with its line breaks (a GIFT `\n`) written as spaces: the verdict naming it is one
/// line, its anchors at both ends.
fn one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for (i, part) in text
        .split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(part)?;
    }
    Ok(())
}

pub use crate::text::letter;

/// The bank index of the option shown at `shown` in `lettering` (as is, without one).
fn bank_index(lettering: &[u8], shown: usize) -> usize {
    lettering
        .get(shown)
        .map_or(shown, |&index| usize::from(index))
}

/// The letters a student typed, as shown, each a lowercase or uppercase letter, separated by
/// spaces, commas or nothing (`a c`, `a,c`, `AC`, `a) c)`); `None` if anything else is there,
/// a letter is out of range, or there is none.
fn letters(line: &str, options: usize) -> Option<impl Iterator<Item = u8> + '_> {
    let ok = line.chars().all(|c| {
        c.is_ascii_alphabetic() && usize::from(c.to_ascii_lowercase() as u8 - b'a') < options
            || matches!(c, ' ' | ',' | ';' | ')' | '.' | '\t')
    });
    let mut found = line
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .map(|b| b.to_ascii_lowercase() - b'a')
        .peekable();
    (ok && found.peek().is_some()).then_some(found)
}

/// A multiple-answer line (see [`letters`]) as bits of the shown options; a letter given twice
/// counts once.
pub(crate) fn parse_letters(line: &str, options: usize) -> Option<u32> {
    letters(line, options.min(26)).map(|found| found.fold(0u32, |bits, l| bits | 1 << l))
}

/// A matching line: exactly one letter (see [`letters`]) per item, in order.
fn parse_pairs(line: &str, items: usize, choices: usize) -> Option<Vec<u8>> {
    let given: Vec<u8> = letters(line, choices.min(26))?.take(items + 1).collect();
    (given.len() == items).then_some(given)
}

/// `abc...` as long as a matching question's items (cycling through its choices): the example
/// in its error line.
fn example_pairs(items: usize, choices: usize) -> String {
    (0..items).map(|i| letter(i % choices.max(1))).collect()
}

/// The student's answer to a multiple-choice question: the letter as shown, either case,
/// optionally followed by `)` or `.`.
pub(crate) fn parse_letter(line: &str, options: usize) -> Option<usize> {
    let s = line.trim();
    let s = s
        .strip_suffix(')')
        .or_else(|| s.strip_suffix('.'))
        .unwrap_or(s)
        .trim_end();
    let mut chars = s.chars();
    let c = chars.next()?.to_ascii_lowercase();
    if chars.next().is_some() || !c.is_ascii_lowercase() {
        return None;
    }
    let shown = usize::from(c as u8 - b'a');
    (shown < options).then_some(shown)
}

/// `t`, `true`, `f`, `false` in any case; also `y`/`yes`/`n`/`no`, which students type to
/// "is this statement true?" just as often.
fn parse_true_false(input: &str) -> Option<bool> {
    let word = input.trim();
    let is = |options: &[&str]| options.iter().any(|o| word.eq_ignore_ascii_case(o));
    if is(&["t", "true", "y", "yes"]) {
        Some(true)
    } else if is(&["f", "false", "n", "no"]) {
        Some(false)
    } else {
        None
    }
}

/// A typed number: `42`, `-2`, `+0.5`, `3.14`, `1e3`, or `3,14` (a decimal comma, as many
/// classrooms write it; a comma is read as the decimal mark only when there is no point).
/// Infinity and NaN are not numbers a student means.
pub(crate) fn parse_number(input: &str) -> Option<f64> {
    let text = input.trim();
    let number = match (text.matches(',').count(), text.contains('.')) {
        (0, _) => text.parse::<f64>().ok()?,
        (1, false) => text.replacen(',', ".", 1).parse::<f64>().ok()?,
        _ => return None,
    };
    // `f64::from_str` also takes "inf" and "NaN".
    number.is_finite().then_some(number)
}

/// What a student typed, as graded and recorded: invisible characters dropped (they would hide
/// or reorder text in the teacher's spreadsheet, or make "DNS" followed by a zero-width space
/// a wrong answer), whitespace made spaces, trimmed, cut at [`MAX_RESPONSE_CHARS`].
fn cleaned(input: &str) -> String {
    let text: String = input
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|&c| !crate::text::is_invisible(c))
        .collect();
    text.trim().chars().take(MAX_RESPONSE_CHARS).collect()
}

/// The verdict on a typed (short or numeric) answer: the known answer it matched, if any, with
/// that answer's feedback, else the question's feedback for any other answer.
fn open_answer<'q>(
    typed: String,
    matched: Option<(f64, &'q Option<String>)>,
    otherwise: &'q Option<String>,
) -> Graded<'q> {
    Graded {
        marks: matched.map_or(Marks::ZERO, |(credit, _)| Marks::of_fraction(credit)),
        response: Response::Text(typed.into_boxed_str()),
        feedback: matched
            .map_or(otherwise, |(_, feedback)| feedback)
            .as_deref()
            .map(Cow::Borrowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::ShortAnswer;
    use std::sync::Arc;

    fn question(kind: Kind) -> Question {
        Question::new("Q?", kind, &Arc::from("t.gift"), 1)
    }

    fn text(response: &Response) -> &str {
        match response {
            Response::Text(text) => text,
            _ => panic!("a text response: {response:?}"),
        }
    }

    fn short(text: &str, right: bool, feedback: Option<&str>) -> ShortAnswer {
        ShortAnswer {
            text: text.into(),
            key: normalise(text),
            credit: f64::from(u8::from(right)),
            feedback: feedback.map(Into::into),
        }
    }

    fn numeric(min: f64, max: f64, right: bool, feedback: Option<&str>) -> NumericAnswer {
        NumericAnswer {
            min,
            max,
            credit: f64::from(u8::from(right)),
            feedback: feedback.map(Into::into),
            shown: format!("{min} to {max}"),
        }
    }

    #[test]
    fn the_right_answer_is_named_on_one_line_whatever_breaks_the_bank_put_in_it() {
        let choice = question(Kind::choice(
            vec!["other".into(), "first\nsecond".into()],
            1,
        ));
        assert_eq!(choice.right_answer(&[0, 1]).to_string(), "b) first second");
        let typed = question(Kind::Short {
            answers: vec![short("alpha\r\n\nbeta", true, None)],
            otherwise: None,
        });
        assert_eq!(typed.right_answer(&[]).to_string(), "alpha beta");
    }

    #[test]
    fn invisible_characters_typed_are_dropped_before_grading_and_recording() {
        let q = question(Kind::Short {
            answers: vec![short("DNS", true, None)],
            otherwise: None,
        });
        let graded = q
            .grade("\u{200b} dns\u{200b}\u{feff}", &[])
            .expect("an answer");
        assert!(graded.right());
        assert_eq!(graded.response, Response::Text("dns".into()));
        let n = question(Kind::Numeric {
            answers: vec![numeric(3.0, 3.0, true, None)],
            otherwise: None,
        });
        assert!(n.grade("3\u{200b}", &[]).expect("a number").right());
    }

    #[test]
    fn letters_are_accepted_in_either_case_with_a_paren_or_dot() {
        for answer in ["b", "B", "b)", "B.", "  b  ", "b )"] {
            assert_eq!(parse_letter(answer, 4), Some(1), "{answer:?}");
        }
        for answer in ["", "e", "bb", "1", "b))", "é", "b c"] {
            assert_eq!(parse_letter(answer, 4), None, "{answer:?}");
        }
    }

    #[test]
    fn choice_is_graded_by_the_lettering_the_student_saw_with_that_options_feedback() {
        let q = question(Kind::Choice {
            options: vec!["w".into(), "r".into(), "x".into()],
            correct: 1,
            also_right: Vec::new(),
            feedback: vec![Some("not w".into()), None, Some("not x".into())],
            credit: Vec::new(),
        });
        // Shown as a) x, b) w, c) r.
        let lettering = [2, 0, 1];
        let graded = q.grade("c", &lettering).expect("a letter");
        assert!(graded.right());
        assert_eq!(
            (graded.response, graded.feedback),
            (Response::Choice(1), None)
        );
        let graded = q.grade("A)", &lettering).expect("a letter");
        assert!(!graded.right());
        assert_eq!(
            (graded.response, graded.feedback.as_deref()),
            (Response::Choice(2), Some("not x"))
        );
        assert_eq!(q.right_answer(&lettering).to_string(), "c) r");
        assert_eq!(q.right_answer(&[]).to_string(), "b) r");
        assert_eq!(
            q.grade("d", &lettering),
            Err("answer with a letter from a to c".to_string())
        );
    }

    #[test]
    fn choice_without_feedback_gives_none() {
        let q = question(Kind::choice(vec!["a".into(), "b".into()], 0));
        assert_eq!(q.grade("b", &[0, 1]).expect("a letter").feedback, None);
    }

    #[test]
    fn true_false_takes_t_f_true_false_yes_no_in_any_case() {
        let q = question(Kind::TrueFalse {
            answer: false,
            right_feedback: Some("Indeed.".into()),
            wrong_feedback: Some("No: UDP has no handshake.".into()),
        });
        for input in ["f", "F", "false", "FALSE", " False ", "n", "No"] {
            let graded = q.grade(input, &[]).expect("true or false");
            assert!(graded.right(), "{input:?}");
            assert_eq!(text(&graded.response), "false");
            assert_eq!(graded.feedback.as_deref(), Some("Indeed."));
        }
        for input in ["t", "TRUE", "yes", "Y"] {
            let graded = q.grade(input, &[]).expect("true or false");
            assert!(!graded.right(), "{input:?}");
            assert_eq!(text(&graded.response), "true");
            assert_eq!(
                graded.feedback.as_deref(),
                Some("No: UDP has no handshake.")
            );
        }
        for input in ["", "maybe", "tru", "a", "1"] {
            assert_eq!(
                q.grade(input, &[]),
                Err("answer true or false (or t or f)".to_string()),
                "{input:?}"
            );
        }
        assert_eq!(q.right_answer(&[]).to_string(), "false");
    }

    #[test]
    fn short_answers_ignore_case_and_spacing_and_record_what_was_typed() {
        let q = question(Kind::Short {
            answers: vec![
                short("Domain Name System", true, Some("Yes.")),
                short("DNS", true, None),
                short("dynamic naming", false, Some("Close, but no.")),
            ],
            otherwise: Some("It resolves names.".into()),
        });
        let graded = q.grade("  domain   NAME\tsystem ", &[]).expect("an answer");
        assert!(graded.right());
        assert_eq!(text(&graded.response), "domain   NAME system");
        assert_eq!(graded.feedback.as_deref(), Some("Yes."));
        let graded = q.grade("dns", &[]).expect("an answer");
        assert!(graded.right() && graded.feedback.is_none());
        let graded = q.grade("Dynamic Naming", &[]).expect("an answer");
        assert!(!graded.right());
        assert_eq!(graded.feedback.as_deref(), Some("Close, but no."));
        let graded = q.grade("no idea", &[]).expect("an answer");
        assert!(!graded.right());
        assert_eq!(graded.feedback.as_deref(), Some("It resolves names."));
        assert_eq!(q.grade("   ", &[]), Err("type your answer".to_string()));
        assert_eq!(q.right_answer(&[]).to_string(), "Domain Name System");
    }

    #[test]
    fn short_answers_compare_unicode_case_insensitively() {
        let q = question(Kind::Short {
            answers: vec![short("Ärger", true, None)],
            otherwise: None,
        });
        assert!(q.grade("ÄRGER", &[]).expect("an answer").right());
    }

    #[test]
    fn recorded_text_is_trimmed_cleaned_and_capped() {
        let q = question(Kind::Short {
            answers: vec![short("x", true, None)],
            otherwise: None,
        });
        let graded = q.grade(" a\u{202e}b\u{7}c ", &[]).expect("an answer");
        assert_eq!(text(&graded.response), "abc");
        let long = "y".repeat(500);
        let graded = q.grade(&long, &[]).expect("an answer");
        assert_eq!(text(&graded.response).chars().count(), MAX_RESPONSE_CHARS);
    }

    #[test]
    fn numbers_are_read_with_a_point_a_comma_a_sign_or_an_exponent() {
        for (input, want) in [
            ("9.81", 9.81),
            ("-2", -2.0),
            ("+0.5", 0.5),
            ("1e3", 1000.0),
            ("9,81", 9.81),
            (" 42 ", 42.0),
            (".5", 0.5),
        ] {
            assert_eq!(parse_number(input), Some(want), "{input:?}");
        }
        for input in [
            "", "pi", "1,000.5", "1,2,3", "inf", "NaN", "3 14", "5 ms", "0x10",
        ] {
            assert_eq!(parse_number(input), None, "{input:?}");
        }
    }

    #[test]
    fn numeric_answers_match_their_range_with_slack_first_match_wins() {
        // Gravity at the Earth's surface, to within 0.01 m/s².
        let q = question(Kind::Numeric {
            answers: vec![
                numeric(9.81 - 0.01, 9.81 + 0.01, true, Some("Good.")),
                numeric(10.0, 10.0, false, Some("More digits, please.")),
            ],
            otherwise: Some("g is about 9.81 m/s².".into()),
        });
        for input in ["9.80", "9.82", "9,81", "9.815"] {
            let graded = q.grade(input, &[]).expect("a number");
            assert!(graded.right(), "{input:?}");
            assert_eq!(graded.feedback.as_deref(), Some("Good."));
        }
        let graded = q.grade("10", &[]).expect("a number");
        assert!(!graded.right());
        assert_eq!(graded.feedback.as_deref(), Some("More digits, please."));
        assert_eq!(text(&graded.response), "10");
        let graded = q.grade("9.83", &[]).expect("a number");
        assert!(!graded.right());
        assert_eq!(graded.feedback.as_deref(), Some("g is about 9.81 m/s²."));
        assert_eq!(
            q.grade("nine", &[]),
            Err("answer with a number, like 42, -2, 3.14 or 1e3".to_string())
        );
    }

    #[test]
    fn an_exact_numeric_answer_accepts_the_same_number_written_differently() {
        let exact = numeric(1500.0, 1500.0, true, None);
        for input in ["1500", "1500.0", "1.5e3", "1500,0"] {
            let number = parse_number(input).expect("a number");
            assert!(exact.accepts(number), "{input:?}");
        }
        assert!(!exact.accepts(1500.001));
    }
}
