//! From a trainer to checkpoint files, and from checkpoint files back to a model or a trainer, for
//! every model and encoding. Every error names the file it is about.

use super::format::*;
use super::save::{digest, write_checkpoint_dir, SaveHooks};
use super::tensors;
use crate::encode::Encoding;
use crate::model::{self, Model, Sizes};
use crate::train::{copy_into, BestWeights, DataInfo, EpochProgress, Trainer};
use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// Checks that an encoding fits a model's inputs; the error names both.
pub fn check_encoding(model: &dyn Model, encoding: &Encoding) -> Result<()> {
    let fits = match model.sizes() {
        Sizes::Tokens { vocab } => encoding.vocab_size() == Some(vocab),
        Sizes::Frames { pitches } => encoding.num_pitches() == Some(pitches),
        Sizes::Audio {
            voices,
            hop,
            sample_rate,
        } => encoding
            .audio_features()
            .is_some_and(|c| (c.voices, c.hop, c.sample_rate) == (voices, hop, sample_rate)),
    };
    ensure!(
        fits,
        "the {} model reads {}, which the {} encoding ({}) does not give",
        model.architecture(),
        model.sizes(),
        encoding.kind(),
        encoding.describe()
    );
    Ok(())
}

/// What the data order looks like at a trainer's position.
fn data_order(trainer: &Trainer, data: &DataInfo) -> DataOrderMeta {
    DataOrderMeta {
        epoch: trainer.epoch,
        next_batch: trainer.progress.batch,
        batches_per_epoch: data.batches_per_epoch,
        train_tokens: data.items,
        train_fingerprint: format!("{:016x}", data.fingerprint),
        batches: data.settings.clone(),
    }
}

/// Writes the trainer's whole state as checkpoint `run_dir/name`, atomically; returns its path.
/// An epoch checkpoint is one taken when no batch of the next epoch has run yet.
pub fn save_trainer(
    run_dir: &Path,
    trainer: &Trainer,
    data: &DataInfo,
    encoding: &Encoding,
    hooks: &SaveHooks,
) -> Result<PathBuf> {
    let model = trainer.model();
    check_encoding(model, encoding)?;
    let kind = if trainer.progress.batch == 0 {
        CheckpointKind::Epoch
    } else {
        CheckpointKind::Step
    };
    let name = match kind {
        CheckpointKind::Epoch => epoch_name(trainer.epoch),
        CheckpointKind::Step => step_name(trainer.step),
    };
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        (
            WEIGHTS_FILE,
            tensors::to_bytes(
                &model.named_parameters(),
                &[("format", "tunesmith-checkpoint/weights")],
            )?,
        ),
        (
            OPTIMIZER_FILE,
            tensors::to_bytes(
                &trainer.optimizer.state_tensors(),
                &[("format", "tunesmith-checkpoint/adam")],
            )?,
        ),
    ];
    if let Some(best) = &trainer.best {
        files.push((
            BEST_FILE,
            tensors::to_bytes(&best.weights, &[("format", "tunesmith-checkpoint/best")])?,
        ));
    }
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
            architecture: model.architecture().into(),
            config: model.config_json(),
            parameters: model.parameter_count(),
        },
        encoding: encoding.clone(),
        train_config: serde_json::to_value(c).context("cannot write the training config")?,
        progress: ProgressMeta {
            epoch: trainer.epoch,
            step: trainer.step,
            batch_in_epoch: trainer.progress.batch,
            epoch_loss_sum: trainer.progress.loss_sum,
            epoch_seconds: trainer.progress.seconds,
            epoch_targets: trainer.progress.targets,
        },
        rng: RngMeta {
            dropout: "torch manual_seed(seed + step) before each step".into(),
            data_order: "ChaCha8 seeded with seed ^ (epoch * 0x9E3779B97F4A7C15), as the batches' \
                         epoch_plan draws it"
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
        best: trainer.best.as_ref().map(|b| BestMeta {
            epoch: b.epoch,
            valid_loss: b.valid_loss,
        }),
        files: files
            .iter()
            .map(|(name, bytes)| (name.to_string(), digest(bytes)))
            .collect(),
    };
    let meta_json = meta.to_json()?;
    let mut all: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    all.push((META_FILE, meta_json.as_bytes()));
    write_checkpoint_dir(run_dir, &name, &all, hooks)
}

/// A checkpoint read from its folder and checked: metadata, weights, and (unless opened for
/// generation only) the optimizer state and best weights.
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
    /// The best epoch's weights, when the trainer kept them (and not opened for generation only).
    pub best: Option<Vec<(String, Tensor)>>,
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
        model::ARCHITECTURES.contains(&meta.model.architecture.as_str()),
        "{}: unknown model architecture {:?} (this tunesmith knows {})",
        path.display(),
        meta.model.architecture,
        model::ARCHITECTURES.join(", ")
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

impl Checkpoint {
    /// Reads a whole checkpoint (metadata, weights, optimizer, best weights), checking sizes and
    /// checksums.
    pub fn load(dir: &Path) -> Result<Checkpoint> {
        let meta = read_meta(dir)?;
        let weights = read_tensors(dir, WEIGHTS_FILE, &meta)?;
        let optimizer = Some(read_tensors(dir, OPTIMIZER_FILE, &meta)?);
        let best = match meta.best {
            Some(_) => Some(read_tensors(dir, BEST_FILE, &meta)?),
            None => None,
        };
        Ok(Checkpoint {
            path: dir.to_path_buf(),
            meta,
            weights,
            optimizer,
            best,
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
            best: None,
        })
    }

    /// Builds the model the checkpoint describes, with its weights, on `device`.
    pub fn model(&self, device: Device) -> Result<Box<dyn Model>> {
        let m = &self.meta.model;
        let model = model::build(&m.architecture, &m.config, device)
            .with_context(|| format!("bad model config in {}", self.path.display()))?;
        check_encoding(model.as_ref(), &self.meta.encoding)
            .with_context(|| format!("{}", self.path.display()))?;
        copy_into(model.as_ref(), &self.weights)
            .with_context(|| format!("{}", self.path.join(WEIGHTS_FILE).display()))?;
        Ok(model)
    }

    /// Checks that the checkpoint holds the same kind of model and encoding as a run; the error
    /// names both.
    pub fn check_same_kind(&self, model: &dyn Model, encoding: &Encoding) -> Result<()> {
        let theirs = (
            self.meta.model.architecture.as_str(),
            self.meta.encoding.kind(),
        );
        let ours = (model.architecture(), encoding.kind());
        ensure!(
            theirs == ours,
            "{} holds {}, but this run trains a {} model with the {} encoding",
            self.path.display(),
            self.meta.what(),
            ours.0,
            ours.1
        );
        Ok(())
    }

    /// Puts the checkpoint's state into a trainer: weights, optimizer state and learning rate,
    /// counters, the open epoch's running sums, the history and the best weights. The rest of
    /// the trainer's config is left as it is.
    pub fn restore(&self, trainer: &mut Trainer) -> Result<()> {
        let optimizer = self.optimizer.as_ref().with_context(|| {
            format!(
                "{} was opened for generation only, without its training state",
                self.path.display()
            )
        })?;
        copy_into(trainer.model(), &self.weights)
            .with_context(|| format!("{}", self.path.join(WEIGHTS_FILE).display()))?;
        let opt_path = self.path.join(OPTIMIZER_FILE);
        trainer
            .optimizer
            .load_state_tensors(self.meta.optimizer.step, optimizer)
            .with_context(|| format!("{}", opt_path.display()))?;
        trainer.optimizer.config.lr = self.meta.optimizer.config.lr;
        let p = &self.meta.progress;
        trainer.epoch = p.epoch;
        trainer.step = p.step;
        trainer.progress = EpochProgress {
            batch: p.batch_in_epoch,
            loss_sum: p.epoch_loss_sum,
            seconds: p.epoch_seconds,
            targets: p.epoch_targets,
        };
        trainer.history = self.meta.history.clone();
        trainer.best = match (&self.best, self.meta.best) {
            (Some(weights), Some(meta)) => Some(BestWeights {
                epoch: meta.epoch,
                valid_loss: meta.valid_loss,
                weights: weights
                    .iter()
                    .map(|(n, t)| (n.clone(), t.shallow_clone()))
                    .collect(),
            }),
            _ => None,
        };
        Ok(())
    }
}

impl Checkpoint {
    /// Writes the checkpoint for generation only, as checkpoint folder `dir/name`, atomically: its
    /// best weights (by validation loss) when the trainer kept them, else its weights, and its
    /// `meta.json` listing only them (no optimizer state: such a checkpoint is for shipping a
    /// trained model, and cannot be resumed, which loading it for training says). Returns the
    /// folder's path.
    ///
    /// Exporting over a folder that holds an earlier export keeps the files that are not the
    /// checkpoint's own (a README, the recipe's config, figures) in the new folder. A subfolder
    /// there is refused with an error (it would be lost), and nothing is written.
    pub fn export_for_generation(&self, dir: &Path, name: &str) -> Result<PathBuf> {
        let kept = files_beside_a_checkpoint(&dir.join(name))?;
        let (weights, valid_loss) = match (&self.best, self.meta.best) {
            (Some(best), Some(meta)) => (best, Some(meta.valid_loss)),
            _ => (&self.weights, self.meta.valid_loss),
        };
        let bytes = tensors::to_bytes(weights, &[("format", "tunesmith-checkpoint/weights")])?;
        let mut meta = self.meta.clone();
        meta.name = name.to_string();
        meta.valid_loss = valid_loss;
        meta.best = None;
        meta.files = [(WEIGHTS_FILE.to_string(), digest(&bytes))].into();
        let meta_json = meta.to_json()?;
        let mut files: Vec<(&str, &[u8])> =
            vec![(WEIGHTS_FILE, &bytes), (META_FILE, meta_json.as_bytes())];
        files.extend(kept.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
        write_checkpoint_dir(dir, name, &files, &SaveHooks::default())
            .with_context(|| format!("cannot export {} to {}", self.path.display(), dir.display()))
    }
}

/// The files in `folder` (when it exists) that are not a checkpoint's own, by name with their
/// bytes; an error for a subfolder or a file that cannot be read.
fn files_beside_a_checkpoint(folder: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let own = [WEIGHTS_FILE, OPTIMIZER_FILE, BEST_FILE, META_FILE];
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(Vec::new());
    };
    let mut kept = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            bail!(
                "{} holds the folder {name}, which exporting over it would delete; move it aside first",
                folder.display()
            );
        }
        if !own.contains(&name.as_str()) {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            kept.push((name, bytes));
        }
    }
    kept.sort();
    Ok(kept)
}
