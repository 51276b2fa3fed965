//! Two servers measured in one sitting (`quizd-load --compare`): the same class against each,
//! round after round in alternating order (A B, B A, ...) so drift in the machine's load falls
//! on both alike, and the medians side by side with B relative to A ([`Comparison`]), as a
//! table for a person or one line of JSON.
//!
//! A shared machine varies by 20% or more between single runs, so a comparison made of two
//! separate runs measures the machine as much as the servers; this is how the README's figures
//! against the raw baseline are made.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::Plan;
use super::render::{group, time};
use super::report::{Latency, Progress, Report, ServerMemory, json_string};

/// What [`compare`] tells its caller as the rounds go.
#[derive(Debug)]
pub enum CompareEvent<'a> {
    /// A snapshot of the run under way, as [`run`](super::run) hands it.
    Progress(&'a Progress),
    /// A run is over: its round (from 1), the server it ran against, what it measured.
    Ran {
        round: usize,
        addr: SocketAddr,
        report: &'a Report,
    },
}

/// A run of a comparison that could not start (see [`run`](super::run)'s errors), and the
/// server it was for.
#[derive(Debug)]
pub struct RunError {
    pub addr: SocketAddr,
    pub error: io::Error,
}

/// Runs the same class against two servers, `a` and `b` (two plans that differ in their
/// address and server pid), `rounds` times in alternating order: A B, B A, A B, ... Each run
/// takes the next seed of its plan; the servers' memory is read in the first round only, the
/// one where they are fresh. Calls `on_event` with each run's progress and at the end of each
/// run.
///
/// Stops at the first run that cannot start; students failing is no error, but
/// [`Comparison::failed`] says so.
pub fn compare(
    a: &Plan,
    b: &Plan,
    rounds: usize,
    on_event: &mut dyn FnMut(CompareEvent<'_>),
) -> Result<Comparison, RunError> {
    alternate(a, b, rounds, on_event, &mut |plan, progress| {
        super::run(plan, progress)
    })
}

/// One run of a plan, with its progress callback: [`super::run`], or a stand-in in tests.
type Runner<'r> = dyn FnMut(&Plan, &mut dyn FnMut(&Progress)) -> io::Result<Report> + 'r;

/// [`compare`] with the runs made by `run`.
fn alternate(
    a: &Plan,
    b: &Plan,
    rounds: usize,
    on_event: &mut dyn FnMut(CompareEvent<'_>),
    run: &mut Runner<'_>,
) -> Result<Comparison, RunError> {
    let mut plans = [a.clone(), b.clone()];
    let mut runs: [Vec<Report>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let plan = &mut plans[which];
            // Server memory is only meaningful on a fresh server: the first round.
            if round > 0 {
                plan.server_pid = None;
            }
            plan.seed = plan.seed.wrapping_add(1);
            // Names of their own each round: a server that allows one attempt per name
            // (quizd's default) would refuse the same names again.
            if round > 0 {
                let base = if which == 0 {
                    &a.name_prefix
                } else {
                    &b.name_prefix
                };
                plan.name_prefix = format!("{base}{}", round + 1);
            }
            let report =
                run(plan, &mut |p| on_event(CompareEvent::Progress(p))).map_err(|error| {
                    RunError {
                        addr: plan.addr,
                        error,
                    }
                })?;
            on_event(CompareEvent::Ran {
                round: round + 1,
                addr: plan.addr,
                report: &report,
            });
            runs[which].push(report);
        }
    }
    let [runs_a, runs_b] = &runs;
    Ok(Comparison::new([a.addr, b.addr], runs_a, runs_b))
}

/// A run of a comparison in one line: the round, the server's address padded to 21
/// characters, and [`Report::one_line`].
pub fn round_line(round: usize, addr: SocketAddr, report: &Report) -> String {
    format!("round {round} {addr:<21} {}", report.one_line())
}

/// Medians of each server's runs, and B relative to A. Each pair is `[A, B]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub addrs: [SocketAddr; 2],
    /// Answers per second.
    pub rate: [f64; 2],
    /// Answer to next prompt, percentiles (0 when a server's runs have no samples).
    pub p50: [Duration; 2],
    pub p99: [Duration; 2],
    pub p999: [Duration; 2],
    /// The first round's, when the plans had the servers' pids.
    pub memory: [Option<ServerMemory>; 2],
    pub rounds: usize,
    /// Some student failed, in some round.
    pub failed: bool,
}

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied()
}

/// `x / y`, or 0 when `y` is not over 0.
fn ratio(x: f64, y: f64) -> f64 {
    if y > 0.0 { x / y } else { 0.0 }
}

impl Comparison {
    /// The medians of `a`'s and `b`'s runs (the rounds are `a`'s count), with memory from the
    /// first run of each.
    pub fn new(addrs: [SocketAddr; 2], a: &[Report], b: &[Report]) -> Comparison {
        let of = |runs: &[Report], f: &dyn Fn(&Latency) -> Duration| {
            median(
                runs.iter()
                    .filter_map(|r| r.answer_latency.as_ref().map(f))
                    .collect(),
            )
            .unwrap_or_default()
        };
        let both = |f: &dyn Fn(&Latency) -> Duration| [of(a, f), of(b, f)];
        let rate = |runs: &[Report]| {
            median(runs.iter().map(|r| r.answers_per_sec).collect()).unwrap_or(0.0)
        };
        Comparison {
            addrs,
            rate: [rate(a), rate(b)],
            p50: both(&|l| l.p50),
            p99: both(&|l| l.p99),
            p999: both(&|l| l.p999),
            memory: [
                a.first().and_then(|r| r.server_memory),
                b.first().and_then(|r| r.server_memory),
            ],
            rounds: a.len(),
            failed: a.iter().chain(b).any(|r| r.failed > 0),
        }
    }

    /// The table for a person: a blank line, a header, one line per figure with A / B.
    pub fn human(&self) -> String {
        let [a, b] = self.addrs;
        let dur = |d: [Duration; 2]| {
            format!(
                "{:>12} {:>12} {:>8.2}",
                time(d[0]),
                time(d[1]),
                ratio(d[0].as_secs_f64(), d[1].as_secs_f64())
            )
        };
        let mut s = format!(
            "\nmedians of {} rounds {:>12} {:>12} {:>8}\n",
            self.rounds,
            a.to_string(),
            b.to_string(),
            "A / B"
        );
        s.push_str(&format!(
            "{:<21}{:>12} {:>12} {:>8.2}\n",
            "answers/s",
            group(self.rate[0].round() as u64),
            group(self.rate[1].round() as u64),
            ratio(self.rate[0], self.rate[1])
        ));
        s.push_str(&format!("{:<21}{}\n", "answer->next p50", dur(self.p50)));
        s.push_str(&format!("{:<21}{}\n", "answer->next p99", dur(self.p99)));
        s.push_str(&format!("{:<21}{}\n", "answer->next p99.9", dur(self.p999)));
        if let [Some(ma), Some(mb)] = self.memory {
            s.push_str(&format!(
                "{:<21}{:>12} {:>12}   (bytes per connected student, round 1)\n",
                "server memory",
                group(ma.per_student.max(0.0).round() as u64),
                group(mb.per_student.max(0.0).round() as u64)
            ));
        }
        s
    }

    /// The medians as one line of JSON (latencies in microseconds).
    pub fn to_json(&self) -> String {
        let us = |d: Duration| d.as_micros();
        let mut j = String::from("{\"compare\":[");
        for i in 0..2 {
            if i > 0 {
                j.push(',');
            }
            j.push_str("{\"addr\":");
            json_string(&mut j, &self.addrs[i].to_string());
            j.push_str(&format!(
                ",\"answers_per_sec\":{:.0},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{}",
                self.rate[i],
                us(self.p50[i]),
                us(self.p99[i]),
                us(self.p999[i])
            ));
            if let Some(m) = self.memory[i] {
                j.push_str(&format!(",\"bytes_per_student\":{:.0}", m.per_student));
            }
            j.push('}');
        }
        j.push_str(&format!(",\"rounds\":{}}}", self.rounds));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::a_report;
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("address")
    }

    #[test]
    fn median_is_the_middle_value_whatever_the_order() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![5, 1, 4, 2, 3]), Some(3));
        assert_eq!(median(Vec::<u32>::new()), None);
    }

    #[test]
    fn the_comparison_table_has_medians_and_ratios() {
        let addrs = [addr("127.0.0.1:17001"), addr("127.0.0.1:17002")];
        let quizd = [
            a_report(71_608.0, ms(403)),
            a_report(70_000.0, ms(420)),
            a_report(73_000.0, ms(390)),
        ];
        let mut baseline = [
            a_report(80_223.0, ms(336)),
            a_report(81_000.0, ms(330)),
            a_report(79_000.0, ms(350)),
        ];
        for r in &mut baseline {
            r.answer_latency.as_mut().expect("latency").p50 = Duration::from_micros(700);
            r.server_memory.as_mut().expect("memory").per_student = 46.0;
        }
        let c = Comparison::new(addrs, &quizd, &baseline);
        assert_eq!(
            c.human(),
            concat!(
                "\n",
                "medians of 3 rounds 127.0.0.1:17001 127.0.0.1:17002    A / B\n",
                "answers/s                  71,608       80,223     0.89\n",
                "answer->next p50           850 µs       700 µs     1.21\n",
                "answer->next p99         403.0 ms     336.0 ms     1.20\n",
                "answer->next p99.9         1.20 s       1.20 s     1.00\n",
                "server memory               1,328           46   (bytes per connected student, round 1)\n",
            )
        );
        assert_eq!(
            c.to_json(),
            concat!(
                r#"{"compare":[{"addr":"127.0.0.1:17001","answers_per_sec":71608,"p50_us":850,"p99_us":403000,"p999_us":1200000,"bytes_per_student":1328},"#,
                r#"{"addr":"127.0.0.1:17002","answers_per_sec":80223,"p50_us":700,"p99_us":336000,"p999_us":1200000,"bytes_per_student":46},"rounds":3}"#
            )
        );
        // Without the second server's memory, no memory line and no figure in the JSON.
        baseline[0].server_memory = None;
        let c = Comparison::new(addrs, &quizd, &baseline);
        assert!(!c.human().contains("server memory"));
        assert_eq!(
            c.to_json(),
            concat!(
                r#"{"compare":[{"addr":"127.0.0.1:17001","answers_per_sec":71608,"p50_us":850,"p99_us":403000,"p999_us":1200000,"bytes_per_student":1328},"#,
                r#"{"addr":"127.0.0.1:17002","answers_per_sec":80223,"p50_us":700,"p99_us":336000,"p999_us":1200000},"rounds":3}"#
            )
        );
    }

    #[test]
    fn a_round_is_its_number_the_server_and_the_run_in_a_line() {
        assert_eq!(
            round_line(2, addr("127.0.0.1:17002"), &a_report(72_729.4, ms(403))),
            "round 2 127.0.0.1:17002       11,998 completed, 2 failed, 72,729 answers/s, answer->next p99 403.0 ms"
        );
    }

    #[test]
    fn rounds_alternate_the_order_with_the_next_seed_and_memory_in_round_one() {
        let mut a = Plan::new(addr("127.0.0.1:1"), 10);
        a.seed = 7;
        a.server_pid = Some(100);
        let mut b = a.clone();
        b.addr = addr("127.0.0.1:2");
        b.server_pid = Some(200);
        // A stand-in for a run: remembers the address, seed and pid it was asked to run with,
        // and reports `port * 100 + seed` answers/s, so each run can be told apart.
        let mut seen = Vec::new();
        let mut run = |plan: &Plan, progress: &mut dyn FnMut(&Progress)| {
            seen.push((plan.addr, plan.seed, plan.server_pid));
            progress(&Progress::default());
            let mut r = a_report((plan.addr.port() as u64 * 100 + plan.seed) as f64, ms(1));
            r.failed = 0;
            Ok(r)
        };
        let mut events = Vec::new();
        let c = alternate(
            &a,
            &b,
            3,
            &mut |e| {
                events.push(match e {
                    CompareEvent::Progress(_) => "progress".to_string(),
                    CompareEvent::Ran {
                        round,
                        addr,
                        report,
                    } => format!("round {round} {addr} {}", report.answers_per_sec),
                })
            },
            &mut run,
        )
        .expect("every run starts");
        assert_eq!(
            seen,
            [
                (a.addr, 8, Some(100)),
                (b.addr, 8, Some(200)),
                (b.addr, 9, None),
                (a.addr, 9, None),
                (a.addr, 10, None),
                (b.addr, 10, None),
            ]
        );
        assert_eq!(
            events,
            [
                "progress",
                "round 1 127.0.0.1:1 108",
                "progress",
                "round 1 127.0.0.1:2 208",
                "progress",
                "round 2 127.0.0.1:2 209",
                "progress",
                "round 2 127.0.0.1:1 109",
                "progress",
                "round 3 127.0.0.1:1 110",
                "progress",
                "round 3 127.0.0.1:2 210",
            ]
        );
        assert_eq!((c.addrs, c.rounds, c.failed), ([a.addr, b.addr], 3, false));
        assert_eq!(c.rate, [109.0, 209.0]);
    }

    #[test]
    fn a_run_that_cannot_start_stops_the_comparison_and_names_its_server() {
        let a = Plan::new(addr("127.0.0.1:1"), 10);
        let mut b = a.clone();
        b.addr = addr("127.0.0.1:2");
        let mut runs = 0;
        let err = alternate(&a, &b, 3, &mut |_| {}, &mut |plan, _| {
            runs += 1;
            if plan.addr == b.addr {
                Err(io::ErrorKind::ConnectionRefused.into())
            } else {
                Ok(a_report(1.0, ms(1)))
            }
        })
        .expect_err("the second server refuses");
        assert_eq!(runs, 2);
        assert_eq!(err.addr, b.addr);
        assert_eq!(err.error.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn a_failed_student_in_any_round_fails_the_comparison() {
        let ok = {
            let mut r = a_report(1.0, ms(1));
            r.failed = 0;
            r
        };
        let addrs = [addr("127.0.0.1:1"), addr("127.0.0.1:2")];
        let c = Comparison::new(addrs, &[ok.clone(), ok.clone()], &[ok.clone(), ok.clone()]);
        assert!(!c.failed);
        let c = Comparison::new(
            addrs,
            &[ok.clone(), ok.clone()],
            &[ok, a_report(1.0, ms(1))],
        );
        assert!(c.failed);
    }
}
