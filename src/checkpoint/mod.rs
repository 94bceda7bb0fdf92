//! Checkpoints that never lose training: atomic saves to any folder (a mounted drive too), exact
//! resume, and loading a model for generation only.
//!
//! - [`format`](mod@format): what a checkpoint folder holds (`weights.safetensors`, `optimizer.safetensors`,
//!   `meta.json`); no pickle anywhere.
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
//! # fn f(model: LstmLm, vocab: CharVocab, train: SequenceBatches, valid: SequenceBatches) -> Result<()> {
//! let ckpt = CheckpointConfig { every_steps: Some(200), ..CheckpointConfig::new("/mnt/drive/tunes", "abc-lstm") };
//! let mut trainer = Trainer::new(model, TrainConfig::default())
//!     .with_callback(Checkpointer::new(ckpt, vocab));
//! trainer.fit(&train, &valid)?; // run the cell again after a crash: it continues
//! # Ok(()) }
//! ```

pub mod checkpointer;
pub mod display;
pub mod format;
pub mod resume;
pub mod save;
pub mod snapshot;
pub mod store;
pub mod tensors;

pub use checkpointer::{CheckpointConfig, Checkpointer, SaveFailure};
pub use display::{run_checkpoints, RunCheckpoints};
pub use format::{Meta, FORMAT_VERSION};
pub use resume::ResumeReport;
pub use snapshot::Checkpoint;

use crate::encode::CharVocab;
use crate::model::LstmLm;
use anyhow::{bail, Result};
use std::path::Path;
use tch::Device;

/// Opens a checkpoint for generation only (weights and vocabulary, no training state). `path` is
/// a checkpoint folder, or a run folder, in which case its newest valid checkpoint is used.
pub fn open_for_generation(path: &Path, device: Device) -> Result<(LstmLm, CharVocab, Meta)> {
    let dir = if path.join(format::META_FILE).exists() {
        path.to_path_buf()
    } else {
        let (checkpoint, skipped) = store::newest_for_generation(path)?;
        for s in &skipped {
            eprintln!(
                "warning: checkpoint {} is damaged and was skipped: {}",
                s.path.display(),
                s.reason
            );
        }
        match checkpoint {
            Some(c) => c.path,
            None => bail!("{} holds no usable checkpoint", path.display()),
        }
    };
    let checkpoint = Checkpoint::load_weights_only(&dir)?;
    let model = checkpoint.model(device)?;
    let vocab = checkpoint.vocab()?.clone();
    Ok((model, vocab, checkpoint.meta))
}
