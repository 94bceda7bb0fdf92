//! Every candidate of `N` pieces of a character model at its own sampling settings, with its
//! resampling log weight and the classifier's features (`tunesmith::metrics::CLASSIFIER_FEATURES`),
//! and the length of its longest part, as CSV, and the same of the train, valid and test tunes of
//! the fixed split: what is
//! needed to try a tilt of the choice among candidates offline (fit on one set of seeds, draw
//! the kept tunes on another, and ask the classifier) before writing it into the sampler.
//!
//! Usage: `cargo run --release --example dump_candidates -- CHECKPOINT [N] [SEED_BASE] [OUT_DIR]
//! [CANDIDATES]` (defaults 400, 0, /tmp/scratch, 8; `TUNESMITH_TEMPERATURE=T` samples at T instead of the model's temperature). Writes `train.csv`, `valid.csv`, `test.csv`,
//! `candidates_SEED_CANDIDATES.csv` (piece, candidate, log weight, features) and the candidates'
//! ABC text beside it.

mod common;

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use tunesmith::abc::to_score::tune_form;
use tunesmith::generate::resample::generate_candidates;
use tunesmith::generate::{open_for_generation, Primer, SampleConfig};
use tunesmith::metrics::{classifier_features, CLASSIFIER_FEATURES};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkpoint = PathBuf::from(args.get(1).context("CHECKPOINT")?);
    let count: usize = args.get(2).map_or(Ok(400), |a| a.parse())?;
    let seed_base: u64 = args.get(3).map_or(Ok(0), |a| a.parse())?;
    let out = PathBuf::from(args.get(4).map_or("/tmp/scratch", String::as_str));
    let candidates: usize = args.get(5).map_or(Ok(8), |a| a.parse())?;
    std::fs::create_dir_all(&out)?;
    let split = common::default_split()?;
    for (name, part) in common::named_parts(&split) {
        let mut csv = format!("{},longest part\n", CLASSIFIER_FEATURES.join(","));
        for tune in part {
            if let Some(line) = feature_line(&tune.text) {
                writeln!(csv, "{line}")?;
            }
        }
        std::fs::write(out.join(format!("{name}.csv")), csv)?;
    }
    let generator = open_for_generation(&checkpoint, tch::Device::Cpu)?;
    // The model's own sampling settings; TUNESMITH_TEMPERATURE: another temperature.
    let defaults = match std::env::var("TUNESMITH_TEMPERATURE") {
        Ok(t) => SampleConfig {
            temperature: t.parse().context("TUNESMITH_TEMPERATURE")?,
            ..generator.sampling.clone()
        },
        Err(_) => generator.sampling.clone(),
    };
    let configs: Vec<SampleConfig> = (0..count)
        .map(|i| SampleConfig {
            seed: seed_base + i as u64,
            candidates,
            ..defaults.clone()
        })
        .collect();
    let groups = generate_candidates(
        generator.model.as_ref(),
        &generator.encoding,
        &Primer::none(),
        &configs,
    )?;
    let mut csv = format!(
        "piece,candidate,log_weight,{},longest part\n",
        CLASSIFIER_FEATURES.join(",")
    );
    let mut abc = String::new();
    for (p, group) in groups.iter().enumerate() {
        for (c, piece) in group.iter().enumerate() {
            let text = piece.abc.clone().unwrap_or_default();
            writeln!(abc, "%%piece {p} candidate {c}\n{text}\n")?;
            let Some(line) = feature_line(&text) else {
                continue;
            };
            writeln!(
                csv,
                "{p},{c},{},{line}",
                piece.resampling_log_weight.unwrap_or(0.0)
            )?;
        }
    }
    std::fs::write(
        out.join(format!("candidates_{seed_base}_{candidates}.csv")),
        csv,
    )?;
    std::fs::write(
        out.join(format!("candidates_{seed_base}_{candidates}.abc")),
        abc,
    )?;
    Ok(())
}

/// The classifier's features of a tune and the length in bars of its longest part (0 when a part
/// is irregular), comma separated; `None` for a tune the reader refuses.
fn feature_line(text: &str) -> Option<String> {
    let rows = classifier_features(&[text]);
    let row = rows.first()?;
    let longest = tune_form(text)
        .ok()
        .and_then(|f| f.part_lengths())
        .and_then(|parts| parts.into_iter().max())
        .unwrap_or(0);
    let cells: Vec<String> = row.iter().map(|x| x.to_string()).collect();
    Some(format!("{},{longest}", cells.join(",")))
}
