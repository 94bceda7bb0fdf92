//! A run that starts from another run's weights (`init_from`, fine-tuning) and a stream of tunes
//! joined in a shuffled order (`batches.shuffle_pieces`): the recipe of the shipped character
//! model's second stage, tried through the `tunesmith` binary on a tiny corpus.

mod ckpt_common;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use tunesmith::checkpoint::snapshot::read_meta;

/// Writes a config for a tiny character run named `run` into `dir`, with `extra` on top.
fn config(
    dir: &Path,
    run: &str,
    epochs: usize,
    lr: f64,
    extra: Value,
) -> Result<std::path::PathBuf> {
    let mut config = json!({
        "valid_fraction": 0.2, "device": "cpu", "threads": 1,
        "corpus": {"abc": "tunes"}, "encoding": {"kind": "chars"},
        "model": {"architecture": "lstm_lm", "embed_dim": 8, "hidden_size": 16,
                  "num_layers": 1, "dropout": 0.0},
        "batches": {"batch_size": 4, "seq_len": 24},
        "train": {"epochs": epochs, "seed": 5, "verbose": false, "adam": {"lr": lr}},
        "checkpoint": {"dir": "checkpoints", "run": run, "every_steps": 1000, "keep_last": 2},
    });
    if let (Some(base), Value::Object(extra)) = (config.as_object_mut(), extra) {
        for (key, value) in extra {
            match (base.get_mut(&key), value) {
                (Some(Value::Object(section)), Value::Object(more)) => section.extend(more),
                (_, value) => {
                    base.insert(key, value);
                }
            }
        }
    }
    let path = dir.join(format!("{run}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    Ok(path)
}

fn train(config: &Path) -> Result<std::process::Output> {
    let output = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .args(["train", "--config"])
        .arg(config)
        .output()
        .context("cannot start tunesmith")?;
    Ok(output)
}

/// Trains with `config`, asserts that it succeeded (the panic shows its stderr) and returns what
/// it printed.
fn train_ok(config: &Path) -> Result<String> {
    let output = train(config)?;
    assert!(
        output.status.success(),
        "{}: {}",
        config.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The validation loss of a run's last epoch.
fn last_valid_loss(dir: &Path, run: &str, epochs: usize) -> Result<f64> {
    let meta = read_meta(&dir.join(format!("checkpoints/{run}/epoch-{epochs:04}")))?;
    meta.history
        .records
        .last()
        .map(|r| r.valid_loss)
        .context("no epoch recorded")
}

#[test]
fn a_run_starts_from_another_runs_weights_and_reads_its_tunes_shuffled() -> Result<()> {
    let _serial = ckpt_common::serial();
    let dir = tempfile::tempdir()?;
    ckpt_common::write_tiny_corpus(dir.path(), 48)?;
    // A first run learns the tiny corpus.
    let first = config(dir.path(), "first", 6, 0.02, json!({}))?;
    train_ok(&first)?;
    let learned = last_valid_loss(dir.path(), "first", 6)?;

    // With a learning rate too small to move the weights, one epoch from the first run's
    // weights ends where the first run ended; one epoch from fresh weights does not.
    let still = json!({"batches": {"shuffle_pieces": true}});
    let mut from_first = still.clone();
    from_first["init_from"] = json!("checkpoints/first");
    let continued = config(dir.path(), "continued", 1, 1e-9, from_first)?;
    let stdout = train_ok(&continued)?;
    assert!(stdout.contains("starting from the weights of"), "{stdout}");
    let fresh = config(dir.path(), "fresh", 1, 1e-9, still)?;
    train_ok(&fresh)?;
    let (continued, fresh) = (
        last_valid_loss(dir.path(), "continued", 1)?,
        last_valid_loss(dir.path(), "fresh", 1)?,
    );
    assert!(
        (continued - learned).abs() < 0.05 * learned,
        "continued {continued} against the first run's {learned}"
    );
    assert!(
        fresh > learned + 0.5,
        "fresh {fresh} against learned {learned}"
    );

    // A checkpoint of another architecture is refused, naming init_from.
    let mut wrong = json!({"model": {"architecture": "window_lstm", "window": 4}});
    wrong["init_from"] = json!("checkpoints/first");
    let wrong = config(dir.path(), "wrong", 1, 0.01, wrong)?;
    let output = train(&wrong)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("init_from"), "{stderr}");
    Ok(())
}
