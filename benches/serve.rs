//! End to end over loopback: K students (100, 1,000) each complete a 10-question quiz, driven
//! by the load generator's engine (`quizd::tools::load`), against quizd and, beside it, the
//! raw baseline (`quizd::tools::baseline`: the same bytes on the wire, no quiz logic). Both
//! servers run on their own thread on `127.0.0.1:0`; throughput is in answers, so criterion's
//! report shows answers/s for each and the ratio is quizd's cost.
//!
//! Each run connects from a fresh 127.0.0.x source address, so thousands of runs never wait
//! for ephemeral ports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quizd::quiz::{Quiz, Settings};
use quizd::tools::baseline::Baseline;
use quizd::tools::load::{self, Pattern, Plan};

// The tests' in-process server (on its own thread, stopped on drop, results in a temporary
// directory removed on drop).
#[path = "../tests/common/mod.rs"]
mod common;
use common::TestServer;

const QUESTIONS: usize = 10;

fn bank() -> quizd::bank::Bank {
    quizd::bank::bundled().unwrap_or_else(|problems| {
        panic!("the bundled bank must parse: {problems:?}");
    })
}

fn settings() -> Settings {
    Settings {
        count: Some(QUESTIONS),
        shuffle: false,
        ..Settings::default()
    }
}

/// The baseline on its own thread, stopped on drop.
struct RunningBaseline {
    addr: SocketAddr,
    handle: quizd::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningBaseline {
    fn start() -> RunningBaseline {
        let server =
            Baseline::bind("127.0.0.1:0", &Quiz::new(bank(), settings())).expect("baseline binds");
        let (addr, handle) = (server.local_addr(), server.handle());
        let thread = std::thread::spawn(move || {
            let _ = server.run();
        });
        RunningBaseline {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for RunningBaseline {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// 127.0.0.2, 127.0.0.3, ... 127.0.0.254, then around again.
fn next_source() -> IpAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 253;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + n as u8))
}

/// One class of `students` taking the quiz; panics if any student failed, so a broken server
/// cannot post a fast time.
fn class(addr: SocketAddr, students: usize) {
    let mut plan = Plan::new(addr, students);
    plan.sources = vec![next_source()];
    plan.answers = Pattern::Letters(b"b".to_vec());
    plan.time_bound = Duration::from_secs(60);
    let report = load::run(&plan, &mut |_| {}).expect("load run starts");
    assert_eq!(
        report.completed, students,
        "every student completes: {:?}",
        report.failures
    );
}

fn serve(c: &mut Criterion) {
    let quizd = TestServer::start_with(bank(), settings(), |_| {});
    let baseline = RunningBaseline::start();
    let mut group = c.benchmark_group("serve 10 questions");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for students in [100usize, 1_000] {
        group.throughput(Throughput::Elements((students * QUESTIONS) as u64));
        for (name, addr) in [("quizd", quizd.addr), ("raw baseline", baseline.addr)] {
            group.bench_with_input(BenchmarkId::new(name, students), &students, |b, &k| {
                b.iter(|| class(addr, k))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, serve);
criterion_main!(benches);
