//! From a trainer to checkpoint files, and from checkpoint files back to a model or a trainer.
//! Every error names the file it is about.

use super::format::*;
use super::save::{digest, write_checkpoint_dir, SaveHooks};
use super::tensors;
use crate::encode::CharVocab;
use crate::model::LstmLm;
use crate::train::{DataInfo, EpochProgress, Trainer};
use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// The architecture name of [`LstmLm`] in `meta.json`.
pub const LSTM_LM: &str = "lstm_lm";

/// What the data order looks like at a trainer's position.
fn data_order(trainer: &Trainer, data: &DataInfo) -> DataOrderMeta {
    DataOrderMeta {
        epoch: trainer.epoch,
        next_batch: trainer.progress.batch,
        batches_per_epoch: data.batches_per_epoch,
        train_tokens: data.tokens,
        train_fingerprint: format!("{:016x}", data.fingerprint),
    }
}

/// Writes the trainer's whole state as checkpoint `run_dir/name`, atomically; returns its path.
/// An epoch checkpoint is one taken when no batch of the next epoch has run yet.
pub fn save_trainer(
    run_dir: &Path,
    trainer: &Trainer,
    data: &DataInfo,
    vocab: &CharVocab,
    hooks: &SaveHooks,
) -> Result<PathBuf> {
    let kind = if trainer.progress.batch == 0 {
        CheckpointKind::Epoch
    } else {
        CheckpointKind::Step
    };
    let name = match kind {
        CheckpointKind::Epoch => epoch_name(trainer.epoch),
        CheckpointKind::Step => step_name(trainer.step),
    };
    let weights = tensors::to_bytes(
        &trainer.model.named_parameters(),
        &[("format", "tunesmith-checkpoint/weights")],
    )?;
    let optimizer = tensors::to_bytes(
        &trainer.optimizer.state_tensors(),
        &[("format", "tunesmith-checkpoint/adam")],
    )?;
    let c = &trainer.config;
    let meta = Meta {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        name: name.clone(),
        kind,
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: ModelMeta {
            architecture: LSTM_LM.into(),
            config: trainer.model.config.clone(),
            parameters: trainer.model.parameter_count(),
        },
        encoding: EncodingMeta::Chars {
            vocab: vocab.clone(),
        },
        train_config: c.clone(),
        progress: ProgressMeta {
            epoch: trainer.epoch,
            step: trainer.step,
            batch_in_epoch: trainer.progress.batch,
            epoch_loss_sum: trainer.progress.loss_sum,
            epoch_seconds: trainer.progress.seconds,
        },
        rng: RngMeta {
            dropout: "torch manual_seed(seed + step) before each step".into(),
            data_order: "ChaCha8 seeded with seed ^ (epoch * 0x9E3779B97F4A7C15): a start offset, \
                         then a shuffle of the windows"
                .into(),
            seed: c.seed,
            next_dropout_seed: c.seed.wrapping_add(trainer.step),
        },
        data_order: data_order(trainer, data),
        optimizer: OptimizerMeta {
            kind: "adam".into(),
            step: trainer.optimizer.step,
            config: trainer.optimizer.config,
        },
        history: trainer.history.clone(),
        valid_loss: match kind {
            CheckpointKind::Epoch => trainer.history.last_valid_loss(),
            CheckpointKind::Step => None,
        },
        files: [
            (WEIGHTS_FILE.to_string(), digest(&weights)),
            (OPTIMIZER_FILE.to_string(), digest(&optimizer)),
        ]
        .into_iter()
        .collect(),
    };
    let meta_json = meta.to_json()?;
    write_checkpoint_dir(
        run_dir,
        &name,
        &[
            (WEIGHTS_FILE, &weights),
            (OPTIMIZER_FILE, &optimizer),
            (META_FILE, meta_json.as_bytes()),
        ],
        hooks,
    )
}

/// A checkpoint read from its folder and checked: metadata, weights, and (unless opened for
/// generation only) the optimizer state.
#[derive(Debug)]
pub struct Checkpoint {
    /// Its folder.
    pub path: PathBuf,
    /// `meta.json`.
    pub meta: Meta,
    /// Model parameters by name.
    pub weights: Vec<(String, Tensor)>,
    /// Optimizer tensors by name (`None` when opened for generation only).
    pub optimizer: Option<Vec<(String, Tensor)>>,
}

/// Reads and checks a checkpoint's `meta.json`.
pub fn read_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join(META_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(what) = tensors::sniff(&bytes) {
        bail!(
            "{} is not checkpoint metadata: it is {what}",
            path.display()
        );
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not text: damaged or garbage", path.display()))?;
    let meta = Meta::from_json(&text).with_context(|| format!("bad {}", path.display()))?;
    ensure!(
        meta.model.architecture == LSTM_LM,
        "{}: unknown model architecture {:?}",
        path.display(),
        meta.model.architecture
    );
    Ok(meta)
}

fn read_tensors(dir: &Path, file: &str, meta: &Meta) -> Result<Vec<(String, Tensor)>> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let tensors = tensors::from_bytes(&bytes).with_context(|| format!("{}", path.display()))?;
    let expected = meta
        .files
        .get(file)
        .with_context(|| format!("{} lists no {file}", dir.join(META_FILE).display()))?;
    let actual = digest(&bytes);
    if actual.bytes != expected.bytes {
        bail!(
            "{} has {} bytes, but meta.json records {}: truncated or damaged",
            path.display(),
            actual.bytes,
            expected.bytes
        );
    }
    if actual.sha256 != expected.sha256 {
        bail!(
            "{} is damaged: its SHA-256 differs from the one meta.json records",
            path.display()
        );
    }
    Ok(tensors)
}

/// Copies saved tensors into the model's parameters; every parameter must be there with its shape.
fn copy_weights(model: &LstmLm, saved: &[(String, Tensor)], file: &Path) -> Result<()> {
    let params = model.named_parameters();
    for (name, _) in saved {
        ensure!(
            params.iter().any(|(n, _)| n == name),
            "{}: tensor {name} is not a parameter of the model",
            file.display()
        );
    }
    for (name, param) in params {
        let tensor = saved
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t)
            .with_context(|| format!("{}: no tensor {name}", file.display()))?;
        ensure!(
            tensor.size() == param.size(),
            "{}: tensor {name} has shape {:?}, the model config needs {:?}",
            file.display(),
            tensor.size(),
            param.size()
        );
        tch::no_grad(|| param.shallow_clone().copy_(tensor));
    }
    Ok(())
}

impl Checkpoint {
    /// Reads a whole checkpoint (metadata, weights, optimizer), checking sizes and checksums.
    pub fn load(dir: &Path) -> Result<Checkpoint> {
        let meta = read_meta(dir)?;
        let weights = read_tensors(dir, WEIGHTS_FILE, &meta)?;
        let optimizer = Some(read_tensors(dir, OPTIMIZER_FILE, &meta)?);
        Ok(Checkpoint {
            path: dir.to_path_buf(),
            meta,
            weights,
            optimizer,
        })
    }

    /// Reads what generation needs (metadata and weights), not the training state.
    pub fn load_weights_only(dir: &Path) -> Result<Checkpoint> {
        let meta = read_meta(dir)?;
        let weights = read_tensors(dir, WEIGHTS_FILE, &meta)?;
        Ok(Checkpoint {
            path: dir.to_path_buf(),
            meta,
            weights,
            optimizer: None,
        })
    }

    /// The character vocabulary the model was trained with.
    pub fn vocab(&self) -> Result<&CharVocab> {
        self.meta
            .char_vocab()
            .with_context(|| format!("{} has no character vocabulary", self.path.display()))
    }

    /// Builds the model the checkpoint describes, with its weights, on `device`.
    pub fn model(&self, device: Device) -> Result<LstmLm> {
        let model = LstmLm::new(self.meta.model.config.clone(), device)
            .with_context(|| format!("bad model config in {}", self.path.display()))?;
        copy_weights(&model, &self.weights, &self.path.join(WEIGHTS_FILE))?;
        Ok(model)
    }

    /// Puts the checkpoint's state into a trainer: weights, optimizer state, counters, the open
    /// epoch's running sums and the history. The trainer's config is left as it is.
    pub fn restore(&self, trainer: &mut Trainer) -> Result<()> {
        let optimizer = self.optimizer.as_ref().with_context(|| {
            format!(
                "{} was opened for generation only, without its training state",
                self.path.display()
            )
        })?;
        copy_weights(&trainer.model, &self.weights, &self.path.join(WEIGHTS_FILE))?;
        let opt_path = self.path.join(OPTIMIZER_FILE);
        trainer
            .optimizer
            .load_state_tensors(self.meta.optimizer.step, optimizer)
            .with_context(|| format!("{}", opt_path.display()))?;
        let p = &self.meta.progress;
        trainer.epoch = p.epoch;
        trainer.step = p.step;
        trainer.progress = EpochProgress {
            batch: p.batch_in_epoch,
            loss_sum: p.epoch_loss_sum,
            seconds: p.epoch_seconds,
        };
        trainer.history = self.meta.history.clone();
        Ok(())
    }
}
