//! A folder of MIDI files read in parallel, with every bad file skipped and reported.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use walkdir::WalkDir;

use super::keys::KeyEvents;
use super::limits::MidiLimits;
use super::read::{read_capped, read_midi_bytes_with_options, MidiRead, MidiReadOptions};
use crate::report::LoadReport;
use crate::score::Score;

/// The scores read from a folder, sorted by path, and what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidiCorpus {
    /// Each file read, with its path, sorted by path.
    pub scores: Vec<(PathBuf, Score)>,
    /// Files found, files read, and each file skipped with its reason.
    pub report: LoadReport,
    /// How each file of `scores` was read (same order): its format and what reading its key
    /// events did.
    #[serde(default)]
    pub files: Vec<MidiFileReading>,
}

/// How one file of a [`MidiCorpus`] was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidiFileReading {
    /// The file's format (0 or 1).
    pub format: u16,
    /// Notes read, struck again, held by the pedal, and stray events.
    pub key_events: KeyEvents,
}

/// Reads every `.mid` / `.midi` file (any letter case) under `dir`, recursively and in parallel,
/// with the default [`MidiLimits`].
///
/// A file that cannot be read is skipped and listed in the report with its reason (e.g.
/// `truncated file: ...`); unreadable folders inside `dir` are listed too (these do not count in
/// `report.files`). Symbolic links are followed. The result does not depend on thread timing.
///
/// # Errors
/// Only when `dir` does not exist or is not a folder.
pub fn load_midi_corpus(dir: &Path) -> Result<MidiCorpus> {
    load_midi_corpus_with_limits(dir, &MidiLimits::default())
}

/// Like [`load_midi_corpus`], refusing files beyond `limits` (the size cap is checked from each
/// file's metadata before it is read).
///
/// # Errors
/// Only when `dir` does not exist or is not a folder.
pub fn load_midi_corpus_with_limits(dir: &Path, limits: &MidiLimits) -> Result<MidiCorpus> {
    let options = MidiReadOptions {
        limits: *limits,
        ..MidiReadOptions::default()
    };
    load_midi_corpus_with_options(dir, &options)
}

/// Like [`load_midi_corpus`], reading each file with `options` (limits and sustain pedal).
///
/// # Errors
/// Only when `dir` does not exist or is not a folder.
pub fn load_midi_corpus_with_options(dir: &Path, options: &MidiReadOptions) -> Result<MidiCorpus> {
    if !dir.is_dir() {
        if dir.exists() {
            bail!("cannot load MIDI corpus: {} is not a folder", dir.display());
        }
        bail!(
            "cannot load MIDI corpus: folder {} does not exist",
            dir.display()
        );
    }
    let mut report = LoadReport::default();
    let mut paths = Vec::new();
    for entry in WalkDir::new(dir).follow_links(true) {
        match entry {
            Ok(entry) if entry.file_type().is_file() && is_midi_name(entry.path()) => {
                paths.push(entry.into_path());
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                report.skip(path, "", format!("unreadable folder entry: {e}"));
            }
        }
    }
    paths.sort();
    let results: Vec<Result<MidiRead, String>> = paths
        .par_iter()
        .map(|path| read_guarded(path, options))
        .collect();
    report.files = paths.len();
    let mut scores = Vec::with_capacity(paths.len());
    let mut files = Vec::with_capacity(paths.len());
    for (path, result) in paths.into_iter().zip(results) {
        match result {
            Ok(read) => {
                files.push(MidiFileReading {
                    format: read.format,
                    key_events: read.key_events,
                });
                scores.push((path, read.score));
            }
            Err(reason) => report.skip(path, "", reason),
        }
    }
    report.read = scores.len();
    Ok(MidiCorpus {
        scores,
        report,
        files,
    })
}

/// True for names ending in `.mid` or `.midi`, in any letter case.
fn is_midi_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

/// Reads one file; any error or panic becomes the reason it is skipped.
fn read_guarded(path: &Path, options: &MidiReadOptions) -> Result<MidiRead, String> {
    guarded(|| {
        read_capped(path, options.limits.max_bytes)
            .and_then(|bytes| read_midi_bytes_with_options(&bytes, options))
    })
}

/// Runs `read`, turning an error or a panic into a reason string.
fn guarded<T>(read: impl FnOnce() -> Result<T>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(read)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("reader panicked (a bug, please report): {detail}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn midi_names_in_any_case() {
        for name in ["a.mid", "b.MID", "c.Midi", "dir/e.MIDI"] {
            assert!(is_midi_name(Path::new(name)), "{name}");
        }
        for name in ["a.mid.txt", "mid", "b.kar", "c.midx", ".mid"] {
            assert!(!is_midi_name(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn missing_folder_and_file_are_errors_naming_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = load_midi_corpus(&missing).expect_err("missing");
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
        let file = dir.path().join("file.mid");
        std::fs::write(&file, b"x").expect("write");
        let err = load_midi_corpus(&file).expect_err("a file");
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }

    #[test]
    fn size_cap_is_checked_before_reading() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = crate::midi::score_to_midi_bytes(&crate::midi::synthetic_score(3, 10))
            .expect("encodable");
        std::fs::write(dir.path().join("big.mid"), &good).expect("write");
        let corpus = load_midi_corpus_with_limits(dir.path(), &MidiLimits::with_max_bytes(100))
            .expect("folder exists");
        assert_eq!(corpus.report.read, 0);
        assert!(corpus.report.skipped[0]
            .reason
            .starts_with("file too large"));
    }

    #[test]
    fn a_panic_becomes_a_skip_reason() {
        let reason = guarded::<Score>(|| panic!("boom {}", 42)).expect_err("panicked");
        assert_eq!(reason, "reader panicked (a bug, please report): boom 42");
        let reason =
            guarded::<Score>(|| Err(anyhow::anyhow!("inner")).context("outer")).expect_err("err");
        assert_eq!(reason, "outer: inner");
    }
}
