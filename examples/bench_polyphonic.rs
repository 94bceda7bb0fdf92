//! The polyphonic piano-roll benchmark (../shared/data/README.md): trains a piano-roll model on
//! `train`, keeps the epoch with the best `valid` NLL, and prints the `test` NLL per frame beside
//! the published results, with the budget used; with `--seeds N`, the median and best of N seeds.
//!
//!     cargo run --release --example bench_polyphonic -- PATH... [--dataset jsb|nottingham|both]
//!         [--preset balstm|best|independent|reproduce] [--seeds 1] [--budget-minutes N]
//!         [--model frame|pitch] [--dropout 0.3] [--lr 1e-3] [--weight-decay 0] [--batch 8]
//!         [--window 0] [--clip 5] [--epochs 200, 1000 when pieces move] [--lr-patience 0]
//!         [--stop-patience 30] [--seed 1] [--threads N] [--json results.json] [--valid-only]
//!         [--wall-clock] [--quiet]
//!         [--lead-in on|off] (each piece read after a silent frame, so its first frame is learnt
//!         and scored too; off by default) [--lr-decay START,FLOOR] (the learning rate falls
//!         along a half cosine from START of the budget to FLOOR times itself at its end)
//!         [--peak-lr X] (the starting rate; both apply after a preset)
//!         [--transpose N] (each training window moved by up to N semitones each way, drawn anew
//!         every epoch; applies after a preset; without `--epochs`, a run that moves its pieces
//!         has an epoch cap of 1000)
//!       frame model: [--hidden 256] [--layers 2] [--input-dropout 0.1] [--projection W] [--skip]
//!         [--chords]
//!       pitch model: [--time-hidden 128] [--time-layers 2] [--pitch-hidden 64]
//!         [--pitch-layers 1] [--keys 12] [--chord-window 12] [--beat-bits 4] [--no-context]
//!         [--key-margin M] (the LSTMs run over the keys that sound in `train`, ±M)
//!
//! Each PATH is a data set file of the documented layout (`{"train": [piece, ...], "valid": ...,
//! "test": ...}`, a piece a list of frames, a frame a list of MIDI pitches 21..=108), or a folder
//! holding `JSB_Chorales.json` and `Nottingham.json` (which of them: `--dataset`, default both).
//!
//! Presets replace the model and optimizer options; `--budget-minutes`, `--epochs`, `--seed(s)`,
//! `--transpose` still apply. `--preset balstm` is the pitch-invariant biaxial LSTM
//! ([`PitchLstm`]) with settings chosen on the validation splits only (one for JSB, one for
//! Nottingham and any other file; see `PolyBenchConfig::balstm` and docs/benchmarks.md).
//! `--preset best` is the frame model with pitch autoregression, with per-data-set settings
//! (JSB 1×512, skip path, input dropout 0.2, dropout 0.5, 8 pieces per step at lr 3e-3, each
//! piece moved by up to 6 semitones each way; otherwise 1×256, skip path, dropout 0.2, windows
//! of 50 frames, 32 per step at lr 3e-3, each window moved by up to 3; both with an epoch cap of
//! 1000);
//! `--preset independent` the same without pitch autoregression; `--preset reproduce` the
//! published-size 2×200 LSTM, one piece per step at lr 1e-3.
//!
//! `--valid-only` never scores the test split (for choosing settings). `--budget-minutes` bounds
//! each run's training and validation in CPU minutes of the process (all its threads; other
//! processes' load does not move it), or on the wall clock with `--wall-clock`; the epoch in
//! progress is then closed and validated. Timings depend on the machine; they are printed, never
//! checked.
//!
//! [`PitchLstm`]: tunesmith::model::PitchLstm

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tunesmith::bench::{
    baseline_nlls, run_benchmark, PolyBenchConfig, PolyBenchResult, PolyDataset,
};
use tunesmith::model::{FrameLstmConfig, PitchLstmConfig};
use tunesmith::train::{AdamConfig, LrDecay};

/// Published test NLL per frame of a data set, when its name is one of the four of
/// Boulanger-Lewandowski et al. (2012).
#[derive(Default)]
struct Published {
    /// Bai, Kolter, Koltun (2018), Table 1: LSTM, TCN.
    lstm_tcn: Option<(f64, f64)>,
    /// RNN-NADE, Boulanger-Lewandowski et al. (2012), Table 1.
    rnn_nade: f64,
    /// BALSTM, Johnson (2017), Table 1: best of 5, median of 5.
    balstm: (f64, f64),
}

fn published(name: &str) -> Option<Published> {
    let lower = name.to_lowercase();
    Some(if lower.starts_with("jsb") {
        Published {
            lstm_tcn: Some((8.45, 8.10)),
            rnn_nade: 5.56,
            balstm: (5.05, 5.86),
        }
    } else if lower.starts_with("nottingham") {
        Published {
            lstm_tcn: Some((3.29, 3.07)),
            rnn_nade: 2.31,
            balstm: (1.55, 1.62),
        }
    } else if lower.starts_with("musedata") {
        Published {
            rnn_nade: 5.60,
            balstm: (3.90, 4.41),
            ..Published::default()
        }
    } else if lower.starts_with("piano") {
        Published {
            rnn_nade: 7.05,
            balstm: (4.90, 5.00),
            ..Published::default()
        }
    } else {
        return None;
    })
}

struct Args {
    files: Vec<PathBuf>,
    budget_minutes: Option<f64>,
    config: PolyBenchConfig,
    seeds: u64,
    threads: Option<i32>,
    json: Option<PathBuf>,
    preset: Option<String>,
    /// `--lead-in on|off`, applied after the preset.
    lead_in: Option<bool>,
    /// `--transpose N`, applied after the preset.
    transpose: Option<u8>,
    /// `--epochs N`, the epoch cap, applied after the preset (see [`epoch_cap`]).
    epochs: Option<usize>,
    /// `--lr-decay START,FLOOR`, applied after the preset.
    lr_decay: Option<LrDecay>,
    /// `--peak-lr X`, the starting learning rate, applied after the preset.
    peak_lr: Option<f64>,
}

/// The settings of a preset for one data set (model, optimizer, batching, transposition), keeping
/// `base`'s budget, patience and seed; `--epochs` is applied after it.
fn preset(name: &str, dataset: &str, base: &PolyBenchConfig) -> Result<PolyBenchConfig> {
    if name == "balstm" {
        return Ok(PolyBenchConfig::balstm(dataset, base));
    }
    let mut c = base.clone();
    c.pitch_model = None;
    c.window_frames = 0;
    c.adam = AdamConfig::default();
    let chords = name == "best";
    let name = if chords { "independent" } else { name };
    match (name, dataset.to_lowercase().starts_with("jsb")) {
        ("independent", true) => {
            c.model = FrameLstmConfig::piano(512, 1, 0.5);
            c.model.input_dropout = 0.2;
            c.model.skip_connection = true;
            c.batch_size = 8;
            c.adam.lr = 3e-3;
            if chords {
                c.transpose = 6;
            }
        }
        ("independent", false) => {
            c.model = FrameLstmConfig::piano(256, 1, 0.2);
            c.model.skip_connection = true;
            c.window_frames = 50;
            c.batch_size = 32;
            c.adam.lr = 3e-3;
            if chords {
                c.transpose = 3;
            }
        }
        ("reproduce", _) => {
            c.model = FrameLstmConfig::piano(200, 2, 0.0);
            c.batch_size = 1;
            c.adam.lr = 1e-3;
        }
        (other, _) => bail!("--preset is balstm, best, independent or reproduce, not {other}"),
    }
    c.model.pitch_autoregression = chords;
    Ok(c)
}

/// The epoch cap of a run: `--epochs` when given; otherwise 1000 when the run moves its pieces
/// across keys, whether its preset or `--transpose` asked for it, and `cap` (the preset's or the
/// default, 200) when it does not. Pieces moved across keys train for about three times as many
/// epochs before they overfit (JSB: stopped at 335-361 epochs against 108-119;
/// docs/benchmarks.md), so the cap goes up with them and the budget or the patience ends the run.
fn epoch_cap(given: Option<usize>, transpose: u8, cap: usize) -> usize {
    match given {
        Some(epochs) => epochs,
        None if transpose > 0 => 1000,
        None => cap,
    }
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut names = vec!["JSB_Chorales", "Nottingham"];
    let mut budget_minutes = None;
    let mut model = FrameLstmConfig::piano(256, 2, 0.3);
    model.input_dropout = 0.1;
    let mut pitch = PitchLstmConfig::piano(128, 2, 64, 1, 0.3);
    let mut use_pitch = false;
    let mut config = PolyBenchConfig {
        adam: AdamConfig::default(),
        batch_size: 8,
        max_epochs: 200,
        stop_patience: 30,
        ..PolyBenchConfig::default()
    };
    // One intra-op thread by default: the LSTM's small per-step products gain little from more,
    // and on a loaded 2-core machine two spinning threads made an epoch 28 times slower.
    let (mut threads, mut json, mut preset, mut seeds) = (Some(1), None, None, 1);
    let mut lead_in = None;
    let (mut transpose, mut epochs) = (None, None);
    let (mut lr_decay, mut peak_lr) = (None, None);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--dataset" => {
                names = match value("--dataset")?.as_str() {
                    "jsb" => vec!["JSB_Chorales"],
                    "nottingham" => vec!["Nottingham"],
                    "both" => vec!["JSB_Chorales", "Nottingham"],
                    other => bail!("--dataset is jsb, nottingham or both, not {other}"),
                }
            }
            "--budget-minutes" => budget_minutes = Some(value(&arg)?.parse()?),
            "--model" => {
                use_pitch = match value(&arg)?.as_str() {
                    "frame" => false,
                    "pitch" => true,
                    other => bail!("--model is frame or pitch, not {other}"),
                }
            }
            "--hidden" => model.hidden_size = value(&arg)?.parse()?,
            "--layers" => model.num_layers = value(&arg)?.parse()?,
            "--dropout" => {
                model.dropout = value(&arg)?.parse()?;
                pitch.dropout = model.dropout;
            }
            "--input-dropout" => model.input_dropout = value(&arg)?.parse()?,
            "--projection" => model.input_projection = Some(value(&arg)?.parse()?),
            "--skip" => model.skip_connection = true,
            "--chords" => model.pitch_autoregression = true,
            "--time-hidden" => pitch.time_hidden = value(&arg)?.parse()?,
            "--time-layers" => pitch.time_layers = value(&arg)?.parse()?,
            "--pitch-hidden" => pitch.pitch_hidden = value(&arg)?.parse()?,
            "--pitch-layers" => pitch.pitch_layers = value(&arg)?.parse()?,
            "--keys" => pitch.window = value(&arg)?.parse()?,
            "--chord-window" => pitch.chord_window = value(&arg)?.parse()?,
            "--beat-bits" => pitch.beat_bits = value(&arg)?.parse()?,
            "--no-context" => pitch.pitch_class_context = false,
            "--key-margin" => config.key_margin = Some(value(&arg)?.parse()?),
            "--lr" => config.adam.lr = value(&arg)?.parse()?,
            "--weight-decay" => config.adam.weight_decay = value(&arg)?.parse()?,
            "--window" => config.window_frames = value(&arg)?.parse()?,
            "--batch" => config.batch_size = value(&arg)?.parse()?,
            "--clip" => config.clip_norm = value(&arg)?.parse()?,
            "--epochs" => epochs = Some(value(&arg)?.parse()?),
            "--lr-patience" => config.lr_patience = value(&arg)?.parse()?,
            "--stop-patience" => config.stop_patience = value(&arg)?.parse()?,
            "--seed" => config.seed = value(&arg)?.parse()?,
            "--seeds" => seeds = value(&arg)?.parse()?,
            "--threads" => threads = Some(value(&arg)?.parse()?),
            "--preset" => preset = Some(value(&arg)?),
            "--json" => json = Some(PathBuf::from(value(&arg)?)),
            "--valid-only" => config.score_test = false,
            "--wall-clock" => config.cpu_budget = false,
            "--quiet" => config.verbose = false,
            "--lr-decay" => {
                let text = value(&arg)?;
                let (start, floor) = text
                    .split_once(',')
                    .context("--lr-decay is START,FLOOR (shares: 0.3,0.05)")?;
                let decay = LrDecay {
                    start: start.parse()?,
                    floor: floor.parse()?,
                };
                anyhow::ensure!(
                    (0.0..1.0).contains(&decay.start) && (0.0..=1.0).contains(&decay.floor),
                    "--lr-decay: START in [0, 1) and FLOOR in [0, 1], not {text}"
                );
                lr_decay = Some(decay);
            }
            "--peak-lr" => peak_lr = Some(value(&arg)?.parse()?),
            "--lead-in" => {
                lead_in = Some(match value(&arg)?.as_str() {
                    "on" => true,
                    "off" => false,
                    other => bail!("--lead-in takes on or off, not {other}"),
                })
            }
            "--transpose" => {
                let text = value(&arg)?;
                transpose = Some(text.parse().with_context(|| {
                    format!("--transpose takes semitones from 0 to 255, not {text}")
                })?)
            }
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            path => paths.push(PathBuf::from(path)),
        }
    }
    if seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    config.model = model;
    config.pitch_model = use_pitch.then_some(pitch);
    if paths.is_empty() {
        bail!("usage: bench_polyphonic PATH... (data set files, or a folder with JSB_Chorales.json and Nottingham.json) [options]");
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(names.iter().map(|n| path.join(format!("{n}.json"))));
        } else {
            files.push(path);
        }
    }
    Ok(Args {
        files,
        budget_minutes,
        config,
        seeds,
        threads,
        json,
        preset,
        lead_in,
        transpose,
        epochs,
        lr_decay,
        peak_lr,
    })
}

/// The model's settings in a table cell.
fn describe(used: &PolyBenchConfig) -> String {
    let batching = format!(
        "batch {}{}, lr {}",
        used.batch_size,
        if used.window_frames > 0 {
            format!(" windows of {}", used.window_frames)
        } else {
            String::new()
        },
        used.adam.lr
    );
    if let Some(p) = &used.pitch_model {
        return format!(
            "PitchLstm time {}×{}, pitch {}×{}, ±{} keys, chord {}, dropout {}, {batching}",
            p.time_layers,
            p.time_hidden,
            p.pitch_layers,
            p.pitch_hidden,
            p.window,
            p.chord_window,
            p.dropout
        );
    }
    let c = &used.model;
    format!(
        "FrameLstm {}×{}{}{}{}, dropout {}/{}, {batching}",
        c.num_layers,
        c.hidden_size,
        c.input_projection
            .map(|w| format!(", proj {w}"))
            .unwrap_or_default(),
        if c.skip_connection { ", skip" } else { "" },
        if c.pitch_autoregression {
            ", chords"
        } else {
            ""
        },
        c.input_dropout,
        c.dropout,
    )
}

/// The median of a non-empty list (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn dataset_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let mut base = args.config.clone();
    base.max_seconds = args.budget_minutes.map(|m| m * 60.0);
    println!(
        "polyphonic benchmark: {} threads; budget per run {}; {} seed(s) from {}; preset {}",
        tch::get_num_threads(),
        args.budget_minutes
            .map(|m| format!(
                "{m} {} min",
                if base.cpu_budget { "CPU" } else { "wall-clock" }
            ))
            .unwrap_or_else(|| "none".into()),
        args.seeds,
        base.seed,
        args.preset.as_deref().unwrap_or("none (options as given)")
    );
    let mut runs: Vec<serde_json::Value> = Vec::new();
    let mut table = Vec::new();
    for path in &args.files {
        let data = PolyDataset::load(path)?;
        let (bern, markov) = baseline_nlls(&data.train, &data.test);
        let mut config = match &args.preset {
            Some(p) => preset(p, &dataset_name(path), &base)?,
            None => base.clone(),
        };
        if let Some(lead_in) = args.lead_in {
            config.lead_in = lead_in;
        }
        if let Some(transpose) = args.transpose {
            config.transpose = transpose;
        }
        config.max_epochs = epoch_cap(args.epochs, config.transpose, config.max_epochs);
        if args.lr_decay.is_some() {
            config.lr_decay = args.lr_decay;
        }
        if let Some(lr) = args.peak_lr {
            config.adam.lr = lr;
        }
        println!("{}: {config:?}", data.name);
        let mut results: Vec<PolyBenchResult> = Vec::new();
        for seed in config.seed..config.seed + args.seeds {
            let config = PolyBenchConfig {
                seed,
                ..config.clone()
            };
            let result = run_benchmark(&data, &config, tch::Device::Cpu)?;
            println!(
                "{} seed {seed}: test NLL {:.3} ({:.3} with each piece's first frame scored; best valid {:.3} at epoch {} of {}, {:.0} s, {:.0} CPU s)",
                data.name,
                result.test_nll,
                result.test_nll_every_frame,
                result.best_valid_nll,
                result.best_epoch,
                result.epochs,
                result.seconds,
                result.cpu_seconds
            );
            runs.push(serde_json::json!({ "config": config, "result": result }));
            if let Some(path) = &args.json {
                // Written after every run, so a long job leaves its finished runs behind.
                let text = serde_json::to_string_pretty(&runs)?;
                std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            results.push(result);
        }
        table.push((data.name.clone(), config, results, bern, markov));
    }
    println!();
    println!("| dataset | model | seeds | test NLL median | best | test of best valid | valid (per seed) | RNN-NADE | BALSTM best / median | LSTM / TCN | Bernoulli / Markov floors | params | epochs (best) | CPU minutes | minutes |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, used, results, bern, markov) in &table {
        let tests: Vec<f64> = results.iter().map(|r| r.test_nll).collect();
        let best_valid = results
            .iter()
            .min_by(|a, b| a.best_valid_nll.total_cmp(&b.best_valid_nll));
        let list = |f: &dyn Fn(&PolyBenchResult) -> String| {
            results.iter().map(f).collect::<Vec<_>>().join(", ")
        };
        let known = published(name);
        println!(
            "| {name} | {} | {} | **{:.2}** | {:.2} | {:.2} | {} | {} | {} | {} | {bern:.2} / {markov:.2} | {} | {} | {} | {} |",
            describe(used),
            list(&|r| r.seed.to_string()),
            median(&tests),
            tests.iter().copied().fold(f64::INFINITY, f64::min),
            best_valid.map_or(f64::NAN, |r| r.test_nll),
            list(&|r| format!("{:.2}", r.best_valid_nll)),
            known
                .as_ref()
                .map_or("–".into(), |p| format!("{:.2}", p.rnn_nade)),
            known
                .as_ref()
                .map_or("–".into(), |p| format!("{:.2} / {:.2}", p.balstm.0, p.balstm.1)),
            known
                .as_ref()
                .and_then(|p| p.lstm_tcn)
                .map_or("–".into(), |(l, t)| format!("{l:.2} / {t:.2}")),
            results.first().map_or(0, |r| r.parameters),
            list(&|r| format!("{} ({})", r.epochs, r.best_epoch)),
            list(&|r| format!("{:.1}", r.cpu_seconds / 60.0)),
            list(&|r| format!("{:.1}", r.seconds / 60.0)),
        );
    }
    Ok(())
}
