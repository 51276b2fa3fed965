//! The teacher console, as a pure state machine: token, commands, uploads, replies.
//!
//! One [`Console`] per teacher connection. It never sees a socket or a clock: the room hands
//! it each decoded input line and it writes what the teacher should see into an output buffer.
//! It decides alone what needs no room state (the token check, parsing, usage errors, `help`,
//! collecting an upload) and returns a [`Request`] for everything else. The room carries out
//! the request (`room/teacher.rs`) and answers with one reply helper, which also prints the
//! prompt again:
//! [`Console::reply_line`] for status lines (`ok: ...`, `error: ...`), [`Console::reply_block`]
//! for data (several lines, dot-stuffed, ending with a line holding a single `.`). Lines that
//! arrive unasked (a student's `/ask`) go through [`Console::notice`].
//!
//! Call order: [`Console::new`] once, then any number of [`Console::on_line`],
//! [`Console::on_too_long`], [`Console::on_leave`], [`Console::on_token_timeout`] and
//! [`Console::notice`]. When one of the `on_*` calls returns a [`Request`] other than
//! [`Request::Close`], the room answers it with exactly one reply helper before feeding the next
//! line. After `Close`, the console ignores everything and the connection closes once the output
//! is sent.
//!
//! The files: this one is the state machine; [`grammar`] says what a typed line means (one arm
//! per command); [`render`] turns the views the room fills in into the lines of `status`, `who`,
//! `top` and `stats`.

pub mod grammar;
pub mod render;

use std::fmt;

use crate::limits::{MAX_LINE, MAX_NOTICE_CHARS, MAX_TOKEN_TRIES, MAX_UPLOAD_BYTES};
use crate::text::{human_bytes, sanitize};
use crate::wire::{ADMIN_PROMPT, TOKEN_PROMPT};
pub use grammar::{CloseReason, DEFAULT_TOP, Request};
use grammar::{Command, HELP, parse_command};

const GREETING: &str =
    "quizd teacher console. Type the token (from --admin-token or the server's log).";
const WELCOME: &str = "ok: token accepted. Type help for the commands.";
const UPLOAD_GO_AHEAD: &str = "Send the bank's lines, then a line holding only \".\".";

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

/// One teacher's connection: token check, commands, uploads.
#[derive(Debug)]
pub struct Console {
    state: State,
    /// Whether the token was ever given (a closed console may have been a teacher's).
    trusted: bool,
}

impl Console {
    /// A new connection: greets the teacher and asks for the token.
    pub fn new(out: &mut Vec<u8>) -> Console {
        put(out, GREETING);
        // A telnet client stops echoing while the token is typed (the room tells the
        // decoder); `nc` prints nothing of this over the prompt.
        out.extend_from_slice(crate::telnet::HIDE_INPUT);
        out.extend_from_slice(TOKEN_PROMPT.as_bytes());
        Console {
            state: State::Token { wrong: 0 },
            trusted: false,
        }
    }

    /// True while the console waits for the token.
    pub fn awaiting_token(&self) -> bool {
        matches!(self.state, State::Token { .. })
    }

    /// Closes the console at once (the room needs its slot); the caller says why.
    pub fn close_now(&mut self) {
        self.set_state(State::Closed);
    }

    /// A token typed while its address must wait: not heard, but counted as a try; the third
    /// closes the console. `why` is the error line to show.
    pub fn unheard_try(&mut self, out: &mut Vec<u8>, why: &str) -> Option<Request> {
        let State::Token { wrong } = self.state else {
            return None;
        };
        // As after any token: the client echoed nothing of it, not its Enter.
        out.extend_from_slice(b"\r\n");
        let wrong = wrong + 1;
        if wrong >= MAX_TOKEN_TRIES {
            self.set_state(State::Closed);
            put(out, &format!("{why}; closing"));
            return Some(Request::Close {
                reason: CloseReason::WrongToken,
            });
        }
        self.set_state(State::Token { wrong });
        self.reply_line(out, why);
        None
    }

    /// Wrong tokens typed on this console so far.
    pub fn wrong_tokens(&self) -> u32 {
        match self.state {
            State::Token { wrong } => wrong,
            _ => 0,
        }
    }

    /// True once the right token was given (and until the console closes).
    /// Whether the token was given at some point (true after a teacher's `quit` too).
    pub fn gave_token(&self) -> bool {
        self.trusted
    }

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
        self.trusted |= matches!(to, State::Ready);
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
        put(out, crate::wire::END_OF_BLOCK);
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
        // The client echoed nothing of the token, not even its Enter: a new line first.
        out.extend_from_slice(b"\r\n");
        if typed.is_empty() {
            // Enter on its own is not a guess.
            self.prompt(out);
            return None;
        }
        let expected = token.trim();
        if !expected.is_empty() && constant_time_eq(typed.as_bytes(), expected.as_bytes()) {
            self.set_state(State::Ready);
            log::debug!("teacher console: token accepted");
            // The client echoes again from here.
            out.extend_from_slice(crate::telnet::SHOW_INPUT);
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

use crate::wire::line as put;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_MESSAGE_CHARS, MAX_TOP, MAX_UPLOAD_NAME_CHARS};
    use std::path::PathBuf;

    const TOKEN: &str = "s3cret-Token";
    const PROMPT_AFTER_ERROR: &str = "\r\nadmin> ";

    /// The console's output as text, with the telnet ECHO commands (and the CR each comes
    /// with) taken out: they are checked on their own.
    fn text(out: Vec<u8>) -> String {
        let mut out = String::from_utf8_lossy(&out).into_owned();
        for (bytes, marker) in [
            (crate::telnet::HIDE_INPUT, ""),
            (crate::telnet::SHOW_INPUT, ""),
        ] {
            out = out.replace(&*String::from_utf8_lossy(bytes), marker);
        }
        out
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
    fn the_token_is_typed_with_echo_off_and_echo_comes_back_with_the_welcome() {
        let mut out = Vec::new();
        let mut console = Console::new(&mut out);
        assert!(
            out.ends_with(b"\xff\xfb\x01\rtoken> "),
            "IAC WILL ECHO, then the prompt: {out:?}"
        );
        let mut out = Vec::new();
        console.on_line(TOKEN, TOKEN, &mut out);
        assert!(
            out.starts_with(b"\r\n\xff\xfc\x01\rok: token accepted"),
            "a new line (the Enter was not echoed), IAC WONT ECHO, the welcome: {out:?}"
        );
    }

    #[test]
    fn right_token_logs_in() {
        let (mut console, _) = connect();
        let (request, shown) = send(&mut console, TOKEN);
        assert_eq!(request, None);
        assert_eq!(
            shown,
            "\r\nok: token accepted. Type help for the commands.\r\nadmin> "
        );
        assert!(console.is_authenticated());
    }

    #[test]
    fn wrong_then_right_token_logs_in() {
        let (mut console, _) = connect();
        assert_eq!(
            send(&mut console, "guess"),
            (None, "\r\nerror: wrong token\r\ntoken> ".into())
        );
        assert!(!console.is_authenticated());
        assert_eq!(
            send(&mut console, "s3cret-token"),
            (None, "\r\nerror: wrong token\r\ntoken> ".into())
        );
        let (request, shown) = send(&mut console, TOKEN);
        assert_eq!(request, None);
        assert!(shown.starts_with("\r\nok: "), "{shown:?}");
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
                "\r\nerror: wrong token; closing\r\n".into()
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
            assert_eq!(send(&mut console, "  "), (None, "\r\ntoken> ".into()));
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
        assert_eq!(
            text(out),
            "\r\ntoken> \r\nerror: wrong token\r\ntoken> ".to_owned()
        );
    }

    #[test]
    fn commands_are_not_run_before_the_token() {
        let (mut console, _) = connect();
        assert_eq!(
            send(&mut console, "shutdown"),
            (None, "\r\nerror: wrong token\r\ntoken> ".into())
        );
        assert_eq!(
            send(&mut console, "help"),
            (None, "\r\nerror: wrong token\r\ntoken> ".into())
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
            ("report", Request::Report),
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
        // Every name `who` shows can be named: by its number, or quoted with escapes.
        assert_eq!(request("kick #12"), kick("#12"));
        assert_eq!(request("kick \"\\\"bob\""), kick("\"bob"));
        assert_eq!(request("kick \"a\\\\b\""), kick("a\\b"));
        assert_eq!(
            request("tell \"\\\"bob\" hi"),
            Request::Tell {
                name: "\"bob".into(),
                text: "hi".into()
            }
        );
        assert_eq!(request("code #3"), Request::Code { name: "#3".into() });
        assert_eq!(answer("kick #x"), error("#x: a number from who, like #3"));
    }

    #[test]
    fn kick_errors() {
        assert_eq!(answer("kick"), error("usage: kick NAME|#N"));
        assert_eq!(answer("kick  \u{200b} "), error("usage: kick NAME|#N"));
        assert_eq!(answer("kick \"\""), error("usage: kick NAME|#N"));
        assert_eq!(
            answer("kick \"Ann Lee"),
            error("unclosed quote (write \\\" for a quote inside quotes)")
        );
        assert_eq!(answer("kick \"Ann\" Lee"), error("usage: kick NAME|#N"));
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
        assert_eq!(
            answer("tell \"Ann Lee hi"),
            error("unclosed quote (write \\\" for a quote inside quotes)")
        );
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
        assert_eq!(
            answer("load a.txt \"b c.txt"),
            error("unclosed quote (write \\\" for a quote inside quotes)")
        );
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
            "kick NAME|#N",
            "code NAME|#N",
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
        // Lines of 1023 bytes and a newline, to the cap exactly.
        fill(&mut console, MAX_UPLOAD_BYTES / 1024, 1023, None);
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
        fill(&mut console, MAX_UPLOAD_BYTES / 1024, 1023, Some(0));
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
            (None, error("upload too large (max 1 MiB)"))
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
}
