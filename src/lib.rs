//! quizd: a classroom quiz server that a whole class reaches with plain `telnet`.
//!
//! One thread, one `mio` poll loop. Everything a student experiences is decided by pure code
//! that is handed bytes, lines and the current instant; only `server` touches sockets.
//!
//! Modules, in data-flow order:
//! - [`config`]: the server's settings (what `main` builds from the command line).
//! - [`bank`]: the question model, grading, and the bank parsers, with `FILE:LINE:` problems.
//! - [`quiz`]: a bank plus the quiz settings, prepared once and shared by every session.
//! - [`server`]: the poll loop: accept, read, feed, write, timers, signals, close sweep.
//! - [`conn`]: one connection's socket, decoder, output buffer and session.
//! - [`telnet`]: bytes in, telnet replies and input lines out; state survives split reads.
//! - [`live`]: the teacher-paced game every student shares (pure): phases, tallies, ranks.
//! - [`session`]: one student's quiz state machine (pure).
//! - [`admin`]: one teacher's console: token, commands, uploads, and the text of its replies
//!   (pure).
//! - [`results`]: the results CSV, one row per attempt, written when the attempt ends.
//! - [`limits`]: raising the open-file limit and the defaults derived from it.
//! - [`tools`]: the load generator and the raw baseline quizd is measured against; in the crate
//!   to share its socket code and wire text, outside the server's code path.

pub mod bank;
pub mod config;
pub mod conn;
pub mod console;
pub mod limits;
pub mod quiz;
pub mod random;
pub mod results;
pub mod room;
pub mod server;
pub mod telnet;
pub mod text;
pub mod tools;
pub mod wire;

pub use config::Config;
pub use server::{Handle, Server, StartError};
