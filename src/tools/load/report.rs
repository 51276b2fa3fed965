//! What a run measured: the [`Report`] with its [`Latency`] percentiles (exact, nearest rank)
//! and [`Verdicts`], the [`ServerMemory`] figures, the [`Progress`] snapshots a display is
//! handed during the run, and the report as one line of JSON.
//!
//! Plain data and arithmetic: the engine fills these in; `render` turns them into text for a
//! person, and the command line prints it.

use std::fmt::Write as _;
use std::time::Duration;

/// A snapshot for a progress display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub students: usize,
    /// Connects started so far.
    pub started: usize,
    /// Connections open now.
    pub connected: usize,
    /// Students who reached their first question, so far.
    pub named: usize,
    /// Named students still in their quiz.
    pub answering: usize,
    pub completed: usize,
    pub failed: usize,
    pub answers: u64,
    /// Everyone reached the hold point and the hold is running.
    pub holding: bool,
    pub elapsed: Duration,
}

/// Verdict lines received, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub correct: u64,
    pub wrong: u64,
    pub time_up: u64,
    /// `Answer recorded.` (the server hides verdicts).
    pub recorded: u64,
}

/// Exact percentiles of a set of samples (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Latency {
    /// Sorts the samples (microseconds) and reads the percentiles; `None` without samples.
    pub fn from_micros(samples: &mut [u32]) -> Option<Latency> {
        samples.sort_unstable();
        let max = *samples.last()?;
        let us = |v: u32| Duration::from_micros(u64::from(v));
        Some(Latency {
            count: samples.len(),
            p50: us(percentile(samples, 0.50)),
            p99: us(percentile(samples, 0.99)),
            p999: us(percentile(samples, 0.999)),
            max: us(max),
        })
    }
}

/// The nearest-rank percentile of sorted samples: the smallest value with at least `p` of the
/// samples at or below it. Empty: 0.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The server's memory, from `/proc/PID/status`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerMemory {
    /// VmRSS before the first connect.
    pub before: u64,
    /// VmRSS with every student named and waiting (hold), or at the most connections seen.
    pub loaded: u64,
    /// Connections open when `loaded` was read.
    pub loaded_connections: usize,
    /// VmHWM (peak RSS) at the end.
    pub peak: u64,
    /// `(loaded - before) / loaded_connections`: with a hold, every student is connected then
    /// (so this is per student); without, it divides by the connections actually open.
    pub per_student: f64,
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub students: usize,
    pub completed: usize,
    pub failed: usize,
    /// Failures by reason, most frequent first.
    pub failures: Vec<(String, usize)>,
    /// Answers written, retries after a refusal included.
    pub answers: u64,
    /// Answers the server refused (`error: ...` and `answer> ` again).
    pub answers_refused: u64,
    pub verdicts: Verdicts,
    /// First answer sent (with a hold: the release) to the last verdict.
    pub answering: Duration,
    /// `answers / answering`.
    pub answers_per_sec: f64,
    /// Answer written to the next `answer> ` prompt (or `Quiz over` after the last answer).
    pub answer_latency: Option<Latency>,
    /// Connect started to the `name> ` prompt.
    pub connect_latency: Option<Latency>,
    pub peak_connections: usize,
    /// Start of the run to its end.
    pub wall: Duration,
    /// With [`Plan::server_pid`](super::Plan::server_pid).
    pub server_memory: Option<ServerMemory>,
}

impl Report {
    /// Every figure as one line of JSON (durations in microseconds, rates per second).
    pub fn to_json(&self) -> String {
        let mut j = String::with_capacity(1024);
        let _ = write!(
            j,
            "{{\"students\":{},\"completed\":{},\"failed\":{},\"failures\":{{",
            self.students, self.completed, self.failed
        );
        for (i, (reason, n)) in self.failures.iter().enumerate() {
            if i > 0 {
                j.push(',');
            }
            json_string(&mut j, reason);
            let _ = write!(j, ":{n}");
        }
        let v = &self.verdicts;
        let _ = write!(
            j,
            "}},\"answers\":{},\"answers_refused\":{},\"verdicts\":{{\"correct\":{},\"wrong\":{},\"time_up\":{},\"recorded\":{}}},\"answering_us\":{},\"answers_per_s\":{},",
            self.answers,
            self.answers_refused,
            v.correct,
            v.wrong,
            v.time_up,
            v.recorded,
            self.answering.as_micros(),
            json_number(self.answers_per_sec)
        );
        j.push_str("\"answer_latency_us\":");
        json_latency(&mut j, self.answer_latency.as_ref());
        j.push_str(",\"connect_latency_us\":");
        json_latency(&mut j, self.connect_latency.as_ref());
        let _ = write!(
            j,
            ",\"peak_connections\":{},\"wall_us\":{},\"server_memory\":",
            self.peak_connections,
            self.wall.as_micros()
        );
        match &self.server_memory {
            None => j.push_str("null"),
            Some(m) => {
                let _ = write!(
                    j,
                    "{{\"rss_before\":{},\"rss_loaded\":{},\"loaded_connections\":{},\"hwm\":{},\"bytes_per_student\":{}}}",
                    m.before,
                    m.loaded,
                    m.loaded_connections,
                    m.peak,
                    json_number(m.per_student)
                );
            }
        }
        j.push('}');
        j
    }
}

fn json_latency(j: &mut String, l: Option<&Latency>) {
    match l {
        None => j.push_str("null"),
        Some(l) => {
            let _ = write!(
                j,
                "{{\"count\":{},\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}}",
                l.count,
                l.p50.as_micros(),
                l.p99.as_micros(),
                l.p999.as_micros(),
                l.max.as_micros()
            );
        }
    }
}

/// A finite number with three decimals; JSON has no NaN or infinity, so those are `null`.
fn json_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".into()
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and control characters escaped.
pub fn json_string(j: &mut String, s: &str) {
    j.push('"');
    for c in s.chars() {
        match c {
            '"' => j.push_str("\\\""),
            '\\' => j.push_str("\\\\"),
            '\n' => j.push_str("\\n"),
            '\r' => j.push_str("\\r"),
            '\t' => j.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(j, "\\u{:04x}", u32::from(c));
            }
            c => j.push(c),
        }
    }
    j.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_nearest_rank() {
        let samples: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&samples, 0.50), 500);
        assert_eq!(percentile(&samples, 0.99), 990);
        assert_eq!(percentile(&samples, 0.999), 999);
        assert_eq!(percentile(&samples, 1.0), 1000);
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[], 0.5), 0);
        let mut shuffled = vec![30, 10, 20, 40];
        let l = Latency::from_micros(&mut shuffled).expect("samples");
        assert_eq!(l.count, 4);
        assert_eq!(l.p50, Duration::from_micros(20));
        assert_eq!(l.p99, Duration::from_micros(40));
        assert_eq!(l.max, Duration::from_micros(40));
        assert_eq!(Latency::from_micros(&mut []), None);
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        let mut j = String::new();
        json_string(&mut j, "name refused: error: \"x\\y\"\r\n\t\u{1}\u{7f} é");
        assert_eq!(j, r#""name refused: error: \"x\\y\"\r\n\t\u0001\u007f é""#);
    }

    #[test]
    fn the_json_report_has_every_figure_and_no_nan() {
        let report = Report {
            students: 2,
            completed: 1,
            failed: 1,
            failures: vec![("server full".into(), 1)],
            answers: 3,
            answers_refused: 0,
            verdicts: Verdicts {
                correct: 2,
                wrong: 1,
                ..Verdicts::default()
            },
            answering: Duration::ZERO,
            answers_per_sec: f64::NAN,
            answer_latency: None,
            connect_latency: Latency::from_micros(&mut [1500]),
            peak_connections: 2,
            wall: Duration::from_millis(12),
            server_memory: None,
        };
        assert_eq!(
            report.to_json(),
            "{\"students\":2,\"completed\":1,\"failed\":1,\"failures\":{\"server full\":1},\"answers\":3,\"answers_refused\":0,\"verdicts\":{\"correct\":2,\"wrong\":1,\"time_up\":0,\"recorded\":0},\"answering_us\":0,\"answers_per_s\":null,\"answer_latency_us\":null,\"connect_latency_us\":{\"count\":1,\"p50\":1500,\"p99\":1500,\"p999\":1500,\"max\":1500},\"peak_connections\":2,\"wall_us\":12000,\"server_memory\":null}"
        );
    }
}
