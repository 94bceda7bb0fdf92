//! Shared helpers for the tests that execute tutorial notebooks through the real evcxr kernel.

#![allow(dead_code)]

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An executed notebook: its JSON and the folder its cells wrote files into.
pub struct ExecutedNotebook {
    /// The executed `.ipynb` as JSON.
    pub json: Value,
    /// `TUNESMITH_OUT` for the run: where the notebook wrote its files.
    pub files: PathBuf,
    /// Keeps the temporary folder alive.
    _dir: tempfile::TempDir,
}

impl ExecutedNotebook {
    /// Every output of every code cell.
    pub fn outputs(&self) -> Vec<&Value> {
        self.json["cells"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["outputs"].as_array().into_iter().flatten())
            .collect()
    }

    /// Outputs of type `error`, as text.
    pub fn errors(&self) -> Vec<String> {
        self.outputs()
            .into_iter()
            .filter(|o| o["output_type"] == "error")
            .map(|o| format!("{}: {}", o["ename"], o["evalue"]))
            .collect()
    }

    /// The data of every display output with this MIME type.
    pub fn displays(&self, mime: &str) -> Vec<String> {
        self.outputs()
            .into_iter()
            .filter_map(|o| o["data"].get(mime))
            .map(text_of)
            .collect()
    }

    /// Everything the cells printed to stdout, joined.
    pub fn stdout(&self) -> String {
        self.outputs()
            .into_iter()
            .filter(|o| o["output_type"] == "stream" && o["name"] == "stdout")
            .map(|o| text_of(&o["text"]))
            .collect()
    }

    /// Reads a JSON file the notebook wrote.
    pub fn read_json(&self, name: &str) -> Value {
        let path = self.files.join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The `summary.json` the notebook wrote.
    pub fn summary(&self) -> Summary {
        Summary(self.read_json("summary.json"))
    }

    /// The files the notebook wrote (at the top of its folder) with this extension, e.g. `"abc"`.
    pub fn written_files(&self, extension: &str) -> Vec<PathBuf> {
        std::fs::read_dir(&self.files)
            .unwrap_or_else(|e| panic!("output folder {}: {e}", self.files.display()))
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == extension))
            .collect()
    }

    /// Asserts that the notebook wrote the file `name` (relative to its folder) with more than
    /// `bytes` bytes in it.
    pub fn assert_file_larger_than(&self, name: &str, bytes: u64) {
        let path = self.files.join(name);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        assert!(
            size > bytes,
            "{} missing or empty ({size} bytes)",
            path.display()
        );
    }

    /// Reads a MIDI file the notebook wrote (relative to its folder); panics naming it.
    pub fn read_midi(&self, name: &str) -> tunesmith::score::Score {
        let path = self.files.join(name);
        tunesmith::midi::read_midi_file(&path)
            .unwrap_or_else(|e| panic!("{} unreadable: {e:#}", path.display()))
    }
}

/// A notebook's `summary.json`: indexes and prints as the JSON, and reads numbers by name.
pub struct Summary(pub Value);

impl Summary {
    /// The number at `key`; a nested one as `"outer/inner"`. Panics naming the key when it is
    /// missing or not a number.
    pub fn number(&self, key: &str) -> f64 {
        self.0
            .pointer(&format!("/{key}"))
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("summary.json lacks the number {key}: {}", self.0))
    }

    /// Asserts that the number at `lower` is below the number at `upper` (a loss that fell, a
    /// model that beats a baseline); the panic says `what` and shows both and the summary.
    pub fn assert_below(&self, lower: &str, upper: &str, what: &str) {
        let (low, high) = (self.number(lower), self.number(upper));
        assert!(
            low < high,
            "{what}: {lower} {low} is not below {upper} {high} in {self}"
        );
    }

    /// Asserts that the training session resumed from a checkpoint taken inside an epoch.
    pub fn assert_resumed_mid_epoch(&self) {
        let resumed_from = self.0["resumed_from"].as_str().unwrap_or_default();
        assert!(resumed_from.contains("step-"), "resumed mid-epoch: {self}");
    }
}

impl std::ops::Deref for Summary {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The first of `texts` (a notebook's displays of one MIME type) that holds `marker`; panics
/// saying `what` is missing.
pub fn find_shown<'a>(texts: &'a [String], marker: &str, what: &str) -> &'a str {
    texts
        .iter()
        .find(|t| t.contains(marker))
        .unwrap_or_else(|| panic!("{what} missing: no display holds {marker:?}"))
}

/// Asserts that `text` (one display) holds every one of `needles`, naming the first it lacks.
pub fn assert_holds(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
}

/// How many of `texts` (a notebook's displays of one MIME type) hold every one of `needles`.
pub fn count_shown(texts: &[String], needles: &[&str]) -> usize {
    texts
        .iter()
        .filter(|t| needles.iter().all(|n| t.contains(n)))
        .count()
}

/// Asserts that one of `texts` (a notebook's displays of one MIME type) holds every one of
/// `needles`; the panic says `what` failed and lists the needles.
pub fn assert_shown(texts: &[String], needles: &[&str], what: &str) {
    assert!(
        count_shown(texts, needles) > 0,
        "{what}: no display holds all of {needles:?}"
    );
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
        other => other.to_string(),
    }
}

/// The most an executed tutorial may weigh, with all its outputs.
pub const MAX_EXECUTED_BYTES: u64 = 10_000_000;

/// Executes `notebooks/<name>.ipynb` through `scripts/run_notebook.sh` into a temporary folder,
/// and asserts that no cell failed. Fails (never skips) when the setup is missing.
pub fn execute_notebook(name: &str) -> ExecutedNotebook {
    execute_notebook_with(name, &[])
}

/// Executes a notebook as [`execute_notebook`] does, with extra environment variables (the short
/// settings a tutorial reads through `NotebookRun::setting`).
pub fn execute_notebook_with(name: &str, env: &[(&str, &str)]) -> ExecutedNotebook {
    let root = repo_root();
    for needed in [
        ".venv/bin/jupyter",
        ".tools/jupyter/kernels/tunesmith/kernel.json",
    ] {
        assert!(
            root.join(needed).exists(),
            "{needed} is missing: run `make setup` (scripts/setup.sh) before the notebook tests"
        );
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    // `TUNESMITH_KEEP_NOTEBOOKS=DIR` keeps the executed notebooks and their files there.
    let out = std::env::var_os("TUNESMITH_KEEP_NOTEBOOKS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().to_path_buf());
    let notebook = root.join("notebooks").join(format!("{name}.ipynb"));
    let status = Command::new("bash")
        .arg(root.join("scripts/run_notebook.sh"))
        .arg(&notebook)
        .arg(&out)
        .envs(env.iter().copied())
        .status()
        .expect("run scripts/run_notebook.sh");
    let executed = out.join(format!("{name}.ipynb"));
    let json: Value = read_executed(&executed);
    // Light notebooks (issue 12): compressed players and engraved sheet music keep every executed
    // tutorial under 10 MB.
    let size = std::fs::metadata(&executed).map_or(0, |m| m.len());
    assert!(
        size < MAX_EXECUTED_BYTES,
        "the executed notebook {name} is {size} bytes, over {MAX_EXECUTED_BYTES}"
    );
    let run = ExecutedNotebook {
        json,
        files: out.join(name),
        _dir: dir,
    };
    assert!(
        status.success(),
        "notebook {name} failed: {:?}",
        run.errors()
    );
    assert!(run.errors().is_empty(), "cells failed: {:?}", run.errors());
    run
}

fn read_executed(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the executed notebook {} is missing: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts that one of a notebook's HTML displays plays a piece through the shipped neural
/// synthesizer `synth` (e.g. `piano_synth`) beside the SoundFont, each with a player.
pub fn assert_neural_beside_soundfont(html: &[String], synth: &str) {
    let label = format!("neural ({synth})");
    assert!(
        html.iter().any(|h| h.contains("tunesmith-compare")
            && h.contains(&label)
            && h.contains("SoundFont")
            && h.matches("<audio").count() >= 2),
        "the piece through the shipped neural synthesizer {synth}, beside the SoundFont, missing"
    );
}
