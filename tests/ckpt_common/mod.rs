//! Helpers shared by the checkpoint tests: a tiny synthetic ABC corpus, a tiny model and trainer,
//! and a lock that keeps in-process training tests from sharing libtorch's global RNG at once.
#![allow(dead_code)]

use anyhow::Result;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tch::Device;
use tunesmith::checkpoint::{CheckpointConfig, Checkpointer};
use tunesmith::data::SequenceBatches;
use tunesmith::encode::CharVocab;
use tunesmith::model::{LstmConfig, LstmLm};
use tunesmith::train::{AdamConfig, History, TrainConfig, Trainer};

static TORCH_RNG: Mutex<()> = Mutex::new(());

/// Holds libtorch's global RNG for one test (dropout and initialisation draw from it). Tiny
/// models train fastest on one thread, and do not slow down when other work shares the cores.
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    guard
}

/// `n` small tunes in ABC, the same every time.
pub fn tiny_tunes(n: usize) -> String {
    let notes = b"CDEFGABcdefg";
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut text = String::new();
    for x in 1..=n {
        text.push_str(&format!("X:{x}\nT:Tune {x}\nM:4/4\nL:1/8\nK:C\n"));
        for _ in 0..6 {
            for _ in 0..4 {
                text.push(notes[next() % notes.len()] as char);
            }
            text.push('|');
        }
        text.push_str("]\n\n");
    }
    text
}

/// Writes the tiny corpus as `dir/tunes/tiny.abc`.
pub fn write_tiny_corpus(dir: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir.join("tunes"))?;
    std::fs::write(dir.join("tunes/tiny.abc"), tiny_tunes(n))?;
    Ok(())
}

/// Vocabulary and batches for in-process tests.
pub struct Tiny {
    pub vocab: CharVocab,
    pub train: SequenceBatches,
    pub valid: SequenceBatches,
}

pub fn tiny_data() -> Result<Tiny> {
    let text = tiny_tunes(30);
    let vocab = CharVocab::from_texts([text.as_str()]);
    let ids = vocab.encode(&text)?;
    let cut = ids.len() * 4 / 5;
    Ok(Tiny {
        train: SequenceBatches::new(ids[..cut].to_vec(), 16, 4)?,
        valid: SequenceBatches::new(ids[cut..].to_vec(), 16, 4)?,
        vocab,
    })
}

pub fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 4,
        seq_len: 16,
        adam: AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        },
        seed: 11,
        verbose: false,
        ..TrainConfig::default()
    }
}

/// A fresh trainer with a tiny model (dropout on, so the RNG state matters).
pub fn tiny_trainer(vocab: &CharVocab, epochs: usize) -> Result<Trainer> {
    tch::manual_seed(11);
    let model = LstmLm::new(
        LstmConfig {
            dropout: 0.2,
            ..LstmConfig::debug(vocab.len())
        },
        Device::Cpu,
    )?;
    Ok(Trainer::new(model, train_config(epochs)))
}

/// Checkpoints into `dir/run` every `every_steps` steps, quietly.
pub fn checkpointer(dir: &Path, vocab: &CharVocab, every_steps: Option<u64>) -> Checkpointer {
    Checkpointer::new(
        CheckpointConfig {
            every_steps,
            keep_last: 0,
            handle_signals: false,
            verbose: false,
            ..CheckpointConfig::new(dir, "run")
        },
        vocab.clone(),
    )
}

/// True when every parameter is equal bit for bit.
pub fn same_weights(a: &LstmLm, b: &LstmLm) -> bool {
    let (a, b) = (a.named_parameters(), b.named_parameters());
    a.len() == b.len()
        && a.iter().zip(&b).all(|((na, ta), (nb, tb))| {
            na == nb && {
                let va = Vec::<f32>::try_from(&ta.flatten(0, -1)).unwrap_or_default();
                let vb = Vec::<f32>::try_from(&tb.flatten(0, -1)).unwrap_or_default();
                va.len() == vb.len() && va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits())
            }
        })
}

/// The parts of a history that do not depend on timing.
pub fn losses(history: &History) -> Vec<(usize, u64, u64, u64)> {
    history
        .records
        .iter()
        .map(|r| {
            (
                r.epoch,
                r.train_loss.to_bits(),
                r.valid_loss.to_bits(),
                r.fraction.to_bits(),
            )
        })
        .collect()
}
