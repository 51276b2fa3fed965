//! The teacher-paced ("live") game shared by every student, as pure code.
//!
//! In live mode everyone gets the same questions in the same order, with the same lettering, at
//! the same instant. The teacher's `start` opens question 1; a question closes when every
//! student present has answered or its clock runs out; then each student sees their verdict,
//! the room's answer distribution, the leaderboard and their own rank; `next` (or
//! `--auto-next`) opens the next question; after the last one the quiz is over.
//!
//! [`Live`] holds the phase and the current question's tallies and decides the transitions;
//! the room hands every [`Transition`] to every student's [`super::session::Session`], which
//! renders it for its student, with the class-wide [`results`] of a question that closed
//! computed here once. `now` never goes backwards.

use std::time::{Duration, Instant};

use super::roster::Roster;
use crate::bank::Marks;
use crate::quiz::{LiveSettings, Quiz, Scoring};
use crate::text::tenths;
use crate::wire;

/// Rows of the leaderboard shown after each question.
pub const LEADERBOARD_ROWS: usize = 5;
/// Under `--scoring speed`, a right answer within this time of the question opening gets full
/// points.
pub const FULL_POINTS_WITHIN: Duration = Duration::from_millis(500);
/// Points for a right answer under `--scoring speed` (half of it at the deadline).
pub const SPEED_POINTS: u32 = 1000;
/// Students in the lobby are told how many are here at most this often (not at every join:
/// a year group arriving would send each of them a line per newcomer).
pub const LOBBY_UPDATE: Duration = Duration::from_secs(5);
/// Places on the podium shown when the quiz is over.
pub const PODIUM: usize = 3;

/// Points for one answer earning `marks`: nothing for a wrong one; under count scoring the
/// marks themselves (held as [`Marks`] units: a right answer is one point, half of one half a
/// point); under speed scoring, for a right answer, `1000` within the first half second, then
/// falling linearly to `500` at the deadline: `1000 - 500 * (t - 0.5 s) / (limit - 0.5 s)`,
/// where `t` is the time from the question opening to the answer, and a part of that for a
/// part of the mark. Without a time limit speed scoring gives full points.
pub fn points(scoring: Scoring, marks: Marks, took: Duration, limit: Option<Duration>) -> u32 {
    if marks == Marks::ZERO {
        return 0;
    }
    let full = match (scoring, limit) {
        (Scoring::Count, _) => return marks.units(),
        (Scoring::Speed, None) => SPEED_POINTS,
        (Scoring::Speed, Some(limit)) => {
            if took <= FULL_POINTS_WITHIN || limit <= FULL_POINTS_WITHIN {
                SPEED_POINTS
            } else {
                let late = (took - FULL_POINTS_WITHIN).as_secs_f64();
                let span = (limit - FULL_POINTS_WITHIN).as_secs_f64();
                let lost = f64::from(SPEED_POINTS / 2) * (late / span).min(1.0);
                SPEED_POINTS - lost.round() as u32
            }
        }
    };
    (u64::from(full) * u64::from(marks.units()) / u64::from(Marks::UNIT)) as u32
}

/// Leaderboard points as shown (`3`, `2.5`): under count scoring they are marks.
pub fn shown_points(scoring: Scoring, points: u32) -> String {
    match scoring {
        Scoring::Count => Marks::from_units(points).to_string(),
        Scoring::Speed => points.to_string(),
    }
}

/// The live tally slot of an answer to a question without lettered options (or with several
/// letters or pairs): right, wrong, or partly right.
pub fn verdict_slot(marks: Marks) -> usize {
    if marks.is_full() {
        0
    } else if marks.is_partial() {
        2
    } else {
        1
    }
}

/// Where the room is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Students gather; the teacher's `start` opens question 1.
    Lobby,
    /// Question `index` is on everyone's screen until `closes` (no time limit: `None`) or until
    /// everyone present has answered.
    Open {
        index: usize,
        opened: Instant,
        closes: Option<Instant>,
    },
    /// Question `index` has closed and its results are shown; `next` (or auto-next at
    /// `advance_at`) moves on.
    Closed {
        index: usize,
        advance_at: Option<Instant>,
    },
    /// The last question closed, or the teacher ended the quiz.
    Over,
}

/// Why a question closed (the teacher's console says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Every student present had answered.
    Everyone,
    /// Its clock ran out.
    Clock,
    /// The teacher's `next`.
    Teacher,
}

/// A change every student's session must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Question `index` opened at `opened`.
    Opened {
        index: usize,
        opened: Instant,
        closes: Option<Instant>,
    },
    /// Question `index` closed: show verdicts, the distribution, the leaderboard.
    Closed { index: usize, why: Closing },
    /// The quiz is over (`early`: the teacher ended it before the last question): the podium,
    /// every attempt recorded, and the room waits for the next `start`.
    Over { early: bool },
    /// Students came or went in the lobby: tell those waiting how many are here.
    Lobby,
}

/// The live game.
#[derive(Debug)]
pub struct Live {
    phase: Phase,
    /// Bank indices of the questions, in the order asked (the same for everyone).
    pub order: std::sync::Arc<[u32]>,
    pub settings: LiveSettings,
    limit: Option<Duration>,
    /// Students who can still answer the open question (present and not yet answered).
    waiting_for: usize,
    /// Answers to the open question, by shown option (choice) or `[right, wrong]`
    /// (other kinds), and how many gave none.
    tally: Vec<u32>,
    /// When the last question opened (kept after it closes, for the time of those who never
    /// answered).
    last_opened: Option<Instant>,
    /// Transitions that happened inside a student's handler (everyone answered; the last
    /// one left), for the server to show everyone.
    pending: Vec<Transition>,
    /// When the lobby is next told how many are here, if a student came or went.
    lobby_update_at: Option<Instant>,
    /// The last question closed: the end follows its results.
    over_next: bool,
    /// How many were ranked on the final leaderboard (set when the quiz is over).
    pub ranked: usize,
}

impl Live {
    /// A game over `order` (bank indices), each question open for `limit`.
    pub fn new(order: Vec<u32>, limit: Option<Duration>, settings: LiveSettings) -> Live {
        Live {
            phase: Phase::Lobby,
            order: order.into(),
            settings,
            limit,
            waiting_for: 0,
            tally: Vec::new(),
            last_opened: None,
            pending: Vec::new(),
            lobby_update_at: None,
            over_next: false,
            ranked: 0,
        }
    }

    /// A fresh room (in the lobby) for `quiz` in live mode, its questions drawn once for
    /// everyone (`round` numbers it, so that with `--seed` each round draws afresh); `None`
    /// when the quiz is self-paced.
    pub fn for_quiz(quiz: &Quiz, round: u32, rng: &mut fastrand::Rng) -> Option<Live> {
        let settings = quiz.settings.live.clone()?;
        let order = quiz.draw(quiz.attempt_seed("the room", round, rng));
        Some(Live::new(order, quiz.settings.time_limit, settings))
    }

    /// A game brought back from the journal after a crash: between questions, after question
    /// `closed` (`None`: in the lobby), waiting for the teacher's `next` (or `start`).
    pub fn restored(&mut self, closed: Option<usize>) {
        self.phase = match closed {
            Some(index) => Phase::Closed {
                index,
                advance_at: None,
            },
            None => Phase::Lobby,
        };
    }

    /// When the last question opened.
    pub fn last_opened(&self) -> Option<Instant> {
        self.last_opened
    }

    /// Transitions caused by students (see [`Live::on_answer`]) not yet shown.
    pub fn take_pending(&mut self) -> Option<Transition> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        std::mem::take(&mut self.over_next).then_some(Transition::Over { early: false })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Answers to the open (or last) question by slot (see [`Live::on_answer`]).
    pub fn tally(&self) -> &[u32] {
        &self.tally
    }

    /// Students present who have not yet answered the open question.
    pub fn waiting_for(&self) -> usize {
        self.waiting_for
    }

    /// The question open now, if any.
    pub fn open_question(&self) -> Option<usize> {
        match self.phase {
            Phase::Open { index, .. } => Some(index),
            _ => None,
        }
    }

    /// When the open question opened and when it closes.
    pub fn clock(&self) -> Option<(Instant, Option<Instant>)> {
        match self.phase {
            Phase::Open { opened, closes, .. } => Some((opened, closes)),
            _ => None,
        }
    }

    pub fn limit(&self) -> Option<Duration> {
        self.limit
    }

    /// Words for the teacher's `status`.
    pub fn describe(&self) -> String {
        let n = self.order.len();
        match self.phase {
            Phase::Lobby => "lobby: waiting for start".into(),
            Phase::Open { index, .. } => format!(
                "question {}/{n} open, {} still to answer",
                index + 1,
                self.waiting_for
            ),
            Phase::Closed {
                index,
                advance_at: Some(_),
            } => format!(
                "question {}/{n} closed: the next opens by itself (--auto-next)",
                index + 1
            ),
            Phase::Closed { index, .. } => {
                format!("question {}/{n} closed: next opens the next", index + 1)
            }
            Phase::Over => "over".into(),
        }
    }

    /// The teacher's `start`: opens question 1 for the `present` students.
    pub fn start(&mut self, now: Instant, present: usize) -> Result<Transition, String> {
        match self.phase {
            Phase::Lobby if present == 0 => Err(
                "nobody is here yet; start once students have joined (status says how many)".into(),
            ),
            Phase::Lobby => {
                self.lobby_update_at = None;
                Ok(self.open(0, now, present))
            }
            _ => Err("the quiz has started already (next moves on, end finishes it)".into()),
        }
    }

    /// Everyone in the lobby has just been told how many are there: no update is due.
    pub fn lobby_told(&mut self) {
        self.lobby_update_at = None;
    }

    /// A student came to (or left) the lobby: those waiting are told how many are here, at
    /// most every [`LOBBY_UPDATE`].
    pub fn lobby_changed(&mut self, now: Instant) {
        if self.phase == Phase::Lobby && self.lobby_update_at.is_none() {
            self.lobby_update_at = Some(now + LOBBY_UPDATE);
        }
    }

    /// The teacher's `next`: closes the open question early, or opens the next one, or ends
    /// the quiz after the last.
    pub fn next(&mut self, now: Instant, present: usize) -> Result<Transition, String> {
        match self.phase {
            Phase::Lobby => Err("the quiz has not started (type start)".into()),
            Phase::Open { index, .. } => Ok(self.close(index, now, Closing::Teacher)),
            Phase::Closed { index, .. } => Ok(self.advance(index, now, present)),
            Phase::Over => Err("the quiz is over".into()),
        }
    }

    /// The teacher's `end`.
    pub fn end(&mut self) -> Result<Transition, String> {
        match self.phase {
            Phase::Over => Err("the quiz is over already".into()),
            // Nobody was asked anything: there is nothing to end, and no row to record.
            Phase::Lobby => Err(
                "the quiz has not started: nothing to end (students wait for start; kick NAME removes one)"
                    .into(),
            ),
            _ => {
                self.phase = Phase::Over;
                Ok(Transition::Over { early: true })
            }
        }
    }

    /// The clock of the open question, or the auto-next delay, ran out.
    pub fn on_timeout(&mut self, now: Instant, present: usize) -> Option<Transition> {
        match self.phase {
            Phase::Open {
                index,
                closes: Some(at),
                ..
            } if at <= now => Some(self.close(index, now, Closing::Clock)),
            Phase::Closed {
                index,
                advance_at: Some(at),
            } if at <= now => Some(self.advance(index, now, present)),
            Phase::Lobby if self.lobby_update_at.is_some_and(|at| at <= now) => {
                self.lobby_update_at = None;
                Some(Transition::Lobby)
            }
            _ => None,
        }
    }

    /// When [`Live::on_timeout`] wants to be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open { closes, .. } => closes,
            Phase::Closed { advance_at, .. } => advance_at,
            Phase::Lobby => self.lobby_update_at,
            Phase::Over => None,
        }
    }

    /// A student answered the open question (`slot`: the shown option, or 0 right / 1 wrong
    /// for other kinds). When nobody is left to answer, the question closes at once (queued
    /// for [`Live::take_pending`]).
    pub fn on_answer(&mut self, slot: usize, now: Instant) {
        let Some(index) = self.open_question() else {
            return;
        };
        if self.tally.len() <= slot {
            self.tally.resize(slot + 1, 0);
        }
        self.tally[slot] += 1;
        self.waiting_for = self.waiting_for.saturating_sub(1);
        if self.waiting_for == 0 {
            let t = self.close(index, now, Closing::Everyone);
            self.pending.push(t);
        }
    }

    /// A student who had not answered the open question left (`false`) or came back (`true`).
    /// The question closes if nobody else is left to answer.
    pub fn on_presence(&mut self, back: bool, now: Instant) {
        let Some(index) = self.open_question() else {
            return;
        };
        if back {
            self.waiting_for += 1;
            return;
        }
        self.waiting_for = self.waiting_for.saturating_sub(1);
        if self.waiting_for == 0 {
            let t = self.close(index, now, Closing::Everyone);
            self.pending.push(t);
        }
    }

    /// `Answers: a 3 | b 20 | c 1 | d 0 | none 2` for a question with `options` shown options
    /// (0: not multiple choice: `right 12 | wrong 5 | none 3`), of `asked` students.
    pub fn distribution(&self, options: usize, asked: usize, essay: bool) -> String {
        let count = |slot: usize| self.tally.get(slot).copied().unwrap_or(0);
        let answered: u32 = self.tally.iter().sum();
        let mut parts: Vec<String> = if essay {
            // Nothing is right or wrong until the teacher marks it.
            vec![format!("answered {answered}")]
        } else if options == 0 {
            let mut parts = vec![format!("right {}", count(0))];
            if count(2) > 0 {
                parts.push(format!("partly {}", count(2)));
            }
            parts.push(format!("wrong {}", count(1)));
            parts
        } else {
            (0..options)
                .map(|i| format!("{} {}", crate::text::letter(i), count(i)))
                .collect()
        };
        parts.push(format!("none {}", asked.saturating_sub(answered as usize)));
        format!("{} {}", wire::ANSWERS, parts.join(" | "))
    }

    fn open(&mut self, index: usize, now: Instant, present: usize) -> Transition {
        let closes = self.limit.map(|limit| now + limit);
        self.phase = Phase::Open {
            index,
            opened: now,
            closes,
        };
        self.waiting_for = present;
        self.tally.clear();
        self.last_opened = Some(now);
        Transition::Opened {
            index,
            opened: now,
            closes,
        }
    }

    /// Closes question `index`; after the last one, the quiz is over too (queued, so its
    /// results are shown first).
    fn close(&mut self, index: usize, now: Instant, why: Closing) -> Transition {
        if index + 1 == self.order.len() {
            self.phase = Phase::Over;
            self.over_next = true;
        } else {
            self.phase = Phase::Closed {
                index,
                advance_at: self.settings.auto_next.map(|d| now + d),
            };
        }
        Transition::Closed { index, why }
    }

    fn advance(&mut self, index: usize, now: Instant, present: usize) -> Transition {
        if index + 1 < self.order.len() {
            self.open(index + 1, now, present)
        } else {
            self.phase = Phase::Over;
            Transition::Over { early: false }
        }
    }

    /// When the next question opens by itself (`--auto-next`), if one does.
    pub fn advances_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Closed { advance_at, .. } => advance_at,
            _ => None,
        }
    }
}

/// One student on the leaderboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub seat: usize,
    pub name: String,
    pub points: u32,
    /// Total time taken to answer (the tie-break: less is better).
    pub time: Duration,
}

/// Sorts standings best first (points, then less time, then name) and gives each its rank;
/// equal points and time share a rank.
pub fn rank(standings: &mut [Standing]) -> Vec<usize> {
    standings.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then(tenths(a.time).cmp(&tenths(b.time)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut ranks = Vec::with_capacity(standings.len());
    for i in 0..standings.len() {
        // Ties as the students see them: equal points, and equal times as shown.
        let tied = i > 0
            && standings[i].points == standings[i - 1].points
            && tenths(standings[i].time) == tenths(standings[i - 1].time);
        ranks.push(if tied { ranks[i - 1] } else { i + 1 });
    }
    ranks
}

/// `Leaderboard:` and its top rows, from ranked standings.
pub fn leaderboard(standings: &[Standing], ranks: &[usize], scoring: Scoring) -> Vec<String> {
    let mut lines = vec![wire::LEADERBOARD.to_string()];
    let unit = |p: u32| match (scoring, shown_points(scoring, p)) {
        (Scoring::Count, one) if one == "1" => "1 point".to_string(),
        (_, p) => format!("{p} points"),
    };
    for (s, rank) in standings.iter().zip(ranks).take(LEADERBOARD_ROWS) {
        let name = crate::text::sanitize(&s.name, crate::limits::MAX_NAME_CHARS);
        lines.push(format!(
            "  {rank:>2}. {} {:>12}  ({})",
            crate::text::pad(&name, 20, true),
            unit(s.points),
            crate::text::seconds_tenths(s.time)
        ));
    }
    lines
}

/// What every student sees when live question `index` closes: the answer distribution and the
/// leaderboard, the same for everyone, so computed once. Closes the question for every seat
/// first (no answer: recorded as none, the time it was open added to theirs), then ranks every
/// seat (each session reads its own rank).
pub fn results(
    live: &Live,
    roster: &mut Roster,
    quiz: &Quiz,
    index: usize,
    now: Instant,
) -> Vec<u8> {
    let open_for = live
        .last_opened()
        .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
    let mut asked = 0;
    for (_, s) in roster.seats.iter_mut() {
        s.answered_last = s.chosen.len() > index;
        if !s.answered_last {
            s.chosen.resize(index + 1, None);
            // A student who joined after it opened was not asked it: no time charged.
            if s.first <= index {
                s.answer_time += open_for;
                s.time_taken(index, super::roster::millis_u32(open_for));
            }
        }
        asked += usize::from(s.first <= index);
    }
    // Only a one-answer question's tally is per letter.
    let options = live
        .order
        .get(index)
        .filter(|&&q| {
            quiz.questions
                .get(q as usize)
                .is_some_and(|question| matches!(question.kind, crate::bank::Kind::Choice { .. }))
        })
        .map_or(0, |&q| quiz.wire(q).options.len());
    let essay = live
        .order
        .get(index)
        .and_then(|&q| quiz.questions.get(q as usize))
        .is_some_and(crate::bank::Question::is_essay);
    let (standings, ranks) = ranked(roster);
    let mut out = Vec::new();
    wire::line(&mut out, &live.distribution(options, asked, essay));
    for l in leaderboard(&standings, &ranks, live.settings.scoring) {
        wire::line(&mut out, &l);
    }
    out
}

/// Every seat's standing, best first, with its rank, which each seat also keeps (for its own
/// `You are Nth` line).
fn ranked(roster: &mut Roster) -> (Vec<Standing>, Vec<usize>) {
    let mut standings: Vec<Standing> = roster
        .seats
        .iter()
        .map(|(key, s)| Standing {
            seat: key,
            name: s.name.clone(),
            points: s.points,
            time: s.answer_time,
        })
        .collect();
    let ranks = rank(&mut standings);
    for (standing, rank) in standings.iter().zip(&ranks) {
        if let Some(s) = roster.seats.get_mut(standing.seat) {
            s.rank = *rank;
        }
    }
    (standings, ranks)
}

/// What every student sees when the quiz is over: the final leaderboard (the podium first),
/// the same for everyone; each seat's final rank is set for its own line.
pub fn podium(roster: &mut Roster, scoring: Scoring) -> Vec<u8> {
    let (standings, ranks) = ranked(roster);
    let mut out = Vec::new();
    let mut lines = leaderboard(&standings, &ranks, scoring).into_iter();
    lines.next();
    wire::line(&mut out, "Final leaderboard:");
    for l in lines {
        wire::line(&mut out, &l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Marks;

    fn settings() -> LiveSettings {
        LiveSettings {
            auto_next: None,
            scoring: Scoring::Count,
        }
    }

    #[test]
    fn speed_points_fall_from_full_to_half_at_the_deadline() {
        let limit = Some(Duration::from_secs(20));
        let at = |ms| points(Scoring::Speed, Marks::ONE, Duration::from_millis(ms), limit);
        assert_eq!(at(0), 1000);
        assert_eq!(at(500), 1000);
        assert_eq!(at(20_000), 500);
        assert_eq!(at(10_250), 750);
        assert_eq!(at(60_000), 500, "late answers never go below half");
        assert_eq!(
            points(Scoring::Speed, Marks::ZERO, Duration::ZERO, limit),
            0
        );
        assert_eq!(
            points(Scoring::Count, Marks::ONE, Duration::from_secs(19), limit),
            Marks::UNIT,
            "a right answer is one mark under count scoring, whenever it came"
        );
        // Part of the mark, part of the points.
        let half = Marks::of_fraction(0.5);
        assert_eq!(
            points(Scoring::Count, half, Duration::ZERO, limit),
            Marks::UNIT / 2
        );
        assert_eq!(
            points(Scoring::Speed, half, Duration::from_millis(20_000), limit),
            250
        );
        assert_eq!(shown_points(Scoring::Count, Marks::UNIT / 2), "0.5");
        assert_eq!(shown_points(Scoring::Speed, 250), "250");
        assert_eq!(
            points(Scoring::Speed, Marks::ONE, Duration::from_secs(99), None),
            1000
        );
    }

    #[test]
    fn a_question_closes_when_everyone_present_has_answered() {
        let now = Instant::now();
        let mut live = Live::new(vec![4, 2], Some(Duration::from_secs(30)), settings());
        assert!(
            live.next(now, 2).is_err(),
            "nothing to move on from in the lobby"
        );
        assert!(matches!(
            live.start(now, 3),
            Ok(Transition::Opened { index: 0, .. })
        ));
        live.on_answer(1, now);
        assert_eq!(live.take_pending(), None);
        // One student drops without answering; the last answer closes the question.
        live.on_presence(false, now);
        assert_eq!(live.take_pending(), None);
        live.on_answer(0, now);
        assert_eq!(
            live.take_pending(),
            Some(Transition::Closed {
                index: 0,
                why: Closing::Everyone
            })
        );
        assert_eq!(
            live.distribution(4, 3, false),
            "Answers: a 1 | b 1 | c 0 | d 0 | none 1"
        );
        assert!(matches!(
            live.next(now, 3),
            Ok(Transition::Opened { index: 1, .. })
        ));
        // The last question closing is the end: no `next` needed.
        assert_eq!(
            live.next(now, 3),
            Ok(Transition::Closed {
                index: 1,
                why: Closing::Teacher
            })
        );
        assert_eq!(live.take_pending(), Some(Transition::Over { early: false }));
        assert!(live.next(now, 3).is_err());
    }

    #[test]
    fn the_clock_closes_a_question_and_auto_next_opens_the_next() {
        let t0 = Instant::now();
        let mut live = Live::new(
            vec![0, 1],
            Some(Duration::from_secs(10)),
            LiveSettings {
                auto_next: Some(Duration::from_secs(5)),
                scoring: Scoring::Count,
            },
        );
        let _ = live.start(t0, 2);
        assert_eq!(live.next_deadline(), Some(t0 + Duration::from_secs(10)));
        assert_eq!(live.on_timeout(t0 + Duration::from_secs(9), 2), None);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(
            live.on_timeout(t1, 2),
            Some(Transition::Closed {
                index: 0,
                why: Closing::Clock
            })
        );
        assert_eq!(
            live.distribution(0, 2, false),
            "Answers: right 0 | wrong 0 | none 2"
        );
        let t2 = t1 + Duration::from_secs(5);
        assert!(matches!(
            live.on_timeout(t2, 2),
            Some(Transition::Opened { index: 1, .. })
        ));
    }

    #[test]
    fn end_before_the_last_question_is_early() {
        let now = Instant::now();
        let mut live = Live::new(vec![0, 1, 2], None, settings());
        let _ = live.start(now, 1);
        assert_eq!(live.end(), Ok(Transition::Over { early: true }));
        assert!(live.end().is_err());
    }

    #[test]
    fn ranks_break_ties_by_time_and_share_exact_ties() {
        let s = |seat, name: &str, points: u32, secs| Standing {
            seat,
            name: name.into(),
            points: points * Marks::UNIT,
            time: Duration::from_secs(secs),
        };
        let mut standings = vec![
            s(0, "carol", 2, 30),
            s(1, "alice", 3, 40),
            s(2, "bob", 2, 20),
            s(3, "dave", 2, 20),
        ];
        let ranks = rank(&mut standings);
        let names: Vec<&str> = standings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "dave", "carol"]);
        assert_eq!(ranks, [1, 2, 2, 4]);
        let board = leaderboard(&standings, &ranks, Scoring::Count);
        assert_eq!(board[0], "Leaderboard:");
        assert!(
            board[1].contains("1. alice") && board[1].contains("3 points"),
            "{board:?}"
        );
    }

    #[test]
    fn ties_are_judged_on_the_time_as_shown_to_the_tenth() {
        let s = |seat, name: &str, millis| Standing {
            seat,
            name: name.into(),
            points: 2,
            time: Duration::from_millis(millis),
        };
        let mut standings = vec![s(0, "bo", 4_240), s(1, "ann", 4_210), s(2, "cy", 4_260)];
        let ranks = rank(&mut standings);
        // bo and ann are both shown 4.2 s: one rank, in name order; cy (4.3 s) is third.
        assert_eq!(ranks, [1, 1, 3]);
        let board = leaderboard(&standings, &ranks, Scoring::Count);
        assert!(
            board[1].contains("ann") && board[1].ends_with("(4.2 s)"),
            "{board:?}"
        );
        assert!(board[3].ends_with("(4.3 s)"), "{board:?}");
    }

    #[test]
    fn leaderboard_columns_line_up_whatever_the_script_of_the_names() {
        let s = |seat, name: &str| Standing {
            seat,
            name: name.into(),
            points: Marks::UNIT,
            time: Duration::from_secs(1),
        };
        let standings = [s(0, "李小龙"), s(1, "Ümit"), s(2, "ann")];
        let board = leaderboard(&standings, &[1, 1, 1], Scoring::Count);
        let at = |line: &str| crate::text::columns(&line[..line.find("1 point").expect("points")]);
        assert_eq!(at(&board[1]), at(&board[2]), "{board:#?}");
        assert_eq!(at(&board[2]), at(&board[3]), "{board:#?}");
    }
}
