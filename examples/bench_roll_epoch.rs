//! Epoch time of the piano-roll models on a polyphonic data set: the frame LSTM of
//! `bench_polyphonic --preset best` against the pitch-invariant biaxial LSTM of `--preset
//! balstm`, each trained through the common trainer's step on the data set's training batches.
//! The two alternate for `--rounds` rounds; each round times `--batches` batches of an epoch's
//! plan (0: the whole epoch) and the table gives CPU seconds per epoch (extrapolated from the
//! batches timed) and training frames per CPU second. The times are CPU seconds of the process
//! (one intra-op thread by default), so other processes' load on a shared machine changes them
//! little.
//! A second table splits the pitch model's step: the time axis, the pitch axis, and the backward
//! pass with the optimizer update.
//!
//!     cargo run --release --example bench_roll_epoch -- ../shared/data/bl2012/JSB_Chorales.json \
//!         [--rounds 2] [--batches 0] [--threads 1] [--pitch '{"time_hidden": 96}'] [--window 64]
//!         [--batch 8]
//!
//! The pitch model is that of `--preset balstm` on JSB (time axis 1×96, pitch axis 1×48, dropout
//! 0.3, the keys that sound in `train` ±2); `--pitch` overrides fields of its config (JSON);
//! `--window` and `--batch` its batching (the frame model keeps its preset's).

use anyhow::{Context, Result};
use tch::Device;
use tunesmith::bench::{split_batches, PolyDataset};
use tunesmith::data::Batches;
use tunesmith::model::{FrameLstm, FrameLstmConfig, Model, PitchLstm, PitchLstmConfig};
use tunesmith::train::clock::process_cpu_seconds;
use tunesmith::train::{seeded, AdamConfig, TrainConfig, Trainer};

/// CPU seconds of this process so far (0 where the system cannot tell).
fn cpu() -> f64 {
    process_cpu_seconds().unwrap_or(0.0)
}

struct Side {
    name: &'static str,
    trainer: Trainer,
    data: Box<dyn Batches>,
    best: f64,
    rounds: Vec<f64>,
}

/// Seconds to train `batches` batches of epoch `epoch`'s plan (all when 0), extrapolated to the
/// whole epoch, and the frames trained per second.
fn time_epoch(side: &mut Side, epoch: usize, batches: usize) -> Result<(f64, f64)> {
    let plan = side.data.epoch_plan(1, epoch);
    let n = if batches == 0 {
        plan.len()
    } else {
        batches.min(plan.len())
    };
    let (mut seconds, mut frames) = (0.0, 0.0);
    for keys in &plan[..n] {
        let batch = side.data.batch(keys, Device::Cpu);
        let start = cpu();
        side.trainer.train_step(&batch)?;
        seconds += cpu() - start;
        frames += batch.count;
    }
    Ok((seconds * plan.len() as f64 / n as f64, frames / seconds))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let (mut rounds, mut batches, mut threads) = (2usize, 0usize, 1i32);
    let (mut window, mut batch_size) = (64usize, 8usize);
    let mut overrides = serde_json::json!({});
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => rounds = value()?.parse()?,
            "--batches" => batches = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            "--window" => window = value()?.parse()?,
            "--batch" => batch_size = value()?.parse()?,
            "--pitch" => overrides = serde_json::from_str(&value()?).context("--pitch JSON")?,
            other => path = Some(other.to_string()),
        }
    }
    tch::set_num_threads(threads);
    let path = path.context("usage: bench_roll_epoch DATA.json [options]")?;
    let data = PolyDataset::load(&path)?;
    let pitch_train = split_batches(&data.train, window, batch_size)?;
    let balstm = PitchLstmConfig {
        key_range: pitch_train.key_range(2),
        ..PitchLstmConfig::piano(96, 1, 48, 1, 0.3)
    };
    let mut pitch_config = serde_json::to_value(balstm)?;
    if let (Some(base), Some(extra)) = (pitch_config.as_object_mut(), overrides.as_object()) {
        base.extend(extra.clone());
    }
    let pitch_config: PitchLstmConfig =
        serde_json::from_value(pitch_config).context("the pitch model's config")?;
    let frame_config = FrameLstmConfig {
        input_dropout: 0.2,
        skip_connection: true,
        pitch_autoregression: true,
        ..FrameLstmConfig::piano(512, 1, 0.5)
    };
    let train = |lr: f64| TrainConfig {
        adam: AdamConfig {
            lr,
            ..AdamConfig::default()
        },
        clip_norm: 5.0,
        verbose: false,
        ..TrainConfig::default()
    };
    let frame = seeded(1, || FrameLstm::new(frame_config, Device::Cpu))?;
    let pitch = seeded(1, || PitchLstm::new(pitch_config, Device::Cpu))?;
    println!("{}\n{}", frame.summary(), pitch.summary());
    let mut sides = [
        Side {
            name: "FrameLstm (--preset best, JSB settings: whole pieces, batch 8)",
            trainer: Trainer::new(frame, train(3e-3)),
            data: Box::new(split_batches(&data.train, 0, 8)?),
            best: f64::INFINITY,
            rounds: Vec::new(),
        },
        Side {
            name: "PitchLstm (--preset balstm, JSB settings: windows of 64, batch 8)",
            trainer: Trainer::new(pitch, train(3e-3)),
            data: Box::new(pitch_train),
            best: f64::INFINITY,
            rounds: Vec::new(),
        },
    ];
    let mut rates = [0.0f64; 2];
    for round in 0..rounds {
        for (i, side) in sides.iter_mut().enumerate() {
            let (seconds, rate) = time_epoch(side, round, batches)?;
            println!(
                "round {}: {} {seconds:.1} CPU s per epoch, {rate:.0} frames per CPU s",
                round + 1,
                side.name
            );
            side.rounds.push(seconds);
            if seconds < side.best {
                side.best = seconds;
                rates[i] = rate;
            }
        }
    }
    println!(
        "\n{}: {} training frames, threads {threads}, batches timed per round {}\n",
        data.name,
        data.frame_counts().0,
        if batches == 0 {
            "all".to_string()
        } else {
            batches.to_string()
        }
    );
    println!(
        "| model | parameters | CPU s/epoch, rounds | best CPU s/epoch | frames per CPU s (best) |"
    );
    println!("|---|---|---|---|---|");
    for (side, rate) in sides.iter().zip(rates) {
        let all: Vec<String> = side.rounds.iter().map(|s| format!("{s:.1}")).collect();
        println!(
            "| {} | {} | {} | {:.1} | {rate:.0} |",
            side.name,
            side.trainer.model().parameter_count(),
            all.join(" "),
            side.best
        );
    }
    println!(
        "\nPitchLstm / FrameLstm epoch CPU time (best rounds): {:.1}×",
        sides[1].best / sides[0].best
    );
    split_pitch_step(&sides[1])?;
    Ok(())
}

/// Where the pitch model's training step goes, over a few batches.
fn split_pitch_step(side: &Side) -> Result<()> {
    let model = side.trainer.model_as::<PitchLstm>()?;
    let plan = side.data.epoch_plan(1, 0);
    let (mut time_axis, mut pitch_axis, mut backward) = (0.0, 0.0, 0.0);
    let (mut slots, mut frames) = (0.0, 0.0);
    for keys in plan.iter().take(5) {
        let batch = side.data.batch(keys, Device::Cpu);
        let size = batch.inputs.size();
        slots += (size[0] * size[1]) as f64;
        frames += batch.count;
        let start = cpu();
        let (time_out, _) = model.time_axis(&batch.inputs, 0, None, true);
        let t1 = cpu();
        let logits = model.pitch_axis(&time_out, &batch.targets.clamp_min(0.0), true);
        let t2 = cpu();
        logits.sum(tch::Kind::Float).backward();
        let t3 = cpu();
        time_axis += t1 - start;
        pitch_axis += t2 - t1;
        backward += t3 - t2;
    }
    let total = time_axis + pitch_axis + backward;
    // Multiply-adds of one frame slot (padded or not) in each axis's LSTM and the head.
    let c = &model.config;
    let (_, keys) = c.modelled_keys();
    let time_macs = keys * 4 * c.time_hidden * (c.time_features() + c.time_hidden);
    let pitch_macs = keys
        * (4 * c.pitch_hidden * (c.time_hidden + c.chord_window + c.pitch_hidden) + c.pitch_hidden);
    let gflops = |macs: i64, seconds: f64| 2.0 * macs as f64 * slots / seconds / 1e9;
    println!(
        "
PitchLstm forward, 5 batches: {frames:.0} real frames in {slots:.0} frame slots \
         ({:.0}% padding); {:.1} MFLOP per slot in the time axis ({:.0} GFLOP/s), {:.1} in the \
         pitch axis ({:.0} GFLOP/s)",
        100.0 * (1.0 - frames / slots),
        2.0 * time_macs as f64 / 1e6,
        gflops(time_macs, time_axis),
        2.0 * pitch_macs as f64 / 1e6,
        gflops(pitch_macs, pitch_axis),
    );
    println!("\n| PitchLstm step part (5 batches) | CPU seconds | share |\n|---|---|---|");
    for (name, s) in [
        ("time axis forward", time_axis),
        ("pitch axis forward", pitch_axis),
        ("backward (both axes)", backward),
    ] {
        println!("| {name} | {s:.2} | {:.0}% |", 100.0 * s / total);
    }
    Ok(())
}
