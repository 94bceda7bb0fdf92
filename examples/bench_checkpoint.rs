//! Checkpoint save and load time and size for notebook 01's model (embedding 48, LSTM 2×256,
//! vocabulary 90), with its Adam state after a few steps.
//!
//! `cargo run --example bench_checkpoint -- [DIR] [REPEATS]` (DIR defaults to a temporary folder
//! on the local disk; point it at a mounted drive to measure that).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tch::Device;
use tunesmith::checkpoint::save::SaveHooks;
use tunesmith::checkpoint::snapshot::{save_trainer, Checkpoint};
use tunesmith::data::{Batches, SequenceBatches};
use tunesmith::encode::{CharVocab, Encoding};
use tunesmith::model::{LstmConfig, LstmLm};
use tunesmith::train::{DataInfo, TrainConfig, Trainer};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let tmp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().into());
    let repeats: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);

    let text: String = (0..90u8).map(|i| char::from(b' ' + i % 95)).collect();
    let vocab = CharVocab::from_texts([text.as_str()]);
    let ids: Vec<i64> = (0..40_000).map(|i| (i * 7 % 90) as i64).collect();
    let train = SequenceBatches::new(ids, 100, 32)?;
    tch::manual_seed(0);
    let config = LstmConfig {
        vocab_size: vocab.len() as i64,
        embed_dim: 48,
        hidden_size: 256,
        num_layers: 2,
        dropout: 0.1,
    };
    let mut trainer = Trainer::new(
        LstmLm::new(config, Device::Cpu)?,
        TrainConfig {
            verbose: false,
            ..TrainConfig::default()
        },
    );
    let plan = train.epoch_plan(0, 0);
    for keys in &plan[..3] {
        let batch = train.batch(keys, Device::Cpu);
        trainer.train_step(&batch)?;
    }
    trainer.progress.batch = 3;
    let data = DataInfo {
        items: train.items(),
        fingerprint: train.fingerprint(),
        batches_per_epoch: train.batches_per_epoch(),
        settings: train.settings(),
    };
    let encoding = Encoding::from(vocab);
    println!(
        "model: {} parameters; saving {repeats} times into {}",
        trainer.model().parameter_count(),
        dir.display()
    );

    let (mut save_s, mut load_s) = (Vec::new(), Vec::new());
    let mut path = PathBuf::new();
    for i in 0..repeats {
        trainer.step = 1000 + i as u64; // a new name each time
        let t = Instant::now();
        path = save_trainer(&dir, &trainer, &data, &encoding, &SaveHooks::default())?;
        save_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        Checkpoint::load(&path)?;
        load_s.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut total = 0u64;
    for entry in std::fs::read_dir(&path).context("checkpoint folder")? {
        let entry = entry?;
        let bytes = entry.metadata()?.len();
        total += bytes;
        println!(
            "  {:<24} {:>10} bytes",
            entry.file_name().to_string_lossy(),
            bytes
        );
    }
    println!(
        "  {:<24} {:>10} bytes ({:.2} MB)",
        "total",
        total,
        total as f64 / 1e6
    );
    println!(
        "save (write, fsync, rename): median {:.1} ms, min {:.1} ms; load and verify: median {:.1} ms, min {:.1} ms",
        median(&mut save_s) * 1e3,
        save_s[0] * 1e3,
        median(&mut load_s) * 1e3,
        load_s[0] * 1e3
    );
    Ok(())
}
