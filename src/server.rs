//! The poll loop: one thread, one `mio::Poll`, the listeners and every client in a `Slab`. It
//! only moves bytes: everything a student or a teacher experiences is decided by the
//! [`Room`], which the loop feeds and which answers through [`Io`], implemented here over the
//! sockets and the results file.
//!
//! Each turn of the loop: poll with a timeout that ends at the nearest deadline (the room's, a
//! lingering close, an accept pause, the summary); handle the events (accept until WouldBlock;
//! read until a short read or the budget, through the telnet decoder into the room; write right
//! after; ask for WRITABLE only while output waits); then fire every expired deadline whether
//! events came or not; then close what was marked for closing, in one place (the sweep).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::{self, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::config::Config;
use crate::conn::{Conn, Net, Outbox, Phase};
use crate::journal::{Journal, recover};
use crate::limits::{
    self, ACCEPT_BUDGET, ACCEPT_PAUSE_MAX, ACCEPT_PAUSE_MIN, CONSOLE_BUFFERS,
    CONSOLE_LINES_PER_TURN, CONSOLE_OUTPUT_CAP, LISTEN_BACKLOG, MAX_CONSOLE_SOCKETS, MAX_TEACHERS,
    OUT_KEEP, OUTPUT_WATERMARK, READ_BUDGET, RESULTS_RETRY, SHUTDOWN_GRACE, STUDENT_BUFFERS,
    STUDENT_LINES_PER_TURN, TOTAL_OUTPUT_BUDGET, address_of,
};
use crate::results::Results;
use crate::room::roster::Status;
use crate::room::{Door, Io, NetStats, Room, RoomConfig};
use crate::telnet::{Decoder, Event as Telnet};
use crate::text::describe_io_error;

const LISTENER: Token = Token(usize::MAX - 1);
const SIGNALS: Token = Token(usize::MAX - 2);
const WAKER: Token = Token(usize::MAX - 3);
const ADMIN_LISTENER: Token = Token(usize::MAX - 4);
const BOARD_LISTENER: Token = Token(usize::MAX - 5);

/// Every way a process is told to stop saves the rows: Ctrl-C, `kill`, the teacher's terminal
/// or ssh session closing (SIGHUP), Ctrl-\ (SIGQUIT, which would otherwise dump core).
const STOP_SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The student address could not be bound.
    Listen { addr: String, error: io::Error },
    /// The teacher console's address could not be bound.
    AdminListen { addr: String, error: io::Error },
    /// The results file could not be opened.
    Results { path: String, error: io::Error },
    /// The journal could not be opened, or holds what cannot be carried on (the message says
    /// what to do).
    Journal(String),
    /// The poll instance or signal handling could not be set up.
    Setup(io::Error),
    /// The board's address could not be bound.
    BoardListen { addr: String, error: io::Error },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Listen { addr, error } => {
                write!(f, "cannot listen on {addr}: {}", describe_io_error(error))
            }
            StartError::AdminListen { addr, error } => {
                write!(
                    f,
                    "cannot listen on {addr} for the teacher console: {} (choose another with --admin-listen, or off)",
                    describe_io_error(error)
                )
            }
            StartError::BoardListen { addr, error } => {
                write!(
                    f,
                    "cannot listen on {addr} for the board: {} (choose another with --board-listen, or off)",
                    describe_io_error(error)
                )
            }
            StartError::Results { path, error } => {
                write!(
                    f,
                    "cannot open results file {path}: {}",
                    describe_io_error(error)
                )
            }
            StartError::Setup(error) => write!(f, "cannot start: {}", describe_io_error(error)),
            StartError::Journal(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StartError {}

/// How `run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every student was told and every row written.
    Clean,
    /// A second signal arrived during shutdown; rows were already written.
    Forced,
}

/// Stops a server running on another thread (tests, benches, embedding).
#[derive(Debug, Clone)]
pub struct Handle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Handle {
    pub(crate) fn new(stop: Arc<AtomicBool>, waker: Arc<Waker>) -> Handle {
        Handle { stop, waker }
    }

    /// Asks the server to shut down as on SIGTERM.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the server to stop it: {e}");
        }
    }
}

/// An accept error that concerns only that one connection (or a signal): accept again.
pub(crate) fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One line to a connection that will not be served, then close: one read and one write, so a
/// refused client that keeps sending costs the loop nothing more. The read takes what a telnet
/// client sends on connecting (its option offers), so closing sends FIN and the line arrives; a
/// client that sends more than that gets a reset, which is its own doing. The line fits any
/// socket buffer, so one write does.
fn refuse(mut stream: mio::net::TcpStream, line: &str) {
    say_and_go(&mut stream, line);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// The bounded part of [`refuse`]: one read, one write.
fn say_and_go(stream: &mut (impl Read + io::Write), line: &str) {
    let mut sink = [0u8; 512];
    let _ = stream.read(&mut sink);
    let _ = stream.write(line.as_bytes());
}

/// How students join, for the board's lobby: `telnet HOST PORT`, HOST the machine's name
/// when the student port listens on every address, else the address it listens on.
fn join_hint(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        match std::str::from_utf8(&buf[..end]) {
            Ok(name) if ok && !name.is_empty() => name.to_string(),
            _ => "this-machine".to_string(),
        }
    } else {
        addr.ip().to_string()
    };
    format!("telnet {host} {}", addr.port())
}

/// Binds with a backlog large enough for a class arriving at once (mio's default is 128) and
/// the socket buffer sizes `(send, receive)` every connection accepted from it inherits, so a
/// client that stops reading cannot pin megabytes of kernel memory (Linux grows unset buffers up
/// to `tcp_wmem`/`tcp_rmem`, 4 MiB and 6 MiB by default). Setting them on the listener also
/// sizes the window the handshake offers.
pub(crate) fn bind_listener(
    addr: &str,
    buffers: Option<(usize, usize)>,
) -> io::Result<TcpListener> {
    let resolved = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name has no address"))?;
    let listener = TcpListener::bind(resolved)?;
    if let Some((send, receive)) = buffers {
        let socket = socket2::SockRef::from(&listener);
        if let Err(e) = socket
            .set_send_buffer_size(send)
            .and_then(|()| socket.set_recv_buffer_size(receive))
        {
            log::warn!("cannot size the socket buffers of {addr}: {e}");
        }
    }
    // Calling listen() again on a listening socket only changes its backlog (Linux, BSDs).
    // SAFETY: the descriptor is valid for the listener's lifetime; listen takes no pointers.
    if unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) } != 0 {
        log::warn!(
            "cannot raise the listen backlog to {LISTEN_BACKLOG}: {}",
            io::Error::last_os_error()
        );
    }
    Ok(listener)
}

/// The quiz server.
pub struct Server {
    poll: Poll,
    room: Room,
    net: Net,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    admin_listener: Option<TcpListener>,
    admin_addr: Option<SocketAddr>,
    /// The projector board ([`crate::board`]), if it is on.
    board: Option<crate::board::Board>,
    max_clients: usize,
    max_per_address: Option<usize>,
    /// Accepting is paused (no descriptors left) until this instant or a close, whichever
    /// first; the duration is the current pause, doubled on each failure.
    accept_paused: Option<(Instant, Duration)>,
    /// A door accepted its [`ACCEPT_BUDGET`] last turn and may have more waiting: accept again
    /// next turn (mio's readiness is edge-triggered, so no new event would say so).
    accept_more: [bool; 2],
    /// When the server ran out of descriptors with connections waiting; cleared once the
    /// backlog is drained, so the warning is logged once per episode, not once per retry.
    starved_since: Option<Instant>,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    /// Set once shutdown began: the loop ends when every connection is gone or at this instant.
    stopping: Option<Instant>,
    next_summary: Instant,
    summary_every: Duration,
    /// While rows wait (the disk was full), when to try writing them again.
    results_retry_at: Option<Instant>,
    last_summary: (u64, u64, u64),
    /// Where reads land; shared by every connection.
    scratch: Box<[u8]>,
}

impl Server {
    /// Binds the student port (and the console's), opens the results file, sets up the poll
    /// loop. Nothing is served until [`Server::run`].
    pub fn bind(config: Config) -> Result<Server, StartError> {
        let nofile = match limits::raise_nofile() {
            Ok(n) => n,
            Err(e) => {
                log::warn!("cannot read the open-file limit: {e}");
                1024
            }
        };
        let max_clients = config.max_clients.unwrap_or_else(|| {
            // The board's viewers hold descriptors too: theirs are kept aside.
            let reserve = if config.board_listen.is_some() {
                limits::MAX_BOARD_VIEWERS as u64
            } else {
                0
            };
            limits::default_max_clients(nofile.saturating_sub(reserve))
        });
        let mut listener =
            bind_listener(&config.listen, Some(STUDENT_BUFFERS)).map_err(|error| {
                StartError::Listen {
                    addr: config.listen.clone(),
                    error,
                }
            })?;
        let mut admin_listener = match &config.admin_listen {
            Some(addr) => Some(bind_listener(addr, Some(CONSOLE_BUFFERS)).map_err(|error| {
                StartError::AdminListen {
                    addr: addr.clone(),
                    error,
                }
            })?),
            None => None,
        };
        let board_listener = match &config.board_listen {
            Some(addr) => Some(bind_listener(addr, Some(limits::BOARD_BUFFERS)).map_err(
                |error| StartError::BoardListen {
                    addr: addr.clone(),
                    error,
                },
            )?),
            None => None,
        };
        let mut results = Results::open(&config.results).map_err(|error| StartError::Results {
            path: config.results.display().to_string(),
            error,
        })?;
        let poll = Poll::new().map_err(StartError::Setup)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(StartError::Setup)?;
        if let Some(admin) = admin_listener.as_mut() {
            poll.registry()
                .register(admin, ADMIN_LISTENER, Interest::READABLE)
                .map_err(StartError::Setup)?;
        }
        let admin_addr = match admin_listener.as_ref().map(TcpListener::local_addr) {
            Some(Ok(addr)) => Some(addr),
            Some(Err(e)) => return Err(StartError::Setup(e)),
            None => None,
        };
        let board = board_listener
            .map(|l| crate::board::Board::new(l, poll.registry(), BOARD_LISTENER, Instant::now()))
            .transpose()
            .map_err(StartError::Setup)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(StartError::Setup)?);
        let signals = if config.handle_signals {
            let mut signals =
                signal_hook_mio::v1_0::Signals::new(STOP_SIGNALS).map_err(StartError::Setup)?;
            poll.registry()
                .register(&mut signals, SIGNALS, Interest::READABLE)
                .map_err(StartError::Setup)?;
            Some(signals)
        } else {
            None
        };
        let registry = poll.registry().try_clone().map_err(StartError::Setup)?;
        let local_addr = listener.local_addr().map_err(StartError::Setup)?;
        let quiz = config.quiz;
        log::info!(
            "listening on {local_addr} ({} question{} per attempt from {} in '{}'; max {} students, open-file limit {})",
            quiz.count(),
            if quiz.count() == 1 { "" } else { "s" },
            quiz.questions.len(),
            quiz.title,
            max_clients,
            nofile
        );
        log::info!("results go to {}", config.results.display());
        if let Some(addr) = admin_addr {
            log::info!("teacher console on {addr} (telnet to it and type the token)");
        }
        let mut board = board;
        if let Some(board) = board.as_mut() {
            board.set_join(join_hint(local_addr));
            log::info!(
                "board on http://{}/ (open it in a browser for the room's projector)",
                board.addr()
            );
        }
        let now = Instant::now();
        let rng = crate::random::quiz_rng(quiz.settings.seed);
        let mut room = Room::new(
            RoomConfig {
                quiz,
                admin_token: config.admin_token,
                token_timeout: config.token_timeout,
                banks: config.banks,
                title: config.title,
                rng,
                secrets: crate::random::Secrets::Os,
                parked_per_address: config.max_per_address,
                journal: config.journal.is_some(),
                run: crate::random::run_id(),
            },
            now,
        );
        let journal = match &config.journal {
            Some(path) => {
                let opened =
                    Journal::open(path, config.journal_sync).map_err(StartError::Journal)?;
                Some(
                    recover(opened, &mut room, &mut results, config.journal_fresh, now)
                        .map_err(StartError::Journal)?,
                )
            }
            None => None,
        };
        Ok(Server {
            poll,
            room,
            net: Net {
                hold: journal.is_some(),
                journal,
                held: Vec::new(),
                held_bytes: Vec::new(),
                next_serial: 1,
                releasing: false,
                stalled: Vec::new(),
                stalled_bytes: Vec::new(),
                stalled_serials: HashMap::new(),
                conns: Slab::new(),
                registry,
                results,
                out: Vec::with_capacity(OUT_KEEP),
                to_close: Vec::new(),
                over_cap: Vec::new(),
                backlog_total: 0,
                echo: Vec::new(),
                ready: Vec::new(),
                lingering: BTreeSet::new(),
                shutdown_asked: false,
                students: 0,
                per_address: HashMap::new(),
                teachers: 0,
                stats: NetStats::default(),
                output_cap: config.output_cap,
                linger: config.linger,
            },
            listener: Some(listener),
            local_addr,
            admin_listener,
            admin_addr,
            board,
            max_clients,
            max_per_address: config.max_per_address.filter(|&n| n > 0),
            accept_paused: None,
            accept_more: [false; 2],
            starved_since: None,
            signals,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            stopping: None,
            next_summary: now + config.summary_every,
            results_retry_at: None,
            summary_every: config.summary_every,
            last_summary: (0, 0, 0),
            scratch: vec![0u8; 16 * 1024].into_boxed_slice(),
        })
    }

    /// The address actually bound (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The board's address, if it is on.
    pub fn board_addr(&self) -> Option<SocketAddr> {
        self.board.as_ref().map(crate::board::Board::addr)
    }

    /// The teacher console's address, if it is on.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The most students served at once.
    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// A handle that stops the server from another thread.
    pub fn handle(&self) -> Handle {
        Handle::new(self.stop.clone(), self.waker.clone())
    }

    /// Serves until stopped (signal or [`Handle::stop`]); every attempt's row is written before
    /// it returns.
    pub fn run(mut self) -> io::Result<Stopped> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(e);
            }
            let now = Instant::now();
            self.net.results.new_turn();
            if std::mem::take(&mut self.accept_more[0]) {
                self.accept_all(now);
            }
            if std::mem::take(&mut self.accept_more[1]) {
                self.accept_teachers(now);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(now),
                    ADMIN_LISTENER => self.accept_teachers(now),
                    BOARD_LISTENER => {
                        if let Some(board) = self.board.as_mut() {
                            board.accept(self.poll.registry(), now);
                        }
                    }
                    SIGNALS => {
                        if self.on_signals(now) == Some(Stopped::Forced) {
                            self.commit();
                            let closed = self.net.results.close();
                            log::warn!("stopped at once: {closed}");
                            return Ok(Stopped::Forced);
                        }
                    }
                    WAKER => {
                        if self.stop.load(Ordering::SeqCst) {
                            self.begin_shutdown(now);
                        }
                    }
                    Token(key) if key >= crate::board::BOARD_BASE => {
                        let Server {
                            board, room, poll, ..
                        } = &mut self;
                        if let Some(board) = board.as_mut() {
                            let version = room.board_version();
                            board.on_event(
                                key - crate::board::BOARD_BASE,
                                event.is_readable() || event.is_read_closed() || event.is_error(),
                                poll.registry(),
                                version,
                                now,
                                || room.board_state(now),
                            );
                        }
                    }
                    Token(key) => self.on_conn_event(key, event, now),
                }
            }
            self.read_again(now);
            self.fire_timers(Instant::now());
            // The turn's records on disk, then its output; what closing brings, the same.
            self.commit();
            self.sweep(Instant::now());
            self.commit();
            self.tick_board(Instant::now());
            // The global output budget is only as good as this sum (debug builds check it).
            debug_assert_eq!(
                self.net.backlog_total,
                self.net
                    .conns
                    .iter()
                    .map(|(_, c)| c.pending())
                    .sum::<usize>(),
                "backlog_total drifted"
            );
            if let Some(until) = self.stopping
                && (self.net.conns.is_empty() || Instant::now() >= until)
            {
                self.finish_shutdown();
                return Ok(Stopped::Clean);
            }
        }
    }

    /// The board's end of turn: a changed state pushed (at most every `BOARD_PUSH_EVERY`),
    /// slow requests and pings once a second; its counters copied for `stats`.
    fn tick_board(&mut self, now: Instant) {
        let Server {
            board,
            room,
            poll,
            net,
            ..
        } = self;
        if let Some(board) = board.as_mut() {
            let version = room.board_version();
            board.tick(now, poll.registry(), version, || room.board_state(now));
            net.stats.board = Some(board.stats.clone());
        }
    }

    /// How long poll may sleep: until the nearest deadline (none: block; overdue: zero).
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.net.ready.is_empty()
            || self.accept_more.contains(&true)
            || !self.net.to_close.is_empty()
            || !self.net.held.is_empty()
        {
            return Some(Duration::ZERO);
        }
        [
            self.room.next_deadline(),
            self.net.lingering.first().map(|&(at, _)| at),
            self.accept_paused.map(|(at, _)| at),
            self.results_retry_at,
            // A journal the disk refuses is tried again every second.
            self.net
                .journal
                .as_ref()
                .filter(|j| j.is_failing())
                .map(|_| now + RESULTS_RETRY.min(Duration::from_secs(1))),
            self.stopping,
            Some(self.next_summary),
            self.board
                .as_ref()
                .and_then(|b| b.next_deadline(self.room.board_version())),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|at| at.saturating_duration_since(now))
    }

    /// Runs `f` on the room with the sockets as its [`Io`], `current` being the connection
    /// whose input is handled; then carries out what the room asked for that needs the loop:
    /// students over the output cap are closed, a teacher's shutdown begins.
    fn with_room(
        &mut self,
        current: Option<usize>,
        now: Instant,
        f: impl FnOnce(&mut Room, &mut Outbox<'_>),
    ) {
        let mut io = Outbox {
            net: &mut self.net,
            current,
            now,
        };
        f(&mut self.room, &mut io);
        self.after_room(now);
    }

    fn after_room(&mut self, now: Instant) {
        self.net.apply_echo();
        while let Some(key) = self.net.over_cap.pop() {
            self.close_over_cap(key, now);
        }
        if std::mem::take(&mut self.net.shutdown_asked) {
            self.begin_shutdown(now);
        }
    }

    /// A student who does not read their output: the attempt ends now, and what is queued is
    /// dropped for one last line, which goes out if the client ever reads again (otherwise the
    /// linger deadline closes it).
    fn close_over_cap(&mut self, key: usize, now: Instant) {
        let Some(conn) = self.net.conns.get(key) else {
            return;
        };
        if conn.phase != Phase::Open || conn.closing.is_some() {
            return;
        }
        let cap = match conn.door {
            Door::Student => self.net.output_cap,
            Door::Teacher => CONSOLE_OUTPUT_CAP.max(self.net.output_cap),
        };
        let waiting = conn.pending();
        let why = if waiting > cap {
            format!("over {cap} bytes")
        } else {
            format!(
                "over {OUTPUT_WATERMARK} bytes while all clients together hold over {} MiB",
                TOTAL_OUTPUT_BUDGET >> 20
            )
        };
        self.net.stats.closed_output_cap += 1;
        let count = self.net.stats.closed_output_cap;
        if count.is_power_of_two() {
            log::warn!(
                "{} does not read its output ({waiting} bytes waiting, {why}): closing ({count} so far)",
                conn.peer
            );
        } else {
            log::debug!(
                "{} does not read its output ({waiting} bytes waiting, {why}): closing",
                conn.peer
            );
        }
        let mut io = Outbox {
            net: &mut self.net,
            current: None,
            now,
        };
        self.room
            .handle_close(key, Status::Disconnected, now, &mut io);
        // What was held for it this turn is dropped with the rest of its output.
        self.net.held.retain(|&(k, ..)| k != key);
        if let Some(conn) = self.net.conns.get_mut(key) {
            let before = conn.pending();
            conn.replace_pending(&format!(
                "\r\nerror: too much unread output ({why}); closing. Your answers so far are saved.\r\n"
            ));
            // The backlog shrank (or, had it drained below the last line, grew a little).
            self.net.backlog_total =
                (self.net.backlog_total + conn.pending()).saturating_sub(before);
        }
        self.net.linger(key, now + self.net.linger);
        self.net.push(key, Some(&[]));
    }

    /// Accepts every waiting student.
    fn accept_all(&mut self, now: Instant) {
        if self.accept_paused.is_some_and(|(until, _)| now < until) {
            return;
        }
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.net.stats.accepted += 1;
                    if self.net.students >= self.max_clients {
                        self.refuse_full(stream, peer);
                    } else if let Some(limit) = self.max_per_address
                        && self
                            .net
                            .per_address
                            .get(&address_of(peer))
                            .is_some_and(|&n| n >= limit)
                    {
                        self.refuse_address(stream, peer, limit);
                    } else {
                        self.add_conn(stream, peer, Door::Student, now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_paused = None;
                    if let Some(since) = self.starved_since.take() {
                        log::info!(
                            "accepting normally again: the backlog drained {:.1} s after descriptors ran out",
                            now.saturating_duration_since(since).as_secs_f64()
                        );
                    }
                    return;
                }
                Err(e) if is_transient(&e) => {}
                Err(e) if limits::is_resource_exhaustion(&e) => {
                    // The waiting connections stay in the kernel's backlog. Try again after a
                    // short pause or as soon as a connection closes, never in a tight loop.
                    let pause = self
                        .accept_paused
                        .map_or(ACCEPT_PAUSE_MIN, |(_, p)| (p * 2).min(ACCEPT_PAUSE_MAX));
                    if self.starved_since.is_none() {
                        self.starved_since = Some(now);
                        self.net.stats.accept_pauses += 1;
                        log::warn!(
                            "accept paused: {e} ({} connected); resuming when one closes",
                            self.net.conns.len()
                        );
                    }
                    self.accept_paused = Some((now + pause, pause));
                    return;
                }
                Err(e) => {
                    log::error!("accept failed: {e}");
                    self.accept_paused = Some((now + ACCEPT_PAUSE_MAX, ACCEPT_PAUSE_MAX));
                    return;
                }
            }
        }
        self.accept_more[0] = true;
    }

    /// Full: one clear line, then close. The line fits any socket buffer, so one write does.
    fn refuse_full(&mut self, stream: mio::net::TcpStream, peer: SocketAddr) {
        self.net.stats.rejected_full += 1;
        if self.net.stats.rejected_full.is_power_of_two() {
            log::warn!(
                "server full ({} students): refused {peer} ({} refused so far)",
                self.max_clients,
                self.net.stats.rejected_full
            );
        }
        refuse(stream, &crate::wire::server_full(self.net.students));
    }

    /// One address holds `limit` students already: one clear line saying what to change, then
    /// close.
    fn refuse_address(&mut self, stream: mio::net::TcpStream, peer: SocketAddr, limit: usize) {
        self.net.stats.rejected_address += 1;
        if self.net.stats.rejected_address.is_power_of_two() {
            log::warn!(
                "{} holds {limit} connections (--max-per-address): refused {peer} ({} refused so far)",
                address_of(peer),
                self.net.stats.rejected_address
            );
        }
        refuse(
            stream,
            &format!(
                "error: too many connections from {} ({limit}); if your class shares one address, ask your teacher to start quizd with a larger --max-per-address\r\n",
                address_of(peer)
            ),
        );
    }

    /// A console that cannot be served: one line and close, counted, logged now and then.
    fn refuse_console(
        &mut self,
        stream: mio::net::TcpStream,
        peer: SocketAddr,
        why: &str,
        line: &str,
    ) {
        self.net.stats.rejected_consoles += 1;
        if self.net.stats.rejected_consoles.is_power_of_two() {
            log::warn!(
                "teacher console from {peer} refused: {why} ({} refused so far)",
                self.net.stats.rejected_consoles
            );
        }
        refuse(stream, &format!("{line}\r\n"));
    }

    /// Accepts every waiting teacher console (up to [`MAX_TEACHERS`]).
    fn accept_teachers(&mut self, now: Instant) {
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = self.admin_listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    if self.net.teachers >= MAX_CONSOLE_SOCKETS {
                        self.refuse_console(
                            stream,
                            peer,
                            &format!("{MAX_CONSOLE_SOCKETS} console sockets open or closing"),
                            "error: too many teacher consoles open or closing; try again in a few seconds",
                        );
                        continue;
                    }
                    if self.room.consoles() >= MAX_TEACHERS {
                        let mut made = false;
                        self.with_room(None, now, |room, io| {
                            made = room.make_room_for_console(now, io);
                        });
                        if !made {
                            self.refuse_console(
                                stream,
                                peer,
                                &format!("{MAX_TEACHERS} already open"),
                                &format!("error: too many teacher consoles (max {MAX_TEACHERS})"),
                            );
                            continue;
                        }
                        // Close it now, not at the end of the turn: a client that connects
                        // again as soon as it is greeted keeps this loop accepting.
                        self.sweep(now);
                    }
                    self.add_conn(stream, peer, Door::Teacher, now);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if is_transient(&e) => {}
                Err(e) => {
                    // Out of descriptors: the teacher waits in the backlog until one frees.
                    log::warn!("accepting a teacher console failed: {e}");
                    return;
                }
            }
        }
        self.accept_more[1] = true;
    }

    /// Registers a new connection under the slab key it is about to get, and lets the room
    /// greet it.
    fn add_conn(
        &mut self,
        mut stream: mio::net::TcpStream,
        peer: SocketAddr,
        door: Door,
        now: Instant,
    ) {
        let key = self.net.conns.vacant_key();
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(key), Interest::READABLE)
        {
            log::warn!("cannot register {peer}: {e}");
            return;
        }
        // Quiz lines are small and interactive: send them now, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        log::debug!("{peer} connected");
        let mut conn = Conn::new(stream, peer, door);
        conn.serial = self.net.next_serial;
        self.net.next_serial += 1;
        // Telnet options first (8-bit input, the window size), then the greeting.
        self.net.out.extend_from_slice(conn.decoder.opening());
        self.net.conns.insert(conn);
        match door {
            Door::Student => {
                self.net.students += 1;
                *self.net.per_address.entry(address_of(peer)).or_insert(0) += 1;
            }
            Door::Teacher => self.net.teachers += 1,
        }
        self.net.stats.peak_connections = self.net.stats.peak_connections.max(self.net.conns.len());
        self.with_room(Some(key), now, |room, io| {
            room.handle_connect(key, door, peer, now, io)
        });
        self.net.push(key, None);
        self.net.out.clear();
    }

    fn on_conn_event(&mut self, key: usize, event: &Event, now: Instant) {
        // An event for a connection already gone (or being closed) is normal.
        match self.net.conns.get(key) {
            Some(conn) if conn.closing.is_none() => {}
            _ => return,
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read_conn(key, now, event.is_read_closed() || event.is_error());
        } else {
            // Writable: send what waits.
            self.net.push(key, Some(&[]));
        }
    }

    /// Reads what a connection sent, feeding it through the telnet decoder into the room, then
    /// sends the output. `to_eof`: the event said the peer closed, so read on to the end of the
    /// stream (no further event would announce it).
    ///
    /// Every connection gets a bounded share of each loop turn: at most a few input lines
    /// ([`STUDENT_LINES_PER_TURN`], [`CONSOLE_LINES_PER_TURN`]) and [`READ_BUDGET`] bytes. What a
    /// read brought beyond the lines waits in the connection's `input` for the next turn, and a
    /// connection with more to do is put on the ready list, served round-robin with every other
    /// one. A connection whose output backs up past [`OUTPUT_WATERMARK`] is not read at all
    /// until it drains: a client that does not read stops being served, not the others.
    ///
    /// A read that returns less than asked has emptied the socket (stream sockets under
    /// edge-triggered polling: epoll(7)), so the loop stops there instead of paying one more
    /// `read` for the WouldBlock; data arriving later raises a new event.
    fn read_conn(&mut self, key: usize, now: Instant, to_eof: bool) {
        let Some(conn) = self.net.conns.get_mut(key) else {
            return;
        };
        conn.peer_closed |= to_eof;
        let to_eof = conn.peer_closed;
        let mut decoder = std::mem::take(&mut conn.decoder);
        let mut input = std::mem::take(&mut conn.input);
        let mut lines = match conn.door {
            Door::Student => STUDENT_LINES_PER_TURN,
            Door::Teacher => CONSOLE_LINES_PER_TURN,
        };
        let mut bytes = READ_BUDGET;
        let mut more = false;
        let mut ended = None;
        // A leave (Ctrl-C) is acted on once this read pass is over, so a timing mark that
        // came with it is answered first, even from a later read.
        let mut leave = false;
        if !input.is_empty() {
            let mut io = Outbox {
                net: &mut self.net,
                current: Some(key),
                now,
            };
            let used = feed(
                &mut decoder,
                &input,
                &mut lines,
                &mut leave,
                key,
                now,
                &mut self.room,
                &mut io,
            );
            input.drain(..used);
            more = !input.is_empty();
        }
        while !more && ended.is_none() {
            let Some(conn) = self.net.conns.get_mut(key) else {
                break;
            };
            if lines == 0 || bytes == 0 {
                // The socket may hold more: next turn.
                more = true;
                break;
            }
            if conn.pending() + self.net.out.len() > OUTPUT_WATERMARK {
                // Read again once the client has taken its output (`Net::push`).
                conn.paused = true;
                break;
            }
            let chunk = self.scratch.len().min(bytes);
            match conn.stream.read(&mut self.scratch[..chunk]) {
                Ok(0) => ended = Some(Status::Disconnected),
                Ok(n) => {
                    conn.bytes_in += n as u64;
                    bytes -= n;
                    if conn.phase == Phase::Open {
                        let mut io = Outbox {
                            net: &mut self.net,
                            current: Some(key),
                            now,
                        };
                        let read = &self.scratch[..n];
                        let used = feed(
                            &mut decoder,
                            read,
                            &mut lines,
                            &mut leave,
                            key,
                            now,
                            &mut self.room,
                            &mut io,
                        );
                        if used < n {
                            input.extend_from_slice(&read[used..]);
                            more = true;
                        }
                    }
                    if n < chunk && !to_eof {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("{}: read failed: {e}", conn.peer);
                    ended = Some(Status::Disconnected);
                }
            }
        }
        if let Some(conn) = self.net.conns.get_mut(key) {
            conn.decoder = decoder;
            conn.input = input;
        }
        self.net.apply_echo();
        if leave {
            let mut io = Outbox {
                net: &mut self.net,
                current: Some(key),
                now,
            };
            self.room.handle_leave(key, now, &mut io);
        }
        self.net.push(key, None);
        self.net.out.clear();
        if self.net.out.capacity() > 4 * OUT_KEEP {
            self.net.out = Vec::with_capacity(OUT_KEEP);
        }
        match ended {
            Some(status) => self.net.mark_close(key, status),
            None if more => self.net.ready.push(key),
            None => {}
        }
        self.after_room(now);
    }

    /// Connections with more input to handle (or that may have more waiting) get their next
    /// share, in turn.
    fn read_again(&mut self, now: Instant) {
        for key in std::mem::take(&mut self.net.ready) {
            if matches!(self.net.conns.get(key), Some(c) if c.closing.is_none()) {
                self.read_conn(key, now, false);
            }
        }
    }

    /// Fires every deadline that has passed: lingering closes, the room's, the server's own.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.net.lingering.first() {
            if at > now {
                break;
            }
            self.net.lingering.pop_first();
            self.net.mark_close(key, Status::Disconnected);
        }
        if self.room.next_deadline().is_some_and(|at| at <= now) {
            self.with_room(None, now, |room, io| room.handle_timeout(now, io));
        }
        if self.accept_paused.is_some_and(|(until, _)| until <= now) {
            self.accept_paused = self.accept_paused.map(|(_, p)| (now, p));
            self.accept_all(now);
        }
        self.retry_results(now);
        if self.next_summary <= now {
            self.summary();
            self.next_summary = now + self.summary_every;
        }
    }

    /// Rows held back (a full disk) are written again every [`RESULTS_RETRY`] until they go,
    /// whether or not another row comes.
    fn retry_results(&mut self, now: Instant) {
        if !self.net.results.has_pending() {
            self.results_retry_at = None;
            return;
        }
        let due = *self.results_retry_at.get_or_insert(now + RESULTS_RETRY);
        if now >= due {
            self.net.results.retry();
            self.results_retry_at = self.net.results.has_pending().then(|| now + RESULTS_RETRY);
        }
    }

    /// Closes every marked connection: the room lets go of it (recording or parking its
    /// attempt), then it is deregistered and its slot freed.
    fn sweep(&mut self, now: Instant) {
        while !self.net.to_close.is_empty() {
            // Output held for these connections goes into their last flush.
            self.commit();
            for key in std::mem::take(&mut self.net.to_close) {
                let status = match self.net.conns.get(key) {
                    Some(conn) => conn.closing.unwrap_or(Status::Disconnected),
                    None => continue,
                };
                self.with_room(None, now, |room, io| {
                    room.handle_close(key, status, now, io)
                });
                let Some(mut conn) = self.net.conns.try_remove(key) else {
                    continue;
                };
                if let Phase::Lingering { until, .. } = conn.phase {
                    self.net.lingering.remove(&(until, key));
                }
                match conn.door {
                    Door::Student => {
                        self.net.students -= 1;
                        let ip = address_of(conn.peer);
                        if let Some(n) = self.net.per_address.get_mut(&ip) {
                            *n -= 1;
                            if *n == 0 {
                                self.net.per_address.remove(&ip);
                            }
                        }
                    }
                    Door::Teacher => self.net.teachers -= 1,
                }
                // Last chance for queued lines; the peer may be gone, which is fine. Whatever
                // was waiting leaves the total, sent now or not.
                self.net.backlog_total = self.net.backlog_total.saturating_sub(conn.pending());
                let _ = conn.flush();
                let _ = self.poll.registry().deregister(&mut conn.stream);
                self.net.stats.bytes_in += conn.bytes_in;
                self.net.stats.bytes_out += conn.bytes_out;
                log::debug!("{} closed", conn.peer);
            }
        }
        // A descriptor came free: accept whoever waits in the backlog.
        if let Some((_, pause)) = self.accept_paused {
            self.accept_paused = Some((now, pause));
            self.accept_all(now);
        }
    }

    /// Writes the turn's journal records in one write and one `fdatasync`, then sends the
    /// output held meanwhile; compacts the journal when it has grown or nothing is open.
    fn commit(&mut self) {
        let mut stall = false;
        let mut changed = None;
        if let (Some(journal), Some(buf)) = (self.net.journal.as_mut(), self.room.journal_mut())
            && (!buf.is_empty() || journal.is_failing())
        {
            let fresh = !buf.is_empty();
            let written = journal.commit(buf);
            buf.clear();
            if buf.capacity() > 4 * OUT_KEEP * 16 {
                *buf = Vec::new();
            }
            // Records that did not reach the disk keep this turn's output back with them
            // (a turn that only retried older records holds back only what follows those).
            stall = fresh && !written;
            let failing = journal.is_failing();
            if written {
                self.net.unstall();
            }
            if failing != self.room.saving_failed() {
                changed = Some(failing);
            }
        }
        if stall {
            self.net.stall();
        } else {
            self.net.release();
        }
        if let Some(failing) = changed {
            // Told after the stall, so the consoles hear it now.
            let now = Instant::now();
            self.with_room(None, now, |room, io| room.set_saving_failed(failing, io));
            self.net.release();
        }
        // Sending may have put connections over their cap.
        if !self.net.over_cap.is_empty() {
            self.after_room(Instant::now());
        }
        self.compact();
    }

    /// Rewrites the journal as a snapshot of what is open, once it has outgrown the last
    /// one or when nothing is open and records were added since; never while rows wait for
    /// the results file (their records are all that keeps them).
    fn compact(&mut self) {
        let Some(journal) = self.net.journal.as_ref() else {
            return;
        };
        let idle = self.room.journal_idle() && journal.grew();
        if idle || journal.wants_compaction() {
            self.rewrite_journal(self.stopping.is_none());
        }
    }

    /// Rewrites the journal as a snapshot of what is open (with the counts of attempts, or
    /// not), once the results file is synced; not while rows wait for it.
    fn rewrite_journal(&mut self, counts: bool) {
        let Some(journal) = self.net.journal.as_mut() else {
            return;
        };
        if self.net.results.has_pending() {
            return;
        }
        if let Err(e) = self.net.results.sync() {
            log::warn!("cannot sync the results file before compacting the journal: {e}");
            journal.postpone();
            return;
        }
        let mut snapshot = Vec::new();
        self.room.journal_snapshot(&mut snapshot, counts);
        let before = journal.size();
        match journal.rewrite(&snapshot) {
            Ok(()) => log::debug!(
                "journal compacted: {before} -> {} bytes ({} attempt(s) open)",
                journal.size(),
                self.room.in_quiz()
            ),
            Err(e) => log::warn!(
                "cannot compact the journal {}: {e}; it goes on growing until it can",
                journal.path().display()
            ),
        }
    }

    /// Returns `Some(Forced)` when a second signal asks to exit at once.
    fn on_signals(&mut self, now: Instant) -> Option<Stopped> {
        let signals = self.signals.as_mut()?;
        let count = signals.pending().count();
        if count == 0 {
            return None;
        }
        if self.stopping.is_some() || count > 1 {
            if self.stopping.is_none() {
                self.begin_shutdown(now);
            }
            log::warn!("second signal: exiting now");
            return Some(Stopped::Forced);
        }
        self.begin_shutdown(now);
        None
    }

    /// Stops accepting, lets the room tell everyone and record every attempt, then lets the
    /// output drain for at most [`SHUTDOWN_GRACE`].
    fn begin_shutdown(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        log::info!(
            "shutting down: {} connected, saving their answers",
            self.net.conns.len()
        );
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_paused = None;
        let until = now + SHUTDOWN_GRACE;
        self.stopping = Some(until);
        self.with_room(None, now, |room, io| room.handle_shutdown(now, io));
        let keys: Vec<usize> = self.net.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.net.linger(key, until);
        }
    }

    fn finish_shutdown(mut self) {
        if let Some(board) = self.board.as_mut() {
            board.close_all(self.poll.registry());
        }
        let keys: Vec<usize> = self.net.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.net.mark_close(key, Status::Shutdown);
        }
        let now = Instant::now();
        self.sweep(now);
        // Anything that parked since (nothing should): recorded now.
        self.with_room(None, now, |room, io| room.handle_shutdown(now, io));
        // Every attempt is recorded: the journal is emptied once the rows are synced (the
        // next run counts attempts afresh, as a clean start always has).
        self.commit();
        if self.room.journal_idle() {
            self.rewrite_journal(false);
        }
        if let Some(journal) = self.net.journal.as_mut() {
            journal.close();
        }
        let (finished, answers) = (self.room.counters().finished, self.room.counters().answers);
        let journal = self
            .net
            .journal
            .as_ref()
            .map(|j| format!("; {}", j.stats.describe(answers)))
            .unwrap_or_default();
        let closed = self.net.results.close();
        log::info!("stopped: {finished} attempt(s) finished, {answers} answers, {closed}{journal}");
    }

    /// One info line, when something happened since the last one.
    fn summary(&mut self) {
        let c = self.room.counters();
        let now = (c.answers, self.net.stats.accepted, c.finished);
        if now == self.last_summary {
            return;
        }
        let answers = now.0 - self.last_summary.0;
        self.last_summary = now;
        let limits: Vec<String> = [
            ("refused (full)", self.net.stats.rejected_full),
            (
                "refused (too many from one address)",
                self.net.stats.rejected_address,
            ),
            ("closed at the output cap", self.net.stats.closed_output_cap),
            ("consoles refused", self.net.stats.rejected_consoles),
            ("lines too long", c.lines_too_long),
            ("/ask refused (too fast)", c.asks_refused),
            ("descriptor shortages", self.net.stats.accept_pauses),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
        log::info!(
            "{} connected ({} in a quiz, peak {}), {} attempts finished, {} answers in the last {} s{}{}",
            self.net.conns.len(),
            self.room.in_quiz(),
            self.net.stats.peak_connections,
            c.finished,
            answers,
            self.summary_every.as_secs(),
            if limits.is_empty() {
                ""
            } else {
                "; limits hit: "
            },
            limits.join(", ")
        );
    }
}

/// Runs input bytes through the decoder into the room, until `lines` lines have gone; returns
/// how many bytes were used.
///
/// A leave (Ctrl-C) is handed to the room only when the next line comes, or (`leave` left
/// set) by the caller when the read pass is over. The telnet client sends `IAC IP IAC DO
/// TIMING-MARK` and discards all output until the timing mark is answered, so that answer must
/// go out before what the room says to the leave, or the student never sees it. A student's
/// lines after a leave are handled as any other: mid-quiz the first leave only asks, and
/// anything else carries on. A console's are dropped until the pass is over: a Ctrl-C there
/// cancels an upload, and the rest of its lines must not run as commands.
#[allow(clippy::too_many_arguments)]
fn feed(
    decoder: &mut Decoder,
    bytes: &[u8],
    lines: &mut usize,
    leave: &mut bool,
    key: usize,
    now: Instant,
    room: &mut Room,
    io: &mut Outbox<'_>,
) -> usize {
    let mut budget = *lines;
    let mut pending = *leave;
    let console = room.is_console(key);
    let used = decoder.feed_lines(bytes, &mut budget, |event| match event {
        Telnet::Reply(bytes) => io.send(key, bytes),
        Telnet::Window { width, .. } => room.handle_window(key, width),
        Telnet::Leave if console => pending = true,
        Telnet::Line(_) | Telnet::TooLong if console && pending => {}
        Telnet::Leave => {
            if std::mem::replace(&mut pending, true) {
                // Two in a row: the first is handled now, the second waits as the first did.
                room.handle_leave(key, now, io);
            }
        }
        Telnet::Line(text) => {
            if std::mem::take(&mut pending) {
                room.handle_leave(key, now, io);
            }
            room.handle_line(key, text, now, io);
        }
        Telnet::TooLong => {
            if std::mem::take(&mut pending) {
                room.handle_leave(key, now, io);
            }
            room.handle_too_long(key, now, io);
        }
    });
    *lines = budget;
    *leave = pending;
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that never stops sending, and counts how often it was read.
    struct Streamer {
        reads: usize,
        written: Vec<u8>,
    }

    impl Read for Streamer {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            assert!(
                self.reads < 100,
                "a refusal kept reading a client that never stops"
            );
            buf.fill(b'x');
            Ok(buf.len())
        }
    }

    impl io::Write for Streamer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_refusal_reads_once_and_writes_once_however_much_the_client_sends() {
        let mut client = Streamer {
            reads: 0,
            written: Vec::new(),
        };
        say_and_go(&mut client, "error: server full\r\n");
        assert_eq!(client.reads, 1);
        assert_eq!(client.written, b"error: server full\r\n");
    }
}
