//! Headless training runs: one JSON config names the corpus, the slice of it to train on, the
//! model, the training settings and the checkpoint folder. The `tunesmith` binary runs it (for long
//! runs under `nohup`); it writes the same checkpoints a notebook resumes from, and running it
//! again continues the run.
//!
//! ```json
//! { "corpus": "default",                      // or {"folder": "my_tunes"}
//!   "train_tunes": 1500, "valid_tunes": 300,
//!   "model": {"embed_dim": 48, "hidden_size": 256, "num_layers": 2, "dropout": 0.1},
//!   "train": {"epochs": 20, "batch_size": 32, "seq_len": 100, "seed": 42},
//!   "checkpoint": {"dir": "/mnt/drive/tunes", "run": "abc-lstm", "every_minutes": 10,
//!                  "sample_every_epochs": 2} }
//! ```
//! Relative paths are taken from the config file's folder.

use crate::abc::{CleanOptions, CleanTune};
use crate::checkpoint::save::SaveHooks;
use crate::checkpoint::{CheckpointConfig, Checkpointer};
use crate::corpus::{load_abc_dirs, load_default_abc_corpus};
use crate::data::{split_train_valid, SequenceBatches};
use crate::encode::CharVocab;
use crate::model::{LstmConfig, LstmLm};
use crate::train::{StopReason, TrainConfig, Trainer};
use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Device;

/// Where the tunes come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorpusSpec {
    /// The ABC collections inside the music21 package.
    Default,
    /// Every `.abc` file under a folder.
    Folder(PathBuf),
}

/// The model's sizes (the vocabulary size comes from the corpus).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSpec {
    /// Embedding width.
    pub embed_dim: i64,
    /// LSTM width.
    pub hidden_size: i64,
    /// LSTM layers.
    pub num_layers: i64,
    /// Dropout.
    pub dropout: f64,
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            embed_dim: 48,
            hidden_size: 256,
            num_layers: 2,
            dropout: 0.1,
        }
    }
}

/// A whole training run, as read from a JSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The corpus.
    pub corpus: CorpusSpec,
    /// How tunes are cleaned.
    pub clean: CleanOptions,
    /// Share of tunes held out for validation.
    pub valid_fraction: f64,
    /// Seed of the train/validation split.
    pub split_seed: u64,
    /// Train on at most this many tunes.
    pub train_tunes: Option<usize>,
    /// Validate on at most this many tunes.
    pub valid_tunes: Option<usize>,
    /// Model sizes.
    pub model: ModelSpec,
    /// Training settings.
    pub train: TrainConfig,
    /// Checkpoint folder, run name, frequency, retention and samples.
    pub checkpoint: CheckpointConfig,
    /// CPU threads for libtorch (its default when absent).
    pub threads: Option<i32>,
    /// `cpu`, or `auto` for CUDA when present.
    pub device: String,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            corpus: CorpusSpec::Default,
            clean: CleanOptions::default(),
            valid_fraction: 0.1,
            split_seed: 42,
            train_tunes: None,
            valid_tunes: None,
            model: ModelSpec::default(),
            train: TrainConfig::default(),
            checkpoint: CheckpointConfig::default(),
            threads: None,
            device: "auto".into(),
        }
    }
}

impl RunConfig {
    /// Reads a config file; relative paths in it are resolved against its folder.
    pub fn load(path: &Path) -> Result<RunConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config: RunConfig = serde_json::from_str(&text)
            .with_context(|| format!("bad config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let CorpusSpec::Folder(dir) = &mut config.corpus {
            *dir = base.join(&*dir);
        }
        config.checkpoint.dir = base.join(&config.checkpoint.dir);
        Ok(config)
    }

    fn device(&self) -> Result<Device> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            "auto" => Ok(crate::device::best_device()),
            other => anyhow::bail!("unknown device {other:?} (use \"cpu\" or \"auto\")"),
        }
    }
}

/// Encodes tunes as one stream of ids, each tune followed by a newline (so tunes are separated by
/// a blank line, the end-of-tune marker the sampler stops at).
pub fn encode_tunes(vocab: &CharVocab, tunes: &[CleanTune]) -> Result<Vec<i64>> {
    let newline = vocab.encode("\n")?;
    let mut ids = Vec::new();
    for tune in tunes {
        ids.extend(
            vocab
                .encode(&tune.text)
                .with_context(|| tune.label.clone())?,
        );
        ids.extend(&newline);
    }
    Ok(ids)
}

/// The data of a run: vocabulary and batches, built the same way every time from the config.
#[derive(Debug)]
pub struct RunData {
    /// Vocabulary of the whole corpus.
    pub vocab: CharVocab,
    /// Training batches.
    pub train: SequenceBatches,
    /// Validation batches.
    pub valid: SequenceBatches,
}

/// Loads the corpus, builds the vocabulary and cuts the configured slices into batches.
pub fn prepare_data(config: &RunConfig) -> Result<RunData> {
    let corpus = match &config.corpus {
        CorpusSpec::Default => load_default_abc_corpus(&config.clean)?,
        CorpusSpec::Folder(dir) => load_abc_dirs(std::slice::from_ref(dir), &config.clean)?,
    };
    ensure!(
        corpus.tunes.len() >= 2,
        "the corpus has {} usable tunes; at least 2 are needed ({} skipped)",
        corpus.tunes.len(),
        corpus.report.skipped.len()
    );
    let vocab = CharVocab::from_texts(corpus.tunes.iter().map(|t| t.text.as_str()));
    let (mut train_tunes, mut valid_tunes) =
        split_train_valid(&corpus.tunes, config.valid_fraction, config.split_seed);
    train_tunes.truncate(config.train_tunes.unwrap_or(usize::MAX));
    valid_tunes.truncate(config.valid_tunes.unwrap_or(usize::MAX));
    let (b, s) = (config.train.batch_size, config.train.seq_len);
    let train = SequenceBatches::new(encode_tunes(&vocab, &train_tunes)?, s, b)
        .context("the training slice")?;
    let valid = SequenceBatches::new(encode_tunes(&vocab, &valid_tunes)?, s, b)
        .context("the validation slice")?;
    println!(
        "corpus: {} tunes ({} skipped); training on {} tunes ({} characters), validating on {} ({}); vocabulary {}",
        corpus.tunes.len(),
        corpus.report.skipped.len(),
        train_tunes.len(),
        train.len(),
        valid_tunes.len(),
        valid.len(),
        vocab.len()
    );
    Ok(RunData {
        vocab,
        train,
        valid,
    })
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// Why training returned.
    pub reason: StopReason,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps taken.
    pub step: u64,
    /// The newest checkpoint saved in this process, if any.
    pub last_checkpoint: Option<PathBuf>,
    /// Saves that failed.
    pub failed_saves: usize,
}

/// Runs (or continues) the training a config describes. `force` resumes even when the
/// checkpoint was written with a different setup. Test hooks come from the environment
/// ([`SaveHooks::from_env`]).
pub fn run_training(config: &RunConfig, force: bool) -> Result<RunOutcome> {
    if let Some(threads) = config.threads {
        tch::set_num_threads(threads);
    }
    let device = config.device()?;
    let data = prepare_data(config)?;
    tch::manual_seed(config.train.seed as i64);
    let model = LstmLm::new(
        LstmConfig {
            vocab_size: data.vocab.len() as i64,
            embed_dim: config.model.embed_dim,
            hidden_size: config.model.hidden_size,
            num_layers: config.model.num_layers,
            dropout: config.model.dropout,
        },
        device,
    )?;
    println!("{model}");
    let mut checkpoint = config.checkpoint.clone();
    checkpoint.allow_config_change |= force;
    checkpoint.hooks = SaveHooks::from_env();
    let mut trainer = Trainer::new(model, config.train.clone())
        .with_callback(Checkpointer::new(checkpoint, data.vocab.clone()));
    trainer.fit(&data.train, &data.valid)?;
    let reason = trainer.last_stop.unwrap_or(StopReason::Completed);
    let (last_checkpoint, failed_saves) = trainer
        .callback::<Checkpointer>()
        .map(|c| (c.saved.last().cloned(), c.failures.len()))
        .unwrap_or_default();
    Ok(RunOutcome {
        reason,
        epoch: trainer.epoch,
        step: trainer.step,
        last_checkpoint,
        failed_saves,
    })
}
