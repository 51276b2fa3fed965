//! The journal's bytes: records round-trip, and a journal cut at any byte, or corrupted
//! anywhere, replays to a consistent prefix of what was written (SQLite's and LevelDB's crash
//! tests cut the log at every byte the same way).

use std::time::Duration;

use super::record::*;
use super::*;
use crate::bank::Response;
use crate::room::roster::{Attempt, Status};

fn id(number: u64) -> AttemptId {
    AttemptId {
        run: 0xdead_beef,
        number,
    }
}

fn peer() -> std::net::SocketAddr {
    "127.0.0.1:40000".parse().expect("literal address")
}

/// A day in a journal: a header, three attempts, answers, an end, a discard, a live game.
fn history() -> (Vec<u8>, Vec<Record>) {
    let mut buf = Vec::new();
    let header = Header {
        fingerprint: 42,
        questions: 3,
        count: 3,
        live: false,
        origin: "bank.gift".into(),
        numbered: 0,
        marks_unit: crate::bank::Marks::UNIT,
    };
    put_header(&mut buf, &header);
    let order = [2u32, 0, 1];
    let mut chosen: Vec<Option<Response>> = Vec::new();
    let mut times: Vec<u32> = Vec::new();
    for n in 1..=3 {
        put_seat(
            &mut buf,
            &SeatView {
                id: id(n),
                name: &format!("student{n}"),
                attempt: 1,
                peer: peer(),
                code: "abc234",
                seed: n,
                order: &order,
                first: 0,
                progress: ProgressView {
                    chosen: &[],
                    times: &[],
                    score: 0,
                    index: 0,
                    points: 0,
                    answer_ms: 0,
                    clock_left_ms: Some(30_000),
                    elapsed_ms: 0,
                    at_ms: 1_700_000_000_000,
                },
            },
        );
    }
    for (i, answer) in [
        Some(Response::Choice(1)),
        Some(Response::Text("no one".into())),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        chosen.push(answer);
        times.push(1_000 + i as u32);
        put_progress(
            &mut buf,
            id(1),
            i,
            &ProgressView {
                chosen: &chosen,
                times: &times,
                score: i as u32,
                index: i as u32 + 1,
                points: 0,
                answer_ms: 0,
                clock_left_ms: None,
                elapsed_ms: 1000 * i as u64,
                at_ms: 1_700_000_000_000 + 1000 * i as u64,
            },
        );
    }
    put_end(
        &mut buf,
        &Attempt {
            id: id(2),
            name: "student2".into(),
            attempt: 1,
            points: 0,
            peer: peer(),
            score: crate::bank::Marks::whole(1),
            max: 3,
            // Every kind of response: a letter, several, pairs, none.
            responses: vec![
                (2, Some(Response::Choice(0))),
                (0, Some(Response::Picks(0b101))),
                (1, Some(Response::Pairs(vec![2, 0, 1].into()))),
            ],
            times: vec![4_200, crate::room::roster::UNTIMED, 30_000],
            status: Status::Quit,
            duration: Duration::from_millis(1234),
        },
        1_700_000_000_000,
    );
    put_discard(&mut buf, id(3));
    put_live(&mut buf, 2, LivePhase::Closed(1), &order);
    let mut framed = MAGIC.to_vec();
    framed.extend_from_slice(&buf);
    let (records, len, tail) = read_frames(&framed);
    assert_eq!(tail, Tail::Clean);
    assert_eq!(len, framed.len());
    (framed, records)
}

#[test]
fn every_record_round_trips_and_folds_into_what_was_written() {
    let (_, records) = history();
    assert_eq!(records.len(), 10);
    let folded = Recovered::fold(records);
    assert_eq!(
        folded.seats.len(),
        1,
        "student2 ended, student3 was discarded"
    );
    let one = &folded.seats[&id(1)];
    assert_eq!(
        one.progress.chosen,
        vec![
            Some(Response::Choice(1)),
            Some(Response::Text("no one".into())),
            None
        ]
    );
    assert_eq!((one.progress.score, one.progress.index), (2, 3));
    assert_eq!(folded.ended.len(), 1);
    assert_eq!(folded.ended[0].attempt.status, Status::Quit);
    assert_eq!(
        folded.ended[0].attempt.duration,
        Duration::from_millis(1234)
    );
    assert_eq!(
        folded.live.as_ref().map(|l| l.phase),
        Some(LivePhase::Closed(1))
    );
    assert_eq!(folded.header.as_ref().map(|h| h.fingerprint), Some(42));
}

/// The state after the first `n` records, folded.
fn prefix(records: &[Record], n: usize) -> Recovered {
    Recovered::fold(records[..n].iter().cloned())
}

#[test]
fn a_journal_cut_at_every_byte_replays_the_whole_records_before_the_cut() {
    let (bytes, records) = history();
    // Where each record ends.
    let mut ends = Vec::new();
    let mut at = MAGIC.len();
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += FRAME_HEAD + len;
        ends.push(at);
    }
    assert_eq!(ends.len(), records.len());
    for cut in MAGIC.len()..=bytes.len() {
        let (got, valid, tail) = read_frames(&bytes[..cut]);
        let whole = ends.iter().filter(|&&end| end <= cut).count();
        assert_eq!(got.len(), whole, "cut at {cut}");
        assert_eq!(got[..], records[..whole], "cut at {cut}");
        let expected = if whole == 0 {
            MAGIC.len()
        } else {
            ends[whole - 1]
        };
        assert_eq!(valid, expected, "cut at {cut}");
        assert_eq!(
            tail == Tail::Clean,
            cut == valid,
            "a cut inside a record is reported, at {cut}"
        );
        assert_eq!(
            Recovered::fold(got),
            prefix(&records, whole),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_corrupt_byte_anywhere_ends_the_replay_at_the_record_before_it() {
    let (bytes, records) = history();
    for at in MAGIC.len()..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x41;
        let (got, valid, tail) = read_frames(&bad);
        assert!(
            valid <= at,
            "nothing at or after the bad byte {at} is trusted"
        );
        assert!(matches!(tail, Tail::Torn { .. }), "byte {at}: reported");
        assert_eq!(got[..], records[..got.len()], "byte {at}: a prefix");
    }
}

#[test]
fn zeros_after_the_last_record_are_space_reserved_not_a_torn_tail() {
    let (mut bytes, records) = history();
    let len = bytes.len();
    bytes.resize(len + 4096, 0);
    let (got, valid, tail) = read_frames(&bytes);
    assert_eq!((got.len(), valid, tail), (records.len(), len, Tail::Clean));
}

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("quizd-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn open_cuts_a_torn_tail_with_a_warning_and_appends_after_the_last_whole_record() {
    let dir = Dir::new("torn");
    let path = dir.0.join("results.csv.journal");
    let (bytes, records) = history();
    fs::write(&path, &bytes[..bytes.len() - 3]).expect("write");
    let opened = Journal::open(&path, Sync::Always).expect("opens");
    assert!(opened.cut.is_some(), "the cut is reported");
    assert_eq!(opened.recovered, prefix(&records, records.len() - 1));
    let mut journal = opened.journal;
    let mut more = Vec::new();
    put_discard(&mut more, id(1));
    assert!(journal.commit(&more));
    drop(journal);
    let again = Journal::open(&path, Sync::Always).expect("opens again");
    assert!(again.cut.is_none(), "the file is whole again");
    assert!(
        again.recovered.seats.is_empty(),
        "the discard came after the cut"
    );
    let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds resume codes");
}

#[test]
fn a_file_that_is_not_a_journal_is_refused_not_cut() {
    let dir = Dir::new("foreign");
    let path = dir.0.join("notes.txt");
    fs::write(&path, "my lesson plan\n").expect("write");
    let err = Journal::open(&path, Sync::Never).expect_err("refused");
    assert!(err.contains("not a quizd journal"), "{err}");
    assert_eq!(fs::read_to_string(&path).expect("read"), "my lesson plan\n");
}

#[test]
fn rewrite_replaces_the_journal_with_the_snapshot() {
    let dir = Dir::new("rewrite");
    let path = dir.0.join("j");
    let (bytes, _) = history();
    fs::write(&path, &bytes).expect("write");
    let mut journal = Journal::open(&path, Sync::Always).expect("opens").journal;
    let mut snapshot = Vec::new();
    put_discard(&mut snapshot, id(9));
    journal.rewrite(&snapshot).expect("rewrite");
    assert_eq!(journal.size(), (MAGIC.len() + snapshot.len()) as u64);
    drop(journal);
    let again = Journal::open(&path, Sync::Always).expect("opens");
    assert_eq!(again.recovered.records, 1);
    assert!(!dir.0.join("j.tmp").exists());
}

#[test]
fn ids_in_results_reads_the_last_column_whatever_the_quoted_ones_hold() {
    let dir = Dir::new("ids");
    let path = dir.0.join("results.csv");
    fs::write(
        &path,
        format!(
            "{}\r\n2026-01-01T00:00:00Z,ann,127.0.0.1:1,q,1,2,50,3.0,\"1:a 2:\"\"x,y\"\"\",completed,1,,0000002a-7\r\n",
            crate::results::HEADER
        ),
    )
    .expect("write");
    let ids = ids_in_results(&path).expect("read");
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        vec![AttemptId { run: 42, number: 7 }]
    );
}

#[test]
fn a_second_server_cannot_open_a_journal_in_use_even_after_a_compaction() {
    let dir = Dir::new("locked");
    let path = dir.0.join("j");
    let mut first = Journal::open(&path, Sync::Never).expect("opens").journal;
    let err = Journal::open(&path, Sync::Never).expect_err("in use");
    assert!(err.contains("in use by another quizd"), "{err}");
    first.rewrite(&[]).expect("rewrite");
    let err = Journal::open(&path, Sync::Never).expect_err("still in use");
    assert!(err.contains("in use by another quizd"), "{err}");
    drop(first);
    assert!(
        Journal::open(&path, Sync::Never).is_ok(),
        "free once its server is gone"
    );
}

#[test]
fn sync_never_writes_every_turn_but_never_forces_the_disk() {
    let dir = Dir::new("never");
    let path = dir.0.join("j");
    let mut journal = Journal::open(&path, Sync::Never).expect("opens").journal;
    let mut frames = Vec::new();
    put_discard(&mut frames, id(1));
    assert!(journal.commit(&frames));
    assert_eq!((journal.stats.commits, journal.stats.syncs), (1, 0));
    let mut always = Journal::open(&dir.0.join("k"), Sync::Always)
        .expect("opens")
        .journal;
    assert!(always.commit(&frames));
    assert_eq!((always.stats.commits, always.stats.syncs), (1, 1));
    drop(journal);
    let again = Journal::open(&path, Sync::Never).expect("opens");
    assert_eq!(
        again.recovered.records, 1,
        "written, so a killed process loses nothing"
    );
}

#[test]
fn a_journal_path_that_is_a_symbolic_link_is_refused_and_its_target_untouched() {
    let dir = Dir::new("symlink");
    let target = dir.0.join("lesson-plan.txt");
    fs::write(&target, "mine\n").expect("write");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod");
    let link = dir.0.join("results.csv.journal");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let err = Journal::open(&link, Sync::Never).expect_err("refused");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(fs::read_to_string(&target).expect("read"), "mine\n");
    let mode = fs::metadata(&target).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "not even its mode changed");
}

#[test]
fn a_journal_over_the_size_read_at_start_is_refused_with_what_to_do() {
    let dir = Dir::new("huge");
    let path = dir.0.join("j");
    let file = fs::File::create(&path).expect("create");
    // Sparse: nothing is written, the size is what open checks first.
    file.set_len(crate::limits::JOURNAL_MAX_READ + 1)
        .expect("set_len");
    let err = Journal::open(&path, Sync::Never).expect_err("refused");
    assert!(
        err.contains("over the 1024 MiB quizd reads; move it away"),
        "{err}"
    );
}

#[test]
fn compaction_waits_for_the_limit_and_for_twice_the_last_snapshot() {
    let dir = Dir::new("compact");
    let mut journal = Journal::open(&dir.0.join("j"), Sync::Never)
        .expect("opens")
        .journal;
    let limit = crate::limits::JOURNAL_COMPACT;
    journal.size = limit;
    assert!(!journal.wants_compaction(), "at the limit, not past it");
    journal.size = limit + 1;
    assert!(journal.wants_compaction());
    // A large snapshot raises the bar: twice its size.
    journal.snapshot = limit;
    assert!(!journal.wants_compaction());
    journal.size = 2 * limit + 1;
    assert!(journal.wants_compaction());
    // A compaction that could not happen waits for as much again.
    journal.postpone();
    assert!(!journal.wants_compaction() && !journal.grew());
}

#[test]
fn records_the_disk_refuses_are_kept_and_written_later_up_to_the_backlog_limit() {
    let dir = Dir::new("backlog");
    let path = dir.0.join("j");
    let mut journal = Journal::open(&path, Sync::Never).expect("opens").journal;
    let writable = std::mem::replace(&mut journal.file, fs::File::open(&path).expect("ro"));
    let mut frames = Vec::new();
    put_discard(&mut frames, id(1));
    assert!(
        !journal.commit(&frames),
        "a read-only descriptor refuses the write"
    );
    assert!(journal.is_failing());
    assert_eq!(journal.stats.failures, 1);
    // Past the limit, what waits is given up and counted (the results file keeps every row).
    let flood = vec![0u8; crate::limits::JOURNAL_BACKLOG_MAX];
    assert!(!journal.commit(&flood));
    assert!(journal.stats.dropped > crate::limits::JOURNAL_BACKLOG_MAX as u64);
    assert!(journal.backlog.is_empty());
    // The disk takes records again: the next ones are written and the spell ends.
    journal.file = writable;
    let mut more = Vec::new();
    put_discard(&mut more, id(2));
    assert!(journal.commit(&more));
    assert!(!journal.is_failing());
    drop(journal);
    let again = Journal::open(&path, Sync::Never).expect("opens");
    assert_eq!(
        again.recovered.records, 1,
        "the record written after the spell"
    );
}

#[test]
fn a_journal_from_before_marks_had_parts_counts_its_scores_as_whole_marks() {
    // 0.4 wrote scores as counts of right answers and no unit in the header: its header is
    // today's without the last field.
    let (bytes, records) = history();
    let Some(Record::Header(header)) = records.first() else {
        panic!("a header first");
    };
    let mut new = Vec::new();
    put_header(&mut new, header);
    // The unit, 10,000, is two bytes of varint at the end.
    let old_payload = &new[8..new.len() - 2];
    let Some(Record::Header(old)) = decode(old_payload) else {
        panic!("0.4's header still reads");
    };
    assert_eq!(old.marks_unit, 1);
    assert_eq!(header.marks_unit, crate::bank::Marks::UNIT);
    let mut replayed = vec![Record::Header(old)];
    replayed.extend(records[1..].iter().cloned());
    let then = Recovered::fold(replayed);
    let now = Recovered::fold(records.clone());
    let score = |r: &Recovered| r.seats[&id(1)].progress.score;
    assert_eq!(score(&then), score(&now) * crate::bank::Marks::UNIT);
    assert_eq!(
        then.ended[0].attempt.score.units(),
        now.ended[0].attempt.score.units() * crate::bank::Marks::UNIT
    );
    assert!(!bytes.is_empty());
}
