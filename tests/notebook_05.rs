//! Executes notebook 05 through the real evcxr kernel and checks its executed copy holds what it
//! promises: audio players, piano-roll and heatmap SVGs, and `.wav` files on disk.

mod common;

#[test]
fn notebook_05_renders_plays_and_writes_wav_files() {
    let run = common::execute_notebook("05_listen_and_look");
    let html = run.displays("text/html");
    let players = common::count_shown(&html, &["<audio", "data:audio/ogg;base64,T2dnUw"]);
    assert!(players >= 4, "expected players for the corpus tune (two synths), the MIDI file and a generated tune, found {players}");
    common::assert_shown(
        &html,
        &["<b>Score</b>", "<svg"],
        "score with piano roll missing",
    );
    common::assert_shown(&html, &["tokens", "<code>"], "token view missing");
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(&svgs, &["one batch of 16 sequences"], "heatmap missing");

    let summary = run.summary();
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
        run.assert_file_larger_than(name, 1000);
    }
}
