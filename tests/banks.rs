//! The banks shipped in `questions/` load cleanly, and the one built into the binary is the
//! file on disk.

use std::path::{Path, PathBuf};

use quizd::bank::{self, Kind};

fn questions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("questions")
}

#[test]
fn every_bundled_bank_loads_with_at_least_25_four_option_questions() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(questions_dir())
        .expect("questions/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    for file in files {
        let loaded = bank::load(std::slice::from_ref(&file))
            .unwrap_or_else(|p| panic!("{}: {p:?}", file.display()));
        assert!(loaded.questions.len() >= 25, "{}", file.display());
        for q in &loaded.questions {
            let Kind::Choice {
                options, correct, ..
            } = &q.kind
            else {
                panic!("{}:{}: Aiken questions are multiple choice", q.file, q.line)
            };
            assert_eq!(options.len(), 4, "{}:{}", q.file, q.line);
            assert!(*correct < options.len());
            assert!(!q.text.trim().is_empty());
        }
    }
}

#[test]
fn the_bank_built_into_the_binary_is_questions_sockets_txt() {
    let built_in = bank::bundled().expect("bundled bank parses");
    let on_disk = bank::load(&[questions_dir().join("sockets.txt")]).expect("sockets.txt loads");
    assert_eq!(built_in.title, "sockets");
    let texts = |b: &bank::Bank| {
        b.questions
            .iter()
            .map(|q| q.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&built_in), texts(&on_disk));
}
