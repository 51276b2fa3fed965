//! quizd: a classroom quiz server that a whole class reaches with plain `telnet`.
//!
//! One thread, one `mio` poll loop. Everything a student or a teacher experiences is decided by
//! pure code that is handed lines and the current instant and answers through a small sink;
//! only `server` and `conn` touch sockets, and nothing pure reads the clock or the OS's
//! randomness itself.
//!
//! Modules, in data-flow order (bytes in at the top, rows out at the bottom):
//! - [`config`]: the server's settings (what `main` builds from the command line).
//! - [`bank`]: the question model, grading, and the Aiken and GIFT parsers, with `FILE:LINE:`
//!   problems.
//! - [`quiz`]: a bank plus the quiz settings, prepared once (the bytes of every question) and
//!   shared by every attempt.
//! - [`server`]: the poll loop: accept and back off, register, read, timers, signals, shutdown,
//!   the close sweep, the summary line.
//! - [`conn`]: the connections: one socket's buffers and lingering close; the room's sink over
//!   all of them.
//! - [`telnet`]: bytes in, telnet replies and input lines out; state survives split reads.
//! - [`room`]: the class, pure: every connection's state machine and what they share. Inside:
//!   `roster` (attempts in progress), `session` (one student), `live` (the teacher-paced game
//!   and its scoring), `teacher` (what each console command does), `shared`.
//! - [`console`]: one teacher's console, pure: token, uploads, the command grammar, and the text
//!   of its replies.
//! - [`wire`]: the protocol's fixed text (prompts, anchors, verdict and final lines), for
//!   everyone who speaks it.
//! - [`text`]: small text helpers: sanitising, name rules, percentages, ordinals, units.
//! - [`random`]: the OS's secure randomness for secrets; seeded generators for the rest.
//! - [`results`]: the results CSV, one row per attempt, written when the attempt ends.
//! - [`journal`]: the crash journal: what changed, on disk before the turn's replies; replayed
//!   at start-up after a crash (the room's side is `room/journal.rs`).
//! - [`limits`]: every limit, with the README's Limits table; the open-file limit.
//! - [`tools`]: the load generator and the raw baseline quizd is measured against; in the crate
//!   to share its socket code and wire text, outside the server's code path.
//!
//! Where to go for:
//! - a new console command: its grammar in `console/grammar.rs` (a `Request` variant, a parse
//!   arm, a `HELP` line), what it does in `room/teacher.rs` (one apply arm), a test in
//!   `room/tests.rs`;
//! - live scoring: `room/live.rs` (`points`, `rank`, `leaderboard`, `results`);
//! - a new bank format: `bank/` (a parser beside `aiken.rs` and `gift.rs`, chosen in
//!   `bank/mod.rs`);
//! - a new limit: `limits.rs` (the constant, its reason, its row of the README's table), then the
//!   check at its door.

pub mod bank;
pub mod board;
pub mod config;
pub mod conn;
pub mod console;
pub mod journal;
pub mod limits;
pub mod quiz;
pub mod random;
pub mod report;
pub mod results;
pub mod room;
pub mod server;
pub mod telnet;
pub mod text;
pub mod tools;
pub mod wire;

pub use config::Config;
pub use server::{Handle, Server, StartError};
