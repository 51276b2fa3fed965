//! Every limit quizd enforces, in one place: its value, why it is that, and the row of the
//! README's "Limits" table it matches ([`table`], checked against the README by a test).
//!
//! A limit is a door's promise that no input can make the one thread wait, spin or grow without
//! bound. Each has a clear line for the client, a log line for the teacher and a counter (see
//! the README). To add one: a `const` here with its reason, a row in [`table`] and in the
//! README, the check where the door is (`server.rs` for sockets, `room/` for what people type,
//! `console/` for the teacher's console, `bank/` for files), and a test that hits it.
//!
//! This module also raises the open-file limit at start, since that limit decides how many
//! students fit.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

// --- Connections -------------------------------------------------------------------------

/// Descriptors kept back from students: the listeners, the poll instance, the signal pipe, the
/// results file, log output, and room to accept (and refuse) a connection when full.
pub const FD_RESERVE: u64 = 32;
/// Student connections one address may hold at once (`--max-per-address`): a lab, one machine
/// per student, never notices, and a class behind one NAT of up to this many neither; one
/// machine cannot take the seats of the class.
pub const MAX_PER_ADDRESS: usize = 50;

/// The address every per-address limit counts by: an IPv4 address as it is (also when it
/// arrives IPv4-mapped on an IPv6 socket), an IPv6 address by its /64, the block one home or
/// lab network gets, so one machine cannot pass for thousands by picking addresses from it.
pub fn address_of(peer: SocketAddr) -> IpAddr {
    match peer.ip() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}
/// Requested listen backlog: a whole year group arriving in the same second waits in the
/// kernel instead of being refused. Linux caps it at `net.core.somaxconn` (4096 by default).
pub const LISTEN_BACKLOG: i32 = 4096;
/// Most connections accepted (or refused) per door per loop turn: a flood of connects waits
/// in the backlog for the next turn, in turn with everyone's input, and cannot hold the loop
/// in `accept`.
pub const ACCEPT_BUDGET: usize = 256;
/// First pause after accept fails for lack of descriptors; doubles up to [`ACCEPT_PAUSE_MAX`].
pub const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(50);
pub const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);
/// Most bytes read from one connection per loop turn, so one fast sender cannot starve the rest.
pub const READ_BUDGET: usize = 64 * 1024;
/// Most input lines a student's connection hands to the room per loop turn: a student types
/// one line at a time, so a flood of lines (a paste, a script, an attack) waits its turn with
/// every other connection instead of holding the thread.
pub const STUDENT_LINES_PER_TURN: usize = 8;
/// The same for a console, which may paste a bank (`upload`).
pub const CONSOLE_LINES_PER_TURN: usize = 64;
/// A connection whose unsent output is above this is not read from until it drains, so a
/// client that does not read stops being served (and stops growing its output), not the others.
pub const OUTPUT_WATERMARK: usize = 16 * 1024;
/// Output allowed to wait for a student who does not read; over it, the client is closed.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// The same for a teacher's console, where one `results` reply may be large.
pub const CONSOLE_OUTPUT_CAP: usize = 16 * 1024 * 1024;
/// Output waiting for all connections together; beyond it, any connection past
/// [`OUTPUT_WATERMARK`] is closed as if over its cap. 20,000 clients each just under their cap
/// would otherwise hold 1.3 GB; students who keep up hold next to nothing.
pub const TOTAL_OUTPUT_BUDGET: usize = 64 * 1024 * 1024;
/// Kernel socket buffers of a student's connection, `(send, receive)`, in bytes as asked of
/// `setsockopt` (Linux doubles them for its bookkeeping). A question and its options are a few
/// hundred bytes and an answer a few; without a size, the kernel grows the buffers of a client
/// that does not read to megabytes.
pub const STUDENT_BUFFERS: (usize, usize) = (8 * 1024, 4 * 1024);
/// The same for a console, which receives `results` and sends uploads.
pub const CONSOLE_BUFFERS: (usize, usize) = (256 * 1024, 256 * 1024);
/// How long a finished connection may take to receive its last lines and close.
pub const LINGER: Duration = Duration::from_secs(5);
/// Time given at shutdown for the last lines to reach everyone.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);
/// How often rows that could not be written to the results file (disk full, the file's
/// directory gone) are tried again while nothing else happens: often enough that rows reach
/// the disk soon after room is made, rarely enough that a failing disk costs nothing.
pub const RESULTS_RETRY: Duration = Duration::from_secs(5);
/// The loop's shared output buffer is shrunk back to this after a burst (one client's flood of
/// lines can make it large for a moment).
pub const OUT_KEEP: usize = 64 * 1024;

// --- What a student types ----------------------------------------------------------------

/// Longest input line, in bytes of decoded data (terminator excluded); longer lines are
/// refused with an error and the connection stays.
pub const MAX_LINE: usize = 1024;
/// How long a new connection may take to give a name (or a resume code).
pub const NAME_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Shortest gap between two `/ask` messages under one name, so nobody can flood the teacher's
/// screen.
pub const ASK_INTERVAL: Duration = Duration::from_secs(10);
/// `/ask` messages from one address per [`ASK_INTERVAL`], names or not: reconnecting, or
/// asking before giving a name, gets no more.
pub const ASKS_PER_ADDRESS: u32 = 5;
/// `/ask` messages from everyone together per [`ASK_INTERVAL`]: a teacher reads a few lines a
/// second at most, and many addresses must not flood the console either.
pub const ASKS_PER_INTERVAL: u32 = 30;
/// Longest message passed from one person to others (a teacher's `say` / `tell`, a student's
/// `/ask`), in characters after sanitising; longer text is cut with `…`.
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Wrong resume codes allowed on one connection before it is closed.
pub const MAX_CODE_TRIES: u8 = 3;
/// Resume codes: this many characters from a 31-letter alphabet (31^6, about 887 million).
pub const CODE_LEN: usize = 6;
/// Wrong resume codes for one name, from any number of connections, before each further try
/// must wait ([`CODE_BACKOFF`]): a student who mistypes a few times never notices, a guesser
/// gets about ten tries in ten minutes.
pub const FREE_CODE_TRIES: u32 = 5;
/// The first wait after [`FREE_CODE_TRIES`] wrong codes for a name; each further wrong code
/// doubles it, up to [`CODE_BACKOFF_MAX`]. The teacher's `code NAME` ends the wait.
pub const CODE_BACKOFF: Duration = Duration::from_secs(15);
pub const CODE_BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// Addresses whose wrong codes are counted apart for one name; beyond them, the others share
/// one count (a guesser with many addresses slows itself down, not the rightful student).
pub const CODE_ADDRESSES: usize = 16;
/// Names whose attempts at a quiz are counted (for `--attempts`): beyond this many, attempts
/// under new names are not counted, so throw-away names cannot grow memory without bound (an
/// entry is some 40 bytes).
pub const MAX_NAMES_COUNTED: usize = 1_000_000;
/// Attempts waiting for a student who dropped, in all; beyond this, one that drops is recorded
/// at once (the seats waiting were there first). With the per-address quota
/// (`--max-per-address`), connect-answer-drop cycles cannot grow memory without bound, nor push
/// out the class's seats.
pub const MAX_PARKED_SEATS: usize = 20_000;

// --- The teacher console -----------------------------------------------------------------

/// Most teacher consoles open at once.
pub const MAX_TEACHERS: usize = 16;
/// Most console sockets at once, those still closing included: a console that never gave the
/// token is closed at once, but one that did is given time to take its last lines, and a
/// stream of either must not use up the descriptors the students need.
pub const MAX_CONSOLE_SOCKETS: usize = 2 * MAX_TEACHERS;
/// How long a console may take to give the token: enough to copy it from the log and type
/// it, short enough that silent connections do not hold console slots (and when all slots are
/// taken, the oldest connection still without a token makes room for a new one).
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Shortest console token a teacher may choose (`--admin-token`, `QUIZD_ADMIN_TOKEN`).
pub const MIN_TOKEN_CHARS: usize = 8;
/// Wrong tokens, from any console, before each further try must wait ([`TOKEN_BACKOFF`],
/// doubling up to [`TOKEN_BACKOFF_MAX`]); forgotten after [`TOKEN_FAILURE_MEMORY`] without one.
pub const FREE_TOKEN_TRIES: u32 = 5;
pub const TOKEN_BACKOFF: Duration = Duration::from_secs(1);
pub const TOKEN_BACKOFF_MAX: Duration = Duration::from_secs(30);
pub const TOKEN_FAILURE_MEMORY: Duration = Duration::from_secs(600);
/// Addresses whose wrong tokens are counted apart; beyond them, the others share one count.
pub const TOKEN_ADDRESSES: usize = 4096;
/// Wrong tokens before the console closes the connection.
pub const MAX_TOKEN_TRIES: u32 = 3;
/// Largest uploaded bank, in bytes of the file (one `\n` per line counted). It is parsed on the
/// loop's one thread: measured in a release build here, the worst 1 MiB bank (one-line GIFT
/// true/false questions) parses and prepares in about 55 ms, a real 1 MiB GIFT bank (some 5,000
/// questions) in 13 ms; at 4 MiB the worst took 270 ms.
pub const MAX_UPLOAD_BYTES: usize = 1024 * 1024;
/// Longest upload name, in characters.
pub const MAX_UPLOAD_NAME_CHARS: usize = 64;
/// Longest line shown unasked on a console (a name, an address and a message), in characters.
pub const MAX_NOTICE_CHARS: usize = 400;
/// Most of the results file the console's `results` shows: the last rows that fit (the file is
/// read on the loop's thread, and may hold many runs).
pub const MAX_RESULTS_SHOWN: u64 = 1024 * 1024;
/// Most rows `top N` may ask for.
pub const MAX_TOP: usize = 100;

// --- Banks and quizzes -------------------------------------------------------------------

/// Answers one short-answer or numeric question may list: checking each against those before
/// it (a duplicate, an overlap) grows with their square, and a bank is read on the server's
/// one thread.
pub const MAX_ANSWERS: usize = 100;

/// The journal is rewritten as a snapshot of what is open once it is over this size (and
/// twice its last snapshot): it never grows without bound over a day of quizzes.
pub const JOURNAL_COMPACT: u64 = 64 * 1024 * 1024;
/// Space reserved past the journal's end, so that appending does not allocate each turn and
/// a disk filling up meets the reservation, not a record.
pub const JOURNAL_PREALLOCATE: u64 = 4 * 1024 * 1024;
/// Records kept in memory while the disk refuses them (then given up, with an error: the
/// results file still gets every row).
pub const JOURNAL_BACKLOG_MAX: usize = 64 * 1024 * 1024;
/// The largest journal read at start-up (compaction keeps real ones far smaller).
pub const JOURNAL_MAX_READ: u64 = 1024 * 1024 * 1024;

/// Largest bank file read, in bytes (a 100,000-question bank is ~15 MB).
pub const MAX_BANK_BYTES: u64 = 64 * 1024 * 1024;
/// Largest bank, all its files together, read while students are being served (the console's
/// `load` and `reload`): the loop parses it on its one thread, and a bank switch should stall
/// students by at most about 100 ms (see [`MAX_UPLOAD_BYTES`]). The same as the upload cap, so a teacher meets one limit;
/// a larger bank is served by restarting quizd with it ([`MAX_BANK_BYTES`] at start-up).
pub const MAX_SWITCH_BANK_BYTES: u64 = MAX_UPLOAD_BYTES as u64;
/// Most problems listed for one load of banks (start-up, `--check`, `load`, `upload`); the
/// rest are counted in one last `... and N more problems`. A hundred is more than anyone fixes
/// in one pass, and a file that is not a bank at all (thousands of problems) then costs neither
/// memory nor a console flooded with replies.
pub const MAX_PROBLEMS: usize = 100;
/// Most options a question can have (letters a to z).
pub const MAX_OPTIONS: usize = 26;
/// Longest typed answer recorded in the results, in characters; the rest is cut off. Enough
/// for any real answer, and it keeps one student from growing the results file by kilobytes.
pub const MAX_RESPONSE_CHARS: usize = 100;
/// Longest time limit, idle timeout or resume window honoured (a week), so deadline arithmetic
/// cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Projector board viewers at once (each holds a descriptor, reserved from the students' when
/// the board is on); one more gets `503`.
pub const MAX_BOARD_VIEWERS: usize = 400;
/// A board request's head must arrive within this...
pub const BOARD_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// ...and fit in this many bytes (`431` past it).
pub const MAX_BOARD_REQUEST_BYTES: usize = 8 * 1024;
/// Socket buffers `(send, receive)` of a board viewer: what the kernel holds for one that
/// does not read stays small beside the cap below.
pub const BOARD_BUFFERS: (usize, usize) = (64 * 1024, 8 * 1024);
/// A viewer with this much of its stream unread is dropped.
pub const BOARD_OUTPUT_CAP: usize = 256 * 1024;
/// The board's state is pushed at most this often (changes in between are merged).
pub const BOARD_PUSH_EVERY: Duration = Duration::from_millis(500);
/// Streams get a comment line this often, so a viewer that went away is found.
pub const BOARD_PING_EVERY: Duration = Duration::from_secs(15);

/// One row of the README's Limits table: the limit, and its value as the README words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub limit: &'static str,
    pub value: String,
}

/// The README's Limits table, first two columns, built from the constants above.
pub fn table() -> Vec<Row> {
    let row = |limit, value: String| Row { limit, value };
    vec![
        row(
            "students at once",
            format!("`--max-clients` (open-file limit − {FD_RESERVE})"),
        ),
        row(
            "open files",
            "soft limit raised to the hard limit at start".into(),
        ),
        row("descriptors run out anyway", "—".into()),
        row(
            "listen backlog",
            format!("{LISTEN_BACKLOG} (capped by `net.core.somaxconn`)"),
        ),
        row(
            "connections accepted per loop turn",
            format!("{ACCEPT_BUDGET} per door"),
        ),
        row(
            "connections from one address",
            format!("`--max-per-address` ({MAX_PER_ADDRESS}; 0: no limit)"),
        ),
        row("input line", format!("{MAX_LINE} bytes")),
        row(
            "output waiting for a client that does not read",
            format!("{} KiB", OUTPUT_CAP / 1024),
        ),
        row(
            "`/ask` messages",
            format!(
                "after a name; one per {} s per name, {ASKS_PER_ADDRESS} per address, {ASKS_PER_INTERVAL} in all; at most {MAX_MESSAGE_CHARS} characters",
                ASK_INTERVAL.as_secs()
            ),
        ),
        row(
            "input handled per connection per loop turn",
            format!(
                "{STUDENT_LINES_PER_TURN} lines or telnet replies ({CONSOLE_LINES_PER_TURN} for a console), {} KiB",
                READ_BUDGET / 1024
            ),
        ),
        row(
            "output waiting before input is read again",
            format!("{} KiB", OUTPUT_WATERMARK / 1024),
        ),
        row(
            "output waiting for a console that does not read",
            format!("{} MiB", CONSOLE_OUTPUT_CAP / (1024 * 1024)),
        ),
        row(
            "output waiting for all connections together",
            format!("{} MiB", TOTAL_OUTPUT_BUDGET / (1024 * 1024)),
        ),
        row(
            "kernel socket buffers",
            format!(
                "{} KiB send, {} KiB receive per student ({} KiB each for a console)",
                STUDENT_BUFFERS.0 / 1024,
                STUDENT_BUFFERS.1 / 1024,
                CONSOLE_BUFFERS.0 / 1024
            ),
        ),
        row(
            "name",
            format!(
                "1–{MAX_NAME_CHARS} visible characters with a letter or digit, unlike every name in the quiz"
            ),
        ),
        row(
            "time to give a name",
            format!("{} s", NAME_TIMEOUT.as_secs()),
        ),
        row(
            "resume code",
            format!(
                "{CODE_LEN} characters, {MAX_CODE_TRIES} tries per connection; after {FREE_CODE_TRIES} wrong for a name from one address, {} s to {} min between its tries",
                CODE_BACKOFF.as_secs(),
                CODE_BACKOFF_MAX.as_secs() / 60
            ),
        ),
        row(
            "names whose attempts are counted (`--attempts`)",
            format!("{MAX_NAMES_COUNTED}"),
        ),
        row(
            "attempts waiting for a student who dropped",
            format!("`--max-per-address` per address, {MAX_PARKED_SEATS} in all"),
        ),
        row(
            "finished connection that does not close",
            format!("{} s", LINGER.as_secs()),
        ),
        row("teacher consoles", format!("{MAX_TEACHERS} at once")),
        row(
            "console sockets, closing ones included",
            format!("{MAX_CONSOLE_SOCKETS}"),
        ),
        row(
            "the console's `results`",
            format!(
                "the last {} MiB of the file",
                MAX_RESULTS_SHOWN / (1024 * 1024)
            ),
        ),
        row(
            "rows that cannot be written (disk full)",
            format!("kept, retried every {} s", RESULTS_RETRY.as_secs()),
        ),
        row(
            "console token",
            format!(
                "{MAX_TOKEN_TRIES} tries per connection, within {} s; after {FREE_TOKEN_TRIES} wrong from one address, {}–{} s between its tries; at least {MIN_TOKEN_CHARS} characters",
                TOKEN_TIMEOUT.as_secs(),
                TOKEN_BACKOFF.as_secs(),
                TOKEN_BACKOFF_MAX.as_secs()
            ),
        ),
        row(
            "uploaded bank",
            format!(
                "{} MiB, name up to {MAX_UPLOAD_NAME_CHARS} characters",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        ),
        row(
            "bank file",
            format!("{} MiB", MAX_BANK_BYTES / (1024 * 1024)),
        ),
        row(
            "bank switched while serving (`load`, `reload`)",
            format!(
                "{} MiB, all its files together",
                MAX_SWITCH_BANK_BYTES / (1024 * 1024)
            ),
        ),
        row("problems listed for a bank", format!("{MAX_PROBLEMS}")),
        row("options per question", format!("{MAX_OPTIONS} (a to z)")),
        row(
            "answers per short-answer or numeric question",
            format!("{MAX_ANSWERS}"),
        ),
        row(
            "typed answer recorded",
            format!("{MAX_RESPONSE_CHARS} characters"),
        ),
        row(
            "the journal",
            format!(
                "rewritten as a snapshot past {} MiB (and twice its last snapshot), and whenever nothing is open",
                JOURNAL_COMPACT >> 20
            ),
        ),
        row(
            "space written ahead of the journal",
            format!("{} MiB of zeros", JOURNAL_PREALLOCATE >> 20),
        ),
        row(
            "journal records the disk refuses",
            format!("kept, up to {} MiB", JOURNAL_BACKLOG_MAX >> 20),
        ),
        row(
            "journal read at start",
            format!("{} GiB", JOURNAL_MAX_READ >> 30),
        ),
        row(
            "projector board viewers",
            format!("{MAX_BOARD_VIEWERS} at once (reserved from `--max-clients`' default)"),
        ),
        row(
            "board request",
            format!(
                "{} KiB, within {} s",
                MAX_BOARD_REQUEST_BYTES >> 10,
                BOARD_REQUEST_TIMEOUT.as_secs()
            ),
        ),
        row(
            "board updates a viewer does not read",
            format!("{} KiB", BOARD_OUTPUT_CAP >> 10),
        ),
        row(
            "board updates",
            format!("at most every {} ms", BOARD_PUSH_EVERY.as_millis()),
        ),
    ]
}

/// Raises the soft open-file limit to the hard limit; returns the soft limit now in force.
pub fn raise_nofile() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        } else {
            log::warn!(
                "cannot raise the open-file limit from {} to {}: {}",
                lim.rlim_cur,
                lim.rlim_max,
                io::Error::last_os_error()
            );
        }
    }
    Ok(lim.rlim_cur)
}

/// The default `--max-clients` for an open-file limit.
pub fn default_max_clients(nofile: u64) -> usize {
    nofile.saturating_sub(FD_RESERVE).max(1) as usize
}

/// True when an error means "no descriptors left" (per process or system-wide) or no kernel
/// memory for one: accepting must pause rather than spin.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn per_address_limits_count_ipv4_as_is_and_ipv6_by_its_64() {
        let at = |s: &str| super::address_of(s.parse().unwrap()).to_string();
        assert_eq!(at("127.0.0.2:5000"), "127.0.0.2");
        assert_eq!(at("[::ffff:10.0.0.7]:5000"), "10.0.0.7");
        assert_eq!(
            at("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:5000"),
            "2001:db8:1:2::"
        );
        assert_eq!(
            at("[2001:db8:1:2::1]:1"),
            at("[2001:db8:1:2:ffff::9]:2"),
            "one /64 is one address"
        );
        assert_ne!(at("[2001:db8:1:3::1]:1"), at("[2001:db8:1:2::1]:1"));
        assert_eq!(at("[::1]:1"), "::");
    }

    use super::*;

    #[test]
    fn default_max_clients_keeps_a_reserve_and_is_never_zero() {
        assert_eq!(default_max_clients(20_000), 20_000 - FD_RESERVE as usize);
        assert_eq!(default_max_clients(10), 1);
    }

    #[test]
    fn emfile_and_enfile_count_as_exhaustion_but_reset_does_not() {
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::ENFILE
        )));
        assert!(!is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
    }

    /// The README's Limits table, as `(limit, value)` pairs.
    fn readme_rows() -> Vec<(String, String)> {
        let readme = include_str!("../README.md");
        let section = readme
            .split("\n## Limits\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| limit |"))
            .filter_map(|l| {
                let mut cells = l.split(" | ");
                let limit = cells.next()?.trim_start_matches("| ").to_string();
                let value = cells.next()?.to_string();
                Some((limit, value))
            })
            .collect()
    }

    #[test]
    fn the_readme_limits_table_matches_the_constants_row_for_row() {
        let readme = readme_rows();
        let ours: Vec<(String, String)> = table()
            .into_iter()
            .map(|r| (r.limit.to_string(), r.value))
            .collect();
        assert!(!readme.is_empty(), "no Limits table in the README");
        for row in &ours {
            assert!(readme.contains(row), "README lacks or differs: {row:?}");
        }
        for row in &readme {
            assert!(ours.contains(row), "limits::table() lacks: {row:?}");
        }
    }
}
