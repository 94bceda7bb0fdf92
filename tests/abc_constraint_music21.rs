//! The ABC constraint judged by an independent reader: tunes written under it by the worst
//! possible model (each character drawn uniformly from what the constraint allows, which reaches
//! every corner of the grammar) are read by music21 (`scripts/music21_quality.py`); every one must
//! parse and have every bar adding up by music21's reading, and by the crate's own reader too.
//! Skipped, with a message, where no Python with music21 is found.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tunesmith::abc::to_score::{abc_to_score, bar_check};
use tunesmith::encode::CharVocab;
use tunesmith::generate::abc_constraint::AbcConstraint;
use tunesmith::generate::tokens::TokenConstraint;
use tunesmith::metrics::oracle::{find_python_with_music21, music21_quality};

const ALPHABET: &str = "\n !\"#'(),-./0123456789:<=>ABCDEFGHKLMTZ[]^_abcdefghijlmnoprsuvxyz{|}~";

/// A tune drawn uniformly from what the constraint allows, in at most `budget` characters.
fn random_tune(vocab: &CharVocab, seed: u64, budget: usize) -> String {
    let mut constraint = AbcConstraint::new(vocab);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut allowed = vec![false; vocab.len()];
    let mut text = String::new();
    for step in 0..budget {
        constraint.allowed(&mut allowed, budget - step);
        let ids: Vec<usize> = (0..allowed.len()).filter(|&i| allowed[i]).collect();
        let id = ids[rng.random_range(0..ids.len())];
        constraint.push(id as i64);
        text.push(vocab.chars[id]);
        if text.ends_with("\n\n") {
            break;
        }
    }
    assert_eq!(constraint.off_reason(), None, "seed {seed}: {text:?}");
    text
}

#[test]
fn music21_reads_every_constrained_tune_with_bars_that_add_up() {
    let Some(python) = find_python_with_music21() else {
        eprintln!("skipped: no Python with music21 (set TUNESMITH_PYTHON)");
        return;
    };
    let vocab = CharVocab::from_texts([ALPHABET]);
    let dir = tempfile::tempdir().expect("temporary folder");
    let walks: u64 = std::env::var("TUNESMITH_WALKS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(120);
    let mut book = String::new();
    for seed in 0..walks {
        let tune = random_tune(&vocab, 1000 + seed, 600);
        let body = tune.trim_end();
        assert!(abc_to_score(body).is_ok(), "seed {seed}: {body}");
        assert!(
            bar_check(body).is_ok_and(|c| c.adds_up()),
            "seed {seed}: {body}"
        );
        book.push_str(&format!("X:{}\nT:walk {seed}\n{body}\n\n", seed + 1));
    }
    let path = dir.path().join("walks.abc");
    std::fs::write(&path, &book).expect("write tunes");
    if let Ok(keep) = std::env::var("TUNESMITH_KEEP_WALKS") {
        std::fs::write(keep, &book).expect("keep the tunes");
    }
    let report = music21_quality(&python, &[path.as_path()]).expect("music21 script runs");
    assert_eq!(report.tunes.len() as u64, walks);
    let failing: Vec<String> = report
        .tunes
        .iter()
        .filter(|t| !(t.parses && t.bars_add_up))
        .map(|t| format!("tune {}: {:?}", t.index, t.error))
        .collect();
    assert!(failing.is_empty(), "music21 disagrees: {failing:#?}");
}
