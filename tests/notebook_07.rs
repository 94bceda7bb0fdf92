//! Executes notebook 07 (neural audio) through the real evcxr kernel with short settings and checks
//! its executed copy holds what it promises: the training pairs' features and spectrogram, the
//! neural rendering of a held-out tune beside the SoundFont and built-in ones (spectrograms and
//! players), the metrics table, and the sample-level model's bits per sample below the ceiling.

mod common;

#[test]
fn notebook_07_trains_a_neural_synthesizer_and_shows_players_and_spectrograms() {
    let run = common::execute_notebook_with(
        "07_neural_audio",
        &[
            ("TUNESMITH_AUDIO_TRAIN_TUNES", "6"),
            ("TUNESMITH_AUDIO_TEST_TUNES", "1"),
            ("TUNESMITH_AUDIO_MAX_SECONDS", "6"),
            ("TUNESMITH_AUDIO_MINUTES", "0.5"),
            ("TUNESMITH_SAMPLE_STEPS", "40"),
        ],
    );
    let html = run.displays("text/html");
    let players = html
        .iter()
        .map(|h| h.matches("<audio").count())
        .sum::<usize>();
    // The training target, three renderings of the held-out tune, the typed tune, the sample-level
    // model's draw.
    assert!(players >= 6, "expected at least 6 players, found {players}");
    let comparisons: Vec<&String> = html
        .iter()
        .filter(|h| h.contains("tunesmith-compare"))
        .collect();
    assert!(
        comparisons
            .iter()
            .any(|h| h.contains("neural (DDSP-style LSTM)")
                && h.contains("SoundFont")
                && h.contains("built-in synthesizer")
                && h.matches("<svg").count() >= 3
                && h.matches("<audio").count() >= 3),
        "the side-by-side spectrograms and players of the held-out tune are missing"
    );
    common::assert_shown(
        &html,
        &["MR-STFT", "silence", "ddsp"],
        "metrics table missing",
    );
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(
        &svgs,
        &["note features per frame"],
        "feature heatmap missing",
    );
    let out = run.stdout();
    assert!(out.contains("bits per sample on the clip"), "{out}");
    let summary = run.summary();
    let before = summary["sample_rnn_bits_before"].as_f64().unwrap_or(0.0);
    let after = summary["sample_rnn_bits_after"]
        .as_f64()
        .unwrap_or(f64::MAX);
    assert!(
        after < before && after < 8.0,
        "the sample-level model did not learn: {summary}"
    );
    assert!(summary["steps"].as_u64().unwrap_or(0) > 0, "{summary}");
    assert_eq!(summary["wav_files"], 2, "{summary}");
    for name in ["neural.wav", "soundfont.wav"] {
        run.assert_file_larger_than(name, 1000);
    }
}
