//! Executes notebook 01 through the real evcxr kernel and checks what it promises: the corpus
//! loads, the vocabulary and tunes show as tables, the loss curve shows as SVG, validation loss
//! falls well below the unigram entropy, and most generated tunes are well formed.

mod common;

#[test]
fn notebook_01_trains_a_char_lstm_and_writes_tunes() {
    let run = common::execute_notebook("01_abc_char_lstm");
    assert!(run.errors().is_empty(), "cells failed: {:?}", run.errors());

    let html = run.displays("text/html");
    assert!(
        html.iter()
            .any(|h| h.contains("unigram entropy") && h.contains("<table")),
        "vocabulary table missing"
    );
    assert!(
        html.iter()
            .any(|h| h.contains("files,") && h.contains("read")),
        "corpus report missing"
    );
    let sheets = html
        .iter()
        .map(|h| h.matches("<div class=\"tunesmith-sheet\"><svg").count())
        .max()
        .unwrap_or(0);
    assert!(
        sheets >= 4,
        "the generated tunes should show as sheet music: {sheets} engraved"
    );
    assert!(
        html.iter()
            .any(|h| h.contains("<b>Score</b>") && h.contains("<audio")),
        "the first playable generated tune as a score with a player"
    );
    let svgs = run.displays("image/svg+xml");
    assert!(
        svgs.iter()
            .any(|s| s.contains("<svg") && s.contains("valid")),
        "loss curve missing"
    );
    assert!(
        run.stdout().contains("epoch   1"),
        "per-epoch progress missing"
    );

    let summary = run.read_json("summary.json");
    let num = |k: &str| {
        summary[k]
            .as_f64()
            .unwrap_or_else(|| panic!("summary.json lacks {k}: {summary}"))
    };
    assert!(
        num("tunes_loaded") >= 11_000.0,
        "corpus too small: {summary}"
    );
    let (untrained, first, last, unigram) = (
        num("valid_loss_untrained"),
        num("valid_loss_first_epoch"),
        num("valid_loss_last"),
        num("unigram_entropy"),
    );
    assert!(
        last < untrained && last <= first,
        "validation loss did not fall: {summary}"
    );
    assert!(
        last < 0.75 * unigram,
        "validation loss {last} is not well below the unigram entropy {unigram}"
    );
    assert!(
        num("well_formed_share") >= 0.5,
        "fewer than half the tunes are well formed: {summary}"
    );

    let written: Vec<_> = std::fs::read_dir(&run.files)
        .expect("output folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "abc"))
        .collect();
    assert_eq!(
        written.len() as f64,
        num("generated"),
        "one .abc file per generated tune"
    );
}
