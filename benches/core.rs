//! Pure-core benchmarks, no sockets: the telnet decoder, the room serving one student at a
//! time, and parsing a large bank. (`benches/serve.rs` runs whole quizzes over loopback.)

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
            };
            Quiz::new(bank, Settings::default()).count()
        })
    });
    group.finish();
}

criterion_group!(benches, decoder, session, bank);
criterion_main!(benches);
