//! The crate's per-tune figures ([`tunesmith::metrics::TuneStatistics`]) against music21's, on
//! tunes of the test part of the default corpus's fixed split: notes, notes per quarter, pitch
//! range, the tonic of the `K:` field, pitch classes above it and whether the tune ends on it,
//! tune by tune (agreement on at least 95% of the tunes); bars against music21's measures on the
//! tunes where both count them by the same rule (see `written_alike`; at least 95% of those);
//! and the pooled distributions of pitch classes, melodic intervals and note lengths (total
//! variation at most 0.02).
//!
//! music21's side is `scripts/tune_statistics_music21.py`, which reads each tune as
//! `tests/abc_reader_music21.rs`'s comparison does (without the marks music21 misreads).
//! Skipped, with a message, where no Python with music21 is found.

mod music21_common;

use serde_json::Value;
use std::path::Path;
use tunesmith::abc::to_score::{bar_check, BarFit};
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::metrics::fixed_split;
use tunesmith::metrics::tune_statistics::{tune_figures, Distribution, TuneFigures, DURATION_BINS};

/// Tunes compared (spread evenly over the test part).
const SAMPLE: usize = 80;

/// music21's figures of each tune, one JSON object per tune.
fn music21_figures(python: &Path, tunes: &[String]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let input = dir.path().join("tunes.jsonl");
    let lines: String = tunes
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}\n", serde_json::json!({"name": i, "tune": t})))
        .collect();
    std::fs::write(&input, lines).expect("write the tunes");
    music21_common::run_script(python, "tune_statistics_music21.py", &[&input])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A count map of music21's (`{"-2": 5, …}`) into bins.
fn binned(map: &Value, bins: usize, bin_of: impl Fn(&str) -> usize) -> Vec<usize> {
    let mut counts = vec![0; bins];
    for (key, n) in map.as_object().expect("a map") {
        counts[bin_of(key)] += n.as_u64().expect("a count") as usize;
    }
    counts
}

fn interval_bin(key: &str) -> usize {
    let step: i32 = key.parse().expect("an interval");
    (step.clamp(-13, 13) + 13) as usize
}

fn duration_bin(key: &str) -> usize {
    let (n, d) = key.split_once('/').unwrap_or((key, "1"));
    let (n, d): (u32, u32) = (n.parse().expect("n"), d.parse().expect("d"));
    DURATION_BINS
        .iter()
        .position(|&(bn, bd)| n * bd == bn * d)
        .unwrap_or(DURATION_BINS.len())
}

/// A tune whose measures both readers count alike: no bar is longer than the meter (music21
/// cuts such a bar in two), and no bar runs on across a line end (the crate runs a bar left
/// unfinished at the end of a line on into the next, as `bar_check` does; music21 ends a measure
/// at every line end): a bar line written at the end of every line of music changes nothing.
fn written_alike(tune: &str) -> bool {
    let mut in_body = false;
    let closed: String = tune
        .lines()
        .map(|line| {
            let music = in_body && !line.trim().is_empty() && line.as_bytes().get(1) != Some(&b':');
            in_body |= line.starts_with("K:");
            if music {
                format!("{line}|\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    match (bar_check(tune), bar_check(&closed)) {
        (Ok(a), Ok(b)) => {
            a.bars.len() == b.bars.len() && a.bars.iter().all(|bar| bar.fit != BarFit::Long)
        }
        _ => false,
    }
}

fn tv(a: &[usize], b: &[usize]) -> f64 {
    let labels = vec![String::new(); a.len()];
    Distribution::of_counts(labels.clone(), a).total_variation(&Distribution::of_counts(labels, b))
}

#[test]
fn the_crates_tune_figures_agree_with_music21s() {
    let Some(python) = music21_common::python_or_skip() else {
        return;
    };
    let corpus = load_default_abc_corpus(&CleanOptions::default()).expect("the default corpus");
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let step = (split.test.len() / SAMPLE).max(1);
    let tunes: Vec<String> = split
        .test
        .iter()
        .step_by(step)
        .take(SAMPLE)
        .map(|t| format!("X:1\nT:t\n{}", t.text))
        .collect();
    let theirs = music21_figures(&python, &tunes);
    assert_eq!(theirs.len(), tunes.len(), "one reading per tune");
    type Check = (&'static str, fn(&TuneFigures, &Value) -> bool);
    let checks: [Check; 6] = [
        ("notes", |x, v| v["notes"] == x.notes),
        ("notes per quarter", |x, v| {
            let theirs = v["notes"].as_f64().unwrap_or(0.0) / v["quarters"].as_f64().unwrap_or(1.0);
            (x.notes_per_quarter() - theirs).abs() <= 0.01 * theirs
        }),
        ("pitch range", |x, v| v["pitch_range"] == x.pitch_range),
        ("tonic", |x, v| {
            v["tonic"].as_u64().map(|t| t as u8) == x.tonic
        }),
        ("pitch classes above the tonic", |x, v| {
            v["pitch_classes"] == serde_json::json!(x.pitch_classes)
        }),
        ("ends on the tonic", |x, v| {
            v["ends_on_tonic"].as_bool() == x.ends_on_tonic
        }),
    ];
    let mut agree = [0usize; 6];
    let (mut measured, mut same_measures) = (0usize, 0usize);
    let mut differ: Vec<String> = Vec::new();
    let (mut pcs, mut intervals, mut durations) = ([[0usize; 12]; 2], [[0; 27]; 2], [[0; 10]; 2]);
    for (i, (tune, v)) in tunes.iter().zip(&theirs).enumerate() {
        let ours = tune_figures(tune, i);
        let (Ok(x), None) = (&ours, v.get("error")) else {
            differ.push(format!(
                "tune {i}: crate {:?}, music21 {:?}",
                ours.err(),
                v.get("error")
            ));
            continue;
        };
        for (k, (name, check)) in checks.iter().enumerate() {
            if check(x, v) {
                agree[k] += 1;
            } else {
                differ.push(format!(
                    "tune {i}: {name}: crate {x:?}\nmusic21 {v}\n{tune}"
                ));
            }
        }
        if written_alike(tune) {
            measured += 1;
            if v["measures"] == x.bars {
                same_measures += 1;
            } else {
                differ.push(format!(
                    "tune {i}: measures: crate {}, music21 {}\n{tune}",
                    x.bars, v["measures"]
                ));
            }
        }
        if x.tonic.is_some() {
            for k in 0..12 {
                pcs[0][k] += x.pitch_classes[k];
                pcs[1][k] += v["pitch_classes"][k].as_u64().unwrap_or(0) as usize;
            }
        }
        for (k, n) in binned(&v["intervals"], 27, interval_bin)
            .into_iter()
            .enumerate()
        {
            intervals[0][k] += x.intervals[k];
            intervals[1][k] += n;
        }
        for (k, n) in binned(&v["durations"], 10, duration_bin)
            .into_iter()
            .enumerate()
        {
            durations[0][k] += x.durations[k];
            durations[1][k] += n;
        }
    }
    let n = tunes.len();
    for (k, (name, _)) in checks.iter().enumerate() {
        eprintln!("{name}: {}/{n} agree", agree[k]);
    }
    eprintln!("measures: {same_measures}/{measured} agree (tunes whose bars both count alike)");
    assert!(
        measured >= 20,
        "only {measured} tunes to compare measures on"
    );
    assert!(
        same_measures as f64 >= 0.95 * measured as f64,
        "measures: {same_measures}/{measured} agree; differences: {differ:#?}"
    );
    let distances = [
        ("pitch classes", tv(&pcs[0], &pcs[1])),
        ("intervals", tv(&intervals[0], &intervals[1])),
        ("durations", tv(&durations[0], &durations[1])),
    ];
    eprintln!("total variation: {distances:?}");
    for (k, (name, _)) in checks.iter().enumerate() {
        assert!(
            agree[k] as f64 >= 0.95 * n as f64,
            "{name}: {}/{n} agree; differences: {differ:#?}",
            agree[k]
        );
    }
    for (name, d) in distances {
        assert!(
            d <= 0.02,
            "{name}: total variation {d:.4}; differences: {differ:#?}"
        );
    }
}
