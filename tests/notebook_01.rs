//! Executes notebook 01 through the real evcxr kernel and checks what it promises: the corpus
//! loads, the vocabulary and tunes show as tables, the loss curve shows as SVG, validation loss
//! falls well below the unigram entropy, and the generated tunes' bars add up (the ABC constraint
//! is on).

mod common;

#[test]
fn notebook_01_trains_a_char_lstm_and_writes_tunes() {
    // Section 8 loads a trained checkpoint instead of training: the committed character-model
    // fixture stands in for the whole-corpus model (whatever sits in `models/` is not read).
    let pretrained = common::repo_root().join("tests/fixtures/checkpoint-v2/lstm_lm-chars");
    let pretrained = pretrained.to_string_lossy().into_owned();
    let run = common::execute_notebook_with(
        "01_abc_char_lstm",
        &[("TUNESMITH_PRETRAINED", pretrained.as_str())],
    );
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
        run.stdout().contains("LSTM 1×8"),
        "section 8 did not load the checkpoint it was given (the fixture's LSTM is 1×8)"
    );
    assert_eq!(
        abc_files("pretrained"),
        4,
        "section 8 writes four tunes from the loaded checkpoint"
    );
}
