//! What every student's session shares: the quiz, the roster, the live game, the counters, the
//! room's two sources of randomness (see [`crate::random`]), and the queues a session fills for the room to act on.
//!
//! The room owns one [`Shared`] beside its members, so a session can be handed `&mut Shared`
//! while the room holds the session itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use crate::limits::{ASK_INTERVAL, ASKS_PER_ADDRESS, ASKS_PER_INTERVAL};

use super::live::Live;
use super::roster::{Attempt, Counters, Roster, Status};
use crate::quiz::Quiz;
use crate::random::Secrets;

/// The `/ask` rate limit, kept by name (one ask per [`ASK_INTERVAL`]) and by address (at
/// most [`ASKS_PER_ADDRESS`] per interval: a class behind one NAT shares them), never by
/// connection, so reconnecting or taking another name resets nothing.
#[derive(Debug, Default)]
pub struct AskGate {
    /// When the current interval began for everyone, and the asks in it.
    all: Option<(Instant, u32)>,
    by_name: HashMap<String, Instant>,
    /// Per address: when its current interval began, and the asks in it.
    by_address: HashMap<IpAddr, (Instant, u32)>,
}

impl AskGate {
    /// Whether a student at `peer`, named `name` (if they have one yet), may ask now; if so,
    /// the ask is counted.
    pub fn allow(&mut self, peer: IpAddr, name: Option<&str>, now: Instant) -> bool {
        let recent = |at: &Instant| now.saturating_duration_since(*at) < ASK_INTERVAL;
        let name = name.map(|n| crate::text::name_keys(n)[1].clone());
        if name
            .as_ref()
            .and_then(|n| self.by_name.get(n))
            .is_some_and(recent)
        {
            return false;
        }
        let address = match self.by_address.get(&peer) {
            Some(&(since, count)) if recent(&since) => (since, count),
            _ => (now, 0),
        };
        if address.1 >= ASKS_PER_ADDRESS {
            return false;
        }
        let all = match self.all {
            Some((since, count)) if recent(&since) => (since, count),
            _ => (now, 0),
        };
        if all.1 >= ASKS_PER_INTERVAL {
            return false;
        }
        self.all = Some((all.0, all.1 + 1));
        if self.by_name.len() + self.by_address.len() >= MAX_ASK_KEYS {
            // Forget asks too old to matter: the maps stay as large as the asks of the last
            // interval.
            self.by_name.retain(|_, at| recent(at));
            self.by_address.retain(|_, (since, _)| recent(since));
        }
        if let Some(name) = name {
            self.by_name.insert(name, now);
        }
        self.by_address.insert(peer, (address.0, address.1 + 1));
        true
    }
}

/// Asks remembered before old ones are forgotten (a cleaning threshold, not a limit).
const MAX_ASK_KEYS: usize = 4096;

/// What sessions share.
#[derive(Debug)]
pub struct Shared {
    pub quiz: Quiz,
    pub roster: Roster,
    pub counters: Counters,
    /// The live game, in live mode.
    pub live: Option<Live>,
    /// Attempts that ended; the room records them (before any byte announcing them goes out)
    /// and empties this.
    pub finished: Vec<Attempt>,
    /// Connections whose seat another connection just took over with the resume code; the
    /// room tells each and closes it.
    pub evicted: Vec<usize>,
    /// Students' `/ask` messages, sanitised and ready to show (`alice (127.0.0.1:5000): ...`);
    /// the room puts them on every teacher console.
    pub asks: Vec<String>,
    /// The `/ask` rate limit, by address and by name.
    pub ask_gate: AskGate,
    /// Other lines for every console (a name's resume code under attack, ...), shown as they
    /// are.
    pub alerts: Vec<String>,
    /// Teacher consoles past the token: the ones an `/ask` reaches.
    pub consoles_listening: usize,
    /// The journal cannot be written (a full disk): answers are refused, not graded, so that
    /// no verdict is shown for an answer that is not on disk.
    pub saving_failed: bool,
    /// Live rounds begun, this one included: with `--seed`, each round draws its own
    /// questions and lettering (replayable, but not the same round twice).
    pub rounds: u32,
    /// Names of live students waiting, without a seat, for the next round (they joined
    /// during a round's last question), by their key hashes: nobody else may take them
    /// meanwhile.
    pub waiting_names: std::collections::HashMap<u64, u32>,
    /// Randomness that only shapes a quiz (attempt seeds, the live room's questions): seeded,
    /// so a run can be replayed.
    pub rng: fastrand::Rng,
    /// Randomness that must not be guessed (resume codes).
    pub secrets: Secrets,
    /// Per bank question, answers so far (time-ups included) and the marks they earned, in
    /// [`crate::bank::Marks`] units: the board's "percent right" as answers arrive.
    pub item_marks: Vec<(u32, u64)>,
}

impl Shared {
    /// Counts an answer (or a clock run out: `None`) to bank question `question` for the
    /// board.
    pub fn count_item(&mut self, question: u32, marks: Option<crate::bank::Marks>) {
        let n = self.quiz.questions.len();
        if self.item_marks.len() != n {
            self.item_marks = vec![(0, 0); n];
        }
        if let Some(item) = self.item_marks.get_mut(question as usize) {
            item.0 += 1;
            item.1 += u64::from(marks.map_or(0, crate::bank::Marks::units));
        }
    }

    /// Nothing shared yet but the quiz (and, in live mode, a fresh game for it).
    pub fn new(quiz: Quiz, rng: fastrand::Rng, secrets: Secrets) -> Shared {
        let mut shared = Shared {
            quiz,
            roster: Roster::default(),
            counters: Counters::default(),
            live: None,
            finished: Vec::new(),
            evicted: Vec::new(),
            asks: Vec::new(),
            alerts: Vec::new(),
            consoles_listening: 0,
            saving_failed: false,
            rounds: 0,
            waiting_names: std::collections::HashMap::new(),
            ask_gate: AskGate::default(),
            rng,
            secrets,
            item_marks: Vec::new(),
        };
        shared.new_game();
        shared
    }

    /// A fresh live game (in the lobby) for the quiz, its questions drawn once for everyone;
    /// `None` when the quiz is self-paced.
    pub fn new_game(&mut self) {
        self.rounds = self.rounds.saturating_add(1);
        self.live = Live::for_quiz(&self.quiz, self.rounds, &mut self.rng);
    }

    /// Records every parked attempt whose resume window has ended.
    pub fn expire(&mut self, now: Instant) {
        self.roster
            .expire(now, &mut self.finished, &mut self.counters);
    }

    /// Records every parked attempt now, with `status` (see [`Roster::finish_parked`]).
    pub fn finish_parked(&mut self, status: Status, now: Instant) {
        self.roster
            .finish_parked(status, now, &mut self.finished, &mut self.counters);
    }

    /// Students in the quiz with a connection (they can answer the next question).
    pub fn present(&self) -> usize {
        self.roster.len() - self.roster.parked()
    }
}
