//! Executes notebook 06 through the real evcxr kernel and checks its executed copy holds what it
//! promises: no failed cell, the bits-per-character table beside the unigram entropy, the
//! sample-quality table of generated tunes against the corpus, the short polyphonic benchmark run
//! (where its data is) beside the published figures, and a summary whose numbers are sane.

mod common;

#[test]
fn notebook_06_measures_bits_per_character_and_sample_quality() {
    let run = common::execute_notebook("06_benchmark");
    let html = run.displays("text/html");
    common::assert_shown(
        &html,
        &[
            "valid bits/char (fnv1a64-mod20-v1)",
            "each tune from a zero state",
            "whole stream with the state carried",
            "unigram entropy of the corpus",
        ],
        "bits-per-character table missing",
    );
    let quality = common::find_shown(&html, "tunesmith-quality", "sample-quality table");
    common::assert_holds(
        quality,
        &[
            "<th>generated</th>",
            "<th>test tunes</th>",
            "<th>train tunes</th>",
            "bars add up (share)",
            "pitch-class entropy (bits)",
            "scale consistency",
            "longest copied run (bars)",
        ],
    );
    let benchmark = common::find_shown(&html, "tunesmith, short run", "polyphonic benchmark table");
    assert!(
        benchmark.contains("<td>8.45</td>") && benchmark.contains("<td>8.10</td>"),
        "published figures missing from {benchmark}"
    );

    let summary = run.summary();
    let number = |key: &str| summary.number(key);
    assert_eq!(summary["split"], "fnv1a64-mod20-v1");
    let (test_bpc, unigram) = (number("test_bpc"), number("unigram_bits"));
    assert!(
        test_bpc > 0.5 && test_bpc < unigram,
        "the model must beat the unigram entropy: {test_bpc} vs {unigram}"
    );
    assert!(number("valid_bpc") < unigram);
    assert!(number("test_bpc_stream") > 0.5);
    assert!(number("train_tunes") > 10.0 * number("test_tunes"));
    assert_eq!(number("generated/tunes"), 20.0);
    // The corpus itself is the reference: nearly all of it reads and adds up.
    assert!(number("train/parse_share") > 0.95);
    assert!(number("test/bars_add_up_share") > 0.5);
    // The share the notebook reports is the share of the tunes it wrote that the crate reads.
    let written = run.written_files("abc");
    let parsed = written
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            tunesmith::abc::abc_to_score(&text).is_ok()
        })
        .count();
    let share = number("generated/parse_share");
    assert!(
        (share - parsed as f64 / 20.0).abs() < 1e-9,
        "parse share {share}, but {parsed} of the 20 written tunes parse"
    );
    // The short polyphonic run happens where the benchmark data is (as the notebook looks for it).
    let data = std::env::var("TUNESMITH_BENCH_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| common::repo_root().join("../shared/data/bl2012"));
    if data.join("JSB_Chorales.json").exists() {
        let nll = number("jsb_short_run/test_nll");
        // Below the independent-Bernoulli floor of 11.09 nats: the model learned the chorales.
        assert!(nll > 0.0 && nll < 11.09, "JSB test NLL {nll}");
        assert!(
            benchmark.contains(&format!("<td>{nll:.2} (")),
            "short-run figure missing from {benchmark}"
        );
    } else {
        assert!(summary["jsb_short_run"].is_null());
        assert!(benchmark.contains("not run"));
    }
    assert_eq!(written.len(), 20, "generated tunes written as .abc files");
}
