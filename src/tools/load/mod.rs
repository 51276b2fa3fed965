//! The load generator: thousands of simulated students against one quizd, from one thread, so
//! a benchmark measures the server and not the client.
//!
//! One `mio::Poll` and a `Slab` of connections, as in the server. Each student speaks the real
//! protocol and acts only on its anchors (see `PROTOCOL.md`): it waits for `name> `, sends a
//! unique name, counts the options under each `Question I of N`, answers at `answer> ` (after
//! an optional think time), reads the verdict, and is done at `Quiz over`. Nothing sleeps to
//! guess: the loop sleeps until the nearest deadline (think timers, the next connect of a ramp,
//! the end of a hold, the time bound, the next progress report).
//!
//! It is built to be cheap, because it shares the machine with the server it measures: one
//! shared read buffer, a few dozen bytes per student plus a partial-line buffer that is empty
//! between server messages, one `write` per answer from bytes on the stack, and the name line
//! formatted into one reused buffer.
//!
//! This module is the public side: what to run ([`Plan`], [`Pattern`]), the generator's own
//! bounds, and [`run`], which prints nothing and hands back a [`Report`]; [`compare`] does the
//! same for two servers in alternating rounds. The parts:
//! - `scanner`: the pure part: bytes in, protocol events out, whatever way the reads were split.
//! - `engine`: the poll loop: connects, reads, answers, think timers, the hold, failures.
//! - `report`: what a run measured ([`Report`], [`Latency`], [`Verdicts`], [`Progress`]) and
//!   its JSON.
//! - `render`: the same for a person: [`Report::human`], [`Report::one_line`],
//!   [`Progress::status_line`].
//! - `compare`: two servers in alternating rounds, and their medians side by side
//!   ([`Comparison`]).
//! - `memory`: the server's memory, sampled from `/proc` as the run goes ([`ServerMemory`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::limits::MAX_NAME_CHARS;
use render::group;

mod compare;
mod engine;
pub mod memory;
mod render;
mod report;
mod scanner;

pub use compare::{CompareEvent, Comparison, RunError, compare, round_line};
pub use report::{Latency, Progress, Report, ServerMemory, Verdicts, json_string};

// The generator's own bounds. The server's (the descriptor reserve, the longest name) are in
// `crate::limits` and are used from there.

/// Longest time bound: instants are kept as `u32` microseconds since the start (71 minutes),
/// which keeps per-student state small.
pub const MAX_TIME_BOUND: Duration = Duration::from_secs(3600);
/// How often the progress callback is called, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Connects started per loop turn, so a burst of 19,000 does not keep replies to the first
/// ones unread for the half second the `connect` calls take.
const CONNECTS_PER_TURN: usize = 256;
/// The shared read buffer. A whole question with its prompt is well under 1 KiB.
const READ_BUFFER: usize = 64 * 1024;
/// From this many students on, a run from one source address gets a note suggesting several.
const ONE_SOURCE_NOTE: usize = 5000;

/// How simulated students choose their answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// A letter drawn uniformly from those the question offers.
    Random,
    /// These letters in turn (the student's first answer takes the first letter, and so on),
    /// whether offered or not: `"a"` always answers a; a letter past the question's last option
    /// is refused by the server and then answered with `a` (counted as refused).
    Letters(Vec<u8>),
}

/// What to run: who connects where, how fast, and how they answer.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The quizd student port.
    pub addr: SocketAddr,
    /// Simulated students, each one connection with a unique name.
    pub students: usize,
    /// Local addresses to connect from, in turn (empty: the OS chooses). Each address has its
    /// own ephemeral ports toward one server port, so K addresses allow K times as many
    /// connections (on Linux, any of 127.0.0.0/8 works without setup).
    pub sources: Vec<IpAddr>,
    /// Connects start evenly spread over this time; zero starts them all at once (a burst).
    pub ramp: Duration,
    /// At most this many connections in progress at once (connect started, `name> ` not yet
    /// seen).
    pub batch: Option<usize>,
    /// Hold: nobody answers until every student has its first `answer> ` prompt (or failed),
    /// then all wait this long, then all answer. Measures a clean answering phase, and the
    /// server's memory with everyone connected. The server's time limit must be longer than
    /// the whole hold (`quizd -t 0`: no limit).
    pub hold: Option<Duration>,
    pub answers: Pattern,
    /// Think time before each answer, uniform in `think.0..=think.1`.
    pub think: (Duration, Duration),
    /// At this time after the start, every student still in progress fails (`time bound`)
    /// and the report is made anyway. At most [`MAX_TIME_BOUND`].
    pub time_bound: Duration,
    /// Names are `PREFIX-000123`; a different prefix per generator keeps names unique when
    /// several run against one server.
    pub name_prefix: String,
    /// Seeds answer choices and think times.
    pub seed: u64,
    /// The server's process id, to report its memory (Linux `/proc`).
    pub server_pid: Option<u32>,
}

impl Plan {
    /// A burst of `students` from one address answering at random without thinking, bounded
    /// at 300 s.
    pub fn new(addr: SocketAddr, students: usize) -> Plan {
        Plan {
            addr,
            students,
            sources: Vec::new(),
            ramp: Duration::ZERO,
            batch: None,
            hold: None,
            answers: Pattern::Random,
            think: (Duration::ZERO, Duration::ZERO),
            time_bound: Duration::from_secs(300),
            name_prefix: "load".into(),
            seed: 0,
            server_pid: None,
        }
    }

    /// Why this plan cannot run, in words for the person who wrote it.
    pub fn check(&self) -> Result<(), String> {
        if self.students == 0 {
            return Err("at least one student is needed".into());
        }
        if let Some(src) = self
            .sources
            .iter()
            .find(|s| s.is_ipv4() != self.addr.is_ipv4())
        {
            return Err(format!(
                "source address {src} cannot reach {} (IPv4 and IPv6 mixed)",
                self.addr
            ));
        }
        if self.batch == Some(0) {
            return Err("a batch of 0 connections would never start".into());
        }
        if self.think.0 > self.think.1 {
            return Err("think time: the minimum is over the maximum".into());
        }
        if self.time_bound.is_zero() || self.time_bound > MAX_TIME_BOUND {
            return Err(format!(
                "the time bound must be over 0 and at most {} s",
                MAX_TIME_BOUND.as_secs()
            ));
        }
        for (what, span) in [("the hold", self.hold), ("the ramp", Some(self.ramp))] {
            if span.is_some_and(|span| span >= self.time_bound) {
                return Err(format!(
                    "{what} is as long as the time bound ({} s), so every student would fail: raise --time-bound",
                    self.time_bound.as_secs_f64()
                ));
            }
        }
        if let Pattern::Letters(letters) = &self.answers
            && (letters.is_empty() || !letters.iter().all(u8::is_ascii_lowercase))
        {
            return Err("answer letters must be one or more of a to z".into());
        }
        let prefix = &self.name_prefix;
        let longest = name_digits(self.students) + 1 + prefix.chars().count();
        if prefix.is_empty()
            || prefix.starts_with('/')
            || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err("the name prefix must be visible characters, not starting with '/'".into());
        }
        if longest > MAX_NAME_CHARS {
            return Err(format!(
                "names would be {longest} characters; quizd takes at most {MAX_NAME_CHARS} (shorten the prefix)"
            ));
        }
        Ok(())
    }

    /// Advice for a plan that runs but would run better from several source addresses: many
    /// students from one address, in words for the person who wrote it.
    pub fn one_source_note(&self) -> Option<String> {
        if self.sources.len() > 1 || self.students < ONE_SOURCE_NOTE {
            return None;
        }
        // Measured: 19,000 students from one address spend twice the generator's CPU, most of
        // it in the kernel's search for a free port, and the range may run out altogether.
        let ports = local_ports().map_or(String::new(), |p| format!(" (of {})", group(p as u64)));
        Some(format!(
            "with {} students from one source address, each connect searches for a free local port{ports}; --sources 4 makes connecting much cheaper",
            group(self.students as u64)
        ))
    }
}

/// The size of the ephemeral port range (Linux), which bounds connections from one address to
/// one server port.
fn local_ports() -> Option<usize> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = range.split_whitespace().map(|n| n.parse::<usize>().ok());
    let (lo, hi) = (it.next()??, it.next()??);
    Some(hi.saturating_sub(lo) + 1)
}

/// Digits in the student number of names: at least 6, more for a million students.
fn name_digits(students: usize) -> usize {
    students.saturating_sub(1).to_string().len().max(6)
}

/// The open-file limit, raised to the hard limit, minus [`crate::limits::FD_RESERVE`]: the
/// most students one run can hold. The generator keeps back the server's own reserve, for the
/// poll instance, stdio, `/proc` reads and an in-process server's listener in tests.
pub fn capacity() -> io::Result<usize> {
    Ok(crate::limits::default_max_clients(
        crate::limits::raise_nofile()?,
    ))
}

/// Runs the plan to the end: every student completed or failed, or the time bound passed.
/// Calls `progress` at most four times a second, and once at the end.
///
/// Errors: an invalid plan (`InvalidInput`), no poll instance, or the very first connect
/// refused (`ConnectionRefused`: nothing listens at the address, so nothing is measured).
/// Everything else that goes wrong is a student's failure, counted by reason in the report.
pub fn run(plan: &Plan, progress: &mut dyn FnMut(&Progress)) -> io::Result<Report> {
    plan.check()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    engine::Engine::new(plan)?.run(progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_that_cannot_run_are_explained() {
        let addr: SocketAddr = "127.0.0.1:9999".parse().expect("address");
        assert_eq!(Plan::new(addr, 10).check(), Ok(()));
        let mut p = Plan::new(addr, 0);
        assert!(p.check().is_err());
        p = Plan::new(addr, 10);
        p.sources = vec!["::1".parse().expect("v6")];
        assert!(p.check().unwrap_err().contains("IPv4 and IPv6"));
        p = Plan::new(addr, 10);
        p.name_prefix = "x".repeat(30);
        assert!(p.check().unwrap_err().contains("shorten the prefix"));
        p.name_prefix = "/quit".into();
        assert!(p.check().is_err());
        p = Plan::new(addr, 10);
        p.answers = Pattern::Letters(b"A".to_vec());
        assert!(p.check().is_err());
        p = Plan::new(addr, 10);
        p.think = (Duration::from_secs(2), Duration::from_secs(1));
        assert!(p.check().is_err());
        p = Plan::new(addr, 10);
        p.batch = Some(0);
        assert!(p.check().unwrap_err().contains("batch of 0"));
        p = Plan::new(addr, 10);
        p.time_bound = Duration::ZERO;
        assert!(p.check().unwrap_err().contains("time bound must be over 0"));
        p.time_bound = MAX_TIME_BOUND + Duration::from_secs(1);
        assert!(p.check().is_err());
        p = Plan::new(addr, 10);
        p.time_bound = Duration::from_secs(10);
        p.hold = Some(Duration::from_secs(10));
        assert!(p.check().unwrap_err().starts_with("the hold is as long as"));
        p.hold = None;
        p.ramp = Duration::from_secs(30);
        assert!(p.check().unwrap_err().starts_with("the ramp is as long as"));
    }

    #[test]
    fn thousands_of_students_from_one_address_get_a_note() {
        let addr: SocketAddr = "127.0.0.1:9999".parse().expect("address");
        assert_eq!(Plan::new(addr, 4_999).one_source_note(), None);
        let mut p = Plan::new(addr, 19_000);
        let note = p.one_source_note().expect("a note");
        assert!(
            note.starts_with("with 19,000 students from one source address, each connect searches for a free local port"),
            "{note}"
        );
        assert!(note.ends_with("; --sources 4 makes connecting much cheaper"));
        p.sources = vec!["127.0.0.1".parse().expect("v4")];
        assert!(p.one_source_note().is_some());
        p.sources.push("127.0.0.2".parse().expect("v4"));
        assert_eq!(p.one_source_note(), None);
    }
}
