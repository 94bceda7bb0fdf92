//! Executes notebook 02 through the real evcxr kernel and checks its executed copy holds what it
//! promises: piano rolls drawn inline (a corpus tune, the same tune in C, a generated piece), an
//! interrupted training session resumed from the drive in a fresh trainer, music written every few
//! epochs, a loss curve, a loss that fell, and a `.mid` file generated from the reloaded
//! checkpoint; then the pitch-invariant model trained on the rolls in their own keys, its loss
//! falling, and its own generated piece (sheet music, roll, player, `.mid`, ABC); last, the
//! `RollStatistics` of its pieces beside the held-out tunes as an HTML table.

mod common;

#[test]
fn notebook_02_builds_piano_rolls_trains_and_writes_midi() {
    let run = common::execute_notebook("02_midi_piano_roll");
    let html = run.displays("text/html");
    common::assert_neural_beside_soundfont(&html, "piano_synth");
    let rolls = common::count_shown(&html, &["<b>Piano roll</b>", "<svg"]);
    assert!(
        rolls >= 3,
        "expected piano-roll SVGs for a corpus tune, it in C and a generated piece, found {rolls}"
    );
    common::assert_shown(
        &html,
        &["FrameLstm", "lstm.weight_ih_l0"],
        "model display missing",
    );
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(&svgs, &["Loss per epoch"], "loss curve missing");
    let printed = run.stdout();
    assert!(printed.contains("mean density"), "density line missing");
    assert!(printed.contains("tonics before"), "key table missing");

    let summary = run.summary();
    let number = |key: &str| summary.number(key);
    assert!(number("midi_read") >= 200.0, "{summary}");
    assert!(
        number("mean_density") < 0.05,
        "rolls should be sparse: {summary}"
    );
    assert!(number("positive_weight") > 10.0, "{summary}");
    summary.assert_below(
        "tonics_after",
        "tonics_before",
        "transposition to C should gather the keys",
    );
    summary.assert_below(
        "train_loss_last",
        "train_loss_first",
        "training loss did not fall",
    );
    summary.assert_below(
        "valid_nll_last",
        "valid_nll_first",
        "validation NLL did not fall",
    );
    assert!(number("generated_notes") > 0.0, "{summary}");
    let stdout = run.stdout();
    assert!(
        stdout.contains("session 1 stopped: Some(Interrupted)"),
        "the interrupted session is missing"
    );
    assert!(
        stdout.contains("session 2 resumed from"),
        "the resumed session is missing"
    );
    summary.assert_resumed_mid_epoch();
    common::assert_shown(
        &html,
        &["checkpoints<table", "inside an epoch"],
        "the drive's checkpoint table is missing",
    );
    for name in ["epoch-0004-1.mid", "epoch-0012-4.mid"] {
        let score = run.read_midi(&format!("drive/piano-roll/samples/{name}"));
        assert!(score.note_count() > 0, "{name} holds its primer at least");
    }
    run.assert_file_larger_than("generated_piano_roll.mid", 50);

    // The pitch-invariant model, beside the frame model.
    common::assert_shown(
        &html,
        &["PitchLstm (biaxial)", "time.weight_ih_l0"],
        "the pitch model's display is missing",
    );
    summary.assert_below(
        "pitch_valid_nll_last",
        "pitch_valid_nll_before",
        "the pitch model's validation NLL did not fall",
    );
    assert!(number("pitch_epochs") >= 1.0, "{summary}");
    assert!(number("pitch_generated_frames") > 0.0, "{summary}");
    let pieces: Vec<&String> = html
        .iter()
        .filter(|h| h.contains("<b>Generated piece</b>"))
        .collect();
    assert!(
        pieces.len() >= 2,
        "a piece from each model: {} shown",
        pieces.len()
    );
    let pitch_piece = pieces[pieces.len() - 1];
    assert!(
        pitch_piece.contains("<svg") && pitch_piece.contains("<audio"),
        "the pitch model's piece should show as a piano roll with a player"
    );
    assert!(
        pitch_piece.contains("<div class=\"tunesmith-sheet\"><svg"),
        "the pitch model's piece should show as sheet music"
    );
    assert!(
        stdout.contains("pitch_lstm: ") && stdout.contains("X:1"),
        "the pitch model's piece and its ABC are missing"
    );
    let pitch_mid = run.read_midi("generated_pitch_lstm.mid");
    assert!(pitch_mid.note_count() > 0, "its primer at least");

    // RollStatistics of the pitch model's pieces beside the held-out tunes.
    let comparison = common::find_shown(
        &html,
        "intervals inside chords in semitones",
        "the RollStatistics comparison table",
    );
    common::assert_holds(
        comparison,
        &[
            "<th>generated</th><th>held out</th><th>distance</th>",
            "notes per frame",
            "share of silent frames",
            "onsets by position in the bar",
            "share of key windows in the piece's key",
            "total variation",
            "relative difference",
        ],
    );
    assert!(
        stdout.contains("pieces of 8 bars against") && stdout.contains("statistics within 15%"),
        "the comparison's summary line is missing"
    );
    assert!(number("roll_statistics_pieces") >= 1.0, "{summary}");
    assert_eq!(number("roll_statistics_rows"), 11.0, "{summary}");
}
