//! The server's settings: what `main` builds from the command line, and tests build directly.

use std::path::PathBuf;
use std::time::Duration;

use crate::quiz::Quiz;

/// Everything [`crate::Server::bind`] needs.
#[derive(Debug)]
pub struct Config {
    /// Student port, `HOST:PORT` (a name is resolved; the first address is used).
    pub listen: String,
    /// The quiz to serve.
    pub quiz: Quiz,
    /// The results CSV (appended to).
    pub results: PathBuf,
    /// Most students connected at once; `None`: what the open-file limit allows.
    pub max_clients: Option<usize>,
    /// Most student connections from one address at once; `None`: no limit.
    pub max_per_address: Option<usize>,
    /// Output allowed to wait for a client that does not read before it is closed.
    pub output_cap: usize,
    /// How long a finished connection may take to receive its last lines and close before the
    /// server closes it anyway.
    pub linger: Duration,
    /// Stop on SIGINT/SIGTERM (the binary); tests stop through a [`crate::Handle`].
    pub handle_signals: bool,
    /// How often a summary line is logged at info level (only when something happened).
    pub summary_every: Duration,
    /// The teacher console's address, `HOST:PORT`; `None`: no console.
    pub admin_listen: Option<String>,
    /// The projector board's address (a read-only web page, [`crate::board`]); `None`: none.
    pub board_listen: Option<String>,
    /// The token a teacher types at the console.
    pub admin_token: String,
    /// How long a console may take to give the token before it is closed.
    pub token_timeout: Duration,
    /// The bank files the quiz came from (empty: the bundled bank), for `reload`.
    pub banks: Vec<PathBuf>,
    /// A title that replaces the bank's, kept across `load` and `reload`.
    pub title: Option<String>,
    /// The journal ([`crate::journal`]); `None`: none (`--journal off`).
    pub journal: Option<PathBuf>,
    /// When the journal is forced to the disk.
    pub journal_sync: crate::journal::Sync,
    /// Attempts a journal holds from another bank are recorded as interrupted and the server
    /// starts afresh (without it, it refuses to start).
    pub journal_fresh: bool,
}

/// The journal's default place for `results`: beside it (`results.csv.journal`), or none when
/// the results go to a device such as `/dev/null` (nothing is kept, so nothing to recover).
pub fn default_journal(results: &std::path::Path) -> Option<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(results) {
        Ok(meta) if meta.file_type().is_char_device() || meta.file_type().is_fifo() => None,
        _ => Some(crate::journal::Journal::beside(results)),
    }
}

impl Config {
    /// Settings with the defaults the binary uses, for `quiz`.
    pub fn new(listen: impl Into<String>, quiz: Quiz, results: impl Into<PathBuf>) -> Config {
        let results = results.into();
        Config {
            listen: listen.into(),
            quiz,
            journal: default_journal(&results),
            journal_sync: crate::journal::Sync::Always,
            journal_fresh: false,
            results,
            max_clients: None,
            max_per_address: Some(crate::limits::MAX_PER_ADDRESS),
            output_cap: crate::limits::OUTPUT_CAP,
            linger: crate::limits::LINGER,
            handle_signals: false,
            summary_every: Duration::from_secs(60),
            admin_listen: None,
            board_listen: None,
            admin_token: crate::random::Secrets::Os.token(),
            token_timeout: crate::limits::TOKEN_TIMEOUT,
            banks: Vec::new(),
            title: None,
        }
    }
}
