//! Checkpoint save and load time and size for each model kind at the tutorials' sizes (and the
//! seed's own window model), each with its Adam state after a few steps:
//!
//! - `lstm_lm` on characters: notebook 01's model (embedding 48, LSTM 2×256, vocabulary 90);
//! - `window_lstm`: notebook 03's size (1×128, attention, windows of 32) and the seed's (2×256,
//!   attention, windows of 100), over a vocabulary of about 300 ids (an event layout of that size
//!   stands in for a notes-and-chords vocabulary: the checkpoint holds one or the other);
//! - `frame_lstm` on piano rolls: notebook 02's (1×128, skip path, pitch autoregression) and the
//!   benchmark's JSB model (1×512, the same).
//!
//! `cargo run --release --example bench_checkpoint -- [DIR] [REPEATS]` (DIR defaults to a
//! temporary folder on the local disk; point it at a mounted drive to measure that).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;
use tunesmith::checkpoint::save::SaveHooks;
use tunesmith::checkpoint::snapshot::{save_trainer, Checkpoint};
use tunesmith::data::{Batches, RollBatches, SequenceBatches, WindowBatches};
use tunesmith::encode::{
    CharVocab, Encoding, EventConfig, EventVocab, PianoRollConfig, TokenEncoding,
};
use tunesmith::model::{
    FrameLstm, FrameLstmConfig, LstmConfig, LstmLm, Model, WindowConfig, WindowLstm,
};
use tunesmith::train::{DataInfo, TrainConfig, Trainer};

/// One kind to measure: its name, model, encoding and some batches to take a few steps on.
struct Case {
    name: &'static str,
    model: Box<dyn Model>,
    encoding: Encoding,
    batches: Box<dyn Batches>,
}

/// Token ids cycling through a vocabulary.
fn ids(n: usize, vocab: usize) -> Vec<i64> {
    (0..n).map(|i| (i * 7 % vocab) as i64).collect()
}

fn cases() -> Result<Vec<Case>> {
    let text: String = (0..90u8).map(|i| char::from(b' ' + i % 95)).collect();
    let chars = CharVocab::from_texts([text.as_str()]);
    // A fixed-layout encoding with about the vocabulary of the window models stands in for a
    // notes-and-chords vocabulary of the same size (the checkpoint holds one or the other).
    let events = |bins: u8| {
        EventVocab::new(EventConfig {
            velocity_bins: bins,
            ..EventConfig::default()
        })
    };
    // The window models, with attention, over such a vocabulary.
    let window_case = |name, notes: EventVocab, window, hidden, layers| -> Result<Case> {
        let vocab = notes.vocab_size();
        let config = WindowConfig {
            vocab_size: vocab as i64,
            window,
            embed_dim: 64,
            hidden_size: hidden,
            num_layers: layers,
            dropout: 0.2,
            attention: true,
        };
        Ok(Case {
            name,
            model: Box::new(WindowLstm::new(config, Device::Cpu)?),
            batches: Box::new(WindowBatches::new(ids(5_000, vocab), window, 64)?),
            encoding: notes.into(),
        })
    };
    // The piano-roll models: one layer of `hidden`, skip path, pitch autoregression.
    let roll_frames: Vec<Vec<Vec<u8>>> = (0..48)
        .map(|p| (0..256).map(|t| vec![48 + ((t + p) % 24) as u8]).collect())
        .collect();
    let frame_case = |name, hidden, batch_size| -> Result<Case> {
        let config = FrameLstmConfig {
            input_dropout: 0.1,
            skip_connection: true,
            pitch_autoregression: true,
            ..FrameLstmConfig::piano(hidden, 1, 0.2)
        };
        Ok(Case {
            name,
            model: Box::new(FrameLstm::new(config, Device::Cpu)?),
            batches: Box::new(RollBatches::from_frames(
                roll_frames.clone(),
                21,
                88,
                64,
                batch_size,
            )?),
            encoding: PianoRollConfig::default().into(),
        })
    };
    Ok(vec![
        Case {
            name: "lstm_lm, characters (notebook 01)",
            model: Box::new(LstmLm::new(
                LstmConfig {
                    vocab_size: chars.len() as i64,
                    embed_dim: 48,
                    hidden_size: 256,
                    num_layers: 2,
                    dropout: 0.1,
                },
                Device::Cpu,
            )?),
            batches: Box::new(SequenceBatches::new(ids(40_000, chars.len()), 100, 32)?),
            encoding: chars.into(),
        },
        // 256 + 48 + 14 = 318 ids
        window_case("window_lstm, notes (notebook 03)", events(14), 32, 128, 1)?,
        // 304 ids
        window_case(
            "window_lstm, notes (the seed's 2×256)",
            events(0),
            100,
            256,
            2,
        )?,
        frame_case("frame_lstm, piano roll (notebook 02)", 128, 32)?,
        frame_case("frame_lstm, piano roll (JSB benchmark)", 512, 8)?,
    ])
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn folder_bytes(path: &Path) -> Result<(u64, u64)> {
    let (mut total, mut meta) = (0, 0);
    for entry in std::fs::read_dir(path).context("checkpoint folder")? {
        let entry = entry?;
        let bytes = entry.metadata()?.len();
        total += bytes;
        if entry.file_name() == "meta.json" {
            meta = bytes;
        }
    }
    Ok((total, meta))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let tmp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().into());
    let repeats: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    println!("saving each model {repeats} times into {}", dir.display());
    println!(
        "| model | parameters | checkpoint (MB) | meta.json (KB) | save median (ms) | load median (ms) |"
    );
    println!("|---|---|---|---|---|---|");
    for case in cases()? {
        tch::manual_seed(0);
        let mut trainer = Trainer::from_boxed(
            case.model,
            TrainConfig {
                verbose: false,
                ..TrainConfig::default()
            },
        );
        let plan = case.batches.epoch_plan(0, 0);
        for keys in plan.iter().take(3) {
            let batch = case.batches.batch(keys, Device::Cpu);
            trainer.train_step(&batch)?;
        }
        trainer.progress.batch = 3;
        let data = DataInfo {
            items: case.batches.items(),
            fingerprint: case.batches.fingerprint(),
            batches_per_epoch: case.batches.batches_per_epoch(),
            settings: case.batches.settings(),
        };
        let run_dir = dir.join(case.name.split(',').next().unwrap_or("run"));
        let (mut save_s, mut load_s) = (Vec::new(), Vec::new());
        let mut path = PathBuf::new();
        for i in 0..repeats {
            trainer.step = 1000 + i as u64; // a new name each time
            let t = Instant::now();
            path = save_trainer(
                &run_dir,
                &trainer,
                &data,
                &case.encoding,
                &SaveHooks::default(),
            )?;
            save_s.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            Checkpoint::load(&path)?;
            load_s.push(t.elapsed().as_secs_f64());
        }
        let (total, meta) = folder_bytes(&path)?;
        println!(
            "| {} | {} | {:.2} | {:.1} | {:.1} | {:.1} |",
            case.name,
            trainer.model().parameter_count(),
            total as f64 / 1e6,
            meta as f64 / 1e3,
            median(&mut save_s) * 1e3,
            median(&mut load_s) * 1e3
        );
        std::fs::remove_dir_all(&run_dir)?;
    }
    Ok(())
}
