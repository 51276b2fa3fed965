//! The roster: every attempt in progress (a [`Seat`] each, by name), and what an attempt
//! becomes when it ends (an [`Attempt`], for the results file).
//!
//! A seat outlives its connection: a student who drops parks their seat, and can take it up
//! again from a new connection with the same name and the resume code until the resume window
//! ends; only then is the attempt recorded. Names are unique among seats (any case), so two
//! people cannot both be "alice".

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bank::{Marks, Response};
use crate::journal::AttemptId;
use crate::limits::{
    CODE_ADDRESSES, CODE_BACKOFF, CODE_BACKOFF_MAX, FREE_CODE_TRIES, MAX_NAMES_COUNTED,
    MAX_PARKED_SEATS, address_of,
};
use crate::text::{name_keys, names_clash};

/// A name's two keys ([`name_keys`]), hashed (FNV-1a): what the roster indexes names by.
/// Working them out is the costly part of a new attempt, so it is done once per name given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameKeys([u64; 2]);

impl NameKeys {
    /// The two hashes (as written, lower-cased), for a reservation outside the roster.
    pub fn hashes(&self) -> [u64; 2] {
        self.0
    }

    pub fn of(name: &str) -> NameKeys {
        NameKeys(name_keys(name).map(|key| crate::quiz::fnv1a(key.as_bytes())))
    }
}

/// How an attempt ended; the results `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every question was asked.
    Completed,
    /// The student typed `/quit` (or Ctrl-C in telnet).
    Quit,
    /// The connection dropped (and the student did not resume in time), or the server closed
    /// it (output cap).
    Disconnected,
    /// A teacher removed the student (`kick`).
    Kicked,
    /// A teacher ended the quiz for everyone (`end`).
    Ended,
    /// The student sent nothing for the idle timeout.
    TimedOut,
    /// The server was stopped mid-attempt.
    Shutdown,
    /// The server stopped without warning (a crash) and was started again with another bank
    /// (`--journal-fresh`): the attempt could not carry on; its answers until then are kept.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Quit => "quit",
            Status::Disconnected => "disconnected",
            Status::Kicked => "kicked",
            Status::Ended => "ended",
            Status::TimedOut => "timed_out",
            Status::Shutdown => "shutdown",
            Status::Interrupted => "interrupted",
        }
    }
}

/// One finished attempt: everything the results row needs but the wall-clock time.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// Unique across restarts: the results `attempt_id` column, by which a row recovered from
    /// the journal is written once.
    pub id: AttemptId,
    pub name: String,
    /// Which of the name's attempts at this quiz it was (from 1).
    pub attempt: u32,
    /// Live mode's leaderboard points (0 when self-paced; see [`super::live::points`]).
    pub points: u32,
    pub peer: SocketAddr,
    pub score: Marks,
    /// Questions in the attempt (asked or not).
    pub max: u32,
    /// Per question of the attempt, in the order asked: its bank index and what the student
    /// answered (`None`: not answered).
    pub responses: Vec<(u32, Option<Response>)>,
    /// Per question, in the same order: milliseconds from its being shown to its answer (or
    /// to its clock running out); [`UNTIMED`] for a question never reached, or answered
    /// before a crash whose journal did not hold the time.
    pub times: Vec<u32>,
    pub status: Status,
    pub duration: Duration,
}

/// A student's attempt while it runs: everything that must outlive a connection, so that the
/// student can resume it from another one.
#[derive(Debug)]
pub struct Seat {
    pub name: String,
    /// Typed after the name to take the seat up again from another connection.
    pub code: String,
    pub(super) seed: u64,
    /// Bank indices of the attempt's questions, in the order asked (in live mode, the room's
    /// order, shared by every seat rather than copied).
    pub(super) order: Arc<[u32]>,
    /// The answer per asked question (`None`: unanswered or timed out).
    pub(super) chosen: Vec<Option<Response>>,
    pub score: Marks,
    pub(super) started: Instant,
    /// The question on screen and its clock (kept here too, so a resume carries on).
    pub(super) index: usize,
    pub(super) clock: Option<Instant>,
    /// The session holding the seat (its connection id), or `None` while parked.
    pub(super) holder: Option<usize>,
    /// The resume window of a parked seat ends here.
    pub(super) expires: Option<Instant>,
    /// When its student dropped (while parked).
    pub(super) parked_at: Option<Instant>,
    pub peer: SocketAddr,
    /// Live mode: leaderboard points, total time taken to answer (the tie-break), whether the
    /// last answer was right and its feedback (shown when the question closes), and the rank
    /// after the last question closed.
    pub points: u32,
    pub answer_time: Duration,
    /// Live: the marks of the answer to the open question, shown when it closes.
    pub(super) last_marks: Marks,
    /// When the question on screen was shown (for the time each answer took).
    pub(super) asked_at: Option<Instant>,
    /// Per question answered or timed out, the milliseconds it took ([`UNTIMED`]: unknown).
    pub(super) times: Vec<u32>,
    pub(super) last_feedback: Option<String>,
    pub(super) rank: usize,
    /// Whether the student answered the question that closed last.
    pub(super) answered_last: bool,
    /// Wrong resume codes typed for this seat since its code was issued, from any connection.
    pub wrong_codes: u32,
    /// Wrong codes and the wait they started, per address that typed them (at most
    /// [`CODE_ADDRESSES`]; further addresses share one more entry). Per address, so a guesser
    /// cannot make the rightful student, elsewhere, wait too. Empty, unallocated, normally.
    code_waits: Vec<CodeWait>,

    /// Hashes of its name's two keys, set by [`Roster::add`].
    name_hashes: [u64; 2],
    /// The attempt's number, as `who` shows it (`#N`); never reused.
    pub number: u64,
    /// Which of its name's attempts at this quiz this is (from 1).
    pub attempt: u32,
    /// Live: the first question the student could answer (they joined while an earlier one
    /// was under way); earlier ones are neither asked nor counted.
    pub(super) first: usize,
    /// The run that started the attempt (with `number`, its [`AttemptId`]).
    pub run: u32,
    /// Bumped when the resume code changes, so the journal writes the seat again.
    pub(super) code_gen: u32,
    /// What the journal last wrote of this seat (`None`: nothing yet).
    pub(super) journaled: Option<Mark>,
    /// A seat brought back from the journal: the time its question clock had left, which
    /// starts running again when its student resumes.
    pub(super) frozen: Option<Duration>,
    /// The address it is parked under (its student's; for a seat brought back from the
    /// journal, [`RESTORED`], which no per-address quota counts: classmates behind one NAT
    /// must not push each other's restored attempts out before they are back).
    pub(super) parked_from: IpAddr,
}

/// The address restored seats are parked under: no client connects from it.
pub const RESTORED: IpAddr = IpAddr::V4(std::net::Ipv4Addr::BROADCAST);

/// A question's time not known (never reached, or lost in a crash).
pub const UNTIMED: u32 = u32::MAX;

/// `d` in milliseconds, below [`UNTIMED`].
pub fn millis_u32(d: Duration) -> u32 {
    u32::try_from(d.as_millis())
        .unwrap_or(UNTIMED - 1)
        .min(UNTIMED - 1)
}

/// What the journal compares to know a seat changed: cheap to take and to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub chosen: usize,
    pub score: Marks,
    pub index: usize,
    pub points: u32,
    pub answer_time: Duration,
    pub clock: Option<Instant>,
    pub code_gen: u32,
    pub peer: SocketAddr,
}

impl Seat {
    /// A fresh attempt for `name`, held by connection `holder` (its id and address), over the
    /// bank questions `order`, lettered by `seed`.
    pub fn new(
        name: String,
        code: String,
        seed: u64,
        order: Arc<[u32]>,
        holder: (usize, SocketAddr),
        now: Instant,
    ) -> Seat {
        let questions = order.len();
        Seat {
            name,
            code,
            seed,
            chosen: Vec::with_capacity(questions),
            order,
            score: Marks::ZERO,
            started: now,
            index: 0,
            clock: None,
            holder: Some(holder.0),
            expires: None,
            parked_at: None,
            peer: holder.1,
            points: 0,
            answer_time: Duration::ZERO,
            last_marks: Marks::ZERO,
            asked_at: None,
            times: Vec::with_capacity(questions),
            last_feedback: None,
            rank: 0,
            answered_last: false,
            wrong_codes: 0,
            code_waits: Vec::new(),
            name_hashes: [0; 2],
            number: 0,
            attempt: 1,
            first: 0,
            run: 0,
            code_gen: 0,
            journaled: None,
            frozen: None,
            parked_from: RESTORED,
        }
    }

    /// Question `index` got its answer (or its clock ran out) at `now`: the time it took since
    /// it was shown.
    pub(super) fn time_question(&mut self, index: usize, now: Instant) {
        let took = self
            .asked_at
            .map_or(UNTIMED, |at| millis_u32(now.saturating_duration_since(at)));
        self.time_taken(index, took);
    }

    /// Question `index` took `ms` milliseconds.
    pub(super) fn time_taken(&mut self, index: usize, ms: u32) {
        self.times.resize(index, UNTIMED);
        self.times.push(ms);
    }

    /// The attempt's id (its run and number).
    pub fn id(&self) -> AttemptId {
        AttemptId {
            run: self.run,
            number: self.number,
        }
    }

    /// What the journal compares (see [`Mark`]).
    pub fn mark(&self) -> Mark {
        Mark {
            chosen: self.chosen.len(),
            score: self.score,
            index: self.index,
            points: self.points,
            answer_time: self.answer_time,
            clock: self.clock,
            code_gen: self.code_gen,
            peer: self.peer,
        }
    }

    /// Whether a question of this attempt is done, answered or run out (its right answer may
    /// have been shown). Until then, a student who drops simply starts again; from then on the
    /// attempt waits for them and is recorded, so letting the clock run out and reconnecting
    /// is no way round `--attempts`.
    pub fn has_begun(&self) -> bool {
        self.chosen.len() > self.first
    }

    /// The wrong-code record of `from` for this seat (or of every address beyond the first
    /// [`CODE_ADDRESSES`]).
    fn code_wait_of(&mut self, from: IpAddr) -> &mut CodeWait {
        let at = match self.code_waits.iter().position(|w| w.from == from) {
            Some(at) => at,
            None if self.code_waits.len() < CODE_ADDRESSES => {
                self.code_waits.push(CodeWait::new(from));
                self.code_waits.len() - 1
            }
            None => {
                let shared = IpAddr::from([0, 0, 0, 0]);
                match self.code_waits.iter().position(|w| w.from == shared) {
                    Some(at) => at,
                    None => {
                        self.code_waits.push(CodeWait::new(shared));
                        self.code_waits.len() - 1
                    }
                }
            }
        };
        &mut self.code_waits[at]
    }

    /// A wrong resume code was typed for this seat at `now` from `from`: after
    /// [`FREE_CODE_TRIES`] from that address, its next try must wait, twice as long each time,
    /// from [`CODE_BACKOFF`] up to [`CODE_BACKOFF_MAX`]. Returns the wait that starts now, if
    /// any.
    pub fn wrong_code(&mut self, now: Instant, from: IpAddr) -> Option<Duration> {
        self.wrong_codes += 1;
        let record = self.code_wait_of(from);
        record.wrong += 1;
        let over = record.wrong.checked_sub(FREE_CODE_TRIES)?;
        let wait = CODE_BACKOFF
            .saturating_mul(1 << over.saturating_sub(1).min(16))
            .min(CODE_BACKOFF_MAX);
        record.until = Some(now + wait);
        Some(wait)
    }

    /// How long before `from` may try a resume code for this seat again (zero: now).
    pub fn code_wait(&self, now: Instant, from: IpAddr) -> Duration {
        let shared = IpAddr::from([0, 0, 0, 0]);
        let record = self.code_waits.iter().find(|w| w.from == from).or_else(|| {
            (self.code_waits.len() >= CODE_ADDRESSES)
                .then(|| self.code_waits.iter().find(|w| w.from == shared))
                .flatten()
        });
        record
            .and_then(|w| w.until)
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// A new resume code (the teacher's `code NAME`): the old one stops working, and the count
    /// of wrong codes starts again.
    pub fn reissue(&mut self, code: String) {
        self.code = code;
        self.code_gen = self.code_gen.wrapping_add(1);
        self.wrong_codes = 0;
        self.code_waits = Vec::new();
    }

    /// Questions answered or passed so far, and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.index, self.order.len())
    }

    /// Whether no connection holds the seat now (its student dropped and may resume).
    pub fn is_parked(&self) -> bool {
        self.holder.is_none()
    }

    /// When the attempt started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// When the resume window of a parked seat ends.
    pub fn expires(&self) -> Option<Instant> {
        self.expires
    }

    /// When a parked seat's student dropped.
    pub fn parked_at(&self) -> Option<Instant> {
        self.parked_at
    }
}

/// Wrong resume codes for one seat from one address.
#[derive(Debug, Clone, Copy)]
struct CodeWait {
    from: IpAddr,
    wrong: u32,
    /// No try from `from` before this instant.
    until: Option<Instant>,
}

impl CodeWait {
    fn new(from: IpAddr) -> CodeWait {
        CodeWait {
            from,
            wrong: 0,
            until: None,
        }
    }
}

/// What a name has had of a quiz: attempts recorded, and extra ones teachers allowed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub attempts: u32,
    pub granted: u32,
}

impl Taken {
    /// Whether another attempt is allowed when `allowed` are (`None`: no limit).
    pub fn may_start(self, allowed: Option<u32>) -> bool {
        allowed.is_none_or(|allowed| self.attempts < allowed.saturating_add(self.granted))
    }
}

/// Parked seats, by when their resume window ends and by the address their student dropped
/// from: expiry takes the earliest; the per-address quota takes that address's earliest.
#[derive(Debug, Default)]
pub(super) struct Parked {
    by_expiry: BTreeSet<(Instant, usize, IpAddr)>,
    by_address: HashMap<IpAddr, BTreeSet<(Instant, usize)>>,
}

impl Parked {
    pub(super) fn len(&self) -> usize {
        self.by_expiry.len()
    }

    /// The seat whose window ends first, and when.
    pub(super) fn first(&self) -> Option<(Instant, usize)> {
        self.by_expiry.first().map(|&(until, key, _)| (until, key))
    }

    /// Takes out the seat whose window ends first.
    fn pop_first(&mut self) -> Option<(Instant, usize)> {
        let &(until, key, from) = self.by_expiry.first()?;
        self.remove(until, key, from);
        Some((until, key))
    }

    /// Seats parked from `from`.
    fn count_from(&self, from: IpAddr) -> usize {
        self.by_address.get(&from).map_or(0, BTreeSet::len)
    }

    /// The seat from `from` whose window ends first.
    fn first_from(&self, from: IpAddr) -> Option<(Instant, usize)> {
        self.by_address.get(&from)?.first().copied()
    }

    fn insert(&mut self, until: Instant, key: usize, from: IpAddr) {
        if self.by_expiry.insert((until, key, from)) {
            self.by_address
                .entry(from)
                .or_default()
                .insert((until, key));
        }
    }

    fn remove(&mut self, until: Instant, key: usize, from: IpAddr) {
        if !self.by_expiry.remove(&(until, key, from)) {
            return;
        }
        if let Some(seats) = self.by_address.get_mut(&from) {
            seats.remove(&(until, key));
            if seats.is_empty() {
                self.by_address.remove(&from);
            }
        }
    }
}

/// Every attempt in progress, by name, so two people cannot both be "alice" (nor `alice` and
/// `аlice`: names are compared by [`name_keys`]) and a student who drops can come back to theirs.
#[derive(Debug, Default)]
pub struct Roster {
    /// Seats by each of their two name keys.
    /// Seats by a hash of each of their two name keys (so a seat holds no copy of its keys,
    /// and freeing a name costs no Unicode work); a hit is confirmed with [`names_clash`].
    pub(super) by_name: [HashMap<u64, usize>; 2],
    pub(super) seats: slab::Slab<Seat>,
    /// Parked seats, by the end of their resume window and by address.
    pub(super) parked: Parked,
    /// Attempts started so far: the next one's number (never reused, unlike seat keys, so
    /// `kick #N` cannot reach another student whose attempt took the same slot).
    attempts: u64,
    /// Dropped attempts one address may keep waiting (`None`: no limit of its own).
    pub(super) parked_per_address: Option<usize>,
    /// Attempts recorded per name at this quiz, and extra attempts teachers allowed it (`retake`),
    /// under each of its two key hashes (so a retake under a look-alike name counts too), for
    /// at most [`MAX_NAMES_COUNTED`] names.
    taken: [HashMap<u64, Taken>; 2],
    /// This run's id: the first half of every new attempt's [`AttemptId`].
    pub run: u32,
    /// Journaled attempts that left without a row (a live lobby), for the journal to say so.
    pub(super) dropped: Vec<AttemptId>,
    /// With a journal: names whose count of attempts changed (their key hashes), for the
    /// journal to write.
    pub(super) recount: Vec<[u64; 2]>,
    pub(super) journaling: bool,
}

impl Roster {
    /// The highest attempt number given so far.
    pub fn last_number(&self) -> u64 {
        self.attempts
    }

    /// Brings back an attempt from the journal, with its own id, parked until `until` (its
    /// student resumes it with the name and code); numbers given from now on follow it.
    pub(super) fn restore(&mut self, mut seat: Seat, now: Instant, window: Duration) -> usize {
        let keys = NameKeys::of(&seat.name);
        let (run, number) = (seat.run, seat.number);
        seat.holder = None;
        let before = self.attempts;
        let key = self.add_keyed(seat, keys);
        self.attempts = before.max(number);
        if let Some(seat) = self.seats.get_mut(key) {
            seat.run = run;
            seat.number = number;
        }
        if let Some(seat) = self.seats.get_mut(key) {
            let until = now + window;
            seat.expires = Some(until);
            seat.parked_at = Some(now);
            seat.parked_from = RESTORED;
            self.parked.insert(until, key, RESTORED);
        }
        key
    }

    /// Numbers given from now on follow `n` (a restart goes on from the journal's).
    pub(super) fn number_from(&mut self, n: u64) {
        self.attempts = self.attempts.max(n);
    }
    /// Attempts in progress, parked or not.
    pub fn len(&self) -> usize {
        self.seats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seats.is_empty()
    }

    /// Attempts whose student dropped and may still resume.
    pub fn parked(&self) -> usize {
        self.parked.len()
    }

    /// Every seat, for the teacher's views.
    pub fn seats(&self) -> impl Iterator<Item = &Seat> {
        self.seats.iter().map(|(_, seat)| seat)
    }

    /// The seat of an attempt in progress under `name` or a name that looks like it (see
    /// [`name_keys`]).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.find_keyed(name, NameKeys::of(name))
    }

    /// [`Roster::find`] with the name's keys already worked out.
    pub fn find_keyed(&self, name: &str, keys: NameKeys) -> Option<usize> {
        keys.0
            .iter()
            .zip(&self.by_name)
            .filter_map(|(hash, map)| map.get(hash).copied())
            .find(|&key| {
                self.seats
                    .get(key)
                    .is_some_and(|seat| names_clash(&seat.name, name))
            })
    }

    /// The seat of the attempt numbered `number` (its number in the teacher's `who`). A teacher
    /// command, so a walk over the seats is cheap enough.
    pub fn numbered(&self, number: usize) -> Option<usize> {
        self.seats
            .iter()
            .find(|(_, seat)| seat.number == number as u64)
            .map(|(key, _)| key)
    }

    /// Ends the attempt in seat `key` with `status` if it is parked; false if it is not.
    pub fn finish_parked_seat(
        &mut self,
        key: usize,
        status: Status,
        now: Instant,
        finished: &mut Vec<Attempt>,
        counters: &mut Counters,
    ) -> bool {
        if !self.seats.get(key).is_some_and(Seat::is_parked) {
            return false;
        }
        self.finish(key, status, now, finished, counters);
        true
    }

    /// Takes a new attempt's seat; its name must be free ([`Roster::find`] says `None`).
    pub fn add(&mut self, seat: Seat) -> usize {
        let keys = NameKeys::of(&seat.name);
        self.add_keyed(seat, keys)
    }

    /// [`Roster::add`] with the name's keys already worked out.
    pub fn add_keyed(&mut self, mut seat: Seat, keys: NameKeys) -> usize {
        let hashes = keys.0;
        seat.name_hashes = hashes;
        self.attempts += 1;
        seat.number = self.attempts;
        seat.run = self.run;
        let key = self.seats.insert(seat);
        for (map, hash) in self.by_name.iter_mut().zip(hashes) {
            map.insert(hash, key);
        }
        key
    }

    /// The seat `key`, if its attempt is still in progress.
    pub fn get(&self, key: usize) -> Option<&Seat> {
        self.seats.get(key)
    }

    pub fn get_mut(&mut self, key: usize) -> Option<&mut Seat> {
        self.seats.get_mut(key)
    }

    /// Frees the seat of an attempt that has no answer, without a row: nothing was answered,
    /// so nothing is lost, and its name is free at once.
    pub(super) fn discard(&mut self, key: usize, counters: &mut Counters) {
        if let Some(seat) = self.unseat(key) {
            counters.discarded += 1;
            log::debug!(
                "{} ({}) left before answering; name freed",
                seat.name,
                seat.peer
            );
        }
    }

    /// Takes out a seat with nothing to record (a live lobby's, when the bank changes), its
    /// name freed.
    pub(super) fn unseat(&mut self, key: usize) -> Option<Seat> {
        let seat = self.seats.try_remove(key)?;
        if let Some(until) = seat.expires {
            self.parked.remove(until, key, seat.parked_from);
        }
        self.forget_name(seat.name_hashes, key);
        if seat.journaled.is_some() {
            self.dropped.push(seat.id());
        }
        Some(seat)
    }

    fn forget_name(&mut self, hashes: [u64; 2], key: usize) {
        for (map, hash) in self.by_name.iter_mut().zip(hashes) {
            if map.get(&hash) == Some(&key) {
                map.remove(&hash);
            }
        }
    }

    /// Attempts recorded at this quiz under `keys`' name or one that looks like it, and the
    /// extra attempts teachers allowed it.
    pub fn taken(&self, keys: NameKeys) -> Taken {
        keys.0
            .iter()
            .zip(&self.taken)
            .filter_map(|(hash, map)| map.get(hash).copied())
            .fold(Taken::default(), |a, b| Taken {
                attempts: a.attempts.max(b.attempts),
                granted: a.granted.max(b.granted),
            })
    }

    fn count_taken(&mut self, hashes: [u64; 2], counters: &mut Counters) {
        if self.taken[0].len() >= MAX_NAMES_COUNTED && !self.taken[0].contains_key(&hashes[0]) {
            counters.names_uncounted += 1;
            if counters.names_uncounted.is_power_of_two() {
                log::warn!(
                    "{MAX_NAMES_COUNTED} names have taken this quiz: attempts under new names are not counted ({} so far)",
                    counters.names_uncounted
                );
            }
            return;
        }
        for (map, hash) in self.taken.iter_mut().zip(hashes) {
            let taken = map.entry(hash).or_default();
            taken.attempts = taken.attempts.saturating_add(1);
        }
        if self.journaling {
            self.recount.push(hashes);
        }
    }

    /// What `hash` (in map `map`) has taken, as the journal writes it.
    pub(super) fn taken_of(&self, map: usize, hash: u64) -> Option<Taken> {
        self.taken.get(map)?.get(&hash).copied()
    }

    /// Every name's count, per map, for a snapshot.
    pub(super) fn all_taken(&self) -> impl Iterator<Item = (u8, u64, Taken)> + '_ {
        self.taken
            .iter()
            .enumerate()
            .flat_map(|(m, map)| map.iter().map(move |(&h, &t)| (m as u8, h, t)))
    }

    /// A count brought back from the journal.
    pub(super) fn restore_taken(&mut self, map: u8, hash: u64, taken: Taken) {
        if let Some(map) = self.taken.get_mut(usize::from(map)) {
            map.insert(hash, taken);
        }
    }

    /// A teacher's `retake`: the name `keys`, which has taken the quiz, may take one more
    /// attempt. Returns what it has taken and been allowed now; `None` if it has taken none.
    pub fn grant_retake(&mut self, keys: NameKeys) -> Option<Taken> {
        let before = self.taken(keys);
        if before.attempts == 0 {
            return None;
        }
        let after = Taken {
            granted: before.granted.saturating_add(1),
            ..before
        };
        for (map, hash) in self.taken.iter_mut().zip(keys.0) {
            map.insert(hash, after);
        }
        if self.journaling {
            self.recount.push(keys.0);
        }
        Some(after)
    }

    /// A new quiz (another bank, or a new live round): nobody has taken it yet.
    pub fn forget_taken(&mut self) {
        self.taken = Default::default();
    }

    /// When the earliest resume window ends.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.parked.first().map(|(at, _)| at)
    }

    /// The student holding seat `key` dropped: the seat waits for them until `now + window`.
    /// Bounded twice, so dropped attempts cannot grow memory nor push out the class's: one
    /// address keeps at most [`Roster::parked_per_address`] waiting (beyond that, its own
    /// earliest is recorded now), and at most [`MAX_PARKED_SEATS`] wait in all (beyond that,
    /// this one is recorded now: the seats already waiting were there first). Recorded early
    /// means `disconnected`, answers saved, no resuming.
    pub(super) fn park(
        &mut self,
        key: usize,
        now: Instant,
        window: Duration,
        finished: &mut Vec<Attempt>,
        counters: &mut Counters,
    ) {
        let Some(from) = self.seats.get(key).map(|seat| address_of(seat.peer)) else {
            return;
        };
        if let Some(quota) = self.parked_per_address {
            while self.parked.count_from(from) >= quota.max(1) {
                let Some((until, oldest)) = self.parked.first_from(from) else {
                    break;
                };
                self.parked.remove(until, oldest, from);
                Self::early(
                    counters,
                    &format!("{from} keeps {quota} dropped attempts waiting (--max-per-address)"),
                );
                self.finish(oldest, Status::Disconnected, now, finished, counters);
            }
        }
        if self.parked.len() >= MAX_PARKED_SEATS {
            Self::early(
                counters,
                &format!("{MAX_PARKED_SEATS} dropped attempts wait in all"),
            );
            self.finish(key, Status::Disconnected, now, finished, counters);
            return;
        }
        if let Some(seat) = self.seats.get_mut(key) {
            let until = now + window;
            seat.holder = None;
            seat.expires = Some(until);
            seat.parked_at = Some(now);
            seat.parked_from = from;
            self.parked.insert(until, key, from);
        }
    }

    /// Counts (and now and then logs) a dropped attempt recorded before its window ended.
    fn early(counters: &mut Counters, why: &str) {
        counters.parked_early += 1;
        if counters.parked_early.is_power_of_two() {
            log::warn!(
                "{why}: a dropped attempt was recorded without waiting for its student to resume ({} so far)",
                counters.parked_early
            );
        }
    }

    pub(super) fn unpark(&mut self, key: usize, holder: usize) {
        if let Some(seat) = self.seats.get_mut(key) {
            if let Some(until) = seat.expires.take() {
                self.parked.remove(until, key, seat.parked_from);
            }
            seat.parked_at = None;
            seat.holder = Some(holder);
        }
    }

    /// Records every parked attempt whose resume window has ended (status `disconnected`).
    pub fn expire(&mut self, now: Instant, finished: &mut Vec<Attempt>, counters: &mut Counters) {
        while let Some((at, key)) = self.parked.first() {
            if at > now {
                break;
            }
            self.parked.pop_first();
            log::info!(
                "{} did not come back within the resume window; recording the attempt",
                self.seats.get(key).map_or("?", |s| s.name.as_str())
            );
            self.finish(key, Status::Disconnected, now, finished, counters);
        }
    }

    /// Records every parked attempt now, with `status`: what ended the wait (`disconnected` when
    /// the server stops or a live quiz runs to its end, `ended` when a teacher ends the quiz).
    pub fn finish_parked(
        &mut self,
        status: Status,
        now: Instant,
        finished: &mut Vec<Attempt>,
        counters: &mut Counters,
    ) {
        while let Some((_, key)) = self.parked.pop_first() {
            self.finish(key, status, now, finished, counters);
        }
    }

    /// Ends an attempt: records its row and frees its name.
    pub(super) fn finish(
        &mut self,
        key: usize,
        status: Status,
        now: Instant,
        finished: &mut Vec<Attempt>,
        counters: &mut Counters,
    ) {
        let Some(seat) = self.seats.try_remove(key) else {
            return;
        };
        if let Some(until) = seat.expires {
            self.parked.remove(until, key, seat.parked_from);
        }
        self.forget_name(seat.name_hashes, key);
        // Questions asked: from the first the student could answer (live, late) to the end.
        let max = seat.order.len().saturating_sub(seat.first) as u32;
        let id = seat.id();
        let mut chosen = seat.chosen;
        chosen.resize(seat.order.len(), None);
        let mut times = seat.times;
        times.resize(seat.order.len(), UNTIMED);
        log::debug!(
            "{} ({}) finished: {}/{} {}",
            seat.name,
            seat.peer,
            seat.score,
            max,
            status.as_str()
        );
        self.count_taken(seat.name_hashes, counters);
        finished.push(Attempt {
            id,
            responses: seat.order.iter().copied().zip(chosen).collect(),
            times,
            attempt: seat.attempt,
            points: seat.points,
            name: seat.name,
            peer: seat.peer,
            score: seat.score,
            max,
            status,
            duration: now.saturating_duration_since(seat.started),
        });
        counters.finished += 1;
    }
}

/// What the room counts (the sockets side counts the rest: [`super::NetStats`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    pub answers: u64,
    /// Input lines refused for being over [`crate::limits::MAX_LINE`].
    pub lines_too_long: u64,
    /// `/ask` messages refused for coming too fast.
    pub asks_refused: u64,
    pub timeouts: u64,
    pub started: u64,
    pub finished: u64,
    /// Attempts taken up again with their resume code.
    pub resumed: u64,
    /// Wrong resume codes typed.
    pub wrong_codes: u64,
    /// `/ask` messages passed on to the consoles.
    pub asks: u64,
    /// Teacher consoles closed after too many wrong tokens.
    pub wrong_token_closes: u64,
    /// Attempts dropped before any answer: no row, the name freed.
    pub discarded: u64,
    /// Waiting attempts recorded early because [`MAX_PARKED_SEATS`] were waiting.
    pub parked_early: u64,
    /// Resume code tries refused unheard because the name had to wait.
    pub codes_refused: u64,
    /// Console tokens refused unheard because of too many wrong ones lately.
    pub tokens_refused: u64,
    /// Consoles without a token closed to make room for a new one.
    pub consoles_evicted: u64,
    /// Names refused a new attempt because they had used those allowed.
    pub retakes_refused: u64,
    /// Attempts under names not counted because [`MAX_NAMES_COUNTED`] names were.
    pub names_uncounted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_names_counted_a_new_name_is_not_counted_but_a_known_one_still_is() {
        let mut roster = Roster::default();
        let mut counters = Counters::default();
        let known = NameKeys::of("alice");
        roster.count_taken(known.hashes(), &mut counters);
        // Fill the memory with throw-away names (their hashes stand for them).
        for hash in 0..MAX_NAMES_COUNTED as u64 {
            roster.taken[0].entry(hash).or_default();
        }
        let new = NameKeys::of("bob");
        roster.count_taken(new.hashes(), &mut counters);
        assert_eq!(
            roster.taken(new).attempts,
            0,
            "not counted: memory stays bounded"
        );
        assert_eq!(counters.names_uncounted, 1);
        assert!(roster.taken[0].len() <= MAX_NAMES_COUNTED + 1);
        roster.count_taken(known.hashes(), &mut counters);
        assert_eq!(
            roster.taken(known).attempts,
            2,
            "a name already counted goes on"
        );
    }
}
