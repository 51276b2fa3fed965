//! The journal: what keeps every answer through a crash (`kill -9`, the OOM killer, a power
//! cut), so that a restart carries every attempt on where it was.
//!
//! Append-only, beside the results file (`results.csv.journal` unless `--journal` says
//! otherwise), mode 0600 (it holds resume codes). The room writes a record for what changes
//! (an attempt started, an answer, an end with its row, the live game moving on) into a
//! buffer; once per loop turn the server writes that buffer in one `write` and one
//! `fdatasync`, and only then sends the turn's output: a student never reads a verdict that is
//! not on disk. That is Redis's `appendfsync always` with its group commit per event-loop turn
//! (`beforeSleep`). Records are framed and checksummed ([`record`]); a torn or corrupt tail is
//! cut at the last whole record on start-up, with a warning.
//!
//! The journal stays small: once it outgrows [`crate::limits::JOURNAL_COMPACT`] (or twice its
//! last snapshot), and whenever nothing is in progress, it is rewritten as a snapshot of what
//! is still open (a temporary file, `fsync`, `rename`, `fsync` of the directory, as SQLite and
//! LevelDB replace files), after the results file is synced so that no ended attempt is
//! dropped before its row is safe.

pub mod record;
mod recover;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::limits::{JOURNAL_BACKLOG_MAX, JOURNAL_MAX_READ, JOURNAL_PREALLOCATE};
pub use record::{AttemptId, Recovered};
use record::{MAGIC, Tail};
pub use recover::{recover, summary};

/// When the journal is forced to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// `fdatasync` every loop turn that wrote records, before any of its output is sent (the
    /// default: survives a power cut, with a disk that does not lie about its cache).
    Always,
    /// Written every turn, never forced: survives the process being killed (the kernel has
    /// the bytes), not a power cut or a kernel crash.
    Never,
}

/// What the journal counts, for `stats`, the summary line and the benches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Turns whose records were written (one `write` each).
    pub commits: u64,
    /// `fdatasync` calls.
    pub syncs: u64,
    pub bytes: u64,
    /// Writes or syncs that failed (their records were kept and written again).
    pub failures: u64,
    /// Bytes of records given up because the backlog of unwritable ones was full.
    pub dropped: u64,
    pub compactions: u64,
    /// Time spent in `write` and `fdatasync`.
    pub busy: Duration,
}

impl JournalStats {
    /// `journal: 812 writes, 812 fsyncs, 1.2 MiB (21 B per answer), 2 compactions, 0.4 s busy`.
    pub fn describe(&self, answers: u64) -> String {
        let mut s = format!(
            "journal: {} writes, {} fsyncs, {:.1} MiB",
            self.commits,
            self.syncs,
            self.bytes as f64 / (1024.0 * 1024.0)
        );
        if let Some(per) = self.bytes.checked_div(answers) {
            s.push_str(&format!(" ({per} B per answer)"));
        }
        s.push_str(&format!(
            ", {} compactions, {:.1} s busy",
            self.compactions,
            self.busy.as_secs_f64()
        ));
        if self.failures > 0 {
            s.push_str(&format!(", {} failed writes", self.failures));
        }
        if self.dropped > 0 {
            s.push_str(&format!(", {} bytes given up", self.dropped));
        }
        s
    }
}

/// The journal file, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    sync: Sync,
    /// Bytes in the file (all whole records).
    size: u64,
    /// The file's length: zeros written ahead of `size` ([`Journal::reserve`]), so a disk filling up fails the results
    /// file before the journal.
    reserved: u64,
    /// Records a failed write left, written before the next ones.
    backlog: Vec<u8>,
    /// The size of the last snapshot: the next compaction waits for twice that.
    snapshot: u64,
    failing: bool,
    pub stats: JournalStats,
}

/// What start-up found in the journal.
#[derive(Debug)]
pub struct Opened {
    pub journal: Journal,
    pub recovered: Recovered,
    /// A torn or corrupt tail that was cut (already logged).
    pub cut: Option<String>,
}

impl Journal {
    /// The journal's default place: beside the results file, its name with `.journal` added.
    pub fn beside(results: &Path) -> PathBuf {
        let mut name = results.file_name().unwrap_or_default().to_os_string();
        name.push(".journal");
        results.with_file_name(name)
    }

    /// Opens (or creates) the journal at `path` and reads what it holds. A torn or corrupt
    /// tail is cut at the last whole record, with a warning; a file that is not a journal at
    /// all is refused (it may be something else of the teacher's).
    pub fn open(path: &Path, sync: Sync) -> Result<Opened, String> {
        let shown = path.display();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // Not through a symbolic link: someone who can write beside the results must not
            // point the journal at a file of the teacher's.
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => {
                    format!("the journal {shown} is a symbolic link; give --journal a plain path")
                }
                _ => format!("cannot open the journal {shown}: {e}"),
            })?;
        // One server per journal: a second one would take the first's attempts for a crash's.
        // The lock goes with the process, however it ends.
        if let Err(e) = lock(&file) {
            return Err(if e.kind() == io::ErrorKind::WouldBlock {
                format!(
                    "the journal {shown} is in use by another quizd (one server per results file; give this one another --results or --journal)"
                )
            } else {
                format!("cannot lock the journal {shown}: {e}")
            });
        }
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read the journal {shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("the journal {shown} is not a regular file"));
        }
        if meta.len() > JOURNAL_MAX_READ {
            return Err(format!(
                "the journal {shown} is {} MiB, over the {} MiB quizd reads; move it away to start afresh",
                meta.len() >> 20,
                JOURNAL_MAX_READ >> 20
            ));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read the journal {shown}: {e}"))?;
        let nonzero = bytes.iter().any(|&b| b != 0);
        if nonzero && !bytes.starts_with(MAGIC) && !MAGIC.starts_with(&bytes) {
            return Err(format!(
                "{shown} is not a quizd journal; give --journal another path (or remove the file)"
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            // It holds resume codes: only its owner may read it (through the descriptor: the
            // file checked, not whatever the path names now).
            let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
        }
        let (records, valid, tail) = if bytes.starts_with(MAGIC) {
            record::read_frames(&bytes)
        } else {
            (Vec::new(), 0, Tail::Clean)
        };
        let cut = match tail {
            Tail::Clean => None,
            Tail::Torn { at, why } => {
                let message = format!(
                    "journal {shown}: {why} at byte {at} of {}; cut there, {} whole record(s) kept",
                    bytes.len(),
                    records.len()
                );
                log::warn!("{message}");
                Some(message)
            }
        };
        let mut valid = valid as u64;
        if valid < MAGIC.len() as u64 {
            // Empty, or only part of the magic: start the file afresh.
            file.set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)))
                .and_then(|_| file.write_all(MAGIC))
                .map_err(|e| format!("cannot write the journal {shown}: {e}"))?;
            valid = MAGIC.len() as u64;
        } else if valid < bytes.len() as u64 {
            file.set_len(valid)
                .map_err(|e| format!("cannot cut the journal {shown}: {e}"))?;
        }
        file.seek(SeekFrom::Start(valid))
            .map_err(|e| format!("cannot seek in the journal {shown}: {e}"))?;
        let recovered = Recovered::fold(records);
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            sync,
            size: valid,
            reserved: valid,
            backlog: Vec::new(),
            snapshot: valid,
            failing: false,
            stats: JournalStats::default(),
        };
        journal.reserve();
        Ok(Opened {
            journal,
            recovered,
            cut,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether records are waiting because the disk refused them.
    pub fn is_failing(&self) -> bool {
        self.failing
    }

    /// The server stops: the zeros written ahead are cut off, so the file holds its records
    /// only (none, after a clean stop with nothing open: just the header).
    pub fn close(&mut self) {
        if self.file.set_len(self.size).is_ok() {
            self.reserved = self.size;
            let _ = self.file.sync_all();
        }
    }

    /// Whether records were added since the last snapshot.
    pub fn grew(&self) -> bool {
        self.size > self.snapshot
    }

    /// A compaction could not happen now: the next waits for the journal to grow as much
    /// again (no retry every turn).
    pub fn postpone(&mut self) {
        self.snapshot = self.size;
    }

    /// Whether the journal has outgrown its last snapshot enough to be rewritten.
    pub fn wants_compaction(&self) -> bool {
        self.size > crate::limits::JOURNAL_COMPACT.max(2 * self.snapshot)
    }

    /// Keeps [`JOURNAL_PREALLOCATE`] bytes of zeros written past the last record, as
    /// PostgreSQL fills a WAL segment with zeros before using it: records then overwrite blocks
    /// that exist, so `fdatasync` flushes data only, with no file size or extent to update (a
    /// third cheaper here), and a disk filling up meets the zeros, not a record. Replay stops
    /// at zeros. Failure is only logged: appending still works while the disk has room.
    fn reserve(&mut self) {
        if self.reserved >= self.size + JOURNAL_PREALLOCATE / 2 {
            return;
        }
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        let mut at = self.reserved.max(self.size);
        let end = self.size + JOURNAL_PREALLOCATE;
        while at < end {
            let n = ZEROS.len().min((end - at) as usize);
            if let Err(e) = self.file.write_all_at(&ZEROS[..n], at) {
                log::debug!("journal: cannot write zeros ahead: {e}");
                break;
            }
            at += n as u64;
        }
        self.reserved = at;
    }

    /// Writes `frames` (whole records) after any left by a failed write, in one `write`, and
    /// forces them to the disk as `--journal-sync` says. False if they are not on disk: they
    /// are kept (up to [`JOURNAL_BACKLOG_MAX`] bytes) and written with the next ones.
    pub fn commit(&mut self, frames: &[u8]) -> bool {
        if frames.is_empty() && self.backlog.is_empty() {
            return true;
        }
        let started = Instant::now();
        let result = if self.backlog.is_empty() {
            self.write_synced(frames)
        } else {
            self.backlog.extend_from_slice(frames);
            let backlog = std::mem::take(&mut self.backlog);
            let result = self.write_synced(&backlog);
            self.backlog = backlog;
            if result.is_ok() {
                self.backlog.clear();
            }
            result
        };
        self.stats.busy += started.elapsed();
        match result {
            Ok(()) => {
                if self.failing {
                    log::warn!("journal {}: writing again", self.path.display());
                    self.failing = false;
                }
                true
            }
            Err(e) => {
                self.stats.failures += 1;
                if !self.failing {
                    log::error!(
                        "journal {}: cannot write ({e}); records are kept in memory and written when the disk takes them, but a crash now would lose them",
                        self.path.display()
                    );
                    self.failing = true;
                }
                if self.backlog.is_empty() {
                    self.backlog.extend_from_slice(frames);
                }
                if self.backlog.len() > JOURNAL_BACKLOG_MAX {
                    self.stats.dropped += self.backlog.len() as u64;
                    log::error!(
                        "journal {}: {} bytes of records could not be written and were given up (the results file still gets every row)",
                        self.path.display(),
                        self.backlog.len()
                    );
                    self.backlog.clear();
                }
                false
            }
        }
    }

    fn write_synced(&mut self, bytes: &[u8]) -> io::Result<()> {
        let written = self.file.write_all_at(bytes, self.size).and_then(|()| {
            if self.sync == Sync::Always {
                self.stats.syncs += 1;
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Cut what went in: a part written is a torn record, and records whose sync failed
            // are written again with the next ones (not twice: at the same place).
            let _ = self.file.set_len(self.size);
            self.reserved = self.size;
            return Err(e);
        }
        self.size += bytes.len() as u64;
        self.stats.commits += 1;
        self.stats.bytes += bytes.len() as u64;
        self.reserve();
        Ok(())
    }

    /// Replaces the journal with `snapshot` (whole records): a temporary file beside it,
    /// synced, renamed over it, the directory synced. On failure the old journal stays.
    pub fn rewrite(&mut self, snapshot: &[u8]) -> io::Result<()> {
        let started = Instant::now();
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = self.path.with_file_name(tmp_name);
        let result = (|| {
            // A fresh file, never one already there (nor what a link there points to).
            match fs::remove_file(&tmp) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            // Locked before it takes the journal's name, so no second server can open it.
            lock(&file)?;
            // The snapshot is the state now: records a failed write left are in it already.
            file.write_all(MAGIC)?;
            file.write_all(snapshot)?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                File::open(dir)?.sync_all()?;
            }
            let size = file.seek(SeekFrom::End(0))?;
            Ok((file, size))
        })();
        self.stats.busy += started.elapsed();
        match result {
            Ok((file, size)) => {
                self.file = file;
                self.size = size;
                self.reserved = size;
                self.snapshot = size;
                self.backlog.clear();
                self.stats.compactions += 1;
                self.reserve();
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                self.postpone();
                Err(e)
            }
        }
    }
}

/// Takes the journal's lock (`flock`, exclusive, without waiting).
fn lock(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor we own; flock takes no pointers.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The attempt ids in a results file (its `attempt_id` column, the last), to write each
/// recovered row once: a row that reached the file before the crash is not written again.
pub fn ids_in_results(path: &Path) -> io::Result<std::collections::HashSet<AttemptId>> {
    let mut ids = std::collections::HashSet::new();
    let text = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e),
    };
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let last = line.rsplit(|&b| b == b',').next().unwrap_or_default();
        if let Some(id) = std::str::from_utf8(last).ok().and_then(AttemptId::parse) {
            ids.insert(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests;
