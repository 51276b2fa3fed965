//! What the projector board shows ([`crate::board`]), as JSON: made from the same state the
//! console's `who`, `top` and `report` read, and only what the class may see (names, counts,
//! the question and its answers once closed; never resume codes or addresses).

use std::time::Instant;

use serde_json::{Value, json};

use super::Room;
use super::live::Phase;
use crate::bank::{Kind, Marks, Question};

/// Rows of the leaderboard on the board, and names shown in the lobby.
const BOARD_ROWS: usize = 5;
const LOBBY_NAMES: usize = 120;
/// Questions listed on the board (bars), at most.
const BOARD_QUESTIONS: usize = 60;
/// Questions the class found hardest, shown from the item analysis.
const MISSED: usize = 3;

fn text(s: &str, max: usize) -> String {
    crate::text::sanitize(s, max)
}

/// A question as the board shows it: text, kind, lettered options or matching items.
fn question_json(q: &Question) -> Value {
    let (kind, items) = match &q.kind {
        Kind::Choice { .. } => ("choice", Vec::new()),
        Kind::Multiple { .. } => ("multiple", Vec::new()),
        Kind::Matching { items, .. } => ("matching", items.iter().map(|i| text(i, 120)).collect()),
        Kind::TrueFalse { .. } => ("truefalse", Vec::new()),
        Kind::Short { .. } => ("short", Vec::new()),
        Kind::Numeric { .. } => ("numeric", Vec::new()),
        Kind::Essay => ("essay", Vec::new()),
    };
    // The text keeps its line breaks (the page shows them); each line is made safe.
    let body: Vec<String> = q.text.split('\n').map(|l| text(l, 400)).collect();
    json!({
        "text": body.join("\n"),
        "kind": kind,
        "options": q.kind.lettered().iter().map(|o| text(o, 160)).collect::<Vec<_>>(),
        "items": items,
    })
}

/// Whether bank option `i` of a one-answer question is right (full marks).
fn option_right(q: &Question, i: usize) -> bool {
    match &q.kind {
        Kind::Choice {
            correct,
            also_right,
            credit,
            ..
        } => match credit.get(i) {
            Some(&c) => crate::bank::full_credit(c),
            None => i == *correct || also_right.contains(&i),
        },
        _ => false,
    }
}

impl Room {
    /// Changes whenever what the board shows may have: answers, arrivals, departures, ends,
    /// the live game moving, another quiz.
    pub fn board_version(&self) -> u64 {
        let c = &self.shared.counters;
        let live = self.shared.live.as_ref().map_or(0, |l| match l.phase() {
            Phase::Lobby => 1,
            Phase::Open { index, .. } => 2 + 4 * index as u64,
            Phase::Closed { index, .. } => 3 + 4 * index as u64,
            Phase::Over => 4,
        });
        [
            c.answers,
            c.timeouts,
            c.started,
            c.finished,
            self.students as u64,
            self.shared.roster.len() as u64,
            self.shared.roster.parked() as u64,
            live,
            u64::from(self.shared.rounds),
            self.items.attempts(),
            self.shared.quiz.questions.len() as u64,
        ]
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &x| {
            (h ^ x).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The board's state now, as one line of JSON.
    pub fn board_state(&self, now: Instant) -> String {
        let quiz = &self.shared.quiz;
        let roster = &self.shared.roster;
        let mut state = json!({
            "title": text(&quiz.title, 80),
            "mode": if self.shared.live.is_some() { "live" } else { "self-paced" },
            "questions": quiz.count(),
            "connected": self.students,
            "answering": roster.len().saturating_sub(roster.parked()),
            "finished": self.items.attempts(),
            "scores": self.scores,
        });
        if let Some(live) = self.shared.live.as_ref() {
            state["live"] = self.live_json(live, now);
        } else {
            // The questions answered so far (with `-n`, a few of a large bank), in bank order.
            let items: Vec<Value> = quiz
                .questions
                .iter()
                .enumerate()
                .filter(|(i, q)| {
                    !q.is_essay() && self.shared.item_marks.get(*i).is_some_and(|m| m.0 > 0)
                })
                .take(BOARD_QUESTIONS)
                .map(|(i, _)| {
                    let (answers, units) = self.shared.item_marks.get(i).copied().unwrap_or((0, 0));
                    let percent = (answers > 0).then(|| {
                        (units as f64 * 100.0 / (f64::from(answers) * f64::from(Marks::UNIT)))
                            .round()
                    });
                    json!({
                        "number": i + 1,
                        "answers": answers,
                        "percent": percent,
                    })
                })
                .collect();
            state["items"] = Value::from(items);
        }
        // The questions most missed name answers: shown once nobody is still answering
        // (self-paced) or the round is over (live), never as a hint to someone mid-quiz.
        let done = match self.shared.live.as_ref() {
            Some(live) => {
                matches!(live.phase(), Phase::Over)
                    || (live.phase() == Phase::Lobby && !self.last_round.is_empty())
            }
            None => self.shared.roster.is_empty(),
        };
        if self.items.attempts() > 0 && done {
            state["report"] = self.report_json();
        }
        state.to_string()
    }

    fn live_json(&self, live: &super::live::Live, now: Instant) -> Value {
        let quiz = &self.shared.quiz;
        let standings = if live.phase() == Phase::Lobby && !self.last_round.is_empty() {
            self.last_round.clone()
        } else {
            self.live_standings()
        };
        // While a question is open the standings would tell who just answered right: they are
        // shown between questions only.
        let open = matches!(live.phase(), Phase::Open { .. });
        let leaderboard: Vec<Value> = standings
            .iter()
            .filter(|_| !open)
            .take(BOARD_ROWS.max(3))
            .map(|row| {
                json!({
                    "rank": row.rank,
                    "name": text(&row.name, crate::limits::MAX_NAME_CHARS),
                    "points": row.points.clone().unwrap_or_default(),
                    "time": crate::text::seconds_tenths(row.time),
                })
            })
            .collect();
        let (phase, index) = match live.phase() {
            Phase::Lobby => ("lobby", None),
            Phase::Open { index, .. } => ("open", Some(index)),
            Phase::Closed { index, .. } => ("closed", Some(index)),
            Phase::Over => ("over", live.order.len().checked_sub(1)),
        };
        // The lobby's names, in order, the first few: made only for the lobby (a year group
        // is thousands of names), each key lowered once.
        let here = self.shared.roster.len();
        let names: Vec<String> = if live.phase() == Phase::Lobby {
            let mut all: Vec<&str> = self
                .shared
                .roster
                .seats()
                .map(|s| s.name.as_str())
                .collect();
            all.sort_by_cached_key(|n| n.to_lowercase());
            all.iter()
                .take(LOBBY_NAMES)
                .map(|n| text(n, crate::limits::MAX_NAME_CHARS))
                .collect()
        } else {
            Vec::new()
        };
        // A round just ended: its podium stays up until the next `start`.
        let podium = matches!(live.phase(), Phase::Over)
            || (live.phase() == Phase::Lobby && !self.last_round.is_empty());
        let mut out = json!({
            "phase": phase,
            "podium": podium,
            "final": if podium { self.last_results.clone().unwrap_or(Value::Null) } else { Value::Null },
            "round": self.shared.rounds,
            "count": live.order.len(),
            "here": here,
            "names": names,
            "leaderboard": leaderboard,
        });
        let Some(index) = index else {
            return out;
        };
        let Some(question) = live
            .order
            .get(index)
            .and_then(|&q| quiz.questions.get(q as usize))
        else {
            return out;
        };
        out["index"] = Value::from(index);
        out["question"] = question_json(question);
        let answered: u32 = live.tally().iter().sum();
        out["answered"] = Value::from(answered);
        if let Some((_, closes)) = live.clock() {
            out["present"] = Value::from(answered as usize + live.waiting_for());
            out["closes_in_ms"] = closes.map_or(Value::Null, |at| {
                Value::from(at.saturating_duration_since(now).as_millis() as u64)
            });
            out["limit_ms"] = live
                .limit()
                .map_or(Value::Null, |l| Value::from(l.as_millis() as u64));
            return out;
        }
        // Closed (or over): the distribution, the right answer marked (unless answers are not
        // revealed: `--no-reveal`).
        let reveal = quiz.settings.reveal;
        let asked = self
            .shared
            .roster
            .seats()
            .filter(|s| s.first <= index)
            .count();
        let count = |slot: usize| live.tally().get(slot).copied().unwrap_or(0);
        let distribution: Vec<Value> = match &question.kind {
            Kind::Choice { options, .. } => options
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    json!({
                        "label": crate::text::letter(i).to_string(),
                        "text": text(o, 160),
                        "count": count(i),
                        "right": reveal && option_right(question, i),
                    })
                })
                .collect(),
            Kind::Essay => {
                vec![json!({"label": "answered", "text": "", "count": answered, "right": false})]
            }
            _ if !reveal => {
                vec![json!({"label": "answered", "text": "", "count": answered, "right": false})]
            }
            _ => vec![
                json!({"label": "right", "text": "", "count": count(0), "right": true}),
                json!({"label": "partly", "text": "", "count": count(2), "right": false}),
                json!({"label": "wrong", "text": "", "count": count(1), "right": false}),
            ],
        };
        out["distribution"] = Value::from(distribution);
        out["none"] = Value::from(asked.saturating_sub(answered as usize));
        if reveal {
            let order = quiz.option_order(0, live.order[index]);
            out["answer"] = Value::from(text(
                &question.right_answer(order.as_slice()).to_string(),
                200,
            ));
        }
        out
    }

    /// The last question's results as the board shows them when a round ends (the room goes
    /// on to the next round's lobby at once): kept for the page to show before the podium.
    pub(super) fn final_results(&self, now: Instant) -> Option<Value> {
        let live = self.shared.live.as_ref()?;
        let mut state = self.live_json(live, now);
        state["podium"] = Value::from(false);
        state["final"] = Value::Null;
        Some(state)
    }

    /// The item analysis, as the console's `report` has it: the questions the class found
    /// hardest (lowest facility first), each with the wrong answer most chose.
    fn report_json(&self) -> Value {
        let questions = &self.shared.quiz.questions;
        let mut hardest = self.items.items();
        hardest.retain(|item| item.facility.is_some());
        hardest.sort_by(|a, b| {
            a.facility
                .partial_cmp(&b.facility)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.number.cmp(&b.number))
        });
        let items: Vec<Value> = hardest
            .iter()
            .take(MISSED)
            .map(|item| {
                let question = questions.get(item.number as usize - 1);
                json!({
                    "number": item.number,
                    "text": question.map(|q| text(&q.text, 90)).unwrap_or_default(),
                    "reached": item.reached,
                    "facility": item.facility.map(f64::round),
                    "discrimination": item.discrimination.map(f64::round),
                    "mean_seconds": item.mean_seconds.map(|s| (s * 10.0).round() / 10.0),
                    "top_wrong": item.top_wrong.as_ref().map(|(a, n)| json!({
                        "answer": crate::report::answer_named(a, question),
                        "count": n,
                    })),
                })
            })
            .collect();
        json!({
            "attempts": self.items.attempts(),
            "mean": self.items.mean_score().map(|m| (m * 100.0).round() / 100.0),
            "items": items,
        })
    }
}
