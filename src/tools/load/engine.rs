//! The poll loop: one `mio::Poll`, a `Slab` of simulated students, and their protocol states.
//! It opens the sockets (spread over source addresses, connects ramped or batched), reads each
//! student's output through its scanner, answers at each prompt (after a think time, or at the
//! end of a hold), counts verdicts, latencies and failures by reason, and sleeps until the
//! nearest deadline. It prints nothing: [`Engine::run`] hands back the [`Report`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::memory::MemoryWatch;
use super::report::{Latency, Progress, Report, Verdicts};
use super::scanner::{Event, Prompt, Scanner, Verdict};
use super::{CONNECTS_PER_TURN, PROGRESS_EVERY, Pattern, Plan, READ_BUFFER, name_digits};

/// Where a simulated student is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Non-blocking connect started; waiting for WRITABLE.
    Connecting,
    /// Connected; waiting for `name> `.
    Greeted,
    /// Name sent; waiting for the first `answer> `.
    Naming,
    /// At the hold point with a prompt, waiting for the release.
    Held,
    /// A prompt is waiting; the answer goes at the think timer.
    Thinking,
    /// Answer sent; waiting for the verdict and the next prompt (or `Quiz over`).
    Answered,
    /// The question's time ran out before the answer went; waiting for the next prompt.
    Skipped,
    /// Completed or failed: the connection is removed after the current read.
    Gone,
}

impl State {
    /// Past the name: counted in the quiz (and, with a hold, at the hold point).
    fn is_named(self) -> bool {
        matches!(
            self,
            State::Held | State::Thinking | State::Answered | State::Skipped
        )
    }
}

/// One simulated student. Instants are microseconds since the run started.
struct Student {
    stream: TcpStream,
    scan: Scanner,
    conn: Conn,
}

/// A student's protocol state, apart from its scanner so both can be borrowed at once.
struct Conn {
    /// The number in its name.
    number: u32,
    state: State,
    /// When the connect started, then when the last answer was written.
    mark: u32,
    /// The think timer this student has armed.
    due: u32,
    /// Answers written, for cycling through [`Pattern::Letters`].
    answered: u16,
    /// Option lines seen under the current question.
    options: u8,
    /// Answers refused in a row on this question.
    refusals: u8,
    /// Since the last answer: a verdict arrived / an `error:` line arrived.
    verdict: bool,
    refused: bool,
}

/// Everything but the connections, so a student and the tallies can be borrowed at once.
struct Ctx<'p> {
    plan: &'p Plan,
    rng: fastrand::Rng,
    nofile: u64,
    /// Think timers, earliest first: (due, slab key).
    timers: BinaryHeap<Reverse<(u32, u32)>>,
    name_line: Vec<u8>,
    /// Digits of the student number in names (the same for every student of the run).
    name_digits: usize,
    /// Connect started, `name> ` not yet seen.
    in_progress: usize,
    connected: usize,
    peak_connections: usize,
    named: usize,
    in_quiz: usize,
    completed: usize,
    failed: usize,
    failures: BTreeMap<String, usize>,
    answers: u64,
    answers_refused: u64,
    verdicts: Verdicts,
    /// Students that ended (failed, or finished) without being named: with `named` (everyone
    /// named before the release reached the hold point), the hold starts when the two add up
    /// to everyone.
    left_before_hold: usize,
    /// The hold ends at this instant (set when the hold point is reached).
    release_at: Option<u32>,
    released: bool,
    answering_from: Option<u32>,
    last_verdict: u32,
    connect_us: Vec<u32>,
    answer_us: Vec<u32>,
    /// Some student connected: a refused connect after that is no longer "nothing listens".
    any_connected: bool,
    /// The first connect was refused: nothing listens, stop.
    nothing_listens: Option<io::Error>,
}
pub(super) struct Engine<'p> {
    poll: Poll,
    students: Slab<Student>,
    /// One read buffer for every connection: each read is scanned before the next.
    buf: Box<[u8]>,
    epoch: Instant,
    /// The next student to connect.
    next_student: usize,
    ctx: Ctx<'p>,
    memory: Option<MemoryWatch>,
}

impl<'p> Engine<'p> {
    /// A run of `plan` (already checked), nothing started yet: raises the open-file limit and
    /// reads the server's memory before anyone connects.
    pub fn new(plan: &'p Plan) -> io::Result<Engine<'p>> {
        let nofile = crate::limits::raise_nofile().unwrap_or(1024);
        Ok(Engine {
            poll: Poll::new()?,
            students: Slab::with_capacity(plan.students.min(1 << 16)),
            buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
            epoch: Instant::now(),
            next_student: 0,
            ctx: Ctx {
                plan,
                rng: fastrand::Rng::with_seed(plan.seed),
                nofile,
                timers: BinaryHeap::new(),
                name_line: Vec::with_capacity(64),
                name_digits: name_digits(plan.students),
                in_progress: 0,
                connected: 0,
                peak_connections: 0,
                named: 0,
                in_quiz: 0,
                completed: 0,
                failed: 0,
                failures: BTreeMap::new(),
                answers: 0,
                answers_refused: 0,
                verdicts: Verdicts::default(),
                left_before_hold: 0,
                release_at: None,
                released: false,
                answering_from: None,
                last_verdict: 0,
                connect_us: Vec::with_capacity(plan.students),
                answer_us: Vec::new(),
                any_connected: false,
                nothing_listens: None,
            },
            memory: plan.server_pid.map(MemoryWatch::start),
        })
    }

    /// Runs to the end (see [`super::run`]).
    pub fn run(mut self, progress: &mut dyn FnMut(&Progress)) -> io::Result<Report> {
        let plan = self.ctx.plan;
        let mut events = Events::with_capacity(4096);
        let bound = plan.time_bound.as_micros() as u32;
        let mut next_progress = 0u32;
        let every = PROGRESS_EVERY.as_micros() as u32;
        loop {
            let now = self.now();
            self.start_connects(now);
            if let Some(e) = self.ctx.nothing_listens.take() {
                return Err(e);
            }
            if now >= next_progress {
                progress(&self.progress(now));
                if let Some(m) = &mut self.memory {
                    m.sample(self.ctx.connected, false);
                }
                next_progress = now.saturating_add(every);
            }
            if self.finished() {
                break;
            }
            if now >= bound {
                self.fail_everyone("time bound");
                break;
            }
            let wake = self.next_wake(now).min(next_progress).min(bound);
            let timeout = Duration::from_micros(u64::from(wake.saturating_sub(now)));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(e);
            }
            for event in events.iter() {
                // Read per event: handling a batch of thousands takes milliseconds, which
                // would otherwise land in the latencies of the batch's last students.
                let now = self.now();
                self.on_event(event.token().0, now);
            }
            if let Some(e) = self.ctx.nothing_listens.take() {
                return Err(e);
            }
            self.fire_timers(self.now());
            self.check_hold(self.now());
            if let Some(m) = &mut self.memory
                && self.next_student == plan.students
                && self.ctx.in_progress == 0
            {
                // Everyone has been greeted: about the most connections there will be.
                m.sample(self.ctx.connected, false);
            }
        }
        let now = self.now();
        progress(&self.progress(now));
        Ok(self.report(now))
    }

    fn now(&self) -> u32 {
        micros_since(self.epoch)
    }

    fn finished(&self) -> bool {
        self.ctx.completed + self.ctx.failed >= self.ctx.plan.students
    }

    /// When student `i`'s connect is due on the ramp.
    fn connect_due(&self, i: usize) -> u32 {
        let plan = self.ctx.plan;
        let ramp = plan.ramp.as_micros();
        if ramp == 0 {
            return 0;
        }
        u32::try_from(ramp * i as u128 / plan.students as u128).unwrap_or(u32::MAX)
    }

    /// The earliest instant something is due: a connect, a think timer, the release.
    fn next_wake(&self, now: u32) -> u32 {
        let plan = self.ctx.plan;
        let mut wake = u32::MAX;
        if self.next_student < plan.students && plan.batch.is_none_or(|b| self.ctx.in_progress < b)
        {
            wake = wake.min(self.connect_due(self.next_student).max(now));
        }
        if let Some(Reverse((due, _))) = self.ctx.timers.peek() {
            wake = wake.min(*due);
        }
        if let Some(at) = self.ctx.release_at
            && !self.ctx.released
        {
            wake = wake.min(at);
        }
        wake
    }

    fn start_connects(&mut self, now: u32) {
        let plan = self.ctx.plan;
        for _ in 0..CONNECTS_PER_TURN {
            if self.next_student >= plan.students
                || plan.batch.is_some_and(|b| self.ctx.in_progress >= b)
                || self.connect_due(self.next_student) > now
            {
                return;
            }
            let number = self.next_student;
            self.next_student += 1;
            self.connect(number);
        }
    }

    /// Starts a non-blocking connect for student `number`. Its connect latency runs from here
    /// (read now: a turn may start hundreds of connects, which take a while).
    fn connect(&mut self, number: usize) {
        let now = micros_since(self.epoch);
        let plan = self.ctx.plan;
        let source = (!plan.sources.is_empty()).then(|| plan.sources[number % plan.sources.len()]);
        let stream = match open_socket(plan.addr, source) {
            Ok(s) => s,
            Err((_, e)) if crate::limits::is_resource_exhaustion(&e) => {
                let limit = self.ctx.nofile;
                self.ctx.fail_unstarted(format!(
                    "socket: {} (open-file limit {limit}, raise ulimit -n)",
                    crate::text::describe_io_error(&e)
                ));
                return;
            }
            Err(("connect", e)) => return self.ctx.connect_failed(None, &e),
            Err((what, e)) => return self.ctx.fail_unstarted(io_reason(what, &e)),
        };
        let entry = self.students.vacant_entry();
        let key = entry.key();
        let mut student = Student {
            stream,
            scan: Scanner::new(),
            conn: Conn {
                number: number as u32,
                state: State::Connecting,
                mark: now,
                due: 0,
                answered: 0,
                options: 0,
                refusals: 0,
                verdict: false,
                refused: false,
            },
        };
        // Both interests once, for good: WRITABLE tells the connect finished, and keeping it
        // costs nothing with edge triggering (it fires again only after a full send buffer).
        if let Err(e) = self.poll.registry().register(
            &mut student.stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.ctx.in_progress += 1;
            self.ctx.fail(
                &mut student.conn,
                format!("register: {}", crate::text::describe_io_error(&e)),
            );
            return;
        }
        self.ctx.in_progress += 1;
        entry.insert(student);
    }

    fn on_event(&mut self, key: usize, now: u32) {
        let Engine {
            students, buf, ctx, ..
        } = self;
        // An event for a student already gone is normal.
        let Some(student) = students.get_mut(key) else {
            return;
        };
        let Student { stream, scan, conn } = student;
        if conn.state == State::Connecting {
            ctx.on_connect(stream, conn);
        }
        while conn.state != State::Connecting && conn.state != State::Gone {
            match stream.read(buf) {
                Ok(0) => {
                    ctx.fail(conn, "closed before quiz over".into());
                }
                Ok(n) => {
                    scan.feed(&buf[..n], &mut |event| {
                        ctx.on_server(stream, conn, key, event, now)
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => ctx.fail(conn, io_reason("read", &e)),
            }
        }
        if conn.state == State::Gone {
            // Closing the descriptor takes it out of the poll set; no deregister call needed.
            students.remove(key);
        }
    }

    /// Answers for every think timer that has expired.
    fn fire_timers(&mut self, now: u32) {
        while let Some(&Reverse((due, key))) = self.ctx.timers.peek() {
            if due > now {
                return;
            }
            self.ctx.timers.pop();
            let key = key as usize;
            let Some(student) = self.students.get_mut(key) else {
                continue;
            };
            let Student { stream, conn, .. } = student;
            // A timer from an earlier question (the time ran out first) is stale.
            if conn.state != State::Thinking || conn.due != due {
                continue;
            }
            self.ctx
                .answer(stream, conn, false, micros_since(self.epoch));
            if conn.state == State::Gone {
                self.students.remove(key);
            }
        }
    }

    /// Reaching the hold point starts the hold; its end releases every held student.
    fn check_hold(&mut self, now: u32) {
        let Some(hold) = self.ctx.plan.hold else {
            return;
        };
        if self.ctx.release_at.is_none()
            && self.ctx.named + self.ctx.left_before_hold >= self.ctx.plan.students
        {
            if let Some(m) = &mut self.memory {
                m.sample(self.ctx.connected, true);
            }
            let hold = u32::try_from(hold.as_micros()).unwrap_or(u32::MAX);
            self.ctx.release_at = Some(now.saturating_add(hold));
        }
        if self.ctx.released || self.ctx.release_at.is_none_or(|at| at > now) {
            return;
        }
        self.ctx.released = true;
        self.ctx.answering_from = Some(now);
        let keys: Vec<usize> = self
            .students
            .iter()
            .filter(|(_, s)| s.conn.state == State::Held)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            if let Some(Student { stream, conn, .. }) = self.students.get_mut(key) {
                self.ctx.ready(stream, conn, key, micros_since(self.epoch));
                if conn.state == State::Gone {
                    self.students.remove(key);
                }
            }
        }
    }

    /// The time bound: every student still here fails, and so does every one not started.
    fn fail_everyone(&mut self, reason: &str) {
        for (_, student) in self.students.iter_mut() {
            self.ctx.fail(&mut student.conn, reason.into());
        }
        self.students.clear();
        let never = self.ctx.plan.students - self.next_student;
        if never > 0 {
            self.next_student = self.ctx.plan.students;
            self.ctx.failed += never;
            self.ctx.left_before_hold += never;
            *self.ctx.failures.entry(reason.into()).or_default() += never;
        }
    }

    fn progress(&self, now: u32) -> Progress {
        let c = &self.ctx;
        Progress {
            students: c.plan.students,
            started: self.next_student,
            connected: c.connected,
            named: c.named,
            answering: c.in_quiz,
            completed: c.completed,
            failed: c.failed,
            answers: c.answers,
            holding: c.release_at.is_some() && !c.released,
            elapsed: Duration::from_micros(u64::from(now)),
        }
    }

    fn report(mut self, now: u32) -> Report {
        let c = &mut self.ctx;
        let answering = match c.answering_from {
            Some(from) if c.last_verdict > from => {
                Duration::from_micros(u64::from(c.last_verdict - from))
            }
            _ => Duration::ZERO,
        };
        let answers_per_sec = if answering.is_zero() {
            0.0
        } else {
            c.answers as f64 / answering.as_secs_f64()
        };
        let mut failures: Vec<(String, usize)> =
            std::mem::take(&mut c.failures).into_iter().collect();
        failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let students = c.plan.students;
        let server_memory = self.memory.as_ref().map(MemoryWatch::finish);
        Report {
            students,
            completed: c.completed,
            failed: c.failed,
            failures,
            answers: c.answers,
            answers_refused: c.answers_refused,
            verdicts: c.verdicts,
            answering,
            answers_per_sec,
            answer_latency: Latency::from_micros(&mut c.answer_us),
            connect_latency: Latency::from_micros(&mut c.connect_us),
            peak_connections: c.peak_connections,
            wall: Duration::from_micros(u64::from(now)),
            server_memory,
        }
    }
}

/// Microseconds since `epoch`, the start of the run (saturating: the time bound ends the run
/// long before).
fn micros_since(epoch: Instant) -> u32 {
    u32::try_from(epoch.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// A non-blocking TCP socket with its connect started, bound to `source` if given. An error
/// says which step failed.
fn open_socket(
    addr: SocketAddr,
    source: Option<IpAddr>,
) -> Result<TcpStream, (&'static str, io::Error)> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(|e| ("socket", e))?;
    // Answers are a few bytes and wait for nothing: never hold them back for Nagle.
    socket.set_tcp_nodelay(true).map_err(|e| ("socket", e))?;
    if let Some(ip) = source {
        bind_address_no_port(&socket).map_err(|e| ("bind", e))?;
        socket
            .bind(&SockAddr::from(SocketAddr::new(ip, 0)))
            .map_err(|e| ("bind", e))?;
    }
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(("connect", e)),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// Lets `bind(IP, 0)` leave the port to `connect`, which picks one free for the whole
/// (source, destination) pair; otherwise bind reserves a port per socket and one source address
/// stops at the size of the ephemeral range. socket2 has no call for it, hence libc.
#[cfg(target_os = "linux")]
fn bind_address_no_port(socket: &Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: the descriptor is valid for the socket's lifetime; the option value is a c_int
    // that outlives the call, and its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn bind_address_no_port(_socket: &Socket) -> io::Result<()> {
    Ok(())
}

/// A failure reason for an I/O error: the reasons a person expects for the common ones.
fn io_reason(what: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "reset".into(),
        io::ErrorKind::BrokenPipe => "closed before quiz over".into(),
        io::ErrorKind::AddrNotAvailable if what == "connect" => {
            "connect: no free local port (use more source addresses)".into()
        }
        _ => format!("{what}: {}", crate::text::describe_io_error(e)),
    }
}

impl Ctx<'_> {
    /// Counts a student's failure once and marks it gone.
    fn fail(&mut self, conn: &mut Conn, reason: String) {
        if conn.state == State::Gone {
            return;
        }
        self.leave(conn);
        self.failed += 1;
        *self.failures.entry(reason).or_default() += 1;
    }

    /// A student that never got a connection (no socket, connect refused at once).
    fn fail_unstarted(&mut self, reason: String) {
        self.left_before_hold += 1;
        self.failed += 1;
        *self.failures.entry(reason).or_default() += 1;
    }

    /// Takes a student out of every count of where students are, and marks it gone.
    fn leave(&mut self, conn: &mut Conn) {
        match conn.state {
            State::Gone => return,
            State::Connecting => self.in_progress -= 1,
            State::Greeted => {
                self.in_progress -= 1;
                self.connected -= 1;
            }
            _ => self.connected -= 1,
        }
        if conn.state.is_named() {
            self.in_quiz -= 1;
        } else {
            // With a hold, everyone named was named before the release, so a student who
            // leaves unnamed is one the hold no longer waits for.
            self.left_before_hold += 1;
        }
        conn.state = State::Gone;
    }

    /// A connect failed: the student's failure, and the end of the run when it is the first
    /// connect and was refused (nothing listens there).
    fn connect_failed(&mut self, conn: Option<&mut Conn>, e: &io::Error) {
        if e.kind() == io::ErrorKind::ConnectionRefused && !self.any_connected {
            self.nothing_listens = Some(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("cannot connect to {}: connection refused", self.plan.addr),
            ));
        }
        let reason = io_reason("connect", e);
        match conn {
            Some(conn) => self.fail(conn, reason),
            None => self.fail_unstarted(reason),
        }
    }

    /// WRITABLE (or an error) on a connecting socket: connected, failed, or not yet.
    fn on_connect(&mut self, stream: &mut TcpStream, conn: &mut Conn) {
        let error = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match stream.peer_addr() {
                Ok(_) => None,
                // Not connected yet (a spurious wake-up): wait for the next event.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => Some(e),
            },
        };
        if let Some(e) = error {
            return self.connect_failed(Some(conn), &e);
        }
        self.any_connected = true;
        conn.state = State::Greeted;
        self.connected += 1;
        self.peak_connections = self.peak_connections.max(self.connected);
    }

    /// One event from the server's output, for the student at slab `key`.
    fn on_server(
        &mut self,
        stream: &mut TcpStream,
        conn: &mut Conn,
        key: usize,
        event: Event,
        now: u32,
    ) {
        if conn.state == State::Gone {
            return;
        }
        match event {
            Event::Question { .. } => conn.options = 0,
            Event::Option(_) => conn.options = conn.options.saturating_add(1),
            Event::Verdict(kind) => {
                match kind {
                    Verdict::Correct => self.verdicts.correct += 1,
                    // Counted with the wrong ones: not full marks.
                    Verdict::Wrong | Verdict::Partly => self.verdicts.wrong += 1,
                    Verdict::TimeUp => self.verdicts.time_up += 1,
                    Verdict::Recorded => self.verdicts.recorded += 1,
                }
                self.last_verdict = self.last_verdict.max(now);
                match conn.state {
                    State::Answered => conn.verdict = true,
                    // The time ran out before the answer went: its timer is now stale.
                    State::Thinking => conn.state = State::Skipped,
                    _ => {}
                }
            }
            Event::Prompt(Prompt::Name) => match conn.state {
                State::Greeted => {
                    // Out of the connecting count before the send, which may fail (and then
                    // `leave` must not count the student out of it a second time).
                    self.in_progress -= 1;
                    conn.state = State::Naming;
                    self.connect_us.push(now.saturating_sub(conn.mark));
                    self.name_line.clear();
                    let digits = self.name_digits;
                    let _ = write!(
                        self.name_line,
                        "{}-{:0digits$}\r\n",
                        self.plan.name_prefix, conn.number
                    );
                    if let Err(reason) = send(stream, &self.name_line) {
                        self.fail(conn, reason);
                    }
                }
                _ => self.fail(conn, "protocol: name prompt after the name".into()),
            },
            Event::Prompt(Prompt::Answer) => self.on_answer_prompt(stream, conn, key, now),
            // A question's time ran out: Enter for the next one.
            Event::Prompt(Prompt::Next) => {
                if let Err(reason) = send(stream, b"\r\n") {
                    self.fail(conn, reason);
                }
            }
            // The name is held by an attempt in progress (an earlier run that did not finish):
            // fail now rather than wait for the server's name timeout.
            Event::Prompt(Prompt::Code) => self.fail(
                conn,
                "name in use by an attempt in progress (use another --name-prefix)".into(),
            ),
            Event::QuizOver { .. } => {
                if conn.state == State::Answered {
                    self.answer_us.push(now.saturating_sub(conn.mark));
                }
                // Whatever the server still does (it closes) is no failure of ours: the
                // connection is closed now, which it sees as the student hanging up.
                self.leave(conn);
                self.completed += 1;
            }
            Event::ServerFull => self.fail(conn, "server full".into()),
            Event::Error(line) => match conn.state {
                State::Naming => {
                    let line = String::from_utf8_lossy(line);
                    self.fail(conn, format!("name refused: {line}"));
                }
                State::Answered if !conn.verdict => conn.refused = true,
                // Other errors (an idle timeout, say) come before the server closes; the
                // close is what counts.
                _ => {}
            },
        }
    }

    fn on_answer_prompt(&mut self, stream: &mut TcpStream, conn: &mut Conn, key: usize, now: u32) {
        match conn.state {
            State::Naming => {
                self.named += 1;
                self.in_quiz += 1;
                // Named from here on, whatever happens to the answer (see `leave`).
                conn.state = State::Thinking;
                if self.plan.hold.is_some() && !self.released {
                    conn.state = State::Held;
                    return;
                }
            }
            // A new question arrived during the hold (the server's clock ran out).
            State::Held => return,
            State::Answered if conn.verdict => {
                self.answer_us.push(now.saturating_sub(conn.mark));
                conn.refusals = 0;
            }
            State::Answered if conn.refused => {
                self.answers_refused += 1;
                conn.refusals += 1;
                if conn.refusals >= 2 {
                    return self.fail(conn, "answer refused twice".into());
                }
                // The first letter is always offered.
                return self.answer(stream, conn, true, now);
            }
            State::Skipped => {}
            _ => {
                return self.fail(
                    conn,
                    "protocol: answer prompt without a verdict or error".into(),
                );
            }
        }
        self.ready(stream, conn, key, now);
    }

    /// A prompt is waiting and answering is allowed: answer now, or arm the think timer.
    /// `key` is the student's slab key, for the timer.
    fn ready(&mut self, stream: &mut TcpStream, conn: &mut Conn, key: usize, now: u32) {
        let (min, max) = self.plan.think;
        if max.is_zero() {
            return self.answer(stream, conn, false, now);
        }
        let think = self
            .rng
            .u64(min.as_micros() as u64..=max.as_micros() as u64);
        let due = now.saturating_add(u32::try_from(think).unwrap_or(u32::MAX));
        conn.state = State::Thinking;
        conn.due = due;
        self.timers.push(Reverse((due, key as u32)));
    }

    /// Writes one answer: the pattern's letter, `a` on a retry, `1` when no options were shown.
    fn answer(&mut self, stream: &mut TcpStream, conn: &mut Conn, retry: bool, now: u32) {
        let letter = if retry {
            b'a'
        } else if conn.options == 0 {
            b'1'
        } else {
            match &self.plan.answers {
                Pattern::Random => b'a' + self.rng.u8(0..conn.options.min(26)),
                Pattern::Letters(letters) => letters[usize::from(conn.answered) % letters.len()],
            }
        };
        if let Err(reason) = send(stream, &[letter, b'\r', b'\n']) {
            return self.fail(conn, reason);
        }
        if !retry {
            conn.answered = conn.answered.wrapping_add(1);
        }
        self.answers += 1;
        self.answering_from.get_or_insert(now);
        conn.mark = now;
        conn.state = State::Answered;
        conn.verdict = false;
        conn.refused = false;
    }
}

/// One `write` of a whole line. The socket's send buffer is empty when a student writes (the
/// server has replied to everything before), so anything short of all of it means the server
/// stopped reading.
fn send(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    loop {
        return match stream.write(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(_) => Err("write: short write (the server does not read)".into()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err("write: send buffer full (the server does not read)".into())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(io_reason("write", &e)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_student_state_stays_small() {
        // Kept in mind for 19,000 students: the scanner's carried line is empty (no heap)
        // between server messages.
        assert!(
            std::mem::size_of::<Student>() <= 64,
            "{}",
            std::mem::size_of::<Student>()
        );
    }
}
