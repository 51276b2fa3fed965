//! Pure-core benchmarks, no sockets: the telnet decoder, the room serving one student at a
//! time, parsing a large bank, and the journal (a record per answer, a replay at start-up). (`benches/serve.rs` runs whole quizzes over loopback.)

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quizd::quiz::{Quiz, Settings};
use quizd::room::{Discard, Door, Room, RoomConfig};
use quizd::telnet::{Decoder, Event};

fn decoder(c: &mut Criterion) {
    let plain: Vec<u8> = b"b\r\n/score\r\nsome longer answer text here\r\n".repeat(1000);
    let mut with_iac = Vec::new();
    for _ in 0..1000 {
        with_iac.extend_from_slice(b"\xff\xfb\x1f\xff\xfd\x01b\r\n\xff\xf1x\xff\xffy\r\n");
    }
    let mut group = c.benchmark_group("telnet decoder");
    for (name, input) in [("plain lines", &plain), ("with telnet commands", &with_iac)] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut d = Decoder::new();
                let mut lines = 0usize;
                d.feed(black_box(input), |e| {
                    if let Event::Line(l) = e {
                        lines += l.len();
                    }
                });
                lines
            })
        });
    }
    group.finish();
}

fn session(c: &mut Criterion) {
    let bank = quizd::bank::bundled().expect("bundled bank parses");
    let quiz = Quiz::new(
        bank,
        Settings {
            count: Some(10),
            ..Settings::default()
        },
    );
    let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
    let now = Instant::now();
    let mut room = Room::new(RoomConfig::replayable(quiz, 1), now);
    let mut io = Discard::default();
    let mut group = c.benchmark_group("room");
    group.throughput(Throughput::Elements(10));
    group.bench_function("a student: name + 10 answers", |b| {
        let mut id = 0;
        b.iter(|| {
            id = (id + 1) % 64;
            room.handle_connect(id, Door::Student, peer, now, &mut io);
            room.handle_line(id, "student", now, &mut io);
            for _ in 0..10 {
                room.handle_line(id, "b", now, &mut io);
            }
            black_box(io.bytes)
        })
    });
    group.finish();
}

/// An Aiken bank of `n` four-option questions, about 180 bytes each.
fn aiken_bank(n: usize) -> String {
    let mut text = String::with_capacity(n * 190);
    for i in 0..n {
        text.push_str(&format!(
            "Question {i}: which system call does step {} of the protocol need?\n\
             A) socket() variant {i}\nB) bind() variant {i}\nC) listen() variant {i}\n\
             D) accept() variant {i}\nANSWER: {}\n\n",
            i % 97,
            ["A", "B", "C", "D"][i % 4]
        ));
    }
    text
}

fn bank(c: &mut Criterion) {
    let text = aiken_bank(10_000);
    let mut group = c.benchmark_group("bank");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_function("parse 10,000 Aiken questions", |b| {
        b.iter(|| {
            let questions = quizd::bank::parse("big.txt", black_box(text.as_bytes()));
            questions.map(|q| q.len()).unwrap_or(0)
        })
    });
    group.bench_function("parse and prepare 10,000 questions", |b| {
        b.iter(|| {
            let questions = quizd::bank::parse("big.txt", black_box(text.as_bytes()));
            let bank = quizd::bank::Bank {
                title: "big".into(),
                questions: questions.unwrap_or_default(),
                ..Default::default()
            };
            Quiz::new(bank, Settings::default()).count()
        })
    });
    group.finish();
}

/// The journal's per-answer cost (one progress record, framed and checksummed) and start-up's
/// replay of 19,000 attempts in progress with 5 answers each.
fn journal(c: &mut Criterion) {
    use quizd::bank::Response;
    use quizd::journal::Recovered;
    use quizd::journal::record::{self, AttemptId, MAGIC, ProgressView, SeatView, read_frames};
    let chosen: Vec<Option<Response>> = (0..5).map(|i| Some(Response::Choice(i % 4))).collect();
    let times: Vec<u32> = (0..5).map(|i| 4_000 + i).collect();
    let view = ProgressView {
        chosen: &chosen,
        times: &times,
        score: 4,
        index: 5,
        points: 0,
        answer_ms: 0,
        clock_left_ms: Some(30_000),
        elapsed_ms: 12_345,
        at_ms: 1_700_000_000_000,
    };
    let id = AttemptId {
        run: 0x3fa2_c91b,
        number: 12_345,
    };
    let mut buf = Vec::with_capacity(1 << 20);
    c.bench_function("journal: one answer's record", |b| {
        b.iter(|| {
            if buf.len() > (1 << 20) - 256 {
                buf.clear();
            }
            record::put_progress(&mut buf, id, 4, &view);
        })
    });
    let order: Vec<u32> = (0..10).collect();
    let mut journal = MAGIC.to_vec();
    for n in 0..19_000u64 {
        let id = AttemptId { run: 1, number: n };
        record::put_seat(
            &mut journal,
            &SeatView {
                id,
                name: &format!("student-{n:06}"),
                attempt: 1,
                peer: "127.0.0.1:40000".parse().expect("address"),
                code: "k7qf2m",
                seed: n,
                order: &order,
                first: 0,
                progress: ProgressView {
                    chosen: &[],
                    ..view
                },
            },
        );
        for i in 0..5 {
            record::put_progress(
                &mut journal,
                id,
                i,
                &ProgressView {
                    chosen: &chosen[..=i],
                    ..view
                },
            );
        }
    }
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(journal.len() as u64));
    group.bench_function("replay of 19,000 attempts in progress", |b| {
        b.iter(|| {
            let (records, _, _) = read_frames(&journal);
            Recovered::fold(records).seats.len()
        })
    });
    group.finish();
}

criterion_group!(benches, decoder, session, bank, journal);
criterion_main!(benches);
