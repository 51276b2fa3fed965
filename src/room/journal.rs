//! What the room tells the journal, and how it comes back from one (see [`crate::journal`]).
//!
//! The room writes records into a buffer the server commits once per loop turn, before that
//! turn's output goes out. Rather than a call at every place an attempt changes, each seat
//! carries a [`Mark`] of what the journal last wrote of it; after every handler the seat of the
//! connection handled is compared (a few integers) and, when it moved, its progress written.
//! After what can move many seats at once (a teacher's command, the live game moving on),
//! every seat is compared. Ended attempts are written whole, with their row, before the row
//! goes to the results file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::live::{Live, Phase};
use super::roster::Seat;
use super::{Member, Role, Room};
use crate::journal::record::{self, Header, LivePhase, ProgressView, Recovered, SeatView};

/// What a restart brought back, for the log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Restored {
    /// Attempts in progress, waiting for their students.
    pub seats: usize,
    /// Attempts that cannot go on with this quiz (their questions are not in it, or not as
    /// many): recorded as `interrupted`.
    pub unfit: Vec<super::roster::Attempt>,
    /// Answers in them.
    pub answers: usize,
    /// The live game's state, when one was under way (`after question 3 of 10`).
    pub live: Option<String>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Room {
    /// The journal cannot be written (`true`) or can again: while it cannot, answers are
    /// refused (not graded), and every console is told once.
    pub fn set_saving_failed(&mut self, failed: bool, io: &mut dyn super::Io) {
        if self.shared.saving_failed == failed {
            return;
        }
        self.shared.saving_failed = failed;
        self.shared.alerts.push(if failed {
            "the journal cannot be written (is the disk full?): answers are refused until it can; what was answered is kept".to_string()
        } else {
            "the journal is written again: answers are taken".to_string()
        });
        self.deliver_to_consoles(io);
    }

    /// Whether answers are refused because the journal cannot be written.
    pub fn saving_failed(&self) -> bool {
        self.shared.saving_failed
    }

    /// Whether the room writes a journal.
    pub fn journal_on(&self) -> bool {
        self.journal.is_some()
    }

    /// The records written since the server last took them: it commits them, then empties
    /// this, before sending the output that followed them.
    pub fn journal_mut(&mut self) -> Option<&mut Vec<u8>> {
        self.journal.as_mut()
    }

    /// The header record for the quiz served now.
    pub fn journal_header(&self) -> Header {
        Header {
            fingerprint: self.shared.quiz.fingerprint(),
            questions: self.shared.quiz.questions.len() as u32,
            count: self.shared.quiz.count() as u32,
            live: self.shared.live.is_some(),
            origin: self.origin_text(),
            numbered: self.shared.roster.last_number(),
            marks_unit: crate::bank::Marks::UNIT,
        }
    }

    /// Writes the header for a new quiz (a bank switch).
    pub(super) fn journal_new_quiz(&mut self) {
        let header = self.journal_header();
        if let Some(buf) = self.journal.as_mut() {
            record::put_header(buf, &header);
        }
        self.journal_all();
    }

    /// A snapshot of everything still open (the header, every seat whole, the live game, and
    /// with `counts` each name's attempts taken): what the journal is rewritten to when
    /// compacted. A clean stop leaves the counts out: a new run starts them afresh, as it
    /// always did; only a crash carries them over.
    pub fn journal_snapshot(&mut self, buf: &mut Vec<u8>, counts: bool) {
        let at_ms = self.wall_ms();
        record::put_header(buf, &self.journal_header());
        let keys: Vec<usize> = self.shared.roster.seats.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Some(seat) = self.shared.roster.seats.get_mut(key) {
                seat.journaled = Some(seat.mark());
                put_seat(buf, seat, self.now, at_ms);
            }
        }
        self.shared.roster.dropped.clear();
        self.shared.roster.recount.clear();
        if counts {
            for (map, hash, taken) in self.shared.roster.all_taken() {
                record::put_taken(buf, map, hash, taken.attempts, taken.granted);
            }
        }
        if let Some(live) = self.shared.live.as_ref() {
            record::put_live(buf, self.shared.rounds, phase_of(live), &live.order);
        }
    }

    /// Whether nothing is open: no attempt in progress and no live game between questions
    /// (the journal can then be emptied).
    pub fn journal_idle(&self) -> bool {
        self.shared.roster.is_empty()
            && self
                .shared
                .live
                .as_ref()
                .is_none_or(|l| matches!(l.phase(), Phase::Lobby | Phase::Over))
    }

    /// The seat of connection `id`, if it moved since the journal last wrote it.
    pub(super) fn journal_member(&mut self, id: usize) {
        if self.journal.is_none() {
            return;
        }
        if let Some(Some(Member {
            role: Role::Student(session),
            ..
        })) = self.members.get(id)
            && let Some(key) = session.seat()
        {
            self.journal_seat(key);
        }
        self.journal_dropped();
    }

    /// Every seat that moved, attempts that left without a row, and the live game.
    pub(super) fn journal_all(&mut self) {
        if self.journal.is_none() {
            return;
        }
        let keys: Vec<usize> = self.shared.roster.seats.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.journal_seat(key);
        }
        self.journal_dropped();
        if let (Some(buf), Some(live)) = (self.journal.as_mut(), self.shared.live.as_ref()) {
            let phase = phase_of(live);
            if self.journaled_live != Some((self.shared.rounds, phase)) {
                record::put_live(buf, self.shared.rounds, phase, &live.order);
                self.journaled_live = Some((self.shared.rounds, phase));
            }
        }
    }

    pub(super) fn journal_dropped(&mut self) {
        let Some(buf) = self.journal.as_mut() else {
            return;
        };
        let roster = &mut self.shared.roster;
        for id in roster.dropped.drain(..) {
            record::put_discard(buf, id);
        }
        for hashes in std::mem::take(&mut roster.recount) {
            for (map, hash) in hashes.into_iter().enumerate() {
                if let Some(t) = roster.taken_of(map, hash) {
                    record::put_taken(buf, map as u8, hash, t.attempts, t.granted);
                }
            }
        }
    }

    fn journal_seat(&mut self, key: usize) {
        let (Some(buf), Some(seat)) =
            (self.journal.as_mut(), self.shared.roster.seats.get_mut(key))
        else {
            return;
        };
        let mark = seat.mark();
        if seat.journaled == Some(mark) {
            // Nothing moved (most handlers): no clock read, nothing written.
            return;
        }
        let at_ms = super::wall_ms(self.wall_start, self.started, self.now);
        match seat.journaled {
            // A new code or a new address (a resume): the seat whole; otherwise its progress.
            Some(old) if old.code_gen == mark.code_gen && old.peer == mark.peer => {
                let view = progress_view(seat, self.now, at_ms);
                record::put_progress(buf, seat.id(), old.chosen.min(mark.chosen), &view);
            }
            _ => put_seat(buf, seat, self.now, at_ms),
        }
        seat.journaled = Some(mark);
    }

    /// Brings back what a journal held: every attempt in progress waits, parked, for its
    /// student (the resume window counts from `now`), at the question it was on, with the
    /// time its clock had left; a live game comes back between questions, with its scores,
    /// waiting for the teacher's `next`. The caller has checked the bank is the same.
    pub fn restore(&mut self, recovered: &Recovered, now: Instant) -> Restored {
        let mut report = Restored::default();
        // Live seats wait for the round, as any live seat whose student dropped does.
        let window = if self.shared.quiz.settings.live.is_some() {
            crate::limits::MAX_DURATION
        } else {
            self.shared.quiz.settings.resume_window
        };
        if let (Some(state), Some(_)) = (&recovered.live, self.shared.live.as_ref()) {
            let settings = self.shared.quiz.settings.live.clone();
            if let Some(settings) = settings {
                let mut game = Live::new(
                    state.order.clone(),
                    self.shared.quiz.settings.time_limit,
                    settings,
                );
                // A question open at the crash counts as closed then: the answers given to
                // it count (their points are in the seats), who had not answered gets none.
                let closed = match state.phase {
                    LivePhase::Closed(i) | LivePhase::Open(i) => Some(i as usize),
                    LivePhase::Lobby | LivePhase::Over => None,
                };
                game.restored(closed);
                report.live = Some(match closed {
                    Some(i) => format!(
                        "live quiz after question {} of {}, waiting for next",
                        i + 1,
                        state.order.len()
                    ),
                    None => "live quiz in its lobby".to_string(),
                });
                self.shared.rounds = state.round;
                self.shared.live = Some(game);
            }
        }
        let quiz = &self.shared.quiz;
        let (questions, count) = (quiz.questions.len(), quiz.count());
        for state in recovered.seats.values() {
            let p = &state.progress;
            let fits = state.order.len() == count
                && state.order.iter().all(|&q| (q as usize) < questions)
                && p.chosen.len() <= count
                && (p.index as usize) <= count
                && (state.first as usize) <= count;
            if !fits {
                report.unfit.push(
                    state
                        .clone()
                        .into_attempt(super::roster::Status::Interrupted),
                );
                continue;
            }
            let order: Arc<[u32]> = match self.shared.live.as_ref() {
                Some(live) if *live.order == *state.order => live.order.clone(),
                _ => state.order.clone().into(),
            };
            let chosen = p.chosen.clone();
            let index = p.index as usize;
            let mut seat = Seat::new(
                state.name.clone(),
                state.code.clone(),
                state.seed,
                order,
                (usize::MAX, state.peer),
                now,
            );
            report.answers += chosen.iter().flatten().count();
            seat.chosen = chosen;
            seat.times = p.times.clone();
            seat.score = crate::bank::Marks::from_units(p.score);
            seat.index = index.min(seat.order.len());
            seat.points = p.points;
            seat.answer_time = Duration::from_millis(p.answer_ms);
            seat.attempt = state.attempt;
            seat.first = state.first as usize;
            // Time passed after this record and before the journal's last one is time the
            // student had: it comes off the clock and counts in the duration. (What passed
            // after the last record, until the crash, nobody can know: it is given back.)
            let gap = recovered.last_at_ms.saturating_sub(p.at_ms);
            seat.started = now
                .checked_sub(Duration::from_millis(p.elapsed_ms.saturating_add(gap)))
                .unwrap_or(now);
            seat.frozen = p
                .clock_left_ms
                .map(|left| Duration::from_millis(left.saturating_sub(gap)));
            seat.run = state.id.run;
            seat.number = state.id.number;
            let key = self.shared.roster.restore(seat, now, window);
            if let Some(seat) = self.shared.roster.seats.get_mut(key) {
                seat.journaled = Some(seat.mark());
            }
            report.seats += 1;
        }
        if let Some(header) = &recovered.header {
            self.shared.roster.number_from(header.numbered);
        }
        for (&(map, hash), &(attempts, granted)) in &recovered.taken {
            self.shared
                .roster
                .restore_taken(map, hash, super::roster::Taken { attempts, granted });
        }
        self.shared.counters.started += report.seats as u64;
        report
    }
}

fn phase_of(live: &Live) -> LivePhase {
    match live.phase() {
        Phase::Lobby => LivePhase::Lobby,
        Phase::Open { index, .. } => LivePhase::Open(index as u32),
        Phase::Closed { index, .. } => LivePhase::Closed(index as u32),
        Phase::Over => LivePhase::Over,
    }
}

fn progress_view(seat: &Seat, now: Instant, at_ms: u64) -> ProgressView<'_> {
    let clock_left = match (seat.frozen, seat.clock) {
        (Some(left), _) => Some(left),
        (None, Some(at)) => Some(at.saturating_duration_since(now)),
        (None, None) => None,
    };
    ProgressView {
        chosen: &seat.chosen,
        times: &seat.times,
        score: seat.score.units(),
        index: seat.index as u32,
        points: seat.points,
        answer_ms: millis(seat.answer_time),
        clock_left_ms: clock_left.map(millis),
        elapsed_ms: millis(now.saturating_duration_since(seat.started)),
        at_ms,
    }
}

fn put_seat(buf: &mut Vec<u8>, seat: &Seat, now: Instant, at_ms: u64) {
    record::put_seat(
        buf,
        &SeatView {
            id: seat.id(),
            name: &seat.name,
            attempt: seat.attempt,
            peer: seat.peer,
            code: &seat.code,
            seed: seat.seed,
            order: &seat.order,
            first: seat.first as u32,
            progress: progress_view(seat, now, at_ms),
        },
    );
}
