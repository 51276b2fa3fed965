//! The connections as the server holds them. A [`Conn`] is one socket, its telnet decoder, the
//! output the socket has not taken yet, and where it is in its life; `Net` is all of them
//! with the results file, and `Outbox` is how the room writes to them (its [`Io`]). Nothing
//! about the quiz: that is the room's.
//!
//! Output is sent as soon as there is some; only what the socket does not take is copied into
//! the connection's own backlog, so a connection that keeps up (nearly all of them) holds no
//! output buffer at all, and the server asks for WRITABLE only while a backlog waits
//! ([`Conn::wants_write`]). A connection ends in one of two ways: at once (the peer went away,
//! or it broke a limit), or gracefully once the room has said its last word to it: the output
//! is flushed, our side is shut down, and what the peer still sends is read and dropped until it
//! closes too or the linger deadline passes, so a final line is never destroyed by a reset.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::bank::{Bank, Problem};
use crate::limits::{CONSOLE_OUTPUT_CAP, MAX_RESULTS_SHOWN, OUTPUT_WATERMARK, TOTAL_OUTPUT_BUDGET};
use crate::quiz::Quiz;
use crate::results::Results;
use crate::room::roster::{Attempt, Status};
use crate::room::{ConnId, Door, Io, NetStats};
use crate::telnet::Decoder;
use crate::text::describe_io_error;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Its input goes to the room.
    Open,
    /// The room is done with it: sending what is left, then waiting for the peer to close,
    /// until the deadline. Input is read and dropped.
    Lingering { until: Instant, shut: bool },
}

/// One client.
#[derive(Debug)]
pub struct Conn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub door: Door,
    pub phase: Phase,
    /// Taken out while its bytes are fed to the room (so the room's output can be written to
    /// other connections meanwhile), then put back.
    pub decoder: Decoder,
    /// Bytes read but not yet decoded: what a read brought beyond this turn's lines (a flood).
    /// Empty, and unallocated, for a client that sends a line at a time.
    pub input: Vec<u8>,
    /// Not read while its output is above the watermark; read again once it drains.
    pub paused: bool,
    /// The peer closed its side: read on to the end of the stream.
    pub peer_closed: bool,
    /// Output the socket has not taken yet; empty (and unallocated) while the client keeps up.
    backlog: Vec<u8>,
    /// Bytes at the front of `backlog` already written.
    sent: usize,
    /// Marked for the close sweep, with the status its attempt gets.
    pub closing: Option<Status>,
    /// WRITABLE is part of the registered interest.
    pub write_interest: bool,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Unique over the server's life (slab keys are reused): output held for a turn goes to
    /// this connection only if it is still the one under its key.
    pub serial: u64,
}

impl Conn {
    pub fn new(stream: TcpStream, peer: SocketAddr, door: Door) -> Conn {
        Conn {
            stream,
            peer,
            door,
            phase: Phase::Open,
            decoder: Decoder::new(),
            input: Vec::new(),
            paused: false,
            peer_closed: false,
            backlog: Vec::new(),
            sent: 0,
            closing: None,
            write_interest: false,
            bytes_in: 0,
            bytes_out: 0,
            serial: 0,
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

    /// Sends the backlog, then `fresh`: one `write` in the usual case where nothing waits.
    /// What the socket does not take is kept in the backlog.
    pub fn send(&mut self, fresh: &[u8]) -> io::Result<()> {
        if self.pending() > 0 {
            self.backlog.extend_from_slice(fresh);
            return self.flush();
        }
        let (n, result) = write_some(&mut self.stream, fresh);
        self.bytes_out += n as u64;
        if n < fresh.len() {
            self.backlog.extend_from_slice(&fresh[n..]);
        }
        result
    }

    /// Keeps `fresh` in the backlog without writing (the connection is about to be closed; the
    /// sweep makes the last attempt to send it).
    pub fn keep(&mut self, fresh: &[u8]) {
        self.backlog.extend_from_slice(fresh);
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
    /// Returns false if it had started already.
    pub fn linger(&mut self, until: Instant) -> bool {
        if self.phase != Phase::Open {
            return false;
        }
        self.phase = Phase::Lingering { until, shut: false };
        true
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
}

/// The sockets side: every connection, the results file, and what the room asked of them that
/// the loop acts on after the room returns.
pub(crate) struct Net {
    pub(crate) conns: Slab<Conn>,
    /// The journal, committed once per loop turn before the turn's output is released.
    pub(crate) journal: Option<crate::journal::Journal>,
    pub(crate) registry: Registry,
    pub(crate) results: Results,
    /// Output for the connection being read, sent once its input is handled (one `write` per
    /// read in the usual case); shared, so sending allocates nothing per connection.
    pub(crate) out: Vec<u8>,
    /// Connections marked for the sweep (their `closing` holds the status their attempt gets).
    pub(crate) to_close: Vec<usize>,
    /// Connections over their output cap, for the loop to end.
    pub(crate) over_cap: Vec<usize>,
    /// Output waiting in every connection's backlog together.
    pub(crate) backlog_total: usize,
    /// Consoles whose decoder is to accept (`true`) or drop telnet ECHO ([`Io::hide_input`]).
    pub(crate) echo: Vec<(usize, bool)>,
    /// Connections with input to handle next turn: lines beyond their share of this one, or
    /// output that drained after a pause.
    pub(crate) ready: Vec<usize>,
    /// Connections lingering after their last word, by deadline.
    pub(crate) lingering: BTreeSet<(Instant, usize)>,
    /// A teacher asked for shutdown.
    pub(crate) shutdown_asked: bool,
    pub(crate) students: usize,
    /// Student connections open per address (only addresses with one or more).
    pub(crate) per_address: HashMap<IpAddr, usize>,
    pub(crate) teachers: usize,
    pub(crate) stats: NetStats,
    pub(crate) output_cap: usize,
    pub(crate) linger: Duration,
    /// With a journal: output is held for the loop turn, and sent ([`Net::release`]) only once
    /// the turn's records are on disk, so nobody reads a verdict the disk does not have.
    pub(crate) hold: bool,
    /// Output held this turn: connection, its serial, and the bytes' range in `held_bytes`, in
    /// the order it was sent.
    pub(crate) held: Vec<(usize, u64, usize, usize)>,
    pub(crate) held_bytes: Vec<u8>,
    /// The next connection's serial.
    pub(crate) next_serial: u64,
    /// [`Net::release`] is sending held pieces: a lingering connection is shut after its
    /// last one.
    pub(crate) releasing: bool,
    /// Output of turns whose records the journal could not write (a full disk): it waits
    /// until they are written, as do later pieces for the same connections (by serial).
    pub(crate) stalled: Vec<(usize, u64, usize, usize)>,
    pub(crate) stalled_bytes: Vec<u8>,
    /// Bytes stalled per connection serial.
    pub(crate) stalled_serials: HashMap<u64, usize>,
}

impl Net {
    /// Marks a connection for the sweep (once; the first reason wins).
    pub(crate) fn mark_close(&mut self, key: usize, status: Status) {
        if let Some(conn) = self.conns.get_mut(key)
            && conn.closing.is_none()
        {
            conn.closing = Some(status);
            self.to_close.push(key);
        }
    }

    /// Sends `fresh` (or, with `None`, the shared output of the connection being read) to
    /// `key`, then enforces the output cap, finishes a lingering close and updates write
    /// interest.
    pub(crate) fn push(&mut self, key: usize, fresh: Option<&[u8]>) {
        let Net {
            conns,
            out,
            registry,
            hold,
            held,
            held_bytes,
            releasing,
            ..
        } = self;
        let fresh: &[u8] = fresh.unwrap_or(out);
        if *hold {
            if let Some(conn) = conns.get(key) {
                let start = held_bytes.len();
                held_bytes.extend_from_slice(fresh);
                held.push((key, conn.serial, start, held_bytes.len()));
            }
            return;
        }
        let Some(conn) = conns.get_mut(key) else {
            return;
        };
        let before = conn.pending();
        if conn.closing.is_some() {
            // The sweep makes the last attempt to send it.
            conn.keep(fresh);
            self.backlog_total = (self.backlog_total + conn.pending()).saturating_sub(before);
            return;
        }
        let sent = conn.send(fresh);
        self.backlog_total = (self.backlog_total + conn.pending()).saturating_sub(before);
        if let Err(e) = sent {
            log::debug!("{}: write failed: {e}", conn.peer);
            self.mark_close(key, Status::Disconnected);
            return;
        }
        let cap = match conn.door {
            Door::Student => self.output_cap,
            // A teacher's `results` may be large.
            Door::Teacher => CONSOLE_OUTPUT_CAP.max(self.output_cap),
        };
        // Past the cap, or past the watermark while the output all connections hold together
        // is over its budget: many clients each just under their cap must not add up to
        // gigabytes.
        let over = conn.pending() > cap
            || (conn.pending() > OUTPUT_WATERMARK && self.backlog_total > TOTAL_OUTPUT_BUDGET);
        if over && conn.phase == Phase::Open && !self.over_cap.contains(&key) {
            self.over_cap.push(key);
        }
        if conn.paused && conn.pending() <= OUTPUT_WATERMARK {
            // The client took its output: read what it sent meanwhile.
            conn.paused = false;
            self.ready.push(key);
        }
        if !*releasing {
            conn.shut_when_flushed();
        }
        let want_write = conn.wants_write();
        if want_write != conn.write_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Err(e) = registry.reregister(&mut conn.stream, Token(key), interest) {
                log::warn!("{}: cannot change interest: {e}", conn.peer);
                self.mark_close(key, Status::Disconnected);
                return;
            }
            conn.write_interest = want_write;
        }
    }

    /// The journal could not write this turn's records: the students' output waits with
    /// them (a console's does not: it promises nothing about what is saved, and the teacher
    /// must be able to see what is going on). Then what may go goes.
    pub(crate) fn stall(&mut self) {
        let held = std::mem::take(&mut self.held);
        let mut keep = Vec::new();
        for (key, serial, start, end) in held {
            let student = self
                .conns
                .get(key)
                .is_some_and(|c| c.serial == serial && c.door == Door::Student);
            if !student {
                keep.push((key, serial, start, end));
                continue;
            }
            self.keep_stalled((key, serial, start, end));
        }
        self.held = keep;
        self.release();
    }

    /// Keeps a held piece back with the stalled output. Bounded like any output: a student
    /// whose stalled output passes the output cap (one who keeps typing while the disk is
    /// full) is closed, their attempt parked for them to resume.
    fn keep_stalled(&mut self, (key, serial, start, end): (usize, u64, usize, usize)) {
        let kept = self.stalled_serials.entry(serial).or_default();
        *kept += end - start;
        if *kept > self.output_cap || self.stalled_bytes.len() + (end - start) > TOTAL_OUTPUT_BUDGET
        {
            // Not kept: the connection is closed, and what it was owed goes with it.
            log::debug!("connection {key}: too much output waiting for the journal; closing");
            self.mark_close(key, Status::Disconnected);
            return;
        }
        let at = self.stalled_bytes.len();
        self.stalled_bytes
            .extend_from_slice(&self.held_bytes[start..end]);
        self.stalled
            .push((key, serial, at, self.stalled_bytes.len()));
    }

    /// The journal has written what it could not before: the output that waited goes, in
    /// order, before this turn's.
    pub(crate) fn unstall(&mut self) {
        if self.stalled.is_empty() {
            return;
        }
        self.stalled_serials.clear();
        let held = std::mem::replace(&mut self.held, std::mem::take(&mut self.stalled));
        let bytes = std::mem::replace(
            &mut self.held_bytes,
            std::mem::take(&mut self.stalled_bytes),
        );
        // Stalled first, then this turn's pieces after them.
        let offset = self.held_bytes.len();
        self.held_bytes.extend_from_slice(&bytes);
        self.held.extend(
            held.into_iter()
                .map(|(k, s, a, b)| (k, s, a + offset, b + offset)),
        );
    }

    /// Sends the output held this turn (the journal has its records on disk), in order.
    /// Pieces for a connection whose earlier output is stalled wait behind it.
    pub(crate) fn release(&mut self) {
        if self.held.is_empty() {
            self.held_bytes.clear();
            return;
        }
        if !self.stalled_serials.is_empty() {
            let held = std::mem::take(&mut self.held);
            let mut keep = Vec::with_capacity(held.len());
            for piece in held {
                if self.stalled_serials.contains_key(&piece.1) {
                    self.keep_stalled(piece);
                } else {
                    keep.push(piece);
                }
            }
            self.held = keep;
        }
        let mut held = std::mem::take(&mut self.held);
        let mut bytes = std::mem::take(&mut self.held_bytes);
        self.hold = false;
        // A connection closing has its output in several pieces: it is shut only after the
        // last, not after the first that happens to drain.
        self.releasing = true;
        for &(key, serial, start, end) in &held {
            if self.conns.get(key).is_some_and(|c| c.serial == serial) {
                self.push(key, Some(&bytes[start..end]));
            }
        }
        self.releasing = false;
        for &(key, serial, ..) in &held {
            if let Some(conn) = self.conns.get_mut(key)
                && conn.serial == serial
            {
                conn.shut_when_flushed();
            }
        }
        self.hold = true;
        held.clear();
        bytes.clear();
        if bytes.capacity() > crate::limits::OUT_KEEP * 64 {
            // A burst (a broadcast to a large class) need not stay allocated.
            bytes = Vec::new();
            held = Vec::new();
        }
        self.held = held;
        self.held_bytes = bytes;
    }

    /// Tells the decoders of the consoles that hid or showed input ([`Io::hide_input`]).
    pub(crate) fn apply_echo(&mut self) {
        for (key, hide) in self.echo.drain(..) {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.decoder.hide_input(hide);
            }
        }
    }

    /// Starts the graceful close of `key`: output first, then our side shut, then the peer's
    /// close awaited until `until`.
    pub(crate) fn linger(&mut self, key: usize, until: Instant) {
        if let Some(conn) = self.conns.get_mut(key)
            && conn.linger(until)
        {
            self.lingering.insert((until, key));
        }
    }
}

/// The room's view of the sockets during one call: `current` is the connection whose input is
/// being handled (its output collects in `Net::out`, after any telnet replies, and goes out in
/// one write); output for any other connection is written at once.
pub(crate) struct Outbox<'a> {
    pub(crate) net: &'a mut Net,
    pub(crate) current: Option<usize>,
    pub(crate) now: Instant,
}

impl Io for Outbox<'_> {
    fn send(&mut self, id: ConnId, bytes: &[u8]) {
        if self.current == Some(id) {
            self.net.out.extend_from_slice(bytes);
        } else {
            self.net.push(id, Some(bytes));
        }
    }

    fn close(&mut self, id: ConnId) {
        let until = self.now + self.net.linger;
        self.net.linger(id, until);
        if self.current != Some(id) {
            // Nothing more comes for it: shut our side now if the output is out.
            self.net.push(id, Some(&[]));
        }
    }

    fn hide_input(&mut self, id: ConnId, hide: bool) {
        // The connection being read has its decoder out: the loop applies this once it is
        // back ([`Net::apply_echo`]), before anything the client says to it can arrive.
        self.net.echo.push((id, hide));
    }

    fn cut(&mut self, id: ConnId) {
        // The sweep makes one last try at the output, then drops the socket.
        self.net.mark_close(id, Status::Disconnected);
    }

    fn record(&mut self, attempt: &Attempt, quiz: &Quiz) {
        self.net.results.record(attempt, quiz, SystemTime::now());
    }

    fn read_banks(&mut self, paths: &[PathBuf]) -> Result<Bank, Vec<Problem>> {
        // While students are served: only what parses in the time a class can wait.
        crate::bank::load_with(paths, crate::bank::BankLimits::WHILE_SERVING)
    }

    fn results(&mut self) -> Result<String, String> {
        let path = self.net.results.path();
        tail_of_results(path, MAX_RESULTS_SHOWN)
            .map_err(|e| format!("cannot read {}: {}", path.display(), describe_io_error(&e)))
    }

    fn net(&self) -> NetStats {
        let mut stats = self.net.stats.clone();
        for (_, conn) in self.net.conns.iter() {
            stats.bytes_in += conn.bytes_in;
            stats.bytes_out += conn.bytes_out;
        }
        stats.journal = self.net.journal.as_ref().map(|j| j.stats.clone());
        stats
    }

    fn shutdown(&mut self) {
        self.net.shutdown_asked = true;
    }
}

/// The results file for the console's `results`: whole when it is at most `max` bytes,
/// otherwise its header and the last rows that fit, after a line saying how much is left out
/// (a file appended to over many runs must not stall the loop, nor fill the console's output).
fn tail_of_results(path: &std::path::Path, max: u64) -> io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    // Without blocking, and a regular file only: a FIFO at the path must not hold the loop.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::other(crate::bank::not_regular_message(
            metadata.file_type(),
        )));
    }
    let len = metadata.len();
    if len <= max {
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        return Ok(text);
    }
    file.seek(SeekFrom::Start(len - max))?;
    let mut tail = Vec::new();
    file.take(max).read_to_end(&mut tail)?;
    // Start at the first whole row.
    let start = tail
        .iter()
        .position(|&b| b == b'\n')
        .map_or(tail.len(), |at| at + 1);
    let rows = String::from_utf8_lossy(&tail[start..]);
    Ok(format!(
        "{}\r\n# ... {} earlier bytes not shown; the whole file is {}\r\n{rows}",
        crate::results::HEADER,
        len - max + start as u64,
        path.display()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_results_file_shows_its_header_and_last_rows_only() {
        let path = std::env::temp_dir().join(format!("quizd-tail-{}.csv", std::process::id()));
        let mut text = format!("{}\r\n", crate::results::HEADER);
        for i in 0..1000 {
            text.push_str(&format!("row {i:04}\r\n"));
        }
        std::fs::write(&path, &text).expect("write");
        assert_eq!(tail_of_results(&path, 1 << 20).expect("read"), text);
        let shown = tail_of_results(&path, 100).expect("read");
        let _ = std::fs::remove_file(&path);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], crate::results::HEADER);
        assert!(lines[1].starts_with("# ... ") && lines[1].contains("earlier bytes not shown"));
        assert_eq!(lines.last(), Some(&"row 0999"));
        assert!(lines[2].starts_with("row "), "whole rows only: {lines:?}");
        assert!(shown.len() < 300);
    }

    #[test]
    fn a_fifo_at_the_results_path_is_an_error_not_a_wait_for_a_writer() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::env::temp_dir().join(format!("quizd-fifo-{}.csv", std::process::id()));
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let shown = tail_of_results(&path, 1 << 20);
        let _ = std::fs::remove_file(&path);
        let e = shown.expect_err("a FIFO is not read");
        assert!(e.to_string().contains("not a regular file (a FIFO)"), "{e}");
    }
}
