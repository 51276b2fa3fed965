//! The poll loop: one thread, one `mio::Poll`, the listener and every client in a `Slab`.
//!
//! Each turn of the loop: poll with a timeout that ends at the nearest deadline, handle the
//! events (accept until WouldBlock; read until WouldBlock or the budget; write right after
//! input; ask for WRITABLE only while output waits), then fire every expired deadline whether
//! events came or not, then close what was marked for closing, in one place (the sweep).
//!
//! Deadlines live in one ordered set of `(instant, slab key)`; each connection remembers the
//! deadline it has armed there, so re-arming is a remove and an insert.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use mio::event::Event;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::admin::{self, CloseReason, Request};
use crate::config::Config;
use crate::conn::{Conn, Phase, ReadEnd};
use crate::limits::{
    self, ACCEPT_PAUSE_MAX, ACCEPT_PAUSE_MIN, LISTEN_BACKLOG, MAX_TEACHERS, OUT_KEEP,
    SHUTDOWN_GRACE,
};
use crate::live::{Live, Transition};
use crate::quiz::Quiz;
use crate::results::Results;
use crate::session::{Shared, Status};

const LISTENER: Token = Token(usize::MAX - 1);
const SIGNALS: Token = Token(usize::MAX - 2);
const WAKER: Token = Token(usize::MAX - 3);
const ADMIN_LISTENER: Token = Token(usize::MAX - 4);

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The student address could not be bound.
    Listen { addr: String, error: io::Error },
    /// The teacher console's address could not be bound.
    AdminListen { addr: String, error: io::Error },
    /// The results file could not be opened.
    Results { path: String, error: io::Error },
    /// The poll instance or signal handling could not be set up.
    Setup(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Listen { addr, error } => {
                write!(
                    f,
                    "cannot listen on {addr}: {}",
                    crate::text::describe_io_error(error)
                )
            }
            StartError::AdminListen { addr, error } => {
                write!(
                    f,
                    "cannot listen on {addr} for the teacher console: {} (choose another with --admin-listen, or off)",
                    crate::text::describe_io_error(error)
                )
            }
            StartError::Results { path, error } => {
                write!(
                    f,
                    "cannot open results file {path}: {}",
                    crate::text::describe_io_error(error)
                )
            }
            StartError::Setup(error) => {
                write!(f, "cannot start: {}", crate::text::describe_io_error(error))
            }
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

/// What the server counts; logged in the periodic summary.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub accepted: u64,
    pub rejected_full: u64,
    pub closed_output_cap: u64,
    pub accept_pauses: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub peak_connections: usize,
    pub wrong_token_closes: u64,
    pub asks: u64,
}

/// The quiz server.
pub struct Server {
    poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    admin_listener: Option<TcpListener>,
    admin_addr: Option<SocketAddr>,
    /// Teacher consoles among `conns`.
    teachers: usize,
    /// Finished attempts of this run, for the teacher's `top`.
    board: Vec<admin::TopRow>,
    started: Instant,
    /// Where the quiz came from, for `reload`, and the settings a new bank is served with.
    banks: Vec<std::path::PathBuf>,
    title: Option<String>,
    conns: Slab<Conn>,
    /// Every armed deadline, earliest first.
    timers: BTreeSet<(Instant, usize)>,
    shared: Shared,
    results: Results,
    max_clients: usize,
    output_cap: usize,
    linger: Duration,
    token_timeout: Duration,
    /// Accepting is paused (no descriptors left) until this instant or a close, whichever
    /// first; the duration is the current pause, doubled on each failure.
    accept_paused: Option<(Instant, Duration)>,
    /// When the server ran out of descriptors with connections waiting; cleared once the
    /// backlog is drained, so the warning is logged once per episode, not once per retry.
    starved_since: Option<Instant>,
    /// Connections marked for closing (their `closing` holds the status their attempt gets).
    to_close: Vec<usize>,
    /// Connections that hit the read budget and may have more input waiting.
    again: Vec<usize>,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    /// Set once shutdown began: the loop ends when every connection is gone or at this instant.
    stopping: Option<Instant>,
    stats: Stats,
    next_summary: Instant,
    summary_every: Duration,
    last_summary: (u64, u64, u64),
    /// Where reads land; shared by every connection.
    scratch: Box<[u8]>,
    /// Output produced by the connection being handled, sent (or moved to its backlog) before
    /// the next connection is looked at; shared so sending allocates nothing per connection.
    out: Vec<u8>,
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

/// One line to a connection that will not be served, then close. The line fits any socket
/// buffer, so one write does.
fn refuse(mut stream: mio::net::TcpStream, line: &str) {
    use std::io::{Read, Write};
    // Drop anything already sent so closing sends FIN, not a reset that eats the line.
    let mut sink = [0u8; 512];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    let _ = stream.write_all(line.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Where `load`, `reload` and `upload` take a bank from.
enum BankSource {
    /// These files or directories (`load`).
    Files(Vec<std::path::PathBuf>),
    /// The files the quiz came from, read again (`reload`); none: the bundled bank.
    Again,
    /// A bank's text sent over the console (`upload`).
    Upload { name: String, text: String },
}

/// A reply to a teacher's command.
enum Reply {
    /// One or more lines (`ok: ...`, `error: ...`), then the prompt.
    Lines(String),
    /// A block ending with a `.` line.
    Block(Vec<String>),
    /// Nothing more (the console is closing).
    Nothing,
}

/// Binds with a backlog large enough for a class arriving at once (mio's default is 128).
pub(crate) fn bind_listener(addr: &str) -> io::Result<TcpListener> {
    let resolved = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name has no address"))?;
    let listener = TcpListener::bind(resolved)?;
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

impl Server {
    /// Binds the student port, opens the results file, sets up the poll loop. Nothing is
    /// served until [`Server::run`].
    pub fn bind(config: Config) -> Result<Server, StartError> {
        let nofile = match limits::raise_nofile() {
            Ok(n) => n,
            Err(e) => {
                log::warn!("cannot read the open-file limit: {e}");
                1024
            }
        };
        let max_clients = config
            .max_clients
            .unwrap_or_else(|| limits::default_max_clients(nofile));
        let mut listener = bind_listener(&config.listen).map_err(|error| StartError::Listen {
            addr: config.listen.clone(),
            error,
        })?;
        let mut admin_listener = match &config.admin_listen {
            Some(addr) => Some(
                bind_listener(addr).map_err(|error| StartError::AdminListen {
                    addr: addr.clone(),
                    error,
                })?,
            ),
            None => None,
        };
        let results = Results::open(&config.results).map_err(|error| StartError::Results {
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
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(StartError::Setup)?);
        let signals = if config.handle_signals {
            let mut signals = signal_hook_mio::v1_0::Signals::new([libc::SIGINT, libc::SIGTERM])
                .map_err(StartError::Setup)?;
            poll.registry()
                .register(&mut signals, SIGNALS, Interest::READABLE)
                .map_err(StartError::Setup)?;
            Some(signals)
        } else {
            None
        };
        let local_addr = listener.local_addr().map_err(StartError::Setup)?;
        log::info!(
            "listening on {local_addr} ({} question{} per attempt from {} in '{}'; max {} students, open-file limit {})",
            config.quiz.count(),
            if config.quiz.count() == 1 { "" } else { "s" },
            config.quiz.questions.len(),
            config.quiz.title,
            max_clients,
            nofile
        );
        log::info!("results go to {}", config.results.display());
        if let Some(addr) = admin_addr {
            log::info!("teacher console on {addr} (telnet to it and type the token)");
        }
        let now = Instant::now();
        let server = Server {
            poll,
            listener: Some(listener),
            local_addr,
            admin_listener,
            admin_addr,
            teachers: 0,
            board: Vec::new(),
            started: now,
            banks: config.banks,
            title: config.title,
            conns: Slab::new(),
            timers: BTreeSet::new(),
            shared: Shared::new(config.quiz, config.admin_token),
            results,
            max_clients,
            output_cap: config.output_cap,
            linger: config.linger,
            token_timeout: config.token_timeout,
            accept_paused: None,
            starved_since: None,
            to_close: Vec::new(),
            again: Vec::new(),
            signals,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            stopping: None,
            stats: Stats::default(),
            next_summary: now + config.summary_every,
            summary_every: config.summary_every,
            last_summary: (0, 0, 0),
            scratch: vec![0u8; 16 * 1024].into_boxed_slice(),
            out: Vec::with_capacity(OUT_KEEP),
        };
        Ok(server)
    }

    /// The address actually bound (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
        Handle {
            stop: self.stop.clone(),
            waker: self.waker.clone(),
        }
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
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(now),
                    ADMIN_LISTENER => self.accept_teachers(now),
                    SIGNALS => {
                        if self.on_signals(now) == Some(Stopped::Forced) {
                            self.results.close();
                            return Ok(Stopped::Forced);
                        }
                    }
                    WAKER => {
                        if self.stop.load(Ordering::SeqCst) {
                            self.begin_shutdown(now);
                        }
                    }
                    Token(key) => self.on_conn_event(key, event, now),
                }
            }
            self.read_again(now);
            self.fire_timers(Instant::now());
            self.sweep(Instant::now());
            self.run_live(Instant::now());
            if let Some(until) = self.stopping
                && (self.conns.is_empty() || Instant::now() >= until)
            {
                self.finish_shutdown();
                return Ok(Stopped::Clean);
            }
        }
    }

    /// How long poll may sleep: until the nearest deadline (none: block; overdue: zero).
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let mut nearest = self.timers.first().map(|&(at, _)| at);
        let mut consider = |at: Instant| nearest = Some(nearest.map_or(at, |n| n.min(at)));
        if let Some((at, _)) = self.accept_paused {
            consider(at);
        }
        if let Some(at) = self.stopping {
            consider(at);
        }
        if let Some(at) = self.shared.roster.next_expiry() {
            consider(at);
        }
        if let Some(at) = self.shared.live.as_ref().and_then(Live::next_deadline) {
            consider(at);
        }
        consider(self.next_summary);
        nearest.map(|at| at.saturating_duration_since(now))
    }

    /// Accepts every waiting connection.
    fn accept_all(&mut self, now: Instant) {
        if self.accept_paused.is_some_and(|(until, _)| now < until) {
            return;
        }
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.stats.accepted += 1;
                    if self.conns.len() - self.teachers >= self.max_clients {
                        self.refuse_full(stream, peer);
                    } else {
                        self.add_conn(stream, peer, now);
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
                        self.stats.accept_pauses += 1;
                        log::warn!(
                            "accept paused: {e} ({} connected); resuming when one closes",
                            self.conns.len()
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
    }

    /// Full: one clear line, then close. The line fits any socket buffer, so one write does.
    fn refuse_full(&mut self, stream: mio::net::TcpStream, peer: SocketAddr) {
        self.stats.rejected_full += 1;
        if self.stats.rejected_full.is_power_of_two() {
            log::warn!(
                "server full ({} students): refused {peer} ({} refused so far)",
                self.max_clients,
                self.stats.rejected_full
            );
        }
        let line = format!(
            "error: server full ({} students connected); try again later\r\n",
            self.conns.len() - self.teachers
        );
        refuse(stream, &line);
    }

    /// Accepts every waiting teacher console (up to [`MAX_TEACHERS`]).
    fn accept_teachers(&mut self, now: Instant) {
        loop {
            let Some(listener) = self.admin_listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) if self.teachers >= MAX_TEACHERS => {
                    log::warn!("teacher console from {peer} refused: {MAX_TEACHERS} already open");
                    refuse(
                        stream,
                        &format!("error: too many teacher consoles (max {MAX_TEACHERS})\r\n"),
                    );
                }
                Ok((mut stream, peer)) => {
                    let Some(key) = self.register(&mut stream, peer) else {
                        continue;
                    };
                    log::info!("teacher console opened from {peer}");
                    let conn = Conn::teacher(stream, peer, now, self.token_timeout, &mut self.out);
                    self.conns.insert(conn);
                    self.teachers += 1;
                    self.after_io(key, now);
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
    }

    /// Registers a new connection's socket under the slab key it is about to get.
    fn register(&mut self, stream: &mut mio::net::TcpStream, peer: SocketAddr) -> Option<usize> {
        let key = self.conns.vacant_key();
        if let Err(e) = self
            .poll
            .registry()
            .register(stream, Token(key), Interest::READABLE)
        {
            log::warn!("cannot register {peer}: {e}");
            return None;
        }
        // Quiz lines are small and interactive: send them now, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        Some(key)
    }

    fn add_conn(&mut self, mut stream: mio::net::TcpStream, peer: SocketAddr, now: Instant) {
        let Some(key) = self.register(&mut stream, peer) else {
            return;
        };
        log::debug!("{peer} connected");
        let conn = Conn::new(key, stream, peer, now, &self.shared.quiz, &mut self.out);
        self.conns.insert(conn);
        self.stats.peak_connections = self.stats.peak_connections.max(self.conns.len());
        self.after_io(key, now);
    }

    fn on_conn_event(&mut self, key: usize, event: &Event, now: Instant) {
        // An event for a connection already gone (or being closed) is normal.
        if !self.conns.contains(key) || self.is_marked(key) {
            return;
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read_conn(key, now, event.is_read_closed() || event.is_error());
        }
        self.after_io(key, now);
        self.serve_teacher(key, now);
    }

    fn is_marked(&self, key: usize) -> bool {
        self.conns.get(key).is_some_and(|c| c.closing.is_some())
    }

    /// Marks a connection for the sweep (once; the first reason wins).
    fn mark_close(&mut self, key: usize, status: Status) {
        if let Some(conn) = self.conns.get_mut(key)
            && conn.closing.is_none()
        {
            conn.closing = Some(status);
            self.to_close.push(key);
        }
    }

    /// Reads what a connection sent; `to_eof`: read on to the end of stream (the event said the
    /// peer closed), not just until a short read.
    fn read_conn(&mut self, key: usize, now: Instant, to_eof: bool) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        match conn.read(
            now,
            &mut self.shared.ctx(),
            &mut self.scratch,
            &mut self.out,
            to_eof,
        ) {
            ReadEnd::Drained => {}
            ReadEnd::Budget => self.again.push(key),
            ReadEnd::Eof => self.mark_close(key, Status::Disconnected),
            ReadEnd::Failed(e) => {
                log::debug!("{}: read failed: {e}", conn.peer);
                self.mark_close(key, Status::Disconnected);
            }
        }
    }

    /// Connections that used up their read budget get another turn.
    fn read_again(&mut self, now: Instant) {
        for key in std::mem::take(&mut self.again) {
            if self.conns.contains(key) && !self.is_marked(key) {
                self.read_conn(key, now, true);
                self.after_io(key, now);
                self.serve_teacher(key, now);
            }
        }
    }

    /// After anything happened on a connection: write results, send output, enforce the output
    /// cap, start closing a finished session, update write interest and the timer.
    fn after_io(&mut self, key: usize, now: Instant) {
        // Rows first: by the time a student reads "Quiz over", their row is on disk.
        self.write_finished();
        self.update_conn(key, now);
        self.deliver_asks(now);
        self.run_live(now);
        // A student who resumed their attempt here: the connection that held it says so and
        // closes.
        while let Some(old) = self.shared.evicted.pop() {
            if let Some(session) = self.conns.get_mut(old).and_then(Conn::session_mut) {
                session.on_evicted(&mut self.out);
                self.update_conn(old, now);
            }
        }
        // An attempt ended by a limit inside update_conn.
        self.write_finished();
    }

    fn update_conn(&mut self, key: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else {
            self.out.clear();
            return;
        };
        if conn.closing.is_some() {
            // The sweep makes the last attempt to send it.
            conn.keep(&mut self.out);
            return;
        }
        let sent = conn.send(&mut self.out);
        if self.out.capacity() > 4 * OUT_KEEP {
            self.out = Vec::with_capacity(OUT_KEEP);
        }
        if let Err(e) = sent {
            log::debug!("{}: write failed: {e}", conn.peer);
            self.mark_close(key, Status::Disconnected);
            return;
        }
        // A teacher's `results` may be large; only students are held to the cap.
        let (peer, pending) = (conn.peer, conn.pending());
        if pending > self.output_cap
            && conn.phase == Phase::Open
            && let Some(session) = conn.session_mut()
        {
            self.stats.closed_output_cap += 1;
            log::warn!(
                "{} ({peer}) does not read its output ({pending} bytes waiting, cap {}): closing",
                session.name().unwrap_or("-"),
                self.output_cap
            );
            // The attempt ends now; what is queued is dropped for one last line, which goes out
            // if the client ever reads again (otherwise the linger deadline closes it).
            session.on_close(Status::Disconnected, now, &mut self.shared.ctx());
            conn.replace_pending(&format!(
                "\r\nerror: too much unread output (over {} bytes); closing. Your answers so far are saved.\r\n",
                self.output_cap
            ));
            conn.linger(now + self.linger);
        }
        if conn.phase == Phase::Open && conn.is_done() {
            conn.linger(now + self.linger);
        }
        conn.shut_when_flushed();
        let want_write = conn.wants_write();
        if want_write != conn.write_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Err(e) = self
                .poll
                .registry()
                .reregister(&mut conn.stream, Token(key), interest)
            {
                log::warn!("{}: cannot change interest: {e}", conn.peer);
                self.mark_close(key, Status::Disconnected);
                return;
            }
            conn.write_interest = want_write;
        }
        // Timers are re-armed lazily: a deadline that moved later (every answer moves the
        // clock later) leaves the earlier entry in place; when it fires, the connection finds
        // nothing due and arms its real deadline then. So answering costs no timer-set work.
        let deadline = conn.deadline();
        let keep = match (conn.armed, deadline) {
            (Some(armed), Some(due)) => armed <= due,
            (armed, due) => armed == due,
        };
        if !keep {
            if let Some(old) = conn.armed {
                self.timers.remove(&(old, key));
            }
            if let Some(new) = deadline {
                self.timers.insert((new, key));
            }
            conn.armed = deadline;
        }
    }

    /// Fires every deadline that has passed, and the server's own timers.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            conn.armed = None;
            match conn.phase {
                Phase::Lingering { until, .. } if until <= now => {
                    self.mark_close(key, Status::Disconnected);
                    continue;
                }
                Phase::Lingering { .. } => {}
                Phase::Open => conn.on_timeout(now, &mut self.shared.ctx(), &mut self.out),
            }
            self.after_io(key, now);
        }
        self.shared.expire(now);
        self.write_finished();
        let present = self.present();
        if let Some(t) = self
            .shared
            .live
            .as_mut()
            .and_then(|live| live.on_timeout(now, present))
        {
            self.broadcast(t, now);
        }
        if self.accept_paused.is_some_and(|(until, _)| until <= now) {
            self.accept_paused = self.accept_paused.map(|(_, p)| (now, p));
            self.accept_all(now);
        }
        if self.next_summary <= now {
            self.summary();
            self.next_summary = now + self.summary_every;
        }
    }

    /// Closes every marked connection: records the attempt, deregisters, frees the slot.
    fn sweep(&mut self, now: Instant) {
        if self.to_close.is_empty() {
            return;
        }
        for key in std::mem::take(&mut self.to_close) {
            let Some(mut conn) = self.conns.try_remove(key) else {
                continue;
            };
            let status = conn.closing.unwrap_or(Status::Disconnected);
            if let Some(at) = conn.armed.take() {
                self.timers.remove(&(at, key));
            }
            if let Some(session) = conn.session_mut() {
                session.on_close(status, now, &mut self.shared.ctx());
            } else {
                self.teachers -= 1;
                log::info!("teacher console from {} closed", conn.peer);
            }
            // Last chance for queued lines; the peer may be gone, which is fine.
            let _ = conn.flush();
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.stats.bytes_in += conn.bytes_in;
            self.stats.bytes_out += conn.bytes_out;
            log::debug!("{} closed", conn.peer);
        }
        self.write_finished();
        // A descriptor came free: accept whoever waits in the backlog.
        if let Some((_, pause)) = self.accept_paused {
            self.accept_paused = Some((now, pause));
            self.accept_all(now);
        }
    }

    /// Shows students' `/ask` messages on every teacher console (they are in the log already).
    fn deliver_asks(&mut self, now: Instant) {
        if self.shared.asks.is_empty() {
            return;
        }
        let asks = std::mem::take(&mut self.shared.asks);
        self.stats.asks += asks.len() as u64;
        let teachers: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.console().is_some_and(admin::Console::is_authenticated))
            .map(|(k, _)| k)
            .collect();
        for key in teachers {
            for ask in &asks {
                if let Some(console) = self.conns.get(key).and_then(Conn::console) {
                    console.notice(&mut self.out, &format!("ask from {ask}"));
                }
            }
            self.update_conn(key, now);
        }
    }

    /// Records every parked attempt (the server is stopping; nobody can resume any more).
    fn finish_parked(&mut self, now: Instant) {
        self.shared.finish_parked(now);
        self.write_finished();
    }

    /// Writes the rows of attempts that ended.
    fn write_finished(&mut self) {
        if self.shared.finished.is_empty() {
            return;
        }
        let wall = SystemTime::now();
        for attempt in self.shared.finished.drain(..) {
            self.results.record(&attempt, &self.shared.quiz, wall);
            self.board.push(admin::TopRow {
                rank: 0,
                name: attempt.name,
                score: attempt.score,
                max: attempt.max,
                time: attempt.duration,
            });
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

    /// Stops accepting, tells every student, records every attempt, then lets the output
    /// drain for at most [`SHUTDOWN_GRACE`].
    fn begin_shutdown(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        log::info!(
            "shutting down: {} connected, saving their answers",
            self.conns.len()
        );
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_paused = None;
        let until = now + SHUTDOWN_GRACE;
        self.stopping = Some(until);
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            conn.on_shutdown(now, &mut self.shared.ctx(), &mut self.out);
            conn.linger(until);
            self.after_io(key, now);
        }
        self.finish_parked(now);
    }

    fn finish_shutdown(mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.mark_close(key, Status::Shutdown);
        }
        let now = Instant::now();
        self.sweep(now);
        // Students who dropped during the grace period parked their seats.
        self.finish_parked(now);
        log::info!(
            "stopped: {} attempt(s) finished, {} answers, {} row(s) written to {}",
            self.shared.counters.finished,
            self.shared.counters.answers,
            self.results.written(),
            self.results.path().display()
        );
        self.results.close();
    }

    /// Acts on what a teacher typed, in order.
    fn serve_teacher(&mut self, key: usize, now: Instant) {
        let requests = match self.conns.get_mut(key) {
            Some(conn) if conn.is_teacher() && conn.closing.is_none() => conn.take_requests(),
            _ => return,
        };
        for request in requests {
            self.execute(key, request, now);
        }
    }

    /// Carries out one console request and replies on the teacher's console.
    fn execute(&mut self, key: usize, request: Request, now: Instant) {
        // What the console wrote itself goes out before other connections are written to.
        self.update_conn(key, now);
        let peer = self.conns.get(key).map(|c| c.peer);
        log::info!(
            "teacher {}: {request:?}",
            peer.map_or("-".into(), |p| p.to_string())
        );
        let reply = match request {
            Request::Status => Reply::Block(admin::render_status(&self.status_view())),
            Request::Who => Reply::Block(admin::render_who(&self.who_rows(now))),
            Request::Start | Request::Next | Request::End if self.shared.live.is_some() => {
                Reply::Lines(self.drive_live(&request, now))
            }
            Request::Start | Request::Next => Reply::Lines(
                "error: this quiz is self-paced (each student goes at their own pace); start and next drive live quizzes (quizd --mode live)".into(),
            ),
            Request::End => {
                let n = self.stop_students(None, Status::Ended, now);
                Reply::Lines(format!("ok: quiz ended for {n} student(s); their answers are saved"))
            }
            Request::Kick { name } => {
                if self.stop_students(Some(&name), Status::Kicked, now) > 0 {
                    Reply::Lines(format!("ok: {name} removed; their answers are saved"))
                } else {
                    Reply::Lines(format!("error: no student named {name} is in the quiz"))
                }
            }
            Request::Say { text } => {
                let n = self.tell_students(None, &format!("[teacher] {text}"), now);
                Reply::Lines(format!("ok: sent to {n} student(s)"))
            }
            Request::Tell { name, text } => {
                if self.tell_students(Some(&name), &format!("[teacher, to you] {text}"), now) > 0 {
                    Reply::Lines(format!("ok: sent to {name}"))
                } else {
                    Reply::Lines(format!("error: no student named {name} is connected"))
                }
            }
            Request::Load { paths } => Reply::Lines(self.switch_bank(BankSource::Files(paths))),
            Request::Reload => Reply::Lines(self.switch_bank(BankSource::Again)),
            Request::Upload { name, text } => {
                Reply::Lines(self.switch_bank(BankSource::Upload { name, text }))
            }
            Request::Results => match std::fs::read_to_string(self.results.path()) {
                Ok(csv) => Reply::Block(vec![csv]),
                Err(e) => Reply::Lines(format!(
                    "error: cannot read {}: {}",
                    self.results.path().display(),
                    crate::text::describe_io_error(&e)
                )),
            },
            Request::Top { n } => Reply::Block(admin::render_top(&self.top(n, now))),
            Request::Stats => Reply::Block(admin::render_stats(&self.stats_view(now))),
            Request::Shutdown => {
                log::warn!("shutdown asked from the teacher console");
                self.reply(key, Reply::Lines("ok: shutting down; every answer is saved".into()), now);
                self.begin_shutdown(now);
                Reply::Nothing
            }
            Request::Close { reason } => {
                if reason == CloseReason::WrongToken {
                    self.stats.wrong_token_closes += 1;
                    log::warn!(
                        "teacher console from {}: three wrong tokens; closing",
                        peer.map_or("-".into(), |p| p.to_string())
                    );
                }
                Reply::Nothing
            }
        };
        self.reply(key, reply, now);
    }

    /// The teacher's `start`, `next` or `end` in live mode; returns the reply.
    fn drive_live(&mut self, request: &Request, now: Instant) -> String {
        let present = self.present();
        let Some(live) = self.shared.live.as_mut() else {
            return "error: this quiz is not live".into();
        };
        let moved = match request {
            Request::Start => live.start(now, present),
            Request::Next => live.next(now, present),
            _ => live.end(),
        };
        match moved {
            Ok(t @ Transition::Over { .. }) => {
                let finished = self.shared.counters.finished;
                self.broadcast(t, now);
                let rows = self.shared.counters.finished - finished;
                format!(
                    "ok: quiz over, {rows} attempt(s) recorded; the room waits for the next start"
                )
            }
            Ok(t) => {
                self.broadcast(t, now);
                format!("ok: {}", self.live_phase())
            }
            Err(why) => format!("error: {why}"),
        }
    }

    fn reply(&mut self, key: usize, reply: Reply, now: Instant) {
        let Some(console) = self.conns.get(key).and_then(Conn::console) else {
            return;
        };
        match reply {
            Reply::Lines(text) => console.reply_line(&mut self.out, &text),
            Reply::Block(lines) => console.reply_block(&mut self.out, lines),
            Reply::Nothing => {}
        }
        self.update_conn(key, now);
    }

    /// The connections of every student still in a session (`name`: `None`), or of the one
    /// holding `name`'s attempt.
    fn students(&self, name: Option<&str>) -> Vec<usize> {
        match name {
            Some(name) => self.shared.roster.holder(name).into_iter().collect(),
            None => self
                .conns
                .iter()
                .filter(|(_, c)| c.closing.is_none() && c.session().is_some_and(|s| !s.is_done()))
                .map(|(k, _)| k)
                .collect(),
        }
    }

    /// Ends the attempts of every student (`name`: `None`) or of one, with `status`; returns
    /// how many.
    fn stop_students(&mut self, name: Option<&str>, status: Status, now: Instant) -> usize {
        let keys = self.students(name);
        let mut stopped = 0;
        for key in keys {
            if let Some(session) = self.conns.get_mut(key).and_then(Conn::session_mut) {
                session.on_stopped_by_teacher(status, now, &mut self.shared.ctx(), &mut self.out);
                stopped += 1;
                self.after_io(key, now);
            }
        }
        // Students who dropped and may still resume.
        let shared = &mut self.shared;
        match name {
            Some(name) => {
                if shared.roster.finish_parked_seat(
                    name,
                    status,
                    now,
                    &mut shared.finished,
                    &mut shared.counters,
                ) {
                    stopped += 1;
                }
            }
            None => {
                stopped += shared.roster.parked();
                shared
                    .roster
                    .finish_parked(now, &mut shared.finished, &mut shared.counters);
            }
        }
        self.write_finished();
        stopped
    }

    /// Shows `text` to every connected student (`name`: `None`) or to one; returns how many.
    fn tell_students(&mut self, name: Option<&str>, text: &str, now: Instant) -> usize {
        let keys = self.students(name);
        let mut told = 0;
        for key in keys {
            if let Some(session) = self.conns.get(key).and_then(Conn::session) {
                session.notice(text, &mut self.out);
                told += 1;
                self.update_conn(key, now);
            }
        }
        told
    }

    /// `load` (new paths), `reload` (the same paths again) or `upload` (a bank's text): serves
    /// the new bank if it is good and nobody is mid-quiz; otherwise the old one stays. Returns
    /// the reply.
    fn switch_bank(&mut self, source: BankSource) -> String {
        let loaded = match &source {
            BankSource::Upload { name, text } => crate::bank::from_text(name, text.as_bytes()),
            BankSource::Files(paths) => crate::bank::load(paths),
            BankSource::Again if self.banks.is_empty() => crate::bank::bundled(),
            BankSource::Again => crate::bank::load(&self.banks),
        };
        let bank = match loaded {
            Ok(bank) => bank,
            Err(problems) => {
                return problems
                    .iter()
                    .map(|p| format!("error: {p}"))
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        };
        let count = bank.questions.len();
        let busy = self.shared.roster.len();
        if busy > 0 {
            return format!(
                "error: the bank is good ({count} questions), but {busy} student(s) are mid-quiz; switch banks between quizzes (end the quiz first)"
            );
        }
        let mut bank = bank;
        if let Some(title) = &self.title {
            bank.title = title.clone();
        }
        let title = bank.title.clone();
        let settings = self.shared.quiz.settings.clone();
        self.shared.quiz = Quiz::new(bank, settings);
        self.shared.live = Live::for_quiz(&self.shared.quiz);
        if let BankSource::Files(paths) = source {
            self.banks = paths;
        }
        log::info!("now serving '{title}': {count} questions");
        format!("ok: {count} questions; now serving {title}")
    }

    fn status_view(&self) -> admin::StatusView {
        let quiz = &self.shared.quiz;
        admin::StatusView {
            mode: if self.shared.live.is_some() {
                admin::Mode::Live
            } else {
                admin::Mode::SelfPaced
            },
            title: quiz.title.clone(),
            questions: quiz.questions.len(),
            per_attempt: Some(quiz.count()),
            files: self.banks.iter().map(|p| p.display().to_string()).collect(),
            students_connected: self.conns.len() - self.teachers,
            in_quiz: self.shared.roster.len(),
            finished: self.shared.counters.finished,
            live_phase: self.shared.live.is_some().then(|| self.live_phase()),
        }
    }

    /// The room's phase in words.
    fn live_phase(&self) -> String {
        self.shared
            .live
            .as_ref()
            .map_or_else(|| "self-paced".into(), Live::describe)
    }

    /// Students in the quiz with a connection (they can answer the next question).
    fn present(&self) -> usize {
        self.shared.roster.len() - self.shared.roster.parked()
    }

    /// Shows transitions the students caused (everyone answered, the last one left).
    fn run_live(&mut self, now: Instant) {
        while let Some(t) = self.shared.live.as_mut().and_then(Live::take_pending) {
            self.broadcast(t, now);
        }
    }

    /// Shows a change of the live room to every student.
    fn broadcast(&mut self, t: Transition, now: Instant) {
        log::info!("live: {t:?}");
        let results = match t {
            Transition::Closed { index } => {
                crate::session::live_results(&mut self.shared.ctx(), index, now)
            }
            _ => Vec::new(),
        };
        let keys = self.students(None);
        for key in keys {
            if let Some(session) = self.conns.get_mut(key).and_then(Conn::session_mut) {
                session.on_live(t, &results, now, &mut self.shared.ctx(), &mut self.out);
            }
            // Rows first: a student who reads "Quiz over" has their row on disk.
            self.write_finished();
            self.update_conn(key, now);
        }
        if let Transition::Over { .. } = t {
            // Students who dropped kept their place until now; then the room starts afresh
            // for the next quiz.
            self.finish_parked(now);
            self.shared.live = Live::for_quiz(&self.shared.quiz);
        }
    }

    fn who_rows(&self, now: Instant) -> Vec<admin::WhoRow> {
        let mut rows: Vec<admin::WhoRow> = Vec::new();
        for (c, session) in self
            .conns
            .iter()
            .filter_map(|(_, c)| c.session().map(|s| (c, s)))
        {
            let (state, score) = session.describe(&self.shared.roster);
            rows.push(admin::WhoRow {
                name: session.name().unwrap_or("").to_string(),
                peer: c.peer,
                state,
                score,
                idle: now.saturating_duration_since(c.last_input),
            });
        }
        let window = self.shared.quiz.settings.resume_window;
        for seat in self.shared.roster.seats().filter(|s| s.is_parked()) {
            let (done, total) = seat.progress();
            let left = seat
                .expires()
                .map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
            rows.push(admin::WhoRow {
                name: seat.name.clone(),
                peer: seat.peer,
                state: format!("dropped at {}/{total}, may resume", done + 1),
                score: Some((seat.score, done as u32)),
                idle: window.saturating_sub(left),
            });
        }
        rows
    }

    /// The best `n` attempts: finished ones of this run and those in progress, by score, then
    /// by time taken.
    fn top(&self, n: usize, now: Instant) -> Vec<admin::TopRow> {
        let mut rows: Vec<admin::TopRow> = self.board.clone();
        rows.extend(self.shared.roster.seats().map(|seat| admin::TopRow {
            rank: 0,
            name: seat.name.clone(),
            score: seat.score,
            max: seat.progress().1 as u32,
            time: now.saturating_duration_since(seat.started()),
        }));
        rows.sort_by(|a, b| b.score.cmp(&a.score).then(a.time.cmp(&b.time)));
        rows.truncate(n);
        for (i, row) in rows.iter_mut().enumerate() {
            row.rank = i + 1;
        }
        rows
    }

    fn stats_view(&self, now: Instant) -> admin::StatsView {
        let c = &self.shared.counters;
        let open: (u64, u64) = self
            .conns
            .iter()
            .fold((0, 0), |(i, o), (_, c)| (i + c.bytes_in, o + c.bytes_out));
        admin::StatsView {
            connected_students: self.conns.len() - self.teachers,
            connected_teachers: self.teachers,
            peak_connections: self.stats.peak_connections,
            accepted_total: self.stats.accepted,
            rejected_full: self.stats.rejected_full,
            closed_output_cap: self.stats.closed_output_cap,
            wrong_token_closes: self.stats.wrong_token_closes,
            attempts_started: c.started,
            attempts_finished: c.finished,
            answers: c.answers,
            timeouts: c.timeouts,
            lines_too_long: c.lines_too_long,
            asks: self.stats.asks,
            asks_refused: c.asks_refused,
            bytes_in: self.stats.bytes_in + open.0,
            bytes_out: self.stats.bytes_out + open.1,
            uptime: now.saturating_duration_since(self.started),
        }
    }

    /// One info line, when something happened since the last one.
    fn summary(&mut self) {
        let now = (
            self.shared.counters.answers,
            self.stats.accepted,
            self.shared.counters.finished,
        );
        if now == self.last_summary {
            return;
        }
        let answers = now.0 - self.last_summary.0;
        self.last_summary = now;
        let c = &self.shared.counters;
        let limits: Vec<String> = [
            ("refused (full)", self.stats.rejected_full),
            ("closed at the output cap", self.stats.closed_output_cap),
            ("lines too long", c.lines_too_long),
            ("/ask refused (too fast)", c.asks_refused),
            ("descriptor shortages", self.stats.accept_pauses),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
        log::info!(
            "{} connected ({} in a quiz, peak {}), {} attempts finished, {} answers in the last {} s{}{}",
            self.conns.len(),
            self.shared.roster.len(),
            self.stats.peak_connections,
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
