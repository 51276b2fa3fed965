//! Attacks on the one thread, each with an honest student alongside: what the attacker does must
//! cost the class nothing, and the server's memory stays bounded. The server runs in-process
//! where only the wire matters, and as the built binary where its memory is measured
//! (`/proc/PID/status`). Nothing waits for a fixed time: a stalled server shows as an honest
//! student's anchor not arriving within the patience limit.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::binary::{Quizd, text};
use common::{Client, TempDir};
use quizd::tools::load::memory::proc_status;

/// A small bank, in file order with `--no-shuffle`: the right letters are b, b, b.
const BANK: &str = "Q1?\nA) no\nB) yes\nANSWER: B\n\nQ2?\nA) no\nB) yes\nANSWER: B\n\nQ3?\nA) no\nB) yes\nANSWER: B\n";

/// An honest student takes the whole three-question quiz and gets 3 out of 3.
fn honest_student(addr: SocketAddr, name: &str) {
    let mut c = Client::connect(addr);
    c.join(name);
    for _ in 0..2 {
        c.send("b");
        c.expect_line("Correct!");
        c.expect("answer> ");
    }
    c.send("b");
    c.expect_line(&format!("Quiz over, {name}: you scored 3 out of 3"));
}

/// Writes `bytes` repeatedly until `limit` bytes went, or a write has waited a second for
/// room (the server stopped reading: its buffers and ours are full); returns how many went.
fn write_until_full(stream: &mut TcpStream, bytes: &[u8], limit: usize) -> usize {
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .expect("write timeout");
    let mut sent = 0;
    while sent < limit {
        match stream.write(bytes) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    sent
}

#[test]
fn a_refused_newcomer_who_keeps_sending_does_not_stall_the_class() {
    let dir = TempDir::new("refused-streamer");
    let (q, addr) = serve_binary(&dir, &["--admin-listen", "off", "--max-clients", "1"]);
    let mut honest = Client::connect(addr);
    honest.join("alice");
    // The server is full. While its loop is stopped (SIGSTOP), a newcomer connects and starts
    // streaming, so that when the loop comes back its refusal meets a socket that never runs dry.
    signal(&q, libc::SIGSTOP);
    let streaming = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let attacker = {
        let (streaming, sent) = (streaming.clone(), sent.clone());
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).expect("connect");
            let chunk = vec![b'x'; 64 * 1024];
            while streaming.load(Ordering::SeqCst) {
                match s.write(&chunk) {
                    Ok(n) => sent.fetch_add(n as u64, Ordering::SeqCst),
                    Err(_) => break,
                };
            }
        })
    };
    while sent.load(Ordering::SeqCst) == 0 && !attacker.is_finished() {
        std::thread::yield_now();
    }
    signal(&q, libc::SIGCONT);
    // The class carries on while the refused newcomer streams.
    for _ in 0..2 {
        honest.send("b");
        honest.expect_line("Correct!");
        honest.expect("answer> ");
    }
    honest.send("b");
    honest.expect_line("Quiz over, alice: you scored 3 out of 3");
    streaming.store(false, Ordering::SeqCst);
    let _ = attacker.join();
}

fn signal(q: &Quizd, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(q.pid()).expect("pid fits pid_t");
    // SAFETY: kill takes no pointers; the child is not reaped yet, so the pid is still ours.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// quizd (the built binary) on the three-question bank, in file order, console off.
fn serve_binary(dir: &TempDir, extra: &[&str]) -> (Quizd, SocketAddr) {
    let bank = dir.write("bank.txt", BANK);
    let results = dir.path().join("results.csv");
    let mut args = vec![
        "--no-shuffle",
        "-t",
        "0",
        "--results",
        text(&results),
        text(&bank),
    ];
    args.extend_from_slice(extra);
    Quizd::serve(&args)
}

fn rss(q: &Quizd, field: &str) -> u64 {
    proc_status(q.pid(), field).expect("read /proc/PID/status")
}

#[test]
fn two_hundred_students_flooding_help_and_never_reading_cost_the_server_under_100_mb() {
    let dir = TempDir::new("flood-help");
    // All from 127.0.0.1: the per-address limit is not what this measures.
    let (q, addr) = serve_binary(&dir, &["--admin-listen", "off", "--max-per-address", "0"]);
    honest_student(addr, "warmup");
    let before = rss(&q, "VmRSS:");
    // Each gives a name, then sends 64 KiB of `/?` (a reply about 100 times its size) and
    // never reads a byte.
    let flood = "/?\r".repeat(64 * 1024 / 3);
    let mut floods = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(format!("flood{i}\r\n").as_bytes())
            .expect("name");
        write_until_full(&mut s, flood.as_bytes(), flood.len());
        floods.push(s);
    }
    // The class is served throughout.
    honest_student(addr, "alice");
    honest_student(addr, "bob");
    let grown = rss(&q, "VmHWM:").saturating_sub(before);
    assert!(
        grown < 100 * 1024 * 1024,
        "the server grew by {} MB for 200 clients that do not read",
        grown / (1024 * 1024)
    );
    drop(floods);
}

#[test]
fn a_console_that_never_reads_and_sends_enter_before_the_token_costs_under_64_mb() {
    let dir = TempDir::new("flood-console");
    let (mut q, addr) = serve_binary(&dir, &["--admin-listen", "127.0.0.1:0"]);
    let console = console_addr(&mut q);
    let before = rss(&q, "VmRSS:");
    // Enter and telnet's Are-You-There, each of which gets an answer, 50 MB of them, never
    // reading one.
    let mut s = TcpStream::connect(console).expect("connect");
    let junk: Vec<u8> = b"\r\n\xff\xf6".repeat(16 * 1024);
    write_until_full(&mut s, &junk, 50 * 1024 * 1024);
    honest_student(addr, "alice");
    let grown = rss(&q, "VmHWM:").saturating_sub(before);
    assert!(
        grown < 64 * 1024 * 1024,
        "the server grew by {} MB for one console that does not read",
        grown / (1024 * 1024)
    );
    // The attacker's connection is still served as far as its output drains.
    let mut first = [0u8; 64];
    s.set_nonblocking(false).expect("blocking");
    let n = s.read(&mut first).unwrap_or(0);
    assert!(n > 0, "the console greeted it");
}

/// quizd (the built binary) on the bundled bank with its console on (token `sesame-4242`);
/// returns it and the console's address.
fn serve_with_console(dir: &TempDir) -> (Quizd, SocketAddr) {
    let mut cmd = Quizd::command(&[
        "--listen",
        "127.0.0.1:0",
        "--results",
        text(&dir.path().join("results.csv")),
    ]);
    cmd.env("QUIZD_ADMIN_TOKEN", "sesame-4242");
    let mut q = Quizd::spawn(cmd);
    q.listening();
    let console = console_addr(&mut q);
    (q, console)
}

/// Waits for `teacher console on ADDR`; returns the address.
fn console_addr(q: &mut Quizd) -> SocketAddr {
    let line = q.wait_for("console address", |l| l.contains("teacher console on "));
    let rest = &line[line.find("teacher console on ").expect("matched") + 19..];
    rest.split(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("bad console line {line:?}"))
}

/// A connection to `addr` from the local address `source` (any 127.0.0.0/8 address works on
/// Linux loopback).
fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((source, 0)).into())
        .expect("bind the source address");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

#[test]
fn four_hundred_connections_from_one_address_leave_room_for_a_student_from_another() {
    quizd::limits::raise_nofile().expect("raise the open-file limit");
    let dir = TempDir::new("per-address");
    let (mut q, addr) = serve_binary(&dir, &["--admin-listen", "off", "--max-clients", "400"]);
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..400 {
        let mut s = connect_from([127, 0, 0, 1], addr);
        let mut first = [0u8; 200];
        let n = s.read(&mut first).expect("the server says something first");
        let text = String::from_utf8_lossy(&first[..n]);
        if text.starts_with("error: too many connections from 127.0.0.1 (50)") {
            assert!(
                text.contains("--max-per-address"),
                "says what to raise: {text}"
            );
            refused += 1;
        } else {
            assert!(text.contains("\rWelcome"), "{text}");
            held.push(s);
        }
    }
    assert_eq!((held.len(), refused), (50, 350));
    // A student on another machine (another address) takes the quiz.
    let mut other = Client {
        stream: connect_from([127, 0, 0, 2], addr),
        buf: Vec::new(),
        log: Vec::new(),
    };
    other
        .stream
        .set_read_timeout(Some(common::PATIENCE))
        .expect("timeout");
    other.join("alice");
    for _ in 0..2 {
        other.send("b");
        other.expect_line("Correct!");
        other.expect("answer> ");
    }
    other.send("b");
    other.expect_line("Quiz over, alice: you scored 3 out of 3");
    q.wait_for("a warning naming the address", |l| {
        l.contains("127.0.0.1 holds 50 connections (--max-per-address)")
    });
}

#[test]
fn sixteen_silent_console_connections_cannot_lock_the_teacher_out() {
    let dir = TempDir::new("console-slots");
    let (_q, console) = serve_with_console(&dir);
    // Every slot taken by a connection that says nothing.
    let silent: Vec<Client> = (0..quizd::limits::MAX_TEACHERS)
        .map(|_| {
            let mut c = Client::connect(console);
            c.expect("token> ");
            c
        })
        .collect();
    let mut teacher = Client::connect(console);
    teacher.expect("token> ");
    teacher.send("sesame-4242");
    teacher.expect_line("ok: token accepted");
    teacher.send("status");
    teacher.expect(".\r\nadmin> ");
    let told = silent
        .into_iter()
        .filter_map(|mut c| {
            c.stream.set_nonblocking(true).ok()?;
            let mut buf = [0u8; 256];
            let n = c.stream.read(&mut buf).ok()?;
            Some(String::from_utf8_lossy(&buf[..n]).into_owned())
        })
        .filter(|text| text.contains("every console slot is taken"))
        .count();
    assert_eq!(told, 1, "the oldest silent one made room");
}

#[test]
fn a_stream_of_silent_consoles_does_not_hold_descriptors_and_the_teacher_still_gets_in() {
    let dir = TempDir::new("console-stream");
    let (q, console) = serve_with_console(&dir);
    let descriptors = |q: &Quizd| {
        std::fs::read_dir(format!("/proc/{}/fd", q.pid()))
            .expect("list /proc/PID/fd")
            .count()
    };
    let before = descriptors(&q);
    // 400 connections that wait at `token> ` and keep their sockets open: each past the
    // sixteenth makes the oldest one without a token close.
    let mut held = Vec::new();
    for _ in 0..400 {
        let mut c = Client::connect(console);
        c.expect("token> ");
        held.push(c);
    }
    let grown = descriptors(&q) - before;
    assert!(
        grown <= quizd::limits::MAX_CONSOLE_SOCKETS,
        "400 silent consoles hold {grown} descriptors"
    );
    let mut teacher = Client::connect(console);
    teacher.expect("token> ");
    teacher.send("sesame-4242");
    teacher.expect_line("ok: token accepted");
    teacher.send("stats");
    let line = teacher.expect_line("consoles:");
    assert!(
        line.ends_with(" 385 without a token closed to make room"),
        "{line}"
    );
}

#[test]
fn a_results_file_deleted_while_serving_is_recreated_and_the_last_line_tells_the_truth() {
    let dir = TempDir::new("results-deleted");
    let results = dir.path().join("results.csv");
    let bank = dir.write("bank.txt", BANK);
    let (mut q, addr) = Quizd::serve(&[
        "--no-shuffle",
        "--admin-listen",
        "off",
        "--results",
        text(&results),
        text(&bank),
    ]);
    honest_student(addr, "alice");
    std::fs::remove_file(&results).expect("delete the results file");
    honest_student(addr, "bob");
    q.wait_for("a warning about the results file", |l| {
        l.contains("results file") && l.contains("was deleted")
    });
    let rows = std::fs::read_to_string(&results).expect("the file is back");
    assert!(rows.starts_with(quizd::results::HEADER), "{rows}");
    assert!(
        rows.contains(",bob,") && !rows.contains(",alice,"),
        "{rows}"
    );
    signal(&q, libc::SIGTERM);
    let last = q.wait_for("the last line", |l| l.contains("stopped: "));
    assert!(last.contains("2 row(s) written to"), "{last}");
}
