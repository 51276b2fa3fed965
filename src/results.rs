//! The results file: one CSV row per attempt, appended and written the moment it ends.
//!
//! The file is opened for appending (never truncated) and gets a header when it is empty.
//! Each row normally goes out in one `write`, after checking that the path still names the file
//! held open: if it was deleted, or renamed away and maybe replaced (log rotation), the path is
//! opened again (created, with the header, if need be) and a warning logged, so no row goes
//! into a file nobody can find. A row that cannot be written (disk full, the path cannot be
//! opened) stays queued, in order, and is tried again with the next row and by [`Results::retry`]
//! (the server calls it every [`RESULTS_RETRY`] while [`Results::has_pending`]). A row cut short
//! is completed from the byte where the failed write stopped, so it is never written twice; if
//! the file changed meanwhile, the new file gets the whole row. [`Results::close`] makes a last
//! try, prints what still waits to stderr so no answer is lost, and says what reached the file.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::bank::Response;
use crate::limits::RESULTS_RETRY;
use crate::quiz::Quiz;
use crate::room::roster::Attempt;

/// The header line; its column names are a stable interface (spreadsheets, scripts).
pub const HEADER: &str = "finished_at,name,peer,quiz,score,max,percent,duration_s,answers,status,attempt,points,to_grade,marks,seconds,attempt_id";

/// Where finished attempts go.
#[derive(Debug)]
pub struct Results {
    path: PathBuf,
    /// The file rows go to; `None` once the path stopped naming it and opening the path again
    /// failed (then rows wait until it can be opened).
    file: Option<File>,
    /// Rows not yet on disk, oldest first.
    pending: VecDeque<String>,
    /// Bytes of the front pending row already written (a write that failed part-way).
    front_sent: usize,
    /// Rows that reached the file the path named when they were written.
    written: u64,
    /// The last attempt to write failed (logged once, until rows go out again).
    failing: bool,
    /// The path was checked since the loop's last turn began ([`Results::new_turn`]).
    checked: bool,
}

/// What [`Results::close`] got done over the whole run, for the server's last log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub path: PathBuf,
    /// Rows that reached the file at `path` (the file the path named when each was written).
    pub written: u64,
    /// Rows that could not be written; they were printed to stderr instead.
    pub unwritten: usize,
}

impl fmt::Display for Closed {
    /// `12 row(s) written to results.csv`, and when some were not:
    /// `; 3 row(s) could not be written (printed to stderr)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} row(s) written to {}",
            self.written,
            self.path.display()
        )?;
        if self.unwritten > 0 {
            write!(
                f,
                "; {} row(s) could not be written (printed to stderr)",
                self.unwritten
            )?;
        }
        Ok(())
    }
}

impl Results {
    /// Opens (or creates) the file for appending; writes the header if the file is empty.
    pub fn open(path: &Path) -> io::Result<Results> {
        let file = open_for_rows(path)?;
        Ok(Results {
            path: path.to_path_buf(),
            file: Some(file),
            pending: VecDeque::new(),
            front_sent: 0,
            written: 0,
            failing: false,
            checked: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written since start (each to the file the path named at the time).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// True while rows wait because writing them failed: the server should call
    /// [`Results::retry`] every [`RESULTS_RETRY`] until it is false.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// How many rows wait to be written.
    pub fn unwritten(&self) -> usize {
        self.pending.len()
    }

    /// Forces the rows written so far to the disk (before the journal forgets their records).
    pub fn sync(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.sync_data(),
            None => Ok(()),
        }
    }

    /// Writes the rows that wait, if any. Costs nothing (no system call) when none wait.
    pub fn retry(&mut self) {
        if self.has_pending() {
            self.write_pending();
        }
    }

    /// A new turn of the loop: the next row checks the path again. Rows of one turn share one
    /// check (a `stat` and an `fstat`): at 19,000 attempts ending together, a check per row
    /// cost the last answers ~10% of their latency; a turn lasts milliseconds.
    pub fn new_turn(&mut self) {
        self.checked = false;
    }

    /// Queues the row for `attempt` and writes every queued row it can.
    pub fn record(&mut self, attempt: &Attempt, quiz: &Quiz, finished_at: SystemTime) {
        self.pending.push_back(row(attempt, quiz, finished_at));
        self.write_pending();
    }

    fn write_pending(&mut self) {
        let mut rows = 0;
        let result = match (self.follow_path(), self.file.as_mut()) {
            (Ok(()), Some(file)) => {
                let done = write_rows(file, &mut self.pending, &mut self.front_sent);
                rows = done.rows;
                done.result
            }
            (Ok(()), None) => Err(io::Error::other("no results file open")),
            (Err(e), _) => Err(e),
        };
        self.written += rows;
        match result {
            Ok(()) if self.failing => {
                self.failing = false;
                log::info!(
                    "{} is writable again: {rows} waiting row(s) written",
                    self.path.display()
                );
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                log::error!(
                    "cannot write to {}: {}; {} row(s) kept in memory and tried again every {} s (printed to stderr at exit if still unwritten)",
                    self.path.display(),
                    crate::text::describe_io_error(&e),
                    self.pending.len(),
                    RESULTS_RETRY.as_secs()
                );
            }
            Err(e) => log::debug!(
                "still cannot write to {}: {e}; {} row(s) waiting",
                self.path.display(),
                self.pending.len()
            ),
        }
    }

    /// Makes sure the file held is the one the path names: if it is not (deleted: created anew
    /// with the header; renamed away or replaced: whatever is at the path now), the path is
    /// opened again, with a warning. Rows already written stay in the old file.
    fn follow_path(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.checked, true) && self.file.is_some() {
            return Ok(());
        }
        let at_path = fs::metadata(&self.path);
        let still_ours = match (&self.file, &at_path) {
            (Some(file), Ok(named)) => file
                .metadata()
                .is_ok_and(|held| (held.dev(), held.ino()) == (named.dev(), named.ino())),
            _ => false,
        };
        if still_ours {
            return Ok(());
        }
        if self.file.take().is_some() {
            let what = match &at_path {
                Err(e) if e.kind() == io::ErrorKind::NotFound => "deleted",
                Err(_) => "deleted or made unreachable",
                Ok(_) => "replaced (renamed or rotated)",
            };
            let path = self.path.display();
            log::warn!(
                "results file {path} was {what}; rows already written stay in the old file, new rows go to a new {path}"
            );
        }
        // A row cut short went to the old file: the new one gets it whole.
        self.front_sent = 0;
        self.file = Some(open_for_rows(&self.path)?);
        Ok(())
    }

    /// Last try at shutdown; rows that still cannot be written go to stderr. Returns what
    /// reached the file, for the server's last log line.
    pub fn close(mut self) -> Closed {
        self.write_pending();
        if let Some(file) = &self.file
            && let Err(e) = file.sync_data()
        {
            log::warn!("cannot sync {}: {e}", self.path.display());
        }
        if !self.pending.is_empty() {
            log::error!(
                "{} row(s) could not be written to {}; here they are:",
                self.pending.len(),
                self.path.display()
            );
            eprintln!("{HEADER}");
            for row in &self.pending {
                eprint!("{row}");
            }
        }
        Closed {
            path: self.path,
            written: self.written,
            unwritten: self.pending.len(),
        }
    }
}

/// Opens (or creates) a results file for appending: the header goes into an empty file (and
/// is taken out again if it could not be written whole, so the next try starts clean); a file
/// that does not start with it is appended to with a warning. Only a regular file (or
/// `/dev/null`) will do, opened without blocking: a FIFO or a terminal put at the path could
/// otherwise hold the server's one thread in `open` or `write`.
fn open_for_rows(path: &Path) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let metadata = file.metadata()?;
    let kind = metadata.file_type();
    if kind.is_char_device() && metadata.rdev() == libc::makedev(1, 3) {
        // /dev/null: the teacher keeps no results.
        return Ok(file);
    }
    if !kind.is_file() {
        return Err(io::Error::other(format!(
            "{}; results go only to a regular file",
            crate::bank::not_regular_message(kind)
        )));
    }
    if metadata.len() == 0 {
        if let Err(e) = file.write_all(format!("{HEADER}\r\n").as_bytes()) {
            let _ = file.set_len(0);
            return Err(e);
        }
    } else {
        let mut first = String::new();
        BufReader::new(&file).read_line(&mut first)?;
        if first.trim_end() != HEADER {
            log::warn!(
                "{} does not start with quizd's header; appending rows anyway",
                path.display()
            );
        }
    }
    Ok(file)
}

/// What [`write_rows`] got done.
struct Written {
    rows: u64,
    result: io::Result<()>,
}

/// Writes the queued rows in order, starting `front_sent` bytes into the first; stops at the
/// first error, remembering how far that row got.
fn write_rows(
    out: &mut impl Write,
    pending: &mut VecDeque<String>,
    front_sent: &mut usize,
) -> Written {
    let mut rows = 0;
    while let Some(row) = pending.front() {
        match out.write(&row.as_bytes()[*front_sent..]) {
            Ok(0) => {
                let result = Err(io::ErrorKind::WriteZero.into());
                return Written { rows, result };
            }
            Ok(n) => {
                *front_sent += n;
                if *front_sent == row.len() {
                    pending.pop_front();
                    *front_sent = 0;
                    rows += 1;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Written {
                    rows,
                    result: Err(e),
                };
            }
        }
    }
    Written {
        rows,
        result: Ok(()),
    }
}

/// One CSV row (RFC 4180, CR LF), for spreadsheets.
pub fn row(attempt: &Attempt, quiz: &Quiz, finished_at: SystemTime) -> String {
    let answers = answers_column(attempt);
    let fields = [
        rfc3339(finished_at),
        csv_text(&attempt.name),
        attempt.peer.to_string(),
        csv_text(&quiz.title),
        attempt.score.to_string(),
        attempt.max.to_string(),
        attempt.score.percent_of(attempt.max).to_string(),
        format!("{:.1}", attempt.duration.as_secs_f64()),
        csv_text(&answers),
        attempt.status.as_str().to_string(),
        attempt.attempt.to_string(),
        // Leaderboard points exist in live mode only.
        match &quiz.settings.live {
            Some(live) => crate::room::live::shown_points(live.scoring, attempt.points),
            None => String::new(),
        },
        to_grade(attempt, quiz),
        marks_column(attempt, quiz),
        seconds_column(attempt),
        // Last, so it is found without parsing the quoted columns (see
        // `journal::ids_in_results`).
        attempt.id.to_string(),
    ];
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

/// The bank numbers of the essays the student answered, for the teacher to mark
/// (`3 7`), in bank order; empty when there are none.
/// `QUESTION:MARKS` per question of the attempt, sorted by question number like `answers`:
/// the marks the answer earned (`1`, `0`, `0.5`), `?` for an essay the teacher marks, `-`
/// for a question never reached. What the item analysis (`quizd report`) reads.
pub fn marks_column(attempt: &Attempt, quiz: &Quiz) -> String {
    per_question(attempt, |i, q, answer| {
        match outcome(attempt, i, q, answer, quiz) {
            (Some(marks), _) => marks.exact(),
            (None, true) => "?".to_string(),
            (None, false) => "-".to_string(),
        }
    })
}

/// What question `q` (at place `i` of the attempt, answered `answer`) came to: the marks it
/// earned (`None`: an essay, the teacher's to mark, or never reached) and whether it was
/// reached. The `marks` column, and the item analysis of the run, read it.
pub fn outcome(
    attempt: &Attempt,
    i: usize,
    q: u32,
    answer: &Option<Response>,
    quiz: &Quiz,
) -> (Option<crate::bank::Marks>, bool) {
    let reached = answer.is_some()
        || attempt
            .times
            .get(i)
            .is_none_or(|&t| t != crate::room::roster::UNTIMED);
    match (answer, quiz.questions.get(q as usize)) {
        (_, Some(question)) if question.is_essay() => (None, reached),
        (Some(response), Some(question)) => (question.marks_for(response), true),
        (None, _) if reached => (Some(crate::bank::Marks::ZERO), true),
        _ => (None, false),
    }
}

/// `QUESTION:SECONDS` per question, sorted like `answers`: the time from the question being
/// shown to its answer (or its clock running out), to the tenth; `-` when not known.
pub fn seconds_column(attempt: &Attempt) -> String {
    per_question(attempt, |i, _, _| {
        seconds_of(attempt, i).map_or("-".to_string(), |s| format!("{s:.1}"))
    })
}

/// The seconds question `i` of the attempt took, to the tenth as the column writes them.
pub fn seconds_of(attempt: &Attempt, i: usize) -> Option<f64> {
    match attempt.times.get(i) {
        Some(&ms) if ms != crate::room::roster::UNTIMED => {
            Some((f64::from(ms) / 100.0).round() / 10.0)
        }
        _ => None,
    }
}

/// `Q:x` for each question of the attempt, in bank order, from `cell(position in the attempt,
/// bank index, answer)`.
fn per_question(
    attempt: &Attempt,
    cell: impl Fn(usize, u32, &Option<Response>) -> String,
) -> String {
    let mut cells: Vec<(u32, String)> = attempt
        .responses
        .iter()
        .enumerate()
        .map(|(i, (q, answer))| (*q, cell(i, *q, answer)))
        .collect();
    cells.sort_by_key(|&(q, _)| q);
    cells
        .iter()
        .map(|(q, c)| format!("{}:{c}", q + 1))
        .collect::<Vec<_>>()
        .join(" ")
}

fn to_grade(attempt: &Attempt, quiz: &Quiz) -> String {
    let mut numbers: Vec<u32> = attempt
        .responses
        .iter()
        .filter(|(q, answer)| {
            answer.is_some()
                && quiz
                    .questions
                    .get(*q as usize)
                    .is_some_and(crate::bank::Question::is_essay)
        })
        .map(|(q, _)| q + 1)
        .collect();
    numbers.sort_unstable();
    numbers
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `QUESTION:ANSWER` per question of the attempt, sorted by question number, space separated:
/// the question's number in the bank (1-based, file order), then for multiple choice the
/// letter of the chosen option as the bank letters it (not as the shuffled screen showed it),
/// for other kinds the typed answer in double quotes with `"` and `\` escaped by a backslash
/// (`4:"no one"`, `5:"3,14"`, `6:"true"`), and `-` for no answer.
/// Sorting by bank number lines the columns up across students whatever order they saw.
pub fn answers_column(attempt: &Attempt) -> String {
    per_question(attempt, |_, _, answer| {
        answer.as_ref().map_or("-".to_string(), answer_cell)
    })
}

/// One answer as the `answers` column writes it: `b`, `ac`, `bca`, `"typed \"text\""`.
pub fn answer_cell(answer: &Response) -> String {
    let mut out = String::new();
    match answer {
        Response::Choice(c) => out.push(crate::text::letter(usize::from(*c))),
        // Every option chosen, as the bank letters them: `3:ac`.
        Response::Picks(bits) => out.extend(
            (0..32usize)
                .filter(|i| bits & (1 << i) != 0)
                .map(crate::text::letter),
        ),
        // The choice given for each item in turn, as the bank letters them: `5:bca`.
        Response::Pairs(pairs) => out.extend(
            pairs
                .iter()
                .map(|&choice| crate::text::letter(usize::from(choice))),
        ),
        Response::Text(text) => {
            out.push('"');
            for c in text.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
    out
}

/// Quotes a text field when needed, and defuses spreadsheet formulas: a cell that starts with
/// `=`, `+`, `-`, `@` (or a tab/CR) would be evaluated by Excel or LibreOffice.
pub fn csv_text(s: &str) -> String {
    let defused;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s != "-" {
        defused = format!("'{s}");
        defused.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `2026-11-21T09:30:05Z`: RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Marks;
    use crate::bank::{Bank, Kind, Question, Response};
    use crate::quiz::Settings;
    use crate::room::roster::Status;
    use std::sync::Arc;
    use std::time::Duration;

    fn quiz() -> Quiz {
        let file: Arc<str> = Arc::from("t.txt");
        let q = |i: u32| {
            Question::new(
                format!("q{i}"),
                Kind::choice(vec!["a".into(), "b".into(), "c".into()], 0),
                &file,
                i,
            )
        };
        Quiz::new(
            Bank {
                title: "sockets".into(),
                questions: (1..=4).map(q).collect(),
                ..Default::default()
            },
            Settings::default(),
        )
    }

    fn attempt(name: &str) -> Attempt {
        Attempt {
            id: crate::journal::AttemptId {
                run: 0x3fa2_c91b,
                number: 17,
            },
            name: name.into(),
            attempt: 1,
            points: 0,
            peer: "127.0.0.1:5000".parse().expect("literal address"),
            score: Marks::whole(2),
            max: 3,
            responses: vec![
                (3, Some(Response::Choice(1))),
                (0, Some(Response::Choice(0))),
                (1, None),
            ],
            times: vec![4_200, 12_000, crate::room::roster::UNTIMED],
            status: Status::Completed,
            duration: Duration::from_millis(61_250),
        }
    }

    #[test]
    fn rfc3339_formats_known_instants_in_utc() {
        let at = |s: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn row_has_every_column_with_answers_in_bank_order() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(
            row(&attempt("alice"), &quiz(), t),
            "2026-11-18T11:06:40Z,alice,127.0.0.1:5000,sockets,2,3,67,61.2,1:a 2:- 4:b,completed,1,,,\
             1:1 2:- 4:0,1:12.0 2:- 4:4.2,3fa2c91b-17\r\n"
        );
        assert_eq!(HEADER.split(',').count(), 16);
    }

    #[test]
    fn typed_answers_are_quoted_and_escaped_inside_the_csv_quoting() {
        let mut a = attempt("alice");
        a.responses = vec![
            (4, Some(Response::Text("no one".into()))),
            (2, Some(Response::Text("say \"hi\" \\o/".into()))),
            (0, Some(Response::Choice(2))),
            (6, Some(Response::Text("3,14".into()))),
            (5, None),
        ];
        let answers = answers_column(&a);
        assert_eq!(
            answers,
            r#"1:c 3:"say \"hi\" \\o/" 5:"no one" 6:- 7:"3,14""#
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let row = row(&a, &quiz(), t);
        assert!(
            row.contains(r#","1:c 3:""say \""hi\"" \\o/"" 5:""no one"" 6:- 7:""3,14""","#),
            "{row}"
        );
    }

    #[test]
    fn csv_text_quotes_separators_and_defuses_formulas() {
        assert_eq!(csv_text("plain"), "plain");
        assert_eq!(csv_text("Smith, Jo"), "\"Smith, Jo\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("=1+1"), "'=1+1");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("-"), "-");
    }

    #[test]
    fn rows_that_cannot_be_written_are_kept_and_written_with_the_next() {
        let dir = std::env::temp_dir().join(format!("quizd-results-fail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("r.csv");
        let _ = std::fs::remove_file(&path);
        let mut r = Results::open(&path).expect("open results");
        // The disk "fails": the handle now refuses writes.
        let writable = r.file.replace(File::open(&path).expect("read-only handle"));
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        assert_eq!((r.written(), r.pending.len()), (0, 1));
        // It recovers: the next row brings the kept one with it, in order.
        r.file = writable;
        r.record(&attempt("bob"), &quiz(), SystemTime::UNIX_EPOCH);
        assert_eq!((r.written(), r.pending.len()), (2, 0));
        r.close();
        let text = std::fs::read_to_string(&path).expect("read results");
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap_or(""))
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Takes `room` bytes, then fails as a full disk does, until given more room.
    struct Disk {
        data: Vec<u8>,
        room: usize,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::other("no space left on device"));
            }
            let n = buf.len().min(self.room);
            self.data.extend_from_slice(&buf[..n]);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_row_cut_short_by_a_full_disk_is_completed_not_written_again() {
        let mut pending: VecDeque<String> =
            ["first row\r\n", "second row\r\n"].map(String::from).into();
        let mut front_sent = 0;
        let mut disk = Disk {
            data: Vec::new(),
            room: 14,
        };
        let done = write_rows(&mut disk, &mut pending, &mut front_sent);
        assert_eq!(done.rows, 1);
        assert!(done.result.is_err());
        assert_eq!((pending.len(), front_sent), (1, 3));
        disk.room = usize::MAX;
        let done = write_rows(&mut disk, &mut pending, &mut front_sent);
        assert_eq!(done.rows, 1);
        assert!(done.result.is_ok());
        assert_eq!(
            String::from_utf8_lossy(&disk.data),
            "first row\r\nsecond row\r\n"
        );
    }

    #[test]
    fn open_appends_and_writes_the_header_only_once() {
        let dir = std::env::temp_dir().join(format!("quizd-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("r.csv");
        let _ = std::fs::remove_file(&path);
        let t = SystemTime::UNIX_EPOCH;
        for name in ["alice", "bob"] {
            let mut r = Results::open(&path).expect("open results");
            r.record(&attempt(name), &quiz(), t);
            assert_eq!(r.written(), 1);
            r.close();
        }
        let text = std::fs::read_to_string(&path).expect("read results");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER);
        assert!(lines[1].contains(",alice,") && lines[2].contains(",bob,"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A directory of its own under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> TempDir {
            let path =
                std::env::temp_dir().join(format!("quizd-results-{}-{test}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("temp dir");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The names in a results file's rows, after checking it starts with the header.
    fn names_in(path: &Path) -> Vec<String> {
        let text = fs::read_to_string(path).expect("read results");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER), "{}: {text:?}", path.display());
        lines
            .map(|l| l.split(',').nth(1).unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn a_deleted_file_is_created_again_with_the_header_and_the_next_row() {
        let dir = TempDir::new("deleted");
        let path = dir.0.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        fs::remove_file(&path).expect("delete results");
        r.new_turn();
        r.record(&attempt("bob"), &quiz(), SystemTime::UNIX_EPOCH);
        assert_eq!(names_in(&path), ["bob"]);
        // alice reached the file while it was at the path; bob the new one.
        assert_eq!(r.written(), 2);
        let closed = r.close();
        assert_eq!((closed.written, closed.unwritten), (2, 0));
    }

    #[test]
    fn a_file_renamed_away_keeps_its_rows_and_the_next_row_goes_to_a_new_file() {
        let dir = TempDir::new("rotated");
        let path = dir.0.join("r.csv");
        let rotated = dir.0.join("r.csv.1");
        let mut r = Results::open(&path).expect("open results");
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        fs::rename(&path, &rotated).expect("rotate results");
        r.new_turn();
        r.record(&attempt("bob"), &quiz(), SystemTime::UNIX_EPOCH);
        r.record(&attempt("carol"), &quiz(), SystemTime::UNIX_EPOCH);
        assert_eq!(names_in(&rotated), ["alice"]);
        assert_eq!(names_in(&path), ["bob", "carol"]);
        assert_eq!(r.close().written, 3);
    }

    #[test]
    fn a_file_replaced_by_another_is_appended_to_without_a_second_header() {
        let dir = TempDir::new("replaced");
        let path = dir.0.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        // A rotation tool moves the file away and puts a fresh one (with a header) in its place.
        fs::rename(&path, dir.0.join("old.csv")).expect("rotate results");
        fs::write(&path, format!("{HEADER}\r\n")).expect("new results file");
        r.new_turn();
        r.record(&attempt("bob"), &quiz(), SystemTime::UNIX_EPOCH);
        assert_eq!(names_in(&path), ["bob"]);
        assert_eq!(names_in(&dir.0.join("old.csv")), ["alice"]);
    }

    #[test]
    fn rows_wait_uncounted_while_the_path_cannot_be_opened_and_retry_writes_them() {
        let dir = TempDir::new("no-dir");
        let sub = dir.0.join("sub");
        fs::create_dir(&sub).expect("sub dir");
        let path = sub.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        // The whole directory goes: the row must not go into the unlinked file.
        fs::remove_dir_all(&sub).expect("remove sub dir");
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        assert!(r.has_pending());
        assert_eq!((r.written(), r.unwritten()), (0, 1));
        r.retry();
        assert_eq!((r.written(), r.unwritten()), (0, 1));
        // Once the directory is back, a retry alone (no new row) writes the row.
        fs::create_dir(&sub).expect("sub dir again");
        r.retry();
        assert!(!r.has_pending());
        assert_eq!(r.written(), 1);
        assert_eq!(names_in(&path), ["alice"]);
    }

    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[test]
    fn a_fifo_at_the_path_is_refused_at_once_and_rows_wait_for_a_regular_file() {
        let dir = TempDir::new("fifo");
        let path = dir.0.join("r.csv");
        mkfifo(&path);
        let Err(e) = Results::open(&path) else {
            panic!("a FIFO is refused");
        };
        assert!(e.to_string().contains("not a regular file (a FIFO)"), "{e}");
        // Replaced by a FIFO while serving: no open or write waits for a reader.
        fs::remove_file(&path).expect("remove fifo");
        let mut r = Results::open(&path).expect("open results");
        fs::remove_file(&path).expect("remove file");
        mkfifo(&path);
        r.new_turn();
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        assert_eq!((r.written(), r.unwritten()), (0, 1));
        fs::remove_file(&path).expect("remove fifo");
        r.retry();
        assert_eq!(r.written(), 1);
        assert_eq!(names_in(&path), ["alice"]);
    }

    #[test]
    fn dev_null_is_accepted_as_a_results_file() {
        let mut r = Results::open(Path::new("/dev/null")).expect("/dev/null will do");
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        assert!(!r.has_pending());
    }

    #[test]
    fn retry_writes_rows_held_back_by_a_failed_write_without_waiting_for_another_row() {
        let dir = TempDir::new("retry");
        let path = dir.0.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        // The disk "fails": the handle now refuses writes.
        let writable = r.file.replace(File::open(&path).expect("read-only handle"));
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        r.record(&attempt("bob"), &quiz(), SystemTime::UNIX_EPOCH);
        assert!(r.has_pending());
        r.retry();
        assert_eq!((r.written(), r.unwritten()), (0, 2));
        // Room is made: the timer's retry writes both, in order.
        r.file = writable;
        r.retry();
        assert!(!r.has_pending());
        assert_eq!(r.written(), 2);
        assert_eq!(names_in(&path), ["alice", "bob"]);
    }

    #[test]
    fn retry_with_nothing_waiting_does_not_touch_the_file() {
        let dir = TempDir::new("idle-retry");
        let path = dir.0.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        assert!(!r.has_pending());
        fs::remove_file(&path).expect("delete results");
        r.retry();
        assert!(
            !path.exists(),
            "an idle retry must not even look at the path"
        );
    }

    #[test]
    fn a_row_cut_short_before_the_file_was_replaced_goes_whole_to_the_new_file() {
        let dir = TempDir::new("cut-short");
        let path = dir.0.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        // As if a full disk had taken the first 7 bytes of alice's row into the old file.
        r.pending
            .push_back(row(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH));
        r.front_sent = 7;
        fs::remove_file(&path).expect("delete results");
        r.retry();
        assert_eq!(names_in(&path), ["alice"]);
        let text = fs::read_to_string(&path).expect("read results");
        assert!(
            text.ends_with(",3fa2c91b-17\r\n") && text.lines().count() == 2,
            "{text:?}"
        );
    }

    #[test]
    fn close_says_what_was_written_and_what_was_not() {
        let dir = TempDir::new("close");
        let path = dir.0.join("r.csv");
        let mut r = Results::open(&path).expect("open results");
        r.record(&attempt("alice"), &quiz(), SystemTime::UNIX_EPOCH);
        r.file = Some(File::open(&path).expect("read-only handle"));
        r.record(&attempt("bob"), &quiz(), SystemTime::UNIX_EPOCH);
        let closed = r.close();
        assert_eq!((closed.written, closed.unwritten), (1, 1));
        assert_eq!(
            closed.to_string(),
            format!(
                "1 row(s) written to {}; 1 row(s) could not be written (printed to stderr)",
                path.display()
            )
        );
    }
}
