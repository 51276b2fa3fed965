//! The banks shipped in `questions/` load cleanly, and the one built into the binary is the
//! file on disk.

use std::path::{Path, PathBuf};

use quizd::bank::{self, Kind};

fn questions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("questions")
}

fn bundled_banks() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(questions_dir())
        .expect("questions/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

fn load(file: &Path) -> bank::Bank {
    bank::load(&[file.to_path_buf()]).unwrap_or_else(|p| panic!("{}: {p:?}", file.display()))
}

#[test]
fn every_bundled_bank_loads_with_at_least_25_questions_all_answerable() {
    let files = bundled_banks();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let loaded = load(&file);
        assert!(loaded.questions.len() >= 25, "{}", file.display());
        for q in &loaded.questions {
            let at = format!("{}:{}", q.file, q.line);
            assert!(!q.text.trim().is_empty(), "{at}");
            if let Kind::Choice { options, .. } = &q.kind {
                assert_eq!(options.len(), 4, "{at}");
            }
            // The answer a verdict names must itself be graded right, under a lettering that
            // is not the bank's (as a shuffled student sees it).
            let lettering: Vec<u8> = (0..q.kind.lettered().len() as u8).rev().collect();
            let named = q.right_answer(&lettering).to_string();
            let typed = match &q.kind {
                // "c) bind()": the letter.
                Kind::Choice { .. } => named.chars().take(1).collect(),
                // "a) TCP, b) SCTP": every letter.
                Kind::Multiple { .. } => named
                    .split(", ")
                    .filter_map(|part| part.split_once(") ").map(|(l, _)| l))
                    .collect::<Vec<_>>()
                    .join(" "),
                // "cab (1 Transport, ...)": the letters.
                Kind::Matching { .. } => named.split(' ').next().unwrap_or("").to_string(),
                Kind::Numeric { answers, .. } => {
                    let right = answers.iter().find(|a| a.right()).expect("a right number");
                    right.min.to_string()
                }
                _ => named,
            };
            let graded = q
                .grade(&typed, &lettering)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(graded.right(), "{at}: {typed:?} is not graded right");
        }
    }
}

#[test]
fn the_aiken_banks_are_multiple_choice() {
    for file in bundled_banks() {
        if file.extension().is_some_and(|x| x == "txt") {
            let loaded = load(&file);
            assert!(
                loaded
                    .questions
                    .iter()
                    .all(|q| matches!(q.kind, Kind::Choice { .. })),
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn the_gift_bank_mixes_every_kind_with_feedback_titles_and_a_missing_word() {
    let loaded = load(&questions_dir().join("networks.gift"));
    let qs = &loaded.questions;
    let count = |kind: fn(&Kind) -> bool| qs.iter().filter(|q| kind(&q.kind)).count();
    assert!(count(|k| matches!(k, Kind::Choice { .. })) >= 5);
    assert!(count(|k| matches!(k, Kind::TrueFalse { .. })) >= 5);
    assert!(count(|k| matches!(k, Kind::Short { .. })) >= 5);
    assert!(count(|k| matches!(k, Kind::Numeric { .. })) >= 5);
    assert!(
        qs.iter().all(|q| q.title.is_some()),
        "every question has a title"
    );
    assert!(
        qs.iter().any(|q| q.text.contains("_____")),
        "a missing word"
    );
    assert!(qs.iter().any(|q| q.feedback.is_some()), "general feedback");
    let with_feedback = |q: &&bank::Question| match &q.kind {
        Kind::Choice { feedback, .. } | Kind::Multiple { feedback, .. } => {
            feedback.iter().any(Option::is_some)
        }
        Kind::Matching { .. } => false,
        Kind::TrueFalse {
            right_feedback,
            wrong_feedback,
            ..
        } => right_feedback.is_some() || wrong_feedback.is_some(),
        Kind::Short { answers, otherwise } => {
            otherwise.is_some() || answers.iter().any(|a| a.feedback.is_some())
        }
        Kind::Numeric { answers, otherwise } => {
            otherwise.is_some() || answers.iter().any(|a| a.feedback.is_some())
        }
        Kind::Essay => false,
    };
    assert!(qs.iter().filter(with_feedback).count() >= 10);
}

#[test]
fn the_bank_built_into_the_binary_is_questions_sockets_txt() {
    let built_in = bank::bundled().expect("bundled bank parses");
    let on_disk = bank::load(&[questions_dir().join("sockets.txt")]).expect("sockets.txt loads");
    assert_eq!(built_in.title, "sockets");
    let questions = |b: &bank::Bank| {
        b.questions
            .iter()
            .map(|q| (q.text.clone(), q.kind.clone(), q.line))
            .collect::<Vec<_>>()
    };
    assert_eq!(questions(&built_in), questions(&on_disk));
}
