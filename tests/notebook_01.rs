//! Executes notebook 01 through the real evcxr kernel and checks what it promises: the corpus
//! loads, the vocabulary and tunes show as tables, the loss curve shows as SVG, validation loss
//! falls well below the unigram entropy, the generated tunes' bars add up and they end by
//! themselves in the form of a tune (the ABC constraint and its form are on), the statistics of
//! its tunes show beside held-out tunes, and section 8 writes tunes from the model that ships in
//! `models/abc_folk` with no training.

mod common;

#[test]
fn notebook_01_trains_a_char_lstm_and_writes_tunes() {
    let run = common::execute_notebook("01_abc_char_lstm");
    assert!(run.errors().is_empty(), "cells failed: {:?}", run.errors());

    let html = run.displays("text/html");
    common::assert_neural_beside_soundfont(&html, "flute_synth");
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
        num("bars_add_up_share") >= 0.9,
        "fewer than 90% of the tunes have every bar adding up: {summary}"
    );

    let abc_files = |prefix: &str| {
        std::fs::read_dir(&run.files)
            .expect("output folder")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "abc"))
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .count()
    };
    assert_eq!(
        abc_files("generated") as f64,
        num("generated"),
        "one .abc file per generated tune"
    );
    assert!(
        run.stdout().contains("LSTM 2×384"),
        "section 8 did not load the shipped model (models/abc_folk: LSTM 2×384)"
    );
    assert_eq!(
        abc_files("shipped"),
        8,
        "section 8 writes eight tunes from the shipped model"
    );
    // Every tune of the notebook's own model and of the shipped one ended by itself, in a form.
    assert_eq!(
        num("ended_by_themselves"),
        1.0,
        "some tunes of the notebook's model were cut at max_steps: {summary}"
    );
    assert_eq!(
        num("shipped_ended_by_themselves"),
        num("shipped_tunes"),
        "some tunes of the shipped model were cut at max_steps: {summary}"
    );
    assert!(
        num("full_interior_bars") >= 0.9 && num("shipped_full_interior_bars") >= 0.9,
        "fewer than 90% full interior bars: {summary}"
    );
    // The statistics tables: the notebook's tunes and the shipped model's beside held-out tunes.
    let comparisons = html
        .iter()
        .filter(|h| h.contains("share of full interior bars") && h.contains("total variation"))
        .count();
    assert!(
        comparisons >= 2,
        "two statistics tables (the notebook's model, the shipped model) expected, {comparisons} shown"
    );
}
