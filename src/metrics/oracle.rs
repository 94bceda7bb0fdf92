//! music21 as an independent judge of ABC tunes: the share it parses, the share whose every bar
//! adds up by its reading, the share with a regular phrase structure, and the pitch-class
//! statistics of its notes. The crate's own reader is not involved, so a bug shared by the
//! crate's writer (the sampler) and its reader cannot make bad tunes look good.
//!
//! The Python side is `scripts/music21_quality.py` (compiled into the crate and written to a
//! temporary file when run), following `../shared/tools/abc_bars_music21.py`'s rule for bars.

use super::quality::Summary;
use super::tune_stats::{pitch_class_entropy, scale_consistency};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The script, as shipped in `scripts/`.
const SCRIPT: &str = include_str!("../../scripts/music21_quality.py");

/// Environment variable naming the Python to run music21 with.
pub const PYTHON_ENV: &str = "TUNESMITH_PYTHON";

/// What music21 made of one tune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleTune {
    /// The file the tune came from.
    pub file: String,
    /// The tune's position in its file (0-based).
    pub index: usize,
    /// music21 parsed it.
    pub parses: bool,
    /// Every measure lasts one bar of its meter (pick-ups, closing bars and bars beside repeat
    /// signs and double bars may be shorter), with at least two measures.
    pub bars_add_up: bool,
    /// Measures in the first part.
    pub measures: usize,
    /// A repeat sign, or a multiple of 4 measures (a pick-up not counted).
    pub regular_phrases: bool,
    /// Notes per pitch class C..B.
    pub pitch_classes: [usize; 12],
    /// music21's error, when it did not parse.
    #[serde(default)]
    pub error: Option<String>,
}

/// music21's verdict on a set of tunes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleReport {
    /// Every tune, in file order.
    pub tunes: Vec<OracleTune>,
}

/// The summary of an [`OracleReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleQuality {
    /// Tunes judged.
    pub tunes: usize,
    /// Share that music21 parses.
    pub parse_share: f64,
    /// Share whose every bar adds up by music21's reading.
    pub bars_add_up_share: f64,
    /// Share with a regular phrase structure.
    pub regular_phrase_share: f64,
    /// Pitch-class entropy (bits) of the tunes music21 reads notes from.
    pub pitch_class_entropy: Summary,
    /// Largest share of notes in one major or natural-minor scale.
    pub scale_consistency: Summary,
}

impl OracleReport {
    /// Shares and pitch statistics.
    pub fn summary(&self) -> OracleQuality {
        let n = self.tunes.len();
        let share = |f: fn(&OracleTune) -> bool| {
            self.tunes.iter().filter(|t| f(t)).count() as f64 / n.max(1) as f64
        };
        let with_notes: Vec<&[usize; 12]> = self
            .tunes
            .iter()
            .map(|t| &t.pitch_classes)
            .filter(|c| c.iter().sum::<usize>() > 0)
            .collect();
        let of = |f: fn(&[usize; 12]) -> f64| {
            Summary::of(&with_notes.iter().map(|c| f(c)).collect::<Vec<_>>())
        };
        OracleQuality {
            tunes: n,
            parse_share: share(|t| t.parses),
            bars_add_up_share: share(|t| t.bars_add_up),
            regular_phrase_share: share(|t| t.regular_phrases),
            pitch_class_entropy: of(pitch_class_entropy),
            scale_consistency: of(scale_consistency),
        }
    }
}

/// A Python that imports music21: `$TUNESMITH_PYTHON`, a `.venv` in the current folder or a
/// parent, `$VIRTUAL_ENV`, then `python3`.
pub fn find_python_with_music21() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var(PYTHON_ENV) {
        candidates.push(PathBuf::from(p));
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.extend(cwd.ancestors().map(|a| a.join(".venv/bin/python")));
    }
    if let Ok(venv) = std::env::var("VIRTUAL_ENV") {
        candidates.push(Path::new(&venv).join("bin/python"));
    }
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import music21"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs music21 over the tunes of `paths` (`.abc` files, or folders of them) with `python`.
pub fn music21_quality(python: &Path, paths: &[&Path]) -> Result<OracleReport> {
    let dir = tempfile::tempdir().context("cannot make a temporary folder for the script")?;
    let script = dir.path().join("music21_quality.py");
    std::fs::write(&script, SCRIPT).context("cannot write the music21 script")?;
    let jsonl = dir.path().join("tunes.jsonl");
    let output = Command::new(python)
        .arg(&script)
        .args(paths)
        .arg("--jsonl")
        .arg(&jsonl)
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "the music21 script failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = std::fs::read_to_string(&jsonl).context("the music21 script wrote no results")?;
    let tunes = text
        .lines()
        .map(|line| serde_json::from_str(line).context("a line of the music21 results"))
        .collect::<Result<Vec<OracleTune>>>()?;
    Ok(OracleReport { tunes })
}

/// Runs music21 over `tunes` (texts of single tunes, with or without `X:`/`T:` lines).
pub fn music21_quality_of<S: AsRef<str>>(python: &Path, tunes: &[S]) -> Result<OracleReport> {
    let dir = tempfile::tempdir().context("cannot make a temporary folder for the tunes")?;
    let path = dir.path().join("tunes.abc");
    let mut book = String::new();
    for (i, tune) in tunes.iter().enumerate() {
        let body: String = tune
            .as_ref()
            .lines()
            .filter(|l| !l.starts_with("X:"))
            .map(|l| format!("{l}\n"))
            .collect();
        book.push_str(&format!("X:{}\n{}\n", i + 1, body.trim_end()));
        book.push_str("\n\n");
    }
    std::fs::write(&path, book).context("cannot write the tunes for music21")?;
    music21_quality(python, &[path.as_path()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tune(parses: bool, adds_up: bool, regular: bool, classes: [usize; 12]) -> OracleTune {
        OracleTune {
            file: "f".into(),
            index: 0,
            parses,
            bars_add_up: adds_up,
            measures: 4,
            regular_phrases: regular,
            pitch_classes: classes,
            error: None,
        }
    }

    #[test]
    fn summary_of_shares_and_pitch_statistics() {
        let c_major = [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1];
        let report = OracleReport {
            tunes: vec![
                tune(true, true, true, c_major),
                tune(true, false, true, [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                tune(false, false, false, [0; 12]),
                tune(true, true, false, c_major),
            ],
        };
        let q = report.summary();
        assert_eq!(q.tunes, 4);
        assert_eq!(
            (q.parse_share, q.bars_add_up_share, q.regular_phrase_share),
            (0.75, 0.5, 0.5)
        );
        // Three tunes have notes: two spread over seven classes, one on a single class.
        assert_eq!(q.pitch_class_entropy.n, 3);
        assert!((q.pitch_class_entropy.max - 7f64.log2()).abs() < 1e-9);
        assert_eq!(q.pitch_class_entropy.min, 0.0);
        assert_eq!(q.scale_consistency.min, 1.0);
    }

    #[test]
    fn the_results_format_reads_back() -> Result<()> {
        let line = r#"{"file": "a.abc", "index": 2, "parses": false, "bars_add_up": false, "measures": 0, "regular_phrases": false, "pitch_classes": [0,0,0,0,0,0,0,0,0,0,0,0], "error": "bad"}"#;
        let t: OracleTune = serde_json::from_str(line)?;
        assert_eq!((t.index, t.error.as_deref()), (2, Some("bad")));
        Ok(())
    }
}
