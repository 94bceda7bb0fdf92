//! Training speed of the notebook-01 LSTM in tunesmith against the same model in PyTorch from
//! Python, measured in one run on one machine. The two sides alternate for `ROUNDS` rounds (so a
//! change of load on a shared machine hits both), each round timing `STEPS` steps after 3
//! warm-up steps; the table shows every round and the ratio of the best of each side. A second
//! table splits tunesmith's step into forward + backward, gradient clipping and the Adam update.
//!
//! Usage: `cargo run --release --example bench_train -- [cpu|cuda] [STEPS] [HIDDEN] [BATCH] [SEQ]
//! [ROUNDS] [THREADS]` (defaults: cpu 30 256 32 100 2, threads as libtorch chooses; the Python
//! side runs `scripts/bench_train_torch.py` with `$PYTHON`, default `python3`, and the same
//! thread count).

use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Instant;
use tch::{Device, Kind, Tensor};
use tunesmith::data::Batch;
use tunesmith::model::{LstmConfig, LstmLm};
use tunesmith::train::{AdamConfig, TrainConfig, Trainer};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let device_name = arg(0, "cpu");
    let steps: usize = arg(1, "30").parse().context("STEPS")?;
    let hidden: i64 = arg(2, "256").parse().context("HIDDEN")?;
    let batch: i64 = arg(3, "32").parse().context("BATCH")?;
    let seq: i64 = arg(4, "100").parse().context("SEQ")?;
    let rounds: usize = arg(5, "2").parse().context("ROUNDS")?;
    if let Some(threads) = args.get(6) {
        tch::set_num_threads(threads.parse().context("THREADS")?);
    }
    let threads = tch::get_num_threads();
    let device = match device_name.as_str() {
        "cpu" => Device::Cpu,
        "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
        "cuda" => bail!("CUDA was asked for but libtorch sees no CUDA device"),
        other => bail!("unknown device {other:?} (cpu or cuda)"),
    };
    let vocab = 83;
    tch::manual_seed(0);
    let config = LstmConfig {
        embed_dim: 48,
        dropout: 0.1,
        ..LstmConfig::two_layer(vocab as usize, hidden)
    };
    let model = LstmLm::new(config, device)?;
    let train = TrainConfig {
        adam: AdamConfig {
            lr: 2e-3,
            ..AdamConfig::default()
        },
        clip_norm: 1.0,
        verbose: false,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model, train);
    let data = Batch {
        inputs: Tensor::randint(vocab, [batch, seq], (Kind::Int64, device)),
        targets: Tensor::randint(vocab, [batch, seq], (Kind::Int64, device)),
        count: (batch * seq) as f64,
        carry: false,
    };
    let sync = || {
        if let Device::Cuda(_) = device {
            tch::Cuda::synchronize(0);
        }
    };
    for _ in 0..3 {
        trainer.train_step(&data)?;
    }
    sync();

    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_train_torch.py");
    let tokens = (batch * seq) as f64;
    let mut rows = Vec::new();
    let (mut ours_best, mut theirs_best) = (f64::INFINITY, f64::INFINITY);
    let mut torch_version = String::from("?");
    for round in 1..=rounds {
        let start = Instant::now();
        for _ in 0..steps {
            trainer.train_step(&data)?;
        }
        sync();
        let ours = start.elapsed().as_secs_f64() / steps as f64;
        ours_best = ours_best.min(ours);
        rows.push(format!(
            "| tunesmith {} (tch 0.26) | {round} | {ours:.4} | {:.0} |",
            env!("CARGO_PKG_VERSION"),
            tokens / ours
        ));

        let out = Command::new(&python)
            .arg(script)
            .args(["--device", &device_name, "--steps", &steps.to_string()])
            .args([
                "--hidden",
                &hidden.to_string(),
                "--batch",
                &batch.to_string(),
            ])
            .args(["--seq", &seq.to_string(), "--threads", &threads.to_string()])
            .output()
            .with_context(|| format!("running {python} {script}"))?;
        if !out.status.success() {
            bail!(
                "the PyTorch benchmark failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let theirs: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("PyTorch benchmark output")?;
        let theirs_step = theirs["step_seconds"].as_f64().context("step_seconds")?;
        theirs_best = theirs_best.min(theirs_step);
        torch_version = theirs["torch"].as_str().unwrap_or("?").to_string();
        rows.push(format!(
            "| PyTorch {torch_version} from Python | {round} | {theirs_step:.4} | {:.0} |",
            tokens / theirs_step
        ));
    }
    println!(
        "training speed, LSTM 2x{hidden} (embed 48, vocab {vocab}), batch {batch} x {seq}, \
         {steps} steps per round after 3 warm-up, {device:?}, {threads} threads, PyTorch {torch_version}"
    );
    println!("| implementation | round | s/step | tokens/s |");
    println!("|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    println!(
        "ratio tunesmith / PyTorch tokens per second (best round of each): {:.3}",
        theirs_best / ours_best
    );

    // Where tunesmith's step goes.
    let (mut fb, mut clip, mut adam) = (0.0, 0.0, 0.0);
    for _ in 0..steps {
        let t = Instant::now();
        trainer.optimizer.zero_grad();
        let loss = trainer.model().loss(&data, true);
        loss.backward();
        let _ = loss.double_value(&[]);
        sync();
        fb += t.elapsed().as_secs_f64();
        let t = Instant::now();
        trainer.optimizer.clip_grad_norm(1.0);
        sync();
        clip += t.elapsed().as_secs_f64();
        let t = Instant::now();
        trainer.optimizer.step();
        sync();
        adam += t.elapsed().as_secs_f64();
    }
    let total = fb + clip + adam;
    println!("\ntunesmith step breakdown ({steps} steps)");
    println!("| part | s/step | share |");
    println!("|---|---|---|");
    for (name, s) in [
        ("forward + backward (libtorch LSTM)", fb),
        ("gradient clipping", clip),
        ("Adam update (tunesmith::train::Adam)", adam),
    ] {
        println!(
            "| {name} | {:.4} | {:.1}% |",
            s / steps as f64,
            100.0 * s / total
        );
    }
    Ok(())
}
