//! The `tunesmith` binary killed with SIGKILL at many points (some in the middle of a save), and
//! stopped with SIGINT and SIGTERM, resumed each time: for every model kind (the character LSTM on
//! ABC, the notes-and-chords window model on MIDI with and without attention, the piano-roll model
//! on MIDI, its windows transposed at random) it must end with the same weights, bit for bit, and the same loss history as a run
//! that was never interrupted.

mod ckpt_common;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use tunesmith::checkpoint::format::Meta;
use tunesmith::checkpoint::snapshot::read_meta;

const EPOCHS: usize = 6;

/// The corpus, encoding, model and batches of each kind of run.
fn kind_settings(kind: &str) -> Value {
    match kind {
        "chars" => json!({
            "corpus": {"abc": "tunes"}, "encoding": {"kind": "chars"},
            "model": {"architecture": "lstm_lm", "embed_dim": 8, "hidden_size": 16,
                      "num_layers": 2, "dropout": 0.2},
            "batches": {"batch_size": 4, "seq_len": 24}}),
        "notes" | "notes-plain" => json!({
            "corpus": {"midi": "midi"}, "encoding": {"kind": "notes"},
            "model": {"architecture": "window_lstm", "window": 6, "embed_dim": 8,
                      "hidden_size": 16, "num_layers": 1, "dropout": 0.2,
                      "attention": kind == "notes"},
            "batches": {"batch_size": 16}}),
        "roll" => json!({
            "corpus": {"midi": "midi"},
            "encoding": {"kind": "piano_roll", "steps_per_quarter": 2, "low_pitch": 48,
                         "num_pitches": 48},
            "model": {"architecture": "frame_lstm", "hidden_size": 16, "num_layers": 1,
                      "dropout": 0.2, "input_dropout": 0.1, "positive_weight": "auto"},
            "batches": {"batch_size": 4, "window_frames": 8, "lead_in": true, "transpose": 2},
            "samples": {"every_epochs": 3, "count": 1,
                        "sampling": {"length": {"bars": 2}}}}),
        other => panic!("no such kind {other}"),
    }
}

/// Writes the tiny corpus (ABC and MIDI) and a config training a tiny model of `kind` on it
/// into `dir`.
fn setup(dir: &Path, kind: &str) -> Result<PathBuf> {
    ckpt_common::write_tiny_corpus(dir, 48)?;
    ckpt_common::write_tiny_midi_corpus(dir, 48)?;
    let mut config = json!({
        "valid_fraction": 0.2, "device": "cpu", "threads": 1,
        "train": {"epochs": EPOCHS, "seed": 5, "verbose": false, "adam": {"lr": 0.01}},
        "checkpoint": {"dir": "checkpoints", "run": "tiny", "every_steps": 7, "keep_last": 3},
    });
    if let (Some(base), Value::Object(extra)) = (config.as_object_mut(), kind_settings(kind)) {
        base.extend(extra);
    }
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

fn run_binary(args: &[&str], config: &Path) -> Result<std::process::Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .args(args)
        .arg(config)
        .output()?)
}

fn losses(meta: &Meta) -> Vec<(usize, u64, u64)> {
    meta.history
        .records
        .iter()
        .map(|r| (r.epoch, r.train_loss.to_bits(), r.valid_loss.to_bits()))
        .collect()
}

/// Runs `kind` once without a stop and once through `plan` (resuming after each stop), and
/// checks both end with the same checkpoint, bit for bit.
fn interrupted_runs_end_like_an_uninterrupted_one(kind: &str, plan: &[Stop]) -> Result<()> {
    let reference = tempfile::tempdir()?;
    let (status, _, lines) = run(&setup(reference.path(), kind)?, None)?;
    assert!(status.success(), "{kind}: {:?}", lines.last());
    let expected = final_meta(reference.path())?;

    let dir = tempfile::tempdir()?;
    let config = setup(dir.path(), kind)?;
    let mut kills = 0;
    for &s in plan {
        let (status, sent, lines) = run(&config, Some(s))?;
        assert!(sent, "{kind}: the run ended before {s:?}");
        if s.signal == KILL {
            assert!(!status.success(), "{kind}: {s:?}");
            kills += 1;
        } else {
            assert!(
                status.success(),
                "{kind}: {s:?}: a signal to stop must end the run cleanly"
            );
            let last = lines.last().cloned().unwrap_or_default();
            assert!(last.starts_with("interrupted at step"), "{kind}: {last}");
            assert!(lines.iter().any(|l| l.starts_with("marker: saved step-")));
        }
    }
    assert!(kills >= plan.len() - 2, "{kind}");
    let (status, _, lines) = run(&config, None)?;
    assert!(status.success(), "{kind}: {:?}", lines.last());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("checkpoint: resumed from")),
        "{kind}: the last run resumed"
    );

    let got = final_meta(dir.path())?;
    assert_eq!(
        got.files, expected.files,
        "{kind}: weights and optimizer files differ (sizes and SHA-256)"
    );
    let last = format!("checkpoints/tiny/epoch-{EPOCHS:04}");
    for file in ["weights.safetensors", "optimizer.safetensors"] {
        let a = std::fs::read(dir.path().join(&last).join(file))?;
        let b = std::fs::read(reference.path().join(&last).join(file))?;
        assert!(a == b, "{kind}: {file} differs");
    }
    assert_eq!(losses(&got), losses(&expected), "{kind}");
    assert_eq!(got.progress, expected.progress, "{kind}");
    Ok(())
}

fn stop(marker: &'static str, nth: usize, signal: i32) -> Stop {
    Stop {
        marker,
        nth,
        signal,
    }
}

#[test]
fn the_character_model_killed_at_many_points_and_resumed_ends_bit_identical() -> Result<()> {
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
    interrupted_runs_end_like_an_uninterrupted_one("chars", &plan)
}

/// Kills inside and between saves, SIGTERM and SIGINT: the plan for the other kinds.
fn short_plan() -> [Stop; 8] {
    [
        stop("step", 3, KILL),
        stop("saving", 1, KILL),
        stop("wrote", 2, KILL),
        stop("step", 9, libc::SIGTERM),
        stop("saved", 1, KILL),
        stop("step", 4, libc::SIGINT),
        stop("wrote", 3, KILL),
        stop("step", 12, KILL),
    ]
}

#[test]
fn the_notes_window_model_with_attention_killed_and_resumed_ends_bit_identical() -> Result<()> {
    interrupted_runs_end_like_an_uninterrupted_one("notes", &short_plan())
}

#[test]
fn the_notes_window_model_without_attention_killed_and_resumed_ends_bit_identical() -> Result<()> {
    interrupted_runs_end_like_an_uninterrupted_one("notes-plain", &short_plan())
}

#[test]
fn the_piano_roll_model_killed_and_resumed_ends_bit_identical() -> Result<()> {
    interrupted_runs_end_like_an_uninterrupted_one("roll", &short_plan())?;
    // Its samples were written every three epochs, as MIDI files.
    let dir = tempfile::tempdir()?;
    let (status, _, _) = run(&setup(dir.path(), "roll")?, None)?;
    assert!(status.success());
    let samples = dir.path().join("checkpoints/tiny/samples");
    let mut names: Vec<String> = std::fs::read_dir(&samples)
        .with_context(|| format!("{}", samples.display()))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    names.sort();
    assert_eq!(names, ["epoch-0003-1.mid", "epoch-0006-1.mid"]);
    Ok(())
}

#[test]
fn a_changed_config_is_refused_by_the_binary_unless_forced() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = setup(dir.path(), "chars")?;
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

#[test]
fn a_bad_config_is_one_line_naming_the_field_and_help_works_everywhere() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = setup(dir.path(), "notes")?;
    let cases = [
        (
            "\"hidden_size\": 16",
            "\"hiden_size\": 16",
            "model.hiden_size: unknown field",
        ),
        ("\"epochs\": 6", "\"epoch\": 6", "unknown field `epoch`"),
        (
            "\"kind\": \"notes\"",
            "\"kind\": \"words\"",
            "encoding.kind",
        ),
        ("\"window_lstm\"", "\"gru\"", "model.architecture"),
        (
            "\"dropout\": 0.2",
            "\"dropout\": 1.5",
            "dropout must be in [0, 1)",
        ),
        (
            "\"midi\": \"midi\"",
            "\"midi\": \"no_such_folder\"",
            "no_such_folder",
        ),
    ];
    let text = std::fs::read_to_string(&config)?;
    for (from, to, expected) in cases {
        assert!(text.contains(from), "{from}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, text.replacen(from, to, 1))?;
        let output = run_binary(&["train", "--config"], &bad)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{to}: {stderr}");
        assert!(stderr.contains(expected), "{to}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("bad.json") || to.contains("no_such_folder"),
            "{stderr}"
        );
    }
    for args in [
        vec!["--help"],
        vec!["train", "--help"],
        vec!["generate", "--help"],
        vec!["list", "--help"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{args:?}");
        assert!(stdout.contains("Usage: tunesmith"), "{args:?}: {stdout}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .args(["train", "--confg", "x.json"])
        .env("RUST_BACKTRACE", "1")
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--confg"), "{stderr}");
    let output = run_binary(&["train", "--config"], &dir.path().join("missing.json"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.json") && !stderr.contains("stack backtrace"));
    Ok(())
}
