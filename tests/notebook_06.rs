//! Executes notebook 06 through the real evcxr kernel and checks its executed copy holds what it
//! promises: no failed cell, the bits-per-character table beside the unigram entropy, the
//! sample-quality table of generated tunes against the corpus, the short polyphonic benchmark run
//! (where its data is) beside the published figures, and a summary whose numbers are sane.

mod common;

#[test]
fn notebook_06_measures_bits_per_character_and_sample_quality() {
    let run = common::execute_notebook("06_benchmark");
    assert!(run.errors().is_empty(), "cells failed: {:?}", run.errors());

    let html = run.displays("text/html");
    assert!(
        html.iter()
            .any(|h| h.contains("valid bits/char (fnv1a64-mod20-v1)")
                && h.contains("each tune from a zero state")
                && h.contains("whole stream with the state carried")
                && h.contains("unigram entropy of the corpus")),
        "bits-per-character table missing"
    );
    let quality = html
        .iter()
        .find(|h| h.contains("tunesmith-quality"))
        .expect("sample-quality table missing");
    for needle in [
        "<th>generated</th>",
        "<th>test tunes</th>",
        "<th>train tunes</th>",
        "bars add up (share)",
        "pitch-class entropy (bits)",
        "scale consistency",
        "longest copied run (bars)",
    ] {
        assert!(quality.contains(needle), "{needle} missing from {quality}");
    }
    let benchmark = html
        .iter()
        .find(|h| h.contains("tunesmith, short run"))
        .expect("polyphonic benchmark table missing");
    assert!(
        benchmark.contains("<td>8.45</td>") && benchmark.contains("<td>8.10</td>"),
        "published figures missing from {benchmark}"
    );

    let summary = run.read_json("summary.json");
    let number = |path: &[&str]| -> f64 {
        let mut v = &summary;
        for key in path {
            v = &v[*key];
        }
        v.as_f64()
            .unwrap_or_else(|| panic!("{path:?} missing: {summary}"))
    };
    assert_eq!(summary["split"], "fnv1a64-mod20-v1");
    let (test_bpc, unigram) = (number(&["test_bpc"]), number(&["unigram_bits"]));
    assert!(
        test_bpc > 0.5 && test_bpc < unigram,
        "the model must beat the unigram entropy: {test_bpc} vs {unigram}"
    );
    assert!(number(&["valid_bpc"]) < unigram);
    assert!(number(&["test_bpc_stream"]) > 0.5);
    assert!(number(&["train_tunes"]) > 10.0 * number(&["test_tunes"]));
    assert_eq!(number(&["generated", "tunes"]), 20.0);
    // The corpus itself is the reference: nearly all of it reads and adds up.
    assert!(number(&["train", "parse_share"]) > 0.95);
    assert!(number(&["test", "bars_add_up_share"]) > 0.5);
    // The share the notebook reports is the share of the tunes it wrote that the crate reads.
    let written: Vec<std::path::PathBuf> = std::fs::read_dir(&run.files)
        .expect("output folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "abc"))
        .collect();
    let parsed = written
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            tunesmith::abc::abc_to_score(&text).is_ok()
        })
        .count();
    let share = number(&["generated", "parse_share"]);
    assert!(
        (share - parsed as f64 / 20.0).abs() < 1e-9,
        "parse share {share}, but {parsed} of the 20 written tunes parse"
    );
    // The short polyphonic run happens where the benchmark data is (as the notebook looks for it).
    let data = std::env::var("TUNESMITH_BENCH_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| common::repo_root().join("../shared/data/bl2012"));
    if data.join("JSB_Chorales.json").exists() {
        let nll = number(&["jsb_short_run", "test_nll"]);
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
    let files = std::fs::read_dir(&run.files)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "abc"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(files, 20, "generated tunes written as .abc files");
}
