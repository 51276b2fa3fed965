//! The journal's records and their bytes.
//!
//! A journal file is [`MAGIC`] and then frames, each `len: u32 LE`, `crc32(payload): u32 LE`,
//! `payload` (etcd's and PostgreSQL's WAL frame a record the same way: a torn or corrupt tail
//! is found by its length or its checksum). A payload is a tag byte and fields; integers are
//! LEB128 varints, strings a length and UTF-8 bytes. Encoding appends to a caller's buffer and
//! allocates nothing, so journaling an answer costs no allocation.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::bank::{Marks, Response};
use crate::room::roster::{Attempt, Status};

/// The first bytes of every journal file.
pub const MAGIC: &[u8; 8] = b"quizdJ1\n";

/// Bytes of a frame before its payload.
pub const FRAME_HEAD: usize = 8;

/// The largest payload replay accepts: a frame claiming more is a corrupt length, not a
/// record (the largest real one is a seat of an attempt at the largest quiz).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// An attempt's id, unique across restarts: the run that started it (random, from the OS) and
/// its number in that run. The results file's `attempt_id` column (`3fa2c91b-17`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AttemptId {
    pub run: u32,
    pub number: u64,
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{}", self.run, self.number)
    }
}

impl AttemptId {
    /// Parses `3fa2c91b-17` (what [`fmt::Display`] writes).
    pub fn parse(s: &str) -> Option<AttemptId> {
        let (run, number) = s.split_once('-')?;
        if run.len() != 8 {
            return None;
        }
        Some(AttemptId {
            run: u32::from_str_radix(run, 16).ok()?,
            number: number.parse().ok()?,
        })
    }
}

/// What the quiz being served was when the record was written: a restart with another bank
/// must not resume attempts drawn from this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// [`crate::quiz::Quiz::fingerprint`].
    pub fingerprint: u64,
    pub questions: u32,
    /// Questions per attempt (`-n`): attempts drawn for another count cannot carry on.
    pub count: u32,
    pub live: bool,
    /// Where the quiz came from, for the message when the bank differs.
    pub origin: String,
    /// The highest attempt number given so far (numbers go on from it after a restart).
    pub numbered: u64,
    /// What one mark is in the scores that follow: [`Marks::UNIT`]; 1 in a journal written
    /// before marks had parts (0.4), whose scores are counted afresh when read.
    pub marks_unit: u32,
}

/// An attempt in progress, whole: where it started, how its questions were drawn, what was
/// answered, where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatState {
    pub id: AttemptId,
    pub name: String,
    pub attempt: u32,
    pub peer: SocketAddr,
    pub code: String,
    pub seed: u64,
    pub order: Vec<u32>,
    pub first: u32,
    pub progress: Progress,
}

/// What changes as an attempt goes on: owned when read back, borrowed from the room's seat
/// when written ([`ProgressView`]: no copy, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress<C = Vec<Option<Response>>, T = Vec<u32>> {
    pub chosen: C,
    /// Milliseconds each question took (see [`crate::room::roster::Attempt::times`]); absent
    /// from 0.4's journals, whose times are unknown.
    pub times: T,
    pub score: u32,
    /// The question on screen (or next to be).
    pub index: u32,
    pub points: u32,
    pub answer_ms: u64,
    /// Time left on the question clock when this was written (`None`: no clock runs).
    pub clock_left_ms: Option<u64>,
    /// Time since the attempt started.
    pub elapsed_ms: u64,
    /// When this was written (milliseconds since the Unix epoch): at a restart, the time
    /// between it and the journal's last record is taken off the clock (the crash came after
    /// both).
    pub at_ms: u64,
}

/// Where a live game stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LivePhase {
    Lobby,
    Open(u32),
    Closed(u32),
    Over,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveState {
    pub round: u32,
    pub phase: LivePhase,
    pub order: Vec<u32>,
}

/// An attempt that ended, as its row needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub attempt: Attempt,
    /// When it ended (milliseconds since the Unix epoch).
    pub finished_at_ms: u64,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Header(Header),
    Seat(SeatState),
    /// The attempt's answers from `from` on (earlier ones are as journaled before), and where
    /// it is now.
    Progress {
        id: AttemptId,
        from: u32,
        progress: Progress,
    },
    End(Ended),
    /// An attempt left with nothing to record (a live lobby).
    Discard(AttemptId),
    Live(LiveState),
    /// Attempts a name (one of its two key hashes, `map` 0 or 1) has taken at this quiz, and
    /// extra ones a teacher allowed: `--attempts` holds across a crash.
    Taken {
        map: u8,
        hash: u64,
        attempts: u32,
        granted: u32,
    },
}

const HEADER: u8 = b'H';
const SEAT: u8 = b'S';
const PROGRESS: u8 = b'P';
const END: u8 = b'E';
const DISCARD: u8 = b'D';
const LIVE: u8 = b'L';
const TAKEN: u8 = b'T';

// ---- encoding -------------------------------------------------------------------------------

/// Starts a frame in `buf`; [`end_frame`] fills its head once the payload is in.
pub fn begin_frame(buf: &mut Vec<u8>, tag: u8) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEAD]);
    buf.push(tag);
    start
}

pub fn end_frame(buf: &mut [u8], start: usize) {
    let payload = &buf[start + FRAME_HEAD..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_u64(buf: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf.push(byte);
            return;
        }
        buf.push(byte | 0x80);
    }
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_u64(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

fn put_id(buf: &mut Vec<u8>, id: AttemptId) {
    put_u64(buf, u64::from(id.run));
    put_u64(buf, id.number);
}

fn put_opt(buf: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => buf.push(0),
        Some(v) => {
            buf.push(1);
            put_u64(buf, v);
        }
    }
}

fn put_response(buf: &mut Vec<u8>, r: Option<&Response>) {
    match r {
        None => buf.push(0),
        Some(Response::Choice(c)) => {
            buf.push(1);
            buf.push(*c);
        }
        Some(Response::Text(t)) => {
            buf.push(2);
            put_str(buf, t);
        }
        Some(Response::Picks(bits)) => {
            buf.push(3);
            put_u64(buf, u64::from(*bits));
        }
        Some(Response::Pairs(pairs)) => {
            buf.push(4);
            put_u64(buf, pairs.len() as u64);
            buf.extend_from_slice(pairs);
        }
    }
}

fn put_u32s(buf: &mut Vec<u8>, v: &[u32]) {
    put_u64(buf, v.len() as u64);
    for &x in v {
        put_u64(buf, u64::from(x));
    }
}

/// An attempt's progress as the room's seat holds it.
pub type ProgressView<'a> = Progress<&'a [Option<Response>], &'a [u32]>;

impl<C, T> Progress<C, T> {
    fn put_tail(&self, buf: &mut Vec<u8>) {
        put_u64(buf, u64::from(self.score));
        put_u64(buf, u64::from(self.index));
        put_u64(buf, u64::from(self.points));
        put_u64(buf, self.answer_ms);
        put_opt(buf, self.clock_left_ms);
        put_u64(buf, self.elapsed_ms);
        put_u64(buf, self.at_ms);
    }
}

/// A whole seat, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct SeatView<'a> {
    pub id: AttemptId,
    pub name: &'a str,
    pub attempt: u32,
    pub peer: SocketAddr,
    pub code: &'a str,
    pub seed: u64,
    pub order: &'a [u32],
    pub first: u32,
    pub progress: ProgressView<'a>,
}

pub fn put_header(buf: &mut Vec<u8>, h: &Header) {
    let start = begin_frame(buf, HEADER);
    put_u64(buf, h.fingerprint);
    put_u64(buf, u64::from(h.questions));
    put_u64(buf, u64::from(h.count));
    buf.push(u8::from(h.live));
    put_str(buf, &h.origin);
    put_u64(buf, h.numbered);
    put_u64(buf, u64::from(h.marks_unit));
    end_frame(buf, start);
}

pub fn put_seat(buf: &mut Vec<u8>, s: &SeatView<'_>) {
    use std::fmt::Write as _;
    let start = begin_frame(buf, SEAT);
    put_id(buf, s.id);
    put_str(buf, s.name);
    put_u64(buf, u64::from(s.attempt));
    // The peer as text: short, and the same for both address families.
    let mut peer = String::with_capacity(48);
    let _ = write!(peer, "{}", s.peer);
    put_str(buf, &peer);
    put_str(buf, s.code);
    put_u64(buf, s.seed);
    put_u32s(buf, s.order);
    put_u64(buf, u64::from(s.first));
    put_u64(buf, s.progress.chosen.len() as u64);
    for r in s.progress.chosen {
        put_response(buf, r.as_ref());
    }
    s.progress.put_tail(buf);
    put_u32s(buf, s.progress.times);
    end_frame(buf, start);
}

/// An attempt's progress: its answers from `from` on, and where it is.
pub fn put_progress(buf: &mut Vec<u8>, id: AttemptId, from: usize, p: &ProgressView<'_>) {
    let start = begin_frame(buf, PROGRESS);
    put_id(buf, id);
    let from = from.min(p.chosen.len());
    put_u64(buf, from as u64);
    put_u64(buf, (p.chosen.len() - from) as u64);
    for r in &p.chosen[from..] {
        put_response(buf, r.as_ref());
    }
    p.put_tail(buf);
    put_u32s(buf, p.times.get(from..).unwrap_or_default());
    end_frame(buf, start);
}

pub fn put_end(buf: &mut Vec<u8>, a: &Attempt, finished_at_ms: u64) {
    let start = begin_frame(buf, END);
    put_id(buf, a.id);
    put_str(buf, &a.name);
    put_u64(buf, u64::from(a.attempt));
    put_u64(buf, u64::from(a.points));
    put_str(buf, &a.peer.to_string());
    put_u64(buf, u64::from(a.score.units()));
    put_u64(buf, u64::from(a.max));
    put_u64(buf, a.responses.len() as u64);
    for (q, r) in &a.responses {
        put_u64(buf, u64::from(*q));
        put_response(buf, r.as_ref());
    }
    buf.push(status_code(a.status));
    put_u64(buf, a.duration.as_millis() as u64);
    put_u64(buf, finished_at_ms);
    put_u32s(buf, &a.times);
    end_frame(buf, start);
}

pub fn put_discard(buf: &mut Vec<u8>, id: AttemptId) {
    let start = begin_frame(buf, DISCARD);
    put_id(buf, id);
    end_frame(buf, start);
}

pub fn put_live(buf: &mut Vec<u8>, round: u32, phase: LivePhase, order: &[u32]) {
    let start = begin_frame(buf, LIVE);
    put_u64(buf, u64::from(round));
    let (kind, index) = match phase {
        LivePhase::Lobby => (0, 0),
        LivePhase::Open(i) => (1, i),
        LivePhase::Closed(i) => (2, i),
        LivePhase::Over => (3, 0),
    };
    buf.push(kind);
    put_u64(buf, u64::from(index));
    put_u32s(buf, order);
    end_frame(buf, start);
}

pub fn put_taken(buf: &mut Vec<u8>, map: u8, hash: u64, attempts: u32, granted: u32) {
    let start = begin_frame(buf, TAKEN);
    buf.push(map);
    put_u64(buf, hash);
    put_u64(buf, u64::from(attempts));
    put_u64(buf, u64::from(granted));
    end_frame(buf, start);
}

const STATUSES: [Status; 8] = [
    Status::Completed,
    Status::Quit,
    Status::Disconnected,
    Status::Kicked,
    Status::Ended,
    Status::TimedOut,
    Status::Shutdown,
    Status::Interrupted,
];

fn status_code(s: Status) -> u8 {
    STATUSES.iter().position(|&x| x == s).unwrap_or(2) as u8
}

// ---- decoding -------------------------------------------------------------------------------

struct Dec<'a> {
    b: &'a [u8],
}

impl<'a> Dec<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.b.split_first()?;
        self.b = rest;
        Some(first)
    }

    fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            v |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        // Every element takes a byte at least: a count beyond the bytes left is corrupt.
        (n <= self.b.len()).then_some(n)
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }

    fn string(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }

    fn id(&mut self) -> Option<AttemptId> {
        Some(AttemptId {
            run: self.u32()?,
            number: self.u64()?,
        })
    }

    fn opt(&mut self) -> Option<Option<u64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.u64()?)),
            _ => None,
        }
    }

    fn response(&mut self) -> Option<Option<Response>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(Response::Choice(self.u8()?))),
            2 => Some(Some(Response::Text(self.string()?.into()))),
            3 => Some(Some(Response::Picks(self.u32()?))),
            4 => {
                let n = self.len()?;
                let pairs = (0..n).map(|_| self.u8()).collect::<Option<Box<[u8]>>>()?;
                Some(Some(Response::Pairs(pairs)))
            }
            _ => None,
        }
    }

    fn responses(&mut self) -> Option<Vec<Option<Response>>> {
        let n = self.len()?;
        (0..n).map(|_| self.response()).collect()
    }

    fn u32s(&mut self) -> Option<Vec<u32>> {
        let n = self.len()?;
        (0..n).map(|_| self.u32()).collect()
    }

    fn peer(&mut self) -> Option<SocketAddr> {
        self.string()?.parse().ok()
    }

    /// Times, written last by this version; none in 0.4's records.
    fn times(&mut self) -> Option<Vec<u32>> {
        if self.b.is_empty() {
            Some(Vec::new())
        } else {
            self.u32s()
        }
    }

    fn progress_tail(&mut self, chosen: Vec<Option<Response>>) -> Option<Progress> {
        Some(Progress {
            times: Vec::new(),
            chosen,
            score: self.u32()?,
            index: self.u32()?,
            points: self.u32()?,
            answer_ms: self.u64()?,
            clock_left_ms: self.opt()?,
            elapsed_ms: self.u64()?,
            at_ms: self.u64()?,
        })
    }
}

/// Decodes one payload; `None` if it is not a record this version wrote.
pub fn decode(payload: &[u8]) -> Option<Record> {
    let mut d = Dec { b: payload };
    let record = match d.u8()? {
        HEADER => Record::Header(Header {
            fingerprint: d.u64()?,
            questions: d.u32()?,
            count: d.u32()?,
            live: d.u8()? != 0,
            origin: d.string()?,
            numbered: d.u64()?,
            // Absent in 0.4's journals, whose scores were counts of right answers.
            marks_unit: if d.b.is_empty() { 1 } else { d.u32()? },
        }),
        SEAT => {
            let id = d.id()?;
            let name = d.string()?;
            let attempt = d.u32()?;
            let peer = d.peer()?;
            let code = d.string()?;
            let seed = d.u64()?;
            let order = d.u32s()?;
            let first = d.u32()?;
            let chosen = d.responses()?;
            let mut progress = d.progress_tail(chosen)?;
            progress.times = d.times()?;
            Record::Seat(SeatState {
                id,
                name,
                attempt,
                peer,
                code,
                seed,
                order,
                first,
                progress,
            })
        }
        PROGRESS => {
            let id = d.id()?;
            let from = d.u32()?;
            let chosen = d.responses()?;
            let mut progress = d.progress_tail(chosen)?;
            progress.times = d.times()?;
            Record::Progress { id, from, progress }
        }
        END => {
            let id = d.id()?;
            let name = d.string()?;
            let attempt = d.u32()?;
            let points = d.u32()?;
            let peer = d.peer()?;
            let score = d.u32()?;
            let max = d.u32()?;
            let n = d.len()?;
            let responses = (0..n)
                .map(|_| Some((d.u32()?, d.response()?)))
                .collect::<Option<Vec<_>>>()?;
            let status = *STATUSES.get(usize::from(d.u8()?))?;
            let duration = Duration::from_millis(d.u64()?);
            let finished_at_ms = d.u64()?;
            let mut times = d.times()?;
            times.resize(responses.len(), crate::room::roster::UNTIMED);
            Record::End(Ended {
                attempt: Attempt {
                    id,
                    name,
                    attempt,
                    points,
                    peer,
                    score: Marks::from_units(score),
                    max,
                    responses,
                    times,
                    status,
                    duration,
                },
                finished_at_ms,
            })
        }
        DISCARD => Record::Discard(d.id()?),
        TAKEN => Record::Taken {
            map: d.u8().filter(|&m| m < 2)?,
            hash: d.u64()?,
            attempts: d.u32()?,
            granted: d.u32()?,
        },
        LIVE => {
            let round = d.u32()?;
            let kind = d.u8()?;
            let index = d.u32()?;
            let phase = match kind {
                0 => LivePhase::Lobby,
                1 => LivePhase::Open(index),
                2 => LivePhase::Closed(index),
                3 => LivePhase::Over,
                _ => return None,
            };
            Record::Live(LiveState {
                round,
                phase,
                order: d.u32s()?,
            })
        }
        _ => return None,
    };
    // Trailing bytes mean a record this version did not write.
    d.b.is_empty().then_some(record)
}

/// How a journal's bytes ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// At a frame boundary (or at zeros: space reserved ahead and never written).
    Clean,
    /// Cut inside a frame, or a frame failed its checksum or did not decode: everything from
    /// `at` on is dropped.
    Torn { at: usize, why: String },
}

/// Reads the frames of a journal's bytes (after [`MAGIC`]) up to the last whole, valid one.
/// Returns the records, the length of the valid prefix (magic included) and how it ended.
pub fn read_frames(bytes: &[u8]) -> (Vec<Record>, usize, Tail) {
    let mut records = Vec::new();
    let mut at = MAGIC.len().min(bytes.len());
    loop {
        let rest = &bytes[at..];
        if rest.is_empty() {
            return (records, at, Tail::Clean);
        }
        if rest.iter().all(|&b| b == 0) {
            return (records, at, Tail::Clean);
        }
        let torn = |why: &str| Tail::Torn {
            at,
            why: why.to_string(),
        };
        if rest.len() < FRAME_HEAD {
            return (records, at, torn("cut inside a record's head"));
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len == 0 || len > MAX_PAYLOAD {
            return (records, at, torn("a record's length is not plausible"));
        }
        let Some(payload) = rest.get(FRAME_HEAD..FRAME_HEAD + len) else {
            return (records, at, torn("cut inside a record"));
        };
        if crc32fast::hash(payload) != crc {
            return (records, at, torn("a record fails its checksum"));
        }
        let Some(record) = decode(payload) else {
            return (records, at, torn("a record this version cannot read"));
        };
        records.push(record);
        at += FRAME_HEAD + len;
    }
}

/// Everything a journal says, folded: the attempts still in progress, the attempts that ended
/// (their rows may not have reached the results file), the live game.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    pub header: Option<Header>,
    pub seats: BTreeMap<AttemptId, SeatState>,
    pub ended: Vec<Ended>,
    pub live: Option<LiveState>,
    /// Per name key hash (in either map): attempts taken at the quiz and extra ones allowed.
    pub taken: std::collections::HashMap<(u8, u64), (u32, u32)>,
    /// The latest time any record says it was written: the crash came after it.
    pub last_at_ms: u64,
    pub records: usize,
    /// What a score read is multiplied by: 1, or [`Marks::UNIT`] after a 0.4 header.
    scale: u32,
}

impl Recovered {
    pub fn fold(records: impl IntoIterator<Item = Record>) -> Recovered {
        let mut r = Recovered {
            scale: 1,
            ..Recovered::default()
        };
        for record in records {
            r.apply(record);
        }
        r
    }

    pub fn apply(&mut self, record: Record) {
        self.records += 1;
        match record {
            Record::Header(h) => {
                // A header starts a snapshot (its counts follow) or a new quiz (counted afresh).
                self.taken.clear();
                self.scale = Marks::UNIT / h.marks_unit.clamp(1, Marks::UNIT);
                self.header = Some(h);
            }
            Record::Taken {
                map,
                hash,
                attempts,
                granted,
            } => {
                self.taken.insert((map, hash), (attempts, granted));
            }
            Record::Seat(mut s) => {
                self.last_at_ms = self.last_at_ms.max(s.progress.at_ms);
                s.progress.score = s.progress.score.saturating_mul(self.scale.max(1));
                self.seats.insert(s.id, s);
            }
            Record::Progress {
                id,
                from,
                mut progress,
            } => {
                self.last_at_ms = self.last_at_ms.max(progress.at_ms);
                progress.score = progress.score.saturating_mul(self.scale.max(1));
                if let Some(seat) = self.seats.get_mut(&id) {
                    let Progress { chosen, times, .. } = &progress;
                    let mut all = std::mem::take(&mut seat.progress.chosen);
                    all.truncate(from as usize);
                    all.extend(chosen.iter().cloned());
                    let mut all_times = std::mem::take(&mut seat.progress.times);
                    all_times.resize(from as usize, crate::room::roster::UNTIMED);
                    all_times.extend(times.iter().copied());
                    seat.progress = Progress {
                        chosen: all,
                        times: all_times,
                        ..progress
                    };
                }
            }
            Record::End(mut e) => {
                self.last_at_ms = self.last_at_ms.max(e.finished_at_ms);
                e.attempt.score =
                    Marks::from_units(e.attempt.score.units().saturating_mul(self.scale.max(1)));
                self.seats.remove(&e.attempt.id);
                self.ended.push(e);
            }
            Record::Discard(id) => {
                self.seats.remove(&id);
            }
            Record::Live(l) => self.live = Some(l),
        }
    }

    /// Whether there is anything to carry on or to write.
    pub fn is_empty(&self) -> bool {
        self.seats.is_empty() && self.ended.is_empty() && !self.live_under_way()
    }

    /// A live game that had opened a question and was not over.
    pub fn live_under_way(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|l| matches!(l.phase, LivePhase::Open(_) | LivePhase::Closed(_)))
    }
}
