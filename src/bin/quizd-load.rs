//! `quizd-load`: the command line of the load generator. Parses options into a
//! [`quizd::tools::load::Plan`], runs it (or, with `--compare`, two servers in alternating
//! rounds), shows progress on a terminal, prints the text the library renders and sets the exit
//! code. The work and the text are in `quizd::tools::load`.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quizd::tools::load::{self, CompareEvent, Pattern, Plan, Progress};

/// Load generator for quizd: many simulated students over TCP from one thread, speaking the
/// real protocol (name, answers, verdicts, `Quiz over`). Prints answers/s, latency
/// percentiles and failures by reason; exits 0 when every student completed, 1 when any
/// failed, 2 on a usage error.
#[derive(Debug, Parser)]
#[command(name = "quizd-load", version, about, max_term_width = 80, after_help = EXAMPLE)]
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

fn resolve(text: &str) -> Result<SocketAddr, String> {
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
    if let Some(note) = plan.one_source_note() {
        eprintln!("quizd-load: note: {note}");
    }

    let show = !cli.quiet && std::io::stderr().is_terminal();
    if let Some(other) = compare {
        return compare_servers(&cli, plan, other, show);
    }
    let mut status = StatusLine::new(show);
    let result = load::run(&plan, &mut |p| status.update(p));
    status.end();
    let report = match result {
        Ok(report) => report,
        Err(e) => return run_failed(plan.addr, &e),
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

/// `--compare`: the same class against both servers in alternating rounds, each round's line
/// as it ends, then the medians and ratios.
fn compare_servers(cli: &Cli, plan: Plan, other: SocketAddr, show: bool) -> ExitCode {
    let mut second = plan.clone();
    second.addr = other;
    second.server_pid = cli.compare_pid;
    let mut status = StatusLine::new(show);
    let result = load::compare(
        &plan,
        &second,
        cli.rounds as usize,
        &mut |event| match event {
            CompareEvent::Progress(p) => status.update(p),
            CompareEvent::Ran {
                round,
                addr,
                report,
            } => {
                status.end();
                if !cli.json {
                    println!("{}", load::round_line(round, addr, report));
                }
            }
        },
    );
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            status.end();
            return run_failed(e.addr, &e.error);
        }
    };
    if cli.json {
        println!("{}", summary.to_json());
    } else {
        print!("{}", summary.human());
    }
    if summary.failed {
        eprintln!("quizd-load: some students failed; see the rounds above");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A run that could not start: nothing measured, exit 1.
fn run_failed(addr: SocketAddr, e: &std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        eprintln!("quizd-load: cannot connect to {addr}: connection refused (is quizd running?)");
    } else {
        eprintln!("quizd-load: {e}");
    }
    ExitCode::FAILURE
}

/// The progress line on stderr, rewritten in place while a run goes (only on a terminal).
struct StatusLine {
    show: bool,
    /// Length of the line on screen, to blank what a shorter one leaves.
    shown: usize,
}

impl StatusLine {
    fn new(show: bool) -> StatusLine {
        StatusLine { show, shown: 0 }
    }

    fn update(&mut self, p: &Progress) {
        if self.show {
            let line = p.status_line();
            let pad = self.shown.saturating_sub(line.len());
            eprint!("\r{line}{:pad$}", "");
            let _ = std::io::stderr().flush();
            self.shown = line.len();
        }
    }

    /// A run is over: what comes next starts on a line of its own.
    fn end(&mut self) {
        if self.show {
            eprintln!();
        }
        self.shown = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
