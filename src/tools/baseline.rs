//! The raw baseline: a mio loop with quizd's shape and none of its logic, to measure quizd by.
//!
//! One thread, one `Poll`, one `Slab`, the same socket set-up (backlog, `TCP_NODELAY`) and the
//! same bytes on the wire as quizd serving an unshuffled attempt in which every answer is right:
//! the greeting on connect, then for each line received the next reply of a fixed script. No
//! telnet decoding, no session, no timers, no results file. What remains is what the sockets
//! themselves cost, which is the ceiling for quizd; the benches and `quizd-load` runs compare
//! the two under the same clients (README, "Performance").

use crate::bank::Marks;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::conn::write_some;
use crate::quiz::Quiz;
use crate::server::Handle;
use crate::wire;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// What the baseline sends: the greeting, then one reply per line received.
#[derive(Debug)]
pub(crate) struct Script {
    pub greeting: Vec<u8>,
    /// `replies[i]` answers the i-th line (the name, then each answer); the last one ends the
    /// attempt, after which the server closes.
    pub replies: Vec<Vec<u8>>,
}

impl Script {
    /// quizd's bytes for one student named `student` answering every question of `quiz`
    /// correctly, questions in bank order, options as written, verdicts shown. Written with
    /// [`crate::wire`]'s writers and the quiz's prepared question bytes, as quizd writes them.
    pub fn new(quiz: &Quiz) -> Script {
        const NAME: &str = "student";
        let count = quiz.count();
        // quizd's telnet opening (BINARY, NAWS), then its greeting.
        let mut greeting = crate::telnet::OPENING.to_vec();
        wire::greeting(&mut greeting, &quiz.title, count, quiz.settings.time_limit);
        let mut replies = Vec::with_capacity(count + 1);
        let mut reply = Vec::new();
        // The resume code is random in quizd; this one has the same length.
        let code = "x".repeat(crate::limits::CODE_LEN);
        // Verdicts shown (`reveal`): every answer's reply is a `Correct!` line.
        wire::hello(&mut reply, NAME, &quiz.how_to_answer, true, &code);
        for index in 0..count {
            let question = quiz.wire(index as u32).for_width(None);
            reply.extend_from_slice(quiz.header(index));
            reply.extend_from_slice(&question.text);
            for (shown, option) in question.options.iter().enumerate() {
                reply.extend_from_slice(&wire::option_prefix(shown));
                reply.extend_from_slice(option);
            }
            reply.extend_from_slice(&question.hint);
            reply.extend_from_slice(wire::ANSWER_PROMPT.as_bytes());
            replies.push(std::mem::take(&mut reply));
            wire::correct(&mut reply, Marks::whole(index as u32 + 1), index + 1);
        }
        reply.extend_from_slice(wire::CRLF);
        wire::quiz_over(&mut reply, NAME, Marks::whole(count as u32), count as u32);
        replies.push(reply);
        Script { greeting, replies }
    }
}

/// One client: where it is in the script, and output the socket did not take.
struct Raw {
    stream: TcpStream,
    step: usize,
    backlog: Vec<u8>,
    write_interest: bool,
    /// The script is over and our side is shut; waiting for the peer's EOF.
    shut: bool,
}

/// The baseline server.
pub struct Baseline {
    poll: Poll,
    listener: TcpListener,
    local_addr: SocketAddr,
    conns: Slab<Raw>,
    script: Script,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    scratch: Box<[u8]>,
    out: Vec<u8>,
}

impl Baseline {
    /// Binds `addr` (with quizd's backlog) and prepares the script for `quiz`.
    pub fn bind(addr: &str, quiz: &Quiz) -> io::Result<Baseline> {
        crate::limits::raise_nofile()?;
        let mut listener =
            crate::server::bind_listener(addr, Some(crate::limits::STUDENT_BUFFERS))?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Baseline {
            local_addr: listener.local_addr()?,
            poll,
            listener,
            conns: Slab::new(),
            script: Script::new(quiz),
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            scratch: vec![0u8; 16 * 1024].into_boxed_slice(),
            out: Vec::with_capacity(64 * 1024),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops [`Baseline::run`] from another thread.
    pub fn handle(&self) -> Handle {
        Handle::new(self.stop.clone(), self.waker.clone())
    }

    /// Serves until stopped through a [`Handle`].
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None)
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER if self.stop.load(Ordering::SeqCst) => return Ok(()),
                    WAKER => {}
                    Token(key) => self.serve(key, event.is_read_closed() || event.is_error()),
                }
            }
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let entry = self.conns.vacant_entry();
                    let key = entry.key();
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, Token(key), Interest::READABLE)
                        .is_err()
                    {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    entry.insert(Raw {
                        stream,
                        step: 0,
                        backlog: Vec::new(),
                        write_interest: false,
                        shut: false,
                    });
                    self.out.extend_from_slice(&self.script.greeting);
                    self.send(key);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // One aborted connection: the rest of the backlog is still there (edge
                // triggering would not announce it again).
                Err(e) if crate::server::is_transient(&e) => {}
                // Out of descriptors: try again on the next event.
                Err(_) => return,
            }
        }
    }

    /// Reads everything waiting (stopping at a short read, as quizd does, unless the peer
    /// closed); every line gets the next reply of the script.
    fn serve(&mut self, key: usize, to_eof: bool) {
        let Some(raw) = self.conns.get_mut(key) else {
            return;
        };
        let mut open = true;
        loop {
            match raw.stream.read(&mut self.scratch) {
                Ok(0) => {
                    open = false;
                    break;
                }
                Ok(n) => {
                    let lines = self.scratch[..n].iter().filter(|&&b| b == b'\n').count();
                    for _ in 0..lines {
                        if let Some(reply) = self.script.replies.get(raw.step) {
                            self.out.extend_from_slice(reply);
                            raw.step += 1;
                        }
                    }
                    if n < self.scratch.len() && !to_eof {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    open = false;
                    break;
                }
            }
        }
        if open {
            self.send(key);
        } else {
            self.out.clear();
            self.close(key);
        }
    }

    /// Sends the backlog and the new output; keeps what the socket did not take.
    fn send(&mut self, key: usize) {
        let Some(raw) = self.conns.get_mut(key) else {
            self.out.clear();
            return;
        };
        // Like quizd: straight from the shared buffer, copying only what the socket refused.
        let failed = if raw.backlog.is_empty() {
            let (done, result) = write_some(&mut raw.stream, &self.out);
            raw.backlog.extend_from_slice(&self.out[done..]);
            result.is_err()
        } else {
            raw.backlog.extend_from_slice(&self.out);
            let (done, result) = write_some(&mut raw.stream, &raw.backlog);
            raw.backlog.drain(..done);
            if raw.backlog.is_empty() {
                raw.backlog = Vec::new();
            }
            result.is_err()
        };
        self.out.clear();
        if failed {
            self.close(key);
            return;
        }
        if raw.backlog.is_empty() && raw.step == self.script.replies.len() && !raw.shut {
            raw.shut = true;
            let _ = raw.stream.shutdown(Shutdown::Write);
        }
        let want_write = !raw.backlog.is_empty();
        if want_write != raw.write_interest {
            raw.write_interest = want_write;
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if self
                .poll
                .registry()
                .reregister(&mut raw.stream, Token(key), interest)
                .is_err()
            {
                self.close(key);
            }
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(mut raw) = self.conns.try_remove(key) {
            let _ = self.poll.registry().deregister(&mut raw.stream);
        }
    }
}
