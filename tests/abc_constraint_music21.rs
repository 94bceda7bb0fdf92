//! The ABC constraint judged by an independent reader: tunes written under it by the worst
//! possible model (each character drawn uniformly from what the constraint allows, which reaches
//! every corner of the grammar) are read by music21 (`scripts/music21_quality.py`); every one must
//! parse and have every bar adding up by music21's reading, and by the crate's own reader too.
//! Skipped, with a message, where no Python with music21 is found.

use tunesmith::abc::to_score::{abc_to_score, bar_check, tune_form};
use tunesmith::encode::CharVocab;
use tunesmith::generate::abc_constraint::random_walk;
use tunesmith::generate::Form;
use tunesmith::metrics::oracle::{find_python_with_music21, music21_quality};

const ALPHABET: &str = "\n !\"#'(),-./0123456789:<=>ABCDEFGHKLMTZ[]^_abcdefghijlmnoprsuvxyz{|}~";

/// A tune drawn uniformly from what the constraint allows, in at most `budget` characters.
fn random_tune(vocab: &CharVocab, seed: u64, budget: usize) -> String {
    random_tune_in(vocab, "", &Form::Free, 0.0, seed, budget).0
}

/// A tune drawn by [`random_walk`] after `head` under `form`, and the form it took.
fn random_tune_in(
    vocab: &CharVocab,
    head: &str,
    form: &Form,
    favour_c: f64,
    seed: u64,
    budget: usize,
) -> (String, Option<Vec<u16>>) {
    let (text, constraint) =
        random_walk(vocab, head, form, favour_c, seed, budget).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(constraint.off_reason(), None, "seed {seed}: {text:?}");
    (text, constraint.form().map(<[u16]>::to_vec))
}

/// What both tests need: a Python with music21 (`None`, after a message, where there is none),
/// the vocabulary, a temporary folder and the number of walks (`TUNESMITH_WALKS`, else 120).
fn setup() -> Option<(std::path::PathBuf, CharVocab, tempfile::TempDir, u64)> {
    let Some(python) = find_python_with_music21() else {
        eprintln!("skipped: no Python with music21 (set TUNESMITH_PYTHON)");
        return None;
    };
    let walks = std::env::var("TUNESMITH_WALKS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(120);
    let dir = tempfile::tempdir().expect("temporary folder");
    Some((python, CharVocab::from_texts([ALPHABET]), dir, walks))
}

#[test]
fn music21_reads_every_constrained_tune_with_bars_that_add_up() {
    let Some((python, vocab, dir, walks)) = setup() else {
        return;
    };
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
    judge(&python, dir.path(), &book, walks);
}

/// music21 reads every tune of `book` (`count` of them) and every bar adds up.
fn judge(python: &std::path::Path, dir: &std::path::Path, book: &str, count: u64) {
    let path = dir.join("walks.abc");
    std::fs::write(&path, book).expect("write tunes");
    if let Ok(keep) = std::env::var("TUNESMITH_KEEP_WALKS") {
        std::fs::write(keep, book).expect("keep the tunes");
    }
    let report = music21_quality(python, &[path.as_path()]).expect("music21 script runs");
    assert_eq!(report.tunes.len() as u64, count);
    let failing: Vec<String> = report
        .tunes
        .iter()
        .filter(|t| !(t.parses && t.bars_add_up))
        .map(|t| format!("tune {}: {:?}", t.index, t.error))
        .collect();
    assert!(failing.is_empty(), "music21 disagrees: {failing:#?}");
}

#[test]
fn music21_reads_every_tune_written_in_a_learned_form() {
    let Some((python, vocab, dir, walks)) = setup() else {
        return;
    };
    let walks = walks / 2;
    // The commonest headers of the corpus (a random header such as M:6/2 in 1/32 units would take
    // the walk thousands of characters per part).
    let heads = [
        "M:6/8\nL:1/8\nK:D\n",
        "M:2/4\nL:1/16\nK:G\n",
        "M:4/4\nL:1/8\nK:Ador\n",
        "M:3/4\nL:1/8\nK:F\n",
        "M:C|\nL:1/8\nK:Bb\n",
        "M:9/8\nL:1/8\nK:Emin\n",
    ];
    let mut book = String::new();
    for seed in 0..walks {
        let head = heads[seed as usize % heads.len()];
        let (tune, form) = random_tune_in(&vocab, head, &Form::Learned, 0.4, 5000 + seed, 4000);
        let body = tune.trim_end();
        assert!(tune.ends_with("\n\n"), "seed {seed} did not end: {body}");
        assert!(
            bar_check(body).is_ok_and(|c| c.adds_up()),
            "seed {seed}: {body}"
        );
        let read = tune_form(body).expect("reads").part_lengths();
        let took = form.map(|f| f.into_iter().map(u32::from).collect::<Vec<_>>());
        assert_eq!(read, took, "seed {seed}: {body}");
        book.push_str(&format!("X:{}\nT:walk {seed}\n{body}\n\n", seed + 1));
    }
    judge(&python, dir.path(), &book, walks);
}
