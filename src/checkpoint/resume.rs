//! Resuming: pick the newest checkpoint that loads, check it was made by the same setup (model,
//! vocabulary, the training settings that shape the trajectory, the data), and put it into the
//! trainer. A different setup is refused unless the caller allows it.

use super::format::Meta;
use super::store::{newest_valid, Skipped};
use crate::encode::Encoding;
use crate::train::{DataInfo, TrainConfig, Trainer};
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// What a resume did.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeReport {
    /// The checkpoint resumed from.
    pub from: PathBuf,
    /// Epochs completed at that point.
    pub epoch: usize,
    /// Steps taken.
    pub step: u64,
    /// Batches of the open epoch already trained.
    pub batch_in_epoch: usize,
    /// Newer checkpoints that were damaged, passed over and set aside as `<name>.damaged`.
    pub skipped: Vec<Skipped>,
    /// Setup differences the caller allowed.
    pub differences: Vec<String>,
}

impl fmt::Display for ResumeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "resumed from {} (epoch {}, step {}",
            self.from.display(),
            self.epoch,
            self.step
        )?;
        if self.batch_in_epoch > 0 {
            write!(
                f,
                ", {} batches into epoch {}",
                self.batch_in_epoch,
                self.epoch + 1
            )?;
        }
        write!(f, ")")
    }
}

/// Renames a damaged checkpoint to `<name>.damaged` (no longer a checkpoint name), so it neither
/// shadows the checkpoints the resumed run writes nor is deleted before someone looks at it.
/// Returns the new path (the old one if the rename failed).
fn set_aside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".damaged");
    let target = path.with_file_name(name);
    if target.exists() {
        let _ = std::fs::remove_dir_all(&target);
    }
    match std::fs::rename(path, &target) {
        Ok(()) => target,
        Err(_) => path.to_path_buf(),
    }
}

/// The training settings that shape the trajectory (not the epoch count, the time budget or
/// printing, which a resumed run may change freely), with defaults for settings an older
/// checkpoint did not record.
fn trajectory(train: &Value) -> Value {
    let known = serde_json::to_value(TrainConfig::default()).unwrap_or(Value::Null);
    let mut map = train.as_object().cloned().unwrap_or_default();
    // Version 1 called the validation limit `valid_tokens`.
    if let Some(v) = map.remove("valid_tokens") {
        map.entry("valid_limit").or_insert(v);
    }
    map.retain(|k, _| known.get(k).is_some());
    let config: TrainConfig = serde_json::from_value(Value::Object(map)).unwrap_or_default();
    let full = serde_json::to_value(config).unwrap_or(Value::Null);
    let mut out = serde_json::Map::new();
    for key in [
        "adam",
        "clip_norm",
        "seed",
        "valid_limit",
        "lr_plateau",
        "early_stopping",
        "keep_best",
    ] {
        out.insert(
            key.to_string(),
            full.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// The parts of a setup that must match for a resumed run to continue the same run.
fn setup(
    model: &Value,
    encoding: &Encoding,
    train: &Value,
    data: (usize, &str, usize, &Value),
) -> Value {
    let (items, fingerprint, batches_per_epoch, batches) = data;
    json!({
        "model": model,
        "encoding": encoding.to_value().unwrap_or(Value::Null),
        "train": trajectory(train),
        "data": {
            "items": items, "fingerprint": fingerprint,
            "batches_per_epoch": batches_per_epoch, "batches": batches,
        },
    })
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            let mut text = other.to_string();
            if text.chars().count() > 60 {
                text = format!("{}…", text.chars().take(60).collect::<String>());
            }
            out.push((prefix.to_string(), text));
        }
    }
}

/// The differences between the setup a checkpoint was written with and the current one, one
/// line each (`train.adam.lr: checkpoint 0.003, now 0.001`); empty when they match.
pub fn setup_differences(
    meta: &Meta,
    trainer: &Trainer,
    encoding: &Encoding,
    data: &DataInfo,
) -> Vec<String> {
    let o = &meta.data_order;
    // Version 1 kept the batch settings in the training config.
    let their_batches = if o.batches.is_null() {
        json!({"kind": "sequences", "seq_len": meta.train_config.get("seq_len"),
               "batch_size": meta.train_config.get("batch_size")})
    } else {
        o.batches.clone()
    };
    let theirs = setup(
        &meta.model.config,
        &meta.encoding,
        &meta.train_config,
        (
            o.train_tokens,
            &o.train_fingerprint,
            o.batches_per_epoch,
            &their_batches,
        ),
    );
    let ours = setup(
        &trainer.model().config_json(),
        encoding,
        &serde_json::to_value(&trainer.config).unwrap_or(Value::Null),
        (
            data.items,
            &format!("{:016x}", data.fingerprint),
            data.batches_per_epoch,
            &data.settings,
        ),
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten("", &theirs, &mut a);
    flatten("", &ours, &mut b);
    let mut lines = Vec::new();
    for (key, value) in &b {
        let old = a.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        if old != Some(value.as_str()) {
            lines.push(format!(
                "{key}: checkpoint {}, now {value}",
                old.unwrap_or("(none)")
            ));
        }
    }
    lines
}

/// Resumes `trainer` from the newest checkpoint in `run_dir` that loads. Damaged newer ones are
/// passed over, renamed `<name>.damaged` and listed in the report. Returns `None` when the run has
/// no checkpoint; an error when it has some but none loads. A
/// checkpoint written with a different setup is refused with the differences listed, unless
/// `allow_changes`, in which case they are listed in the report and the current config is kept
/// (a changed learning rate included: the run goes on at the new rate).
pub fn resume(
    run_dir: &Path,
    trainer: &mut Trainer,
    encoding: &Encoding,
    data: &DataInfo,
    allow_changes: bool,
) -> Result<Option<ResumeReport>> {
    let (checkpoint, mut skipped) = newest_valid(run_dir)?;
    let Some(checkpoint) = checkpoint else {
        if skipped.is_empty() {
            return Ok(None);
        }
        bail!(
            "none of the {} checkpoints in {} loads, so training would start again from scratch:\n  \
             {}\nMove the folder aside or use another run name to start afresh.",
            skipped.len(),
            run_dir.display(),
            skipped
                .iter()
                .map(|s| s.reason.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    };
    checkpoint.check_same_kind(trainer.model(), encoding)?;
    let differences = setup_differences(&checkpoint.meta, trainer, encoding, data);
    if !differences.is_empty() && !allow_changes {
        bail!(
            "checkpoint {} was written by a different setup, so resuming would not continue the \
             same run:\n  {}\nUse another run name or folder to start afresh, or allow the change \
             (allow_config_change: true, or --force on the command line) to resume anyway.",
            checkpoint.path.display(),
            differences.join("\n  ")
        );
    }
    checkpoint.restore(trainer)?;
    // The checkpoint's learning rate is the one its run had reached (a plateau may have lowered
    // it); a new `adam.lr` the caller allowed replaces it, as the warning says.
    if differences.iter().any(|d| d.starts_with("train.adam.lr:")) {
        trainer.optimizer.config.lr = trainer.config.adam.lr;
    }
    for s in &mut skipped {
        s.path = set_aside(&s.path);
    }
    if trainer.progress.batch > data.batches_per_epoch {
        trainer.progress.batch = data.batches_per_epoch;
    }
    Ok(Some(ResumeReport {
        from: checkpoint.path.clone(),
        epoch: trainer.epoch,
        step: trainer.step,
        batch_in_epoch: trainer.progress.batch,
        skipped,
        differences,
    }))
}
