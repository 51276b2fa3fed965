//! Item analysis: which questions the class got wrong, and which wrong answer drew them.
//!
//! The figures are those of Moodle's quiz statistics report ("Quiz statistics calculations"
//! in Moodle's developer documentation), per question `i`, over the attempts that reached it,
//! with `x` the marks an attempt earned on it (0 to 1) and `X` its marks on the rest of the
//! quiz (its score less `x`):
//!
//! - **facility**: the mean of `x`, as a percent (for a right-or-wrong question, the share
//!   who got it right);
//! - **SD**: the standard deviation of `x` (sample, `n - 1`);
//! - **discrimination**: `100 r(x, X)`, Pearson's correlation between the marks on the
//!   question and on the rest of the quiz: near 100% a question the strong students get and
//!   the weak miss; near 0 or below, one that does not tell them apart (often a wrong key or an
//!   ambiguous text);
//! - **mean time**: seconds from the question showing to its answer (or its clock running
//!   out).
//!
//! Each answer given is counted (`b`, `ac`, `"cat"`), with the one that earned no marks and
//! drew the most students named. An essay (marked by the teacher) is counted, not scored.
//!
//! Everything is read from results rows, the same rows the CSV holds: `quizd report FILE`
//! parses the file, and the console's `report` feeds each row as it is written (see
//! [`Tally::add_attempt`]), so the two agree by construction, and a test holds them to it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::bank::{Kind, Marks, Question};
use crate::quiz::Quiz;
use crate::room::roster::Attempt;

/// Gives the marks of question `number`'s answer as written, from the bank: for a file
/// written before 0.5, which has no marks column.
pub type Regrade<'a> = &'a dyn Fn(u32, &str) -> Option<Marks>;

/// Different answers counted one by one per question (the rest of a freely typed class's
/// answers are only counted), so a run's analysis stays small however much is typed.
pub const MAX_DISTINCT_ANSWERS: usize = 500;

/// One attempt's row, as item analysis reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The attempt's score (marks).
    pub total: Marks,
    /// Per question reached or listed: bank number (1-based), the answer as the `answers`
    /// column writes it (`None`: no answer), its marks (`None`: an essay, or not reached) and
    /// whether it was reached, and its seconds.
    pub questions: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub number: u32,
    pub answer: Option<String>,
    pub marks: Option<Marks>,
    pub reached: bool,
    pub seconds: Option<f64>,
}

/// Splits a per-question column (`1:a 2:- 3:"no one"`) into `(number, cell)` pairs; quoted
/// cells keep their backslash escapes.
pub fn cells(column: &str) -> Vec<(u32, &str)> {
    let mut out = Vec::new();
    let mut rest = column.trim_start();
    while !rest.is_empty() {
        let Some(colon) = rest.find(':') else { break };
        let Ok(number) = rest[..colon].parse::<u32>() else {
            break;
        };
        let after = &rest[colon + 1..];
        let end = if after.starts_with('"') {
            // To the closing quote, skipping `\"` and `\\`.
            let bytes = after.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            (i + 1).min(after.len())
        } else {
            after.find(' ').unwrap_or(after.len())
        };
        out.push((number, &after[..end]));
        rest = after[end..].trim_start();
    }
    out
}

impl Facts {
    /// From a row's columns: `score`, `answers`, `marks` and `seconds` (the last two empty in a
    /// file written before 0.5: then `regrade` gives an answer's marks, from the bank).
    pub fn from_columns(
        score: &str,
        answers: &str,
        marks: &str,
        seconds: &str,
        regrade: Option<Regrade<'_>>,
    ) -> Option<Facts> {
        let score = Marks::parse(score)?;
        let has_marks = !marks.is_empty();
        let marks: HashMap<u32, &str> = cells(marks).into_iter().collect();
        let seconds: HashMap<u32, &str> = cells(seconds).into_iter().collect();
        let questions = cells(answers)
            .into_iter()
            .map(|(number, answer)| {
                let answer = (answer != "-").then(|| answer.to_string());
                let (marks, reached) = match marks.get(&number) {
                    Some(&"-") => (None, false),
                    Some(&"?") => (None, true),
                    Some(m) => (Marks::parse(m), true),
                    None => (
                        match (&answer, regrade) {
                            (Some(a), Some(regrade)) => regrade(number, a),
                            (None, _) => Some(Marks::ZERO),
                            _ => None,
                        },
                        true,
                    ),
                };
                Item {
                    number,
                    answer,
                    marks,
                    reached,
                    seconds: seconds.get(&number).and_then(|s| s.parse().ok()),
                }
            })
            .collect::<Vec<Item>>();
        // The score, exactly: the column's marks added up (the `score` column is rounded to
        // hundredths); a file without them has whole scores.
        let total = if has_marks {
            questions
                .iter()
                .filter_map(|item| item.marks)
                .fold(Marks::ZERO, |a, b| a + b)
        } else {
            score
        };
        Some(Facts { total, questions })
    }

    /// From an attempt, as its results row writes it (the same cells, not written and read
    /// back).
    pub fn from_attempt(attempt: &Attempt, quiz: &Quiz) -> Facts {
        let mut questions: Vec<Item> = attempt
            .responses
            .iter()
            .enumerate()
            .map(|(i, (q, answer))| {
                let (marks, reached) = crate::results::outcome(attempt, i, *q, answer, quiz);
                Item {
                    number: q + 1,
                    answer: answer.as_ref().map(crate::results::answer_cell),
                    marks,
                    reached,
                    seconds: crate::results::seconds_of(attempt, i),
                }
            })
            .collect();
        questions.sort_by_key(|item| item.number);
        Facts {
            total: questions
                .iter()
                .filter_map(|item| item.marks)
                .fold(Marks::ZERO, |a, b| a + b),
            questions,
        }
    }
}

/// Sums over attempts for one question: enough for every figure, added to one row at a time.
#[derive(Debug, Clone, Default, PartialEq)]
struct Sums {
    reached: u64,
    /// Scored (not essays): count and the sums for the mean, SD and correlation.
    n: u64,
    x: f64,
    xx: f64,
    rest: f64,
    rest2: f64,
    x_rest: f64,
    timed: u64,
    seconds: f64,
    /// Each answer as written, with how many gave it and the marks it earned.
    answers: BTreeMap<String, (u64, Option<Marks>)>,
    unanswered: u64,
    /// Answers given once [`MAX_DISTINCT_ANSWERS`] different ones were being counted.
    others: u64,
}

/// The running analysis: rows are added as they come.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    attempts: u64,
    totals: f64,
    totals2: f64,
    items: BTreeMap<u32, Sums>,
}

impl Tally {
    pub fn add(&mut self, facts: &Facts) {
        self.attempts += 1;
        let total = f64::from(facts.total.units()) / f64::from(Marks::UNIT);
        self.totals += total;
        self.totals2 += total * total;
        for item in &facts.questions {
            if !item.reached {
                continue;
            }
            let sums = self.items.entry(item.number).or_default();
            sums.reached += 1;
            if let Some(marks) = item.marks {
                let x = f64::from(marks.units()) / f64::from(Marks::UNIT);
                let rest = total - x;
                sums.n += 1;
                sums.x += x;
                sums.xx += x * x;
                sums.rest += rest;
                sums.rest2 += rest * rest;
                sums.x_rest += x * rest;
            }
            if let Some(s) = item.seconds {
                sums.timed += 1;
                sums.seconds += s;
            }
            match &item.answer {
                Some(answer) => {
                    let full = sums.answers.len() >= MAX_DISTINCT_ANSWERS;
                    match sums.answers.get_mut(answer) {
                        Some(entry) => entry.0 += 1,
                        // A class typing freely gives as many answers as students: the tally
                        // keeps the first few hundred, the rest only counted.
                        None if full => sums.others += 1,
                        None => {
                            sums.answers.insert(answer.clone(), (1, item.marks));
                        }
                    }
                }
                None => sums.unanswered += 1,
            }
        }
    }

    /// Adds a finished attempt, read exactly as its results row reads.
    pub fn add_attempt(&mut self, attempt: &Attempt, quiz: &Quiz) {
        self.add(&Facts::from_attempt(attempt, quiz));
    }

    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// The figures, per question in bank order.
    pub fn items(&self) -> Vec<ItemStats> {
        self.items
            .iter()
            .map(|(&number, s)| {
                let n = s.n as f64;
                let mean = (s.n > 0).then(|| s.x / n);
                let sd = (s.n > 1).then(|| ((s.xx - s.x * s.x / n) / (n - 1.0)).max(0.0).sqrt());
                let cov = s.x_rest - s.x * s.rest / n;
                let var_x = s.xx - s.x * s.x / n;
                let var_rest = s.rest2 - s.rest * s.rest / n;
                let discrimination = (s.n > 1 && var_x > 1e-12 && var_rest > 1e-12)
                    .then(|| 100.0 * cov / (var_x * var_rest).sqrt());
                let mut answers: Vec<(String, u64, Option<Marks>)> = s
                    .answers
                    .iter()
                    .map(|(a, &(count, marks))| (a.clone(), count, marks))
                    .collect();
                answers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let top_wrong = answers
                    .iter()
                    .find(|(_, _, marks)| *marks == Some(Marks::ZERO))
                    .map(|(a, count, _)| (a.clone(), *count));
                ItemStats {
                    number,
                    reached: s.reached,
                    scored: s.n,
                    facility: mean.map(|m| 100.0 * m),
                    sd,
                    discrimination,
                    mean_seconds: (s.timed > 0).then(|| s.seconds / s.timed as f64),
                    answers,
                    unanswered: s.unanswered,
                    others: s.others,
                    top_wrong,
                }
            })
            .collect()
    }

    /// The mean score of the attempts, in marks.
    pub fn mean_score(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.totals / self.attempts as f64)
    }
}

/// One question's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStats {
    /// Bank number (1-based, file order).
    pub number: u32,
    /// Attempts that reached it, and of those with marks (not essays).
    pub reached: u64,
    pub scored: u64,
    /// Percent (0 to 100).
    pub facility: Option<f64>,
    pub sd: Option<f64>,
    /// Percent (-100 to 100).
    pub discrimination: Option<f64>,
    pub mean_seconds: Option<f64>,
    /// Each answer given, most given first: as written, how many, its marks.
    pub answers: Vec<(String, u64, Option<Marks>)>,
    pub unanswered: u64,
    /// Answers past the [`MAX_DISTINCT_ANSWERS`] different ones counted one by one.
    pub others: u64,
    /// The answer worth nothing that the most students gave.
    pub top_wrong: Option<(String, u64)>,
}

/// An answer as the `answers` column writes it, named for a reader: `b` becomes `b) connect()`
/// when the bank is known and `b` is one of the question's lettered options.
pub fn answer_named(answer: &str, question: Option<&Question>) -> String {
    let single = answer.len() == 1 && answer.as_bytes()[0].is_ascii_lowercase();
    match (question.map(|q| &q.kind), single) {
        (Some(Kind::Choice { options, .. } | Kind::Multiple { options, .. }), true) => {
            let index = usize::from(answer.as_bytes()[0] - b'a');
            match options.get(index) {
                Some(text) => format!("{answer}) {}", crate::text::sanitize(text, 40)),
                None => answer.to_string(),
            }
        }
        _ => crate::text::sanitize(answer, 40),
    }
}

/// The report as lines of text (console `report`, `quizd report`): a summary line, a table of
/// every question, then each question's answers. `questions`: the bank, when known.
pub fn render(tally: &Tally, questions: Option<&[Question]>) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(mean) = tally.mean_score() else {
        lines.push("no attempts yet".to_string());
        return lines;
    };
    lines.push(format!(
        "{} attempt(s), mean score {mean:.2}. Facility: the mean mark (% right);",
        tally.attempts(),
    ));
    lines.push(
        "discrimination: its correlation with the rest of the quiz (Moodle's figures).".to_string(),
    );
    let items = tally.items();
    let question = |number: u32| {
        number
            .checked_sub(1)
            .and_then(|i| questions.and_then(|qs| qs.get(i as usize)))
    };
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            vec![
                item.number.to_string(),
                item.reached.to_string(),
                item.facility
                    .map_or("-".to_string(), |f| format!("{f:.0}%")),
                item.discrimination
                    .map_or("-".to_string(), |d| format!("{:.0}%", d.round() + 0.0)),
                item.mean_seconds
                    .map_or("-".to_string(), |s| format!("{s:.1}")),
                item.top_wrong.as_ref().map_or("-".to_string(), |(a, n)| {
                    format!(
                        "{} ({}%)",
                        crate::text::sanitize(&answer_named(a, question(item.number)), 26),
                        percent(*n, item.reached)
                    )
                }),
            ]
        })
        .collect();
    lines.extend(crate::console::render::table(
        &[
            "#",
            "asked",
            "facility",
            "discrim.",
            "mean s",
            "most chosen wrong answer",
        ],
        &[true, true, true, true, true, false],
        &cells,
    ));
    for item in &items {
        if let Some(q) = question(item.number) {
            lines.push(format!(
                "{}. {}",
                item.number,
                crate::text::sanitize(&q.text.replace('\n', " "), 72)
            ));
        }
        // The answers given, most first, in lines that fit 80 columns.
        let mut parts: Vec<String> = item
            .answers
            .iter()
            .take(12)
            .map(|(answer, count, marks)| {
                let mark = match marks {
                    Some(m) if m.is_full() => "*",
                    Some(m) if m.is_partial() => "~",
                    _ => "",
                };
                format!("{}{mark} {count}", crate::text::sanitize(answer, 24))
            })
            .collect();
        let rest: u64 = item.answers.iter().skip(12).map(|a| a.1).sum::<u64>() + item.others;
        if rest > 0 {
            parts.push(format!("{rest} other answers"));
        }
        parts.push(format!("none {}", item.unanswered));
        let mut line = format!("{}:", item.number);
        for (i, part) in parts.iter().enumerate() {
            let sep = if i == 0 { " " } else { " | " };
            if crate::text::display_width(line.as_bytes()) + sep.len() + part.len() > 78 {
                lines.push(std::mem::replace(&mut line, "  ".to_string()));
                let _ = write!(line, " {part}");
            } else {
                let _ = write!(line, "{sep}{part}");
            }
        }
        lines.push(line);
    }
    lines.push("(* right, ~ part of the mark)".to_string());
    lines
}

fn percent(part: u64, whole: u64) -> u64 {
    (part * 100 + whole / 2).checked_div(whole).unwrap_or(0)
}

/// Reads a results file's rows (RFC 4180), header first.
pub fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            (false, c) => field.push(c),
        }
    }
    if any {
        record.push(field);
        records.push(record);
    }
    records
}

/// What `quizd report FILE [BANK]` analyses: the rows of the file's latest quiz (a file may
/// hold several, one after another), and a line saying which.
pub fn from_results(text: &str, questions: Option<&[Question]>) -> Result<(Tally, String), String> {
    let records = csv_records(text);
    let Some((header, rows)) = records.split_first() else {
        return Err("the results file is empty".into());
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(quiz), Some(score), Some(answers)) =
        (column("quiz"), column("score"), column("answers"))
    else {
        return Err(
            "not a quizd results file: its header has no quiz, score and answers columns".into(),
        );
    };
    let (marks, seconds) = (column("marks"), column("seconds"));
    if marks.is_none() && questions.is_none() {
        return Err(
            "this results file has no marks column (written before quizd 0.5): give the bank \
             too, as in quizd report results.csv BANK"
                .into(),
        );
    }
    let latest = rows
        .iter()
        .rev()
        .find_map(|r| r.get(quiz))
        .cloned()
        .ok_or("the results file has no rows yet")?;
    let regrade = |number: u32, answer: &str| -> Option<Marks> {
        let question = questions?.get(number.checked_sub(1)? as usize)?;
        question.marks_for(&response_of(answer, &question.kind)?)
    };
    let mut tally = Tally::default();
    let (mut other, mut bad) = (0, 0);
    for row in rows {
        if row.get(quiz) != Some(&latest) {
            other += 1;
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map_or("", String::as_str);
        match Facts::from_columns(
            cell(Some(score)),
            cell(Some(answers)),
            cell(marks),
            cell(seconds),
            Some(&regrade),
        ) {
            Some(facts) => tally.add(&facts),
            None => bad += 1,
        }
    }
    let mut about = format!("quiz {latest}");
    if other > 0 {
        let _ = write!(about, " ({other} row(s) of other quizzes left out)");
    }
    if bad > 0 {
        let _ = write!(about, " ({bad} row(s) could not be read)");
    }
    Ok((tally, about))
}

/// An answer cell read back as a response, for regrading a file without a marks column.
fn response_of(answer: &str, kind: &Kind) -> Option<crate::bank::Response> {
    use crate::bank::Response;
    let letters = || answer.bytes().all(|b| b.is_ascii_lowercase());
    match kind {
        Kind::Choice { .. } if answer.len() == 1 && letters() => {
            Some(Response::Choice(answer.as_bytes()[0] - b'a'))
        }
        Kind::Multiple { .. } if letters() => Some(Response::Picks(
            answer
                .bytes()
                .fold(0, |bits, b| bits | 1 << (b - b'a').min(31)),
        )),
        Kind::Matching { .. } if letters() => {
            Some(Response::Pairs(answer.bytes().map(|b| b - b'a').collect()))
        }
        _ => {
            let inner = answer.strip_prefix('"')?.strip_suffix('"')?;
            let mut text = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                text.push(if c == '\\' { chars.next()? } else { c });
            }
            Some(Response::Text(text.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "finished_at,name,peer,quiz,score,max,percent,duration_s,answers,status,attempt,points,to_grade,marks,seconds,attempt_id\r\n";

    fn row(name: &str, score: &str, answers: &str, marks: &str, seconds: &str) -> String {
        format!(
            "2026-12-01T09:00:00Z,{name},127.0.0.1:5000,net,{score},3,0,60.0,{},completed,1,,,\
             {marks},{seconds},00000000-1\r\n",
            crate::results::csv_text(answers)
        )
    }

    /// Four students, three questions whose right letters are a, b and c. Worked by hand:
    ///
    /// | | q1 | q2 | q3 | total |
    /// |---|---|---|---|---|
    /// | ann | a (1) | b (1) | c (1) | 3 |
    /// | bo | a (1) | b (1) | a (0) | 2 |
    /// | cy | c (0) | b (1) | - (0) | 1 |
    /// | di | c (0) | d (0) | b (0) | 0 |
    ///
    /// q1: x = 1 1 0 0, rest = 2 1 1 0: Σx 2, Σx² 2, Σr 4, Σr² 6, Σxr 3; cov 3 - 2·4/4 = 1,
    /// var x 2 - 4/4 = 1, var r 6 - 16/4 = 2: r = 1/√2 = 70.7%; facility 50%; SD √(1/3).
    /// q2: x = 1 1 1 0, rest = 2 1 0 0: cov 3 - 9/4 = 0.75, var x 0.75, var r 5 - 9/4 = 2.75:
    /// r = 0.75/√(0.75·2.75) = 52.2%; facility 75%.
    /// q3: x = 1 0 0 0, rest = 2 2 1 0: cov 2 - 5/4 = 0.75, var x 0.75, var r 9 - 25/4 = 2.75:
    /// 52.2%; facility 25%.
    fn class() -> String {
        [
            HEADER.to_string(),
            row(
                "ann",
                "3",
                "1:a 2:b 3:c",
                "1:1 2:1 3:1",
                "1:4.0 2:6.0 3:8.0",
            ),
            row("bo", "2", "1:a 2:b 3:a", "1:1 2:1 3:0", "1:2.0 2:6.0 3:8.0"),
            row(
                "cy",
                "1",
                "1:c 2:b 3:-",
                "1:0 2:1 3:0",
                "1:6.0 2:6.0 3:30.0",
            ),
            row("di", "0", "1:c 2:d 3:b", "1:0 2:0 3:0", "1:8.0 2:6.0 3:-"),
        ]
        .concat()
    }

    #[test]
    fn figures_match_the_hand_worked_example_with_moodles_formulas() {
        let (tally, about) = from_results(&class(), None).expect("a results file");
        assert_eq!(about, "quiz net");
        assert_eq!(tally.attempts(), 4);
        assert_eq!(tally.mean_score(), Some(1.5));
        let items = tally.items();
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        let q1 = &items[0];
        assert_eq!((q1.number, q1.reached, q1.scored), (1, 4, 4));
        assert!(close(q1.facility, 50.0), "{q1:?}");
        assert!(close(q1.discrimination, 100.0 / 2f64.sqrt()), "{q1:?}");
        assert!(close(q1.sd, (1.0f64 / 3.0).sqrt()), "{q1:?}");
        assert!(close(q1.mean_seconds, 5.0), "{q1:?}");
        assert_eq!(q1.top_wrong, Some(("c".to_string(), 2)));
        let q2 = &items[1];
        assert!(close(q2.facility, 75.0));
        assert!(close(
            q2.discrimination,
            100.0 * 0.75 / (0.75f64 * 2.75).sqrt()
        ));
        assert_eq!(q2.top_wrong, Some(("d".to_string(), 1)));
        let q3 = &items[2];
        assert!(close(q3.facility, 25.0));
        assert!(close(
            q3.discrimination,
            100.0 * 0.75 / (0.75f64 * 2.75).sqrt()
        ));
        // cy left q3 unanswered when its time ran out: reached, counted as none.
        assert_eq!((q3.unanswered, q3.answers.len()), (1, 3));
        assert!(
            close(q3.mean_seconds, 46.0 / 3.0),
            "the untimed one is left out"
        );
        let lines = render(&tally, None);
        assert_eq!(
            lines[3], "1      4       50%       71%     5.0  c (50%)",
            "{lines:#?}"
        );
        assert_eq!(lines[6], "1: a* 2 | c 2 | none 0", "{lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 80));
    }

    #[test]
    fn a_question_everyone_got_right_has_no_discrimination_and_old_files_need_the_bank() {
        let text = [
            HEADER.to_string(),
            row("ann", "1", "1:a", "1:1", "1:1.0"),
            row("bo", "1", "1:a", "1:1", "1:1.0"),
        ]
        .concat();
        let (tally, _) = from_results(&text, None).expect("a results file");
        assert_eq!(tally.items()[0].discrimination, None);
        assert_eq!(tally.items()[0].facility, Some(100.0));
        let old = "finished_at,name,peer,quiz,score,max,percent,duration_s,answers,status\r\n\
                   x,ann,p,net,1,1,100,1.0,1:a,completed\r\n";
        assert!(
            from_results(old, None)
                .unwrap_err()
                .contains("give the bank")
        );
        assert!(from_results("", None).is_err());
        assert!(
            from_results("a,b\r\n", None)
                .unwrap_err()
                .contains("not a quizd results file")
        );
    }

    #[test]
    fn freely_typed_answers_are_counted_one_by_one_up_to_the_limit_then_only_counted() {
        let mut tally = Tally::default();
        for i in 0..MAX_DISTINCT_ANSWERS + 7 {
            tally.add(&Facts {
                total: Marks::ZERO,
                questions: vec![Item {
                    number: 1,
                    answer: Some(format!("\"guess {i}\"")),
                    marks: Some(Marks::ZERO),
                    reached: true,
                    seconds: None,
                }],
            });
        }
        let item = &tally.items()[0];
        assert_eq!((item.answers.len(), item.others), (MAX_DISTINCT_ANSWERS, 7));
        assert_eq!(item.reached, (MAX_DISTINCT_ANSWERS + 7) as u64);
        let rest = format!("{} other answers", MAX_DISTINCT_ANSWERS - 12 + 7);
        let lines = render(&tally, None);
        assert!(lines.iter().any(|l| l.contains(&rest)), "{lines:#?}");
    }

    #[test]
    fn only_the_latest_quiz_in_a_file_is_analysed_and_quoted_answers_are_read_whole() {
        let text = [
            HEADER.to_string(),
            row("ann", "1", "1:a", "1:1", "1:1.0").replace(",net,", ",old,"),
            row("bo", "0.5", "1:\"cat, \\\"felix\\\"\"", "1:0.5", "1:2.0"),
        ]
        .concat();
        let (tally, about) = from_results(&text, None).expect("a results file");
        assert_eq!(about, "quiz net (1 row(s) of other quizzes left out)");
        let items = tally.items();
        assert_eq!(items[0].answers[0].0, "\"cat, \\\"felix\\\"\"");
        assert_eq!(items[0].answers[0].2, Some(Marks::from_units(5_000)));
    }
}
