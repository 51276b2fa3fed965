//! One student's quiz, as a pure state machine.
//!
//! A [`Session`] never sees a socket or a clock. The room hands it input lines and the
//! current instant; it appends what the student should see to an output buffer and records the
//! attempt in [`Shared`] when it ends.
//!
//! The attempt itself (name, questions, answers, score, resume code) is a [`Seat`] in the
//! [`Roster`], not part of the session: a connection that drops parks its seat, and the
//! student can take it up again from a new connection with the same name and the resume code,
//! until the resume window runs out. Only then is a dropped attempt recorded.
//!
//! Call order: [`Session::new`] once, then any number of [`Session::on_line`],
//! [`Session::on_leave`], [`Session::on_too_long`] and [`Session::on_timeout`] (the latter when
//! [`Session::next_deadline`] has passed), and finally exactly one of [`Session::on_close`]
//! (the connection went away), [`Session::on_shutdown`] (the server stops) or
//! [`Session::on_evicted`] (its seat was resumed elsewhere), unless [`Session::is_done`]
//! already says the session ended by itself. `now` never goes backwards.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::live::{self, Live, Transition};
use super::roster::{NameKeys, Roster, Seat, Status};
use super::shared::Shared;
use crate::bank::{Kind, Marks, Question, Response};
use crate::limits::{
    ASK_INTERVAL, MAX_CODE_TRIES, MAX_DURATION, MAX_MESSAGE_CHARS, NAME_TIMEOUT, address_of,
};
use crate::quiz::{OptionOrder, Quiz};
use crate::text::{sanitize, validate_name};
use crate::wire::{self, ANSWER_PROMPT, CODE_PROMPT, NAME_PROMPT};

/// Where a student is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Live mode: in the quiz but with no question to answer (the lobby, answered already,
    /// between questions); the room moves them on.
    Waiting { seat: usize },
    /// Waiting for a name; the connection is closed at `deadline`.
    Naming { deadline: Instant },
    /// The name given has an attempt in progress: waiting for its resume code (or an empty
    /// line to choose another name), until `deadline` (the same as for the name: going back
    /// and forth between the two prompts does not extend it).
    Resuming {
        seat: usize,
        number: u64,
        deadline: Instant,
    },
    /// Question `index` of the attempt in `seat` is on screen. `clock` ends it (the time
    /// limit, if any); `idle` closes the attempt when no clock runs and the student stays
    /// silent.
    Asking {
        seat: usize,
        index: usize,
        clock: Option<Instant>,
        idle: Instant,
    },
    /// Self-paced: question `next - 1`'s time ran out; question `next` is shown when the
    /// student presses Enter, and whatever that line holds is dropped (it was typed for the
    /// question that timed out). `idle` closes the attempt if nothing comes.
    Paused {
        seat: usize,
        next: usize,
        idle: Instant,
    },
    /// Live: the round is over (the attempt recorded) and the student is still here; the room
    /// seats them in the next round at once ([`Session::rejoin`]).
    Between,
    /// The session has ended (its attempt recorded, parked or taken over); the server closes it.
    Done,
}

/// A session as the teacher's `who` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The attempt's number in `who`, and which of its name's attempts it is (from 1).
    pub number: Option<usize>,
    pub attempt: Option<u32>,
    /// Where the student is, in words.
    pub state: String,
    /// Marks and questions done, once the quiz has started.
    pub score: Option<(Marks, u32)>,
}

/// One student's connection to the quiz.
#[derive(Debug)]
pub struct Session {
    state: State,
    /// The connection's id, unique among open connections (the server's slab key).
    conn: usize,
    peer: SocketAddr,
    /// The student's name once their attempt started (or resumed).
    name: String,
    /// Until an attempt starts, the connection is closed then, whatever it types.
    name_deadline: Instant,
    /// Wrong resume codes typed on this connection, for any name (never reset).
    wrong_codes: u8,
    /// Live: a question closed before the student answered, so their terminal may hold a half
    /// typed line. Until they send a line, the next question waits for their Enter, which
    /// takes that half line with it.
    stale: bool,
    /// Ctrl-C was pressed mid-quiz and the student was asked whether to leave; the next line
    /// carries on, the next Ctrl-C leaves.
    leave_asked: bool,
    /// Live: the resume code of the round that just ended, kept for the next one.
    code: String,
    /// The window's width, if the client said (telnet NAWS): questions are shown from text
    /// wrapped at 80, or unwrapped for the room to wrap at this width.
    width: Option<u16>,
    /// Live: waiting for the next round without a seat, their name held in
    /// [`Shared::waiting_names`] until they are seated or leave.
    reserved: bool,
}

use wire::line;

/// The bank's feedback after a verdict, if it has any: each of its lines ending CR LF.
fn feedback(out: &mut Vec<u8>, text: Option<&str>) {
    for text_line in text.into_iter().flat_map(|text| text.split('\n')) {
        line(out, text_line);
    }
}

/// Whole seconds left, rounded up, so "0 s" is never shown while time remains.
fn secs_left(deadline: Instant, now: Instant) -> u64 {
    let left = deadline.saturating_duration_since(now);
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

impl Session {
    /// A new connection (`conn`: its id, unique among open connections): greets the student
    /// and asks for a name.
    pub fn new(
        conn: usize,
        peer: SocketAddr,
        now: Instant,
        quiz: &Quiz,
        out: &mut Vec<u8>,
    ) -> Session {
        wire::greeting(out, &quiz.title, quiz.count(), quiz.settings.time_limit);
        Session {
            state: State::Naming {
                deadline: now + NAME_TIMEOUT,
            },
            name_deadline: now + NAME_TIMEOUT,
            wrong_codes: 0,
            stale: false,
            leave_asked: false,
            code: String::new(),
            conn,
            peer,
            name: String::new(),
            width: None,
            reserved: false,
        }
    }

    /// Lets go of a name held while waiting for the next round.
    fn release_name(&mut self, shared: &mut Shared) {
        if std::mem::take(&mut self.reserved) {
            for hash in NameKeys::of(&self.name).hashes() {
                if let Some(count) = shared.waiting_names.get_mut(&hash) {
                    *count -= 1;
                    if *count == 0 {
                        shared.waiting_names.remove(&hash);
                    }
                }
            }
        }
    }

    /// The client's window is `width` columns wide (`None`: it did not say).
    pub fn set_width(&mut self, width: Option<u16>) {
        self.width = width;
    }

    /// The student's name, once their attempt started.
    pub fn name(&self) -> Option<&str> {
        (!self.name.is_empty()).then_some(self.name.as_str())
    }

    /// True once the session has said its last word; the connection should close after
    /// its output is sent.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Live: between rounds, to be seated in the next ([`Session::rejoin`]).
    pub fn is_between(&self) -> bool {
        self.state == State::Between
    }

    /// The seat this session holds, if any.
    pub fn seat(&self) -> Option<usize> {
        match self.state {
            State::Asking { seat, .. } | State::Paused { seat, .. } | State::Waiting { seat } => {
                Some(seat)
            }
            _ => None,
        }
    }

    /// The instant at which [`Session::on_timeout`] wants to be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Naming { deadline } | State::Resuming { deadline, .. } => Some(deadline),
            State::Asking { clock, idle, .. } => Some(clock.map_or(idle, |c| c.min(idle))),
            State::Paused { idle, .. } => Some(idle),
            State::Waiting { .. } | State::Between | State::Done => None,
        }
    }

    fn set_state(&mut self, to: State) {
        log::trace!("{} {:?} -> {:?}", self.peer, self.state, to);
        self.state = to;
    }

    /// One input line from the student.
    pub fn on_line(&mut self, input: &str, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        if let State::Asking { idle, .. } | State::Paused { idle, .. } = &mut self.state
            && shared.live.is_none()
        {
            *idle = now + shared.quiz.settings.idle_timeout;
        }
        self.leave_asked = false;
        let trimmed = input.trim();
        if trimmed.starts_with('/') {
            self.on_command(trimmed, now, shared, out);
            return;
        }
        match self.state {
            State::Naming { .. } => self.on_name(trimmed, now, shared, out),
            State::Resuming { seat, number, .. } => {
                self.on_code(seat, number, trimmed, now, shared, out)
            }
            State::Asking { seat, index, .. } if shared.live.is_some() => {
                self.on_live_answer(seat, index, trimmed, now, shared, out)
            }
            State::Asking { seat, index, .. } => {
                self.on_answer(seat, index, trimmed, now, shared, out)
            }
            // The Enter that asks for the next question; what it carries is not an answer.
            State::Paused { seat, next, .. } if shared.live.is_some() => {
                self.open_live(seat, next, now, shared, out)
            }
            State::Paused { seat, next, .. } => self.ask(seat, next, now, shared, out),
            State::Between if trimmed.is_empty() => {}
            State::Between => line(out, "You join when the next round starts."),
            // Enter while waiting: whatever was half typed is gone; nothing to reply.
            State::Waiting { .. } if trimmed.is_empty() => self.stale = false,
            State::Waiting { .. } if std::mem::take(&mut self.stale) => {
                // The half-typed line of the question that closed.
                line(
                    out,
                    &format!("{} to open the next question.", wire::WAITING),
                );
            }
            State::Waiting { .. } => {
                line(
                    out,
                    "error: no question is open; wait for the teacher (/help for commands)",
                );
            }
            State::Done => {}
        }
    }

    /// The decoder saw a line over the limit.
    pub fn on_too_long(&mut self, shared: &mut Shared, out: &mut Vec<u8>) {
        if self.state != State::Done {
            shared.counters.lines_too_long += 1;
            line(
                out,
                &format!(
                    "error: line too long (max {} bytes)",
                    crate::limits::MAX_LINE
                ),
            );
            self.prompt(out);
        }
    }

    /// Ctrl-C or Ctrl-D in the student's terminal. Before a quiz starts it is `/quit`; in one,
    /// the student is asked first (a copy reflex must not end a graded attempt for good), and
    /// a second one in a row leaves.
    pub fn on_leave(&mut self, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        match self.state {
            State::Asking { .. } | State::Paused { .. } | State::Waiting { .. }
                if !std::mem::replace(&mut self.leave_asked, true) =>
            {
                out.extend_from_slice(b"\r\n");
                line(
                    out,
                    "Leave the quiz for good? Your answers so far are saved.",
                );
                line(
                    out,
                    "Press Ctrl-C again (or type /quit) to leave; anything else carries on.",
                );
                self.prompt(out);
            }
            _ => self.quit(now, shared, out),
        }
    }

    /// Fires every deadline that has passed by `now`.
    pub fn on_timeout(&mut self, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        match self.state {
            State::Naming { deadline } | State::Resuming { deadline, .. } if deadline <= now => {
                out.extend_from_slice(b"\r\n");
                line(
                    out,
                    &format!(
                        "error: no name given in {} s; closing.",
                        NAME_TIMEOUT.as_secs()
                    ),
                );
                self.set_state(State::Done);
            }
            State::Asking {
                seat, index, clock, ..
            } if clock.is_some_and(|c| c <= now) => {
                // After the prompt: the student may be half way through a line.
                out.extend_from_slice(b"\r\n");
                self.time_up(seat, index, now, shared, out)
            }
            State::Asking { seat, idle, .. } | State::Paused { seat, idle, .. } if idle <= now => {
                out.extend_from_slice(b"\r\n");
                line(
                    out,
                    &format!(
                        "error: no answer for {} s; closing. Your answers so far are saved.",
                        shared.quiz.settings.idle_timeout.as_secs()
                    ),
                );
                self.finish(seat, Status::TimedOut, now, shared);
            }
            _ => {}
        }
    }

    /// The question's clock ran out: the verdict (the caller puts it on a line of its own), then
    /// the end, or a pause until the student presses Enter.
    fn time_up(
        &mut self,
        seat: usize,
        index: usize,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        shared.counters.timeouts += 1;
        let quiz = &shared.quiz;
        let Some(s) = shared.roster.seats.get_mut(seat) else {
            return self.set_state(State::Done);
        };
        let (question, order) = question(s, index, quiz);
        // An essay has no right answer to name.
        if quiz.settings.reveal && !question.is_essay() {
            let answer = question.right_answer(order.as_slice());
            wire::time_up(out, Some((answer, s.score, index + 1)));
            feedback(out, question.feedback.as_deref());
        } else {
            wire::time_up(out, None::<(&str, Marks, usize)>);
        }
        s.time_question(index, now);
        let (bank_index, last) = (s.order[index], index + 1 == s.order.len());
        let (essay, idle_timeout) = (question.is_essay(), quiz.settings.idle_timeout);
        if !essay {
            shared.count_item(bank_index, None);
        }
        if last {
            return self.advance(seat, index, now, shared, out);
        }
        let Some(s) = shared.roster.seats.get_mut(seat) else {
            return self.set_state(State::Done);
        };
        s.chosen.resize(index + 1, None);
        s.index = index + 1;
        s.clock = None;
        line(out, wire::PRESS_ENTER);
        out.extend_from_slice(wire::NEXT_PROMPT.as_bytes());
        self.set_state(State::Paused {
            seat,
            next: index + 1,
            idle: now + idle_timeout,
        });
    }

    /// The connection is gone. A student who dropped mid-quiz keeps their seat for the resume
    /// window (`Disconnected`); any other end records the attempt now.
    pub fn on_close(&mut self, status: Status, now: Instant, shared: &mut Shared) {
        self.release_name(shared);
        match self.state {
            State::Asking { seat, .. } | State::Paused { seat, .. } | State::Waiting { seat } => {
                if status != Status::Disconnected {
                    self.finish(seat, status, now, shared);
                } else {
                    if let (Some(live), State::Asking { .. } | State::Paused { .. }) =
                        (shared.live.as_mut(), self.state)
                    {
                        // One fewer to wait for on the open question.
                        live.on_presence(false, now);
                    }
                    let window = if shared.live.is_some() {
                        // A live student keeps their place on the leaderboard until the quiz is
                        // over, however long they are away.
                        MAX_DURATION
                    } else {
                        shared.quiz.settings.resume_window
                    };
                    if !shared.roster.get(seat).is_some_and(Seat::has_begun) {
                        shared.roster.discard(seat, &mut shared.counters);
                        if let Some(live) = shared.live.as_mut() {
                            // One fewer in the lobby, if that is where they were.
                            live.lobby_changed(now);
                        }
                    } else {
                        log::debug!(
                            "{} ({}) dropped; seat kept for resuming",
                            self.name,
                            self.peer
                        );
                        let Shared {
                            roster,
                            finished,
                            counters,
                            ..
                        } = shared;
                        roster.park(seat, now, window, finished, counters);
                    }
                }
            }
            State::Naming { .. } | State::Resuming { .. } | State::Between | State::Done => {}
        }
        self.set_state(State::Done);
    }

    /// The server is stopping: says so and records the attempt.
    pub fn on_shutdown(&mut self, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        if self.state == State::Done {
            return;
        }
        self.release_name(shared);
        out.extend_from_slice(b"\r\n");
        line(
            out,
            "Server is shutting down; your answers so far are saved.",
        );
        self.on_close(Status::Shutdown, now, shared);
    }

    /// A line from outside the student's own exchange (a teacher's message, live results)
    /// arriving while they sit at a prompt: it goes on a line of its own, then the prompt is
    /// shown again, so nothing is garbled in their terminal. `text` must already be sanitised.
    pub fn notice(&self, text: &str, out: &mut Vec<u8>) {
        if self.state == State::Done {
            return;
        }
        out.extend_from_slice(b"\r\n");
        line(out, text);
        self.prompt(out);
    }

    /// What the teacher's `who` shows: the attempt's number in `who` and which of its name's
    /// attempts it is, the state in words, and the score so far (right answers, questions
    /// done) once the quiz has started.
    pub fn describe(&self, roster: &Roster) -> Described {
        let seat = match self.state {
            State::Asking { seat, .. } | State::Paused { seat, .. } | State::Waiting { seat } => {
                roster.seats.get(seat).map(|s| (seat, s))
            }
            _ => None,
        };
        let (state, score) = match (self.state, seat) {
            (State::Naming { .. }, _) => ("naming".into(), None),
            (State::Resuming { .. }, _) => ("typing a resume code".into(), None),
            (State::Asking { index, .. }, Some((_, s))) => (
                format!("question {}/{}", index + 1, s.order.len()),
                Some((s.score, index as u32)),
            ),
            (State::Paused { next, .. }, Some((_, s))) => (
                format!("time up, Enter for {}/{}", next + 1, s.order.len()),
                Some((s.score, next as u32)),
            ),
            (State::Waiting { .. }, Some((_, s))) => (
                "waiting (live)".into(),
                Some((s.score, s.chosen.len() as u32)),
            ),
            (State::Between, _) => ("between rounds".into(), None),
            (State::Done, _) | (_, None) => ("leaving".into(), None),
        };
        let state = match seat {
            Some((_, s)) if s.wrong_codes > 0 => format!("{state}, {} wrong codes", s.wrong_codes),
            _ => state,
        };
        Described {
            number: seat.map(|(_, s)| s.number as usize),
            attempt: seat.map(|(_, s)| s.attempt),
            state,
            score,
        }
    }

    /// A teacher removed the student (`kick`) or ended the quiz (`end`, with
    /// [`Status::Ended`]): they are told, their attempt is recorded, the session ends.
    pub fn on_stopped_by_teacher(
        &mut self,
        status: Status,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        let why = if status == Status::Kicked {
            "The teacher removed you from the quiz; your answers so far are saved."
        } else {
            "The teacher ended the quiz; your answers so far are saved."
        };
        let in_lobby = shared
            .live
            .as_ref()
            .is_some_and(|l| l.phase() == live::Phase::Lobby);
        match self.state {
            State::Waiting { seat } if in_lobby => {
                // Nothing asked yet: no score to show, and no row.
                out.extend_from_slice(b"\r\n");
                line(out, "The teacher removed you from the quiz.");
                self.finish(seat, status, now, shared);
            }
            State::Asking { seat, .. } | State::Paused { seat, .. } | State::Waiting { seat } => {
                out.extend_from_slice(b"\r\n");
                line(out, why);
                if let Some(s) = shared.roster.seats.get_mut(seat) {
                    s.index = s.chosen.len().max(s.index);
                    final_line(s, out);
                }
                self.finish(seat, status, now, shared);
            }
            State::Between => {
                // Waiting for the next round, nothing asked: no score, no row.
                self.release_name(shared);
                out.extend_from_slice(b"\r\n");
                line(out, "The teacher removed you from the quiz.");
                self.set_state(State::Done);
            }
            State::Naming { .. } | State::Resuming { .. } => {
                out.extend_from_slice(b"\r\n");
                line(out, why);
                self.set_state(State::Done);
            }
            State::Done => {}
        }
    }

    /// The student resumed this attempt from another connection: this one says so and ends,
    /// leaving the seat to the new holder.
    pub fn on_evicted(&mut self, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        if self.state == State::Done {
            return;
        }
        if let (Some(live), State::Asking { .. } | State::Paused { .. }) =
            (shared.live.as_mut(), self.state)
        {
            // It was counted as still to answer the open question; the new holder counts now.
            live.on_presence(false, now);
        }
        out.extend_from_slice(b"\r\n");
        line(
            out,
            "Your attempt was resumed from another connection; closing this one.",
        );
        self.set_state(State::Done);
    }

    fn on_name(&mut self, raw: &str, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        let name = match validate_name(raw) {
            Ok(name) => name,
            Err(why) => {
                line(out, &format!("error: {why}"));
                out.extend_from_slice(NAME_PROMPT.as_bytes());
                return;
            }
        };
        let keys = NameKeys::of(&name);
        if let Some(seat) = shared.roster.find_keyed(&name, keys) {
            let who = shared
                .roster
                .seats
                .get(seat)
                .map_or(name.as_str(), |s| s.name.as_str());
            if who.to_lowercase() != name.to_lowercase() {
                // Not the same name, but one that looks like it: nobody may pass for another.
                line(
                    out,
                    &format!(
                        "error: {name} looks too much like {who}, who is in the quiz; choose another name"
                    ),
                );
                out.extend_from_slice(NAME_PROMPT.as_bytes());
                return;
            }
            line(
                out,
                &format!(
                    "{who} has a quiz in progress. Type its resume code to carry on, or press Enter to choose another name."
                ),
            );
            out.extend_from_slice(CODE_PROMPT.as_bytes());
            self.set_state(State::Resuming {
                seat,
                number: shared.roster.seats.get(seat).map_or(0, |s| s.number),
                deadline: self.name_deadline,
            });
            return;
        }
        if shared
            .live
            .as_ref()
            .is_some_and(|l| l.phase() == live::Phase::Over)
        {
            line(
                out,
                "This live quiz is over; ask your teacher when the next one starts.",
            );
            return self.set_state(State::Done);
        }
        if keys
            .hashes()
            .iter()
            .any(|hash| shared.waiting_names.contains_key(hash))
        {
            // Someone under this name (or one like it) waits for the next round.
            line(
                out,
                &format!("error: the name {name} is taken; choose another"),
            );
            out.extend_from_slice(NAME_PROMPT.as_bytes());
            return;
        }
        let quiz = &shared.quiz;
        let taken = shared.roster.taken(keys);
        // A live round is the teacher's to run: the limit is on self-paced retakes.
        if shared.live.is_none() && !taken.may_start(quiz.settings.attempts) {
            shared.counters.retakes_refused += 1;
            log::info!(
                "{name} ({}) refused: {} attempt(s) taken already",
                self.peer,
                taken.attempts
            );
            let allowed = match quiz
                .settings
                .attempts
                .unwrap_or(0)
                .saturating_add(taken.granted)
            {
                1 => "the 1 attempt".to_string(),
                n => format!("the {n} attempts"),
            };
            line(
                out,
                &format!("error: {name} has had {allowed} allowed; your teacher can allow another"),
            );
            out.extend_from_slice(NAME_PROMPT.as_bytes());
            return;
        }
        let code = shared.secrets.code();
        wire::hello(out, &name, &quiz.how_to_answer, quiz.settings.reveal, &code);
        self.take_seat(name, keys, code, now, shared, out, true);
    }

    /// Seats the student under `name` (a new attempt, numbered on from the name's last, with
    /// resume code `code`) and starts it: the first question (self-paced), or the lobby (with
    /// how many are there if `announce`), or (live, under way) the next question to open.
    #[allow(clippy::too_many_arguments)]
    fn take_seat(
        &mut self,
        name: String,
        keys: NameKeys,
        code: String,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
        announce: bool,
    ) {
        let quiz = &shared.quiz;
        let attempt = shared.roster.taken(keys).attempts + 1;
        let seed = quiz.attempt_seed(&name, attempt, &mut shared.rng);
        let order = match shared.live.as_ref() {
            Some(live) => live.order.clone(),
            None => quiz.draw(seed).into(),
        };
        let phase = shared.live.as_ref().map(Live::phase);
        if let Some(live::Phase::Open { index, .. } | live::Phase::Closed { index, .. }) = phase
            && index + 1 >= order.len()
        {
            // Live, on its last question: nothing left to ask them in this round. No seat
            // (and no row); the room seats them in the next round's lobby with the others.
            line(
                out,
                "Waiting for the teacher: you join at the next round (this one is ending).",
            );
            for hash in keys.hashes() {
                *shared.waiting_names.entry(hash).or_default() += 1;
            }
            self.reserved = true;
            self.name = name;
            self.code = code;
            return self.set_state(State::Between);
        }
        let mut new = Seat::new(name.clone(), code, seed, order, (self.conn, self.peer), now);
        new.attempt = attempt;
        // Live, under way: they answer from the next question on, and nothing before counts.
        new.first = match phase {
            Some(live::Phase::Open { index, .. } | live::Phase::Closed { index, .. }) => index + 1,
            _ => 0,
        };
        let seat = shared.roster.add_keyed(new, keys);
        shared.counters.started += 1;
        if attempt > 1 {
            log::info!("{name} ({}) starts attempt {attempt}", self.peer);
        } else {
            log::debug!("{} is {}", self.peer, name);
        }
        self.name = name;
        match phase {
            None => self.ask(seat, 0, now, shared, out),
            Some(live::Phase::Lobby) => {
                if let Some(live) = shared.live.as_mut() {
                    live.lobby_changed(now);
                }
                if announce {
                    lobby_line(shared.roster.len(), out);
                }
                self.set_state(State::Waiting { seat });
            }
            Some(_) => {
                line(
                    out,
                    "Waiting for the teacher: the quiz is under way; you join at the next question.",
                );
                self.set_state(State::Waiting { seat });
            }
        }
    }

    /// Back to `name> `, with the deadline the connection had from the start.
    fn back_to_naming(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(NAME_PROMPT.as_bytes());
        self.set_state(State::Naming {
            deadline: self.name_deadline,
        });
    }

    /// The resume code for `seat`, typed after its name. Wrong codes count twice: on this
    /// connection ([`MAX_CODE_TRIES`], then it closes) and for the seat, from any connection
    /// (after [`crate::limits::FREE_CODE_TRIES`], each further try waits, longer each time, and
    /// the teachers are told): no number of connections or Enters gives a guesser more.
    fn on_code(
        &mut self,
        seat: usize,
        number: u64,
        input: &str,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        if input.is_empty() {
            return self.back_to_naming(out);
        }
        // The slot may hold another attempt by now: the number tells.
        let Some(s) = shared.roster.get_mut(seat).filter(|s| s.number == number) else {
            // The attempt ended while the code was being typed: start afresh.
            line(
                out,
                "That quiz has just ended; type a name to start a new one.",
            );
            return self.back_to_naming(out);
        };
        let wait = s.code_wait(now, address_of(self.peer));
        if !wait.is_zero() {
            shared.counters.codes_refused += 1;
            // A try refused unheard still counts against the connection: polling for the end
            // of a wait costs the guesser connections.
            self.wrong_codes = self.wrong_codes.saturating_add(1);
            if self.wrong_codes >= MAX_CODE_TRIES {
                line(out, "error: too many tries for a resume code; closing.");
                return self.set_state(State::Done);
            }
            line(
                out,
                &format!(
                    "error: too many wrong codes for {}; try again in {} s or ask for a new code",
                    s.name,
                    secs_left(now + wait, now)
                ),
            );
            return self.back_to_naming(out);
        }
        if !input.eq_ignore_ascii_case(&s.code) {
            shared.counters.wrong_codes += 1;
            self.wrong_codes = self.wrong_codes.saturating_add(1);
            log::debug!("{}: wrong resume code for {}", self.peer, s.name);
            if let Some(wait) = s.wrong_code(now, address_of(self.peer)) {
                let alert = format!(
                    "resume code for {}: {} wrong tries, the last from {}; that address waits {} s before its next (`code {}` gives a new code)",
                    s.name,
                    s.wrong_codes,
                    self.peer.ip(),
                    wait.as_secs(),
                    s.name
                );
                log::warn!("{alert}");
                shared.alerts.push(alert);
            }
            if self.wrong_codes >= MAX_CODE_TRIES {
                line(out, "error: wrong resume code; closing.");
                return self.set_state(State::Done);
            }
            line(
                out,
                "error: wrong resume code; try again, or press Enter to choose another name",
            );
            out.extend_from_slice(CODE_PROMPT.as_bytes());
            return;
        }
        if let Some(old) = s.holder {
            shared.evicted.push(old);
        }
        if let Some(left) = s.frozen.take() {
            // Brought back from the journal: its clock runs again from now.
            s.clock = Some(now + left);
        }
        let (index, clock, name) = (s.index, s.clock, s.name.clone());
        let (score, done) = judged(s, shared.live.as_ref().map(Live::phase), index);
        shared.roster.unpark(seat, self.conn);
        if let Some(s) = shared.roster.seats.get_mut(seat) {
            s.peer = self.peer;
        }
        shared.counters.resumed += 1;
        log::info!("{name} resumed their quiz from {}", self.peer);
        line(
            out,
            &format!("Welcome back, {name}. Score so far: {score}/{done}."),
        );
        self.name = name;
        if let Some(live) = shared.live.as_mut() {
            let open = live.open_question();
            let answered = shared
                .roster
                .seats
                .get(seat)
                .is_some_and(|s| open.is_some_and(|i| s.chosen.len() > i));
            match open {
                Some(index) if !answered => {
                    live.on_presence(true, now);
                    // The open question, with the time left on the room's clock.
                    self.open_live(seat, index, now, shared, out);
                }
                _ => {
                    line(
                        out,
                        &format!("{} to open the next question.", wire::WAITING),
                    );
                    self.set_state(State::Waiting { seat });
                }
            }
            return;
        }
        let Some(clock) = clock else {
            // No clock runs (none is set, or the last question's time ran out and the next
            // waited for Enter): the question afresh.
            return self.ask(seat, index, now, shared, out);
        };
        self.set_state(State::Asking {
            seat,
            index,
            clock: Some(clock),
            idle: now + shared.quiz.settings.idle_timeout,
        });
        if clock <= now {
            // The clock ran out while they were away.
            self.time_up(seat, index, now, shared, out);
        } else {
            self.show(seat, index, shared, out);
            line(out, &format!("({} s left)", secs_left(clock, now)));
            out.extend_from_slice(ANSWER_PROMPT.as_bytes());
        }
    }

    /// Puts question `index` of the attempt on screen with a fresh clock. Only copies bytes
    /// the quiz prepared, so asking allocates nothing.
    fn ask(
        &mut self,
        seat: usize,
        index: usize,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        let quiz = &shared.quiz;
        let clock = quiz.settings.time_limit.map(|limit| now + limit);
        if let Some(s) = shared.roster.seats.get_mut(seat) {
            s.index = index;
            s.clock = clock;
            s.asked_at = Some(now);
        }
        self.show(seat, index, shared, out);
        out.extend_from_slice(ANSWER_PROMPT.as_bytes());
        self.set_state(State::Asking {
            seat,
            index,
            clock,
            idle: now + quiz.settings.idle_timeout,
        });
    }

    /// The question block of the attempt's question `index`, without the prompt.
    fn show(&self, seat: usize, index: usize, shared: &Shared, out: &mut Vec<u8>) {
        let quiz = &shared.quiz;
        let Some(s) = shared.roster.seats.get(seat) else {
            return;
        };
        let bank_index = s.order[index];
        let wire = quiz.wire(bank_index).for_width(self.width);
        out.extend_from_slice(quiz.header(index));
        out.extend_from_slice(&wire.text);
        if !wire.options.is_empty() {
            let order = quiz.option_order(s.seed, bank_index);
            for shown in 0..order.len() {
                out.extend_from_slice(&wire::option_prefix(shown));
                out.extend_from_slice(&wire.options[order.bank_index(shown)]);
            }
        }
        out.extend_from_slice(&wire.hint);
    }

    fn on_answer(
        &mut self,
        seat: usize,
        index: usize,
        input: &str,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        if shared.saving_failed {
            return refuse_unsaved(out);
        }
        let quiz = &shared.quiz;
        let Some(s) = shared.roster.seats.get_mut(seat) else {
            return self.set_state(State::Done);
        };
        let (question, order) = question(s, index, quiz);
        let Some(graded) = grade_or_explain(question, &order, input, out) else {
            return;
        };
        s.chosen.push(Some(graded.response));
        s.time_question(index, now);
        shared.counters.answers += 1;
        if question.is_essay() {
            // No mark now: the teacher gives one from the results.
            line(out, wire::FOR_THE_TEACHER);
            if quiz.settings.reveal {
                feedback(out, question.feedback.as_deref());
            }
            return self.advance(seat, index, now, shared, out);
        }
        s.score += graded.marks;
        // Written straight into the output: no allocation per answer.
        let answer = question.right_answer(order.as_slice());
        match (quiz.settings.reveal, graded.marks) {
            (false, _) => wire::recorded(out),
            (true, marks) if marks.is_full() => wire::correct(out, s.score, index + 1),
            (true, marks) if marks.is_partial() => {
                wire::partly(out, marks, answer, s.score, index + 1)
            }
            (true, _) => wire::wrong(out, answer, s.score, index + 1),
        }
        if quiz.settings.reveal {
            feedback(out, graded.feedback.as_deref());
            feedback(out, question.feedback.as_deref());
        }
        let (bank_index, marks) = (s.order[index], graded.marks);
        shared.count_item(bank_index, Some(marks));
        self.advance(seat, index, now, shared, out);
    }

    /// After question `index` got its verdict: the next question, or the end.
    fn advance(
        &mut self,
        seat: usize,
        index: usize,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        let Some(s) = shared.roster.seats.get_mut(seat) else {
            return self.set_state(State::Done);
        };
        // A timed-out question has no entry yet.
        s.chosen.resize(index + 1, None);
        if index + 1 < s.order.len() {
            self.ask(seat, index + 1, now, shared, out);
        } else {
            s.index = s.order.len();
            out.extend_from_slice(b"\r\n");
            final_line(s, out);
            self.finish(seat, Status::Completed, now, shared);
        }
    }

    fn quit(&mut self, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        self.release_name(shared);
        match self.state {
            State::Naming { .. } | State::Resuming { .. } | State::Between => {
                line(out, "Bye.");
                self.set_state(State::Done);
            }
            State::Asking { seat, .. } | State::Paused { seat, .. } | State::Waiting { seat } => {
                out.extend_from_slice(b"\r\n");
                line(out, "You left the quiz; your answers so far are saved.");
                if let Some(s) = shared.roster.seats.get_mut(seat) {
                    s.index = s.chosen.len().max(s.index);
                    final_line(s, out);
                }
                self.finish(seat, Status::Quit, now, shared);
            }
            State::Done => {}
        }
    }

    /// Ends the attempt: records its row and frees the name.
    fn finish(&mut self, seat: usize, status: Status, now: Instant, shared: &mut Shared) {
        if let (Some(live), State::Asking { .. } | State::Paused { .. }) =
            (shared.live.as_mut(), self.state)
        {
            // One fewer to wait for on the open question.
            live.on_presence(false, now);
        }
        let lobby = shared
            .live
            .as_mut()
            .filter(|l| l.phase() == live::Phase::Lobby);
        if let Some(live) = lobby {
            // No question was asked yet: nothing to record, and one fewer in the lobby.
            live.lobby_changed(now);
            shared.roster.discard(seat, &mut shared.counters);
        } else {
            shared.roster.finish(
                seat,
                status,
                now,
                &mut shared.finished,
                &mut shared.counters,
            );
        }
        self.set_state(State::Done);
    }

    fn on_command(&mut self, input: &str, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        let (word, rest) = input.split_once(char::is_whitespace).unwrap_or((input, ""));
        let rest = rest.trim();
        match word.to_ascii_lowercase().as_str() {
            "/help" | "/?" => {
                for l in [
                    "Commands (they work at any prompt):",
                    "  /help       this list",
                    "  /score      your score so far",
                    "  /time       time left on this question",
                    "  /code       your resume code (to carry on after a disconnection)",
                    "  /ask TEXT   send a question to the teacher",
                    "  /quit       leave the quiz (your answers so far are saved)",
                ] {
                    line(out, l);
                }
            }
            "/quit" | "/exit" | "/bye" => return self.quit(now, shared, out),
            "/score" => {
                let (seat, index) = match self.state {
                    State::Asking { seat, index, .. }
                    | State::Paused {
                        seat, next: index, ..
                    } => (Some(seat), index),
                    State::Waiting { seat } => (Some(seat), 0),
                    _ => (None, 0),
                };
                match seat.and_then(|seat| shared.roster.seats.get(seat)) {
                    Some(s) => {
                        let phase = shared.live.as_ref().map(Live::phase);
                        let (score, done) = judged(s, phase, index);
                        let total = match phase {
                            Some(_) => s.order.len().saturating_sub(s.first),
                            None => s.order.len(),
                        };
                        if shared.quiz.settings.reveal {
                            line(
                                out,
                                &format!(
                                    "Score: {score}/{done} ({total} question{} in all)",
                                    if total == 1 { "" } else { "s" }
                                ),
                            )
                        } else {
                            line(out, &format!("Answered {done} of {total} questions."))
                        }
                    }
                    None if self.state == State::Between => {
                        line(out, "You join when the next round starts: no score yet.")
                    }
                    None => line(out, "error: the quiz starts once you give your name"),
                }
            }
            "/code" => match self.state {
                State::Asking { seat, .. }
                | State::Paused { seat, .. }
                | State::Waiting { seat } => {
                    let code = shared
                        .roster
                        .seats
                        .get(seat)
                        .map_or("", |s| s.code.as_str());
                    line(out, &format!("Your resume code is {code}."))
                }
                State::Between if !self.code.is_empty() => {
                    line(out, &format!("Your resume code is {}.", self.code))
                }
                _ => line(out, "error: you get a resume code once your quiz starts"),
            },
            "/time" => match self.state {
                State::Naming { deadline } | State::Resuming { deadline, .. } => line(
                    out,
                    &format!(
                        "Time left to give your name: {} s",
                        secs_left(deadline, now)
                    ),
                ),
                State::Asking { clock: Some(c), .. } => {
                    line(out, &format!("Time left: {} s", secs_left(c, now)))
                }
                State::Asking { clock: None, .. } => {
                    match shared.live.as_ref().and_then(Live::clock) {
                        Some((_, Some(c))) => {
                            line(out, &format!("Time left: {} s", secs_left(c, now)))
                        }
                        _ => line(out, "No time limit on this question."),
                    }
                }
                State::Waiting { .. } | State::Between => {
                    line(out, "No question is open right now.")
                }
                State::Paused { .. } => match shared.live.as_ref().and_then(Live::clock) {
                    // Live: the room's clock runs whether or not they have pressed Enter.
                    Some((_, Some(c))) => line(
                        out,
                        &format!(
                            "Time left: {} s (press Enter to see the question)",
                            secs_left(c, now)
                        ),
                    ),
                    Some((_, None)) => line(out, "No time limit on this question."),
                    None if shared.live.is_some() => line(out, "No question is open right now."),
                    None => line(
                        out,
                        "The next question and its clock start when you press Enter.",
                    ),
                },
                State::Done => {}
            },
            "/ask" if rest.is_empty() => line(out, "error: usage: /ask TEXT"),
            "/ask" if self.name().is_none() => {
                shared.counters.asks_refused += 1;
                line(
                    out,
                    "error: give your name first; then /ask TEXT reaches the teacher",
                )
            }
            "/ask"
                if !shared
                    .ask_gate
                    .allow(address_of(self.peer), self.name(), now) =>
            {
                shared.counters.asks_refused += 1;
                line(
                    out,
                    &format!(
                        "error: one question every {} s, please; try again shortly",
                        ASK_INTERVAL.as_secs()
                    ),
                );
            }
            "/ask" => {
                let who = self.name().unwrap_or("(no name yet)");
                let text = sanitize(rest, MAX_MESSAGE_CHARS);
                log::info!("question from {who} ({}): {text}", self.peer);
                shared.asks.push(format!("{who} ({}): {text}", self.peer));
                if shared.consoles_listening > 0 {
                    line(out, "Sent to the teacher.");
                } else {
                    line(
                        out,
                        "No teacher console is open: your question went to the server's log.",
                    );
                }
            }
            _ => line(
                out,
                &format!(
                    "error: unknown command {} (type /help)",
                    word.chars().take(40).collect::<String>()
                ),
            ),
        }
        self.prompt(out);
    }

    /// Prints the prompt of the current state again (after a command or an error).
    fn prompt(&self, out: &mut Vec<u8>) {
        match self.state {
            State::Naming { .. } => out.extend_from_slice(NAME_PROMPT.as_bytes()),
            State::Resuming { .. } => out.extend_from_slice(CODE_PROMPT.as_bytes()),
            State::Asking { .. } => out.extend_from_slice(ANSWER_PROMPT.as_bytes()),
            State::Paused { .. } => out.extend_from_slice(wire::NEXT_PROMPT.as_bytes()),
            State::Waiting { .. } | State::Between | State::Done => {}
        }
    }
}

impl Session {
    /// A live answer: recorded and tallied, the verdict waits for the question to close.
    fn on_live_answer(
        &mut self,
        seat: usize,
        index: usize,
        input: &str,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        if shared.saving_failed {
            return refuse_unsaved(out);
        }
        let quiz = &shared.quiz;
        let Some(live) = shared.live.as_mut() else {
            return;
        };
        let Some(s) = shared.roster.seats.get_mut(seat) else {
            return self.set_state(State::Done);
        };
        let (question, order) = question(s, index, quiz);
        let Some(graded) = grade_or_explain(question, &order, input, out) else {
            return;
        };
        let took = live.clock().map_or(Duration::ZERO, |(opened, _)| {
            now.saturating_duration_since(opened)
        });
        let slot = match (&question.kind, &graded.response) {
            (Kind::Choice { .. }, Response::Choice(picked)) => usize::from(*picked),
            _ => live::verdict_slot(graded.marks),
        };
        s.chosen.resize(index, None);
        s.chosen.push(Some(graded.response));
        s.score += graded.marks;
        s.points += live::points(live.settings.scoring, graded.marks, took, live.limit());
        s.answer_time += took;
        s.time_taken(index, crate::room::roster::millis_u32(took));
        s.last_marks = graded.marks;
        let graded_marks = graded.marks;
        s.last_feedback = graded.feedback.map(std::borrow::Cow::into_owned);
        shared.counters.answers += 1;
        line(out, "Answer recorded; waiting for the others.");
        self.set_state(State::Waiting { seat });
        live.on_answer(slot, now);
        let bank_index = s.order[index];
        if !question.is_essay() {
            shared.count_item(bank_index, Some(graded_marks));
        }
    }

    /// The room moved on (see [`super::live`]): shows this student the question that opened,
    /// their verdict with the room's results (`results`: the answer distribution and the
    /// leaderboard, the same for everyone, from [`super::live::results`]), or the end.
    pub fn on_live(
        &mut self,
        transition: Transition,
        results: &[u8],
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        let (State::Waiting { seat } | State::Asking { seat, .. } | State::Paused { seat, .. }) =
            self.state
        else {
            return;
        };
        match transition {
            Transition::Opened { index, .. } if std::mem::take(&mut self.stale) => {
                // A half-typed line from the last question may sit in their terminal: the
                // question shows on their Enter, which takes that line with it.
                if let Some(s) = shared.roster.seats.get_mut(seat) {
                    s.chosen.resize(index, None);
                    s.index = index;
                }
                out.extend_from_slice(b"\r\n");
                line(
                    out,
                    &format!("Question {} is open: press Enter to see it.", index + 1),
                );
                out.extend_from_slice(wire::NEXT_PROMPT.as_bytes());
                self.set_state(State::Paused {
                    seat,
                    next: index,
                    idle: now + MAX_DURATION,
                });
            }
            Transition::Opened { index, .. } => self.open_live(seat, index, now, shared, out),
            Transition::Closed { index, .. } => {
                let quiz = &shared.quiz;
                let total = shared.roster.len();
                let advances_at = shared.live.as_ref().and_then(Live::advances_at);
                let Some(s) = shared.roster.seats.get_mut(seat) else {
                    return;
                };
                // Off the prompt line (no answer), or a blank line after "Answer recorded".
                out.extend_from_slice(b"\r\n");
                let last = index + 1 == s.order.len();
                if index < s.first {
                    // They joined after this question opened: no verdict, nothing charged.
                    out.extend_from_slice(results);
                } else {
                    let answered = s.answered_last;
                    let (question, order) = question(s, index, quiz);
                    let asked = index + 1 - s.first;
                    let answer = question.right_answer(order.as_slice());
                    let marks = if answered { s.last_marks } else { Marks::ZERO };
                    match (quiz.settings.reveal, answered) {
                        _ if question.is_essay() && answered => line(out, wire::FOR_THE_TEACHER),
                        _ if question.is_essay() => {
                            wire::time_up(out, None::<(&str, Marks, usize)>)
                        }
                        (false, true) => wire::recorded(out),
                        (false, false) => wire::time_up(out, None::<(&str, Marks, usize)>),
                        (true, _) if marks.is_full() => wire::correct(out, s.score, asked),
                        (true, _) if marks.is_partial() => {
                            wire::partly(out, marks, answer, s.score, asked)
                        }
                        (true, true) => wire::wrong(out, answer, s.score, asked),
                        (true, false) => wire::time_up(out, Some((answer, s.score, asked))),
                    }
                    if quiz.settings.reveal {
                        if answered {
                            feedback(out, s.last_feedback.take().as_deref());
                        }
                        feedback(out, question.feedback.as_deref());
                    }
                    out.extend_from_slice(results);
                    line(
                        out,
                        &format!("You are {} of {total}.", crate::text::ordinal(s.rank)),
                    );
                    // Their terminal may hold a half-typed answer: the next question waits
                    // for an Enter, which takes it.
                    self.stale = !answered && !last;
                }
                if !last {
                    match advances_at {
                        Some(at) => line(
                            out,
                            &format!(
                                "Waiting for the next question: it opens in {} s.",
                                secs_left(at, now)
                            ),
                        ),
                        None => line(
                            out,
                            &format!("{} to open the next question.", wire::WAITING),
                        ),
                    }
                    if self.stale {
                        line(out, "Press Enter when you are ready for it.");
                        out.extend_from_slice(wire::NEXT_PROMPT.as_bytes());
                    }
                }
                self.set_state(State::Waiting { seat });
            }
            Transition::Over { early } => {
                let total = shared.live.as_ref().map_or(0, |l| l.ranked);
                if let Some(s) = shared.roster.seats.get_mut(seat) {
                    self.code = s.code.clone();
                    out.extend_from_slice(b"\r\n");
                    if early {
                        line(
                            out,
                            "The teacher ended the quiz; your answers so far are saved.",
                        );
                    }
                    // The podium, then their own result.
                    out.extend_from_slice(results);
                    s.index = s.chosen.len();
                    final_line(s, out);
                    line(
                        out,
                        &format!("You finished {} of {total}.", crate::text::ordinal(s.rank)),
                    );
                }
                let status = if early {
                    Status::Ended
                } else {
                    Status::Completed
                };
                self.stale = false;
                self.finish(seat, status, now, shared);
                // Still here: the room seats them in the next round ([`Session::rejoin`]).
                self.set_state(State::Between);
            }
            Transition::Lobby => {
                if shared
                    .live
                    .as_ref()
                    .is_some_and(|l| l.phase() == live::Phase::Lobby)
                {
                    let here = shared.roster.len();
                    line(
                        out,
                        &format!(
                            "Now {here} student{} here.",
                            if here == 1 { "" } else { "s" }
                        ),
                    );
                }
            }
        }
    }

    /// Live: the teacher is switching banks while this student waits in the lobby. Nothing was
    /// asked, so their seat goes without a row, and the room seats them in the new game's
    /// lobby ([`Session::rejoin`]) under the same name and code.
    pub fn leave_lobby(&mut self, shared: &mut Shared) {
        if let State::Waiting { seat } = self.state
            && let Some(s) = shared.roster.unseat(seat)
        {
            // Seated again at once: one attempt started, not two.
            shared.counters.started = shared.counters.started.saturating_sub(1);
            self.name = s.name;
            self.code = s.code;
            self.set_state(State::Between);
        }
    }

    /// Live: the round is over and a new one is in its lobby; a student still connected
    /// (after [`Transition::Over`]) takes a seat in it, under the same name and resume code.
    /// Writes nothing unless refused a seat.
    pub fn rejoin(&mut self, now: Instant, shared: &mut Shared, out: &mut Vec<u8>) {
        if self.state != State::Between {
            return;
        }
        self.release_name(shared);
        let name = std::mem::take(&mut self.name);
        let keys = NameKeys::of(&name);
        if shared.roster.find_keyed(&name, keys).is_some() {
            // Someone took the name meanwhile (cannot happen within one call, but be safe).
            line(out, "error: your name is taken in the next round; closing.");
            return self.set_state(State::Done);
        }
        let code = std::mem::take(&mut self.code);
        // Seated silently: the room tells everyone how many are here once all are seated.
        self.take_seat(name, keys, code, now, shared, out, false);
    }
}

/// `Waiting for the teacher to start the quiz: N students here.`
pub fn lobby_line(here: usize, out: &mut Vec<u8>) {
    line(
        out,
        &format!(
            "{} to start the quiz: {here} student{} here.",
            wire::WAITING,
            if here == 1 { "" } else { "s" }
        ),
    );
}

/// A seat's score and questions done as its verdicts count them: self-paced, the `index`
/// questions behind the student; live (`phase`), those that closed since the student could
/// first answer, an answer to the open one not judged yet.
fn judged(s: &Seat, phase: Option<live::Phase>, index: usize) -> (Marks, usize) {
    match phase {
        Some(live::Phase::Open { index, .. }) => {
            let pending = if s.chosen.len() > index {
                s.last_marks
            } else {
                Marks::ZERO
            };
            (
                s.score.saturating_sub(pending),
                index.saturating_sub(s.first),
            )
        }
        Some(live::Phase::Closed { index, .. }) => (s.score, (index + 1).saturating_sub(s.first)),
        Some(live::Phase::Lobby) => (s.score, 0),
        Some(live::Phase::Over) => (s.score, s.order.len().saturating_sub(s.first)),
        None => (s.score, index),
    }
}

impl Session {
    /// Live: the room's open question `index` on this student's screen.
    fn open_live(
        &mut self,
        seat: usize,
        index: usize,
        now: Instant,
        shared: &mut Shared,
        out: &mut Vec<u8>,
    ) {
        if let Some(s) = shared.roster.seats.get_mut(seat) {
            s.chosen.resize(index, None);
            s.index = index;
        }
        self.show(seat, index, shared, out);
        // Shown after it opened (the student pressed Enter at `next> `): the room's clock
        // has been running, and the header's full time would mislead.
        if let Some((opened, Some(closes))) = shared.live.as_ref().and_then(Live::clock)
            && now > opened
        {
            line(out, &format!("({} s left)", secs_left(closes, now)));
        }
        out.extend_from_slice(ANSWER_PROMPT.as_bytes());
        self.set_state(State::Asking {
            seat,
            index,
            clock: None,
            idle: now + MAX_DURATION,
        });
    }
}

/// The attempt's question `index` and how this student's screen letters its options.
fn question<'q>(seat: &Seat, index: usize, quiz: &'q Quiz) -> (&'q Question, OptionOrder) {
    let bank_index = seat.order[index];
    (
        &quiz.questions[bank_index as usize],
        quiz.option_order(seat.seed, bank_index),
    )
}

/// Grades `input`; an answer of the wrong form gets one `error:` line saying what to type and
/// the prompt again (no penalty), and `None`.
fn grade_or_explain<'q>(
    question: &'q Question,
    order: &OptionOrder,
    input: &str,
    out: &mut Vec<u8>,
) -> Option<crate::bank::Graded<'q>> {
    match question.grade(input, order.as_slice()) {
        Ok(graded) => Some(graded),
        Err(why) => {
            line(out, &format!("error: {why}"));
            out.extend_from_slice(ANSWER_PROMPT.as_bytes());
            None
        }
    }
}

/// An answer that cannot be saved (the journal cannot be written): not taken, and the same
/// prompt again.
fn refuse_unsaved(out: &mut Vec<u8>) {
    line(
        out,
        "error: answers cannot be saved right now (the server's disk is full), so yours was not taken; your teacher is told: try again in a moment",
    );
    out.extend_from_slice(ANSWER_PROMPT.as_bytes());
}

fn final_line(seat: &Seat, out: &mut Vec<u8>) {
    // Out of the questions asked: a live student who joined late is not marked on the others.
    let asked = seat.order.len().saturating_sub(seat.first) as u32;
    wire::quiz_over(out, &seat.name, seat.score, asked);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Marks;
    use crate::bank::Response::Choice as C;
    use crate::bank::{Bank, Kind, NumericAnswer, Question, ShortAnswer};
    use crate::limits::{CODE_LEN, MAX_NAME_CHARS};
    use crate::quiz::Settings;
    use crate::random::Secrets;
    use std::sync::Arc;

    /// Three questions; the right option is always the second one in the bank ("right").
    fn quiz(settings: Settings) -> Quiz {
        Quiz::new(super::super::tests::three(), settings)
    }

    fn in_order() -> Settings {
        Settings {
            shuffle: false,
            ..Settings::default()
        }
    }

    /// A fake world: one shared context and a clock that only moves when told.
    struct World {
        shared: Shared,
        next_conn: usize,
        now: Instant,
    }

    impl std::ops::Deref for World {
        type Target = Shared;
        fn deref(&self) -> &Shared {
            &self.shared
        }
    }

    impl std::ops::DerefMut for World {
        fn deref_mut(&mut self) -> &mut Shared {
            &mut self.shared
        }
    }

    /// One question of each kind, with feedback, in this order: true/false, short answer (with
    /// general feedback), numeric, multiple choice.
    fn mixed_quiz(settings: Settings) -> Quiz {
        let file: Arc<str> = Arc::from("t.gift");
        let short = |text: &str| ShortAnswer {
            text: text.into(),
            key: crate::bank::normalise(text),
            credit: 1.0,
            feedback: None,
        };
        let mut dns = Question::new(
            "What does DNS stand for?",
            Kind::Short {
                answers: vec![short("Domain Name System")],
                otherwise: Some("DNS turns names into addresses.".into()),
            },
            &file,
            3,
        );
        dns.feedback = Some("See RFC 1034.".into());
        let questions = vec![
            Question::new(
                "UDP sets up a connection before sending data.",
                Kind::TrueFalse {
                    answer: false,
                    right_feedback: Some("Right: UDP just sends.".into()),
                    wrong_feedback: Some("No: that is TCP's handshake.\nUDP just sends.".into()),
                },
                &file,
                1,
            ),
            dns,
            Question::new(
                "Pi to two decimals?",
                Kind::Numeric {
                    answers: vec![NumericAnswer {
                        min: 3.13,
                        max: 3.15,
                        credit: 1.0,
                        feedback: Some("Well remembered.".into()),
                        shown: "3.14 (+/- 0.01)".into(),
                    }],
                    otherwise: None,
                },
                &file,
                5,
            ),
            Question::new(
                "Which port does HTTPS use?",
                Kind::Choice {
                    options: vec!["80".into(), "443".into()],
                    correct: 1,
                    also_right: Vec::new(),
                    feedback: vec![Some("80 is plain HTTP.".into()), None],
                    credit: Vec::new(),
                },
                &file,
                7,
            ),
        ];
        Quiz::new(
            Bank {
                title: "mixed".into(),
                questions,
                ..Default::default()
            },
            settings,
        )
    }

    impl World {
        fn new(settings: Settings) -> World {
            World::serving(quiz(settings))
        }

        fn serving(quiz: Quiz) -> World {
            World {
                shared: Shared::new(
                    quiz,
                    fastrand::Rng::with_seed(1),
                    Secrets::Seeded(fastrand::Rng::with_seed(2)),
                ),
                next_conn: 0,
                now: Instant::now(),
            }
        }

        fn connect(&mut self) -> (Session, String) {
            let mut out = Vec::new();
            self.next_conn += 1;
            let s = Session::new(self.next_conn, peer(), self.now, &self.quiz, &mut out);
            (s, text(out))
        }

        fn with_ctx(&mut self, f: impl FnOnce(&mut Shared, Instant, &mut Vec<u8>)) -> String {
            let mut out = Vec::new();
            let now = self.now;
            f(&mut self.shared, now, &mut out);
            text(out)
        }

        fn send(&mut self, s: &mut Session, input: &str) -> String {
            self.with_ctx(|shared, now, out| s.on_line(input, now, shared, out))
        }

        /// Moves the clock; the session's deadlines and the roster's resume windows fire.
        fn wait(&mut self, s: &mut Session, secs: u64) -> String {
            self.now += Duration::from_secs(secs);
            let now = self.now;
            self.shared.expire(now);
            self.with_ctx(|shared, now, out| s.on_timeout(now, shared, out))
        }

        /// A student who has given `name` and sees question 1.
        fn named(&mut self, name: &str) -> Session {
            let (mut s, _) = self.connect();
            let shown = self.send(&mut s, name);
            assert!(shown.contains("Question 1 of"), "{shown}");
            s
        }
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40000))
    }

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).expect("session output is UTF-8")
    }

    #[test]
    fn greeting_names_the_quiz_and_ends_with_the_name_prompt() {
        let mut w = World::new(in_order());
        let (_, shown) = w.connect();
        assert!(shown.starts_with("Welcome to quizd: t. 3 questions, 30 s each.\r\n"));
        assert!(shown.ends_with("\r\nname> "));
    }

    #[test]
    fn a_whole_quiz_gives_verdicts_and_a_final_score_and_records_the_attempt() {
        let mut w = World::new(in_order());
        let (mut s, _) = w.connect();
        let q1 = w.send(&mut s, "alice");
        assert!(q1.starts_with("Hello alice."));
        assert!(q1.contains("\r\nQuestion 1 of 3 (30 s)\r\nQuestion text 1?\r\n  a) wrong 1\r\n  b) right 1\r\n  c) other 1\r\n  d) last 1\r\nanswer> "));
        assert!(q1.ends_with("answer> "));
        let v1 = w.send(&mut s, "b");
        assert!(v1.starts_with("Correct! Score: 1/1\r\n"), "{v1}");
        let v2 = w.send(&mut s, "A");
        assert!(
            v2.starts_with("Wrong. The answer was b) right 2. Score: 1/2\r\n"),
            "{v2}"
        );
        let end = w.send(&mut s, "b)");
        assert!(end.starts_with("Correct! Score: 2/3\r\n"), "{end}");
        assert!(
            end.ends_with("Quiz over, alice: you scored 2 out of 3 (67%).\r\n"),
            "{end}"
        );
        assert!(s.is_done());
        assert_eq!(s.next_deadline(), None);
        let a = &w.finished[0];
        assert_eq!(
            (a.score, a.max, a.status),
            (Marks::whole(2), 3, Status::Completed)
        );
        assert_eq!(
            a.responses,
            vec![(0, Some(C(1))), (1, Some(C(0))), (2, Some(C(1)))]
        );
        assert_eq!(w.counters.answers, 3);
        assert!(w.roster.is_empty(), "the name is free again");
    }

    #[test]
    fn an_invalid_answer_gets_an_error_and_the_same_question_without_penalty() {
        let mut w = World::new(in_order());
        let mut s = w.named("alice");
        for bad in ["e", "", "hello"] {
            let shown = w.send(&mut s, bad);
            assert_eq!(shown, "error: answer with a letter from a to d\r\nanswer> ");
        }
        assert!(w.send(&mut s, "b").starts_with("Correct! Score: 1/1"));
    }

    #[test]
    fn the_clock_running_out_shows_time_is_up_on_its_own_line_and_the_next_question_on_enter() {
        let mut w = World::new(in_order());
        let mut s = w.named("alice");
        assert_eq!(
            w.wait(&mut s, 29),
            "",
            "nothing happens before the deadline"
        );
        // The student may be half way through typing after `answer> `: a fresh line first.
        assert_eq!(
            w.wait(&mut s, 1),
            "\r\nTime is up. The answer was b) right 1. Score: 0/1\r\n\
             Press Enter for the next question.\r\nnext> "
        );
        assert_eq!(w.counters.timeouts, 1);
        // No clock runs meanwhile; /time and /score say where things are.
        assert_eq!(w.wait(&mut s, 100), "");
        assert_eq!(
            w.send(&mut s, "/time"),
            "The next question and its clock start when you press Enter.\r\nnext> "
        );
        assert!(
            w.send(&mut s, "/score")
                .starts_with("Score: 0/1 (3 questions in all)")
        );
        // What the half-typed line held goes with the Enter, never into question 2.
        let shown = w.send(&mut s, "b");
        assert!(shown.starts_with("\r\nQuestion 2 of 3 (30 s)"), "{shown}");
        assert!(shown.ends_with("answer> "), "{shown}");
        w.send(&mut s, "b");
        let last = w.wait(&mut s, 30);
        assert!(last.starts_with("\r\nTime is up."), "{last}");
        assert!(
            last.contains("Quiz over"),
            "no pause after the last: {last}"
        );
        let a = &w.finished[0];
        assert_eq!(a.responses, vec![(0, None), (1, Some(C(1))), (2, None)]);
        assert_eq!((a.score, a.status), (Marks::whole(1), Status::Completed));
    }

    #[test]
    fn next_deadline_follows_the_state() {
        let mut w = World::new(in_order());
        let start = w.now;
        let (mut s, _) = w.connect();
        assert_eq!(s.next_deadline(), Some(start + NAME_TIMEOUT));
        w.now += Duration::from_secs(5);
        w.send(&mut s, "alice");
        assert_eq!(s.next_deadline(), Some(w.now + Duration::from_secs(30)));
    }

    #[test]
    fn no_name_within_the_timeout_closes_without_a_row() {
        let mut w = World::new(in_order());
        let (mut s, _) = w.connect();
        let shown = w.wait(&mut s, 60);
        assert_eq!(shown, "\r\nerror: no name given in 60 s; closing.\r\n");
        assert!(s.is_done());
        assert!(w.finished.is_empty());
    }

    #[test]
    fn refused_names_get_one_error_line_and_the_prompt_again() {
        let mut w = World::new(in_order());
        let _alice = w.named("Alice");
        let (mut s, _) = w.connect();
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        for (name, why) in [
            ("", "error: type a name"),
            ("   ", "error: type a name"),
            (long.as_str(), "error: name too long (max 32 characters)"),
            (
                "bad\u{202e}name",
                "error: names may only hold visible characters",
            ),
            (
                "zero\u{200b}width",
                "error: names may only hold visible characters",
            ),
        ] {
            let shown = w.send(&mut s, name);
            assert!(shown.starts_with(why), "{name:?}: {shown}");
            assert!(shown.ends_with("\r\nname> "), "{name:?}: {shown}");
            assert_eq!(shown.matches("\r\n").count(), 1, "one line: {shown}");
        }
        // A name with a quiz in progress asks for its code; Enter goes back to the name.
        let shown = w.send(&mut s, "alice");
        assert!(
            shown.starts_with("Alice has a quiz in progress."),
            "{shown}"
        );
        assert!(shown.ends_with("\r\ncode> "), "{shown}");
        assert_eq!(w.send(&mut s, ""), "name> ");
        let max = "y".repeat(MAX_NAME_CHARS);
        assert!(w.send(&mut s, &max).contains("Question 1 of 3"));
    }

    #[test]
    fn quit_mid_quiz_saves_the_answers_so_far() {
        let mut w = World::new(in_order());
        let mut s = w.named("alice");
        w.send(&mut s, "b");
        let shown = w.send(&mut s, "/QUIT");
        assert!(shown.contains("You left the quiz; your answers so far are saved.\r\n"));
        assert!(
            shown.ends_with("Quiz over, alice: you scored 1 out of 3 (33%).\r\n"),
            "{shown}"
        );
        assert!(s.is_done());
        let a = &w.finished[0];
        assert_eq!((a.status, a.score), (Status::Quit, Marks::whole(1)));
        assert_eq!(a.responses, vec![(0, Some(C(1))), (1, None), (2, None)]);
    }

    #[test]
    fn leaving_before_giving_a_name_records_nothing() {
        let mut w = World::new(in_order());
        let (mut s, _) = w.connect();
        let shown = w.with_ctx(|shared, now, out| s.on_leave(now, shared, out));
        assert_eq!(shown, "Bye.\r\n");
        assert!(s.is_done() && w.finished.is_empty());
    }

    #[test]
    fn a_dropped_attempt_is_kept_for_the_resume_window_then_recorded() {
        let mut w = World::new(in_order());
        let mut s = w.named("alice");
        w.send(&mut s, "a");
        w.with_ctx(|shared, now, _| s.on_close(Status::Disconnected, now, shared));
        assert!(w.finished.is_empty(), "kept for resuming, not recorded yet");
        assert_eq!((w.roster.len(), w.roster.parked()), (1, 1));
        // A second close (the sweep after a shutdown, say) changes nothing.
        w.with_ctx(|shared, now, _| s.on_close(Status::Disconnected, now, shared));
        // The window is the idle timeout; when it ends, the attempt is recorded as it stood.
        w.now += w.quiz.settings.resume_window;
        assert_eq!(w.roster.next_expiry(), Some(w.now));
        let now = w.now;
        w.shared.expire(now);
        assert_eq!(w.finished.len(), 1);
        assert_eq!(w.finished[0].status, Status::Disconnected);
        assert_eq!(w.finished[0].responses[0], (0, Some(C(0))));
        assert!(w.roster.is_empty(), "no seat waits any more");
        // The name is not in the quiz, but it has taken its one attempt.
        let (mut s, _) = w.connect();
        let shown = w.send(&mut s, "alice");
        assert!(
            shown.starts_with("error: alice has had the 1 attempt allowed"),
            "{shown}"
        );
    }

    /// The resume code shown to a student who just gave their name.
    fn code_in(screen: &str) -> String {
        let at = screen.find("resume code is ").expect("the code is shown") + 15;
        screen[at..at + CODE_LEN].to_string()
    }

    /// Screens with the (random) resume code blanked out, for comparing.
    fn masked(screen: &str) -> String {
        match screen.find("resume code is ") {
            Some(at) => {
                let at = at + 15;
                format!(
                    "{}{}{}",
                    &screen[..at],
                    "*".repeat(CODE_LEN),
                    &screen[at + CODE_LEN..]
                )
            }
            None => screen.to_string(),
        }
    }

    #[test]
    fn a_dropped_student_resumes_with_the_code_where_they_were_with_the_score_intact() {
        let mut w = World::new(in_order());
        let (mut s, _) = w.connect();
        let code = code_in(&w.send(&mut s, "alice"));
        assert!(w.send(&mut s, "b").starts_with("Correct! Score: 1/1"));
        w.with_ctx(|shared, now, _| s.on_close(Status::Disconnected, now, shared));
        w.now += Duration::from_secs(5);

        let (mut back, _) = w.connect();
        let asked = w.send(&mut back, "ALICE");
        assert!(asked.contains("has a quiz in progress"), "{asked}");
        assert!(
            w.send(&mut back, "zzzzzz")
                .starts_with("error: wrong resume code; try again")
        );
        let resumed = w.send(&mut back, &code.to_uppercase());
        assert!(
            resumed.starts_with("Welcome back, alice. Score so far: 1/1."),
            "{resumed}"
        );
        assert!(resumed.contains("Question 2 of 3"), "{resumed}");
        assert!(resumed.ends_with("(25 s left)\r\nanswer> "), "{resumed}");
        assert!(w.send(&mut back, "b").starts_with("Correct! Score: 2/2"));
        assert!(
            w.send(&mut back, "a")
                .contains("Quiz over, alice: you scored 2 out of 3")
        );
        assert_eq!(w.finished.len(), 1, "one row for the whole attempt");
        assert_eq!(w.finished[0].status, Status::Completed);
        assert_eq!(w.counters.resumed, 1);
        assert_eq!(w.counters.wrong_codes, 1);
    }

    #[test]
    fn a_clock_that_ran_out_while_away_counts_as_time_up_on_resume() {
        let mut w = World::new(in_order());
        let (mut s, _) = w.connect();
        let code = code_in(&w.send(&mut s, "alice"));
        w.send(&mut s, "b");
        w.with_ctx(|shared, now, _| s.on_close(Status::Disconnected, now, shared));
        w.now += Duration::from_secs(31);
        let (mut back, _) = w.connect();
        w.send(&mut back, "alice");
        let resumed = w.send(&mut back, &code);
        assert_eq!(
            resumed,
            "Welcome back, alice. Score so far: 1/1.\r\n\
             Time is up. The answer was b) right 2. Score: 1/2\r\n\
             Press Enter for the next question.\r\nnext> "
        );
        assert!(w.send(&mut back, "").contains("Question 3 of 3"));
    }

    #[test]
    fn resuming_a_connected_attempt_evicts_the_old_connection() {
        let mut w = World::new(in_order());
        let (mut old, _) = w.connect();
        let code = code_in(&w.send(&mut old, "alice"));
        // The old connection is still open (a dead link the server has not noticed yet).
        let (mut new, _) = w.connect();
        w.send(&mut new, "alice");
        assert!(w.send(&mut new, &code).starts_with("Welcome back"));
        assert_eq!(
            w.evicted,
            vec![1],
            "the old connection (id 1) is to be closed"
        );
        let mut out = Vec::new();
        let now = w.now;
        old.on_evicted(now, &mut w.shared, &mut out);
        assert!(text(out).contains("resumed from another connection"));
        assert!(old.is_done());
        // Its close records nothing; the new connection finishes the attempt.
        w.with_ctx(|shared, now, _| old.on_close(Status::Disconnected, now, shared));
        assert!(w.finished.is_empty());
        assert_eq!(w.roster.parked(), 0);
        for _ in 0..3 {
            w.send(&mut new, "b");
        }
        assert_eq!(w.finished[0].score, Marks::whole(3));
    }

    #[test]
    fn a_notice_goes_on_its_own_line_and_the_prompt_comes_back() {
        let mut w = World::new(in_order());
        let s = w.named("alice");
        let mut out = Vec::new();
        s.notice("[teacher] five minutes left", &mut out);
        assert_eq!(text(out), "\r\n[teacher] five minutes left\r\nanswer> ");
        let (fresh, _) = w.connect();
        let mut out = Vec::new();
        fresh.notice("hello", &mut out);
        assert_eq!(text(out), "\r\nhello\r\nname> ");
    }

    #[test]
    fn ask_goes_to_the_teachers_sanitised() {
        let mut w = World::new(in_order());
        w.consoles_listening = 1;
        let mut s = w.named("alice");
        let shown = w.send(&mut s, "/ask is b)\u{1b}[2J a \u{202e}trick?");
        assert!(shown.starts_with("Sent to the teacher.\r\n"), "{shown}");
        assert_eq!(w.asks.len(), 1);
        assert!(
            w.asks[0].starts_with("alice (127.0.0.1:40000): is b)"),
            "{:?}",
            w.asks
        );
        assert!(!w.asks[0].contains('\u{1b}') && !w.asks[0].contains('\u{202e}'));
        // A long message is cut at crate::limits::MAX_MESSAGE_CHARS, with the cut marked.
        w.now += ASK_INTERVAL;
        w.send(
            &mut s,
            &format!("/ask {}", "x".repeat(crate::limits::MAX_MESSAGE_CHARS * 2)),
        );
        let text = w.asks[1].split(": ").nth(1).unwrap_or_default();
        assert_eq!(text.chars().count(), crate::limits::MAX_MESSAGE_CHARS);
        assert!(text.ends_with('…'), "{text}");
    }

    #[test]
    fn three_wrong_codes_close_the_connection_and_nobody_takes_the_attempt() {
        let mut w = World::new(in_order());
        let _alice = w.named("alice");
        let (mut s, _) = w.connect();
        w.send(&mut s, "alice");
        w.send(&mut s, "aaaaaa");
        w.send(&mut s, "bbbbbb");
        assert_eq!(
            w.send(&mut s, "cccccc"),
            "error: wrong resume code; closing.\r\n"
        );
        assert!(s.is_done());
        assert!(w.evicted.is_empty());
        assert_eq!(w.counters.wrong_codes, 3);
    }

    #[test]
    fn shutdown_tells_the_student_and_records_a_shutdown_row() {
        let mut w = World::new(in_order());
        let mut s = w.named("alice");
        let shown = w.with_ctx(|shared, now, out| s.on_shutdown(now, shared, out));
        assert!(shown.contains("Server is shutting down; your answers so far are saved.\r\n"));
        assert_eq!(w.finished[0].status, Status::Shutdown);
    }

    #[test]
    fn commands_answer_and_reprint_the_prompt() {
        let mut w = World::new(in_order());
        let (mut s, _) = w.connect();
        let help = w.send(&mut s, "/help");
        assert!(help.contains("/quit") && help.ends_with("name> "));
        w.now += Duration::from_millis(10_500);
        assert_eq!(
            w.send(&mut s, "/time"),
            "Time left to give your name: 50 s\r\nname> "
        );
        w.send(&mut s, "alice");
        w.now += Duration::from_millis(100);
        assert_eq!(w.send(&mut s, "/Time"), "Time left: 30 s\r\nanswer> ");
        w.send(&mut s, "b");
        assert_eq!(
            w.send(&mut s, "/score"),
            "Score: 1/1 (3 questions in all)\r\nanswer> "
        );
        assert_eq!(
            w.send(&mut s, "/ask"),
            "error: usage: /ask TEXT\r\nanswer> "
        );
        // No console past the token: the student is told where the question went.
        assert_eq!(
            w.send(&mut s, "/ask is b a trick?"),
            "No teacher console is open: your question went to the server's log.\r\nanswer> "
        );
        assert_eq!(
            w.send(&mut s, "/frobnicate now"),
            "error: unknown command /frobnicate (type /help)\r\nanswer> "
        );
    }

    #[test]
    fn a_too_long_line_is_an_error_and_the_prompt_again() {
        let mut w = World::new(in_order());
        let mut s = w.named("alice");
        let shown = w.with_ctx(|shared, _, out| s.on_too_long(shared, out));
        assert_eq!(shown, "error: line too long (max 1024 bytes)\r\nanswer> ");
        assert_eq!(w.counters.lines_too_long, 1);
    }

    #[test]
    fn an_essay_is_recorded_for_the_teacher_with_no_mark() {
        let file: Arc<str> = Arc::from("e.gift");
        let bank = Bank {
            title: "essays".into(),
            questions: vec![
                Question::new("Why do sockets need ports?", Kind::Essay, &file, 1),
                Question::new(
                    "Is TCP reliable?",
                    Kind::TrueFalse {
                        answer: true,
                        right_feedback: None,
                        wrong_feedback: None,
                    },
                    &file,
                    3,
                ),
            ],
            ..Default::default()
        };
        let mut w = World::serving(Quiz::new(bank, in_order()));
        let (mut s, _) = w.connect();
        let first = w.send(&mut s, "alice");
        assert!(
            first.contains("Type your answer on one line; your teacher will mark it."),
            "{first}"
        );
        assert!(w.send(&mut s, "").starts_with("error: type your answer"));
        let recorded = w.send(&mut s, "To tell services apart on one host.");
        assert!(
            recorded.starts_with("Answer recorded; your teacher will mark it.\r\n"),
            "{recorded}"
        );
        let end = w.send(&mut s, "true");
        assert!(
            end.contains("Quiz over, alice: you scored 1 out of 2"),
            "{end}"
        );
        let row = &w.finished[0];
        assert_eq!(
            row.responses[0],
            (
                0,
                Some(Response::Text("To tell services apart on one host.".into()))
            )
        );
        let csv = crate::results::row(row, &w.quiz, std::time::SystemTime::UNIX_EPOCH);
        assert!(
            csv.ends_with(&format!(",1,1:? 2:1,1:0.0 2:0.0,{}\r\n", row.id)),
            "to_grade names question 1, whose marks are the teacher's to give: {csv}"
        );
    }

    #[test]
    fn no_reveal_records_answers_without_verdicts() {
        let mut w = World::new(Settings {
            reveal: false,
            ..in_order()
        });
        let mut s = w.named("alice");
        assert!(w.send(&mut s, "b").starts_with("Answer recorded.\r\n"));
        assert!(w.wait(&mut s, 30).starts_with("\r\nTime is up.\r\n"));
        assert_eq!(
            w.send(&mut s, "/score"),
            "Answered 2 of 3 questions.\r\nnext> "
        );
        w.send(&mut s, "");
        let end = w.send(&mut s, "a");
        assert!(end.contains("Quiz over, alice: you scored 1 out of 3 (33%)."));
    }

    #[test]
    fn without_a_time_limit_an_idle_student_is_timed_out_and_saved() {
        let mut w = World::new(Settings {
            time_limit: None,
            idle_timeout: Duration::from_secs(600),
            ..in_order()
        });
        let mut s = w.named("alice");
        w.send(&mut s, "b");
        assert_eq!(w.wait(&mut s, 599), "");
        let shown = w.wait(&mut s, 1);
        assert!(
            shown.starts_with("\r\nerror: no answer for 600 s; closing."),
            "{shown}"
        );
        assert_eq!(w.finished[0].status, Status::TimedOut);
        assert_eq!(w.finished[0].score, Marks::whole(1));
    }

    #[test]
    fn count_limits_the_questions_per_attempt() {
        let mut w = World::new(Settings {
            count: Some(2),
            ..Settings::default()
        });
        let (_, greeting) = w.connect();
        assert!(greeting.contains("2 questions"));
        let mut s = w.named("alice");
        w.send(&mut s, "a");
        let end = w.send(&mut s, "a");
        assert!(end.contains("out of 2"), "{end}");
    }

    /// The letter a shuffled screen shows for the right option ("right N").
    fn right_letter(screen: &str) -> String {
        let option = screen
            .lines()
            .find(|l| l.contains(") right "))
            .expect("the right option is on screen");
        option.trim_start()[..1].to_string()
    }

    #[test]
    fn shuffled_options_are_graded_by_what_the_student_saw() {
        let mut w = World::new(Settings::default());
        for n in 0..20 {
            let (mut s, _) = w.connect();
            let mut screen = w.send(&mut s, &format!("student{n}"));
            while !s.is_done() {
                screen = w.send(&mut s, &right_letter(&screen));
                assert!(screen.starts_with("Correct!"), "{screen}");
            }
            assert!(screen.contains("you scored 3 out of 3 (100%)"));
        }
        // In the bank's lettering the right answer is always b.
        assert!(
            w.finished
                .iter()
                .all(|a| a.responses.iter().all(|r| r.1 == Some(C(1))))
        );
    }

    #[test]
    fn a_fixed_seed_gives_the_same_name_the_same_screens() {
        let settings = Settings {
            seed: Some(7),
            ..Settings::default()
        };
        let screens = |name: &str| {
            let mut w = World::new(settings.clone());
            let (mut s, _) = w.connect();
            let mut all = w.send(&mut s, name);
            all += &w.send(&mut s, "a");
            all += &w.send(&mut s, "c");
            all
        };
        assert_eq!(masked(&screens("alice")), masked(&screens("alice")));
    }

    #[test]
    fn random_students_never_break_the_invariants() {
        // A fixed-seed soup of names, answers, commands, clock jumps, leaves and drops over
        // many students sharing one roster.
        let inputs = [
            "a",
            "b",
            "C",
            "d)",
            "e",
            "",
            "  ",
            "zz",
            "/help",
            "/score",
            "/time",
            "/ask why",
            "/quit",
            "/QUIT",
            "/nope",
            "/",
            "alice",
            "Alice",
            "bob",
            "\u{202e}x",
            "b.",
            "1",
        ];
        let mut rng = fastrand::Rng::with_seed(2026);
        for settings in [
            Settings {
                attempts: None,
                ..Settings::default()
            },
            Settings {
                time_limit: None,
                reveal: false,
                attempts: None,
                ..in_order()
            },
        ] {
            let mut w = World::new(settings);
            let mut students: Vec<(Session, bool)> = Vec::new();
            let mut named = 0;
            for _ in 0..5_000 {
                if students.is_empty() || rng.u8(..) < 20 {
                    let (s, _) = w.connect();
                    students.push((s, false));
                }
                let i = rng.usize(..students.len());
                let (s, was_named) = &mut students[i];
                let out = match rng.u8(..10) {
                    0 => w.wait(s, rng.u64(0..40)),
                    1 => w.with_ctx(|shared, now, out| s.on_leave(now, shared, out)),
                    2 => {
                        w.with_ctx(|shared, now, _| s.on_close(Status::Disconnected, now, shared));
                        String::new()
                    }
                    _ => {
                        let input = inputs[rng.usize(..inputs.len())];
                        w.send(s, input)
                    }
                };
                if s.name().is_some() && !*was_named {
                    *was_named = true;
                    named += 1;
                }
                if !s.is_done() && !out.is_empty() {
                    assert!(
                        out.ends_with("name> ")
                            || out.ends_with("answer> ")
                            || out.ends_with("code> ")
                            || out.ends_with("next> "),
                        "a live session's output ends with a prompt: {out:?}"
                    );
                }
                if s.is_done() {
                    students.swap_remove(i);
                }
            }
            for (mut s, _) in students {
                w.with_ctx(|shared, now, _| s.on_close(Status::Disconnected, now, shared));
            }
            let now = w.now;
            w.shared.finish_parked(Status::Disconnected, now);
            assert!(named > 0);
            assert!(
                w.counters.discarded > 0,
                "the soup dropped some before an answer"
            );
            assert_eq!(
                w.finished.len() as u64 + w.counters.discarded,
                w.counters.started,
                "one row per attempt started, unless dropped before any answer"
            );
            assert!(w.roster.is_empty(), "every name is released");
            for a in &w.finished {
                assert!(a.score <= Marks::whole(a.max));
                assert_eq!(a.responses.len(), a.max as usize);
            }
            for status in [Status::Completed, Status::Quit, Status::Disconnected] {
                assert!(
                    w.finished.iter().any(|a| a.status == status),
                    "the soup reached {status:?}"
                );
            }
            assert!(w.counters.answers > 100 && w.counters.timeouts + named as u64 > 0);
        }
    }

    #[test]
    fn a_mixed_bank_greets_with_every_kind_of_answer_and_hints_what_to_type() {
        let mut w = World::serving(mixed_quiz(in_order()));
        let (mut s, _) = w.connect();
        let q1 = w.send(&mut s, "alice");
        assert_eq!(
            masked(&q1),
            "Hello alice. Answer each question as it asks: the letter of your choice, \
             true or false, a number, or a few words.\r\n\
             Your resume code is ****** (/code shows it again). If you are disconnected,\r\n\
             connect again with the same name and type it.\r\n\
             \r\nQuestion 1 of 4 (30 s)\r\n\
             UDP sets up a connection before sending data.\r\n\
             Type true or false.\r\n\
             answer> "
        );
    }

    #[test]
    fn true_false_short_numeric_and_choice_get_verdicts_feedback_and_records() {
        let mut w = World::serving(mixed_quiz(in_order()));
        let mut s = w.named("alice");
        assert_eq!(
            w.send(&mut s, "maybe"),
            "error: answer true or false (or t or f)\r\nanswer> "
        );
        let v1 = w.send(&mut s, "T");
        assert!(
            v1.starts_with(
                "Wrong. The answer was false. Score: 0/1\r\n\
                 No: that is TCP's handshake.\r\nUDP just sends.\r\n\
                 \r\nQuestion 2 of 4 (30 s)\r\nWhat does DNS stand for?\r\n\
                 Type your answer.\r\nanswer> "
            ),
            "{v1:?}"
        );
        assert_eq!(w.send(&mut s, "  "), "error: type your answer\r\nanswer> ");
        let v2 = w.send(&mut s, "  domain  name SYSTEM ");
        assert!(
            v2.starts_with("Correct! Score: 1/2\r\nSee RFC 1034.\r\n\r\nQuestion 3 of 4"),
            "{v2:?}"
        );
        assert!(v2.ends_with("Pi to two decimals?\r\nType a number.\r\nanswer> "));
        assert_eq!(
            w.send(&mut s, "pi"),
            "error: answer with a number, like 42, -2, 3.14 or 1e3\r\nanswer> "
        );
        let v3 = w.send(&mut s, "3,14");
        assert!(
            v3.starts_with("Correct! Score: 2/3\r\nWell remembered.\r\n\r\nQuestion 4"),
            "{v3:?}"
        );
        assert!(v3.ends_with("  a) 80\r\n  b) 443\r\nanswer> "), "{v3:?}");
        let end = w.send(&mut s, "a");
        assert_eq!(
            end,
            "Wrong. The answer was b) 443. Score: 2/4\r\n80 is plain HTTP.\r\n\
             \r\nQuiz over, alice: you scored 2 out of 4 (50%).\r\n"
        );
        let text = |t: &str| Some(Response::Text(t.into()));
        assert_eq!(
            w.finished[0].responses,
            vec![
                (0, text("true")),
                (1, text("domain  name SYSTEM")),
                (2, text("3,14")),
                (3, Some(C(0))),
            ]
        );
        assert_eq!(w.counters.answers, 4);
    }

    #[test]
    fn a_wrong_short_answer_gets_the_otherwise_feedback_then_the_general_feedback() {
        let mut w = World::serving(mixed_quiz(in_order()));
        let mut s = w.named("alice");
        w.send(&mut s, "false");
        let shown = w.send(&mut s, "Dynamic Naming Service");
        assert!(
            shown.starts_with(
                "Wrong. The answer was Domain Name System. Score: 1/2\r\n\
                 DNS turns names into addresses.\r\nSee RFC 1034.\r\n\r\n"
            ),
            "{shown:?}"
        );
    }

    #[test]
    fn time_up_on_a_typed_question_names_the_answer_and_shows_general_feedback() {
        let mut w = World::serving(mixed_quiz(in_order()));
        let mut s = w.named("alice");
        let shown = w.wait(&mut s, 30);
        assert!(
            shown.starts_with("\r\nTime is up. The answer was false. Score: 0/1\r\nPress Enter"),
            "no answer, so no answer feedback: {shown:?}"
        );
        w.send(&mut s, "");
        let shown = w.wait(&mut s, 30);
        assert!(
            shown.starts_with(
                "\r\nTime is up. The answer was Domain Name System. Score: 0/2\r\n\
                 See RFC 1034.\r\nPress Enter"
            ),
            "{shown:?}"
        );
        w.send(&mut s, "");
        let shown = w.wait(&mut s, 30);
        assert!(
            shown.starts_with("\r\nTime is up. The answer was 3.14 (+/- 0.01). Score: 0/3\r\n"),
            "{shown:?}"
        );
    }

    #[test]
    fn no_reveal_hides_feedback_too() {
        let mut w = World::serving(mixed_quiz(Settings {
            reveal: false,
            ..in_order()
        }));
        let (mut s, _) = w.connect();
        let hello = w.send(&mut s, "alice");
        assert!(
            hello.starts_with(
                "Hello alice. Answer each question as it asks: the letter of your choice, \
                 true or false, a number, or a few words; your score comes at the end.\r\n"
            ),
            "{hello:?}"
        );
        for answer in ["t", "nothing", "2"] {
            let shown = w.send(&mut s, answer);
            assert!(
                shown.starts_with("Answer recorded.\r\n\r\nQuestion "),
                "{shown:?}"
            );
        }
        assert!(
            w.wait(&mut s, 30)
                .starts_with("\r\nTime is up.\r\n\r\nQuiz over")
        );
        assert_eq!(w.finished[0].responses[3], (3, None));
    }

    #[test]
    fn a_bank_of_one_other_kind_says_just_that_kind_in_the_greeting() {
        let quiz = mixed_quiz(in_order());
        let only_numbers = Bank {
            title: "numbers".into(),
            questions: vec![quiz.questions[2].clone()],
            ..Default::default()
        };
        let mut w = World::serving(Quiz::new(only_numbers, in_order()));
        let (mut s, _) = w.connect();
        assert!(
            w.send(&mut s, "alice")
                .starts_with("Hello alice. Answer each question with a number.\r\n")
        );
    }
}
