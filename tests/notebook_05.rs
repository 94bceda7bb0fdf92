//! Executes notebook 05 through the real evcxr kernel and checks its executed copy holds what it
//! promises: audio players, piano-roll and heatmap SVGs, and `.wav` files on disk.

mod common;

#[test]
fn notebook_05_renders_plays_and_writes_wav_files() {
    let run = common::execute_notebook("05_listen_and_look");
    assert!(run.errors().is_empty(), "cells failed: {:?}", run.errors());

    let html = run.displays("text/html");
    let players = html
        .iter()
        .filter(|h| h.contains("<audio") && h.contains("data:audio/ogg;base64,T2dnUw"))
        .count();
    assert!(players >= 4, "expected players for the corpus tune (two synths), the MIDI file and a generated tune, found {players}");
    assert!(
        html.iter()
            .any(|h| h.contains("<b>Score</b>") && h.contains("<svg")),
        "score with piano roll missing"
    );
    assert!(
        html.iter()
            .any(|h| h.contains("tokens") && h.contains("<code>")),
        "token view missing"
    );
    let svgs = run.displays("image/svg+xml");
    assert!(
        svgs.iter().any(|s| s.contains("one batch of 16 sequences")),
        "heatmap missing"
    );

    let summary = run.read_json("summary.json");
    let playable = summary["playable"].as_u64().unwrap_or(0);
    assert!(
        playable >= 1,
        "no generated tune could be played: {summary}"
    );
    let wavs = summary["wav_files"].as_u64().unwrap_or(0);
    assert_eq!(
        wavs,
        2 + playable,
        "two corpus renders plus one per playable generated tune: {summary}"
    );
    for name in [
        "corpus_tune.wav",
        "corpus_tune_builtin.wav",
        "corpus_tune.mid",
    ] {
        let path = run.files.join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} missing or empty", path.display());
    }
}
