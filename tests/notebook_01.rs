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
    let html = run.displays("text/html");
    common::assert_neural_beside_soundfont(&html, "flute_synth");
    common::assert_shown(
        &html,
        &["unigram entropy", "<table"],
        "vocabulary table missing",
    );
    common::assert_shown(&html, &["files,", "read"], "corpus report missing");
    let sheets = html
        .iter()
        .map(|h| h.matches("<div class=\"tunesmith-sheet\"><svg").count())
        .max()
        .unwrap_or(0);
    assert!(
        sheets >= 4,
        "the generated tunes should show as sheet music: {sheets} engraved"
    );
    common::assert_shown(
        &html,
        &["<b>Score</b>", "<audio"],
        "the first playable generated tune as a score with a player",
    );
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(&svgs, &["<svg", "valid"], "loss curve missing");
    assert!(
        run.stdout().contains("epoch   1"),
        "per-epoch progress missing"
    );

    let summary = run.summary();
    let num = |key: &str| summary.number(key);
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
        run.written_files("abc")
            .iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
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
    let comparisons =
        common::count_shown(&html, &["share of full interior bars", "total variation"]);
    assert!(
        comparisons >= 2,
        "two statistics tables (the notebook's model, the shipped model) expected, {comparisons} shown"
    );
}
