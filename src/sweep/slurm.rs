//! The Slurm side of a sweep: the job-array batch script and its submission with `sbatch`.
//!
//! Each task of the array trains one run with `tunesmith train --config configs/<run>.json`, under
//! a small shell wrapper that records when the task starts and how it ends in
//! `state/<run>.jsonl` (the status reads it) and that handles Slurm's signals:
//!
//! - **Preemption, `scontrol requeue`, `scancel`**: Slurm sends SIGTERM to every process of the
//!   job, so the trainer gets it directly, finishes its step, saves a checkpoint and exits 0; the
//!   wrapper only waits for it. (It does not pass the signal on: a second SIGTERM would end the
//!   trainer before it saved.) A preempted job submitted with `--requeue` starts again later,
//!   maybe on another node, and continues from that checkpoint.
//! - **The time limit**: Slurm does not requeue a job that runs out of time, so the script asks
//!   for SIGUSR1 to the batch shell alone `signal_seconds` before the limit
//!   (`--signal=B:USR1@N`); the wrapper sends SIGTERM to the trainer, waits for it to save, and
//!   requeues its own task (`scontrol requeue $SLURM_JOB_ID`).

use super::spec::SlurmSpec;
use super::{Manifest, LOGS_DIR, STATE_DIR};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Quotes a string for the shell (single quotes).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Checks a path that goes into an `#SBATCH` line, which cannot quote.
fn sbatch_path(what: &str, path: &Path) -> Result<String> {
    let text = path.display().to_string();
    if text
        .chars()
        .any(|c| c.is_whitespace() || "\"'`$\\;%".contains(c))
    {
        bail!(
            "{what} {text:?} contains a space, a quote, '%' or another character an #SBATCH line \
             cannot hold; choose a plainer path"
        );
    }
    Ok(text)
}

/// The `#SBATCH` lines for the resources and options of every task.
fn sbatch_options(manifest: &Manifest, dir: &Path, gres: Option<String>) -> Result<Vec<String>> {
    let slurm: &SlurmSpec = &manifest.slurm;
    let last = manifest.runs.len().saturating_sub(1);
    let mut array = format!("0-{last}");
    if let Some(n) = slurm.max_parallel {
        array.push_str(&format!("%{n}"));
    }
    let dir_text = sbatch_path("the sweep folder", dir)?;
    let mut lines = vec![
        format!("--job-name={}", manifest.name),
        format!("--array={array}"),
        "--requeue".to_string(),
        format!("--signal=B:USR1@{}", slurm.signal_seconds),
        format!("--time={}", slurm.time),
        "--ntasks=1".to_string(),
        format!("--cpus-per-task={}", slurm.cpus_per_task),
    ];
    if let Some(mem) = &slurm.mem {
        lines.push(format!("--mem={mem}"));
    }
    if let Some(gres) = gres {
        lines.push(format!("--gres={gres}"));
    }
    for (flag, value) in [
        ("partition", &slurm.partition),
        ("account", &slurm.account),
        ("qos", &slurm.qos),
    ] {
        if let Some(v) = value {
            lines.push(format!("--{flag}={v}"));
        }
    }
    lines.push(format!("--chdir={dir_text}"));
    lines.push(format!("--output={dir_text}/{LOGS_DIR}/task-%a.out"));
    lines.push("--open-mode=append".to_string());
    lines.extend(slurm.extra.iter().cloned());
    Ok(lines)
}

/// The batch script for a sweep written into `dir`.
pub fn batch_script(manifest: &Manifest, dir: &Path, gres: Option<String>) -> Result<String> {
    let mut s = String::from("#!/bin/bash\n");
    for option in sbatch_options(manifest, dir, gres)? {
        s.push_str(&format!("#SBATCH {option}\n"));
    }
    let runs: Vec<String> = manifest.runs.iter().map(|r| shell_quote(&r.name)).collect();
    s.push_str(&format!(
        r#"#
# Written by `tunesmith sweep` (tunesmith {version}) for the sweep {name}: task i of the array
# trains run RUNS[i] with `tunesmith train --config configs/<run>.json`, checkpointing into
# {checkpoints}/<run>/. Training again continues from a run's newest checkpoint, so a task that is
# preempted and requeued loses nothing. Submit with `sbatch {script}`; watch it with
# `tunesmith sweep status {dir_shown}`.
#
# Signals: when Slurm preempts, requeues or cancels the job it sends SIGTERM to all its processes;
# the trainer saves and exits, and this shell only waits (a second SIGTERM would end the trainer
# before it saved). Slurm does not requeue a job that runs out of time, so {seconds} s before the
# limit this shell alone gets SIGUSR1: it passes SIGTERM on to the trainer, waits for the save
# and requeues this task. Every start and end is appended to state/<run>.jsonl.
set -u
SWEEP_DIR={dir}
TUNESMITH={binary}
RUNS=({runs})
TASK="${{SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}}"
RUN="${{RUNS[$TASK]}}"
STATE="$SWEEP_DIR/{state_dir}/$RUN.jsonl"
mkdir -p "$SWEEP_DIR/{state_dir}"
note() {{
  printf '{{"event":"%s","job":"%s","host":"%s","restart":%d,"time":%d%s}}\n' "$1" \
    "${{SLURM_ARRAY_JOB_ID:-${{SLURM_JOB_ID:-?}}}}_$TASK" "$(hostname)" "${{SLURM_RESTART_COUNT:-0}}" \
    "$(date +%s)" "${{2:-}}" >> "$STATE"
}}
echo "task $TASK: run $RUN on $(hostname), start $((${{SLURM_RESTART_COUNT:-0}} + 1)), $(date)"
"#,
        version = env!("CARGO_PKG_VERSION"),
        name = manifest.name,
        checkpoints = manifest.checkpoint_dir_in(dir).display(),
        script = dir.join(super::SCRIPT_FILE).display(),
        dir_shown = dir.display(),
        seconds = manifest.slurm.signal_seconds,
        dir = shell_quote(&dir.display().to_string()),
        binary = shell_quote(&manifest.binary.display().to_string()),
        runs = runs.join(" "),
        state_dir = STATE_DIR,
    ));
    if !manifest.slurm.setup.is_empty() {
        s.push_str("# Set up (from the sweep file's slurm.setup):\n");
        for line in &manifest.slurm.setup {
            s.push_str(line);
            s.push('\n');
        }
    }
    s.push_str(
        r#"child=""
signal=""
trap 'signal=TERM' TERM
trap 'signal=USR1; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi' USR1
note start
"$TUNESMITH" train --config "$SWEEP_DIR/configs/$RUN.json" &
child=$!
# `wait` returns early when a signal's trap runs; wait until the trainer has really ended.
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
code=$?
note exit ",\"code\":$code,\"signal\":\"$signal\""
if [ "$signal" = USR1 ]; then
  echo "task $TASK: the time limit is near; requeueing job $SLURM_JOB_ID to continue"
  # Noted first: Slurm may end this script as soon as the requeue is accepted. If it is refused,
  # the exit is noted again, so the task shows as stopped, not as requeued.
  note requeue
  if ! scontrol requeue "$SLURM_JOB_ID"; then note exit ",\"code\":$code,\"signal\":\"$signal\""; fi
fi
exit "$code"
"#,
    );
    Ok(s)
}

/// Submits the batch script with `sbatch --parsable`; returns the job id Slurm printed.
pub fn submit(script: &Path) -> Result<String> {
    let output = match Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "sbatch was not found on PATH: submit from a Slurm login node, or run `sbatch {}` \
             where Slurm is (the files are written)",
            script.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot run sbatch {}", script.display())),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .chain(stdout.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        bail!(
            "sbatch {} failed ({}): {reason}",
            script.display(),
            output.status
        );
    }
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let job = stdout
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.split(';').next())
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .with_context(|| format!("sbatch printed no job id: {stdout:?}"))?;
    Ok(job.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn plain_paths_only_in_sbatch_lines() {
        assert!(sbatch_path("x", Path::new("/shared/me/sweep-1")).is_ok());
        let err = sbatch_path("the sweep folder", Path::new("/my files/s")).unwrap_err();
        assert!(format!("{err}").contains("the sweep folder \"/my files/s\""));
    }
}
