//! Checkpoints that never lose training, for every model and encoding: atomic saves to any folder
//! (a mounted drive too), exact resume, and loading whichever model was saved.
//!
//! - [`format`](mod@format): what a checkpoint folder holds (`weights.safetensors`,
//!   `optimizer.safetensors`, `best.safetensors`, `meta.json`); no pickle anywhere.
//! - [`save`]: the atomic write (temporary sibling, flush, rename).
//! - [`snapshot`]: a trainer to files and back, validated.
//! - [`store`]: a run's checkpoints in order, the newest valid one, retention.
//! - [`resume`]: continuing a run, refusing a different setup unless allowed.
//! - [`checkpointer`]: the training callback that does all of it automatically.
//!
//! In a notebook:
//!
//! ```no_run
//! # use tunesmith::prelude::*;
//! # fn f(model: WindowLstm, vocab: NoteVocab, train: WindowBatches, valid: WindowBatches) -> Result<()> {
//! let ckpt = CheckpointConfig { every_steps: Some(200), ..CheckpointConfig::new("/mnt/drive/tunes", "notes") };
//! let mut trainer = Trainer::new(model, TrainConfig::default())
//!     .with_callback(Checkpointer::new(ckpt, vocab));
//! trainer.fit(&train, &valid)?; // run the cell again after a crash: it continues
//! # Ok(()) }
//! ```

pub mod checkpointer;
pub mod format;
pub mod resume;
pub mod save;
pub mod snapshot;
pub mod store;
pub mod tensors;

pub use checkpointer::{CheckpointConfig, Checkpointer, SaveFailure};
pub use format::{Meta, FORMAT_VERSION};
pub use resume::ResumeReport;
pub use snapshot::{check_encoding, Checkpoint};
pub use store::{run_checkpoints, RunCheckpoints};

use crate::encode::Encoding;
use crate::model::Model;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::Device;

/// A model loaded from a checkpoint for generation: whichever model was saved, its encoding and
/// the checkpoint's metadata.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model, with its weights.
    pub model: Box<dyn Model>,
    /// The encoding it reads.
    pub encoding: Encoding,
    /// The checkpoint's `meta.json`.
    pub meta: Meta,
    /// The checkpoint folder it came from.
    pub path: PathBuf,
}

/// The checkpoint folder `path` names: itself, or the newest valid checkpoint of a run folder
/// (damaged newer ones are reported and passed over).
pub fn resolve_checkpoint(path: &Path) -> Result<PathBuf> {
    if path.join(format::META_FILE).exists() {
        return Ok(path.to_path_buf());
    }
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let (checkpoint, skipped) = store::newest_for_generation(path)?;
    for s in &skipped {
        eprintln!(
            "warning: checkpoint {} is damaged and was skipped: {}",
            s.path.display(),
            s.reason
        );
    }
    match checkpoint {
        Some(c) => Ok(c.path),
        None => bail!(
            "{} holds no usable checkpoint (a checkpoint folder holds meta.json; a run folder \
             holds epoch-NNNN or step-NNNNNNNNN folders)",
            path.display()
        ),
    }
}

/// Loads the model a checkpoint holds (weights and `meta.json`, no training state), whatever its
/// architecture and encoding. `path` is a checkpoint folder, or a run folder, in which case its
/// newest valid checkpoint is used.
pub fn load_model(path: &Path, device: Device) -> Result<LoadedModel> {
    let dir = resolve_checkpoint(path)?;
    let checkpoint = Checkpoint::load_weights_only(&dir)?;
    let model = checkpoint.model(device)?;
    Ok(LoadedModel {
        model,
        encoding: checkpoint.meta.encoding.clone(),
        meta: checkpoint.meta,
        path: dir,
    })
}

/// Loads a checkpoint's model as the type `M`; a checkpoint of another architecture is refused
/// with a message naming both.
pub fn load_model_as<M: Model>(path: &Path, device: Device) -> Result<(M, Encoding, Meta)> {
    let loaded = load_model(path, device)?;
    let architecture = loaded.model.architecture();
    let any: Box<dyn std::any::Any> = loaded.model;
    let model = any.downcast::<M>().map_err(|_| {
        anyhow::anyhow!(
            "{} holds {}, not a {}",
            loaded.path.display(),
            loaded.meta.what(),
            std::any::type_name::<M>()
        )
    });
    let model = model.with_context(|| format!("the saved architecture is {architecture}"))?;
    Ok((*model, loaded.encoding, loaded.meta))
}
