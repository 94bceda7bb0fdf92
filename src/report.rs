//! What a corpus load read and what it skipped, file by file, with reasons.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// One item (a file, or a tune inside a file) that a load skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file the item came from.
    pub path: PathBuf,
    /// Which item inside the file, when the file holds several (e.g. "tune X:12"); empty for a whole file.
    pub item: String,
    /// Why it was skipped, in words a user can act on.
    pub reason: String,
}

/// The outcome of reading a corpus: how many items were read, and each one skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Files opened.
    pub files: usize,
    /// Items kept (tunes for ABC, files for MIDI).
    pub read: usize,
    /// Items skipped, with reasons.
    pub skipped: Vec<Skipped>,
}

impl LoadReport {
    /// Records a skipped item.
    pub fn skip(
        &mut self,
        path: impl Into<PathBuf>,
        item: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.skipped.push(Skipped {
            path: path.into(),
            item: item.into(),
            reason: reason.into(),
        });
    }

    /// Adds another report's counts and skips to this one.
    pub fn merge(&mut self, other: LoadReport) {
        self.files += other.files;
        self.read += other.read;
        self.skipped.extend(other.skipped);
    }

    /// Skips grouped by reason (the text before any ':' detail), most frequent first.
    pub fn reasons(&self) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for s in &self.skipped {
            let key = s.reason.split(':').next().unwrap_or("").trim().to_string();
            *counts.entry(key).or_default() += 1;
        }
        let mut out: Vec<_> = counts.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} files, {} read, {} skipped",
            self.files,
            self.read,
            self.skipped.len()
        )?;
        for (reason, n) in self.reasons() {
            writeln!(f, "  {n:>6} × {reason}")?;
        }
        Ok(())
    }
}
