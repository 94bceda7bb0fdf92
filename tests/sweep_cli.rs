//! `tunesmith sweep` without a cluster: the files it writes, the batch script's handling of
//! Slurm's signals (run by hand with a fake `scontrol`), the status it reads back, and one clear
//! error line for a bad sweep file, a missing `sbatch` and an unwritable shared folder.

mod ckpt_common;
mod sweep_common;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use sweep_common::{
    epochs_done, final_weights, output, reference_run, s, states, status_json, tunesmith,
};

fn write_sweep(dir: &Path) -> Result<std::path::PathBuf> {
    let file = sweep_common::write_tiny_sweep(dir, json!({"time": "00:10:00", "mem": "300M"}))?;
    let out = output(tunesmith(&["sweep"]).arg(&file))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sweep tiny: 4 runs"), "{stdout}");
    assert!(stdout.contains("submit with: sbatch"), "{stdout}");
    Ok(dir.join("tiny"))
}

/// Starts task `task` of the sweep's batch script as Slurm would (its variables set, `scontrol`
/// a fake that logs its arguments), with slow saves so a signal lands in the middle of the run.
fn start_task(sweep: &Path, task: usize, restart: u32, fake_bin: &Path) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sweep.join(format!("logs/task-{task}.out")))?;
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(sweep.join("sweep.sbatch"))
        .env("SLURM_ARRAY_TASK_ID", task.to_string())
        .env("SLURM_ARRAY_JOB_ID", "99")
        .env("SLURM_JOB_ID", (100 + task).to_string())
        .env("SLURM_RESTART_COUNT", restart.to_string())
        .env("TUNESMITH_DEBUG_SAVE_DELAY_MS", "60")
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1] {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    command.spawn().context("cannot start bash")
}

/// Waits until the run has finished an epoch (and is still running), or fails.
fn wait_for_an_epoch(run_dir: &Path, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while epochs_done(run_dir) < 1 {
        anyhow::ensure!(
            child.try_wait()?.is_none(),
            "the task ended before its first epoch"
        );
        anyhow::ensure!(Instant::now() < deadline, "no epoch after 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn signal(pid: u32, signal: i32) -> Result<()> {
    // SAFETY: kill(2) on a process this test started.
    anyhow::ensure!(
        unsafe { libc::kill(pid as i32, signal) } == 0,
        "cannot signal {pid}"
    );
    Ok(())
}

/// The trainer the batch shell started (its only child).
fn trainer_of(shell: u32) -> Result<u32> {
    let path = format!("/proc/{shell}/task/{shell}/children");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = text.split_whitespace().next() {
            return Ok(pid.parse()?);
        }
        anyhow::ensure!(Instant::now() < deadline, "no trainer under {shell}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_batch_script_saves_on_slurms_signals_requeues_before_the_time_limit_and_resumes_exactly(
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let sweep = write_sweep(dir.path())?;
    let runs = sweep.join("runs");
    let fake_bin = dir.path().join("bin");
    std::fs::create_dir(&fake_bin)?;
    let scontrol_log = dir.path().join("scontrol.log");
    let fake = format!("#!/bin/sh\necho \"$@\" >> '{}'\n", scontrol_log.display());
    std::fs::write(fake_bin.join("scontrol"), fake)?;
    std::fs::set_permissions(
        fake_bin.join("scontrol"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;

    // Task 1: SIGUSR1 to the batch shell alone, as `--signal=B:USR1@N` sends it before the time
    // limit: the shell passes SIGTERM on, the trainer saves, and the task requeues itself.
    let mut task = start_task(&sweep, 1, 0, &fake_bin)?;
    wait_for_an_epoch(&runs.join("tiny-001"), &mut task)?;
    signal(task.id(), libc::SIGUSR1)?;
    assert!(task.wait()?.success());
    assert_eq!(
        states(&sweep, "tiny-001"),
        [
            s("start", "", None, 0),
            s("exit", "USR1", Some(0), 0),
            s("requeue", "", None, 0)
        ]
    );
    let requeued = std::fs::read_to_string(&scontrol_log)?;
    assert_eq!(requeued.trim(), "requeue 101");
    let log = std::fs::read_to_string(sweep.join("logs/task-1.out"))?;
    assert!(log.contains("interrupted at step"), "{log}");

    // Task 0: SIGTERM to the shell and the trainer at once, as Slurm sends it on preemption or
    // `scontrol requeue`: the trainer saves once, the shell waits and does not requeue.
    let mut task = start_task(&sweep, 0, 0, &fake_bin)?;
    wait_for_an_epoch(&runs.join("tiny-000"), &mut task)?;
    let trainer = trainer_of(task.id())?;
    signal(task.id(), libc::SIGTERM)?;
    signal(trainer, libc::SIGTERM)?;
    assert!(task.wait()?.success());
    assert_eq!(
        states(&sweep, "tiny-000"),
        [s("start", "", None, 0), s("exit", "TERM", Some(0), 0)]
    );
    assert_eq!(std::fs::read_to_string(&scontrol_log)?.lines().count(), 1);
    let log = std::fs::read_to_string(sweep.join("logs/task-0.out"))?;
    assert!(
        log.contains("interrupted at step"),
        "saved on the first SIGTERM: {log}"
    );
    let interrupted_at = epochs_done(&runs.join("tiny-000"));
    assert!(
        interrupted_at < sweep_common::EPOCHS,
        "stopped in the middle"
    );

    let status = status_json(&sweep)?;
    assert_eq!(status["runs"][0]["state"], "pending", "{status}");
    assert!(status["runs"][0]["note"]
        .as_str()
        .unwrap_or("")
        .contains("SIGTERM"));
    assert_eq!(status["runs"][1]["state"], "pending");
    assert!(status["runs"][1]["note"]
        .as_str()
        .unwrap_or("")
        .contains("requeued itself"));
    assert_eq!(status["runs"][2]["note"], "not started");

    // Task 2 fails: its config names a corpus that is gone.
    let config = sweep.join("configs/tiny-002.json");
    let text = std::fs::read_to_string(&config)?;
    std::fs::write(&config, text.replace("/tunes\"", "/gone\""))?;
    let mut task = start_task(&sweep, 2, 0, &fake_bin)?;
    assert!(!task.wait()?.success());

    // Both stopped runs start again (Slurm's restart 1) and finish like runs never stopped.
    for index in [0, 1] {
        let mut task = start_task(&sweep, index, 1, &fake_bin)?;
        assert!(task.wait()?.success());
        let log = std::fs::read_to_string(sweep.join(format!("logs/task-{index}.out")))?;
        assert!(log.contains("checkpoint: resumed from"), "{log}");
    }
    assert_eq!(
        states(&sweep, "tiny-000")[2..],
        [s("start", "", None, 1), s("exit", "", Some(0), 1)]
    );
    let reference = dir.path().join("reference");
    for run in ["tiny-000", "tiny-001"] {
        let expected = reference_run(&sweep.join(format!("configs/{run}.json")), &reference)?;
        assert!(
            final_weights(&runs.join(run))? == final_weights(&expected)?,
            "{run}: the stopped and resumed run ends with other weights"
        );
    }

    let out = output(tunesmith(&["sweep", "status"]).arg(&sweep))?;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("2 finished, 0 running, 1 pending, 1 failed"),
        "{table}"
    );
    let row = |run: &str| {
        table
            .lines()
            .find(|l| l.starts_with(run))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        row("tiny-000").contains("finished") && row("tiny-000").contains("6/6"),
        "{table}"
    );
    assert!(
        row("tiny-002").contains("failed") && row("tiny-002").contains("error:"),
        "{table}"
    );
    assert!(
        row("tiny-002").contains("gone"),
        "the error names the folder: {table}"
    );
    assert!(row("tiny-003").contains("not started"), "{table}");
    let status = status_json(&sweep)?;
    assert_eq!(status["runs"][0]["starts"], 2);
    let best = status["runs"][0]["best_valid"][0]
        .as_f64()
        .unwrap_or(f64::NAN);
    assert!(best.is_finite() && best > 0.0, "{status}");
    Ok(())
}

/// Runs `tunesmith` and returns its one line of standard error (asserting it failed with 1).
fn one_error_line(command: &mut Command) -> Result<String> {
    let out = output(command)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    Ok(stderr)
}

#[test]
fn a_bad_sweep_file_a_missing_sbatch_and_an_unwritable_folder_are_one_clear_line_each() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let file = sweep_common::write_tiny_sweep(dir.path(), json!({}))?;
    let text = std::fs::read_to_string(&file)?;
    let bad = dir.path().join("bad.json");
    let cases = [
        ("\"grid\"", "\"gird\"", "unknown field `gird`"),
        (
            "\"slurm\": {}",
            "\"slurm\": {\"cpus\": 2}",
            "unknown field `cpus`",
        ),
        (
            "\"train.adam.lr\"",
            "\"train.adam.lrr\"",
            "run tiny-000 (train.adam.lrr=0.01 train.seed=1)",
        ),
        (
            "\"train.adam.lr\"",
            "\"model.hiden_size\"",
            "model.hiden_size: unknown field",
        ),
        ("\"run.json\"", "\"missing.json\"", "missing.json"),
        (
            "\"slurm\": {}",
            "\"slurm\": {\"time\": \"1:00; rm\"}",
            "slurm.time",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(text.contains(from), "{from}");
        std::fs::write(&bad, text.replacen(from, to, 1))?;
        let line = one_error_line(tunesmith(&["sweep"]).arg(&bad))?;
        assert!(line.contains(expected), "{to}: {line}");
        assert!(
            line.contains("bad.json") || to.contains("missing"),
            "{line}"
        );
    }

    // No sbatch on PATH: the files are written, and the line says what to do.
    let empty_bin = dir.path().join("empty-bin");
    std::fs::create_dir(&empty_bin)?;
    let line = one_error_line(
        tunesmith(&["sweep", "--submit"])
            .arg(&file)
            .env("PATH", &empty_bin),
    )?;
    assert!(line.contains("sbatch was not found on PATH"), "{line}");
    assert!(line.contains("tiny/sweep.sbatch"), "{line}");
    assert!(dir.path().join("tiny/sweep.sbatch").exists());

    // Shared folders that cannot be written: under a plain file (as root, permissions would not
    // stop a write; not-a-folder does), and read-only for a user who is not root.
    std::fs::write(dir.path().join("blocker"), "a file")?;
    for (from, to, expected) in [
        (
            "\"dir\": \"tiny\"",
            "\"dir\": \"blocker/tiny\"",
            "cannot create the shared sweep folder",
        ),
        (
            "\"dir\": \"tiny\"",
            "\"dir\": \"tiny2\", \"checkpoint_dir\": \"blocker/runs\"",
            "cannot create the shared checkpoint folder",
        ),
    ] {
        std::fs::write(&bad, text.replacen(from, to, 1))?;
        let line = one_error_line(tunesmith(&["sweep"]).arg(&bad))?;
        assert!(line.contains(expected), "{line}");
        assert!(line.contains("blocker"), "{line}");
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked)?;
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555))?;
        std::fs::write(
            &bad,
            text.replacen("\"dir\": \"tiny\"", "\"dir\": \"locked\"", 1),
        )?;
        let line = one_error_line(tunesmith(&["sweep"]).arg(&bad))?;
        assert!(
            line.contains("the shared sweep folder") && line.contains("not writable"),
            "{line}"
        );
    }

    let line = one_error_line(tunesmith(&["sweep", "status"]).arg(dir.path()))?;
    assert!(line.contains("is not a sweep folder"), "{line}");
    Ok(())
}

#[test]
fn the_same_sweep_can_be_written_again_but_not_a_different_one_into_its_folder() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let sweep = write_sweep(dir.path())?;
    let first = std::fs::read_to_string(sweep.join("configs/tiny-003.json"))?;
    let script = std::fs::read_to_string(sweep.join("sweep.sbatch"))?;
    for line in [
        "#SBATCH --array=0-3",
        "#SBATCH --requeue",
        "#SBATCH --signal=B:USR1@120",
        "#SBATCH --time=00:10:00",
        "#SBATCH --mem=300M",
        "#SBATCH --open-mode=append",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "missing {line}:\n{script}"
        );
    }
    let config: Value = serde_json::from_str(&first)?;
    assert_eq!(config["train"]["adam"]["lr"], json!(0.02));
    assert_eq!(config["train"]["seed"], json!(2));
    assert_eq!(config["checkpoint"]["run"], json!("tiny-003"));
    assert_eq!(config["threads"], json!(1));
    write_sweep(dir.path())?;
    assert_eq!(
        std::fs::read_to_string(sweep.join("configs/tiny-003.json"))?,
        first
    );
    let file = dir.path().join("sweep.json");
    let text = std::fs::read_to_string(&file)?.replace("0.02", "0.05");
    std::fs::write(&file, text)?;
    let line = one_error_line(tunesmith(&["sweep"]).arg(&file))?;
    assert!(line.contains("already holds a different sweep"), "{line}");
    Ok(())
}

#[test]
fn a_run_trained_in_this_process_shows_in_the_status_like_a_task() -> Result<()> {
    let _serial = ckpt_common::serial();
    let dir = tempfile::tempdir()?;
    let sweep = write_sweep(dir.path())?;
    let outcome = tunesmith::sweep::run_task(&sweep, "tiny-002")?;
    assert_eq!(outcome.epoch, sweep_common::EPOCHS);
    assert!(tunesmith::sweep::run_task(&sweep, "tiny-009").is_err());
    let status = tunesmith::sweep::SweepStatus::read(&sweep)?;
    let run = &status.runs[2];
    assert_eq!(
        run.state,
        tunesmith::sweep::RunState::Finished,
        "{}",
        status.table()
    );
    assert_eq!((run.epoch, run.starts), (sweep_common::EPOCHS, 1));
    assert_eq!(run.history.records.len(), sweep_common::EPOCHS);
    assert_eq!(states(&sweep, "tiny-002")[1], s("exit", "", Some(0), 0));
    assert_eq!(status.count(tunesmith::sweep::RunState::Pending), 3);
    Ok(())
}

#[test]
fn sweep_help_works() -> Result<()> {
    for args in [vec!["sweep", "--help"], vec!["sweep", "status", "--help"]] {
        let out = output(&mut tunesmith(&args))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        assert!(
            stdout.contains("Usage: tunesmith sweep"),
            "{args:?}: {stdout}"
        );
    }
    let out = output(&mut tunesmith(&["sweep"]))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("<SWEEP_FILE>"),
        "names what is missing: {stderr}"
    );
    Ok(())
}
