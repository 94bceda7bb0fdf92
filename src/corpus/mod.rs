//! The default corpora (the ABC collections shipped inside the `music21` pip package) and any
//! folder of the user's `.abc` files; and an ABC corpus written out as MIDI files ([`to_midi`]).

pub mod to_midi;

pub use to_midi::{write_default_midi_corpus, write_midi_corpus_from_abc, AbcSource};

use crate::abc::{clean_tune, split_tunebook, CleanOptions, CleanTune};
use crate::report::LoadReport;
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The music21 collections that make up the default ABC corpus.
pub const DEFAULT_ABC_COLLECTIONS: [&str; 3] = ["essenFolksong", "oneills1850", "ryansMammoth"];

/// Environment variable that points straight at music21's `corpus` folder.
pub const MUSIC21_CORPUS_ENV: &str = "TUNESMITH_MUSIC21_CORPUS";

/// Cleaned tunes and the report of what was read and skipped.
#[derive(Debug, Clone, Default)]
pub struct AbcCorpus {
    /// Tunes that passed cleaning, in file order.
    pub tunes: Vec<CleanTune>,
    /// Files and tunes read, and every tune or file skipped with its reason.
    pub report: LoadReport,
}

impl AbcCorpus {
    /// Total characters of cleaned text.
    pub fn total_chars(&self) -> usize {
        self.tunes.iter().map(|t| t.text.len()).sum()
    }

    /// The first `n` tunes (all when fewer), as a new corpus sharing the report.
    pub fn take(&self, n: usize) -> AbcCorpus {
        AbcCorpus {
            tunes: self.tunes.iter().take(n).cloned().collect(),
            report: self.report.clone(),
        }
    }
}

/// Finds music21's `corpus` folder: `$TUNESMITH_MUSIC21_CORPUS`, then a `.venv` in the current
/// folder or any parent, then `$VIRTUAL_ENV`, then asking `python3` where music21 is installed.
pub fn music21_corpus_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var(MUSIC21_CORPUS_ENV) {
        let dir = PathBuf::from(dir);
        if dir.is_dir() {
            return Ok(dir);
        }
        bail!("{MUSIC21_CORPUS_ENV}={} is not a folder", dir.display());
    }
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        venvs.extend(cwd.ancestors().map(|a| a.join(".venv")));
    }
    if let Ok(venv) = std::env::var("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(venv));
    }
    for venv in venvs.iter().filter(|v| v.is_dir()) {
        if let Some(dir) = music21_in_venv(venv) {
            return Ok(dir);
        }
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = Command::new(&python)
        .args([
            "-c",
            "import music21, os; print(os.path.dirname(music21.__file__))",
        ])
        .output();
    if let Ok(out) = output {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("corpus");
            if dir.is_dir() {
                return Ok(dir);
            }
        }
    }
    bail!(
        "cannot find the music21 corpus: install music21 (`make setup` puts it in .venv/), or set \
         {MUSIC21_CORPUS_ENV} to its corpus folder"
    )
}

fn music21_in_venv(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/music21/corpus"))
        .find(|p| p.is_dir())
}

/// The folders of the default ABC corpus inside music21.
pub fn default_abc_dirs() -> Result<Vec<PathBuf>> {
    let root = music21_corpus_dir()?;
    Ok(DEFAULT_ABC_COLLECTIONS
        .iter()
        .map(|c| root.join(c))
        .collect())
}

/// Loads and cleans the default corpus: Essen, O'Neill's 1850 and Ryan's Mammoth (about 11,500 tunes).
pub fn load_default_abc_corpus(options: &CleanOptions) -> Result<AbcCorpus> {
    load_abc_dirs(&default_abc_dirs()?, options)
}

/// Loads and cleans every `.abc` file in the given folders (searched recursively).
pub fn load_abc_dirs(dirs: &[PathBuf], options: &CleanOptions) -> Result<AbcCorpus> {
    let mut files = Vec::new();
    for dir in dirs {
        files.extend(abc_files_in(dir)?);
    }
    Ok(load_abc_files(&files, options))
}

/// Lists `.abc` files under a folder, recursively, sorted; an error if the folder is missing.
pub fn abc_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!(
            "corpus folder {} does not exist or is not a folder",
            dir.display()
        );
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("abc")))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads and cleans the given files in parallel; unreadable files and bad tunes are skipped and
/// reported, never fatal.
pub fn load_abc_files(files: &[PathBuf], options: &CleanOptions) -> AbcCorpus {
    let parts: Vec<AbcCorpus> = files
        .par_iter()
        .map(|path| load_abc_file(path, options))
        .collect();
    let mut corpus = AbcCorpus::default();
    for part in parts {
        corpus.tunes.extend(part.tunes);
        corpus.report.merge(part.report);
    }
    corpus
}

/// Reads one tunebook file and cleans its tunes; problems go into the report.
pub fn load_abc_file(path: &Path, options: &CleanOptions) -> AbcCorpus {
    let mut corpus = AbcCorpus::default();
    corpus.report.files = 1;
    let text = match read_text(path) {
        Ok(t) => t,
        Err(e) => {
            corpus.report.skip(path, "", format!("{e:#}"));
            return corpus;
        }
    };
    let tunes = split_tunebook(&text, path);
    if tunes.is_empty() {
        corpus
            .report
            .skip(path, "", "no tunes: no line starts with X:");
    }
    for tune in tunes {
        match tune.and_then(|t| clean_tune(&t, options).with_context(|| t.label())) {
            Ok(clean) => {
                corpus.report.read += 1;
                corpus.tunes.push(clean);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                let (item, reason) = match msg.split_once(": ") {
                    Some((item, reason)) => (item.to_string(), reason.to_string()),
                    None => (String::new(), msg),
                };
                corpus.report.skip(path, item, reason);
            }
        }
    }
    corpus
}

/// Reads a text file as UTF-8, falling back to Latin-1 (old tunebooks use it).
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_folder_skipping_bad_tunes_and_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("good.abc"),
            "X:1\nT:A\nM:2/4\nL:1/8\nK:G\nGABc|d2d2|]\n\nX:2\nT:No key\n\nX:3\nT:B\nK:D\nDEFG|\n",
        )?;
        std::fs::write(dir.path().join("empty.abc"), "just words\n")?;
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("sub/more.ABC"), "X:1\nK:C\nCDEF|\n")?;
        std::fs::write(dir.path().join("notes.txt"), "X:1\nK:C\nCDEF|\n")?;
        let corpus = load_abc_dirs(&[dir.path().to_path_buf()], &CleanOptions::default())?;
        assert_eq!(corpus.report.files, 3);
        assert_eq!(corpus.tunes.len(), 3);
        assert_eq!(corpus.report.read, 3);
        assert_eq!(corpus.report.skipped.len(), 2);
        let reasons: Vec<&str> = corpus
            .report
            .skipped
            .iter()
            .map(|s| s.reason.as_str())
            .collect();
        assert!(reasons.iter().any(|r| r.contains("no K:")), "{reasons:?}");
        assert!(
            reasons.iter().any(|r| r.contains("no tunes")),
            "{reasons:?}"
        );
        Ok(())
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let err = load_abc_dirs(
            &[PathBuf::from("/no/such/folder")],
            &CleanOptions::default(),
        )
        .expect_err("missing folder");
        assert!(err.to_string().contains("/no/such/folder"));
    }
}
