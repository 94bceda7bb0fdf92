//! How often a model's tunes end on the tonic, by whether they ended by themselves and by their
//! length in bars: does the model know how to end a tune, or does the form's end cut it off?
//! (Issue 20: 49.5% of the shipped model's tunes end on the tonic against 77.4% of the test
//! tunes.)
//!
//! Usage: `cargo run --release --example ending_diagnosis -- CHECKPOINT [N] [FORM] [CANDIDATES]
//! [unconstrained]` (defaults: 200 tunes, `learned`, 1 candidate, the ABC constraint on; FORM as
//! `tunesmith generate --form`). With `ENDING_DIAGNOSIS_OUT=DIR` the tunes are also written there.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use tunesmith::generate::{open_for_generation, Form, Primer, SampleConfig};
use tunesmith::metrics::TuneStatistics;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkpoint = args
        .get(1)
        .context("usage: ending_diagnosis CHECKPOINT [N] [FORM] [CANDIDATES] [unconstrained]")?;
    let count: usize = args.get(2).map_or(Ok(200), |a| a.parse()).context("N")?;
    let form: Form = args.get(3).map_or(Ok(Form::Learned), |a| a.parse())?;
    let candidates: usize = args
        .get(4)
        .map_or(Ok(1), |a| a.parse())
        .context("CANDIDATES")?;
    let constrained = args.get(5).map(String::as_str) != Some("unconstrained");
    let generator = open_for_generation(std::path::Path::new(checkpoint), tch::Device::Cpu)?;
    let config = SampleConfig {
        form: form.clone(),
        candidates,
        abc_constraints: constrained,
        ..SampleConfig::default()
    };
    let pieces = generator.generate_many(count, &Primer::none(), &config)?;
    let tunes: Vec<String> = pieces
        .iter()
        .map(|p| p.abc.clone().unwrap_or_default())
        .collect();
    if let Ok(dir) = std::env::var("ENDING_DIAGNOSIS_OUT") {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {dir}"))?;
        for (i, tune) in tunes.iter().enumerate() {
            let path = std::path::Path::new(&dir).join(format!("tune_{i:03}.abc"));
            std::fs::write(&path, tune).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let stats = TuneStatistics::of_tunes(&tunes);
    let mut groups = BTreeMap::<(bool, &str), (usize, usize)>::new();
    for (piece, figures) in pieces.iter().zip(&stats.per_tune) {
        let length = match figures.bars {
            0..=8 => "1-8 bars",
            9..=16 => "9-16 bars",
            _ => "17 bars or more",
        };
        let group = groups.entry((piece.reached_step_cap, length)).or_default();
        group.0 += 1;
        group.1 += usize::from(figures.ends_on_tonic == Some(true));
    }
    println!(
        "{count} tunes, form {form:?}, {candidates} candidates each, constraint {constrained}"
    );
    println!("| reached the step cap | length | tunes | ending on the tonic |");
    println!("|---|---|---:|---:|");
    for ((capped, length), (tunes, tonic)) in groups {
        println!(
            "| {} | {length} | {tunes} | {tonic} ({:.0}%) |",
            if capped { "yes" } else { "no" },
            100.0 * tonic as f64 / tunes as f64
        );
    }
    Ok(())
}
