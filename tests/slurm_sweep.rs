//! A sweep on a real Slurm cluster (one node, started here; `tests/slurm_cluster`): four tiny
//! runs submitted as a job array by `tunesmith sweep --submit`. One task is requeued in the middle
//! (`scontrol requeue`, as a preemption does: SIGTERM to all its processes), one is told its time
//! limit is near (SIGUSR1 to the batch shell, as `--signal=B:USR1@N` does) and requeues itself.
//! All four must finish, the two stopped ones with the same weights, bit for bit, as runs never
//! stopped. When Slurm cannot be installed or started, the test says so loudly and is skipped
//! (set `TUNESMITH_REQUIRE_SLURM=1` to make that a failure).

mod ckpt_common;
mod slurm_cluster;
mod sweep_common;

use anyhow::{bail, Result};
use serde_json::json;
use slurm_cluster::Cluster;
use std::io::Write;
use std::time::{Duration, Instant};
use sweep_common::{
    epochs_done, final_weights, output, reference_run, s, states, status_json, tunesmith,
};

/// Says so on the terminal (past the test harness's capture) and returns, or fails when
/// `TUNESMITH_REQUIRE_SLURM` is set.
fn skip(reason: &str) {
    if std::env::var_os("TUNESMITH_REQUIRE_SLURM").is_some() {
        panic!("Slurm is required (TUNESMITH_REQUIRE_SLURM) but cannot be started: {reason}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED tests/slurm_sweep.rs: Slurm cannot be started here: {reason} ***\n"
    );
}

/// Polls `ready` every 100 ms until it holds, or fails after `seconds` with `what` and `why()`.
fn wait_until(
    seconds: u64,
    what: &str,
    mut ready: impl FnMut() -> Result<bool>,
    why: impl Fn() -> String,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !ready()? {
        if Instant::now() > deadline {
            bail!("{what}: not after {seconds} s{}", why());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[test]
fn a_sweep_on_a_slurm_cluster_survives_a_requeue_and_the_time_limit_and_ends_bit_identical(
) -> Result<()> {
    let began = Instant::now();
    let cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(e) => {
            skip(&format!("{e:#}"));
            return Ok(());
        }
    };
    let started = began.elapsed();
    let dir = tempfile::tempdir()?;
    let file = sweep_common::write_tiny_sweep(
        dir.path(),
        json!({"partition": slurm_cluster::PARTITION, "time": "00:10:00", "mem": "300M",
               "cpus_per_task": 1, "signal_seconds": 60}),
    )?;
    let sweep = dir.path().join("tiny");
    let runs = sweep.join("runs");
    // Slow saves (the variable reaches the tasks through sbatch's --export=ALL), so each run takes
    // seconds and the signals land in its middle; they do not change what is computed.
    let out = output(
        tunesmith(&["sweep", "--submit"])
            .arg(&file)
            .env("SLURM_CONF", &cluster.conf)
            .env("TUNESMITH_DEBUG_SAVE_DELAY_MS", "80"),
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = stdout
        .lines()
        .find_map(|l| l.strip_prefix("submitted job array "))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no job id in {stdout}"))?;
    assert!(std::fs::read_to_string(sweep.join("jobs.txt"))?.starts_with(&job));
    let diagnose = || {
        let status = output(tunesmith(&["sweep", "status"]).arg(&sweep))
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let queue = cluster
            .output(cluster.command("squeue").args(["-a", "-o", "%i %T %r %S"]))
            .unwrap_or_default();
        let logs: String = (0..4)
            .map(|i| {
                let text = std::fs::read_to_string(sweep.join(format!("logs/task-{i}.out")))
                    .unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "\n--- task {i}:\n{}",
                    lines[lines.len().saturating_sub(6)..].join("\n")
                )
            })
            .collect();
        format!("\n{status}\n{queue}{logs}{}", cluster.logs())
    };
    let task = |i: usize| format!("{job}_{i}");
    let mid_run = |i: usize| {
        let run = runs.join(format!("tiny-{i:03}"));
        let sweep = sweep.clone();
        move || -> Result<bool> {
            let started = states(&sweep, &format!("tiny-{i:03}")).len() == 1;
            Ok(started && epochs_done(&run) >= 1)
        }
    };

    // Task 0: requeued as a preemption would, once it has finished an epoch.
    wait_until(
        120,
        "task 0 running with an epoch done",
        mid_run(0),
        diagnose,
    )?;
    assert!(epochs_done(&runs.join("tiny-000")) < sweep_common::EPOCHS);
    cluster.output(cluster.command("scontrol").args(["requeue", &task(0)]))?;
    // Task 1: the time-limit warning, to its batch shell alone.
    wait_until(
        120,
        "task 1 running with an epoch done",
        mid_run(1),
        diagnose,
    )?;
    assert!(epochs_done(&runs.join("tiny-001")) < sweep_common::EPOCHS);
    // Slurm 22.05's scancel delivers a batch-only signal to an array task whose array still has
    // pending tasks, yet is told "Job can not be altered now" and retries for a minute and a
    // half; the delivery is what counts here (the task records it), so scancel is not waited for.
    let mut scancel = cluster
        .command("scancel")
        .args(["--batch", "--signal=USR1", &task(1)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let warned = wait_until(
        30,
        "task 1 got SIGUSR1",
        || Ok(states(&sweep, "tiny-001").len() >= 2),
        diagnose,
    );
    if scancel.try_wait()?.is_none() {
        scancel.kill()?;
    }
    scancel.wait()?;
    warned?;

    // A requeued job waits for a begin time a few minutes away; let both start as soon as they
    // are back in the queue.
    for i in [0, 1] {
        let run = format!("tiny-{i:03}");
        wait_until(
            60,
            &format!("task {i} stopped and back in the queue"),
            || {
                let stopped = states(&sweep, &run).len() >= 2;
                Ok(stopped && cluster.job_state(&task(i)) == "PENDING")
            },
            diagnose,
        )?;
        cluster.output(cluster.command("scontrol").args([
            "update",
            &format!("JobId={}", task(i)),
            "StartTime=now",
        ]))?;
    }
    wait_until(
        240,
        "every run finished",
        || {
            Ok(status_json(&sweep)?["runs"]
                .as_array()
                .is_some_and(|runs| runs.iter().all(|r| r["state"] == "finished")))
        },
        diagnose,
    )?;
    let status = output(tunesmith(&["sweep", "status"]).arg(&sweep))?;
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    println!("{table}");
    assert!(
        table.contains("4 runs, 4 finished, 0 running, 0 pending, 0 failed"),
        "{table}"
    );
    assert!(table.contains(&format!("job {job}")), "{table}");

    // The requeued task: stopped by SIGTERM, saved, started again by Slurm, resumed.
    assert_eq!(
        states(&sweep, "tiny-000"),
        [
            s("start", "", None, 0),
            s("exit", "TERM", Some(0), 0),
            s("start", "", None, 1),
            s("exit", "", Some(0), 1)
        ],
        "{}",
        diagnose()
    );
    // The warned task: passed SIGTERM on, saved, requeued itself, resumed.
    assert_eq!(
        states(&sweep, "tiny-001"),
        [
            s("start", "", None, 0),
            s("exit", "USR1", Some(0), 0),
            s("requeue", "", None, 0),
            s("start", "", None, 1),
            s("exit", "", Some(0), 1)
        ],
        "{}",
        diagnose()
    );
    for i in [0, 1] {
        let log = std::fs::read_to_string(sweep.join(format!("logs/task-{i}.out")))?;
        assert!(
            log.contains("interrupted at step"),
            "task {i} saved mid-run: {log}"
        );
        assert!(
            log.contains("checkpoint: resumed from"),
            "task {i} resumed: {log}"
        );
    }
    for i in [2, 3] {
        assert_eq!(
            states(&sweep, &format!("tiny-{i:03}")).len(),
            2,
            "task {i} ran once"
        );
    }

    // Bit for bit as runs that were never stopped.
    let reference = dir.path().join("reference");
    for i in [0, 1] {
        let run = format!("tiny-{i:03}");
        let expected = reference_run(&sweep.join(format!("configs/{run}.json")), &reference)?;
        assert!(
            final_weights(&runs.join(&run))? == final_weights(&expected)?,
            "{run}: the requeued run ends with other weights than one never stopped"
        );
    }
    let status = status_json(&sweep)?;
    for r in status["runs"].as_array().into_iter().flatten() {
        assert_eq!(r["epoch"], json!(sweep_common::EPOCHS), "{r}");
        assert!(
            r["best_valid"][0].as_f64().is_some_and(f64::is_finite),
            "{r}"
        );
    }
    println!(
        "slurm test: cluster up in {:.1} s, all done in {:.1} s",
        started.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
