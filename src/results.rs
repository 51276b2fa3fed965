//! The results file: one CSV row per attempt, appended and written the moment it ends.
//!
//! The file is opened for appending (never truncated) and gets a header when it is empty.
//! Each row normally goes out in one `write`. A row that cannot be written (disk full, file
//! removed under us) stays queued and is tried again with the next row, from the byte where the
//! failed write stopped, so a half-written row is completed rather than written twice; at
//! shutdown anything still queued is printed to stderr, so no answer is lost.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::bank::Response;
use crate::quiz::Quiz;
use crate::room::roster::Attempt;
use crate::text::percent;

/// The header line; its column names are a stable interface (spreadsheets, scripts).
pub const HEADER: &str = "finished_at,name,peer,quiz,score,max,percent,duration_s,answers,status";

/// Where finished attempts go.
#[derive(Debug)]
pub struct Results {
    path: PathBuf,
    file: File,
    /// Rows not yet on disk, oldest first.
    pending: VecDeque<String>,
    /// Bytes of the front pending row already written (a write that failed part-way).
    front_sent: usize,
    written: u64,
}

impl Results {
    /// Opens (or creates) the file for appending; writes the header if the file is empty.
    pub fn open(path: &Path) -> io::Result<Results> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        if file.metadata()?.len() == 0 {
            file.write_all(format!("{HEADER}\r\n").as_bytes())?;
        } else {
            let mut first = String::new();
            BufReader::new(File::open(path)?).read_line(&mut first)?;
            if first.trim_end() != HEADER {
                log::warn!(
                    "{} does not start with quizd's header; appending rows anyway",
                    path.display()
                );
            }
        }
        Ok(Results {
            path: path.to_path_buf(),
            file,
            pending: VecDeque::new(),
            front_sent: 0,
            written: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written since start.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Queues the row for `attempt` and writes every queued row it can.
    pub fn record(&mut self, attempt: &Attempt, quiz: &Quiz, finished_at: SystemTime) {
        self.pending.push_back(row(attempt, quiz, finished_at));
        self.write_pending();
    }

    fn write_pending(&mut self) {
        let done = write_rows(&mut self.file, &mut self.pending, &mut self.front_sent);
        self.written += done.rows;
        if let Err(e) = done.result {
            log::error!(
                "cannot write to {}: {e}; {} row(s) kept in memory, retrying with the next row",
                self.path.display(),
                self.pending.len()
            );
        }
    }

    /// Last try at shutdown; rows that still cannot be written go to stderr.
    pub fn close(mut self) {
        self.write_pending();
        if let Err(e) = self.file.sync_data() {
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
    }
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
        percent(attempt.score, attempt.max).to_string(),
        format!("{:.1}", attempt.duration.as_secs_f64()),
        csv_text(&answers),
        attempt.status.as_str().to_string(),
    ];
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

/// `QUESTION:ANSWER` per question of the attempt, sorted by question number, space separated:
/// the question's number in the bank (1-based, file order), then for multiple choice the
/// letter of the chosen option as the bank letters it (not as the shuffled screen showed it),
/// for other kinds the typed answer in double quotes with `"` and `\` escaped by a backslash
/// (`4:"no one"`, `5:"3,14"`, `6:"true"`), and `-` for no answer.
/// Sorting by bank number lines the columns up across students whatever order they saw.
pub fn answers_column(attempt: &Attempt) -> String {
    let mut pairs: Vec<&(u32, Option<Response>)> = attempt.responses.iter().collect();
    pairs.sort_by_key(|&&(q, _)| q);
    let mut out = String::with_capacity(pairs.len() * 5);
    for (i, (question, answer)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&(question + 1).to_string());
        out.push(':');
        match answer {
            None => out.push('-'),
            Some(Response::Choice(c)) => out.push(crate::text::letter(usize::from(*c))),
            Some(Response::Text(text)) => {
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
            },
            Settings::default(),
        )
    }

    fn attempt(name: &str) -> Attempt {
        Attempt {
            name: name.into(),
            peer: "127.0.0.1:5000".parse().expect("literal address"),
            score: 2,
            max: 3,
            responses: vec![
                (3, Some(Response::Choice(1))),
                (0, Some(Response::Choice(0))),
                (1, None),
            ],
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
            "2026-11-18T11:06:40Z,alice,127.0.0.1:5000,sockets,2,3,67,61.2,1:a 2:- 4:b,completed\r\n"
        );
        assert_eq!(HEADER.split(',').count(), 10);
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
        let writable = std::mem::replace(&mut r.file, File::open(&path).expect("read-only handle"));
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
}
