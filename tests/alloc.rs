//! No allocation per answer in the steady state, proved with a counting allocator: once a
//! student is in the quiz, answering (right, wrong or too late) and being asked the next
//! question allocate nothing, in the room alone (no sockets) and in the whole server loop.
//!
//! Only allocations made on a marked thread count, each test into its own counter (the
//! server's thread, or the test's own thread around the room calls), so clients, the
//! harness and tests running in parallel do not blur the figure.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Client, TestServer, numbered_questions};
use quizd::quiz::{Quiz, Settings};
use quizd::room::{Discard, Door, Room, RoomConfig};

struct Counting;

static SESSION_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static SERVER_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The counter this thread's allocations go to, if any.
    static COUNTED: Cell<Option<&'static AtomicU64>> = const { Cell::new(None) };
}

fn note() {
    if let Ok(Some(counter)) = COUNTED.try_with(Cell::get) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed straight to the system allocator; counting touches no memory
// the allocator manages.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is System's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts the allocations `f` makes on this thread.
fn counting<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = SESSION_ALLOCATIONS.load(Ordering::SeqCst);
    COUNTED.with(|c| c.set(Some(&SESSION_ALLOCATIONS)));
    let value = f();
    COUNTED.with(|c| c.set(None));
    (value, SESSION_ALLOCATIONS.load(Ordering::SeqCst) - before)
}

/// A room serving one student, on a virtual clock, with a sink that keeps nothing.
fn one_student_room(quiz: Quiz) -> (Room, Discard, Instant) {
    let now = Instant::now();
    let room = Room::new(RoomConfig::replayable(quiz, 1), now);
    (room, Discard::default(), now)
}

#[test]
fn answering_and_being_asked_the_next_question_allocates_nothing_in_the_room() {
    let quiz = Quiz::new(numbered_questions(20), Settings::default());
    let limit = quiz.settings.time_limit.unwrap_or(Duration::from_secs(30));
    let (mut room, mut io, mut now) = one_student_room(quiz);
    let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
    room.handle_connect(1, Door::Student, peer, now, &mut io);
    room.handle_line(1, "student", now, &mut io);
    room.handle_line(1, "a", now, &mut io);

    // The counter works: one box is one allocation.
    assert_eq!(counting(|| Box::new(7u64)).1, 1);
    let sent = io.bytes;
    let ((), made) = counting(|| {
        for i in 0..17 {
            now += Duration::from_millis(700);
            if i % 5 == 4 {
                // Too late: the clock fires instead of an answer, and Enter asks for the next.
                now += limit;
                room.handle_timeout(now, &mut io);
                room.handle_line(1, "", now, &mut io);
            } else {
                room.handle_line(1, ["a", "B", "c)", "d."][i % 4], now, &mut io);
            }
        }
    });
    assert_eq!(made, 0, "allocations over 17 steady-state answers");
    assert_eq!(room.counters().answers, 1 + 14);
    assert_eq!(room.counters().timeouts, 3);
    assert!(io.bytes > sent + 17 * 100, "every step was shown");
    assert_eq!(io.closed, 0, "the last questions were left unanswered");
}

/// Answers one question for every client, waiting for each next prompt.
fn answer_round(clients: &mut [Client], letter: &str) {
    for c in clients.iter_mut() {
        c.send(letter);
    }
    for c in clients.iter_mut() {
        c.expect("answer> ");
    }
}

#[test]
fn answering_allocates_nothing_in_the_server_loop() {
    let settings = Settings {
        count: Some(14),
        ..Settings::default()
    };
    let mut server = TestServer::start_hooked(
        numbered_questions(30),
        settings,
        |_| {},
        || COUNTED.with(|c| c.set(Some(&SERVER_ALLOCATIONS))),
    );
    let mut clients: Vec<Client> = (0..20).map(|_| server.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.join(&format!("student{i}"));
    }
    // The first round may size buffers that are then reused.
    answer_round(&mut clients, "a");

    let before = SERVER_ALLOCATIONS.load(Ordering::SeqCst);
    // The server's thread is counted: it allocated when the students connected and joined.
    assert!(before > 0, "no allocation counted on the server thread");
    for round in 0..10 {
        answer_round(&mut clients, ["a", "b", "C", "d)"][round % 4]);
    }
    let made = SERVER_ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(made, 0, "server allocations over 200 steady-state answers");

    // Questions 12 to 14, typed ahead without waiting: the rest of the attempt.
    for _ in 0..3 {
        for c in clients.iter_mut() {
            c.send("b");
        }
    }
    for c in clients.iter_mut() {
        c.expect_line("Quiz over");
    }
    drop(clients);
    let rows = server.stop_and_rows();
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r[9] == "completed"), "{rows:?}");
}
