//! `quizd`: the command line. Parses options, loads banks, starts logging, runs the server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quizd::bank::{self, Bank, Problem};
use quizd::quiz::{LiveSettings, Quiz, Scoring, Settings};
use quizd::server::Stopped;
use quizd::{Config, Server};

/// A classroom quiz server: students connect with plain telnet, answer against the clock and
/// are graded on the spot; every attempt is written to a CSV the moment it ends.
#[derive(Debug, Parser)]
#[command(name = "quizd", version, about, max_term_width = 80)]
struct Cli {
    /// Question banks: Aiken `.txt` or GIFT `.gift` files, or directories of them. Without any,
    /// quizd serves its bundled socket-programming quiz.
    #[arg(value_name = "BANK")]
    banks: Vec<PathBuf>,

    /// Address students connect to (HOST:PORT).
    #[arg(short, long, value_name = "ADDR", default_value = "0.0.0.0:9999")]
    listen: String,

    /// Check the banks (FILE:LINE: problems and warnings on stderr) and exit: 0 if every
    /// question can be asked, 3 if some would be skipped, 1 if there are problems.
    #[arg(long)]
    check: bool,

    /// Questions per attempt, drawn from the bank (default: all of them).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    count: Option<u32>,

    /// Seconds allowed per question; 0 for no limit (at most a day).
    #[arg(short, long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    time_limit: u64,

    /// Shuffle question and option order per student (the default).
    #[arg(long, overrides_with = "no_shuffle")]
    shuffle: bool,

    /// Ask questions in file order with options as written.
    #[arg(long)]
    no_shuffle: bool,

    /// Make shuffles reproducible: the same name gets the same quiz with the same seed.
    #[arg(long, value_name = "S")]
    seed: Option<u64>,

    /// Do not tell students whether they were right until the end (verdict: "Answer recorded.").
    #[arg(long)]
    no_reveal: bool,

    /// Results CSV, appended to (created with a header if missing).
    #[arg(long, value_name = "PATH", default_value = "results.csv")]
    results: PathBuf,

    /// The crash journal: every answer is on disk before its verdict is sent, and a restart
    /// after a crash lets every student carry on (default: beside the results file, its name
    /// with `.journal` added); `off` for none.
    #[arg(long, value_name = "PATH|off")]
    journal: Option<PathBuf>,

    /// When the journal is forced to the disk: `always` (every loop turn, before its replies;
    /// survives a power cut) or `never` (survives the process being killed, not a power cut).
    #[arg(long, value_name = "WHEN", value_enum, default_value = "always")]
    journal_sync: quizd::journal::Sync,

    /// The journal holds attempts from another bank: record them as interrupted (answers
    /// kept) and start afresh, instead of refusing to start.
    #[arg(long)]
    journal_fresh: bool,

    /// Most students connected at once (default: the open-file limit minus a small reserve).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_clients: Option<u32>,

    /// Most students connected at once from one address (a class behind one NAT needs more);
    /// 0 for no limit.
    #[arg(long, value_name = "N", default_value_t = quizd::limits::MAX_PER_ADDRESS as u32)]
    max_per_address: u32,

    /// Close a student who sends nothing for this many seconds while no question clock runs.
    #[arg(long, value_name = "SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    idle_timeout: u64,

    /// How long a student who dropped mid-quiz may take to come back and resume with their
    /// name and resume code; their attempt is recorded when it runs out (0: no resuming).
    #[arg(long, value_name = "SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=604_800))]
    resume_window: u64,

    /// Attempts each student (by name) may take at the quiz; 0 for no limit. The teacher's
    /// `retake NAME` allows one more.
    #[arg(long, value_name = "N", default_value_t = 1)]
    attempts: u32,

    /// `self-paced` (each student goes at their own pace) or `live` (the teacher opens each
    /// question for everyone at once from the console).
    #[arg(long, value_name = "MODE", default_value = "self-paced",
          value_parser = ["self-paced", "live"])]
    mode: String,

    /// Live mode: open the next question this many seconds after one closes, without waiting
    /// for the teacher's `next`.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    auto_next: Option<u64>,

    /// Live mode scoring: `count` (a point per right answer) or `speed` (1000 points for a
    /// right answer within half a second, falling to 500 at the deadline).
    #[arg(long, value_name = "HOW", default_value = "count", value_parser = ["count", "speed"])]
    scoring: String,

    /// Address of the teacher console (HOST:PORT), or `off`. Keep it on a loopback or trusted
    /// address: the token is the console's only protection.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:9998")]
    admin_listen: String,

    /// Address of the projector board, a read-only web page for the room's big screen
    /// (HOST:PORT), or `off`. It shows what the class may see: questions, counts, the
    /// leaderboard; never codes or addresses.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:9997")]
    board_listen: String,

    /// Token a teacher types at the console (also read from QUIZD_ADMIN_TOKEN); when neither is
    /// set, a random one is made and logged once at start.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,

    /// Read every bank file as this format, whatever its name (default: `.gift` is GIFT, `.txt`
    /// is Aiken unless it reads as GIFT, as Moodle's own GIFT export saved as `.txt` does).
    #[arg(long, value_name = "FORMAT", value_enum)]
    format: Option<bank::Format>,

    /// Skip a question with a mistake (with a warning) instead of refusing the bank, as
    /// Moodle's import does when "stop on error" is off.
    #[arg(long)]
    skip_broken: bool,

    /// Quiz title shown to students and written to results (default: the bank's file name).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
}

fn print_problems(problems: &[Problem]) {
    for p in problems {
        eprintln!("{p}");
    }
}

fn load_banks(paths: &[PathBuf], limits: bank::BankLimits) -> Result<Bank, Vec<Problem>> {
    if paths.is_empty() {
        bank::bundled()
    } else {
        bank::load_with(paths, limits)
    }
}

/// Start-up's limits, with how the command line asks the banks to be read.
fn limits(cli: &Cli) -> bank::BankLimits {
    bank::BankLimits {
        format: cli.format,
        skip_broken: cli.skip_broken,
        ..bank::BankLimits::AT_START
    }
}

/// `--check`: each bank on its own, so the report names what is good as well as what is not.
fn check(paths: &[PathBuf], limits: bank::BankLimits) -> ExitCode {
    let mut bad = 0;
    let one = |path: Option<&PathBuf>| match path {
        Some(p) => (
            p.display().to_string(),
            bank::load_with(std::slice::from_ref(p), limits),
        ),
        None => ("(bundled) sockets.txt".to_string(), bank::bundled()),
    };
    let targets: Vec<Option<&PathBuf>> = if paths.is_empty() {
        vec![None]
    } else {
        paths.iter().map(Some).collect()
    };
    let mut skipped = 0;
    for target in targets {
        let (name, loaded) = one(target);
        match loaded {
            Ok(bank) => {
                print_problems(&bank.warnings);
                skipped += bank.skipped;
                if bank.skipped > 0 {
                    println!(
                        "{name}: ok, {} of {} questions ({} skipped)",
                        bank.questions.len(),
                        bank.questions.len() + bank.skipped,
                        bank.skipped
                    );
                } else {
                    println!("{name}: ok, {} questions", bank.questions.len());
                }
            }
            Err(problems) => {
                print_problems(&problems);
                // A bank of nothing quizd can ask is no mistake (Moodle imports it): it is
                // skipped whole, which is status 3, not 1.
                let nothing_to_ask = problems
                    .iter()
                    .filter(|p| !p.warning)
                    .all(|p| p.message.starts_with(bank::NOTHING_TO_ASK));
                if nothing_to_ask {
                    let none = problems
                        .iter()
                        .filter(|p| p.warning && p.message.starts_with("skipped"))
                        .count();
                    // Counted so the status is 3 even for a file of descriptions alone.
                    skipped += none.max(1);
                    if none > 0 {
                        println!("{name}: nothing quizd can ask ({none} skipped)");
                    } else {
                        println!("{name}: nothing quizd can ask");
                    }
                } else {
                    bad += bank::total_problems(&problems);
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("quizd: {bad} problem(s) found");
        ExitCode::FAILURE
    } else if skipped > 0 {
        // Serves, but not every question: a script can tell (status 3).
        eprintln!("quizd: {skipped} question(s) would be skipped");
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// `quizd report RESULTS [BANK...]`: item analysis of a results file.
#[derive(Debug, Parser)]
#[command(
    name = "quizd report",
    about = "Item analysis of a results file: per question, how many were asked it, facility \
             (% right), discrimination, mean time, and the answers given, the wrong one that \
             drew most named. With the bank, question and option texts are shown.",
    max_term_width = 80
)]
struct ReportCli {
    /// The results CSV quizd wrote.
    #[arg(value_name = "RESULTS")]
    results: PathBuf,
    /// The bank(s) the quiz was served from, in the same order, for question texts (and to
    /// grade a file written before 0.5, which has no marks column).
    #[arg(value_name = "BANK")]
    banks: Vec<PathBuf>,
}

fn report(cli: ReportCli) -> ExitCode {
    let text = match std::fs::read(&cli.results) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!(
                "quizd: cannot read {}: {}",
                cli.results.display(),
                quizd::text::describe_io_error(&e)
            );
            return ExitCode::FAILURE;
        }
    };
    let bank = if cli.banks.is_empty() {
        None
    } else {
        match bank::load_with(&cli.banks, bank::BankLimits::AT_START) {
            Ok(bank) => Some(bank),
            Err(problems) => {
                print_problems(&problems);
                eprintln!("quizd: the banks have problems; fix them, or leave them out");
                return ExitCode::FAILURE;
            }
        }
    };
    let questions = bank.as_ref().map(|b| b.questions.as_slice());
    match quizd::report::from_results(&text, questions) {
        Ok((tally, about)) => {
            // Written without println!, which panics when a reader such as `head` goes away.
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}: {about}", cli.results.display());
            for line in quizd::report::render(&tally, questions) {
                if writeln!(out, "{line}").is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("quizd: {}: {message}", cli.results.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    if std::env::args_os().nth(1).is_some_and(|a| a == "report") {
        let _ = args.next();
        let report_args = std::iter::once("quizd report".into()).chain(args.skip(1));
        return report(ReportCli::parse_from(report_args));
    }
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();

    if cli.check {
        return check(&cli.banks, limits(&cli));
    }
    let mut bank = match load_banks(&cli.banks, limits(&cli)) {
        Ok(bank) => bank,
        Err(problems) => {
            print_problems(&problems);
            eprintln!(
                "quizd: {} problem(s) in the question banks; fix them and start again",
                bank::total_problems(&problems)
            );
            return ExitCode::FAILURE;
        }
    };
    if let Some(title) = &cli.title {
        bank.title = title.clone();
    }
    for warning in &bank.warnings {
        log::warn!("{warning}");
    }
    if bank.skipped > 0 {
        log::warn!(
            "serving {} of {} questions ({} skipped: quizd cannot ask them; see above)",
            bank.questions.len(),
            bank.questions.len() + bank.skipped,
            bank.skipped
        );
    }
    if let Some(n) = cli.count
        && n as usize > bank.questions.len()
    {
        log::warn!(
            "--count {n} but the bank has {} questions: asking all of them",
            bank.questions.len()
        );
    }
    let settings = Settings {
        count: cli.count.map(|n| n as usize),
        time_limit: (cli.time_limit > 0).then(|| Duration::from_secs(cli.time_limit)),
        shuffle: !cli.no_shuffle,
        seed: cli.seed,
        reveal: !cli.no_reveal,
        idle_timeout: Duration::from_secs(cli.idle_timeout),
        resume_window: Duration::from_secs(cli.resume_window),
        attempts: (cli.attempts > 0).then_some(cli.attempts),
        live: (cli.mode == "live").then(|| LiveSettings {
            auto_next: cli.auto_next.map(Duration::from_secs),
            scoring: if cli.scoring == "speed" {
                Scoring::Speed
            } else {
                Scoring::Count
            },
        }),
    };
    if settings.live.is_none() && (cli.auto_next.is_some() || cli.scoring != "count") {
        eprintln!("quizd: --auto-next and --scoring apply to --mode live only");
        return ExitCode::from(2);
    }
    if settings.live.is_some()
        && settings
            .live
            .as_ref()
            .is_some_and(|l| l.scoring == Scoring::Speed)
        && settings.time_limit.is_none()
    {
        eprintln!("quizd: --scoring speed needs a time limit (--time-limit above 0)");
        return ExitCode::from(2);
    }
    let mut config = Config::new(cli.listen, Quiz::new(bank, settings), cli.results);
    config.max_clients = cli.max_clients.map(|n| n as usize);
    config.max_per_address = (cli.max_per_address > 0).then_some(cli.max_per_address as usize);
    config.handle_signals = true;
    config.banks = cli.banks.clone();
    config.title = cli.title.clone();
    match &cli.journal {
        Some(path) if path.as_os_str().eq_ignore_ascii_case("off") => config.journal = None,
        Some(path) => config.journal = Some(path.clone()),
        None => {}
    }
    config.journal_sync = cli.journal_sync;
    config.journal_fresh = cli.journal_fresh;
    if !cli.board_listen.eq_ignore_ascii_case("off") {
        config.board_listen = Some(cli.board_listen.clone());
    }
    if !cli.admin_listen.eq_ignore_ascii_case("off") {
        config.admin_listen = Some(cli.admin_listen.clone());
        let from_env = std::env::var("QUIZD_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        match cli.admin_token.clone().or(from_env) {
            Some(token) if token.trim().is_empty() => {
                eprintln!(
                    "quizd: --admin-token is empty; give a token, or leave it out for a random one"
                );
                return ExitCode::from(2);
            }
            Some(token) if token.trim().chars().count() < quizd::limits::MIN_TOKEN_CHARS => {
                eprintln!(
                    "quizd: the console token must be at least {} characters (a short one can be guessed); choose a longer one, or leave it out for a random one",
                    quizd::limits::MIN_TOKEN_CHARS
                );
                return ExitCode::from(2);
            }
            Some(token) => config.admin_token = token.trim().to_string(),
            // Config::new made a random one.
            None => log::info!(
                "teacher console token: {} (set --admin-token or QUIZD_ADMIN_TOKEN to choose one)",
                config.admin_token
            ),
        }
    }

    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("quizd: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.run() {
        Ok(Stopped::Clean) => ExitCode::SUCCESS,
        Ok(Stopped::Forced) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("quizd: the poll loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}
