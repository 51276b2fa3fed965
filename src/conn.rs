//! One client connection as the server holds it: the socket, the telnet decoder, the output the
//! socket has not taken yet, and where the connection is in its life. Nothing about the quiz:
//! that is the room's.
//!
//! Output is sent as soon as there is some; only what the socket does not take is copied into
//! the connection's own backlog, so a connection that keeps up (nearly all of them) holds no
//! output buffer at all, and the server asks for WRITABLE only while a backlog waits
//! ([`Conn::wants_write`]). A connection ends in one of two ways: at once (the peer went away,
//! or it broke a limit), or gracefully once the room has said its last word to it: the output
//! is flushed, our side is shut down, and what the peer still sends is read and dropped until it
//! closes too or the linger deadline passes, so a final line is never destroyed by a reset.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use mio::net::TcpStream;

use crate::room::Door;
use crate::room::roster::Status;
use crate::telnet::Decoder;

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
}

impl Conn {
    pub fn new(stream: TcpStream, peer: SocketAddr, door: Door) -> Conn {
        Conn {
            stream,
            peer,
            door,
            phase: Phase::Open,
            decoder: Decoder::new(),
            backlog: Vec::new(),
            sent: 0,
            closing: None,
            write_interest: false,
            bytes_in: 0,
            bytes_out: 0,
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
