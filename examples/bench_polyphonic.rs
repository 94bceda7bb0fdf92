//! The polyphonic piano-roll benchmark (../shared/data/README.md): trains a FrameLstm on `train`,
//! keeps the epoch with the best `valid` NLL, and prints the `test` NLL per frame for JSB Chorales
//! and Nottingham beside the published LSTM and TCN, with the budget used.
//!
//!     cargo run --release --example bench_polyphonic -- ../shared/data/bl2012 \
//!         [--dataset jsb|nottingham|both] [--preset best|independent|reproduce] [--budget-minutes N] [--hidden 256] [--layers 2]
//!         [--dropout 0.3] [--input-dropout 0.1] [--projection W] [--skip] [--chords] [--lr 1e-3]
//!         [--weight-decay 0] [--batch 8] [--window 0] [--clip 5] [--epochs 200] [--lr-patience 0]
//!         [--stop-patience 30] [--seed 1] [--threads N] [--json results.json] [--quiet]
//!
//! `--preset best` trains each dataset with the settings that did best here (docs/benchmarks.md):
//! JSB 1×512 with the skip path, input dropout 0.2, dropout 0.5, 8 pieces per step at lr 3e-3;
//! Nottingham 1×256 with the skip path, dropout 0.2, windows of 50 frames, 32 per step at lr 3e-3;
//! both with `--chords` (each pitch of a frame also reads the lower pitches of that frame).
//! `--preset independent` is the same without `--chords` (pitches independent given the past).
//! `--preset reproduce` is the published-size 2×200 LSTM, one piece per step at lr 1e-3. A preset
//! replaces the model and optimizer options; `--budget-minutes`, `--epochs`, `--seed` still apply.
//!
//! `--budget-minutes` bounds each dataset's training (the epoch in progress is finished and
//! validated). Timings depend on the machine; they are printed, never checked.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use tunesmith::bench::{
    baseline_nlls, run_benchmark, PolyBenchConfig, PolyBenchResult, PolyDataset,
};
use tunesmith::model::FrameLstmConfig;
use tunesmith::train::AdamConfig;

/// Published test NLL (Bai, Kolter, Koltun 2018, Table 1): (LSTM, TCN).
fn published(name: &str) -> (f64, f64) {
    if name.starts_with("JSB") {
        (8.45, 8.10)
    } else {
        (3.29, 3.07)
    }
}

struct Args {
    dir: PathBuf,
    datasets: Vec<&'static str>,
    budget_minutes: Option<f64>,
    config: PolyBenchConfig,
    threads: Option<i32>,
    json: Option<PathBuf>,
    preset: Option<String>,
}

/// The settings of a preset for one dataset (model, optimizer, batching), keeping `base`'s
/// budget, epochs, patience and seed.
fn preset(name: &str, dataset: &str, base: &PolyBenchConfig) -> Result<PolyBenchConfig> {
    let mut c = base.clone();
    c.window_frames = 0;
    c.adam = AdamConfig::default();
    let chords = name == "best";
    let name = if chords { "independent" } else { name };
    match (name, dataset.starts_with("JSB")) {
        ("independent", true) => {
            c.model = FrameLstmConfig::piano(512, 1, 0.5);
            c.model.input_dropout = 0.2;
            c.model.skip_connection = true;
            c.batch_size = 8;
            c.adam.lr = 3e-3;
        }
        ("independent", false) => {
            c.model = FrameLstmConfig::piano(256, 1, 0.2);
            c.model.skip_connection = true;
            c.window_frames = 50;
            c.batch_size = 32;
            c.adam.lr = 3e-3;
        }
        ("reproduce", _) => {
            c.model = FrameLstmConfig::piano(200, 2, 0.0);
            c.batch_size = 1;
            c.adam.lr = 1e-3;
        }
        (other, _) => bail!("--preset is best, independent or reproduce, not {other}"),
    }
    c.model.pitch_autoregression = chords;
    Ok(c)
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut dir = None;
    let mut datasets = vec!["JSB_Chorales", "Nottingham"];
    let mut budget_minutes = None;
    let mut model = FrameLstmConfig::piano(256, 2, 0.3);
    model.input_dropout = 0.1;
    let mut config = PolyBenchConfig {
        adam: AdamConfig::default(),
        batch_size: 8,
        max_epochs: 200,
        stop_patience: 30,
        ..PolyBenchConfig::default()
    };
    // One intra-op thread by default: the LSTM's small per-step products gain little from more,
    // and on a loaded 2-core machine two spinning threads made an epoch 28 times slower.
    let (mut threads, mut json, mut preset) = (Some(1), None, None);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--dataset" => {
                datasets = match value("--dataset")?.as_str() {
                    "jsb" => vec!["JSB_Chorales"],
                    "nottingham" => vec!["Nottingham"],
                    "both" => vec!["JSB_Chorales", "Nottingham"],
                    other => bail!("--dataset is jsb, nottingham or both, not {other}"),
                }
            }
            "--budget-minutes" => budget_minutes = Some(value(&arg)?.parse()?),
            "--hidden" => model.hidden_size = value(&arg)?.parse()?,
            "--layers" => model.num_layers = value(&arg)?.parse()?,
            "--dropout" => model.dropout = value(&arg)?.parse()?,
            "--input-dropout" => model.input_dropout = value(&arg)?.parse()?,
            "--projection" => model.input_projection = Some(value(&arg)?.parse()?),
            "--skip" => model.skip_connection = true,
            "--chords" => model.pitch_autoregression = true,
            "--lr" => config.adam.lr = value(&arg)?.parse()?,
            "--weight-decay" => config.adam.weight_decay = value(&arg)?.parse()?,
            "--window" => config.window_frames = value(&arg)?.parse()?,
            "--batch" => config.batch_size = value(&arg)?.parse()?,
            "--clip" => config.clip_norm = value(&arg)?.parse()?,
            "--epochs" => config.max_epochs = value(&arg)?.parse()?,
            "--lr-patience" => config.lr_patience = value(&arg)?.parse()?,
            "--stop-patience" => config.stop_patience = value(&arg)?.parse()?,
            "--seed" => config.seed = value(&arg)?.parse()?,
            "--threads" => threads = Some(value(&arg)?.parse()?),
            "--preset" => preset = Some(value(&arg)?),
            "--json" => json = Some(PathBuf::from(value(&arg)?)),
            "--quiet" => config.verbose = false,
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            path => dir = Some(PathBuf::from(path)),
        }
    }
    config.model = model;
    let dir = dir.context("usage: bench_polyphonic DATA_DIR (the folder with JSB_Chorales.json and Nottingham.json) [options]")?;
    Ok(Args {
        dir,
        datasets,
        budget_minutes,
        config,
        threads,
        json,
        preset,
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let mut config = args.config.clone();
    config.max_seconds = args.budget_minutes.map(|m| m * 60.0);
    println!(
        "polyphonic benchmark: {} threads; budget per dataset {}; preset {}",
        tch::get_num_threads(),
        args.budget_minutes
            .map(|m| format!("{m} min"))
            .unwrap_or_else(|| "none".into()),
        args.preset.as_deref().unwrap_or("none (options as given)")
    );
    let mut rows: Vec<(PolyBenchResult, PolyBenchConfig, f64, f64)> = Vec::new();
    for name in &args.datasets {
        let path = args.dir.join(format!("{name}.json"));
        let data = PolyDataset::load(&path)?;
        let (bern, markov) = baseline_nlls(&data.train, &data.test);
        let config = match &args.preset {
            Some(p) => preset(p, name, &config)?,
            None => config.clone(),
        };
        println!("{name}: {config:?}");
        let result = run_benchmark(&data, &config, tch::Device::Cpu)?;
        println!(
            "{name}: test NLL {:.3} (best valid {:.3} at epoch {} of {}, {:.0} s)",
            result.test_nll,
            result.best_valid_nll,
            result.best_epoch,
            result.epochs,
            result.seconds
        );
        rows.push((result, config, bern, markov));
    }
    println!();
    println!("| dataset | tunesmith FrameLstm | published LSTM | published TCN | Bernoulli floor | Markov floor | model | params | epochs (best) | time |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (r, used, bern, markov) in &rows {
        let (lstm, tcn) = published(&r.dataset);
        let c = &used.model;
        println!(
            "| {} | **{:.2}** | {lstm:.2} | {tcn:.2} | {bern:.2} | {markov:.2} | {}×{}{}{}{}, dropout {}/{}, batch {}{}, lr {} | {} | {} ({}) | {:.1} min |",
            r.dataset,
            r.test_nll,
            c.num_layers,
            c.hidden_size,
            c.input_projection.map(|w| format!(", proj {w}")).unwrap_or_default(),
            if c.skip_connection { ", skip" } else { "" },
            if c.pitch_autoregression { ", chords" } else { "" },
            c.input_dropout,
            c.dropout,
            used.batch_size,
            if used.window_frames > 0 {
                format!(" windows of {}", used.window_frames)
            } else {
                String::new()
            },
            used.adam.lr,
            r.parameters,
            r.epochs,
            r.best_epoch,
            r.seconds / 60.0
        );
    }
    if let Some(path) = &args.json {
        let runs: Vec<serde_json::Value> = rows
            .iter()
            .map(|(r, c, _, _)| serde_json::json!({ "config": c, "result": r }))
            .collect();
        let text = serde_json::to_string_pretty(&runs)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
