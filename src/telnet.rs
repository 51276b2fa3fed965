//! Telnet input decoding: one [`Decoder`] per connected student turns the raw
//! bytes read from the socket into input lines, leave requests and the few
//! telnet negotiation replies the protocol requires.
//!
//! This module owns the *input* side of the wire contract and nothing else: it
//! does no I/O and reads no clocks. Bytes go in through [`Decoder::feed`],
//! [`Event`]s come out in arrival order, and the state survives reads split at
//! any byte, so the server may feed whatever each `read` returned.
//!
//! # Framing
//!
//! - Lines end with CR LF, LF, CR NUL or a lone CR. A CR ends the line at once;
//!   one LF or NUL right after it (even in the next read) is swallowed. A NUL
//!   anywhere else is dropped. An empty line is `Line("")`.
//! - Telnet commands (RFC 854, introduced by IAC = 0xFF) never reach a line.
//!   `IAC IAC` is a literal 0xFF data byte. Options (RFC 1143's rules, kept
//!   simple): BINARY (RFC 856) from the client, so 8-bit text (UTF-8) from
//!   telnet clients arrives whole (never from us: a telnet client receiving
//!   binary turns its terminal's output processing off, and its local echo of
//!   Enter then moves down without returning to the margin); NAWS (RFC 1073) from the client, whose
//!   window size is [`Event::Window`]; ECHO from us only while a console hides
//!   the token ([`Decoder::hide_input`]). [`Decoder::opening`] asks for BINARY
//!   and NAWS. Any other `IAC DO x` / `IAC WILL x` is refused with `IAC WONT x`
//!   / `IAC DONT x`, once per option and direction, except
//!   `IAC DO TIMING-MARK`, which is answered every time. An acknowledgement of
//!   what we asked gets no reply. `IAC SB ... IAC SE` is skipped without being
//!   buffered, but for NAWS's four bytes. `IAC IP` and `IAC EOF` mean
//!   [`Event::Leave`]; `IAC EC` erases a character, `IAC EL` the whole line;
//!   `IAC AYT` gets a short answer; every other command is ignored.
//! - In the data, backspace (0x08) and DEL (0x7F) erase the last character, and
//!   a bare 0x03 or 0x04 on an empty line means [`Event::Leave`]. Escape
//!   sequences (arrow and function keys: `ESC [ ... final`, `ESC O x`,
//!   `ESC x`) are dropped whole, never stored.
//! - Lines are decoded as UTF-8, invalid sequences becoming U+FFFD. Control
//!   characters (C0, DEL, C1, ESC included) are dropped; tab becomes a space.
//!   Lines are not trimmed.
//! - A line with more than [`MAX_LINE`] bytes of data (counted after telnet
//!   decoding and erasing) is discarded and reported as [`Event::TooLong`] when
//!   its terminator arrives. Memory stays bounded whatever the client sends.

use std::mem;

pub use crate::limits::MAX_LINE;

/// What the decoder hands to the session, in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete input line: UTF-8 (invalid bytes replaced by U+FFFD), control characters dropped, tab turned into a space; not trimmed.
    Line(&'a str),
    /// A line longer than MAX_LINE ended; its bytes were discarded.
    TooLong,
    /// The student asked to leave: IAC IP, IAC EOF, or a bare 0x03 / 0x04 on an empty line.
    Leave,
    /// Bytes to send back to the client (telnet negotiation replies), to be written in order with other output.
    Reply(&'a [u8]),
    /// The client's window size (NAWS), in columns and rows; 0 means unknown.
    Window { width: u16, height: u16 },
}

// Telnet command bytes (RFC 854) and the one option we treat specially.
const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const EL: u8 = 248;
const EC: u8 = 247;
const AYT: u8 = 246;
const IP: u8 = 244;
const SE: u8 = 240;
const EOF: u8 = 236;
/// RFC 856: 8-bit data.
const BINARY: u8 = 0;
/// RFC 857: who echoes typed characters.
const ECHO: u8 = 1;
/// RFC 1073: the client's window size.
const NAWS: u8 = 31;
/// RFC 860. The Linux `telnet` client sends `IAC DO TIMING-MARK` after Ctrl-C
/// and discards all output until it gets an answer.
const TIMING_MARK: u8 = 6;

// Data bytes with a meaning of their own.
const NUL: u8 = 0x00;
const ETX: u8 = 0x03;
const EOT: u8 = 0x04;
const BS: u8 = 0x08;
const TAB: u8 = b'\t';
const LF: u8 = b'\n';
const CR: u8 = b'\r';
const DEL: u8 = 0x7F;
const ESC: u8 = 0x1B;

/// What a fresh connection is sent first: `IAC DO BINARY`, `IAC DO NAWS`, then a CR. A telnet
/// client takes the commands and shows nothing; a client that does not speak telnet (`nc`)
/// prints a few stray characters, which the CR and the greeting written over them leave off
/// the screen. (Not `IAC WILL BINARY`: Linux and BSD telnet then clear `OPOST` on their
/// terminal, so the local echo of every Enter leaves the next line indented.)
pub const OPENING: &[u8] = &[IAC, DO, BINARY, IAC, DO, NAWS, CR];
/// `IAC WILL ECHO` (the client stops echoing what is typed) and `IAC WONT ECHO` (it echoes
/// again), each with a CR for the screens of clients that do not speak telnet.
pub const HIDE_INPUT: &[u8] = &[IAC, WILL, ECHO, CR];
pub const SHOW_INPUT: &[u8] = &[IAC, WONT, ECHO, CR];

/// Answer to `IAC AYT` ("are you there?").
const AYT_REPLY: &[u8] = b"\r\n[quizd: yes]\r\n";

/// First allocation of the raw line buffer; it then doubles up to `MAX_LINE`.
const MIN_RAW_CAPACITY: usize = 64;

/// A buffer whose capacity exceeds this is released once its line is handed out.
const SHRINK_ABOVE: usize = 4 * 1024;

/// Where the decoder stands in the telnet command syntax.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Ordinary data bytes.
    #[default]
    Data,
    /// Just saw IAC in the data; the next byte is a command.
    Iac,
    /// Just saw `IAC WILL/WONT/DO/DONT`; the next byte is the option.
    Option(Verb),
    /// Inside `IAC SB ...`: bytes are skipped until `IAC SE` (NAWS's are kept).
    Sub,
    /// Inside a subnegotiation, just saw IAC.
    SubIac,
}

/// Where the decoder stands in a terminal escape sequence within the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Escape {
    /// Not in one.
    #[default]
    None,
    /// Just saw ESC.
    Started,
    /// In `ESC [`: parameter and intermediate bytes until a final byte.
    Csi,
    /// In `ESC O`: one more byte.
    Ss3,
}

/// The four option negotiation commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Will,
    Wont,
    Do,
    Dont,
}

/// `IAC WILL ECHO`, the one option we do (while a console hides the token).
const WILL_ECHO: [u8; 3] = [IAC, WILL, ECHO];
/// `IAC DO x` for the options we accept: BINARY, NAWS.
const DO_REPLIES: [[u8; 3]; 2] = [[IAC, DO, BINARY], [IAC, DO, NAWS]];

/// `IAC <verb> <option>` for a refusal or an agreement to turn off, as a static slice (the
/// event borrows it; 2 x 256 options).
fn reply_bytes(verb: u8, option: u8) -> &'static [u8] {
    static TABLE: [[[u8; 3]; 256]; 2] = {
        let mut table = [[[0u8; 3]; 256]; 2];
        let mut i = 0;
        while i < 256 {
            table[0][i] = [IAC, WONT, i as u8];
            table[1][i] = [IAC, DONT, i as u8];
            i += 1;
        }
        table
    };
    &TABLE[usize::from(verb == DONT)][usize::from(option)]
}

/// Which side of the connection an option is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// We do it (`IAC WILL x` from us, `IAC DO x` from the client).
    Ours,
    /// The client does it.
    Theirs,
}

/// The state of the few options we take part in (BINARY and NAWS theirs, ECHO ours),
/// two bits each (on, asked), in one byte. Other options are never on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Agreed(u8);

impl Agreed {
    const ON: u8 = 1;
    const ASKED: u8 = 2;

    /// The bit pair of `option` on `side`; `None` for an option we never take part in.
    fn shift(side: Side, option: u8) -> Option<u8> {
        match (side, option) {
            (Side::Ours, ECHO) => Some(2),
            (Side::Theirs, BINARY) => Some(4),
            (Side::Theirs, NAWS) => Some(6),
            _ => None,
        }
    }

    fn get(&self, side: Side, option: u8, flag: u8) -> bool {
        Self::shift(side, option).is_some_and(|s| self.0 & (flag << s) != 0)
    }

    /// Sets or clears `flag`; returns whether that changed anything.
    fn set(&mut self, side: Side, option: u8, flag: u8, on: bool) -> bool {
        let Some(s) = Self::shift(side, option) else {
            return false;
        };
        let before = self.0;
        if on {
            self.0 |= flag << s;
        } else {
            self.0 &= !(flag << s);
        }
        self.0 != before
    }
}

/// A set of telnet option codes (0..=255), as a 256-bit bitmap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct OptionSet([u64; 4]);

impl OptionSet {
    /// Adds `option`; returns whether it was not already present.
    fn insert(&mut self, option: u8) -> bool {
        let word = &mut self.0[usize::from(option / 64)];
        let bit = 1u64 << (option % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }
}

/// Telnet decoder and line assembler for one connection.
///
/// Both buffers start unallocated; the raw one never grows past [`MAX_LINE`]
/// bytes and both are reused from line to line.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Data bytes of the current line, after telnet decoding and erasing.
    /// Holds no C0 control bytes; tab is already a space.
    raw: Vec<u8>,
    /// Decoded text of the line being handed out (borrowed by `Event::Line`).
    decoded: String,
    /// Position in the telnet command syntax.
    state: State,
    /// A CR just ended a line: one following LF or NUL data byte is swallowed.
    after_cr: bool,
    /// The current line exceeded `MAX_LINE`; its bytes are being discarded.
    overflow: bool,
    /// Options for which we already answered `IAC DO x` with `IAC WONT x`.
    refused_do: OptionSet,
    /// Options for which we already answered `IAC WILL x` with `IAC DONT x`.
    refused_will: OptionSet,
    /// The options we take part in ([`Agreed`]): which are on, and which we asked for (an
    /// `IAC DO x` answering our `IAC WILL x` is an acknowledgement, not a request).
    agreed: Agreed,
    /// A console hides what is typed (the token): we may do ECHO.
    hiding: bool,
    /// Within the data: a terminal escape sequence being dropped.
    escape: Escape,
    /// The option of the subnegotiation being read, and the first bytes of its data.
    sub_option: Option<u8>,
    sub: [u8; 4],
    sub_len: u8,
}

impl Decoder {
    /// Creates a decoder for a fresh connection (allocates nothing).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes to send a fresh connection before anything else ([`OPENING`]); records that
    /// BINARY and NAWS were asked for, so the client's yes needs no reply.
    pub fn opening(&mut self) -> &'static [u8] {
        self.agreed.set(Side::Theirs, BINARY, Agreed::ASKED, true);
        self.agreed.set(Side::Theirs, NAWS, Agreed::ASKED, true);
        OPENING
    }

    /// Asks the client to stop (`hide`) or resume echoing what is typed; returns the bytes to
    /// send. A telnet client then shows nothing of the token while it is typed (and the
    /// Enter is not echoed either: the caller starts a new line).
    pub fn hide_input(&mut self, hide: bool) -> &'static [u8] {
        self.hiding = hide;
        self.agreed.set(Side::Ours, ECHO, Agreed::ASKED, hide);
        if hide {
            HIDE_INPUT
        } else {
            self.agreed.set(Side::Ours, ECHO, Agreed::ON, false);
            SHOW_INPUT
        }
    }

    /// Decodes `bytes`, calling `on_event` for each event in order.
    pub fn feed(&mut self, bytes: &[u8], mut on_event: impl FnMut(Event<'_>)) {
        for &byte in bytes {
            self.step(byte, &mut on_event);
        }
    }

    /// Decodes `bytes` until `lines` events that call for an answer (an [`Event::Line`],
    /// [`Event::TooLong`] or [`Event::Reply`] each) have been handed out, calling `on_event` for
    /// each event in order; returns how many bytes were used. The rest is for a later call: the
    /// server hands out a few lines per connection per loop turn, so a flood of lines (or of
    /// telnet commands that get a reply, such as Are-You-There) cannot hold the thread nor grow
    /// output faster than a client reads it.
    pub fn feed_lines(
        &mut self,
        bytes: &[u8],
        lines: &mut usize,
        mut on_event: impl FnMut(Event<'_>),
    ) -> usize {
        for (at, &byte) in bytes.iter().enumerate() {
            if *lines == 0 {
                return at;
            }
            self.step(byte, &mut |event: Event<'_>| {
                if matches!(event, Event::Line(_) | Event::TooLong | Event::Reply(_)) {
                    *lines -= 1;
                }
                on_event(event);
            });
        }
        bytes.len()
    }

    /// Advances the state machine by one byte.
    fn step(&mut self, byte: u8, on_event: &mut impl FnMut(Event<'_>)) {
        self.state = match self.state {
            State::Data if byte == IAC => State::Iac,
            State::Data => {
                self.data(byte, on_event);
                State::Data
            }
            State::Iac => self.command(byte, on_event),
            State::Option(verb) => {
                self.negotiate(verb, byte, on_event);
                State::Data
            }
            State::Sub if byte == IAC => State::SubIac,
            State::Sub => {
                self.sub_byte(byte);
                State::Sub
            }
            State::SubIac => match byte {
                SE => {
                    self.end_sub(on_event);
                    State::Data
                }
                IAC => {
                    self.sub_byte(IAC);
                    State::Sub
                }
                // RFC 854 allows nothing else here. Like libtelnet, take it as
                // the end of a broken subnegotiation and obey the command, so
                // that a client that never sends SE can still leave.
                _ => self.command(byte, on_event),
            },
        };
    }

    /// Handles the byte after an IAC; returns the next state.
    fn command(&mut self, byte: u8, on_event: &mut impl FnMut(Event<'_>)) -> State {
        match byte {
            IAC => self.data(IAC, on_event),
            WILL => return State::Option(Verb::Will),
            WONT => return State::Option(Verb::Wont),
            DO => return State::Option(Verb::Do),
            DONT => return State::Option(Verb::Dont),
            SB => {
                self.sub_option = None;
                self.sub_len = 0;
                return State::Sub;
            }
            IP | EOF => self.leave(on_event),
            AYT => on_event(Event::Reply(AYT_REPLY)),
            EC => self.erase_char(),
            EL => self.erase_line(),
            // NOP, DM, BRK, AO, GA, a stray SE and unassigned codes.
            _ => {}
        }
        State::Data
    }

    /// A byte of a subnegotiation: the first is its option; NAWS keeps four.
    fn sub_byte(&mut self, byte: u8) {
        match self.sub_option {
            None => self.sub_option = Some(byte),
            Some(NAWS) if usize::from(self.sub_len) < self.sub.len() => {
                self.sub[usize::from(self.sub_len)] = byte;
                self.sub_len += 1;
            }
            Some(_) => {}
        }
    }

    /// The end of a subnegotiation: a window size, if it was NAWS whole.
    fn end_sub(&mut self, on_event: &mut impl FnMut(Event<'_>)) {
        if self.sub_option == Some(NAWS) && self.sub_len == 4 {
            let [w0, w1, h0, h1] = self.sub;
            on_event(Event::Window {
                width: u16::from_be_bytes([w0, w1]),
                height: u16::from_be_bytes([h0, h1]),
            });
        }
        self.sub_option = None;
        self.sub_len = 0;
    }

    /// Answers `IAC <verb> <option>`. We do ECHO while hiding input, and accept BINARY and
    /// NAWS from the client; everything else is refused, once per option and
    /// direction (so no negotiation loops), but a timing mark is a question that needs an
    /// answer every time.
    fn negotiate(&mut self, verb: Verb, option: u8, on_event: &mut impl FnMut(Event<'_>)) {
        let ours = option == ECHO && self.hiding;
        let theirs = option == BINARY || option == NAWS;
        let a = &mut self.agreed;
        let reply = match verb {
            // Yes, once: an acknowledgement of our own offer needs no answer.
            Verb::Do if ours => (a.set(Side::Ours, option, Agreed::ON, true)
                && !a.get(Side::Ours, option, Agreed::ASKED))
            .then_some(WILL),
            Verb::Do => (option == TIMING_MARK || self.refused_do.insert(option)).then_some(WONT),
            Verb::Will if theirs => (a.set(Side::Theirs, option, Agreed::ON, true)
                && !a.get(Side::Theirs, option, Agreed::ASKED))
            .then_some(DO),
            Verb::Will => self.refused_will.insert(option).then_some(DONT),
            // The client turns an option off (or refuses our offer): agree once.
            Verb::Dont => {
                a.set(Side::Ours, option, Agreed::ASKED, false);
                (a.get(Side::Ours, option, Agreed::ON)
                    && a.set(Side::Ours, option, Agreed::ON, false))
                .then_some(WONT)
            }
            Verb::Wont => {
                a.set(Side::Theirs, option, Agreed::ASKED, false);
                (a.get(Side::Theirs, option, Agreed::ON)
                    && a.set(Side::Theirs, option, Agreed::ON, false))
                .then_some(DONT)
            }
        };
        if let Some(reply) = reply {
            on_event(Event::Reply(match reply {
                WILL => &WILL_ECHO,
                WONT => reply_bytes(WONT, option),
                DO => &DO_REPLIES[usize::from(option == NAWS)],
                _ => reply_bytes(DONT, option),
            }));
        }
    }

    /// Handles one data byte (telnet commands already removed).
    fn data(&mut self, byte: u8, on_event: &mut impl FnMut(Event<'_>)) {
        if mem::take(&mut self.after_cr) && matches!(byte, LF | NUL) {
            return;
        }
        // Terminal escape sequences (arrow and function keys) are dropped whole; a control
        // byte inside one ends it and counts as itself (a lone ESC then Enter, say).
        match (self.escape, byte) {
            (_, ESC) => {
                self.escape = Escape::Started;
                return;
            }
            (Escape::None, _) | (_, 0x00..=0x1F | 0x80..) => self.escape = Escape::None,
            (Escape::Started, b'[') => {
                self.escape = Escape::Csi;
                return;
            }
            (Escape::Started, b'O') => {
                self.escape = Escape::Ss3;
                return;
            }
            (Escape::Csi, 0x20..=0x3F) => return,
            (Escape::Started | Escape::Csi | Escape::Ss3, _) => {
                self.escape = Escape::None;
                return;
            }
        }
        match byte {
            CR => {
                self.after_cr = true;
                self.end_line(on_event);
            }
            LF => self.end_line(on_event),
            BS | DEL => self.erase_char(),
            ETX | EOT if self.line_is_empty() => self.leave(on_event),
            TAB => self.push(b' '),
            // NUL, ESC, other C0 controls, and ETX / EOT inside a line.
            0x00..=0x1F => {}
            _ => self.push(byte),
        }
    }

    /// Whether the current line has no data at all (not even discarded data).
    fn line_is_empty(&self) -> bool {
        self.raw.is_empty() && !self.overflow
    }

    /// Appends a data byte to the current line, unless it is too long already.
    fn push(&mut self, byte: u8) {
        if self.overflow {
            return;
        }
        if self.raw.len() == MAX_LINE {
            self.overflow = true;
            self.raw.clear();
            return;
        }
        if self.raw.len() == self.raw.capacity() {
            // Grow by doubling, but never past MAX_LINE.
            let target = (self.raw.capacity() * 2).clamp(MIN_RAW_CAPACITY, MAX_LINE);
            self.raw.reserve_exact(target - self.raw.len());
        }
        self.raw.push(byte);
    }

    /// Erases the last visible character of the current line, with any
    /// invisible (C1 control) characters after it.
    fn erase_char(&mut self) {
        while let Some((len, invisible)) = last_char(&self.raw) {
            self.raw.truncate(self.raw.len() - len);
            if !invisible {
                break;
            }
        }
    }

    /// Erases the whole current line, including a line already too long.
    fn erase_line(&mut self) {
        self.raw.clear();
        self.overflow = false;
    }

    /// Reports a leave request; the partial line is discarded, like Ctrl-C
    /// in a shell.
    fn leave(&mut self, on_event: &mut impl FnMut(Event<'_>)) {
        self.erase_line();
        on_event(Event::Leave);
    }

    /// Hands out the current line (or `TooLong`) and starts a new one.
    fn end_line(&mut self, on_event: &mut impl FnMut(Event<'_>)) {
        if self.overflow {
            on_event(Event::TooLong);
        } else {
            decode_into(&self.raw, &mut self.decoded);
            on_event(Event::Line(&self.decoded));
        }
        self.erase_line();
        self.decoded.clear();
        if self.raw.capacity() > SHRINK_ABOVE {
            self.raw = Vec::new();
        }
        if self.decoded.capacity() > SHRINK_ABOVE {
            self.decoded = String::new();
        }
    }
}

/// Decodes `raw` into `out` (cleared first): UTF-8 with each invalid sequence
/// replaced by U+FFFD, control characters dropped.
fn decode_into(raw: &[u8], out: &mut String) {
    out.clear();
    out.reserve(raw.len());
    for chunk in raw.utf8_chunks() {
        out.extend(chunk.valid().chars().filter(|c| !c.is_control()));
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// The last character of `bytes` as [`decode_into`] sees it: its length in
/// bytes (a valid character, or an invalid sequence that decodes to one
/// U+FFFD) and whether it is a control character (dropped when decoding).
fn last_char(bytes: &[u8]) -> Option<(usize, bool)> {
    // A character or an invalid sequence spans at most 4 bytes, and UTF-8
    // resynchronises at every lead byte, so the last 4 bytes decide.
    let tail = &bytes[bytes.len().saturating_sub(4)..];
    let chunk = tail.utf8_chunks().last()?;
    if !chunk.invalid().is_empty() {
        return Some((chunk.invalid().len(), false));
    }
    let c = chunk.valid().chars().next_back()?;
    Some((c.len_utf8(), c.is_control()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of an [`Event`], for comparing event sequences.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Line(String),
        TooLong,
        Leave,
        Reply(Vec<u8>),
        Window(u16, u16),
    }

    impl From<Event<'_>> for Ev {
        fn from(event: Event<'_>) -> Self {
            match event {
                Event::Line(s) => Ev::Line(s.to_owned()),
                Event::TooLong => Ev::TooLong,
                Event::Leave => Ev::Leave,
                Event::Reply(bytes) => Ev::Reply(bytes.to_vec()),
                Event::Window { width, height } => Ev::Window(width, height),
            }
        }
    }

    fn line(s: &str) -> Ev {
        Ev::Line(s.to_owned())
    }

    fn reply(bytes: &[u8]) -> Ev {
        Ev::Reply(bytes.to_vec())
    }

    /// Feeds `chunks` to `decoder` in turn; returns all events.
    fn feed_into(decoder: &mut Decoder, chunks: &[&[u8]]) -> Vec<Ev> {
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, |event| events.push(Ev::from(event)));
        }
        events
    }

    /// Feeds `chunks` to a fresh decoder; returns all events.
    fn feed_chunks(chunks: &[&[u8]]) -> Vec<Ev> {
        feed_into(&mut Decoder::new(), chunks)
    }

    /// Decodes `input` whole, then split in two at every byte boundary, then
    /// byte by byte; asserts the events are the same each time and returns them.
    fn decode(input: &[u8]) -> Vec<Ev> {
        let whole = feed_chunks(&[input]);
        for at in 1..input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(feed_chunks(&[a, b]), whole, "split at {at}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed_chunks(&bytes), whole, "byte by byte");
        whole
    }

    /// Concatenation of all replies in `events`.
    fn replies(events: &[Ev]) -> Vec<u8> {
        events
            .iter()
            .filter_map(|event| match event {
                Ev::Reply(bytes) => Some(bytes.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect()
    }

    /// `events` without the replies.
    fn non_replies(events: &[Ev]) -> Vec<Ev> {
        events
            .iter()
            .filter(|event| !matches!(event, Ev::Reply(_)))
            .cloned()
            .collect()
    }

    // --- line endings ---

    #[test]
    fn crlf_ends_line() {
        assert_eq!(decode(b"hello\r\n"), [line("hello")]);
    }

    #[test]
    fn lf_ends_line() {
        assert_eq!(decode(b"hello\n"), [line("hello")]);
    }

    #[test]
    fn cr_nul_ends_line() {
        assert_eq!(decode(b"hello\r\0"), [line("hello")]);
    }

    #[test]
    fn lone_cr_ends_line_and_following_data_starts_next_line() {
        assert_eq!(decode(b"ab\rcd\r"), [line("ab"), line("cd")]);
    }

    #[test]
    fn lone_cr_ends_line_at_once_without_waiting_for_more_input() {
        assert_eq!(feed_chunks(&[b"answer\r"]), [line("answer")]);
    }

    #[test]
    fn lf_at_start_of_next_feed_after_cr_is_swallowed() {
        let mut decoder = Decoder::new();
        assert_eq!(feed_into(&mut decoder, &[b"one\r"]), [line("one")]);
        assert_eq!(feed_into(&mut decoder, &[b"\ntwo\r"]), [line("two")]);
        assert_eq!(feed_into(&mut decoder, &[b"\0three\n"]), [line("three")]);
    }

    #[test]
    fn only_one_lf_or_nul_after_cr_is_swallowed() {
        assert_eq!(decode(b"a\r\n\n"), [line("a"), line("")]);
        assert_eq!(decode(b"a\r\0\n"), [line("a"), line("")]);
        assert_eq!(decode(b"a\r\r\n"), [line("a"), line("")]);
    }

    #[test]
    fn empty_lines_are_reported() {
        assert_eq!(
            decode(b"\r\n\n\r\0\r"),
            [line(""), line(""), line(""), line("")]
        );
    }

    #[test]
    fn several_lines_in_one_feed_come_out_in_order() {
        assert_eq!(
            decode(b"first\r\nsecond\nthird\r\0fourth\rfifth"),
            [line("first"), line("second"), line("third"), line("fourth")]
        );
    }

    #[test]
    fn unterminated_line_is_not_emitted() {
        assert_eq!(decode(b"no end yet"), []);
    }

    #[test]
    fn nul_inside_line_is_dropped() {
        assert_eq!(decode(b"a\0b\0\r\n"), [line("ab")]);
    }

    #[test]
    fn lines_are_not_trimmed() {
        assert_eq!(decode(b"  spaced out  \r\n"), [line("  spaced out  ")]);
    }

    #[test]
    fn telnet_command_between_cr_and_lf_does_not_make_an_extra_line() {
        assert_eq!(decode(b"a\r\xFF\xF1\nb\n"), [line("a"), line("b")]);
    }

    // --- telnet negotiation ---

    #[test]
    fn linux_telnet_ctrl_c_leaves_and_answers_timing_mark() {
        let events = decode(b"\xFF\xF4\xFF\xFD\x06");
        assert_eq!(events, [Ev::Leave, reply(b"\xFF\xFC\x06")]);
    }

    #[test]
    fn timing_mark_is_answered_every_time() {
        let ctrl_c: &[u8] = b"\xFF\xF4\xFF\xFD\x06";
        let mut decoder = Decoder::new();
        let expected = [Ev::Leave, reply(b"\xFF\xFC\x06")];
        assert_eq!(feed_into(&mut decoder, &[ctrl_c]), expected);
        assert_eq!(feed_into(&mut decoder, &[ctrl_c]), expected);
        assert_eq!(
            decode(b"\xFF\xFD\x06\xFF\xFD\x06"),
            [reply(b"\xFF\xFC\x06"), reply(b"\xFF\xFC\x06")]
        );
    }

    const PUTTY_CONNECT: &[u8] =
        b"\xFF\xFB\x1F\xFF\xFB\x20\xFF\xFB\x18\xFF\xFB\x27\xFF\xFD\x01\xFF\xFB\x03\xFF\xFD\x03";

    #[test]
    fn putty_connect_negotiation_gets_naws_accepted_and_the_rest_refused_once() {
        let events = decode(PUTTY_CONNECT);
        assert_eq!(non_replies(&events), []);
        // DO NAWS; DONT TSPEED, TTYPE, NEW-ENVIRON; WONT ECHO (no echo for students);
        // DONT and WONT SGA (line mode stays).
        assert_eq!(
            replies(&events),
            b"\xFF\xFD\x1F\xFF\xFE\x20\xFF\xFE\x18\xFF\xFE\x27\xFF\xFC\x01\xFF\xFE\x03\xFF\xFC\x03"
        );

        let mut decoder = Decoder::new();
        feed_into(&mut decoder, &[PUTTY_CONNECT]);
        assert_eq!(feed_into(&mut decoder, &[PUTTY_CONNECT]), []);
    }

    #[test]
    fn do_and_will_are_refused_once_per_option_and_direction() {
        let events = decode(b"\xFF\xFD\x01\xFF\xFD\x01\xFF\xFB\x01\xFF\xFB\x01\xFF\xFD\x02");
        assert_eq!(
            events,
            [
                reply(b"\xFF\xFC\x01"),
                reply(b"\xFF\xFE\x01"),
                reply(b"\xFF\xFC\x02")
            ]
        );
    }

    #[test]
    fn all_256_options_are_tracked_separately() {
        let mut input = Vec::new();
        for option in 0..=255u8 {
            input.extend_from_slice(&[IAC, DO, option, IAC, WILL, option]);
        }
        let mut decoder = Decoder::new();
        let first = feed_into(&mut decoder, &[&input]);
        assert_eq!(first.len(), 2 * 256);
        assert!(first.iter().all(|event| matches!(event, Ev::Reply(_))));
        // The second time, only the timing mark is answered again.
        assert_eq!(feed_into(&mut decoder, &[&input]), [reply(b"\xFF\xFC\x06")]);
    }

    #[test]
    fn wont_and_dont_get_no_reply() {
        assert_eq!(
            decode(b"\xFF\xFC\x01\xFF\xFE\x03\xFF\xFC\x06ok\n"),
            [line("ok")]
        );
    }

    #[test]
    fn iac_iac_is_a_literal_ff_data_byte() {
        assert_eq!(decode(b"a\xFF\xFFb\r\n"), [line("a\u{FFFD}b")]);
    }

    #[test]
    fn subnegotiation_is_skipped() {
        assert_eq!(
            decode(b"ab\xFF\xFA\x18\x00xterm\r\n\xFF\xFF\x7F\x03\xFF\xF0cd\r\n"),
            [line("abcd")]
        );
    }

    #[test]
    fn iac_iac_inside_subnegotiation_does_not_end_it() {
        // The escaped 0xFF is followed by SE as data: still inside the SB.
        assert_eq!(
            decode(b"\xFF\xFA\x18\xFF\xFF\xF0\x00\x50\xFF\xF0ok\n"),
            [line("ok")]
        );
        // In NAWS, a width of 0xFF__ arrives with its 0xFF doubled.
        assert_eq!(
            decode(b"\xFF\xFA\x1F\xFF\xFF\xF0\x00\x50\xFF\xF0ok\n"),
            [Ev::Window(0xFFF0, 80), line("ok")]
        );
    }

    #[test]
    fn naws_gives_the_window_size_and_a_short_or_broken_one_nothing() {
        assert_eq!(
            decode(b"\xFF\xFA\x1F\x00\x78\x00\x18\xFF\xF0"),
            [Ev::Window(120, 24)]
        );
        assert_eq!(decode(b"\xFF\xFA\x1F\x00\x78\xFF\xF0"), []);
        assert_eq!(
            decode(b"\xFF\xFA\x1F\x00\x78\x00\x18\x00\x00\xFF\xF0a\n"),
            [Ev::Window(120, 24), line("a")],
            "extra bytes are ignored"
        );
    }

    #[test]
    fn the_opening_asks_for_binary_and_naws_and_their_acknowledgements_get_no_reply() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.opening(), b"\xFF\xFD\x00\xFF\xFD\x1F\r");
        // inetutils telnet's answer: WILL BINARY, WILL NAWS and the size.
        let events = feed_into(
            &mut decoder,
            &[b"\xFF\xFB\x00\xFF\xFB\x1F\xFF\xFA\x1F\x00\x50\x00\x18\xFF\xF0"],
        );
        assert_eq!(events, [Ev::Window(80, 24)]);
        // 8-bit text then arrives whole, lines ending in a bare LF.
        let events = feed_into(&mut decoder, &["Ană 李\n".as_bytes()]);
        assert_eq!(events, [line("Ană 李")]);
        // A client that turns BINARY off is agreed with, once.
        let events = feed_into(&mut decoder, &[b"\xFF\xFC\x00\xFF\xFC\x00"]);
        assert_eq!(events, [reply(b"\xFF\xFE\x00")]);
    }

    #[test]
    fn binary_from_the_client_is_accepted_once_and_binary_to_it_refused_once() {
        // Binary output would turn the telnet client's terminal processing off (its echo of
        // Enter would no longer return to the margin).
        assert_eq!(
            decode(b"\xFF\xFB\x00\xFF\xFD\x00\xFF\xFB\x00\xFF\xFD\x00"),
            [reply(b"\xFF\xFD\x00"), reply(b"\xFF\xFC\x00")]
        );
    }

    #[test]
    fn echo_is_ours_only_while_input_is_hidden() {
        let mut decoder = Decoder::new();
        // Unasked, a client's DO ECHO is refused: students echo their own typing.
        assert_eq!(
            feed_into(&mut decoder, &[b"\xFF\xFD\x01"]),
            [reply(b"\xFF\xFC\x01")]
        );
        let mut decoder = Decoder::new();
        assert_eq!(decoder.hide_input(true), b"\xFF\xFB\x01\r");
        assert_eq!(
            feed_into(&mut decoder, &[b"\xFF\xFD\x01secret\r\n"]),
            [line("secret")]
        );
        assert_eq!(decoder.hide_input(false), b"\xFF\xFC\x01\r");
        // The client's DONT ECHO acknowledges; nothing more is said.
        assert_eq!(feed_into(&mut decoder, &[b"\xFF\xFE\x01"]), []);
    }

    #[test]
    fn endless_subnegotiation_buffers_nothing() {
        let mut decoder = Decoder::new();
        let junk = vec![b'x'; 64 * 1024];
        assert_eq!(feed_into(&mut decoder, &[b"\xFF\xFA\x18"]), []);
        for _ in 0..16 {
            assert_eq!(feed_into(&mut decoder, &[&junk]), []);
        }
        assert_eq!(decoder.raw.capacity(), 0);
        assert_eq!(decoder.decoded.capacity(), 0);
    }

    #[test]
    fn other_command_inside_subnegotiation_ends_it_and_is_obeyed() {
        assert_eq!(
            decode(b"\xFF\xFA\x18junk\xFF\xF4hi\n"),
            [Ev::Leave, line("hi")]
        );
    }

    #[test]
    fn are_you_there_gets_an_answer() {
        assert_eq!(
            decode(b"ab\xFF\xF6c\n"),
            [reply(b"\r\n[quizd: yes]\r\n"), line("abc")]
        );
    }

    #[test]
    fn other_commands_are_ignored() {
        // NOP, DM, BRK, AO, GA, a stray SE, and unassigned codes.
        assert_eq!(
            decode(b"a\xFF\xF1b\xFF\xF2c\xFF\xF3d\xFF\xF5e\xFF\xF9f\xFF\xF0g\xFF\x41\xFF\x00h\n"),
            [line("abcdefgh")]
        );
    }

    #[test]
    fn decoder_never_starts_a_negotiation() {
        assert_eq!(decode(b""), []);
        assert_eq!(decode(b"hello\r\n"), [line("hello")]);
    }

    // --- leaving ---

    #[test]
    fn iac_ip_and_iac_eof_leave() {
        assert_eq!(decode(b"\xFF\xF4"), [Ev::Leave]);
        assert_eq!(decode(b"\xFF\xEC"), [Ev::Leave]);
    }

    #[test]
    fn leave_discards_the_partial_line() {
        assert_eq!(decode(b"half\xFF\xF4rest\r\n"), [Ev::Leave, line("rest")]);
    }

    #[test]
    fn bare_etx_or_eot_on_empty_line_leaves() {
        assert_eq!(decode(b"\x03"), [Ev::Leave]);
        assert_eq!(decode(b"\x04"), [Ev::Leave]);
        assert_eq!(decode(b"a\r\n\x04"), [line("a"), Ev::Leave]);
        // A line erased back to nothing is empty again.
        assert_eq!(decode(b"a\x08\x03"), [Ev::Leave]);
    }

    #[test]
    fn bare_etx_or_eot_on_non_empty_line_is_dropped() {
        assert_eq!(decode(b"a\x03b\x04c\r\n"), [line("abc")]);
    }

    #[test]
    fn decoding_continues_after_leave() {
        assert_eq!(decode(b"\x04more\n"), [Ev::Leave, line("more")]);
    }

    // --- text decoding ---

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            decode(b"a\x80b\xC3c\xF0\x9F\x98d\xE9t\xE9\r\n"),
            [line("a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}t\u{FFFD}")]
        );
    }

    #[test]
    fn valid_multibyte_utf8_is_kept_even_split_mid_character() {
        // `decode` also splits inside every multi-byte character.
        assert_eq!(
            decode("héllo wörld € 😀 日本\r\n".as_bytes()),
            [line("héllo wörld € 😀 日本")]
        );
    }

    #[test]
    fn c0_c1_and_esc_are_dropped() {
        assert_eq!(
            decode("a\x01b\x1bc\x1fd\u{80}e\u{9F}f\u{85}g\r\n".as_bytes()),
            [line("abdefg")],
            "ESC c (a terminal reset) goes whole"
        );
    }

    #[test]
    fn arrow_and_function_key_sequences_are_dropped_whole() {
        // Left arrow in the middle of a name (a row once saved `Aly[Di`), Ctrl-Right, F1 in
        // both forms, Home, a lone ESC before Enter, and Alt-x.
        assert_eq!(decode(b"Aly\x1b[Di\n"), [line("Alyi")]);
        assert_eq!(
            decode(b"a\x1b[1;5Cb\x1bOPc\x1b[11~d\x1b[He\n"),
            [line("abcde")]
        );
        assert_eq!(decode(b"ok\x1b\n"), [line("ok")]);
        assert_eq!(decode(b"x\x1bxy\n"), [line("xy")]);
        // UTF-8 after an ESC is kept whole (Alt with a non-ASCII key).
        assert_eq!(decode("\x1bé\n".as_bytes()), [line("é")]);
    }

    #[test]
    fn tab_becomes_space() {
        assert_eq!(decode(b"a\tb\t\r\n"), [line("a b ")]);
    }

    // --- erasing ---

    #[test]
    fn backspace_erases_a_whole_multibyte_character() {
        assert_eq!(decode("a€\x08\r\n".as_bytes()), [line("a")]);
        assert_eq!(decode("ab😀\x08c\r\n".as_bytes()), [line("abc")]);
    }

    #[test]
    fn del_erases_a_whole_multibyte_character() {
        assert_eq!(decode("né\x7f\x7f\r\n".as_bytes()), [line("")]);
    }

    #[test]
    fn iac_ec_erases_a_whole_multibyte_character() {
        let mut input = "x日本".as_bytes().to_vec();
        input.extend_from_slice(b"\xFF\xF7\r\n");
        assert_eq!(decode(&input), [line("x日")]);
    }

    #[test]
    fn erase_removes_an_invalid_sequence_as_one_character() {
        // F0 9F 98 is a truncated emoji, shown as a single U+FFFD.
        assert_eq!(decode(b"ab\xF0\x9F\x98\x08\r\n"), [line("ab")]);
        assert_eq!(decode(b"ab\x80\x80\x08\r\n"), [line("ab\u{FFFD}")]);
    }

    #[test]
    fn erase_skips_invisible_c1_controls() {
        assert_eq!(decode("ab\u{85}\x08\r\n".as_bytes()), [line("a")]);
    }

    #[test]
    fn erase_on_empty_line_does_nothing() {
        assert_eq!(decode(b"\x08\x7f\xFF\xF7ok\n"), [line("ok")]);
    }

    #[test]
    fn iac_el_erases_the_whole_line() {
        assert_eq!(decode(b"wrong\xFF\xF8right\r\n"), [line("right")]);
        assert_eq!(decode(b"gone\xFF\xF8\r\n"), [line("")]);
    }

    // --- length limit and memory ---

    #[test]
    fn line_of_exactly_max_line_bytes_is_accepted() {
        let mut input = vec![b'a'; MAX_LINE];
        input.extend_from_slice(b"\r\n");
        assert_eq!(decode(&input), [line(&"a".repeat(MAX_LINE))]);
    }

    #[test]
    fn max_line_counts_bytes_not_characters() {
        let mut input = "é".repeat(MAX_LINE / 2).into_bytes();
        input.push(b'\n');
        assert_eq!(feed_chunks(&[&input]), [line(&"é".repeat(MAX_LINE / 2))]);
        input.pop();
        input.extend_from_slice(b"x\n");
        assert_eq!(feed_chunks(&[&input]), [Ev::TooLong]);
    }

    #[test]
    fn line_over_max_line_is_too_long_then_next_line_decodes_normally() {
        let mut input = vec![b'a'; MAX_LINE + 1];
        input.extend_from_slice(b"\r\nnext\r\n");
        assert_eq!(decode(&input), [Ev::TooLong, line("next")]);
    }

    #[test]
    fn max_line_is_counted_after_erasing() {
        let mut input = vec![b'a'; MAX_LINE];
        input.extend_from_slice(b"\x08\xFF\xF7bc\n");
        assert_eq!(
            feed_chunks(&[&input]),
            [line(&("a".repeat(MAX_LINE - 2) + "bc"))]
        );
    }

    #[test]
    fn iac_el_forgets_an_overlong_line() {
        let mut input = vec![b'a'; MAX_LINE + 10];
        input.extend_from_slice(b"\xFF\xF8ok\n");
        assert_eq!(feed_chunks(&[&input]), [line("ok")]);
    }

    #[test]
    fn etx_on_overlong_line_does_not_leave() {
        let mut input = vec![b'a'; MAX_LINE + 10];
        input.extend_from_slice(b"\x03\n");
        assert_eq!(feed_chunks(&[&input]), [Ev::TooLong]);
    }

    #[test]
    fn megabyte_line_keeps_memory_bounded_and_is_reported_once() {
        let mut decoder = Decoder::new();
        let block = vec![b'z'; 4096];
        for _ in 0..256 {
            assert_eq!(feed_into(&mut decoder, &[&block]), []);
            assert!(decoder.raw.capacity() <= MAX_LINE);
            assert_eq!(decoder.decoded.capacity(), 0);
        }
        assert_eq!(
            feed_into(&mut decoder, &[b"\r\n", b"fine\r\n"]),
            [Ev::TooLong, line("fine")]
        );
        assert!(decoder.raw.capacity() <= MAX_LINE);
        assert!(decoder.decoded.capacity() <= 4 * 1024);
    }

    #[test]
    fn worst_case_decoded_line_stays_within_shrink_limit() {
        let mut decoder = Decoder::new();
        let mut input = vec![0x80; MAX_LINE];
        input.push(b'\n');
        let events = feed_into(&mut decoder, &[&input]);
        assert_eq!(events, [line(&"\u{FFFD}".repeat(MAX_LINE))]);
        assert!(decoder.decoded.capacity() <= SHRINK_ABOVE);
        assert!(decoder.raw.capacity() <= MAX_LINE);
    }

    #[test]
    fn buffers_are_reused_between_lines() {
        let mut decoder = Decoder::new();
        feed_into(&mut decoder, &[b"warm up the buffers\n"]);
        let raw = (decoder.raw.as_ptr(), decoder.raw.capacity());
        let decoded = (decoder.decoded.as_ptr(), decoder.decoded.capacity());
        for _ in 0..100 {
            assert_eq!(feed_into(&mut decoder, &[b"short\r\n"]), [line("short")]);
            assert_eq!((decoder.raw.as_ptr(), decoder.raw.capacity()), raw);
            assert_eq!(
                (decoder.decoded.as_ptr(), decoder.decoded.capacity()),
                decoded
            );
        }
    }

    #[test]
    fn decoder_is_small_and_allocates_nothing_up_front() {
        assert!(size_of::<Decoder>() <= 128, "{}", size_of::<Decoder>());
        let decoder = Decoder::new();
        assert_eq!(decoder.raw.capacity(), 0);
        assert_eq!(decoder.decoded.capacity(), 0);
    }

    // --- randomized ---

    /// xorshift64: small, deterministic, good enough for fuzzing.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// A value in `0..n` (n > 0).
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// A byte biased towards the ones the decoder treats specially.
        fn byte(&mut self) -> u8 {
            const SPECIAL: &[u8] = b"\r\n\0\x08\x7f\x03\x04\t\x1b";
            match self.below(10) {
                0..=2 => IAC,
                3 => SPECIAL[self.below(SPECIAL.len())],
                4 => 236 + self.below(20) as u8,
                5 => self.below(40) as u8,
                6 | 7 => b' ' + self.below(95) as u8,
                _ => 0x80 + self.below(0x78) as u8,
            }
        }
    }

    /// Asserts what every event must satisfy.
    fn check_event(event: &Ev) {
        if let Ev::Line(text) = event {
            assert!(!text.chars().any(char::is_control), "{text:?}");
            assert!(text.chars().count() <= MAX_LINE, "{}", text.len());
        }
    }

    #[test]
    fn random_byte_soup_never_panics_and_chunking_does_not_matter() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut seen = [0usize; 4];
        for case in 0..400 {
            let len = rng.below(3000);
            let mut input: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            if case % 8 == 0 {
                // Now and then, a run long enough to overflow a line.
                let at = rng.below(input.len() + 1);
                let run = vec![b'a'; MAX_LINE - 8 + rng.below(16)];
                input.splice(at..at, run);
            }

            let mut decoder = Decoder::new();
            let whole = feed_into(&mut decoder, &[&input]);
            for event in &whole {
                check_event(event);
                seen[match event {
                    Ev::Line(_) => 0,
                    Ev::TooLong => 1,
                    Ev::Leave => 2,
                    Ev::Reply(_) | Ev::Window(..) => 3,
                }] += 1;
            }
            assert!(decoder.raw.len() <= MAX_LINE);
            assert!(decoder.raw.capacity() <= MAX_LINE);

            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(1 + rng.below(rest.len().min(64)));
                chunks.push(chunk);
                rest = tail;
            }
            assert_eq!(feed_chunks(&chunks), whole, "case {case}: random chunks");
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(feed_chunks(&bytes), whole, "case {case}: byte by byte");
        }
        // The soup must actually exercise every kind of event.
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    }

    /// Reference for `last_char`: looks at the whole buffer.
    fn last_char_reference(bytes: &[u8]) -> Option<(usize, bool)> {
        let chunk = bytes.utf8_chunks().last()?;
        if !chunk.invalid().is_empty() {
            return Some((chunk.invalid().len(), false));
        }
        let c = chunk.valid().chars().next_back()?;
        Some((c.len_utf8(), c.is_control()))
    }

    #[test]
    fn last_char_of_tail_matches_whole_buffer() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        for _ in 0..50_000 {
            let len = rng.below(9);
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => rng.below(0x80) as u8,
                    1 => 0x80 + rng.below(0x40) as u8,
                    _ => 0xC0 + rng.below(0x40) as u8,
                })
                .collect();
            assert_eq!(last_char(&bytes), last_char_reference(&bytes), "{bytes:x?}");
        }
    }

    #[test]
    fn erasing_everything_typed_leaves_an_empty_line() {
        let mut rng = Rng(42);
        for _ in 0..200 {
            let len = rng.below(40);
            let mut input: Vec<u8> = (0..len)
                .map(|_| b' ' + rng.below(0x100 - 0x20) as u8)
                .filter(|&b| b != DEL && b != IAC)
                .collect();
            input.extend(std::iter::repeat_n(BS, input.len()));
            input.push(b'\n');
            assert_eq!(feed_chunks(&[&input]), [line("")], "{input:x?}");
        }
    }

    #[test]
    fn feed_lines_stops_after_the_budget_and_the_rest_decodes_the_same() {
        let input: &[u8] = b"a\r\n\xff\xfd\x06b\rc\nd\r\n";
        let whole = feed_chunks(&[input]);
        for budget in 1..=5 {
            let mut decoder = Decoder::new();
            let mut got = Vec::new();
            let mut rest = input;
            while !rest.is_empty() {
                let mut lines = budget;
                let used = decoder.feed_lines(rest, &mut lines, |e| got.push(Ev::from(e)));
                let handed = got
                    .iter()
                    .filter(|e| matches!(e, Ev::Line(_) | Ev::TooLong))
                    .count();
                assert!(used == rest.len() || lines == 0, "stops only at the budget");
                assert!(handed <= budget * 4);
                rest = &rest[used..];
            }
            assert_eq!(got, whole, "budget {budget}");
        }
        let mut lines = 1;
        let mut decoder = Decoder::new();
        let used = decoder.feed_lines(b"\r\r\r\r", &mut lines, |_| {});
        assert_eq!((used, lines), (1, 0), "one bare CR is one line");
    }
}
