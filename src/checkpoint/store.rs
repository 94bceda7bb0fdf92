//! The checkpoints of a run folder: listing them in training order, finding the newest one that
//! loads (falling back past damaged ones), and keeping the last K plus the best.

use super::format::{is_checkpoint_name, CheckpointKind, Meta};
use super::save::remove_checkpoint_dir;
use super::snapshot::{read_meta, Checkpoint};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A checkpoint folder of a run, with its metadata or the reason it cannot be read.
#[derive(Debug)]
pub struct Entry {
    /// The folder.
    pub path: PathBuf,
    /// Its `meta.json`, or why it cannot be read (a damaged checkpoint).
    pub meta: std::result::Result<Meta, String>,
}

impl Entry {
    /// The folder name.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn order_key(&self) -> (u8, u64, usize, u8) {
        match &self.meta {
            Ok(m) => (
                1,
                m.progress.step,
                m.progress.epoch,
                (m.kind == CheckpointKind::Epoch) as u8,
            ),
            Err(_) => (0, 0, 0, 0),
        }
    }
}

/// The checkpoint folders of a run, oldest first (by step, then epoch; an epoch checkpoint comes
/// after a step checkpoint of the same step). Unreadable ones come first. Temporaries, trash and
/// anything not named like a checkpoint are ignored. A missing folder has no checkpoints.
pub fn list(run_dir: &Path) -> Result<Vec<Entry>> {
    if !run_dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(run_dir)
        .with_context(|| format!("cannot list checkpoints in {}", run_dir.display()))?;
    let mut out: Vec<Entry> = Vec::new();
    for entry in entries {
        let entry =
            entry.with_context(|| format!("cannot list checkpoints in {}", run_dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_checkpoint_name(&name) || !entry.path().is_dir() {
            continue;
        }
        let meta = read_meta(&entry.path()).map_err(|e| format!("{e:#}"));
        out.push(Entry {
            path: entry.path(),
            meta,
        });
    }
    out.sort_by(|a, b| {
        a.order_key()
            .cmp(&b.order_key())
            .then_with(|| a.name().cmp(&b.name()))
    });
    Ok(out)
}

/// A checkpoint passed over because it failed to load, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The folder.
    pub path: PathBuf,
    /// The error, with the file it is about.
    pub reason: String,
}

/// The newest checkpoint of a run that loads completely, and the damaged ones passed over.
pub fn newest_valid(run_dir: &Path) -> Result<(Option<Checkpoint>, Vec<Skipped>)> {
    newest_loading(run_dir, Checkpoint::load)
}

/// The newest checkpoint of a run whose metadata and weights load (enough to generate).
pub fn newest_for_generation(run_dir: &Path) -> Result<(Option<Checkpoint>, Vec<Skipped>)> {
    newest_loading(run_dir, Checkpoint::load_weights_only)
}

fn newest_loading(
    run_dir: &Path,
    load: fn(&Path) -> Result<Checkpoint>,
) -> Result<(Option<Checkpoint>, Vec<Skipped>)> {
    let mut skipped = Vec::new();
    for entry in list(run_dir)?.into_iter().rev() {
        let result = match &entry.meta {
            Ok(_) => load(&entry.path).map_err(|e| format!("{e:#}")),
            Err(reason) => Err(reason.clone()),
        };
        match result {
            Ok(checkpoint) => return Ok((Some(checkpoint), skipped)),
            Err(reason) => skipped.push(Skipped {
                path: entry.path,
                reason,
            }),
        }
    }
    Ok((None, skipped))
}

/// The epoch checkpoint with the lowest validation loss (the latest of equals).
pub fn best(entries: &[Entry]) -> Option<&Entry> {
    entries
        .iter()
        .filter_map(|e| Some((e, e.meta.as_ref().ok()?.valid_loss?)))
        .filter(|(_, loss)| loss.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1).then(std::cmp::Ordering::Greater))
        .map(|(e, _)| e)
}

/// Deletes all but the newest `keep_last` readable checkpoints (0 keeps all), sparing the best
/// one when `keep_best`; damaged ones are left for the user to look at. Returns what it deleted.
pub fn retain(run_dir: &Path, keep_last: usize, keep_best: bool) -> Result<Vec<PathBuf>> {
    if keep_last == 0 {
        return Ok(Vec::new());
    }
    let entries: Vec<Entry> = list(run_dir)?
        .into_iter()
        .filter(|e| e.meta.is_ok())
        .collect();
    let best_path = if keep_best {
        best(&entries).map(|e| e.path.clone())
    } else {
        None
    };
    let cut = entries.len().saturating_sub(keep_last);
    let mut removed = Vec::new();
    for entry in &entries[..cut] {
        if Some(&entry.path) == best_path.as_ref() {
            continue;
        }
        remove_checkpoint_dir(&entry.path)?;
        removed.push(entry.path.clone());
    }
    Ok(removed)
}

/// The checkpoints of one run folder, oldest first (damaged ones with the reason they cannot be
/// read), as a notebook shows them.
#[derive(Debug)]
pub struct RunCheckpoints {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Its checkpoints.
    pub entries: Vec<Entry>,
}

/// Lists the checkpoints in a run folder (a missing folder has none).
pub fn run_checkpoints(run_dir: &Path) -> Result<RunCheckpoints> {
    Ok(RunCheckpoints {
        run_dir: run_dir.to_path_buf(),
        entries: list(run_dir)?,
    })
}
