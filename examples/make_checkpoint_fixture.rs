//! Writes the compatibility fixture `tests/fixtures/checkpoint-v<FORMAT_VERSION>/`: a tiny model
//! trained for a few epochs, checkpointed, and the greedy sample it gives. Each format version keeps
//! its fixture forever; `tests/checkpoint_fixture.rs` loads every one.
//!
//! `cargo run --example make_checkpoint_fixture`

use anyhow::Result;
use std::path::PathBuf;
use tch::Device;
use tunesmith::checkpoint::save::SaveHooks;
use tunesmith::checkpoint::snapshot::save_trainer;
use tunesmith::checkpoint::FORMAT_VERSION;
use tunesmith::data::SequenceBatches;
use tunesmith::encode::CharVocab;
use tunesmith::generate::{sample_text, SampleConfig};
use tunesmith::model::{LstmConfig, LstmLm};
use tunesmith::train::{DataInfo, TrainConfig, Trainer};

/// The sampling settings the fixture's `expected-sample.txt` was made with.
pub fn fixture_sampling() -> SampleConfig {
    SampleConfig {
        top_k: 1,
        max_len: 60,
        ..SampleConfig::default()
    }
}

fn main() -> Result<()> {
    let text = "M:4/4\nL:1/8\nK:G\nGABc dedB|\n\nM:6/8\nL:1/8\nK:D\nFAd fed|\n\n".repeat(20);
    let vocab = CharVocab::from_texts([text.as_str()]);
    let ids = vocab.encode(&text)?;
    let train = SequenceBatches::new(ids.clone(), 16, 4)?;
    let valid = SequenceBatches::new(ids, 16, 4)?;
    tch::manual_seed(1);
    let config = LstmConfig {
        vocab_size: vocab.len() as i64,
        embed_dim: 4,
        hidden_size: 8,
        num_layers: 1,
        dropout: 0.0,
    };
    let model = LstmLm::new(config, Device::Cpu)?;
    let mut trainer = Trainer::new(
        model,
        TrainConfig {
            epochs: 8,
            adam: tunesmith::train::AdamConfig {
                lr: 2e-2,
                ..Default::default()
            },
            batch_size: 4,
            seq_len: 16,
            verbose: false,
            ..TrainConfig::default()
        },
    );
    trainer.fit(&train, &valid)?;
    let dir = PathBuf::from(format!("tests/fixtures/checkpoint-v{FORMAT_VERSION}"));
    let data = DataInfo {
        tokens: train.len(),
        fingerprint: train.fingerprint(),
        batches_per_epoch: train.batches_per_epoch(),
    };
    let path = save_trainer(&dir, &trainer, &data, &vocab, &SaveHooks::default())?;
    let sample = sample_text(&trainer.model, &vocab, &fixture_sampling())?;
    std::fs::write(dir.join("expected-sample.txt"), &sample)?;
    println!(
        "wrote {} and its expected sample {sample:?}",
        path.display()
    );
    Ok(())
}
