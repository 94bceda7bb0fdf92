//! The checkpoint format, version 2: what `meta.json` holds and the names of the files beside it.
//!
//! ```text
//! <drive>/<run>/epoch-0007/   weights.safetensors    model parameters, named as in PyTorch
//!                             optimizer.safetensors  Adam moments (exp_avg.<param>, exp_avg_sq.<param>)
//!                             best.safetensors       the best epoch's weights (when kept)
//!                             meta.json              everything else (this module's [`Meta`])
//! ```
//!
//! `meta.json` names the architecture with its config and the encoding with its saved, versioned
//! vocabulary or shape, so any checkpoint can be opened for generation on its own. Version 1
//! (written by tunesmith 0.1 for the character model) reads as version 2 with no best weights.
//! A reader refuses a newer `format_version` with a message saying so; fields added later must
//! have serde defaults, so older checkpoints keep loading.

use crate::encode::Encoding;
use crate::train::{AdamConfig, History};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` field of every checkpoint's `meta.json`.
pub const FORMAT_NAME: &str = "tunesmith-checkpoint";
/// The format version this tunesmith writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;
/// Model parameters.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// Optimizer state.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// The best epoch's weights (only when the trainer keeps them).
pub const BEST_FILE: &str = "best.safetensors";
/// Everything else, as JSON.
pub const META_FILE: &str = "meta.json";

/// Whether a checkpoint closes an epoch (validated, in the history) or was taken inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    /// Written after an epoch was validated: named `epoch-NNNN`.
    Epoch,
    /// Written inside an epoch (every N steps or M minutes, or on an interrupt): `step-NNNNNNNNN`.
    Step,
}

/// The model's architecture and config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Architecture name (`lstm_lm`, `window_lstm`, `frame_lstm`; see [`crate::model::build`]).
    pub architecture: String,
    /// Its config, as the architecture's config struct writes it.
    pub config: serde_json::Value,
    /// Number of parameters (a check when loading).
    pub parameters: i64,
}

/// Where training stands: the trainer's counters and the open epoch's running sums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressMeta {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// Batches of the open epoch already trained.
    pub batch_in_epoch: usize,
    /// Sum of their losses.
    pub epoch_loss_sum: f64,
    /// Seconds spent on them.
    pub epoch_seconds: f64,
    /// Targets in them.
    #[serde(default)]
    pub epoch_targets: f64,
}

/// The random number generators' state. Training draws randomness in two places, both seeded from
/// (seed, counter) so that the counters above are their whole state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RngMeta {
    /// How dropout is seeded.
    pub dropout: String,
    /// How the data order is drawn.
    pub data_order: String,
    /// The seed.
    pub seed: u64,
    /// The next step's dropout seed.
    pub next_dropout_seed: u64,
}

/// Where the data order stands, and what data it was over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataOrderMeta {
    /// The epoch whose plan is being followed (0-based).
    pub epoch: usize,
    /// The next batch of that plan.
    pub next_batch: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// Items in the training data (tokens, windows or frames).
    pub train_tokens: usize,
    /// The data's fingerprint, in hex.
    pub train_fingerprint: String,
    /// What the batches are and the settings that shape them (absent in version 1: character
    /// sequences, whose settings are in `train_config`).
    #[serde(default)]
    pub batches: serde_json::Value,
}

/// The optimizer's kind, settings and step count (its tensors are in `optimizer.safetensors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerMeta {
    /// `adam`.
    pub kind: String,
    /// Updates made.
    pub step: i64,
    /// Hyper-parameters (the learning rate as it stands, after any cuts).
    pub config: AdamConfig,
}

/// Which epoch the weights in `best.safetensors` come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestMeta {
    /// The epoch (1-based).
    pub epoch: usize,
    /// Its validation loss.
    pub valid_loss: f64,
}

/// Size and SHA-256 of a file in the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Length in bytes.
    pub bytes: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// Everything in `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version ([`FORMAT_VERSION`] when written by this tunesmith).
    pub format_version: u32,
    /// The tunesmith version that wrote it.
    pub crate_version: String,
    /// The checkpoint's folder name.
    pub name: String,
    /// Epoch end or inside an epoch.
    pub kind: CheckpointKind,
    /// Seconds since 1970 when written.
    pub created_unix: u64,
    /// The model.
    pub model: ModelMeta,
    /// The encoding, with its vocabulary or shape.
    pub encoding: Encoding,
    /// The training settings in force (a [`crate::train::TrainConfig`]; version 1 also held the
    /// batch settings here).
    pub train_config: serde_json::Value,
    /// The trainer's counters.
    pub progress: ProgressMeta,
    /// Random number generator state.
    pub rng: RngMeta,
    /// Data order state.
    pub data_order: DataOrderMeta,
    /// Optimizer state (besides its tensors).
    pub optimizer: OptimizerMeta,
    /// Loss history up to here.
    pub history: History,
    /// The last validation loss, for epoch checkpoints (for keeping the best).
    pub valid_loss: Option<f64>,
    /// The best weights kept by the trainer, when there are any.
    #[serde(default)]
    pub best: Option<BestMeta>,
    /// The tensor files, with sizes and checksums.
    pub files: BTreeMap<String, FileDigest>,
}

impl Meta {
    /// Parses `meta.json` text, checking the format name and version first, so a newer format is
    /// reported as such rather than as a missing field.
    pub fn from_json(text: &str) -> Result<Meta> {
        let value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
        let format = value.get("format").and_then(|v| v.as_str());
        if format != Some(FORMAT_NAME) {
            bail!("not a tunesmith checkpoint (its \"format\" is {format:?}, expected {FORMAT_NAME:?})");
        }
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .context("no format_version")?;
        if version > FORMAT_VERSION as u64 {
            bail!(
                "checkpoint format version {version} is newer than this tunesmith {} reads \
                 (version {FORMAT_VERSION}); upgrade tunesmith to load it",
                env!("CARGO_PKG_VERSION")
            );
        }
        serde_json::from_value(value)
            .with_context(|| format!("meta.json does not match checkpoint format {version}"))
    }

    /// The JSON text written to `meta.json`.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).context("cannot write checkpoint metadata as JSON")
    }

    /// `lstm_lm with chars`: what the checkpoint holds, for messages.
    pub fn what(&self) -> String {
        format!(
            "a {} model with the {} encoding",
            self.model.architecture,
            self.encoding.kind()
        )
    }
}

/// The folder name of an epoch checkpoint: `epoch-0007` after 7 epochs.
pub fn epoch_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}")
}

/// The folder name of a checkpoint inside an epoch: `step-000000123` after 123 steps.
pub fn step_name(step: u64) -> String {
    format!("step-{step:09}")
}

/// Whether a folder name is a checkpoint's (temporaries and anything else are not).
pub fn is_checkpoint_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix("epoch-").is_some_and(digits)
        || name.strip_prefix("step-").is_some_and(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_and_temporaries_are_not() {
        assert!(is_checkpoint_name(&epoch_name(7)));
        assert!(is_checkpoint_name(&step_name(123)));
        for other in [
            ".tmp-epoch-0007-1-2",
            ".trash-epoch-0001",
            "samples",
            "epoch-",
            "step-12a",
        ] {
            assert!(!is_checkpoint_name(other), "{other}");
        }
    }

    #[test]
    fn floats_read_back_from_json_bit_for_bit() -> Result<()> {
        // A model config or a loss that came back one unit in the last place different would
        // make a resumed run's setup "different" (serde_json's float_roundtrip feature).
        let mut x = 90.24703538858975_f64;
        for _ in 0..2000 {
            let text = serde_json::to_string(&x)?;
            let back: f64 = serde_json::from_str(&text)?;
            assert_eq!(back.to_bits(), x.to_bits(), "{text}");
            x = x * 1.000_123_456_7 + 1e-7;
        }
        Ok(())
    }

    #[test]
    fn newer_versions_and_foreign_json_are_refused_clearly() {
        let newer = format!(r#"{{"format":"{FORMAT_NAME}","format_version":99}}"#);
        let err = format!("{:#}", Meta::from_json(&newer).unwrap_err());
        assert!(err.contains("newer") && err.contains("99"), "{err}");
        let err = format!("{:#}", Meta::from_json(r#"{"weights": 1}"#).unwrap_err());
        assert!(err.contains("not a tunesmith checkpoint"), "{err}");
        assert!(Meta::from_json("\u{80}garbage").is_err());
    }
}
