//! Executes notebook 03 through the real evcxr kernel and checks its executed copy holds what it
//! promises: the MIDI corpus report, the vocabulary table with counts, token sequences, a loss
//! curve that fell, an interrupted training session resumed from the drive, music written every two
//! epochs, an exact event round trip, and a piece generated from the reloaded checkpoint, shown with
//! its piano roll and written as a readable `.mid` file.

mod common;

#[test]
fn notebook_03_builds_the_vocabulary_trains_and_writes_midi() {
    let run = common::execute_notebook("03_midi_note_vocabulary");
    assert!(run.errors().is_empty(), "cells failed: {:?}", run.errors());

    let html = run.displays("text/html");
    common::assert_neural_beside_soundfont(&html, "piano_synth");
    assert!(
        html.iter().any(|h| h.contains("<b>MIDI corpus</b>")
            && h.contains("drum tracks")
            && h.contains("quantisation")
            && h.contains("read (")),
        "the MIDI corpus report missing"
    );
    assert!(
        html.iter().any(|h| h.contains("Note vocabulary")
            && h.contains("<table")
            && h.contains("<th>count</th>")),
        "vocabulary table with counts missing"
    );
    assert!(
        html.iter()
            .filter(|h| h.contains("tokens</b>") && h.contains("<code>"))
            .count()
            >= 3,
        "token views (a piece, its events, the generated tokens) missing"
    );
    assert!(
        html.iter()
            .any(|h| h.contains("WindowLstm") && h.contains("attn.v")),
        "model display missing"
    );
    assert!(
        html.iter()
            .any(|h| h.contains("<b>Score</b>") && h.contains("<svg")),
        "the generated piece with its piano roll missing"
    );
    let svgs = run.displays("image/svg+xml");
    assert!(
        svgs.iter().any(|s| s.contains("piano roll: ")),
        "the corpus piece's piano roll missing"
    );
    assert!(
        svgs.iter().any(|s| s.contains("Loss per epoch")),
        "loss curve missing"
    );
    assert!(
        run.stdout().contains("valid accuracy"),
        "per-epoch progress lines missing"
    );

    let summary = run.read_json("summary.json");
    let num = |key: &str| {
        summary[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {summary}"))
    };
    assert!(
        num("train_loss") < num("train_loss_first"),
        "training loss fell: {summary}"
    );
    assert!(
        num("valid_loss") < num("unigram_entropy"),
        "the model beats the unigram baseline on held-out pieces: {summary}"
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
    let resumed_from = summary["resumed_from"].as_str().unwrap_or_default();
    assert!(
        resumed_from.contains("step-"),
        "resumed mid-epoch: {summary}"
    );
    let samples = run.files.join("drive/notes-window/samples");
    for name in ["epoch-0002-1.mid", "epoch-0006-2.mid"] {
        let score = tunesmith::midi::read_midi_file(&samples.join(name))
            .unwrap_or_else(|e| panic!("sample {name}: {e:#}"));
        assert!(score.note_count() >= 32, "{name}: primer and 32 new notes");
    }
    let midi = run.files.join("generated.mid");
    let score = tunesmith::midi::read_midi_file(&midi)
        .unwrap_or_else(|e| panic!("{} unreadable: {e:#}", midi.display()));
    assert!(
        score.note_count() >= 64,
        "the generated file holds the piece"
    );
    let vocab = tunesmith::encode::NoteVocab::load(&run.files.join("note_vocab.json"))
        .unwrap_or_else(|e| panic!("saved vocabulary unreadable: {e:#}"));
    assert_eq!(vocab.len() as f64, num("vocab_size"));
}
