//! One client connection: its socket, telnet decoder, session and pending output.
//!
//! The server calls [`Conn::read`] on readiness, which appends the session's output to a buffer
//! the server shares between all connections, then [`Conn::send`]. Only output the socket did
//! not take is copied into the connection's own backlog, so a connection that keeps up (nearly
//! all of them) holds no output buffer at all; the server asks for WRITABLE only while a backlog
//! waits ([`Conn::wants_write`]). A connection ends in one of two ways: at once (the peer went away,
//! or broke a limit), or gracefully once its session is done: the output is flushed, our side
//! is shut down, and what the peer still sends is read and dropped until it closes too or the
//! linger deadline passes, so a final line is never destroyed by a reset.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use crate::admin::{Console, Request};
use crate::limits::READ_BUDGET;
use crate::session::{Ctx, Session};
use crate::telnet::{Decoder, Event};

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Serving its session.
    Open,
    /// The session is over: sending what is left, then waiting for the peer to close, until
    /// the deadline.
    Lingering { until: Instant, shut: bool },
}

/// Who is at the other end.
#[derive(Debug)]
pub enum Role {
    /// A student taking the quiz.
    Student(Session),
    /// A teacher at the console. What they ask of the server waits in `requests` until the
    /// loop acts on it, right after the read.
    Teacher {
        console: Box<Console>,
        requests: Vec<Request>,
        /// The console closes if no token has come by then.
        token_deadline: Instant,
        token_timeout: Duration,
    },
}

impl Role {
    fn on_line(&mut self, text: &str, now: Instant, ctx: &mut Ctx, out: &mut Vec<u8>) {
        match self {
            Role::Student(session) => session.on_line(text, now, ctx, out),
            Role::Teacher {
                console, requests, ..
            } => requests.extend(console.on_line(text, ctx.admin_token, out)),
        }
    }

    fn on_too_long(&mut self, ctx: &mut Ctx, out: &mut Vec<u8>) {
        match self {
            Role::Student(session) => session.on_too_long(ctx, out),
            Role::Teacher { console, .. } => console.on_too_long(out),
        }
    }

    fn on_leave(&mut self, now: Instant, ctx: &mut Ctx, out: &mut Vec<u8>) {
        match self {
            Role::Student(session) => session.on_leave(now, ctx, out),
            Role::Teacher {
                console, requests, ..
            } => requests.extend(console.on_leave(out)),
        }
    }
}

/// How a read pass ended.
#[derive(Debug)]
pub enum ReadEnd {
    /// Everything available was read.
    Drained,
    /// The read budget ran out with more input maybe waiting: read again soon.
    Budget,
    /// The peer closed its side.
    Eof,
    /// The connection failed (reset, ...).
    Failed(io::Error),
}

/// One client.
#[derive(Debug)]
pub struct Conn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub role: Role,
    pub phase: Phase,
    /// When input last arrived (the teacher's `who` shows idle time).
    pub last_input: Instant,
    decoder: Decoder,
    /// Output the socket has not taken yet; empty (and unallocated) while the client keeps up.
    backlog: Vec<u8>,
    /// Bytes at the front of `backlog` already written.
    sent: usize,
    /// Marked for the close sweep, with the status its attempt gets.
    pub closing: Option<crate::session::Status>,
    /// WRITABLE is part of the registered interest.
    pub write_interest: bool,
    /// The deadline this connection has in the server's timer set.
    pub armed: Option<Instant>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Conn {
    /// A new connection (`key`: its id in the server); the session's greeting is appended to
    /// `out`.
    pub fn new(
        key: usize,
        stream: TcpStream,
        peer: SocketAddr,
        now: Instant,
        quiz: &crate::quiz::Quiz,
        out: &mut Vec<u8>,
    ) -> Conn {
        let session = Session::new(key, peer, now, quiz, out);
        Conn::with_role(stream, peer, Role::Student(session), now)
    }

    /// A new teacher console, which must give the token within `token_timeout`; its greeting
    /// and token prompt are appended to `out`.
    pub fn teacher(
        stream: TcpStream,
        peer: SocketAddr,
        now: Instant,
        token_timeout: Duration,
        out: &mut Vec<u8>,
    ) -> Conn {
        let role = Role::Teacher {
            console: Box::new(Console::new(out)),
            requests: Vec::new(),
            token_deadline: now + token_timeout,
            token_timeout,
        };
        Conn::with_role(stream, peer, role, now)
    }

    fn with_role(stream: TcpStream, peer: SocketAddr, role: Role, now: Instant) -> Conn {
        Conn {
            stream,
            peer,
            role,
            last_input: now,
            phase: Phase::Open,
            closing: None,
            decoder: Decoder::new(),
            backlog: Vec::new(),
            sent: 0,
            write_interest: false,
            armed: None,
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    /// Reads until the socket is empty or the budget is spent, feeding the session; its output
    /// goes to `out`. While lingering, input is read and dropped.
    ///
    /// A read that returns less than asked has emptied the socket (stream sockets under
    /// edge-triggered polling: epoll(7)), so the loop stops there instead of paying one more
    /// `read` for the WouldBlock; data arriving later raises a new event. Unless `to_eof`: when
    /// the event said the peer closed, reading goes on to the end of stream, since no further
    /// event would announce it.
    pub fn read(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        scratch: &mut [u8],
        out: &mut Vec<u8>,
        to_eof: bool,
    ) -> ReadEnd {
        let mut budget = READ_BUDGET;
        loop {
            match self.stream.read(scratch) {
                Ok(0) => return ReadEnd::Eof,
                Ok(n) => {
                    self.bytes_in += n as u64;
                    self.last_input = now;
                    if self.phase == Phase::Open {
                        self.feed(&scratch[..n], now, ctx, out);
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        return ReadEnd::Budget;
                    }
                    if n < scratch.len() && !to_eof {
                        return ReadEnd::Drained;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadEnd::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadEnd::Failed(e),
            }
        }
    }

    /// Runs input bytes through the decoder into the session.
    ///
    /// A leave (Ctrl-C) is acted on after the whole chunk: the telnet client sends
    /// `IAC IP IAC DO TIMING-MARK` and discards all output until the timing mark is answered,
    /// so the answer must go out before the farewell lines or the student never sees them.
    pub fn feed(&mut self, bytes: &[u8], now: Instant, ctx: &mut Ctx, out: &mut Vec<u8>) {
        let Conn { decoder, role, .. } = self;
        let mut leave = false;
        decoder.feed(bytes, |event| match event {
            Event::Line(text) if !leave => role.on_line(text, now, ctx, out),
            Event::TooLong if !leave => role.on_too_long(ctx, out),
            Event::Line(_) | Event::TooLong => {}
            Event::Leave => leave = true,
            Event::Reply(bytes) => out.extend_from_slice(bytes),
        });
        if leave {
            role.on_leave(now, ctx, out);
        }
    }

    /// The student's session, if this is a student.
    pub fn session(&self) -> Option<&Session> {
        match &self.role {
            Role::Student(session) => Some(session),
            Role::Teacher { .. } => None,
        }
    }

    pub fn session_mut(&mut self) -> Option<&mut Session> {
        match &mut self.role {
            Role::Student(session) => Some(session),
            Role::Teacher { .. } => None,
        }
    }

    pub fn is_teacher(&self) -> bool {
        matches!(self.role, Role::Teacher { .. })
    }

    /// The teacher's console, if this is a teacher.
    pub fn console(&self) -> Option<&Console> {
        match &self.role {
            Role::Teacher { console, .. } => Some(console),
            Role::Student(_) => None,
        }
    }

    /// What a teacher asked for since the last call.
    pub fn take_requests(&mut self) -> Vec<Request> {
        match &mut self.role {
            Role::Teacher { requests, .. } => std::mem::take(requests),
            Role::Student(_) => Vec::new(),
        }
    }

    /// The session (or console) has said its last word: close once the output is out.
    pub fn is_done(&self) -> bool {
        match &self.role {
            Role::Student(session) => session.is_done(),
            Role::Teacher { console, .. } => console.is_closed(),
        }
    }

    /// Deadlines that passed fire; output goes to `out`.
    pub fn on_timeout(&mut self, now: Instant, ctx: &mut Ctx, out: &mut Vec<u8>) {
        match &mut self.role {
            Role::Student(session) => session.on_timeout(now, ctx, out),
            Role::Teacher {
                console,
                token_deadline,
                token_timeout,
                ..
            } if *token_deadline <= now => console.on_token_timeout(out, *token_timeout),
            Role::Teacher { .. } => {}
        }
    }

    /// The server is stopping; the farewell goes to `out`.
    pub fn on_shutdown(&mut self, now: Instant, ctx: &mut Ctx, out: &mut Vec<u8>) {
        match &mut self.role {
            Role::Student(session) => session.on_shutdown(now, ctx, out),
            Role::Teacher { console, .. } => {
                console.notice(out, "server shutting down; every answer is saved.")
            }
        }
    }

    /// Drops the output not yet sent and queues `line` instead (a client over the output cap
    /// gets one last explanation rather than more of what it did not read).
    pub fn replace_pending(&mut self, line: &str) {
        self.backlog.truncate(self.sent);
        self.backlog.extend_from_slice(line.as_bytes());
    }

    /// Output not yet taken by the socket.
    pub fn pending(&self) -> usize {
        self.backlog.len() - self.sent
    }

    /// Sends the backlog, then `fresh` (new output, which is emptied): one `write` in the usual
    /// case where nothing waits. What the socket does not take is kept in the backlog.
    pub fn send(&mut self, fresh: &mut Vec<u8>) -> io::Result<()> {
        if self.pending() > 0 {
            self.backlog.extend_from_slice(fresh);
            fresh.clear();
            return self.flush();
        }
        let (n, result) = write_some(&mut self.stream, fresh);
        self.bytes_out += n as u64;
        if n < fresh.len() {
            self.backlog.extend_from_slice(&fresh[n..]);
        }
        fresh.clear();
        result
    }

    /// Keeps `fresh` in the backlog without writing (the connection is about to be closed; the
    /// sweep makes the last attempt to send it).
    pub fn keep(&mut self, fresh: &mut Vec<u8>) {
        self.backlog.extend_from_slice(fresh);
        fresh.clear();
    }

    /// Writes the backlog until done or the socket is full. A short write is normal.
    pub fn flush(&mut self) -> io::Result<()> {
        let (n, result) = write_some(&mut self.stream, &self.backlog[self.sent..]);
        self.sent += n;
        self.bytes_out += n as u64;
        if self.sent == self.backlog.len() {
            // Caught up: give the buffer back, so idle connections cost no output memory.
            self.backlog = Vec::new();
            self.sent = 0;
        }
        result
    }

    /// True while output waits for the socket.
    pub fn wants_write(&self) -> bool {
        self.pending() > 0
    }

    /// Starts the graceful end: flush, shut our side, wait for the peer, until `until`.
    pub fn linger(&mut self, until: Instant) {
        if self.phase == Phase::Open {
            self.phase = Phase::Lingering { until, shut: false };
        }
    }

    /// While lingering: once all output is out, shuts down our side (the peer sees EOF after
    /// the last line).
    pub fn shut_when_flushed(&mut self) {
        let flushed = self.pending() == 0;
        if let Phase::Lingering { shut, .. } = &mut self.phase
            && !*shut
            && flushed
        {
            *shut = true;
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }

    /// The earliest instant the server must look at this connection again.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open => match &self.role {
                Role::Student(session) => session.next_deadline(),
                Role::Teacher {
                    console,
                    token_deadline,
                    ..
                } => {
                    (!console.is_authenticated() && !console.is_closed()).then_some(*token_deadline)
                }
            },
            Phase::Lingering { until, .. } => Some(until),
        }
    }
}

/// Writes `bytes` until done or the socket is full (a short write is normal); returns how many
/// bytes went, and the error that stopped it, if any.
pub(crate) fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < bytes.len() {
        match stream.write(&bytes[done..]) {
            Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}
