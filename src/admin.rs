//! The teacher console, as a pure state machine, and the text of its replies.
//!
//! One [`Console`] per teacher connection. It never sees a socket or a clock: the server hands
//! it each decoded input line and it writes what the teacher should see into an output buffer.
//! It decides alone what needs no server state (the token check, parsing, usage errors, `help`,
//! collecting an upload) and returns a [`Request`] for everything else. The server executes the
//! request and answers with one reply helper, which also prints the prompt again:
//! [`Console::reply_line`] for status lines (`ok: ...`, `error: ...`), [`Console::reply_block`]
//! for data (several lines, dot-stuffed, ending with a line holding a single `.`). Lines that
//! arrive unasked (a student's `/ask`) go through [`Console::notice`].
//!
//! Call order: [`Console::new`] once, then any number of [`Console::on_line`],
//! [`Console::on_too_long`], [`Console::on_leave`] and [`Console::notice`]. When one of the
//! `on_*` calls returns a [`Request`] other than [`Request::Close`], the server answers it with
//! exactly one reply helper before feeding the next line. After `Close`, the console ignores
//! everything and the server closes the connection once the output is sent.
//!
//! The renderers ([`render_status`], [`render_who`], [`render_top`], [`render_stats`]) turn
//! plain data the server fills in into lines for [`Console::reply_block`], sized for a telnet
//! window of 80 columns.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::limits::{
    MAX_LINE, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_NOTICE_CHARS, MAX_TOKEN_TRIES, MAX_TOP,
    MAX_UPLOAD_BYTES, MAX_UPLOAD_NAME_CHARS,
};
use crate::text::{human_bytes, human_duration, is_invisible, percent, sanitize};
pub use crate::wire::{ADMIN_PROMPT, TOKEN_PROMPT};

/// Rows `top` shows when no number is given.
pub const DEFAULT_TOP: usize = 10;
/// Length of a [`random_token`].
pub const TOKEN_CHARS: usize = 16;
/// What a [`random_token`] is made of: letters and digits that cannot be mistaken for one
/// another when read off a log and typed (no 0/O/o, 1/l/I).
const TOKEN_ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

const GREETING: &str =
    "quizd teacher console. Type the token (from --admin-token or the server's log).";
const WELCOME: &str = "ok: token accepted. Type help for the commands.";
const UPLOAD_GO_AHEAD: &str = "Send the bank's lines, then a line holding only \".\".";

/// The `help` reply, one block line each. Every line fits in 80 columns.
const HELP: &[&str] = &[
    "Commands (any case; the ones marked * need live mode):",
    "  status           the quiz, its mode, how many students are where",
    "  who              students: name, address, state, score, idle time",
    "  start *          start the quiz for everyone waiting",
    "  next *           move everyone on to the next question",
    "  end              end the quiz now (answers so far are saved)",
    "  kick NAME        disconnect a student (answers so far are saved)",
    "  say TEXT         message to every student",
    "  tell NAME TEXT   message to one student (\"Ann Lee\" for a name with spaces)",
    "  load PATH...     switch to the bank in these files, between quizzes",
    "  reload           read the current bank files again",
    "  upload NAME      send a bank (NAME.txt or NAME.gift): its lines, then \".\"",
    "  results          the results so far, as CSV",
    "  top [N]          the N best attempts so far (default 10)",
    "  stats            connections, answers, timeouts, bytes, uptime",
    "  shutdown         stop the server (answers so far are saved)",
    "  quit             close this console",
    "  help             this list",
    "Students' /ask messages appear here as they arrive.",
];

/// What the console needs the server to do. The console has already checked the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `status`: answer with [`render_status`] in a block.
    Status,
    /// `who`: answer with [`render_who`] in a block.
    Who,
    /// `start`: start the live quiz.
    Start,
    /// `next`: the next live question.
    Next,
    /// `end`: end the quiz now.
    End,
    /// `kick NAME`: disconnect this student. `name` has its whitespace folded, invisible
    /// characters dropped and at most [`MAX_NAME_CHARS`] characters; finding the student is the
    /// server's business.
    Kick { name: String },
    /// `say TEXT`: to every student. `text` is [`sanitize`]d and not empty.
    Say { text: String },
    /// `tell NAME TEXT`: to one student. `name` as in `Kick`, `text` as in `Say`.
    Tell { name: String, text: String },
    /// `load PATH...`: switch to the bank in these files (at least one); a bad bank leaves the
    /// old one in place and the reply lists every `FILE:LINE:` problem.
    Load { paths: Vec<PathBuf> },
    /// `reload`: read the current bank's files again, as `Load` would.
    Reload,
    /// `upload NAME` and its lines: a bank to parse (`crate::bank::parse(&name, text.as_bytes())`)
    /// and switch to. `name` is a checked plain file name ending `.txt` or `.gift`; `text` is
    /// the lines as sent (dot-stuffing undone), each ending `\n`, at most [`MAX_UPLOAD_BYTES`].
    Upload { name: String, text: String },
    /// `results`: the results CSV in a block.
    Results,
    /// `top [N]`: answer with [`render_top`] in a block; `n` is within `1..=MAX_TOP`.
    Top { n: usize },
    /// `stats`: answer with [`render_stats`] in a block.
    Stats,
    /// `shutdown`: stop the server.
    Shutdown,
    /// Close this connection (the console has written its last line); log `reason` with the
    /// peer's address.
    Close { reason: CloseReason },
}

/// Why the console asks to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// [`MAX_TOKEN_TRIES`] wrong tokens: worth a warning with the peer's address.
    WrongToken,
    /// The teacher typed `quit`, or pressed Ctrl-C / Ctrl-D outside an upload.
    Quit,
}

/// Where a teacher's connection is.
#[derive(Debug)]
enum State {
    /// Waiting for the token at `token> `; `wrong` tries so far, fewer than [`MAX_TOKEN_TRIES`].
    Token { wrong: u32 },
    /// Logged in, at `admin> `: each line is a command.
    Ready,
    /// After `upload NAME`: every line belongs to the bank until a line holding only `.`.
    Uploading(Upload),
    /// The console said its last word (wrong token or quit); input is ignored until the server
    /// closes the connection.
    Closed,
}

/// An upload in progress.
struct Upload {
    name: String,
    /// The lines so far, dot-stuffing undone, each ending `\n`; dropped once over the cap.
    text: String,
    /// Lines received so far (the final `.` not counted), for `NAME:LINE:`.
    lines: u32,
    /// Size of the file so far, kept or not.
    bytes: usize,
    /// The first line over the decoder's [`MAX_LINE`].
    too_long_at: Option<u32>,
}

/// Trace logs show the upload's size, not its text.
impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Upload({}: {} lines, {} bytes)",
            self.name, self.lines, self.bytes
        )
    }
}

impl Upload {
    fn new(name: String) -> Upload {
        Upload {
            name,
            text: String::new(),
            lines: 0,
            bytes: 0,
            too_long_at: None,
        }
    }

    /// One line of the file, as sent: a line starting `..` was dot-stuffed and loses one dot.
    fn push(&mut self, line: &str) {
        self.lines = self.lines.saturating_add(1);
        let data = if line.starts_with("..") {
            &line[1..]
        } else {
            line
        };
        self.bytes = self.bytes.saturating_add(data.len() + 1);
        if self.bytes > MAX_UPLOAD_BYTES {
            // Over the cap: keep counting to the end, keep nothing.
            if self.text.capacity() > 0 {
                self.text = String::new();
            }
            return;
        }
        self.text.push_str(data);
        self.text.push('\n');
    }

    /// The line that ends the upload has come: the request, or the error to show.
    fn finish(self) -> Result<Request, String> {
        if self.bytes > MAX_UPLOAD_BYTES {
            return Err(format!(
                "upload too large (max {})",
                human_bytes(MAX_UPLOAD_BYTES as u64)
            ));
        }
        if let Some(at) = self.too_long_at {
            return Err(format!(
                "{}:{at}: line too long (max {MAX_LINE} bytes)",
                self.name
            ));
        }
        if self.lines == 0 {
            return Err(format!(
                "{}: empty upload (send the bank's lines, then a line holding only \".\")",
                self.name
            ));
        }
        Ok(Request::Upload {
            name: self.name,
            text: self.text,
        })
    }
}

/// What a command line means, before the console acts on it.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Needs the server.
    Request(Request),
    /// `help`: the console answers with [`HELP`].
    Help,
    /// `quit`: the console says goodbye and asks to be closed.
    Quit,
    /// `upload NAME` with a good name: the lines follow.
    Upload(String),
    /// Nothing typed.
    Empty,
    /// The console answers this itself (without the `error: ` prefix).
    Error(String),
}

/// One teacher's connection: token check, commands, uploads.
#[derive(Debug)]
pub struct Console {
    state: State,
}

impl Console {
    /// A new connection: greets the teacher and asks for the token.
    pub fn new(out: &mut Vec<u8>) -> Console {
        put(out, GREETING);
        out.extend_from_slice(TOKEN_PROMPT.as_bytes());
        Console {
            state: State::Token { wrong: 0 },
        }
    }

    /// True once the right token was given (and until the console closes).
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Ready | State::Uploading(_))
    }

    /// True while an upload is being collected (no prompt is shown meanwhile).
    #[cfg(test)]
    fn is_uploading(&self) -> bool {
        matches!(self.state, State::Uploading(_))
    }

    /// True once the console has said its last word; the server closes the connection after
    /// sending the output.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Returns the state left behind.
    fn set_state(&mut self, to: State) -> State {
        log::trace!("console {:?} -> {:?}", self.state, to);
        std::mem::replace(&mut self.state, to)
    }

    /// One decoded input line. `token` is the server's token; surrounding whitespace is ignored
    /// on both sides, and an empty token never matches.
    pub fn on_line(&mut self, line: &str, token: &str, out: &mut Vec<u8>) -> Option<Request> {
        match &mut self.state {
            State::Token { wrong } => {
                let wrong = *wrong;
                self.on_token(line, token, wrong, out)
            }
            State::Ready => self.on_command(line, out),
            State::Uploading(upload) if line != "." => {
                upload.push(line);
                None
            }
            State::Uploading(_) => {
                let State::Uploading(upload) = self.set_state(State::Ready) else {
                    return None;
                };
                match upload.finish() {
                    Ok(request) => Some(request),
                    Err(why) => {
                        self.reply_line(out, &format!("error: {why}"));
                        None
                    }
                }
            }
            State::Closed => None,
        }
    }

    /// The decoder saw a line over [`MAX_LINE`]. In an upload this fails the upload (reported
    /// at its end, with the line number); elsewhere it is an error line and the prompt again.
    pub fn on_too_long(&mut self, out: &mut Vec<u8>) {
        match &mut self.state {
            State::Uploading(upload) => {
                upload.lines = upload.lines.saturating_add(1);
                upload.too_long_at.get_or_insert(upload.lines);
            }
            State::Closed => {}
            State::Token { .. } | State::Ready => {
                self.reply_line(out, &format!("error: line too long (max {MAX_LINE} bytes)"))
            }
        }
    }

    /// Ctrl-C or Ctrl-D in the teacher's terminal: cancels an upload, otherwise closes the
    /// console like `quit`.
    pub fn on_leave(&mut self, out: &mut Vec<u8>) -> Option<Request> {
        match self.state {
            State::Uploading(_) => {
                self.set_state(State::Ready);
                self.reply_line(out, "error: upload cancelled");
                None
            }
            State::Token { .. } | State::Ready => Some(self.quit(out)),
            State::Closed => None,
        }
    }

    /// The token did not come in time: says so and closes (nothing once authenticated).
    pub fn on_token_timeout(&mut self, out: &mut Vec<u8>, waited: std::time::Duration) {
        if let State::Token { .. } = self.state {
            // Off the `token> ` prompt line first, as a notice does.
            out.extend_from_slice(b"\r\n");
            put(
                out,
                &format!(
                    "error: no token given in {} s; closing.",
                    waited.as_secs_f64().ceil()
                ),
            );
            log::warn!(
                "teacher console gave no token within {} s",
                waited.as_secs()
            );
            self.set_state(State::Closed);
        }
    }

    /// A one-line answer to a request, then the prompt. Each `\n`-separated part of `text` is
    /// its own line, so a bank's problems (`error: FILE:LINE: message` each) can go in one
    /// call. Status lines start `ok: ` or `error: `; they are not dot-stuffed.
    pub fn reply_line(&self, out: &mut Vec<u8>, text: &str) {
        put_lines(out, text, false);
        self.prompt(out);
    }

    /// A multi-line answer (help, status, who, results, top, stats): every item's lines,
    /// dot-stuffed, then a line holding a single `.`, then the prompt. An item may hold several
    /// lines (`\n` or `\r\n` between them; one trailing newline is ignored), so the results CSV
    /// can be passed whole.
    pub fn reply_block<I, S>(&self, out: &mut Vec<u8>, lines: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for item in lines {
            put_lines(out, item.as_ref(), true);
        }
        put(out, ".");
        self.prompt(out);
    }

    /// A line nobody asked for (a student's `/ask`). The teacher may be sitting at the prompt,
    /// so it goes on a fresh line and the prompt follows again. It is [`sanitize`]d here, as it
    /// comes from a student. Not shown before the token is given.
    pub fn notice(&self, out: &mut Vec<u8>, text: &str) {
        match self.state {
            State::Ready => {
                out.extend_from_slice(b"\r\n");
                put(out, &sanitize(text, MAX_NOTICE_CHARS));
                self.prompt(out);
            }
            // No prompt is showing during an upload, and none may follow.
            State::Uploading(_) => put(out, &sanitize(text, MAX_NOTICE_CHARS)),
            State::Token { .. } | State::Closed => {}
        }
    }

    /// The prompt of the current state, if it has one.
    fn prompt(&self, out: &mut Vec<u8>) {
        match self.state {
            State::Token { .. } => out.extend_from_slice(TOKEN_PROMPT.as_bytes()),
            State::Ready => out.extend_from_slice(ADMIN_PROMPT.as_bytes()),
            State::Uploading(_) | State::Closed => {}
        }
    }

    fn on_token(
        &mut self,
        line: &str,
        token: &str,
        wrong: u32,
        out: &mut Vec<u8>,
    ) -> Option<Request> {
        let typed = line.trim();
        if typed.is_empty() {
            // Enter on its own is not a guess.
            self.prompt(out);
            return None;
        }
        let expected = token.trim();
        if !expected.is_empty() && constant_time_eq(typed.as_bytes(), expected.as_bytes()) {
            self.set_state(State::Ready);
            log::debug!("teacher console: token accepted");
            self.reply_line(out, WELCOME);
            return None;
        }
        let wrong = wrong + 1;
        if wrong >= MAX_TOKEN_TRIES {
            log::warn!("teacher console: {wrong} wrong tokens; closing");
            self.set_state(State::Closed);
            put(out, "error: wrong token; closing");
            return Some(Request::Close {
                reason: CloseReason::WrongToken,
            });
        }
        log::info!("teacher console: wrong token (try {wrong} of {MAX_TOKEN_TRIES})");
        self.set_state(State::Token { wrong });
        self.reply_line(out, "error: wrong token");
        None
    }

    fn on_command(&mut self, line: &str, out: &mut Vec<u8>) -> Option<Request> {
        match parse_command(line) {
            Command::Request(request) => return Some(request),
            Command::Help => self.reply_block(out, HELP),
            Command::Quit => return Some(self.quit(out)),
            Command::Upload(name) => {
                self.set_state(State::Uploading(Upload::new(name)));
                put(out, UPLOAD_GO_AHEAD);
            }
            Command::Empty => self.prompt(out),
            Command::Error(why) => self.reply_line(out, &format!("error: {why}")),
        }
        None
    }

    fn quit(&mut self, out: &mut Vec<u8>) -> Request {
        self.set_state(State::Closed);
        put(out, "Bye.");
        Request::Close {
            reason: CloseReason::Quit,
        }
    }
}

/// What a command line asks for. Commands are case-insensitive (a leading `/`, as at the
/// student prompt, is ignored); arguments follow after whitespace.
fn parse_command(line: &str) -> Command {
    let input = line.trim();
    if input.is_empty() {
        return Command::Empty;
    }
    let (word, rest) = input.split_once(char::is_whitespace).unwrap_or((input, ""));
    let rest = rest.trim();
    let typed = word;
    let word = word.strip_prefix('/').unwrap_or(word).to_lowercase();
    let bare = |request: Request| {
        if rest.is_empty() {
            Command::Request(request)
        } else {
            Command::Error(format!("usage: {word} (no arguments)"))
        }
    };
    match word.as_str() {
        "help" | "?" => Command::Help,
        "quit" | "exit" | "bye" => Command::Quit,
        "status" => bare(Request::Status),
        "who" => bare(Request::Who),
        "start" => bare(Request::Start),
        "next" => bare(Request::Next),
        "end" => bare(Request::End),
        "reload" => bare(Request::Reload),
        "results" => bare(Request::Results),
        "stats" => bare(Request::Stats),
        "shutdown" => bare(Request::Shutdown),
        "kick" => match name_arg(rest) {
            Ok(name) => Command::Request(Request::Kick { name }),
            Err(why) => Command::Error(why.unwrap_or_else(|| "usage: kick NAME".into())),
        },
        "say" => match sanitize(rest, MAX_MESSAGE_CHARS) {
            text if text.is_empty() => Command::Error("usage: say TEXT".into()),
            text => Command::Request(Request::Say { text }),
        },
        "tell" => parse_tell(rest),
        "load" => parse_load(rest),
        "upload" => match upload_name(rest) {
            Ok(name) => Command::Upload(name),
            Err(why) => Command::Error(why),
        },
        "top" => parse_top(rest),
        _ => Command::Error(format!(
            "unknown command {} (type help)",
            sanitize(typed, 40)
        )),
    }
}

fn parse_tell(rest: &str) -> Command {
    const USAGE: &str = "usage: tell NAME TEXT";
    let (word, after) = match next_word(rest) {
        Ok(Some(split)) => split,
        Ok(None) => return Command::Error(USAGE.into()),
        Err(why) => return Command::Error(why),
    };
    let name = match student_name(word) {
        Ok(name) => name,
        Err(why) => return Command::Error(why.unwrap_or_else(|| USAGE.into())),
    };
    match sanitize(after, MAX_MESSAGE_CHARS) {
        text if text.is_empty() => Command::Error(USAGE.into()),
        text => Command::Request(Request::Tell { name, text }),
    }
}

fn parse_load(mut rest: &str) -> Command {
    let mut paths = Vec::new();
    loop {
        match next_word(rest) {
            Ok(Some((word, after))) => {
                paths.push(PathBuf::from(word));
                rest = after;
            }
            Ok(None) => break,
            Err(why) => return Command::Error(why),
        }
    }
    if paths.is_empty() {
        return Command::Error("usage: load PATH... (\"quotes\" around a path with spaces)".into());
    }
    Command::Request(Request::Load { paths })
}

fn parse_top(rest: &str) -> Command {
    if rest.is_empty() {
        return Command::Request(Request::Top { n: DEFAULT_TOP });
    }
    match rest.parse::<usize>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Command::Request(Request::Top { n }),
        _ => Command::Error(format!("usage: top [N] (N from 1 to {MAX_TOP})")),
    }
}

/// The first argument of `rest` and what follows it (trimmed): a run of non-blank characters,
/// or text in double quotes (no escapes). `Ok(None)`: nothing left.
fn next_word(rest: &str) -> Result<Option<(&str, &str)>, String> {
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Ok(None);
    }
    if let Some(quoted) = rest.strip_prefix('"') {
        return match quoted.split_once('"') {
            Some((word, after)) => Ok(Some((word, after.trim()))),
            None => Err("unclosed quote".into()),
        };
    }
    Ok(Some(
        rest.split_once(char::is_whitespace)
            .map_or((rest, ""), |(word, after)| (word, after.trim())),
    ))
}

/// A student's name as the teacher typed it for `kick`: the whole rest, or one quoted word.
/// `Err(None)`: no name (the caller shows its usage).
fn name_arg(rest: &str) -> Result<String, Option<String>> {
    let raw = if rest.starts_with('"') {
        match next_word(rest) {
            Ok(Some((word, ""))) => word,
            Ok(_) => return Err(None),
            Err(why) => return Err(Some(why)),
        }
    } else {
        rest
    };
    student_name(raw)
}

/// Whitespace folded, invisible characters dropped, and no longer than a name can be.
fn student_name(raw: &str) -> Result<String, Option<String>> {
    // What the teacher typed is only looked up: invisible characters are dropped rather than
    // refused (no student's name holds one), then the students' own rules apply.
    let name = sanitize(raw, usize::MAX);
    if name.is_empty() {
        return Err(None);
    }
    crate::text::validate_name(&name).map_err(Some)
}

/// Checks the name of an upload: a plain file name (it names the bank in `NAME:LINE:` problems
/// and may become a file on the server) ending `.txt` or `.gift`, any case.
fn upload_name(raw: &str) -> Result<String, String> {
    const USAGE: &str = "usage: upload NAME.txt|NAME.gift";
    if raw.is_empty() {
        return Err(USAGE.into());
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(format!("{USAGE} (one name, no spaces)"));
    }
    if raw.chars().count() > MAX_UPLOAD_NAME_CHARS {
        return Err(format!(
            "upload name too long (max {MAX_UPLOAD_NAME_CHARS} characters)"
        ));
    }
    if raw.starts_with('.') {
        return Err("upload name cannot start with '.'".into());
    }
    if raw
        .chars()
        .any(|c| is_invisible(c) || !(c.is_alphanumeric() || "-_.+".contains(c)))
    {
        return Err(
            "upload name: a plain file name, with letters, digits, '-', '_', '+' and '.' only"
                .into(),
        );
    }
    let lower = raw.to_lowercase();
    let stem = lower
        .strip_suffix(".txt")
        .or_else(|| lower.strip_suffix(".gift"));
    match stem {
        Some(stem) if !stem.is_empty() => Ok(raw.to_owned()),
        _ => Err(format!("{USAGE} (.txt for Aiken, .gift for GIFT)")),
    }
}

/// Compares two secrets in time that depends on their length only, never on where they differ
/// first, so a client cannot find the token byte by byte by timing the answers.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y));
    // Keeps the compiler from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// A fresh token of [`TOKEN_CHARS`] characters from an alphabet without look-alikes, for when
/// no token was configured. fastrand alone seeds from the clock, so the generator is seeded
/// from std's `RandomState`, whose keys come from the operating system's random source: 64 bits
/// of entropy, plenty against guessing at [`MAX_TOKEN_TRIES`] tries per connection.
pub fn random_token() -> String {
    let seed = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..TOKEN_CHARS)
        .map(|_| char::from(TOKEN_ALPHABET[rng.usize(..TOKEN_ALPHABET.len())]))
        .collect()
}

/// One text line, ending CR LF.
fn put(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Every line of `text` (split at `\n`, a `\r` before it dropped, one trailing newline
/// ignored), dot-stuffed if asked: a line starting `.` gets one more.
fn put_lines(out: &mut Vec<u8>, text: &str, stuff: bool) {
    let text = text.strip_suffix('\n').unwrap_or(text);
    for part in text.split('\n') {
        let part = part.strip_suffix('\r').unwrap_or(part);
        if stuff && part.starts_with('.') {
            out.push(b'.');
        }
        put(out, part);
    }
}

// --- renderers ---

/// Whether the students go at their own pace or the teacher moves everyone on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each student starts on giving a name and moves on by answering.
    SelfPaced,
    /// The teacher starts the quiz and moves everyone on together.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SelfPaced => "self-paced",
            Mode::Live => "live",
        }
    }
}

/// What `status` shows; the server fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub mode: Mode,
    pub title: String,
    /// Questions in the bank.
    pub questions: usize,
    /// Questions each attempt asks (`--count`), when fewer than the bank has.
    pub per_attempt: Option<usize>,
    /// Where the bank came from (files as loaded, or an upload's name); empty for the bundled
    /// bank.
    pub files: Vec<String>,
    /// Student connections open now, named or not.
    pub students_connected: usize,
    /// Students with a name and an attempt running.
    pub in_quiz: usize,
    /// Attempts finished since the server started.
    pub finished: u64,
    /// Live mode: where the game is, e.g. `lobby, waiting for start` or
    /// `question 3 of 10, 12 s left`. `None` in self-paced mode.
    pub live_phase: Option<String>,
}

/// `status`: a few `key: value` lines.
pub fn render_status(view: &StatusView) -> Vec<String> {
    let mut questions = view.questions.to_string();
    if let Some(count) = view.per_attempt {
        questions.push_str(&format!(", {count} per attempt"));
    }
    if !view.files.is_empty() {
        questions.push_str(&format!(" (from {})", view.files.join(", ")));
    }
    let mut mode = view.mode.as_str().to_owned();
    if let Some(phase) = &view.live_phase {
        mode.push_str(&format!(": {phase}"));
    }
    key_values(&[
        ("quiz", sanitize(&view.title, 60)),
        ("questions", questions),
        ("mode", mode),
        (
            "students",
            format!(
                "{} connected, {} in the quiz",
                view.students_connected, view.in_quiz
            ),
        ),
        ("attempts finished", view.finished.to_string()),
    ])
}

/// One student in `who`; the server fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoRow {
    /// Empty while the student has not given a name yet.
    pub name: String,
    pub peer: SocketAddr,
    /// Where the student is, e.g. `naming`, `question 3/10`, `lobby`, `done`.
    pub state: String,
    /// Points and questions answered so far; `None` before the first question.
    pub score: Option<(u32, u32)>,
    /// Since the student last sent a line.
    pub idle: Duration,
}

/// `who`: a header and one aligned row per student, sorted by name (case-insensitive; students
/// without a name last, shown as `-`), then address.
pub fn render_who(rows: &[WhoRow]) -> Vec<String> {
    let mut sorted: Vec<&WhoRow> = rows.iter().collect();
    sorted.sort_by_cached_key(|row| (row.name.is_empty(), row.name.to_lowercase(), row.peer));
    let cells: Vec<Vec<String>> = sorted
        .iter()
        .map(|row| {
            vec![
                match sanitize(&row.name, MAX_NAME_CHARS) {
                    name if name.is_empty() => "-".to_owned(),
                    name => name,
                },
                row.peer.to_string(),
                row.state.clone(),
                row.score
                    .map_or("-".to_owned(), |(points, of)| format!("{points}/{of}")),
                human_duration(row.idle),
            ]
        })
        .collect();
    table(
        &["name", "address", "state", "score", "idle"],
        &[false, false, false, true, true],
        &cells,
    )
}

/// One row of `top`; the server ranks the attempts (ties share a rank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopRow {
    pub rank: usize,
    pub name: String,
    pub score: u32,
    /// Questions in the attempt.
    pub max: u32,
    /// How long the attempt took.
    pub time: Duration,
}

/// `top`: a header and one aligned row per attempt, in the order given.
pub fn render_top(rows: &[TopRow]) -> Vec<String> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.rank.to_string(),
                sanitize(&row.name, MAX_NAME_CHARS),
                format!("{}/{}", row.score, row.max),
                format!("{}%", percent(row.score, row.max)),
                human_duration(row.time),
            ]
        })
        .collect();
    table(
        &["#", "name", "score", "%", "time"],
        &[true, false, true, true, true],
        &cells,
    )
}

/// What `stats` shows; the server fills it in from its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsView {
    pub connected_students: usize,
    pub connected_teachers: usize,
    /// Most connections open at once since the start.
    pub peak_connections: usize,
    /// Student connections accepted since the start.
    pub accepted_total: u64,
    /// Connections refused because the server was full.
    pub rejected_full: u64,
    /// Connections closed because their output backed up.
    pub closed_output_cap: u64,
    /// Teacher consoles closed after too many wrong tokens.
    pub wrong_token_closes: u64,
    pub attempts_started: u64,
    pub attempts_finished: u64,
    pub answers: u64,
    pub timeouts: u64,
    /// Input lines refused for being over [`MAX_LINE`].
    pub lines_too_long: u64,
    /// `/ask` messages passed on, and refused for coming too fast.
    pub asks: u64,
    pub asks_refused: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub uptime: Duration,
}

/// `stats`: aligned `key: value` lines, sizes and times in human units.
pub fn render_stats(view: &StatsView) -> Vec<String> {
    let bytes = |n: u64| {
        if n < 1024 {
            format!("{n} B")
        } else {
            format!("{} ({n} B)", human_bytes(n))
        }
    };
    key_values(&[
        (
            "connected",
            format!(
                "{}, {} (peak {})",
                count(view.connected_students, "student"),
                count(view.connected_teachers, "teacher"),
                view.peak_connections
            ),
        ),
        ("accepted", view.accepted_total.to_string()),
        ("refused (full)", view.rejected_full.to_string()),
        ("closed (output cap)", view.closed_output_cap.to_string()),
        ("closed (wrong token)", view.wrong_token_closes.to_string()),
        (
            "attempts",
            format!(
                "{} started, {} finished",
                view.attempts_started, view.attempts_finished
            ),
        ),
        ("answers", view.answers.to_string()),
        ("timeouts", view.timeouts.to_string()),
        ("lines too long", view.lines_too_long.to_string()),
        (
            "asks",
            format!("{} ({} refused, too fast)", view.asks, view.asks_refused),
        ),
        ("bytes in", bytes(view.bytes_in)),
        ("bytes out", bytes(view.bytes_out)),
        ("uptime", human_duration(view.uptime)),
    ])
}

/// `1 student`, `2 students`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `key: value` lines with the values lined up.
fn key_values(pairs: &[(&str, String)]) -> Vec<String> {
    let width = pairs
        .iter()
        .map(|(key, _)| key.len() + 1)
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}", format!("{key}:")))
        .collect()
}

/// Columns two spaces apart, each as wide as its widest cell (in characters); `right` says
/// which ones are aligned right. No trailing spaces.
fn table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i > 0 {
                text.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                text.push_str(&format!("{cell:>width$}"));
            } else {
                text.push_str(&format!("{cell:<width$}"));
            }
        }
        text.truncate(text.trim_end().len());
        text
    };
    let mut lines = vec![line(&mut header.iter().copied())];
    lines.extend(
        rows.iter()
            .map(|row| line(&mut row.iter().map(String::as_str))),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-Token";
    const PROMPT_AFTER_ERROR: &str = "\r\nadmin> ";

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).expect("console output is UTF-8")
    }

    fn connect() -> (Console, String) {
        let mut out = Vec::new();
        let console = Console::new(&mut out);
        (console, text(out))
    }

    fn send(console: &mut Console, line: &str) -> (Option<Request>, String) {
        let mut out = Vec::new();
        let request = console.on_line(line, TOKEN, &mut out);
        (request, text(out))
    }

    fn logged_in() -> Console {
        let (mut console, _) = connect();
        let (request, shown) = send(&mut console, TOKEN);
        assert_eq!(request, None);
        assert!(shown.ends_with("admin> "), "{shown:?}");
        console
    }

    #[test]
    fn a_token_timeout_closes_a_console_still_at_the_token_prompt_and_nothing_else() {
        let wait = std::time::Duration::from_millis(1500);
        let (mut console, _) = connect();
        let mut out = Vec::new();
        console.on_token_timeout(&mut out, wait);
        assert_eq!(text(out), "\r\nerror: no token given in 2 s; closing.\r\n");
        assert!(console.is_closed());
        let mut again = Vec::new();
        console.on_token_timeout(&mut again, wait);
        assert!(again.is_empty(), "closed already");
        let mut inside = logged_in();
        let mut out = Vec::new();
        inside.on_token_timeout(&mut out, wait);
        assert!(out.is_empty());
        assert!(inside.is_authenticated() && !inside.is_closed());
    }

    /// The request a command line makes, asserting the console wrote nothing itself.
    fn request(line: &str) -> Request {
        let mut console = logged_in();
        let (request, shown) = send(&mut console, line);
        assert_eq!(shown, "", "{line:?}");
        request.unwrap_or_else(|| panic!("no request for {line:?}"))
    }

    /// The console's own answer to a command line, asserting it made no request.
    fn answer(line: &str) -> String {
        let mut console = logged_in();
        let (request, shown) = send(&mut console, line);
        assert_eq!(request, None, "{line:?}");
        assert!(console.is_authenticated());
        shown
    }

    fn error(message: &str) -> String {
        format!("error: {message}{PROMPT_AFTER_ERROR}")
    }

    // --- token ---

    #[test]
    fn greeting_asks_for_the_token() {
        let (console, shown) = connect();
        assert_eq!(
            shown,
            "quizd teacher console. Type the token (from --admin-token or the server's log).\r\n\
             token> "
        );
        assert!(!console.is_authenticated());
    }

    #[test]
    fn right_token_logs_in() {
        let (mut console, _) = connect();
        let (request, shown) = send(&mut console, TOKEN);
        assert_eq!(request, None);
        assert_eq!(
            shown,
            "ok: token accepted. Type help for the commands.\r\nadmin> "
        );
        assert!(console.is_authenticated());
    }

    #[test]
    fn wrong_then_right_token_logs_in() {
        let (mut console, _) = connect();
        assert_eq!(
            send(&mut console, "guess"),
            (None, "error: wrong token\r\ntoken> ".into())
        );
        assert!(!console.is_authenticated());
        assert_eq!(
            send(&mut console, "s3cret-token"),
            (None, "error: wrong token\r\ntoken> ".into())
        );
        let (request, shown) = send(&mut console, TOKEN);
        assert_eq!(request, None);
        assert!(shown.starts_with("ok: "), "{shown:?}");
        assert!(console.is_authenticated());
    }

    #[test]
    fn third_wrong_token_closes() {
        let (mut console, _) = connect();
        send(&mut console, "a");
        send(&mut console, TOKEN.to_uppercase().as_str());
        assert_eq!(
            send(&mut console, &TOKEN[..TOKEN.len() - 1]),
            (
                Some(Request::Close {
                    reason: CloseReason::WrongToken
                }),
                "error: wrong token; closing\r\n".into()
            )
        );
        assert!(console.is_closed());
        assert!(!console.is_authenticated());
        // Nothing gets through any more, not even the right token.
        assert_eq!(send(&mut console, TOKEN), (None, String::new()));
        assert_eq!(send(&mut console, "status"), (None, String::new()));
    }

    #[test]
    fn token_is_trimmed_on_both_sides() {
        let (mut console, _) = connect();
        let mut out = Vec::new();
        assert_eq!(console.on_line(" \t s3cret \t", "s3cret\n", &mut out), None);
        assert!(console.is_authenticated());
        // Inner spaces count.
        let (mut console, _) = connect();
        assert_eq!(console.on_line("s3 cret", "s3cret", &mut out), None);
        assert!(!console.is_authenticated());
    }

    #[test]
    fn empty_line_at_the_token_prompt_is_not_a_try() {
        let (mut console, _) = connect();
        for _ in 0..10 {
            assert_eq!(send(&mut console, "  "), (None, "token> ".into()));
        }
        send(&mut console, "wrong");
        send(&mut console, "wrong");
        send(&mut console, TOKEN);
        assert!(console.is_authenticated());
    }

    #[test]
    fn empty_configured_token_never_matches() {
        let (mut console, _) = connect();
        let mut out = Vec::new();
        assert_eq!(console.on_line("", "", &mut out), None);
        assert_eq!(console.on_line("x", " ", &mut out), None);
        assert!(!console.is_authenticated());
        assert_eq!(text(out), "token> error: wrong token\r\ntoken> ".to_owned());
    }

    #[test]
    fn commands_are_not_run_before_the_token() {
        let (mut console, _) = connect();
        assert_eq!(
            send(&mut console, "shutdown"),
            (None, "error: wrong token\r\ntoken> ".into())
        );
        assert_eq!(
            send(&mut console, "help"),
            (None, "error: wrong token\r\ntoken> ".into())
        );
    }

    #[test]
    fn too_long_line_at_the_token_prompt_is_not_a_try() {
        let (mut console, _) = connect();
        let mut out = Vec::new();
        for _ in 0..5 {
            console.on_too_long(&mut out);
        }
        assert!(text(out).starts_with("error: line too long (max 1024 bytes)\r\ntoken> error:"));
        send(&mut console, "wrong");
        send(&mut console, "wrong");
        send(&mut console, TOKEN);
        assert!(console.is_authenticated());
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"xbc"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
        // Differences that cancel out under a sum do not cancel under OR.
        assert!(!constant_time_eq(&[1, 2], &[2, 1]));
        assert!(!constant_time_eq(&[0x0f, 0xf0], &[0xf0, 0x0f]));
        let long: Vec<u8> = (0..=255).collect();
        let mut other = long.clone();
        assert!(constant_time_eq(&long, &other));
        other[255] ^= 0x80;
        assert!(!constant_time_eq(&long, &other));
    }

    #[test]
    fn random_tokens_use_the_unambiguous_alphabet() {
        let first = random_token();
        assert_eq!(first.chars().count(), TOKEN_CHARS);
        for _ in 0..200 {
            let token = random_token();
            assert_eq!(token.len(), TOKEN_CHARS);
            assert!(
                token.bytes().all(|b| TOKEN_ALPHABET.contains(&b)),
                "{token}"
            );
            assert!(!token.contains(['0', 'O', 'o', '1', 'l', 'I']), "{token}");
            assert_ne!(token, first);
        }
        assert_eq!(TOKEN_ALPHABET.len(), 56);
    }

    // --- commands ---

    #[test]
    fn bare_commands_in_any_case() {
        let cases = [
            ("status", Request::Status),
            ("who", Request::Who),
            ("start", Request::Start),
            ("next", Request::Next),
            ("end", Request::End),
            ("reload", Request::Reload),
            ("results", Request::Results),
            ("stats", Request::Stats),
            ("shutdown", Request::Shutdown),
        ];
        for (word, expected) in cases {
            assert_eq!(request(word), expected);
            assert_eq!(request(&word.to_uppercase()), expected);
            assert_eq!(request(&format!("  /{word}\t")), expected);
            let mut mixed = word.to_owned();
            mixed[..1].make_ascii_uppercase();
            assert_eq!(request(&mixed), expected);
        }
    }

    #[test]
    fn bare_commands_refuse_arguments() {
        assert_eq!(answer("start now"), error("usage: start (no arguments)"));
        assert_eq!(
            answer("SHUTDOWN please"),
            error("usage: shutdown (no arguments)")
        );
    }

    #[test]
    fn kick_takes_the_rest_of_the_line_as_the_name() {
        let kick = |name: &str| Request::Kick { name: name.into() };
        assert_eq!(request("kick alice"), kick("alice"));
        assert_eq!(request("KICK  Ann   Lee "), kick("Ann Lee"));
        assert_eq!(request("kick \"Ann  Lee\""), kick("Ann Lee"));
        assert_eq!(request("kick al\u{200b}ice\u{202e}"), kick("alice"));
        assert_eq!(
            request(&format!("kick {}", "n".repeat(32))),
            kick(&"n".repeat(32))
        );
    }

    #[test]
    fn kick_errors() {
        assert_eq!(answer("kick"), error("usage: kick NAME"));
        assert_eq!(answer("kick  \u{200b} "), error("usage: kick NAME"));
        assert_eq!(answer("kick \"\""), error("usage: kick NAME"));
        assert_eq!(answer("kick \"Ann Lee"), error("unclosed quote"));
        assert_eq!(answer("kick \"Ann\" Lee"), error("usage: kick NAME"));
        assert_eq!(
            answer(&format!("kick {}", "n".repeat(33))),
            error("name too long (max 32 characters)")
        );
    }

    #[test]
    fn say_sanitises_its_text() {
        let say = |text: &str| Request::Say { text: text.into() };
        assert_eq!(request("say Two minutes left!"), say("Two minutes left!"));
        assert_eq!(request("SAY   spaced    out  "), say("spaced out"));
        assert_eq!(request("say \u{1b}[2Jgone\u{202e}\u{200b}"), say("[2Jgone"));
        let Request::Say { text } = request(&format!("say {}", "x".repeat(2000))) else {
            panic!("not a say");
        };
        assert_eq!(text.chars().count(), MAX_MESSAGE_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn say_needs_text() {
        assert_eq!(answer("say"), error("usage: say TEXT"));
        assert_eq!(answer("say   "), error("usage: say TEXT"));
        assert_eq!(answer("say \u{200b}\u{202e}"), error("usage: say TEXT"));
    }

    #[test]
    fn tell_takes_a_name_word_or_a_quoted_name() {
        let tell = |name: &str, text: &str| Request::Tell {
            name: name.into(),
            text: text.into(),
        };
        assert_eq!(request("tell bob hi there"), tell("bob", "hi there"));
        assert_eq!(request("Tell  bob\t hi   there "), tell("bob", "hi there"));
        assert_eq!(
            request("tell \"Ann Lee\" see me after class"),
            tell("Ann Lee", "see me after class")
        );
        assert_eq!(request("tell \"Ann Lee\"see me"), tell("Ann Lee", "see me"));
        assert_eq!(request("tell bob \u{1b}]0;x\u{7}hi"), tell("bob", "]0;xhi"));
    }

    #[test]
    fn tell_errors() {
        assert_eq!(answer("tell"), error("usage: tell NAME TEXT"));
        assert_eq!(answer("tell bob"), error("usage: tell NAME TEXT"));
        assert_eq!(answer("tell bob \u{200b}"), error("usage: tell NAME TEXT"));
        assert_eq!(answer("tell \"\" hi"), error("usage: tell NAME TEXT"));
        assert_eq!(answer("tell \"Ann Lee hi"), error("unclosed quote"));
        assert_eq!(
            answer(&format!("tell {} hi", "n".repeat(40))),
            error("name too long (max 32 characters)")
        );
    }

    #[test]
    fn load_takes_paths_quoted_or_not() {
        let load = |paths: &[&str]| Request::Load {
            paths: paths.iter().map(PathBuf::from).collect(),
        };
        assert_eq!(request("load a.txt"), load(&["a.txt"]));
        assert_eq!(
            request("LOAD  questions/a.txt   /srv/b.gift dir"),
            load(&["questions/a.txt", "/srv/b.gift", "dir"])
        );
        assert_eq!(
            request("load \"my banks/a.txt\" b.txt"),
            load(&["my banks/a.txt", "b.txt"])
        );
    }

    #[test]
    fn load_errors() {
        assert_eq!(
            answer("load"),
            error("usage: load PATH... (\"quotes\" around a path with spaces)")
        );
        assert_eq!(answer("load a.txt \"b c.txt"), error("unclosed quote"));
    }

    #[test]
    fn top_takes_an_optional_bounded_number() {
        assert_eq!(request("top"), Request::Top { n: DEFAULT_TOP });
        assert_eq!(request("top 3"), Request::Top { n: 3 });
        assert_eq!(request("TOP  100 "), Request::Top { n: MAX_TOP });
        assert_eq!(request("top 1"), Request::Top { n: 1 });
        for bad in [
            "top 0",
            "top 101",
            "top x",
            "top -1",
            "top 3 4",
            "top 1e3",
            "top 99999999999999999999999",
        ] {
            assert_eq!(
                answer(bad),
                error("usage: top [N] (N from 1 to 100)"),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_command_names_itself() {
        assert_eq!(
            answer("frobnicate now"),
            error("unknown command frobnicate (type help)")
        );
        assert_eq!(answer("Kik bob"), error("unknown command Kik (type help)"));
        let long = "z".repeat(100);
        assert_eq!(
            answer(&long),
            error(&format!("unknown command {}… (type help)", "z".repeat(39)))
        );
    }

    #[test]
    fn empty_line_shows_the_prompt_again() {
        assert_eq!(answer(""), "admin> ");
        assert_eq!(answer(" \t "), "admin> ");
    }

    #[test]
    fn too_long_line_at_the_prompt_is_an_error() {
        let mut console = logged_in();
        let mut out = Vec::new();
        console.on_too_long(&mut out);
        assert_eq!(text(out), error("line too long (max 1024 bytes)"));
        assert!(console.is_authenticated());
    }

    #[test]
    fn help_is_a_block_listing_every_command() {
        let shown = answer("help");
        assert_eq!(answer("HELP"), shown);
        assert_eq!(answer("?"), shown);
        assert_eq!(answer("/help"), shown);
        assert!(shown.starts_with("Commands (any case"), "{shown}");
        assert!(shown.ends_with("\r\n.\r\nadmin> "), "{shown}");
        let lines: Vec<&str> = shown.split("\r\n").collect();
        assert_eq!(lines.len(), HELP.len() + 2);
        for line in &lines {
            assert!(line.chars().count() < 80, "{line}");
        }
        for command in [
            "status",
            "who",
            "start",
            "next",
            "end",
            "kick NAME",
            "say TEXT",
            "tell NAME TEXT",
            "load PATH...",
            "reload",
            "upload NAME",
            "results",
            "top [N]",
            "stats",
            "shutdown",
            "quit",
            "help",
        ] {
            assert!(
                HELP.iter()
                    .any(|line| line.starts_with(&format!("  {command} "))),
                "{command}"
            );
        }
    }

    #[test]
    fn quit_closes() {
        for word in ["quit", "EXIT", "bye"] {
            let mut console = logged_in();
            assert_eq!(
                send(&mut console, word),
                (
                    Some(Request::Close {
                        reason: CloseReason::Quit
                    }),
                    "Bye.\r\n".into()
                )
            );
            assert!(console.is_closed());
            assert_eq!(send(&mut console, "status"), (None, String::new()));
        }
    }

    #[test]
    fn ctrl_c_closes_at_either_prompt() {
        let mut console = logged_in();
        let mut out = Vec::new();
        assert_eq!(
            console.on_leave(&mut out),
            Some(Request::Close {
                reason: CloseReason::Quit
            })
        );
        assert_eq!(text(out), "Bye.\r\n");
        let (mut console, _) = connect();
        let mut out = Vec::new();
        assert!(console.on_leave(&mut out).is_some());
        assert!(console.is_closed());
        assert_eq!(console.on_leave(&mut out), None);
    }

    // --- upload ---

    /// A logged-in console in the middle of uploading `name`.
    fn uploading(name: &str) -> Console {
        let mut console = logged_in();
        let (request, shown) = send(&mut console, &format!("upload {name}"));
        assert_eq!(request, None);
        assert_eq!(
            shown,
            "Send the bank's lines, then a line holding only \".\".\r\n"
        );
        assert!(console.is_uploading());
        console
    }

    #[test]
    fn upload_returns_the_text_exactly_with_dot_stuffing_undone() {
        let mut console = uploading("Bank-1.txt");
        for line in [
            "What does TCP stand for?",
            "A. Transmission Control Protocol",
            "  indented, trailing  ",
            "",
            "..hidden by stuffing",
            "...two dots left",
            ".single dot kept",
            ". ",
            "ANSWER: A",
        ] {
            // No prompt, no echo: scripts pipe the file.
            assert_eq!(send(&mut console, line), (None, String::new()));
        }
        assert_eq!(
            send(&mut console, "."),
            (
                Some(Request::Upload {
                    name: "Bank-1.txt".into(),
                    text: "What does TCP stand for?\n\
                           A. Transmission Control Protocol\n  \
                           indented, trailing  \n\
                           \n\
                           .hidden by stuffing\n\
                           ..two dots left\n\
                           .single dot kept\n\
                           . \n\
                           ANSWER: A\n"
                        .into()
                }),
                String::new()
            )
        );
        assert!(!console.is_uploading());
        let mut out = Vec::new();
        console.reply_line(&mut out, "ok: 1 questions");
        assert_eq!(text(out), "ok: 1 questions\r\nadmin> ");
        assert_eq!(
            send(&mut console, "who"),
            (Some(Request::Who), String::new())
        );
    }

    #[test]
    fn upload_lines_are_not_commands() {
        let mut console = uploading("a.gift");
        for line in ["shutdown", "quit", "help", "upload b.txt", "..", "token"] {
            assert_eq!(send(&mut console, line), (None, String::new()));
        }
        let (request, _) = send(&mut console, ".");
        assert_eq!(
            request,
            Some(Request::Upload {
                name: "a.gift".into(),
                text: "shutdown\nquit\nhelp\nupload b.txt\n.\ntoken\n".into()
            })
        );
    }

    #[test]
    fn upload_names_that_are_accepted() {
        for name in [
            "a.txt",
            "a.TXT",
            "Net-1_b.Gift",
            "x+y.gift",
            "v1.2.txt",
            "réseaux.txt",
        ] {
            let mut console = uploading(name);
            send(&mut console, "line");
            let (request, _) = send(&mut console, ".");
            assert_eq!(
                request,
                Some(Request::Upload {
                    name: name.into(),
                    text: "line\n".into()
                })
            );
        }
        uploading(&format!("{}.txt", "n".repeat(MAX_UPLOAD_NAME_CHARS - 4)));
    }

    #[test]
    fn upload_names_that_are_refused() {
        let extension = "usage: upload NAME.txt|NAME.gift (.txt for Aiken, .gift for GIFT)";
        let plain =
            "upload name: a plain file name, with letters, digits, '-', '_', '+' and '.' only";
        let cases = [
            ("upload", "usage: upload NAME.txt|NAME.gift"),
            ("upload a", extension),
            ("upload a.md", extension),
            ("upload a.txt.bak", extension),
            ("upload txt", extension),
            ("upload .txt", "upload name cannot start with '.'"),
            ("upload .hidden.gift", "upload name cannot start with '.'"),
            ("upload ../a.txt", "upload name cannot start with '.'"),
            ("upload dir/a.txt", plain),
            ("upload /etc/a.txt", plain),
            ("upload a\\b.txt", plain),
            ("upload c:a.txt", plain),
            ("upload a\u{202e}txt.gift", plain),
            ("upload a\u{200b}.txt", plain),
            ("upload a*.txt", plain),
            (
                "upload a b.txt",
                "usage: upload NAME.txt|NAME.gift (one name, no spaces)",
            ),
        ];
        for (line, message) in cases {
            assert_eq!(answer(line), error(message), "{line}");
        }
        assert_eq!(
            answer(&format!(
                "upload {}.txt",
                "n".repeat(MAX_UPLOAD_NAME_CHARS - 3)
            )),
            error("upload name too long (max 64 characters)")
        );
    }

    #[test]
    fn empty_upload_is_an_error() {
        let mut console = uploading("a.txt");
        assert_eq!(
            send(&mut console, "."),
            (
                None,
                error(
                    "a.txt: empty upload (send the bank's lines, then a line holding only \".\")"
                )
            )
        );
        assert!(console.is_authenticated() && !console.is_uploading());
    }

    /// Sends `lines` lines of `len` bytes each, then one more of `extra` bytes if given.
    fn fill(console: &mut Console, lines: usize, len: usize, extra: Option<usize>) {
        let line = "a".repeat(len);
        let mut out = Vec::new();
        for _ in 0..lines {
            assert_eq!(console.on_line(&line, TOKEN, &mut out), None);
        }
        if let Some(extra) = extra {
            assert_eq!(console.on_line(&"b".repeat(extra), TOKEN, &mut out), None);
        }
        assert!(out.is_empty());
    }

    #[test]
    fn upload_of_exactly_the_cap_is_accepted() {
        let mut console = uploading("big.txt");
        // 4096 lines of 1023 bytes and a newline: 4 MiB.
        fill(&mut console, 4096, 1023, None);
        let (request, shown) = send(&mut console, ".");
        assert_eq!(shown, "");
        let Some(Request::Upload { text, .. }) = request else {
            panic!("no upload");
        };
        assert_eq!(text.len(), MAX_UPLOAD_BYTES);
    }

    #[test]
    fn upload_over_the_cap_is_consumed_to_the_dot_and_refused() {
        let mut console = uploading("big.txt");
        fill(&mut console, 4096, 1023, Some(0));
        // Everything after the cap is skipped, kept nowhere.
        let State::Uploading(upload) = &console.state else {
            panic!("not uploading");
        };
        assert_eq!(upload.text.capacity(), 0);
        fill(&mut console, 100, 1000, None);
        assert_eq!(send(&mut console, "..shutdown"), (None, String::new()));
        assert_eq!(send(&mut console, "shutdown"), (None, String::new()));
        assert_eq!(
            send(&mut console, "."),
            (None, error("upload too large (max 4 MiB)"))
        );
        assert_eq!(
            send(&mut console, "stats"),
            (Some(Request::Stats), String::new())
        );
    }

    #[test]
    fn upload_with_a_line_over_the_decoder_limit_is_refused_with_its_line_number() {
        let mut console = uploading("b.gift");
        send(&mut console, "first");
        let mut out = Vec::new();
        console.on_too_long(&mut out);
        assert_eq!(out, b"");
        send(&mut console, "third");
        console.on_too_long(&mut out);
        assert_eq!(
            send(&mut console, "."),
            (None, error("b.gift:2: line too long (max 1024 bytes)"))
        );
    }

    #[test]
    fn ctrl_c_cancels_an_upload_and_keeps_the_console() {
        let mut console = uploading("a.txt");
        send(&mut console, "line");
        let mut out = Vec::new();
        assert_eq!(console.on_leave(&mut out), None);
        assert_eq!(text(out), error("upload cancelled"));
        assert!(console.is_authenticated() && !console.is_uploading());
        assert_eq!(
            send(&mut console, "."),
            (None, error("unknown command . (type help)"))
        );
    }

    // --- replies and notices ---

    #[test]
    fn reply_block_dot_stuffs_and_ends_with_a_dot_line() {
        let console = logged_in();
        let mut out = Vec::new();
        console.reply_block(&mut out, ["a", ".b", "..c", ".", "", "x\r\ny\n", "z\n\n"]);
        assert_eq!(
            text(out),
            "a\r\n..b\r\n...c\r\n..\r\n\r\nx\r\ny\r\nz\r\n\r\n.\r\nadmin> "
        );
        let mut out = Vec::new();
        console.reply_block(&mut out, Vec::<String>::new());
        assert_eq!(text(out), ".\r\nadmin> ");
    }

    #[test]
    fn reply_block_carries_a_whole_csv() {
        let console = logged_in();
        let mut out = Vec::new();
        let csv = "name,score\r\nalice,3\r\n.bob,2\r\n".to_owned();
        console.reply_block(&mut out, [csv]);
        assert_eq!(
            text(out),
            "name,score\r\nalice,3\r\n..bob,2\r\n.\r\nadmin> "
        );
    }

    #[test]
    fn reply_line_writes_each_line_then_the_prompt() {
        let console = logged_in();
        let mut out = Vec::new();
        console.reply_line(&mut out, "ok: quiz started");
        console.reply_line(&mut out, "error: a.txt:1: bad\nerror: a.txt:9: worse");
        assert_eq!(
            text(out),
            "ok: quiz started\r\nadmin> error: a.txt:1: bad\r\nerror: a.txt:9: worse\r\nadmin> "
        );
    }

    #[test]
    fn notice_only_after_the_token() {
        let (mut console, _) = connect();
        let mut out = Vec::new();
        console.notice(&mut out, "ask from alice (127.0.0.1:5000): is b) a trick?");
        assert_eq!(out, b"");
        send(&mut console, "wrong");
        console.notice(&mut out, "ask from alice (127.0.0.1:5000): hello?");
        assert_eq!(out, b"");
        send(&mut console, TOKEN);
        console.notice(&mut out, "ask from alice (127.0.0.1:5000): is b) a trick?");
        assert_eq!(
            text(out),
            "\r\nask from alice (127.0.0.1:5000): is b) a trick?\r\nadmin> "
        );
    }

    #[test]
    fn notice_is_sanitised() {
        let console = logged_in();
        let mut out = Vec::new();
        console.notice(&mut out, "ask from bob: hi\r\nerror: fake\u{1b}[2J\u{202e}");
        assert_eq!(text(out), "\r\nask from bob: hi error: fake[2J\r\nadmin> ");
    }

    #[test]
    fn notice_during_an_upload_has_no_prompt_and_does_not_end_it() {
        let mut console = uploading("a.txt");
        send(&mut console, "one");
        let mut out = Vec::new();
        console.notice(&mut out, "ask from bob: hi");
        assert_eq!(text(out), "ask from bob: hi\r\n");
        send(&mut console, "two");
        let (request, _) = send(&mut console, ".");
        assert_eq!(
            request,
            Some(Request::Upload {
                name: "a.txt".into(),
                text: "one\ntwo\n".into()
            })
        );
    }

    #[test]
    fn notice_after_close_is_silent() {
        let mut console = logged_in();
        send(&mut console, "quit");
        let mut out = Vec::new();
        console.notice(&mut out, "ask from bob: hi");
        assert_eq!(out, b"");
    }

    // --- renderers ---

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn who_is_aligned_and_sorted_by_name() {
        let rows = [
            WhoRow {
                name: "bob".into(),
                peer: addr("10.0.0.2:5001"),
                state: "question 3/10".into(),
                score: Some((2, 3)),
                idle: Duration::from_secs(5),
            },
            WhoRow {
                name: String::new(),
                peer: addr("10.0.0.9:6000"),
                state: "naming".into(),
                score: None,
                idle: Duration::from_secs(12),
            },
            WhoRow {
                name: "Alice".into(),
                peer: addr("127.0.0.1:40000"),
                state: "done".into(),
                score: Some((10, 10)),
                idle: Duration::from_secs(185),
            },
        ];
        assert_eq!(
            render_who(&rows),
            [
                "name   address          state          score   idle",
                "Alice  127.0.0.1:40000  done           10/10  3m05s",
                "bob    10.0.0.2:5001    question 3/10    2/3     5s",
                "-      10.0.0.9:6000    naming             -    12s",
            ]
        );
        assert_eq!(render_who(&[]), ["name  address  state  score  idle"]);
    }

    #[test]
    fn who_sanitises_names() {
        let rows = [WhoRow {
            name: "ev\u{202e}il\u{1b}[2J".into(),
            peer: addr("[::1]:7000"),
            state: "lobby".into(),
            score: None,
            idle: Duration::ZERO,
        }];
        assert_eq!(
            render_who(&rows)[1],
            "evil[2J  [::1]:7000  lobby      -    0s"
        );
    }

    #[test]
    fn top_is_aligned_with_percentages() {
        let rows = [
            TopRow {
                rank: 1,
                name: "alice".into(),
                score: 10,
                max: 10,
                time: Duration::from_secs(252),
            },
            TopRow {
                rank: 2,
                name: "Bartholomew".into(),
                score: 7,
                max: 10,
                time: Duration::from_secs(59),
            },
            TopRow {
                rank: 2,
                name: "cy".into(),
                score: 7,
                max: 10,
                time: Duration::from_secs(3725),
            },
        ];
        assert_eq!(
            render_top(&rows),
            [
                "#  name         score     %   time",
                "1  alice        10/10  100%  4m12s",
                "2  Bartholomew   7/10   70%    59s",
                "2  cy            7/10   70%  1h02m",
            ]
        );
        assert_eq!(render_top(&[]), ["#  name  score  %  time"]);
    }

    #[test]
    fn stats_are_key_value_lines_in_human_units() {
        let view = StatsView {
            connected_students: 24,
            connected_teachers: 1,
            peak_connections: 30,
            accepted_total: 41,
            rejected_full: 2,
            closed_output_cap: 0,
            wrong_token_closes: 1,
            attempts_started: 40,
            attempts_finished: 16,
            answers: 380,
            timeouts: 12,
            lines_too_long: 3,
            asks: 5,
            asks_refused: 2,
            bytes_in: 900,
            bytes_out: 1_572_864,
            uptime: Duration::from_secs(3 * 3600 + 7 * 60 + 9),
        };
        assert_eq!(
            render_stats(&view),
            [
                "connected:            24 students, 1 teacher (peak 30)",
                "accepted:             41",
                "refused (full):       2",
                "closed (output cap):  0",
                "closed (wrong token): 1",
                "attempts:             40 started, 16 finished",
                "answers:              380",
                "timeouts:             12",
                "lines too long:       3",
                "asks:                 5 (2 refused, too fast)",
                "bytes in:             900 B",
                "bytes out:            1.5 MiB (1572864 B)",
                "uptime:               3h07m",
            ]
        );
    }

    #[test]
    fn status_shows_the_quiz_and_where_students_are() {
        let live = StatusView {
            mode: Mode::Live,
            title: "networks".into(),
            questions: 40,
            per_attempt: Some(10),
            files: vec!["questions/networks.gift".into()],
            students_connected: 25,
            in_quiz: 20,
            finished: 5,
            live_phase: Some("question 3 of 10, 12 s left".into()),
        };
        assert_eq!(
            render_status(&live),
            [
                "quiz:              networks",
                "questions:         40, 10 per attempt (from questions/networks.gift)",
                "mode:              live: question 3 of 10, 12 s left",
                "students:          25 connected, 20 in the quiz",
                "attempts finished: 5",
            ]
        );
        let self_paced = StatusView {
            mode: Mode::SelfPaced,
            title: "sockets".into(),
            questions: 12,
            per_attempt: None,
            files: Vec::new(),
            students_connected: 0,
            in_quiz: 0,
            finished: 0,
            live_phase: None,
        };
        assert_eq!(
            render_status(&self_paced),
            [
                "quiz:              sockets",
                "questions:         12",
                "mode:              self-paced",
                "students:          0 connected, 0 in the quiz",
                "attempts finished: 0",
            ]
        );
    }
}
