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
//! - [`session`]: one student's quiz state machine (pure).
//! - [`results`]: the results CSV, one row per attempt, written when the attempt ends.
//! - [`limits`]: raising the open-file limit and the defaults derived from it.
//! - [`baseline`]: a raw mio server with quizd's shape and bytes but no quiz logic; the ceiling
//!   the benches and load runs measure quizd against.
//! - [`load`]: the load generator's engine (simulated students over TCP), for `quizd-load` and
//!   the benches.

pub mod bank;
pub mod baseline;
pub mod config;
pub mod conn;
pub mod limits;
pub mod load;
pub mod quiz;
pub mod results;
pub mod server;
pub mod session;
pub mod telnet;

pub use config::Config;
pub use server::{Handle, Server, StartError};

/// An OS error in plain words, without Rust's "(os error 98)".
pub fn describe_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".into(),
        std::io::ErrorKind::AddrNotAvailable => "address not available on this machine".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_lowercase(),
                None => text,
            }
        }
    }
}

/// Characters that print nothing but can reorder or hide text in other people's terminals and
/// spreadsheets: kept out of names and recorded answers.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
            | '\u{fffd}')
}
