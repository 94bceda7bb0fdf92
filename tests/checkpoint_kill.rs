//! The `tunesmith` binary killed with SIGKILL at many points (some in the middle of a save), and
//! stopped with SIGINT and SIGTERM, resumed each time: it must end with the same weights, bit for
//! bit, and the same loss history as a run that was never interrupted.

mod ckpt_common;

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use tunesmith::checkpoint::format::Meta;
use tunesmith::checkpoint::snapshot::read_meta;

const EPOCHS: usize = 6;

/// Writes the tiny corpus and a config training a tiny model on it into `dir`.
fn setup(dir: &Path) -> Result<PathBuf> {
    ckpt_common::write_tiny_corpus(dir, 48)?;
    let config = serde_json::json!({
        "corpus": {"folder": "tunes"}, "valid_fraction": 0.2, "device": "cpu", "threads": 1,
        "model": {"embed_dim": 8, "hidden_size": 16, "num_layers": 2, "dropout": 0.2},
        "train": {"epochs": EPOCHS, "batch_size": 4, "seq_len": 24, "seed": 5, "verbose": false,
                  "adam": {"lr": 0.01}},
        "checkpoint": {"dir": "checkpoints", "run": "tiny", "every_steps": 7, "keep_last": 3},
    });
    let path = dir.join("run.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    Ok(path)
}

/// How to stop a run: at the `nth` stdout line starting with `marker`, send `signal`.
#[derive(Debug, Clone, Copy)]
struct Stop {
    marker: &'static str,
    nth: usize,
    signal: i32,
}

const KILL: i32 = libc::SIGKILL;

/// Runs `tunesmith train` (with markers and a pause after each file of a save); stops it as
/// `stop` says. The process waits after each marker until this side writes a line, so the signal
/// lands exactly at the marker, however fast the machine. Returns the exit status, whether the stop
/// was sent, and the output.
fn run(config: &Path, stop: Option<Stop>) -> Result<(ExitStatus, bool, Vec<String>)> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    command
        .args(["train", "--config"])
        .arg(config)
        .env("TUNESMITH_DEBUG_MARKERS", "wait")
        .env("TUNESMITH_DEBUG_SAVE_DELAY_MS", "15")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // A test run started in the background (nohup, `&` in a script) passes SIGINT on ignored, and
    // the binary leaves an ignored signal ignored; the child gets the default disposition, as a
    // job in a terminal has it.
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().context("cannot start tunesmith")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut go_on = child.stdin.take().context("no stdin")?;
    let (mut seen, mut sent, mut lines) = (0, false, Vec::new());
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.starts_with("marker: ") {
            let mut killed = false;
            if let Some(stop) = stop.filter(|_| !sent) {
                if line.starts_with(&format!("marker: {}", stop.marker)) {
                    seen += 1;
                    if seen == stop.nth {
                        // SAFETY: kill(2) on our own child's pid.
                        if unsafe { libc::kill(child.id() as i32, stop.signal) } != 0 {
                            bail!("cannot signal the child");
                        }
                        sent = true;
                        killed = stop.signal == KILL;
                    }
                }
            }
            if !killed {
                // The child may have ended already; then there is nobody to wake.
                let _ = writeln!(go_on, "go");
            }
        }
        lines.push(line);
    }
    drop(go_on);
    Ok((child.wait()?, sent, lines))
}

fn final_meta(dir: &Path) -> Result<Meta> {
    read_meta(&dir.join(format!("checkpoints/tiny/epoch-{EPOCHS:04}")))
}

fn losses(meta: &Meta) -> Vec<(usize, u64, u64)> {
    meta.history
        .records
        .iter()
        .map(|r| (r.epoch, r.train_loss.to_bits(), r.valid_loss.to_bits()))
        .collect()
}

#[test]
fn killed_at_many_points_and_resumed_ends_bit_identical_to_an_uninterrupted_run() -> Result<()> {
    let reference = tempfile::tempdir()?;
    let (status, _, _) = run(&setup(reference.path())?, None)?;
    assert!(status.success());
    let expected = final_meta(reference.path())?;

    let dir = tempfile::tempdir()?;
    let config = setup(dir.path())?;
    let stop = |marker, nth, signal| Stop {
        marker,
        nth,
        signal,
    };
    let plan = [
        stop("step", 3, KILL),   // before the first checkpoint: starts over
        stop("saving", 1, KILL), // the first save has just begun
        stop("wrote", 2, KILL),  // two of its three files written
        stop("saved", 2, KILL),  // right after a save, maybe while old ones are deleted
        stop("wrote", 3, KILL),  // all files written, not yet renamed into place
        stop("step", 17, KILL),
        stop("saving", 3, KILL),
        stop("step", 9, libc::SIGTERM), // finishes the step, saves, exits 0
        stop("saved", 1, KILL),
        stop("step", 31, KILL),
        stop("wrote", 1, KILL),
        stop("step", 4, libc::SIGINT), // as Ctrl-C
        stop("saving", 2, KILL),
        stop("step", 12, KILL),
    ];
    let mut kills = 0;
    for s in plan {
        let (status, sent, lines) = run(&config, Some(s))?;
        assert!(sent, "the run ended before {s:?}");
        if s.signal == KILL {
            assert!(!status.success(), "{s:?}");
            kills += 1;
        } else {
            assert!(
                status.success(),
                "{s:?}: a signal to stop must end the run cleanly"
            );
            let last = lines.last().cloned().unwrap_or_default();
            assert!(last.starts_with("interrupted at step"), "{last}");
            assert!(lines.iter().any(|l| l.starts_with("marker: saved step-")));
        }
    }
    assert!(kills >= 10);
    let (status, _, lines) = run(&config, None)?;
    assert!(status.success());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("checkpoint: resumed from")),
        "the last run resumed"
    );

    let got = final_meta(dir.path())?;
    assert_eq!(
        got.files, expected.files,
        "weights and optimizer files differ (sizes and SHA-256)"
    );
    for file in ["weights.safetensors", "optimizer.safetensors"] {
        let a = std::fs::read(dir.path().join("checkpoints/tiny/epoch-0006").join(file))?;
        let b = std::fs::read(
            reference
                .path()
                .join("checkpoints/tiny/epoch-0006")
                .join(file),
        )?;
        assert!(a == b, "{file} differs");
    }
    assert_eq!(losses(&got), losses(&expected));
    assert_eq!(got.progress, expected.progress);
    Ok(())
}

#[test]
fn a_changed_config_is_refused_by_the_binary_unless_forced() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = setup(dir.path())?;
    run(&config, Some(stop_after_first_save()))?;
    let text = std::fs::read_to_string(&config)?.replace("\"lr\": 0.01", "\"lr\": 0.02");
    std::fs::write(&config, text)?;
    let output = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .args(["train", "--config"])
        .arg(&config)
        .env("TUNESMITH_DEBUG_MARKERS", "1")
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("train.adam.lr: checkpoint 0.01, now 0.02"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    let (status, _, lines) = run(&config, Some(stop_at_step(20)))?;
    assert!(!status.success(), "still refused");
    assert!(!lines.iter().any(|l| l.starts_with("marker: step")));
    let forced = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .args(["train", "--force", "--config"])
        .arg(&config)
        .output()?;
    assert!(forced.status.success());
    assert!(String::from_utf8_lossy(&forced.stderr).contains("resuming with a changed setup"));
    Ok(())
}

fn stop_after_first_save() -> Stop {
    Stop {
        marker: "saved",
        nth: 1,
        signal: libc::SIGTERM,
    }
}

fn stop_at_step(nth: usize) -> Stop {
    Stop {
        marker: "step",
        nth,
        signal: KILL,
    }
}
