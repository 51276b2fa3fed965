//! `quizd-load`: the command line of the load generator. Parses options into a
//! [`quizd::tools::load::Plan`], shows progress on a terminal, prints the report. The work is
//! in `quizd::tools::load`.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quizd::tools::load::{self, Latency, Pattern, Plan, Progress, Report};

/// Load generator for quizd: many simulated students over TCP from one thread, speaking the
/// real protocol (name, answers, verdicts, `Quiz over`). Prints answers/s, latency
/// percentiles and failures by reason; exits 0 when every student completed, 1 when any
/// failed, 2 on a usage error.
#[derive(Debug, Parser)]
#[command(name = "quizd-load", version, about, max_term_width = 100, after_help = EXAMPLE)]
struct Cli {
    /// quizd's student address (HOST:PORT).
    #[arg(value_name = "ADDR", default_value = "127.0.0.1:9999")]
    addr: String,

    /// Simulated students, one connection each, named PREFIX-000000, PREFIX-000001, ...
    #[arg(short = 'n', long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    students: u32,

    /// Spread the connects evenly over this many seconds (0: all at once, a burst).
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs)]
    ramp: Duration,

    /// At most N connections in progress at once (connect started, name prompt not yet seen).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    batch: Option<u32>,

    /// Connect from 127.0.0.1 ... 127.0.0.K in turn: each source address has its own ephemeral
    /// ports, so K addresses allow K times as many connections to one server port.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u8).range(1..=254))]
    sources: Option<u8>,

    /// Connect from this local address (repeatable; added to --sources).
    #[arg(long = "source", value_name = "IP")]
    source: Vec<IpAddr>,

    /// Nobody answers until every student has its first question (or failed); then wait SECS
    /// and all answer. Run quizd with a time limit longer than that (-t 0: none).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    hold: Option<Duration>,

    /// How to answer: `random` (a letter the question offers), or letters used in turn (`a`:
    /// always a; `abcd`: a, b, c, d, a, ...). A letter not offered is refused by quizd, then
    /// answered with a.
    #[arg(long, value_name = "random|LETTERS", default_value = "random",
          value_parser = parse_pattern)]
    answers: Pattern,

    /// Think time before each answer, in milliseconds: MS, or MIN-MAX for a uniform random
    /// time in that range.
    #[arg(long, value_name = "MS|MIN-MAX", default_value = "0", value_parser = parse_think)]
    think: Think,

    /// Give up after this many seconds: students still in progress fail with `time bound`.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_time_bound)]
    time_bound: Duration,

    /// Name prefix; names are PREFIX-NNNNNN (use another prefix per generator on one server).
    #[arg(long, value_name = "TEXT", default_value = "load")]
    name_prefix: String,

    /// Seed for answer choices and think times.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,

    /// quizd's process id: report its memory (RSS before, loaded, peak, bytes per student).
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,

    /// Also run the same class against this second server (e.g. `quizd-baseline`), alternating
    /// between the two for --rounds rounds, and report the medians side by side with their
    /// ratio: a comparison made in one run, on one machine state.
    #[arg(long, value_name = "ADDR")]
    compare: Option<String>,

    /// The second server's process id, for its memory (with --compare).
    #[arg(long, value_name = "PID", requires = "compare")]
    compare_pid: Option<u32>,

    /// Rounds with --compare; each round runs both servers, in alternating order.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "compare",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,

    /// Print the report as one line of JSON (every figure; durations in microseconds).
    #[arg(long)]
    json: bool,

    /// No progress line on stderr.
    #[arg(short, long)]
    quiet: bool,
}

const EXAMPLE: &str = "\
Example: a clean answering phase, and the server's memory per student:
  quizd --listen 127.0.0.1:9999 -n 10 -t 0 --results /tmp/r.csv &
  quizd-load -n 10000 --sources 4 --hold 2 --pid $!
Example: quizd against the raw baseline, 5 rounds, medians and ratios:
  quizd-baseline --listen 127.0.0.1:9998 -n 10 -t 0 &
  quizd-load -n 10000 --sources 4 --hold 1 --compare 127.0.0.1:9998 --rounds 5";

/// From this many students on, a run from one source address gets a note suggesting several.
const ONE_SOURCE_NOTE: usize = 5000;

/// Think time range, as parsed from `--think`.
#[derive(Debug, Clone, Copy)]
struct Think(Duration, Duration);

/// Seconds as a decimal number, at most a day.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err("must be between 0 and 86400 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_time_bound(s: &str) -> Result<Duration, String> {
    let d = parse_secs(s)?;
    if d.is_zero() || d > load::MAX_TIME_BOUND {
        return Err(format!(
            "must be over 0 and at most {} seconds",
            load::MAX_TIME_BOUND.as_secs()
        ));
    }
    Ok(d)
}

fn parse_pattern(s: &str) -> Result<Pattern, String> {
    if s.eq_ignore_ascii_case("random") {
        return Ok(Pattern::Random);
    }
    let letters = s.to_ascii_lowercase().into_bytes();
    if letters.is_empty() || !letters.iter().all(u8::is_ascii_lowercase) {
        return Err("use `random` or letters a to z, such as `a` or `abcd`".into());
    }
    Ok(Pattern::Letters(letters))
}

fn parse_think(s: &str) -> Result<Think, String> {
    let ms = |t: &str| -> Result<Duration, String> {
        let n: u64 = t
            .trim()
            .parse()
            .map_err(|_| format!("{t:?} is not a whole number of milliseconds"))?;
        if n > 3_600_000 {
            return Err("at most 3600000 ms (an hour)".into());
        }
        Ok(Duration::from_millis(n))
    };
    let (min, max) = match s.split_once('-') {
        Some((a, b)) => (ms(a)?, ms(b)?),
        None => (ms(s)?, ms(s)?),
    };
    if min > max {
        return Err(format!("the minimum is over the maximum in {s:?}"));
    }
    Ok(Think(min, max))
}

/// A usage problem found after parsing: one line, exit 2, as clap does.
fn usage(message: &str) -> ExitCode {
    eprintln!("quizd-load: {message}");
    ExitCode::from(2)
}

fn resolve(text: &str) -> Result<std::net::SocketAddr, String> {
    match text.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => Ok(addr),
        Ok(None) => Err(format!("{text} has no address")),
        Err(e) => Err(format!(
            "cannot resolve {text}: {}",
            quizd::text::describe_io_error(&e)
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let addr = match resolve(&cli.addr) {
        Ok(addr) => addr,
        Err(e) => return usage(&e),
    };
    let compare = match cli.compare.as_deref().map(resolve).transpose() {
        Ok(compare) => compare,
        Err(e) => return usage(&e),
    };
    let mut plan = Plan::new(addr, cli.students as usize);
    if let Some(k) = cli.sources {
        plan.sources
            .extend((1..=k).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))));
    }
    plan.sources.extend(cli.source.iter().copied());
    plan.ramp = cli.ramp;
    plan.batch = cli.batch.map(|b| b as usize);
    plan.hold = cli.hold;
    plan.answers = cli.answers.clone();
    plan.think = (cli.think.0, cli.think.1);
    plan.time_bound = cli.time_bound;
    plan.name_prefix = cli.name_prefix.clone();
    plan.seed = cli.seed;
    plan.server_pid = cli.pid;
    if let Err(e) = plan.check() {
        return usage(&e);
    }
    match load::capacity() {
        Ok(cap) if plan.students > cap => {
            let reserve = quizd::limits::FD_RESERVE as usize;
            return usage(&format!(
                "{} students need {} open files but the open-file limit allows {}: raise it (ulimit -n) or use fewer students",
                plan.students,
                plan.students + reserve,
                cap + reserve
            ));
        }
        Ok(_) => {}
        Err(e) => eprintln!("quizd-load: cannot read the open-file limit: {e}"),
    }
    if plan.sources.len() <= 1 && plan.students >= ONE_SOURCE_NOTE {
        // Measured: 19,000 students from one address spend twice the generator's CPU, most of
        // it in the kernel's search for a free port, and the range may run out altogether.
        let ports = local_ports().map_or(String::new(), |p| format!(" (of {})", group(p as u64)));
        eprintln!(
            "quizd-load: note: with {} students from one source address, each connect searches for a free local port{ports}; --sources 4 makes connecting much cheaper",
            group(plan.students as u64)
        );
    }

    let show = !cli.quiet && std::io::stderr().is_terminal();
    if let Some(other) = compare {
        return compare_servers(&cli, plan, other, show);
    }
    let report = match run_shown(&plan, show) {
        Ok(report) => report,
        Err(code) => return code,
    };
    if cli.json {
        println!("{}", report.to_json());
        if report.failed > 0 {
            eprintln!("quizd-load: {}", report.failed_line());
        }
    } else {
        print!("{}", report.human());
    }
    if report.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one plan with the progress line; a run that cannot start is reported here.
fn run_shown(plan: &Plan, show: bool) -> Result<Report, ExitCode> {
    let mut shown = 0usize;
    let mut on_progress = |p: &Progress| {
        if show {
            let line = p.status_line();
            let pad = shown.saturating_sub(line.len());
            eprint!("\r{line}{:pad$}", "");
            let _ = std::io::stderr().flush();
            shown = line.len();
        }
    };
    let result = load::run(plan, &mut on_progress);
    if show {
        eprintln!();
    }
    result.map_err(|e| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            eprintln!(
                "quizd-load: cannot connect to {}: connection refused (is quizd running?)",
                plan.addr
            );
        } else {
            eprintln!("quizd-load: {e}");
        }
        ExitCode::FAILURE
    })
}

/// `--compare`: the same class against both servers, `rounds` times in alternating order (A B,
/// B A, ...) so drift in the machine's load falls on both alike; medians and ratios at the end.
fn compare_servers(cli: &Cli, plan: Plan, other: std::net::SocketAddr, show: bool) -> ExitCode {
    let mut first = plan.clone();
    let mut second = plan;
    second.addr = other;
    second.server_pid = cli.compare_pid;
    let mut runs: [Vec<Report>; 2] = [Vec::new(), Vec::new()];
    for round in 0..cli.rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let plan = if which == 0 { &mut first } else { &mut second };
            // Server memory is only meaningful on a fresh server: the first round.
            if round > 0 {
                plan.server_pid = None;
            }
            plan.seed = plan.seed.wrapping_add(1);
            let report = match run_shown(plan, show) {
                Ok(report) => report,
                Err(code) => return code,
            };
            if !cli.json {
                println!(
                    "round {} {:<21} {}",
                    round + 1,
                    plan.addr,
                    report.one_line()
                );
            }
            runs[which].push(report);
        }
    }
    let [a, b] = &runs;
    let failed = a.iter().chain(b).any(|r| r.failed > 0);
    let summary = Comparison::new(a, b);
    if cli.json {
        println!("{}", summary.to_json(first.addr, other));
    } else {
        print!("{}", summary.human(first.addr, other));
    }
    if failed {
        eprintln!("quizd-load: some students failed; see the rounds above");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Medians of each server's runs, and B relative to A.
struct Comparison {
    rate: [f64; 2],
    p50: [Duration; 2],
    p99: [Duration; 2],
    p999: [Duration; 2],
    memory: [Option<load::ServerMemory>; 2],
    rounds: usize,
}

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied()
}

impl Comparison {
    fn new(a: &[Report], b: &[Report]) -> Comparison {
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
            rate: [rate(a), rate(b)],
            p50: both(&|l| l.p50),
            p99: both(&|l| l.p99),
            p999: both(&|l| l.p999),
            memory: [
                a.first().and_then(|r| r.server_memory),
                b.first().and_then(|r| r.server_memory),
            ],
            rounds: a.len(),
        }
    }

    fn human(&self, a: std::net::SocketAddr, b: std::net::SocketAddr) -> String {
        let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { 0.0 };
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

    fn to_json(&self, a: std::net::SocketAddr, b: std::net::SocketAddr) -> String {
        let us = |d: Duration| d.as_micros();
        let mut j = String::from("{\"compare\":[");
        for i in 0..2 {
            if i > 0 {
                j.push(',');
            }
            j.push_str("{\"addr\":");
            load::json_string(&mut j, &[a, b][i].to_string());
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

/// The size of the ephemeral port range (Linux), which bounds connections from one address to
/// one server port.
fn local_ports() -> Option<usize> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = range.split_whitespace().map(|n| n.parse::<usize>().ok());
    let (lo, hi) = (it.next()??, it.next()??);
    Some(hi.saturating_sub(lo) + 1)
}

/// `12,345`.
fn group(n: u64) -> String {
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
fn time(d: Duration) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_middle_value_whatever_the_order() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![5, 1, 4, 2, 3]), Some(3));
        assert_eq!(median(Vec::<u32>::new()), None);
    }

    #[test]
    fn think_is_one_value_or_a_range() {
        let t = parse_think("250").expect("one value");
        assert_eq!(
            (t.0, t.1),
            (Duration::from_millis(250), Duration::from_millis(250))
        );
        let t = parse_think("100-900").expect("a range");
        assert_eq!(
            (t.0, t.1),
            (Duration::from_millis(100), Duration::from_millis(900))
        );
        assert!(parse_think("900-100").is_err());
        assert!(parse_think("fast").is_err());
    }

    #[test]
    fn answers_are_random_or_letters() {
        assert_eq!(parse_pattern("random"), Ok(Pattern::Random));
        assert_eq!(parse_pattern("AbC"), Ok(Pattern::Letters(b"abc".to_vec())));
        assert!(parse_pattern("a1").is_err());
        assert!(parse_pattern("").is_err());
    }

    #[test]
    fn seconds_are_decimal_and_bounded() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("NaN").is_err());
        assert!(parse_time_bound("0").is_err());
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A run with a bit of everything: failures of two kinds, memory, a side without samples.
    fn a_report(rate: f64, p99: Duration) -> Report {
        Report {
            students: 12_000,
            completed: 11_998,
            failed: 2,
            failures: vec![("server full".into(), 1), ("time bound".into(), 1)],
            answers: 120_003,
            answers_refused: 3,
            verdicts: load::Verdicts {
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
            server_memory: Some(load::ServerMemory {
                before: 2_500_000,
                loaded: 18_436_000,
                loaded_connections: 12_000,
                peak: 19_000_000,
                per_student: 1328.4,
            }),
        }
    }

    #[test]
    fn the_comparison_table_has_medians_and_ratios() {
        let a: std::net::SocketAddr = "127.0.0.1:17001".parse().expect("address");
        let b: std::net::SocketAddr = "127.0.0.1:17002".parse().expect("address");
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
        let c = Comparison::new(&quizd, &baseline);
        assert_eq!(
            c.human(a, b),
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
            c.to_json(a, b),
            concat!(
                r#"{"compare":[{"addr":"127.0.0.1:17001","answers_per_sec":71608,"p50_us":850,"p99_us":403000,"p999_us":1200000,"bytes_per_student":1328},"#,
                r#"{"addr":"127.0.0.1:17002","answers_per_sec":80223,"p50_us":700,"p99_us":336000,"p999_us":1200000,"bytes_per_student":46},"rounds":3}"#
            )
        );
        // Without the second server's memory, no memory line and no figure in the JSON.
        baseline[0].server_memory = None;
        let c = Comparison::new(&quizd, &baseline);
        assert!(!c.human(a, b).contains("server memory"));
        assert_eq!(
            c.to_json(a, b),
            concat!(
                r#"{"compare":[{"addr":"127.0.0.1:17001","answers_per_sec":71608,"p50_us":850,"p99_us":403000,"p999_us":1200000,"bytes_per_student":1328},"#,
                r#"{"addr":"127.0.0.1:17002","answers_per_sec":80223,"p50_us":700,"p99_us":336000,"p999_us":1200000},"rounds":3}"#
            )
        );
    }
}
