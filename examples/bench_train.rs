//! Training speed of the notebook-01 LSTM in tunesmith against the same model in PyTorch from
//! Python, measured in one run on one machine. Prints a table with the ratio.
//!
//! Usage: `cargo run --release --example bench_train -- [cpu|cuda] [steps] [hidden] [batch] [seq]`
//! (defaults: cpu 30 256 32 100; the Python side runs `scripts/bench_train_torch.py` with
//! `$PYTHON`, default `python3`).

use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use tunesmith::model::{LstmConfig, LstmLm};
use tunesmith::train::{AdamConfig, TrainConfig, Trainer};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let device_name = arg(0, "cpu");
    let steps: usize = arg(1, "30").parse().context("steps")?;
    let hidden: i64 = arg(2, "256").parse().context("hidden")?;
    let batch: i64 = arg(3, "32").parse().context("batch")?;
    let seq: i64 = arg(4, "100").parse().context("seq")?;
    let device = match device_name.as_str() {
        "cpu" => Device::Cpu,
        "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
        "cuda" => bail!("CUDA was asked for but libtorch sees no CUDA device"),
        other => bail!("unknown device {other:?} (cpu or cuda)"),
    };
    let vocab = 83;
    tch::manual_seed(0);
    let config = LstmConfig { embed_dim: 48, dropout: 0.1, ..LstmConfig::two_layer(vocab as usize, hidden) };
    let model = LstmLm::new(config, device)?;
    let train = TrainConfig { adam: AdamConfig { lr: 2e-3, ..AdamConfig::default() }, clip_norm: 1.0, verbose: false, ..TrainConfig::default() };
    let mut trainer = Trainer::new(model, train);
    let x = Tensor::randint(vocab, [batch, seq], (Kind::Int64, device));
    let y = Tensor::randint(vocab, [batch, seq], (Kind::Int64, device));
    for _ in 0..3 {
        trainer.train_step(&x, &y);
    }
    if let Device::Cuda(_) = device {
        tch::Cuda::synchronize(0);
    }
    let start = Instant::now();
    for _ in 0..steps {
        trainer.train_step(&x, &y);
    }
    if let Device::Cuda(_) = device {
        tch::Cuda::synchronize(0);
    }
    let ours = start.elapsed().as_secs_f64() / steps as f64;

    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_train_torch.py");
    let out = Command::new(&python)
        .args([script, "--device", &device_name, "--steps", &steps.to_string(), "--hidden", &hidden.to_string()])
        .args(["--batch", &batch.to_string(), "--seq", &seq.to_string()])
        .output()
        .with_context(|| format!("running {python} {script}"))?;
    if !out.status.success() {
        bail!("the PyTorch benchmark failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).context("PyTorch benchmark output")?;
    let theirs_step = theirs["step_seconds"].as_f64().context("step_seconds")?;
    let tokens = (batch * seq) as f64;
    println!("training speed, LSTM 2x{hidden} (embed 48, vocab {vocab}), batch {batch} x {seq}, {steps} steps after 3 warm-up, {device:?}, {} threads", tch::get_num_threads());
    println!("| implementation | s/step | tokens/s |");
    println!("|---|---|---|");
    println!("| tunesmith (tch {}) | {ours:.4} | {:.0} |", env!("CARGO_PKG_VERSION"), tokens / ours);
    println!("| PyTorch {} from Python | {theirs_step:.4} | {:.0} |", theirs["torch"].as_str().unwrap_or("?"), tokens / theirs_step);
    println!("ratio tunesmith / PyTorch tokens per second: {:.3}", theirs_step / ours);
    Ok(())
}
