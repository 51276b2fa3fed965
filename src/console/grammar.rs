//! The console's command grammar: what each line a teacher types means, before anything is
//! done about it. One command is one arm of `parse_command` here and one arm of the room's
//! `teacher.rs`, which carries out the [`Request`].

use std::path::PathBuf;

use crate::limits::{MAX_MESSAGE_CHARS, MAX_TOP, MAX_UPLOAD_NAME_CHARS};
use crate::text::{is_invisible, sanitize};

/// Rows `top` shows when no number is given.
pub const DEFAULT_TOP: usize = 10;

/// The `help` reply, one block line each. Every line fits in 80 columns.
pub(super) const HELP: &[&str] = &[
    "Commands (any case; the ones marked * need live mode):",
    "  status           the quiz, its mode, how many students are where",
    "  who              students: #, name, address, state, score, idle time",
    "  start *          start the quiz for everyone waiting",
    "  next *           move everyone on to the next question",
    "  end              end the quiz now (answers so far are saved)",
    "  kick NAME|#N     disconnect a student (answers so far are saved)",
    "  say TEXT         message to every student",
    "  tell NAME TEXT   message to one student (\"Ann Lee\" or #N from who)",
    "  code NAME|#N     a new resume code for a student (ends any wait for one)",
    "  retake NAME      let a student who took the quiz take it once more",
    "  load PATH...     switch to the bank in these files, between quizzes",
    "  reload           read the current bank files again",
    "  upload NAME      send a bank (NAME.txt or NAME.gift): its lines, then \".\"",
    "  results          the results so far, as CSV",
    "  top [N]          the N best attempts so far (default 10)",
    "  report           item analysis: per question % right, discrimination, time,",
    "                   and the wrong answer that drew most students",
    "  stats            connections, answers, timeouts, bytes, uptime",
    "  shutdown         stop the server (answers so far are saved)",
    "  quit             close this console",
    "  help             this list",
    "Students' /ask messages appear here as they arrive.",
];

/// What the console needs the server to do. The console has already checked the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `status`: answer with [`super::render::render_status`] in a block.
    Status,
    /// `who`: answer with [`super::render::render_who`] in a block.
    Who,
    /// `start`: start the live quiz.
    Start,
    /// `next`: the next live question.
    Next,
    /// `end`: end the quiz now.
    End,
    /// `kick NAME`: disconnect this student. `name` is `#N` (the number `who` shows), or a
    /// name with its whitespace folded, invisible characters dropped and at most [`crate::limits::MAX_NAME_CHARS`] characters; finding the student is the
    /// server's business.
    Kick { name: String },
    /// `say TEXT`: to every student. `text` is [`sanitize`]d and not empty.
    Say { text: String },
    /// `tell NAME TEXT`: to one student. `name` as in `Kick`, `text` as in `Say`.
    Tell { name: String, text: String },
    /// `code NAME`: a new resume code for this student's attempt (the old one stops working, and
    /// any wait after wrong codes ends). `name` as in `Kick`.
    Code { name: String },
    /// `retake NAME`: a name that has taken the quiz may take one more attempt. `name` as in
    /// `Kick`, but not `#N` (a finished attempt has no number in `who`).
    Retake { name: String },
    /// `load PATH...`: switch to the bank in these files (at least one); a bad bank leaves the
    /// old one in place and the reply lists every `FILE:LINE:` problem.
    Load { paths: Vec<PathBuf> },
    /// `reload`: read the current bank's files again, as `Load` would.
    Reload,
    /// `upload NAME` and its lines: a bank to parse (`crate::bank::parse(&name, text.as_bytes())`)
    /// and switch to. `name` is a checked plain file name ending `.txt` or `.gift`; `text` is
    /// the lines as sent (dot-stuffing undone), each ending `\n`, at most [`crate::limits::MAX_UPLOAD_BYTES`].
    Upload { name: String, text: String },
    /// `results`: the results CSV in a block.
    Results,
    /// `report`: item analysis of this quiz's attempts so far ([`crate::report`]).
    Report,
    /// `top [N]`: answer with [`super::render::render_top`] in a block; `n` is within `1..=MAX_TOP`.
    Top { n: usize },
    /// `stats`: answer with [`super::render::render_stats`] in a block.
    Stats,
    /// `shutdown`: stop the server.
    Shutdown,
    /// Close this connection (the console has written its last line); log `reason` with the
    /// peer's address.
    Close { reason: CloseReason },
}

impl std::fmt::Display for Request {
    /// The request as a teacher would type it, for the log (`say five minutes left`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Status => write!(f, "status"),
            Request::Who => write!(f, "who"),
            Request::Start => write!(f, "start"),
            Request::Next => write!(f, "next"),
            Request::End => write!(f, "end"),
            Request::Kick { name } => write!(f, "kick {name}"),
            Request::Say { text } => write!(f, "say {text}"),
            Request::Tell { name, text } => write!(f, "tell {name} {text}"),
            Request::Code { name } => write!(f, "code {name}"),
            Request::Retake { name } => write!(f, "retake {name}"),
            Request::Load { paths } => {
                write!(f, "load")?;
                for path in paths {
                    write!(f, " {}", path.display())?;
                }
                Ok(())
            }
            Request::Reload => write!(f, "reload"),
            Request::Upload { name, text } => {
                write!(f, "upload {name} ({} lines)", text.lines().count())
            }
            Request::Results => write!(f, "results"),
            Request::Report => write!(f, "report"),
            Request::Top { n } => write!(f, "top {n}"),
            Request::Stats => write!(f, "stats"),
            Request::Shutdown => write!(f, "shutdown"),
            Request::Close { .. } => write!(f, "quit"),
        }
    }
}

/// Why the console asks to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// [`crate::limits::MAX_TOKEN_TRIES`] wrong tokens: worth a warning with the peer's address.
    WrongToken,
    /// The teacher typed `quit`, or pressed Ctrl-C / Ctrl-D outside an upload.
    Quit,
}

/// What a command line means, before the console acts on it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Command {
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

/// What a command line asks for. Commands are case-insensitive (a leading `/`, as at the
/// student prompt, is ignored); arguments follow after whitespace.
pub(super) fn parse_command(line: &str) -> Command {
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
        "report" => bare(Request::Report),
        "stats" => bare(Request::Stats),
        "shutdown" => bare(Request::Shutdown),
        "kick" => match name_arg(rest) {
            Ok(name) => Command::Request(Request::Kick { name }),
            Err(why) => Command::Error(why.unwrap_or_else(|| "usage: kick NAME|#N".into())),
        },
        "code" => match name_arg(rest) {
            Ok(name) => Command::Request(Request::Code { name }),
            Err(why) => Command::Error(why.unwrap_or_else(|| "usage: code NAME|#N".into())),
        },
        "retake" => match name_arg(rest) {
            Ok(name) if name.starts_with('#') => Command::Error(
                "usage: retake NAME (the name the student types; a finished attempt has no #N)"
                    .into(),
            ),
            Ok(name) => Command::Request(Request::Retake { name }),
            Err(why) => Command::Error(why.unwrap_or_else(|| "usage: retake NAME".into())),
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
    let name = match student_name(&word) {
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
/// or text in double quotes, where `\"` is a quote and `\\` a backslash (so every name `who`
/// shows can be typed: `kick "\"bob"`). `Ok(None)`: nothing left.
fn next_word(rest: &str) -> Result<Option<(String, &str)>, String> {
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Ok(None);
    }
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut word = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => return Ok(Some((word, quoted[at + 1..].trim()))),
                '\\' => match chars.next() {
                    Some((_, escaped)) => word.push(escaped),
                    None => break,
                },
                c => word.push(c),
            }
        }
        return Err("unclosed quote (write \\\" for a quote inside quotes)".into());
    }
    Ok(Some(
        rest.split_once(char::is_whitespace)
            .map_or((rest.to_owned(), ""), |(word, after)| {
                (word.to_owned(), after.trim())
            }),
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
        rest.to_owned()
    };
    student_name(&raw)
}

/// A student as the teacher names them: `#N`, the number `who` shows, or their name, with
/// whitespace folded, invisible characters dropped, and no longer than a name can be.
fn student_name(raw: &str) -> Result<String, Option<String>> {
    if let Some(number) = raw.strip_prefix('#') {
        return match number.parse::<usize>() {
            Ok(n) if n > 0 => Ok(format!("#{n}")),
            _ => Err(Some(format!("{raw}: a number from who, like #3"))),
        };
    }
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
