//! The room: everything the class shares, as pure code, and every connection's state machine.
//!
//! A [`Room`] owns the quiz, the roster of attempts, the counters, the live game, the teachers'
//! consoles, the students' sessions, their deadlines and the room's random generators. It never
//! sees a socket, a file or the clock: the server hands it what happened on each connection
//! (`handle_*`, by connection id) and the current instant, and the room answers through one
//! small sink the server implements, [`Io`]: bytes for a connection, a connection to close, an
//! attempt to record, banks to read, the results so far, a shutdown.
//!
//! Two layers, as quinn-proto has an `Endpoint` for every peer and a `Connection` for one:
//! the room decides what the class shares (who is here, the live game, teacher commands in
//! `teacher.rs`), each [`Session`] decides one student's exchange and each [`Console`] one
//! teacher's.
//!
//! Call order: [`Room::new`] once; then, in any order, [`Room::handle_connect`] for a new
//! connection id, any number of [`Room::handle_line`], [`Room::handle_too_long`] and
//! [`Room::handle_leave`] for it, and [`Room::handle_close`] once it is gone (an id may then be
//! used again); [`Room::handle_timeout`] whenever [`Room::next_deadline`] has passed (calling it
//! early is harmless); [`Room::handle_shutdown`] once, at the end. `now` never goes backwards.
//!
//! What the room promises its sink: a finished attempt is [`Io::record`]ed before any byte
//! announcing it (`Quiz over`, a verdict) is [`Io::send`]; bytes for one connection go out in
//! order; [`Io::close`] comes after the last bytes for that connection, and nothing follows it.

mod board;
mod journal;
pub mod live;
pub mod roster;
pub mod session;
pub mod shared;
mod teacher;

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::bank::{Bank, Problem};
use crate::console::Console;
use crate::console::render::TopRow;
use crate::limits::{
    FREE_TOKEN_TRIES, TOKEN_ADDRESSES, TOKEN_BACKOFF, TOKEN_BACKOFF_MAX, TOKEN_FAILURE_MEMORY,
    address_of,
};
use crate::quiz::Quiz;
use crate::random::Secrets;
use live::{Live, Transition};
use roster::{Attempt, Counters, Status};
use session::Session;
use shared::Shared;

pub use journal::Restored;

/// A connection's id: unique among open connections, reused once one is closed (the server's
/// slab key).
pub type ConnId = usize;

/// Which port a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The student port: a quiz session.
    Student,
    /// The teacher console.
    Teacher,
}

/// What the room asks of the world outside it. The server implements it over sockets and
/// files; the room's tests implement it over plain vectors.
pub trait Io {
    /// Bytes for connection `id`, to go out after everything sent to it before.
    fn send(&mut self, id: ConnId, bytes: &[u8]);
    /// Connection `id` has had its last word: close it once its output is out.
    fn close(&mut self, id: ConnId);
    /// Connection `id` (a console) hides what is typed (the token) or shows it again: its
    /// telnet decoder must accept or drop the client's agreement to that (the bytes that ask
    /// are in the output already).
    fn hide_input(&mut self, _id: ConnId, _hide: bool) {}
    /// Connection `id` is owed no more than one try at sending its last line: close it now,
    /// without waiting for the peer to take it (a console that never gave the token, so a
    /// stream of them cannot hold descriptors).
    fn cut(&mut self, id: ConnId) {
        self.close(id);
    }
    /// An attempt ended: record it (the results file) before anything else happens.
    fn record(&mut self, attempt: &Attempt, quiz: &Quiz);
    /// Reads and parses the bank files or directories `paths` (`load`, `reload`).
    fn read_banks(&mut self, paths: &[PathBuf]) -> Result<Bank, Vec<Problem>>;
    /// The results file as written so far (`results`), or why it cannot be read.
    fn results(&mut self) -> Result<String, String>;
    /// What the sockets side counts, for `stats`.
    fn net(&self) -> NetStats;
    /// A teacher asked the server to stop (`shutdown`).
    fn shutdown(&mut self);
}

/// An [`Io`] that keeps nothing but counts: for benches and allocation tests, where the room's
/// own cost is what is measured.
#[derive(Debug, Default)]
pub struct Discard {
    pub bytes: usize,
    pub closed: usize,
    pub recorded: usize,
}

impl Io for Discard {
    fn send(&mut self, _id: ConnId, bytes: &[u8]) {
        self.bytes += bytes.len();
    }

    fn close(&mut self, _id: ConnId) {
        self.closed += 1;
    }

    fn record(&mut self, _attempt: &Attempt, _quiz: &Quiz) {
        self.recorded += 1;
    }

    fn read_banks(&mut self, _paths: &[PathBuf]) -> Result<Bank, Vec<Problem>> {
        Err(vec![Problem::new("-", 0, "no files here")])
    }

    fn results(&mut self) -> Result<String, String> {
        Err("no results file here".into())
    }

    fn net(&self) -> NetStats {
        NetStats::default()
    }

    fn shutdown(&mut self) {}
}

/// What the sockets side counts (the room counts the rest, in [`Counters`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NetStats {
    /// Student connections accepted since the start (refused ones included).
    pub accepted: u64,
    /// Connections refused because the server was full.
    pub rejected_full: u64,
    /// Connections refused because their address had `--max-per-address` open.
    pub rejected_address: u64,
    /// Connections closed because their output backed up.
    pub closed_output_cap: u64,
    /// Consoles refused because every slot was taken by one past its token, or too many
    /// console sockets were still closing.
    pub rejected_consoles: u64,
    /// Times accepting paused for lack of descriptors.
    pub accept_pauses: u64,
    /// Most connections open at once.
    pub peak_connections: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// What the journal did (`None`: no journal).
    pub journal: Option<crate::journal::JournalStats>,
    /// What the projector board did (`None`: no board).
    pub board: Option<crate::board::BoardStats>,
}

/// What a room starts with.
#[derive(Debug)]
pub struct RoomConfig {
    pub quiz: Quiz,
    /// The token teachers type at the console.
    pub admin_token: String,
    /// How long a console may take to give the token.
    pub token_timeout: Duration,
    /// The bank files the quiz came from (empty: the bundled bank), for `reload`.
    pub banks: Vec<PathBuf>,
    /// A title that replaces the bank's, kept across `load` and `reload`.
    pub title: Option<String>,
    /// Randomness that shapes the quiz ([`crate::random::quiz_rng`]).
    pub rng: fastrand::Rng,
    /// Where resume codes come from ([`Secrets::Os`] outside tests).
    pub secrets: Secrets,
    /// Dropped attempts one address may keep waiting (`--max-per-address`; `None`: no
    /// limit but [`crate::limits::MAX_PARKED_SEATS`] in all).
    pub parked_per_address: Option<usize>,
    /// Whether the room writes journal records ([`Room::journal_mut`]).
    pub journal: bool,
    /// This run's id, the first half of every attempt id (random outside tests).
    pub run: u32,
}

/// Where the quiz being served came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// The bank built into the binary.
    Bundled,
    /// These files or directories (the command line, or `load`): `reload` reads them again.
    Files(Vec<PathBuf>),
    /// An `upload` under this name: there is no file to read again.
    Upload(String),
}

impl RoomConfig {
    /// A room for `quiz` whose every random choice, resume codes included, follows from `seed`,
    /// with no console token and no bank files: for tests, benches and replays, never to serve
    /// a class (its codes can be predicted).
    pub fn replayable(quiz: Quiz, seed: u64) -> RoomConfig {
        RoomConfig {
            quiz,
            admin_token: String::new(),
            token_timeout: crate::limits::TOKEN_TIMEOUT,
            banks: Vec::new(),
            title: None,
            rng: fastrand::Rng::with_seed(seed),
            secrets: Secrets::Seeded(fastrand::Rng::with_seed(seed.wrapping_add(1))),
            parked_per_address: Some(crate::limits::MAX_PER_ADDRESS),
            journal: false,
            run: seed as u32,
        }
    }
}

/// One open connection, as the room sees it.
#[derive(Debug)]
struct Member {
    peer: SocketAddr,
    /// The client's window width, if it said (telnet NAWS); text is wrapped to it.
    width: Option<u16>,
    /// When the last line arrived (the teacher's `who` shows idle time).
    last_line: Instant,
    /// The deadline this member has in the room's timer set.
    armed: Option<Instant>,
    role: Role,
}

#[derive(Debug)]
enum Role {
    Student(Session),
    Teacher {
        console: Box<Console>,
        /// The console closes if no token has come by then.
        token_deadline: Instant,
    },
}

impl Member {
    /// The instant the member wants [`Room::handle_timeout`] to look at it.
    fn deadline(&self) -> Option<Instant> {
        match &self.role {
            Role::Student(session) => session.next_deadline(),
            Role::Teacher {
                console,
                token_deadline,
            } => (!console.is_authenticated() && !console.is_closed()).then_some(*token_deadline),
        }
    }

    /// Whether the member has said its last word.
    fn is_done(&self) -> bool {
        match &self.role {
            Role::Student(session) => session.is_done(),
            Role::Teacher { console, .. } => console.is_closed(),
        }
    }
}

/// Wrong console tokens per address, from every console at that address together: after
/// [`FREE_TOKEN_TRIES`], each further try from there waits, so no number of connections guesses
/// faster than one try per wait, and a guesser elsewhere never makes the teacher wait. Only
/// addresses that typed a wrong token are kept, [`TOKEN_ADDRESSES`] at most; beyond them, the
/// rest (and any address not kept) share one more gate.
#[derive(Debug, Default)]
struct TokenGates {
    by_address: HashMap<IpAddr, TokenGate>,
    rest: TokenGate,
}

impl TokenGates {
    /// How long before `from` may try a token (zero: now).
    fn wait(&self, from: IpAddr, now: Instant) -> Duration {
        match self.by_address.get(&from) {
            Some(gate) => gate.wait(now),
            None if self.by_address.len() >= TOKEN_ADDRESSES => self.rest.wait(now),
            None => Duration::ZERO,
        }
    }

    /// A wrong token from `from`; returns the wait that starts there, and the count, if any.
    fn failed(&mut self, from: IpAddr, now: Instant) -> (Option<Duration>, u32) {
        if self.by_address.len() >= TOKEN_ADDRESSES && !self.by_address.contains_key(&from) {
            // Forget addresses whose wrong tokens are old news before giving up on room.
            self.by_address.retain(|_, gate| {
                gate.last_failure
                    .is_some_and(|at| now.saturating_duration_since(at) <= TOKEN_FAILURE_MEMORY)
            });
        }
        let gate = if self.by_address.len() < TOKEN_ADDRESSES || self.by_address.contains_key(&from)
        {
            self.by_address.entry(from).or_default()
        } else {
            &mut self.rest
        };
        let wait = gate.failed(now);
        (wait, gate.failures)
    }

    /// The right token from `from`: that address starts afresh.
    fn passed(&mut self, from: IpAddr) {
        self.by_address.remove(&from);
    }
}

/// Wrong console tokens from one address (or from the rest).
#[derive(Debug, Default)]
struct TokenGate {
    failures: u32,
    last_failure: Option<Instant>,
    wait_until: Option<Instant>,
}

impl TokenGate {
    /// How long before the next token may be tried (zero: now).
    fn wait(&self, now: Instant) -> Duration {
        self.wait_until
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// A wrong token at `now`; returns the wait that starts, if any.
    fn failed(&mut self, now: Instant) -> Option<Duration> {
        if self
            .last_failure
            .is_some_and(|at| now.saturating_duration_since(at) > TOKEN_FAILURE_MEMORY)
        {
            self.failures = 0;
        }
        self.failures += 1;
        self.last_failure = Some(now);
        let over = self.failures.checked_sub(FREE_TOKEN_TRIES)?;
        let wait = TOKEN_BACKOFF
            .saturating_mul(1 << over.min(16))
            .min(TOKEN_BACKOFF_MAX);
        self.wait_until = Some(now + wait);
        Some(wait)
    }
}

/// The class: every connection's state machine and what they share.
#[derive(Debug)]
pub struct Room {
    shared: Shared,
    /// Open connections by id (`members[id]`); the server's slab keys are dense, so this stays
    /// as long as the most connections ever open at once.
    members: Vec<Option<Member>>,
    students: usize,
    teachers: usize,
    /// The consoles' ids (at most [`crate::limits::MAX_TEACHERS`] or so), so that telling
    /// every console something does not walk every student.
    consoles: Vec<ConnId>,
    /// Every armed member deadline, earliest first. Re-armed lazily: a deadline that moved
    /// later (every answer moves the clock later) leaves its earlier entry in place; when that
    /// fires, the member finds nothing due and arms its real deadline. So answering costs no
    /// timer-set work.
    timers: BTreeSet<(Instant, ConnId)>,
    /// Output for the connection being handled, handed to [`Io::send`] when the handler is done;
    /// shared, so answering allocates nothing.
    out: Vec<u8>,
    /// Scratch for [`Room::flush`]'s wrapping.
    wrapped: Vec<u8>,
    /// Finished attempts of this run, for the teacher's `top`.
    board: Vec<TopRow>,
    /// Item analysis of this quiz's finished attempts, row by row as the results file gets
    /// them, for `report` and the board.
    pub(crate) items: crate::report::Tally,
    /// Finished attempts of this quiz by score, in tenths (the last: 100%), for the board.
    pub(crate) scores: [u32; 11],
    /// Live: the final standings of the last round, for `top` until the next one starts.
    last_round: Vec<TopRow>,
    /// Live: the last round's final question as the board showed it closing.
    last_results: Option<serde_json::Value>,
    /// Where the quiz came from, for `status` and `reload`.
    origin: Origin,
    title: Option<String>,
    admin_token: String,
    token_gates: TokenGates,
    token_timeout: Duration,
    started: Instant,
    /// Journal records not yet taken by the server (`None`: no journal).
    journal: Option<Vec<u8>>,
    /// The live game's round and phase as last journaled.
    journaled_live: Option<(u32, crate::journal::record::LivePhase)>,
    /// The instant the current handler was called with (the journal's clocks count from it).
    now: Instant,
    /// The wall-clock time at `started`, read once: the journal's timestamps follow from it
    /// and the room's instants.
    wall_start: std::time::SystemTime,
}

impl Room {
    pub fn new(config: RoomConfig, now: Instant) -> Room {
        Room {
            shared: {
                let mut shared = Shared::new(config.quiz, config.rng, config.secrets);
                shared.roster.parked_per_address = config.parked_per_address;
                shared.roster.run = config.run;
                shared.roster.journaling = config.journal;
                shared
            },
            members: Vec::new(),
            students: 0,
            teachers: 0,
            consoles: Vec::new(),
            timers: BTreeSet::new(),
            out: Vec::with_capacity(crate::limits::OUT_KEEP),
            wrapped: Vec::new(),
            board: Vec::new(),
            items: crate::report::Tally::default(),
            scores: [0; 11],
            last_round: Vec::new(),
            last_results: None,
            origin: if config.banks.is_empty() {
                Origin::Bundled
            } else {
                Origin::Files(config.banks)
            },
            title: config.title,
            admin_token: config.admin_token,
            token_gates: TokenGates::default(),
            token_timeout: config.token_timeout,
            started: now,
            journal: config.journal.then(Vec::new),
            journaled_live: None,
            now,
            wall_start: std::time::SystemTime::now(),
        }
    }

    /// The wall-clock time of the current handler's instant, in milliseconds since the Unix
    /// epoch (for the journal).
    fn wall_ms(&self) -> u64 {
        wall_ms(self.wall_start, self.started, self.now)
    }

    /// Where the quiz came from, in words (`bundled`, the files, `NAME (uploaded)`).
    fn origin_text(&self) -> String {
        match &self.origin {
            Origin::Bundled => "the bundled questions".into(),
            Origin::Files(paths) => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            Origin::Upload(name) => format!("{name} (uploaded)"),
        }
    }

    /// The quiz being served.
    pub fn quiz(&self) -> &Quiz {
        &self.shared.quiz
    }

    /// What the room counts.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Attempts in progress (a student dropped and may resume counts too).
    pub fn in_quiz(&self) -> usize {
        self.shared.roster.len()
    }

    /// Student connections the room is serving (not yet said their last word).
    pub fn students(&self) -> usize {
        self.students
    }

    /// Teacher consoles the room is serving.
    pub fn consoles(&self) -> usize {
        self.teachers
    }

    /// All console slots are taken and a new console arrives: the oldest console still without
    /// the token, from the address that holds the most such consoles, is told and closed (as
    /// OpenSSH's `MaxStartups` drops unauthenticated connections), so silent connections cannot
    /// lock the teacher out. False if every console is past the token.
    pub fn make_room_for_console(&mut self, now: Instant, io: &mut dyn Io) -> bool {
        self.now = now;
        let mut waiting: Vec<(IpAddr, Instant, ConnId)> = Vec::new();
        for &id in &self.consoles {
            if let Some(Some(Member {
                peer,
                role:
                    Role::Teacher {
                        console,
                        token_deadline,
                    },
                ..
            })) = self.members.get(id)
                && console.awaiting_token()
            {
                waiting.push((address_of(*peer), *token_deadline, id));
            }
        }
        let busiest = waiting
            .iter()
            .map(|(ip, ..)| {
                (
                    waiting.iter().filter(|(other, ..)| other == ip).count(),
                    *ip,
                )
            })
            .max();
        let Some((_, ip)) = busiest else {
            return false;
        };
        let Some(&(_, _, id)) = waiting
            .iter()
            .filter(|(other, ..)| *other == ip)
            .min_by_key(|(_, deadline, _)| *deadline)
        else {
            return false;
        };
        if let Some(Some(Member {
            role: Role::Teacher { console, .. },
            ..
        })) = self.members.get_mut(id)
        {
            self.out.extend_from_slice(b"\r\n");
            crate::wire::line(
                &mut self.out,
                "error: every console slot is taken; closing this one, which gave no token",
            );
            console.close_now();
        }
        self.shared.counters.consoles_evicted += 1;
        if self.shared.counters.consoles_evicted.is_power_of_two() {
            log::warn!(
                "console slots full: closed the oldest console from {ip} without a token ({} so far)",
                self.shared.counters.consoles_evicted
            );
        }
        self.settle(id, now, io);
        true
    }

    /// The earliest instant [`Room::handle_timeout`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.timers.first().map(|&(at, _)| at),
            self.shared.roster.next_expiry(),
            self.shared.live.as_ref().and_then(Live::next_deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A new connection `id` on `door`: greets it (a welcome and the name prompt, or the
    /// console's token prompt).
    pub fn handle_connect(
        &mut self,
        id: ConnId,
        door: Door,
        peer: SocketAddr,
        now: Instant,
        io: &mut dyn Io,
    ) {
        self.now = now;
        let role = match door {
            Door::Student => {
                self.students += 1;
                Role::Student(Session::new(
                    id,
                    peer,
                    now,
                    &self.shared.quiz,
                    &mut self.out,
                ))
            }
            Door::Teacher => {
                self.teachers += 1;
                self.consoles.push(id);
                // A stranger's connection is not news; a teacher's token is (below).
                log::debug!("teacher console opened from {peer}");
                io.hide_input(id, true);
                Role::Teacher {
                    console: Box::new(Console::new(&mut self.out)),
                    token_deadline: now + self.token_timeout,
                }
            }
        };
        if self.members.len() <= id {
            self.members.resize_with(id + 1, || None);
        }
        if let Some(old) = self.members[id].take() {
            // The server closed `id` without telling us: treat it as a drop.
            log::error!("connection {id} reused while the room still held it");
            self.forget(id, old, Status::Disconnected, now);
        }
        self.members[id] = Some(Member {
            peer,
            width: None,
            last_line: now,
            armed: None,
            role,
        });
        self.settle(id, now, io);
    }

    /// One input line from connection `id` (decoded, without its line end).
    pub fn handle_line(&mut self, id: ConnId, line: &str, now: Instant, io: &mut dyn Io) {
        self.now = now;
        let Some(Some(member)) = self.members.get_mut(id) else {
            return;
        };
        member.last_line = now;
        let peer = member.peer;
        let request = match &mut member.role {
            Role::Student(session) => {
                session.on_line(line, now, &mut self.shared, &mut self.out);
                None
            }
            Role::Teacher { console, .. }
                if console.awaiting_token() && !line.trim().is_empty() =>
            {
                let wait = self.token_gates.wait(address_of(peer), now);
                if wait.is_zero() {
                    let wrong = console.wrong_tokens();
                    let request = console.on_line(line, &self.admin_token, &mut self.out);
                    if console.is_authenticated() {
                        log::info!("teacher console from {peer}: token accepted");
                        self.token_gates.passed(address_of(peer));
                        io.hide_input(id, false);
                        self.shared.consoles_listening += 1;
                    } else if console.wrong_tokens() > wrong || request.is_some() {
                        let (wait, failures) = self.token_gates.failed(address_of(peer), now);
                        if let Some(wait) = wait {
                            log::warn!(
                                "{failures} wrong console tokens lately from {}: its next try waits {} s",
                                peer.ip(),
                                wait.as_secs()
                            );
                        }
                    }
                    request
                } else {
                    // Not heard, but it counts against the connection: polling for the end of
                    // a wait costs the guesser connections.
                    self.shared.counters.tokens_refused += 1;
                    console.unheard_try(
                        &mut self.out,
                        &format!(
                            "error: too many wrong tokens lately; try again in {} s",
                            wait.as_secs_f64().ceil()
                        ),
                    )
                }
            }
            Role::Teacher { console, .. } => {
                console.on_line(line, &self.admin_token, &mut self.out)
            }
        };
        // What the console wrote itself goes out before a command reaches anyone else.
        self.settle(id, now, io);
        if let Some(request) = request {
            self.execute(id, peer, request, now, io);
        }
    }

    /// Whether connection `id` is a teacher console.
    pub fn is_console(&self, id: ConnId) -> bool {
        matches!(
            self.members.get(id),
            Some(Some(Member {
                role: Role::Teacher { .. },
                ..
            }))
        )
    }

    /// Connection `id`'s window is `width` columns wide (0: it does not know).
    pub fn handle_window(&mut self, id: ConnId, width: u16) {
        if let Some(Some(member)) = self.members.get_mut(id) {
            member.width = (width > 0).then_some(width);
            if let Role::Student(session) = &mut member.role {
                session.set_width(member.width);
            }
        }
    }

    /// Connection `id` sent a line over [`crate::limits::MAX_LINE`].
    pub fn handle_too_long(&mut self, id: ConnId, now: Instant, io: &mut dyn Io) {
        self.now = now;
        let Some(Some(member)) = self.members.get_mut(id) else {
            return;
        };
        match &mut member.role {
            Role::Student(session) => session.on_too_long(&mut self.shared, &mut self.out),
            Role::Teacher { console, .. } => console.on_too_long(&mut self.out),
        }
        self.settle(id, now, io);
    }

    /// Connection `id` asked to leave (telnet's Ctrl-C, or Ctrl-D on an empty line).
    pub fn handle_leave(&mut self, id: ConnId, now: Instant, io: &mut dyn Io) {
        self.now = now;
        let Some(Some(member)) = self.members.get_mut(id) else {
            return;
        };
        let peer = member.peer;
        let request = match &mut member.role {
            Role::Student(session) => {
                session.on_leave(now, &mut self.shared, &mut self.out);
                None
            }
            Role::Teacher { console, .. } => console.on_leave(&mut self.out),
        };
        self.settle(id, now, io);
        if let Some(request) = request {
            self.execute(id, peer, request, now, io);
        }
    }

    /// Connection `id` is gone (`Disconnected`: it dropped, or the server closed it; a student
    /// mid-quiz keeps their seat for the resume window). Nothing more is sent to it.
    pub fn handle_close(&mut self, id: ConnId, status: Status, now: Instant, io: &mut dyn Io) {
        self.now = now;
        let Some(member) = self.members.get_mut(id).and_then(Option::take) else {
            return;
        };
        self.forget(id, member, status, now);
        self.record_finished(io);
        self.drain_effects(now, io);
    }

    /// Fires every deadline that has passed by `now`: question clocks, name and token timeouts,
    /// resume windows, the live game's clock.
    pub fn handle_timeout(&mut self, now: Instant, io: &mut dyn Io) {
        self.now = now;
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(Some(member)) = self.members.get_mut(id) else {
                continue;
            };
            member.armed = None;
            match &mut member.role {
                Role::Student(session) => session.on_timeout(now, &mut self.shared, &mut self.out),
                Role::Teacher {
                    console,
                    token_deadline,
                } if *token_deadline <= now => {
                    console.on_token_timeout(&mut self.out, self.token_timeout)
                }
                Role::Teacher { .. } => {}
            }
            self.settle(id, now, io);
        }
        self.shared.expire(now);
        self.record_finished(io);
        let present = self.shared.present();
        if let Some(t) = self
            .shared
            .live
            .as_mut()
            .and_then(|live| live.on_timeout(now, present))
        {
            self.broadcast(t, now, io);
        }
        self.drain_effects(now, io);
    }

    /// The server is stopping: every student is told and their attempt recorded (`shutdown`),
    /// every waiting attempt is recorded, every console is told; all are closed.
    pub fn handle_shutdown(&mut self, now: Instant, io: &mut dyn Io) {
        self.now = now;
        for id in 0..self.members.len() {
            let Some(Some(member)) = self.members.get_mut(id) else {
                continue;
            };
            match &mut member.role {
                Role::Student(session) => session.on_shutdown(now, &mut self.shared, &mut self.out),
                Role::Teacher { console, .. } => console.notice(
                    &mut self.out,
                    "server shutting down; every answer is saved.",
                ),
            }
            self.flush(id, io);
            if let Some(member) = self.members.get_mut(id).and_then(Option::take) {
                // Still here (a console, or a student who had not given a name).
                self.forget(id, member, Status::Shutdown, now);
                io.close(id);
            }
        }
        self.shared.finish_parked(Status::Disconnected, now);
        self.record_finished(io);
    }

    /// After a handler for `id`: rows, bytes, close or re-arm, then whatever the handler set in
    /// motion for others.
    fn settle(&mut self, id: ConnId, now: Instant, io: &mut dyn Io) {
        self.flush(id, io);
        self.drain_effects(now, io);
    }

    /// Records finished attempts, then sends `id` its output; closes it if it is done,
    /// otherwise re-arms its deadline.
    fn flush(&mut self, id: ConnId, io: &mut dyn Io) {
        // The journal first: the server commits it before any of this output goes out.
        self.journal_member(id);
        // Rows first: a student who reads "Quiz over" has their row on disk.
        self.record_finished(io);
        if !self.out.is_empty() {
            // A student's screen: lines wider than their window (80 columns unless the client
            // said) break between words. Question text comes wrapped at 80 already.
            let width = match self.members.get(id) {
                Some(Some(Member {
                    role: Role::Student(_),
                    width,
                    ..
                })) => width.map_or(crate::text::DEFAULT_WIDTH, usize::from),
                _ => usize::MAX,
            };
            if crate::text::needs_wrap(&self.out, width) {
                crate::text::wrap_into(&self.out, width, &mut self.wrapped);
                io.send(id, &self.wrapped);
            } else {
                io.send(id, &self.out);
            }
            self.out.clear();
            if self.out.capacity() > 4 * crate::limits::OUT_KEEP {
                self.out = Vec::with_capacity(crate::limits::OUT_KEEP);
            }
        }
        let Some(Some(member)) = self.members.get_mut(id) else {
            return;
        };
        if member.is_done() {
            let stranger =
                matches!(&member.role, Role::Teacher { console, .. } if !console.gave_token());
            if let Some(member) = self.members.get_mut(id).and_then(Option::take) {
                self.unarm(id, &member);
                self.count_out(id, &member);
            }
            if stranger {
                io.cut(id);
            } else {
                io.close(id);
            }
            return;
        }
        let deadline = member.deadline();
        let keep = match (member.armed, deadline) {
            (Some(armed), Some(due)) => armed <= due,
            (armed, due) => armed == due,
        };
        if !keep {
            if let Some(old) = member.armed {
                self.timers.remove(&(old, id));
            }
            if let Some(new) = deadline {
                self.timers.insert((new, id));
            }
            member.armed = deadline;
        }
    }

    /// What one handler set in motion for other connections: an attempt resumed elsewhere,
    /// `/ask` messages for the consoles, the live game moving on.
    fn drain_effects(&mut self, now: Instant, io: &mut dyn Io) {
        loop {
            if let Some(old) = self.shared.evicted.pop() {
                if let Some(Some(Member {
                    role: Role::Student(session),
                    ..
                })) = self.members.get_mut(old)
                {
                    session.on_evicted(now, &mut self.shared, &mut self.out);
                    self.flush(old, io);
                }
                continue;
            }
            if !self.shared.asks.is_empty() || !self.shared.alerts.is_empty() {
                self.deliver_to_consoles(io);
                continue;
            }
            if let Some(t) = self.shared.live.as_mut().and_then(Live::take_pending) {
                self.broadcast(t, now, io);
                continue;
            }
            return;
        }
    }

    /// Shows students' `/ask` messages, and alerts, on every console past the token (they are
    /// logged), each wrapped between words to the console's window (replies are not: a
    /// script reads `results` a line at a time).
    fn deliver_to_consoles(&mut self, io: &mut dyn Io) {
        let mut lines: Vec<String> = std::mem::take(&mut self.shared.asks)
            .into_iter()
            .map(|ask| format!("ask from {ask}"))
            .collect();
        self.shared.counters.asks += lines.len() as u64;
        lines.append(&mut self.shared.alerts);
        for id in self.consoles.clone() {
            let Some(Some(Member {
                role: Role::Teacher { console, .. },
                width,
                ..
            })) = self.members.get(id)
            else {
                continue;
            };
            let width = width.map_or(crate::text::DEFAULT_WIDTH, usize::from);
            for line in &lines {
                let start = self.out.len();
                console.notice(&mut self.out, line);
                if crate::text::needs_wrap(&self.out[start..], width) {
                    crate::text::wrap_into(&self.out[start..], width, &mut self.wrapped);
                    self.out.truncate(start);
                    self.out.extend_from_slice(&self.wrapped);
                }
            }
            self.flush(id, io);
        }
    }

    /// Shows a change of the live game to every student in it, and what the teacher needs of
    /// it to every console. When the game is over, every attempt is recorded and the students
    /// still here are seated in the next round's lobby.
    fn broadcast(&mut self, t: Transition, now: Instant, io: &mut dyn Io) {
        let results = match (t, self.shared.live.as_ref()) {
            (Transition::Closed { index, .. }, Some(game)) => {
                live::results(game, &mut self.shared.roster, &self.shared.quiz, index, now)
            }
            (Transition::Over { .. }, Some(game)) => {
                let scoring = game.settings.scoring;
                self.last_results = self.final_results(now);
                let podium = live::podium(&mut self.shared.roster, scoring);
                self.last_round = self.live_standings();
                let ranked = self.shared.roster.len();
                if let Some(game) = self.shared.live.as_mut() {
                    game.ranked = ranked;
                }
                podium
            }
            _ => Vec::new(),
        };
        match (self.live_notice(t, &results), t) {
            (Some(notice), _) => {
                log::info!("{notice}");
                self.shared.alerts.push(notice);
            }
            (None, Transition::Opened { index, .. }) => {
                log::info!("live: question {} open", index + 1);
            }
            (None, _) => log::debug!("live: the lobby is told how many are here"),
        }
        for id in 0..self.members.len() {
            let Some(Some(Member {
                role: Role::Student(session),
                ..
            })) = self.members.get_mut(id)
            else {
                continue;
            };
            session.on_live(t, &results, now, &mut self.shared, &mut self.out);
            self.flush(id, io);
        }
        if let Transition::Over { early } = t {
            // Students who dropped kept their place until now; then the room starts afresh
            // for the next round, with everyone still here in its lobby.
            let status = if early {
                Status::Ended
            } else {
                Status::Disconnected
            };
            self.shared.finish_parked(status, now);
            self.record_finished(io);
            self.shared.new_game();
            self.rejoin_all(None, now, io);
        }
        self.journal_all();
    }

    /// Live: seats every student still here after a round in the new round's lobby, then
    /// tells each how many are there (all of them, not the count when their own seat was
    /// taken).
    fn rejoin_all(&mut self, why: Option<&str>, now: Instant, io: &mut dyn Io) {
        let mut seated = Vec::new();
        for id in 0..self.members.len() {
            let Some(Some(Member {
                role: Role::Student(session),
                ..
            })) = self.members.get_mut(id)
            else {
                continue;
            };
            if !session.is_between() {
                continue;
            }
            session.rejoin(now, &mut self.shared, &mut self.out);
            if session.is_done() {
                // Refused a seat: it was told why.
                self.flush(id, io);
            } else {
                seated.push(id);
            }
        }
        let here = self.shared.roster.len();
        if let Some(live) = self.shared.live.as_mut() {
            live.lobby_told();
        }
        for id in seated {
            if let Some(why) = why {
                crate::wire::line(&mut self.out, why);
            }
            // A blank line between the round that ended (or the old bank) and this lobby.
            self.out.extend_from_slice(b"\r\n");
            session::lobby_line(here, &mut self.out);
            self.flush(id, io);
        }
    }

    /// The console's line for a change of the live game: each question's close (why, how many
    /// answered, the distribution, the top three) and the end (the podium).
    fn live_notice(&self, t: Transition, results: &[u8]) -> Option<String> {
        let game = self.shared.live.as_ref()?;
        let text = String::from_utf8_lossy(results);
        let mut lines = text.lines();
        let n = game.order.len();
        match t {
            Transition::Closed { index, why } => {
                let distribution = lines.next().unwrap_or_default();
                let top: Vec<String> = lines.skip(1).take(live::PODIUM).map(one_line).collect();
                let why = match why {
                    live::Closing::Everyone => "everyone answered",
                    live::Closing::Clock => "time up",
                    live::Closing::Teacher => "closed by next",
                };
                let after = match game.advances_at() {
                    _ if index + 1 == n => "; that was the last".to_string(),
                    Some(_) => "; the next opens by itself".to_string(),
                    None => "; next opens the next".to_string(),
                };
                Some(format!(
                    "live: question {}/{n} closed ({why}). {distribution}. Top: {}{after}",
                    index + 1,
                    if top.is_empty() {
                        "nobody yet".to_string()
                    } else {
                        top.join(", ")
                    }
                ))
            }
            Transition::Over { early } => {
                let podium: Vec<String> = lines.skip(1).take(live::PODIUM).map(one_line).collect();
                Some(format!(
                    "live: quiz over{}. Podium: {}. Every attempt is recorded; start begins the next round",
                    if early { " (ended early)" } else { "" },
                    if podium.is_empty() {
                        "nobody".to_string()
                    } else {
                        podium.join(", ")
                    }
                ))
            }
            Transition::Opened { index, .. } if game.settings.auto_next.is_some() => {
                Some(format!("live: question {}/{n} open", index + 1))
            }
            Transition::Opened { .. } | Transition::Lobby => None,
        }
    }

    /// Records every attempt that ended, in order, and keeps it for `top`.
    fn record_finished(&mut self, io: &mut dyn Io) {
        if self.shared.finished.is_empty() {
            return;
        }
        let finished_at = self.wall_ms();
        let Shared { finished, quiz, .. } = &mut self.shared;
        for attempt in finished.drain(..) {
            if let Some(buf) = self.journal.as_mut() {
                crate::journal::record::put_end(buf, &attempt, finished_at);
            }
            io.record(&attempt, quiz);
            self.items.add_attempt(&attempt, quiz);
            let tenth = (attempt.score.percent_of(attempt.max) / 10).min(10);
            self.scores[tenth as usize] += 1;
            self.board.push(TopRow {
                rank: 0,
                name: attempt.name,
                attempt: attempt.attempt,
                points: None,
                score: attempt.score,
                max: attempt.max,
                time: attempt.duration,
            });
        }
        // The names' counts of attempts changed with these ends.
        self.journal_dropped();
        if self.board.len() > 2 * crate::limits::MAX_TOP {
            // `top` shows at most MAX_TOP: the rest need not be kept.
            self.board
                .sort_by(|a, b| b.score.cmp(&a.score).then(a.time.cmp(&b.time)));
            self.board.truncate(crate::limits::MAX_TOP);
        }
    }

    /// A member that left the room: its session ends with `status` (a dropped student parks
    /// their seat), its timer goes.
    fn forget(&mut self, id: ConnId, member: Member, status: Status, now: Instant) {
        self.unarm(id, &member);
        self.count_out(id, &member);
        match member.role {
            Role::Student(mut session) => session.on_close(status, now, &mut self.shared),
            Role::Teacher { console, .. } if console.gave_token() => {
                log::info!("teacher console from {} closed", member.peer)
            }
            Role::Teacher { .. } => {
                log::debug!("console from {} closed without a token", member.peer)
            }
        }
    }

    fn unarm(&mut self, id: ConnId, member: &Member) {
        if let Some(at) = member.armed {
            self.timers.remove(&(at, id));
        }
    }

    fn count_out(&mut self, id: ConnId, member: &Member) {
        match &member.role {
            Role::Student(_) => self.students = self.students.saturating_sub(1),
            Role::Teacher { console, .. } => {
                if console.gave_token() {
                    self.shared.consoles_listening =
                        self.shared.consoles_listening.saturating_sub(1);
                }
                self.teachers = self.teachers.saturating_sub(1);
                self.consoles.retain(|&console| console != id);
            }
        }
    }
}

/// The wall-clock time of `now`, in milliseconds since the Unix epoch, from the wall-clock
/// time `wall_start` read at the instant `started`.
fn wall_ms(wall_start: std::time::SystemTime, started: Instant, now: Instant) -> u64 {
    let at = wall_start + now.saturating_duration_since(started);
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A leaderboard row (`   1. ada    4 points  (9.3 s)`) for a console line: single spaces,
/// and the time kept in one piece (`(9.3s)`) so that wrapping never splits it.
fn one_line(row: &str) -> String {
    row.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" s)", "s)")
}

#[cfg(test)]
mod tests;
