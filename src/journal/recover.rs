//! Start-up after a crash: what the journal held goes back where it belongs. Rows that never
//! reached the results file are written, once (a row already there, found by its attempt id, is
//! not written again); attempts in progress wait, parked, for their students; a live game comes
//! back between questions. Then the journal is rewritten as a snapshot of what is open.

use std::time::{Duration, Instant, SystemTime};

use super::record::{Recovered, SeatState};
use super::{Journal, Opened, ids_in_results};
use crate::results::Results;
use crate::room::Room;
use crate::room::roster::{Attempt, Status};

impl SeatState {
    /// The row of an attempt that cannot carry on: what it answered, with `status`.
    pub fn into_attempt(self, status: Status) -> Attempt {
        let mut chosen = self.progress.chosen;
        chosen.resize(self.order.len(), None);
        let mut times = self.progress.times;
        times.resize(self.order.len(), crate::room::roster::UNTIMED);
        Attempt {
            id: self.id,
            max: self.order.len().saturating_sub(self.first as usize) as u32,
            responses: self.order.into_iter().zip(chosen).collect(),
            times,
            name: self.name,
            attempt: self.attempt,
            points: self.progress.points,
            peer: self.peer,
            score: crate::bank::Marks::from_units(self.progress.score),
            status,
            duration: Duration::from_millis(self.progress.elapsed_ms),
        }
    }
}

/// Carries out what `opened` holds (see the module's text) and returns the journal, ready to
/// append to; or, when attempts in progress were drawn from another bank and `fresh` is not
/// set, the one line that says what to do.
pub fn recover(
    opened: Opened,
    room: &mut Room,
    results: &mut Results,
    fresh: bool,
    now: Instant,
) -> Result<Journal, String> {
    let Opened {
        mut journal,
        mut recovered,
        cut: _,
    } = opened;
    let shown = journal.path().display().to_string();
    // An attempt with nothing answered yet is not brought back: its student starts again, as
    // after any drop before the first answer (they may not even have seen their code).
    recovered
        .seats
        .retain(|_, seat| seat.progress.chosen.len() > seat.first as usize);
    let header = room.journal_header();
    // A journal 0.4 wrote knows the bank by 0.4's fingerprint, and counted scores (and count
    // scoring's points) in whole answers: scores are scaled as read; points here.
    let legacy = recovered.header.as_ref().is_some_and(|h| h.marks_unit == 1);
    let same = recovered.header.as_ref().is_some_and(|h| {
        let fingerprint = if legacy {
            room.quiz().legacy_fingerprint()
        } else {
            header.fingerprint
        };
        h.fingerprint == fingerprint && h.live == header.live && h.count == header.count
    });
    let counted = room
        .quiz()
        .settings
        .live
        .as_ref()
        .is_some_and(|l| l.scoring == crate::quiz::Scoring::Count);
    if legacy && counted {
        let unit = crate::bank::Marks::UNIT;
        for seat in recovered.seats.values_mut() {
            seat.progress.points = seat.progress.points.saturating_mul(unit);
        }
        for ended in &mut recovered.ended {
            ended.attempt.points = ended.attempt.points.saturating_mul(unit);
        }
    }
    let mut interrupted = Vec::new();
    if !same && (!recovered.seats.is_empty() || recovered.live_under_way()) {
        let was = recovered.header.as_ref().map_or_else(
            || "another bank".to_string(),
            |h| {
                format!(
                    "{} ({} question(s), {} per attempt{})",
                    h.origin,
                    h.questions,
                    h.count,
                    if h.live { ", live" } else { "" }
                )
            },
        );
        if !fresh {
            return Err(format!(
                "the journal {shown} holds {} attempt(s) in progress from {was}, not the quiz given now; start quizd with those questions (and the same --count and --mode) so the students carry on, or add --journal-fresh to record them as interrupted and start afresh",
                recovered.seats.len()
            ));
        }
        log::warn!(
            "--journal-fresh: {} attempt(s) in progress from {was} are recorded as interrupted",
            recovered.seats.len()
        );
        interrupted = std::mem::take(&mut recovered.seats)
            .into_values()
            .map(|seat| seat.into_attempt(Status::Interrupted))
            .collect();
    }
    if !same {
        // The live game and the counts of attempts were another quiz's.
        recovered.live = None;
        recovered.taken.clear();
    }
    let mut ids =
        if recovered.ended.is_empty() && recovered.seats.is_empty() && interrupted.is_empty() {
            Default::default()
        } else {
            ids_in_results(results.path()).map_err(|e| {
                format!(
                    "cannot read the results file {} to see which recovered rows it has: {e}",
                    results.path().display()
                )
            })?
        };
    let mut written = 0usize;
    for ended in &recovered.ended {
        // Each id once: a record written twice (a failed sync) is one row.
        if !ids.insert(ended.attempt.id) {
            continue;
        }
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(ended.finished_at_ms);
        results.record(&ended.attempt, room.quiz(), at);
        written += 1;
    }
    // Ends decided here, journaled too: if their rows must wait for the results file, the
    // next start must not bring those attempts back.
    let mut ends = Vec::new();
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    for attempt in &interrupted {
        if ids.insert(attempt.id) {
            results.record(attempt, room.quiz(), SystemTime::now());
            super::record::put_end(&mut ends, attempt, now_ms);
            written += 1;
        }
    }
    // An attempt whose row is in the file ended before the crash: its end is all that was lost.
    recovered.seats.retain(|id, _| !ids.contains(id));
    let mut restored = room.restore(&recovered, now);
    for attempt in std::mem::take(&mut restored.unfit) {
        log::warn!(
            "{}'s attempt {} does not fit this quiz: recorded as interrupted",
            attempt.name,
            attempt.id
        );
        if ids.insert(attempt.id) {
            results.record(&attempt, room.quiz(), SystemTime::now());
            super::record::put_end(&mut ends, &attempt, now_ms);
            written += 1;
        }
    }
    if restored.seats > 0 || written > 0 || restored.live.is_some() {
        log::warn!(
            "recovered from the journal {shown} in {:.2} s: {} attempt(s) in progress brought back with {} answer(s) (their students resume with name and code {}), {written} row(s) written that had not reached {}{}",
            now.elapsed().as_secs_f64(),
            restored.seats,
            restored.answers,
            if room.quiz().settings.live.is_some() {
                "until the quiz is over".to_string()
            } else {
                format!("within {} s", room.quiz().settings.resume_window.as_secs())
            },
            results.path().display(),
            restored.live.map(|l| format!("; {l}")).unwrap_or_default()
        );
    } else if recovered.records > 0 {
        log::info!("journal {shown}: nothing was left open");
    }
    let mut snapshot = Vec::new();
    room.journal_snapshot(&mut snapshot, true);
    if results.has_pending() {
        // Rows wait for the disk: the records that hold them stay; the snapshot follows them.
        ends.extend_from_slice(&snapshot);
        journal.commit(&ends);
    } else {
        let _ = results.sync();
        if let Err(e) = journal.rewrite(&snapshot) {
            log::warn!("cannot compact the journal {shown}: {e}; appending to it as it is");
            journal.commit(&snapshot);
        }
    }
    Ok(journal)
}

/// What is in a journal, for a test or a look: how many attempts are open and ended.
pub fn summary(recovered: &Recovered) -> String {
    format!(
        "{} open, {} ended, {} record(s)",
        recovered.seats.len(),
        recovered.ended.len(),
        recovered.records
    )
}
