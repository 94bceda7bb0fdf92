//! Executes notebook 03 through the real evcxr kernel and checks its executed copy holds what it
//! promises: the MIDI corpus report, the vocabulary table with counts, token sequences, a loss
//! curve that fell, an interrupted training session resumed from the drive, music written every two
//! epochs, an exact event round trip, and a piece generated from the reloaded checkpoint, shown with
//! its piano roll and written as a readable `.mid` file.

mod common;

#[test]
fn notebook_03_builds_the_vocabulary_trains_and_writes_midi() {
    let run = common::execute_notebook("03_midi_note_vocabulary");
    let html = run.displays("text/html");
    common::assert_neural_beside_soundfont(&html, "piano_synth");
    common::assert_shown(
        &html,
        &[
            "<b>MIDI corpus</b>",
            "drum tracks",
            "quantisation",
            "read (",
        ],
        "the MIDI corpus report missing",
    );
    common::assert_shown(
        &html,
        &["Note vocabulary", "<table", "<th>count</th>"],
        "vocabulary table with counts missing",
    );
    assert!(
        common::count_shown(&html, &["tokens</b>", "<code>"]) >= 3,
        "token views (a piece, its events, the generated tokens) missing"
    );
    common::assert_shown(&html, &["WindowLstm", "attn.v"], "model display missing");
    common::assert_shown(
        &html,
        &["<b>Score</b>", "<svg"],
        "the generated piece with its piano roll missing",
    );
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(
        &svgs,
        &["piano roll: "],
        "the corpus piece's piano roll missing",
    );
    common::assert_shown(&svgs, &["Loss per epoch"], "loss curve missing");
    assert!(
        run.stdout().contains("valid accuracy"),
        "per-epoch progress lines missing"
    );

    let summary = run.summary();
    let num = |key: &str| summary.number(key);
    summary.assert_below("train_loss", "train_loss_first", "training loss fell");
    summary.assert_below(
        "valid_loss",
        "unigram_entropy",
        "the model beats the unigram baseline on held-out pieces",
    );
    assert!(num("valid_accuracy") > 0.1, "accuracy: {summary}");
    assert!(num("midi_files_read") >= 100.0, "corpus: {summary}");
    assert!(
        num("midi_notes_read") >= 20.0 * num("midi_files_read"),
        "corpus notes: {summary}"
    );
    assert!(
        num("midi_onsets_off_grid") < 0.01,
        "tunes written from ABC lie on the grid: {summary}"
    );
    assert!(
        num("vocab_size") > num("seed_vocab_size"),
        "durations make more tokens: {summary}"
    );
    assert_eq!(summary["event_round_trip_exact"], true, "{summary}");
    assert!(num("generated_notes") >= 64.0, "{summary}");

    let stdout = run.stdout();
    assert!(
        stdout.contains("session 1 stopped: Some(Interrupted)")
            && stdout.contains("session 2 resumed from"),
        "the interrupted and resumed sessions are missing"
    );
    summary.assert_resumed_mid_epoch();
    for name in ["epoch-0002-1.mid", "epoch-0006-2.mid"] {
        let score = run.read_midi(&format!("drive/notes-window/samples/{name}"));
        assert!(score.note_count() >= 32, "{name}: primer and 32 new notes");
    }
    let score = run.read_midi("generated.mid");
    assert!(
        score.note_count() >= 64,
        "the generated file holds the piece"
    );
    let vocab = tunesmith::encode::NoteVocab::load(&run.files.join("note_vocab.json"))
        .unwrap_or_else(|e| panic!("saved vocabulary unreadable: {e:#}"));
    assert_eq!(vocab.len() as f64, num("vocab_size"));
}
