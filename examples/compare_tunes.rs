//! Tunes already written (folders of `.abc` files, such as `bench_tunes` leaves) against the
//! held-out tunes of the fixed split: `TuneStatistics` side by side and the classifier, without
//! generating anything. A folder may be followed by `:N` to take only its first N tunes, so that
//! sets can be mixed (for example to see what a share of free-form tunes would do).
//!
//! Usage: `cargo run --release --example compare_tunes -- DIR[:N] [DIR[:N] ...]`
//! (`TUNESMITH_HELD_OUT=valid` compares with the validation tunes.)

mod common;

use anyhow::{Context, Result};
use tunesmith::corpus::abc_files_in;
use tunesmith::metrics::{
    classifier_features, distinguishability, draws_report, CLASSIFIER_FEATURES,
};

/// The text of each `.abc` file under `dir`, by path, at most `limit`.
fn read_folder(dir: &str, limit: usize) -> Result<Vec<String>> {
    abc_files_in(std::path::Path::new(dir))?
        .iter()
        .take(limit)
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        })
        .collect()
}

/// Random balanced subsamples the classifier's accuracy is averaged over.
const CLASSIFIER_DRAWS: u64 = 5;

fn main() -> Result<()> {
    let mut tunes = Vec::new();
    for arg in std::env::args().skip(1) {
        let (dir, limit) = match arg.rsplit_once(':') {
            Some((dir, n)) => (dir.to_string(), n.parse().context("N in DIR:N")?),
            None => (arg.clone(), usize::MAX),
        };
        let read = read_folder(&dir, limit)?;
        println!("{dir}: {} tunes", read.len());
        tunes.extend(read);
    }
    anyhow::ensure!(
        !tunes.is_empty(),
        "usage: compare_tunes DIR[:N] [DIR[:N] ...]"
    );
    let (_, held) = common::held_out_texts()?;
    println!("{}", common::statistics_table(&tunes, &held));
    // Whole sets: the classifier draws its balanced subsample at random (the held-out tunes are
    // in corpus order, collection by collection).
    let verdict = distinguishability(&tunes, &held, 5, 0)?;
    println!(
        "logistic regression, {} tunes per set: accuracy {:.3}",
        verdict.tunes_per_set, verdict.accuracy
    );
    println!("{}", draws_report(&tunes, &held, CLASSIFIER_DRAWS)?);
    for (feature, weight) in verdict.features.iter().zip(&verdict.weights) {
        println!("  {feature:<40} {weight:+.3}");
    }
    // TUNESMITH_FEATURES_CSV: the classifier's features of every tune of both sets, one row each.
    if let Ok(path) = std::env::var("TUNESMITH_FEATURES_CSV") {
        let mut csv = format!("set,{}\n", CLASSIFIER_FEATURES.join(","));
        for (set, rows) in [
            ("generated", classifier_features(&tunes)),
            ("held_out", classifier_features(&held)),
        ] {
            for row in rows {
                let cells: Vec<String> = row.iter().map(|x| x.to_string()).collect();
                csv.push_str(&format!("{set},{}\n", cells.join(",")));
            }
        }
        std::fs::write(&path, csv).with_context(|| format!("writing {path}"))?;
        println!("features of both sets written to {path}");
    }
    Ok(())
}
