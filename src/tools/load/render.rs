//! A run's figures as text for a person: the [`Report`] as a few lines, figures first, or as
//! one line (a round of a comparison), its failures by reason, and a [`Progress`] snapshot as a
//! status line. Numbers are grouped by thousands and latencies read in their unit (µs, ms, s).
//!
//! Text only: the command line decides where it goes and when. The JSON is in `report`.

use std::time::Duration;

use super::report::{Latency, Progress, Report};

impl Report {
    /// The report for a person: a few lines, figures first.
    pub fn human(&self) -> String {
        let v = &self.verdicts;
        let mut s = format!(
            "{:<14}{} completed, {} failed (of {}; peak {} connected)\n",
            "students",
            group(self.completed as u64),
            group(self.failed as u64),
            group(self.students as u64),
            group(self.peak_connections as u64)
        );
        for (reason, n) in &self.failures {
            s.push_str(&format!(
                "{:<14}{} {reason}\n",
                "  failed",
                group(*n as u64)
            ));
        }
        s.push_str(&format!(
            "{:<14}{} sent, {} refused; verdicts: {} correct, {} wrong, {} time up, {} recorded\n",
            "answers",
            group(self.answers),
            group(self.answers_refused),
            group(v.correct),
            group(v.wrong),
            group(v.time_up),
            group(v.recorded)
        ));
        s.push_str(&format!(
            "{:<14}{} answers/s over {}\n",
            "answer rate",
            group(self.answers_per_sec.round() as u64),
            time(self.answering)
        ));
        s.push_str(&latency_line(
            "answer->next",
            self.answer_latency.as_ref(),
            true,
        ));
        s.push_str(&latency_line(
            "connect->name",
            self.connect_latency.as_ref(),
            false,
        ));
        if let Some(m) = &self.server_memory {
            s.push_str(&format!(
                "{:<14}RSS {} before, {} with {} connected ({} bytes/student), peak {}\n",
                "server memory",
                mb(m.before),
                mb(m.loaded),
                group(m.loaded_connections as u64),
                group(m.per_student.max(0.0).round() as u64),
                mb(m.peak)
            ));
        }
        s.push_str(&format!("{:<14}{}\n", "wall time", time(self.wall)));
        s
    }

    /// One run in a line, for the rounds of a comparison.
    pub fn one_line(&self) -> String {
        let p99 = self.answer_latency.map_or(Duration::ZERO, |l| l.p99);
        format!(
            "{} completed, {} failed, {} answers/s, answer->next p99 {}",
            group(self.completed as u64),
            group(self.failed as u64),
            group(self.answers_per_sec.round() as u64),
            time(p99)
        )
    }

    /// The failures by reason, most frequent first: `server full (3), time bound (1)`.
    pub fn reasons(&self) -> String {
        self.failures
            .iter()
            .map(|(reason, n)| format!("{reason} ({})", group(*n as u64)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How many failed and why, in a line: `2 of 300 students failed: time bound (2)`.
    pub fn failed_line(&self) -> String {
        format!(
            "{} of {} students failed: {}",
            group(self.failed as u64),
            group(self.students as u64),
            self.reasons()
        )
    }
}

impl Progress {
    /// The snapshot in one line, for a display that rewrites it in place.
    pub fn status_line(&self) -> String {
        format!(
            "{:6.1} s  started {}/{}  open {}  named {}  answering {}  completed {}  failed {}  answers {}{}",
            self.elapsed.as_secs_f64(),
            group(self.started as u64),
            group(self.students as u64),
            group(self.connected as u64),
            group(self.named as u64),
            group(self.answering as u64),
            group(self.completed as u64),
            group(self.failed as u64),
            group(self.answers),
            if self.holding { "  (holding)" } else { "" }
        )
    }
}

fn latency_line(label: &str, l: Option<&Latency>, with_p999: bool) -> String {
    match l {
        None => format!("{label:<14}no samples\n"),
        Some(l) => {
            let p999 = if with_p999 {
                format!("  p99.9 {}", time(l.p999))
            } else {
                String::new()
            };
            format!(
                "{label:<14}p50 {}  p99 {}{p999}  max {}  ({} samples)\n",
                time(l.p50),
                time(l.p99),
                time(l.max),
                group(l.count as u64)
            )
        }
    }
}

/// `12,345`.
pub(super) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency for people: microseconds under a millisecond, then ms, then s.
pub(super) fn time(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us} µs")
    } else if us < 10_000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// A run with a bit of everything, for the tests here and in `compare`: failures of two kinds,
/// the server's memory, a latency without samples.
#[cfg(test)]
pub(super) fn a_report(rate: f64, p99: Duration) -> Report {
    use super::report::{ServerMemory, Verdicts};
    let ms = Duration::from_millis;
    Report {
        students: 12_000,
        completed: 11_998,
        failed: 2,
        failures: vec![("server full".into(), 1), ("time bound".into(), 1)],
        answers: 120_003,
        answers_refused: 3,
        verdicts: Verdicts {
            correct: 60_000,
            wrong: 59_980,
            time_up: 20,
            recorded: 0,
        },
        answering: ms(1_650),
        answers_per_sec: rate,
        answer_latency: Some(Latency {
            count: 119_980,
            p50: Duration::from_micros(850),
            p99,
            p999: ms(1_200),
            max: ms(1_500),
        }),
        connect_latency: None,
        peak_connections: 12_000,
        wall: ms(4_321),
        server_memory: Some(ServerMemory {
            before: 2_500_000,
            loaded: 18_436_000,
            loaded_connections: 12_000,
            peak: 19_000_000,
            per_student: 1328.4,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_report_reads_as_a_few_lines_figures_first() {
        assert_eq!(
            a_report(72_729.4, ms(403)).human(),
            concat!(
                "students      11,998 completed, 2 failed (of 12,000; peak 12,000 connected)\n",
                "  failed      1 server full\n",
                "  failed      1 time bound\n",
                "answers       120,003 sent, 3 refused; verdicts: 60,000 correct, 59,980 wrong, 20 time up, 0 recorded\n",
                "answer rate   72,729 answers/s over 1.65 s\n",
                "answer->next  p50 850 µs  p99 403.0 ms  p99.9 1.20 s  max 1.50 s  (119,980 samples)\n",
                "connect->name no samples\n",
                "server memory RSS 2.5 MB before, 18.4 MB with 12,000 connected (1,328 bytes/student), peak 19.0 MB\n",
                "wall time     4.32 s\n",
            )
        );
    }

    #[test]
    fn a_round_is_one_line() {
        assert_eq!(
            a_report(72_729.4, ms(403)).one_line(),
            "11,998 completed, 2 failed, 72,729 answers/s, answer->next p99 403.0 ms"
        );
    }

    #[test]
    fn failures_are_counted_by_reason() {
        let mut r = a_report(72_729.4, ms(403));
        r.failures[0].1 = 1_200;
        assert_eq!(r.reasons(), "server full (1,200), time bound (1)");
        assert_eq!(
            r.failed_line(),
            "2 of 12,000 students failed: server full (1,200), time bound (1)"
        );
    }

    #[test]
    fn the_status_line_counts_every_stage() {
        let mut p = Progress {
            students: 19_000,
            started: 19_000,
            connected: 18_500,
            named: 18_000,
            answering: 17_000,
            completed: 1_000,
            failed: 0,
            answers: 123_456,
            holding: false,
            elapsed: ms(2_345),
        };
        assert_eq!(
            p.status_line(),
            "   2.3 s  started 19,000/19,000  open 18,500  named 18,000  answering 17,000  completed 1,000  failed 0  answers 123,456"
        );
        p.holding = true;
        assert!(p.status_line().ends_with("answers 123,456  (holding)"));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(19_000), "19,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn latencies_read_in_the_right_unit() {
        assert_eq!(time(Duration::from_micros(450)), "450 µs");
        assert_eq!(time(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(time(Duration::from_micros(45_678)), "45.7 ms");
        assert_eq!(time(Duration::from_millis(2500)), "2.50 s");
    }
}
