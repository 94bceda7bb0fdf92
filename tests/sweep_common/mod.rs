//! Helpers shared by the sweep tests: a tiny corpus with a base run config and a sweep file of
//! four runs, the binary, a reference run trained straight through, and the state and weights a
//! run leaves.
#![allow(dead_code)]

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tunesmith::sweep::status::{read_events, Event};

/// Epochs of every tiny run.
pub const EPOCHS: usize = 6;

/// Writes the tiny ABC corpus, `run.json` (a tiny character model) and `sweep.json` (learning
/// rate × seed: four runs, into `dir/tiny/`, with `slurm` as the sweep's Slurm section) into
/// `dir`; returns the sweep file.
pub fn write_tiny_sweep(dir: &Path, slurm: Value) -> Result<PathBuf> {
    crate::ckpt_common::write_tiny_corpus(dir, 48)?;
    let base = json!({
        "corpus": {"abc": "tunes"}, "encoding": {"kind": "chars"},
        "valid_fraction": 0.2, "device": "cpu", "threads": 1,
        "model": {"architecture": "lstm_lm", "embed_dim": 8, "hidden_size": 16,
                  "num_layers": 2, "dropout": 0.2},
        "batches": {"batch_size": 4, "seq_len": 24},
        "train": {"epochs": EPOCHS, "seed": 5, "verbose": false, "adam": {"lr": 0.01}},
        "checkpoint": {"dir": "checkpoints", "run": "tiny", "every_steps": 3, "keep_last": 3},
    });
    std::fs::write(dir.join("run.json"), serde_json::to_string_pretty(&base)?)?;
    let sweep = json!({
        "name": "tiny", "base": "run.json", "dir": "tiny",
        "grid": {"train.adam.lr": [0.01, 0.02]}, "seeds": [1, 2],
        "slurm": slurm,
    });
    let path = dir.join("sweep.json");
    std::fs::write(&path, serde_json::to_string_pretty(&sweep)?)?;
    Ok(path)
}

/// The `tunesmith` binary with these arguments.
pub fn tunesmith(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    command.args(args);
    command
}

/// Runs a command and returns its output.
pub fn output(command: &mut Command) -> Result<Output> {
    command
        .output()
        .with_context(|| format!("cannot run {command:?}"))
}

/// A run's final weights, bytes.
pub fn final_weights(run_dir: &Path) -> Result<Vec<u8>> {
    let path = run_dir
        .join(format!("epoch-{EPOCHS:04}"))
        .join("weights.safetensors");
    std::fs::read(&path).with_context(|| format!("{}", path.display()))
}

/// Trains the run config `config` straight through into `out/<run>` (no sweep, no signal) and
/// returns its run folder.
pub fn reference_run(config: &Path, out: &Path) -> Result<PathBuf> {
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(config)?)?;
    value["checkpoint"]["dir"] = json!(out.display().to_string());
    let run = value["checkpoint"]["run"]
        .as_str()
        .context("a run name")?
        .to_string();
    let copy = out.join(format!("{run}.json"));
    std::fs::create_dir_all(out)?;
    std::fs::write(&copy, serde_json::to_string_pretty(&value)?)?;
    let result = output(tunesmith(&["train", "--config"]).arg(&copy))?;
    anyhow::ensure!(
        result.status.success(),
        "reference run failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    Ok(out.join(run))
}

/// A run's state lines, as (event, signal, code, restart).
pub fn states(sweep_dir: &Path, run: &str) -> Vec<(String, String, Option<i32>, u32)> {
    read_events(&sweep_dir.join("state").join(format!("{run}.jsonl")))
        .into_iter()
        .map(|e: Event| (e.event, e.signal.unwrap_or_default(), e.code, e.restart))
        .collect()
}

/// The newest epoch a run's checkpoints reached (0 without any).
pub fn epochs_done(run_dir: &Path) -> usize {
    tunesmith::checkpoint::store::list(run_dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.meta.as_ref().ok().map(|m| m.progress.epoch))
        .max()
        .unwrap_or(0)
}

/// `tunesmith sweep status --json DIR`, parsed (an error carrying its stderr when it fails).
pub fn status_json(sweep: &Path) -> Result<Value> {
    let out = output(tunesmith(&["sweep", "status", "--json"]).arg(sweep))?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// One expected state line: (event, signal, exit code, restart).
pub fn s(
    event: &str,
    signal: &str,
    code: Option<i32>,
    restart: u32,
) -> (String, String, Option<i32>, u32) {
    (event.into(), signal.into(), code, restart)
}
