//! `quizd-baseline`: the raw mio ceiling quizd is measured against (see
//! `quizd::tools::baseline`).
//!
//! It sends the bytes quizd would send to a student who answers every question right, with no
//! quiz logic behind them. Run it where quizd would run and point `quizd-load` at it; stop it
//! with Ctrl-C (it keeps nothing worth saving).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quizd::quiz::{Quiz, Settings};
use quizd::tools::baseline::Baseline;

/// The raw baseline server: quizd's bytes on the wire, none of its logic. For measuring.
#[derive(Debug, Parser)]
#[command(name = "quizd-baseline", version, about, max_term_width = 80)]
struct Cli {
    /// Question banks (as for quizd); default: the bundled quiz.
    #[arg(value_name = "BANK")]
    banks: Vec<PathBuf>,

    /// Address to listen on (HOST:PORT).
    #[arg(short, long, value_name = "ADDR", default_value = "127.0.0.1:9999")]
    listen: String,

    /// Questions per attempt.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,

    /// Seconds shown per question (only the text changes; nothing is timed).
    #[arg(short, long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    time_limit: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let bank = if cli.banks.is_empty() {
        quizd::bank::bundled()
    } else {
        quizd::bank::load(&cli.banks)
    };
    let bank = match bank {
        Ok(bank) => bank,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return ExitCode::FAILURE;
        }
    };
    let settings = Settings {
        count: Some(cli.count as usize),
        time_limit: (cli.time_limit > 0).then(|| Duration::from_secs(cli.time_limit)),
        shuffle: false,
        ..Settings::default()
    };
    let quiz = Quiz::new(bank, settings);
    let baseline = match Baseline::bind(&cli.listen, &quiz) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "quizd-baseline: cannot listen on {}: {}",
                cli.listen,
                quizd::text::describe_io_error(&e)
            );
            return ExitCode::FAILURE;
        }
    };
    eprintln!("quizd-baseline: listening on {}", baseline.local_addr());
    match baseline.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quizd-baseline: {e}");
            ExitCode::FAILURE
        }
    }
}
