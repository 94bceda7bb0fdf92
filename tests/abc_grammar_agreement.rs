//! One way of counting bars: for every tune of the default corpus, the sampling constraint's
//! running bar accounting ([`bar_lengths`]) equals the reader's ([`bar_check`]) at every bar line
//! the constraint follows (up to the first character it refuses: a field, a voice or a mark it does
//! not write). The random walks are compared in the crate's unit tests
//! (`generate::abc_constraint::tests_bars`). Skipped, with a message, where the music21 corpus is
//! not found.

use tunesmith::abc::to_score::bar_check;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::generate::abc_constraint::bar_lengths;
use tunesmith::generate::Form;

#[test]
fn the_constraint_counts_the_bars_of_every_corpus_tune_as_the_reader_does() {
    let corpus = match load_default_abc_corpus(&CleanOptions::default()) {
        Ok(corpus) => corpus,
        Err(e) => {
            eprintln!("skipped: no music21 corpus ({e:#}); run `make setup`");
            return;
        }
    };
    let (mut tunes, mut whole, mut bars) = (0usize, 0usize, 0usize);
    let mut disagreements = Vec::new();
    for tune in &corpus.tunes {
        let Ok(check) = bar_check(tune.text.trim_end()) else {
            continue;
        };
        let (machine, refused) = bar_lengths(&tune.text, &Form::Free);
        tunes += 1;
        whole += usize::from(refused.is_none());
        bars += machine.len();
        let reader: Vec<f64> = check.bars.iter().map(|b| b.length).collect();
        if machine.len() > reader.len() {
            disagreements.push(format!(
                "{}: the machine closed {} bars, the reader read {}",
                tune.label,
                machine.len(),
                reader.len()
            ));
            continue;
        }
        if let Some(i) = (0..machine.len()).find(|&i| (machine[i] - reader[i]).abs() > 1e-9) {
            disagreements.push(format!(
                "{}: bar {} is {} whole notes to the machine, {} to the reader",
                tune.label,
                i + 1,
                machine[i],
                reader[i]
            ));
        }
    }
    println!("{tunes} tunes, {whole} followed to the end, {bars} bars compared");
    assert!(
        disagreements.is_empty(),
        "{} of {tunes} tunes disagree, e.g.:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(10)].join("\n")
    );
    assert!(tunes > 10_000, "{tunes} tunes");
    assert!(bars > 50_000, "{bars} bars compared");
}
