//! Where every run of a sweep stands, read from files alone (so it works from any machine that
//! mounts the shared storage): the manifest, each run's checkpoint folder (epoch, step, the loss
//! history) and the state file its task appends to (`state/<run>.jsonl`: one JSON line per start,
//! end and self-requeue).
//!
//! | last state line                         | state      |
//! |-----------------------------------------|------------|
//! | none                                    | pending (finished when the checkpoints reach the last epoch) |
//! | `start`                                 | running    |
//! | `exit` after a signal                   | pending: preempted or requeued (or cancelled) |
//! | `requeue`                               | pending: requeued itself before its time limit |
//! | `exit` with code 0, no signal           | finished   |
//! | `exit` with another code, no signal     | failed, with the error line of its log |

use super::{Manifest, RunEntry, LOGS_DIR, STATE_DIR};
use crate::checkpoint::store;
use crate::train::History;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This machine's host name (for state lines written without Slurm).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// One line of a run's state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `start`, `exit` or `requeue`.
    pub event: String,
    /// The Slurm job (`<array job>_<task>`), or `local_<task>` for a run trained by
    /// [`super::run_task`].
    #[serde(default)]
    pub job: String,
    /// The node.
    #[serde(default)]
    pub host: String,
    /// Slurm's restart count of the job (0 at the first start).
    #[serde(default)]
    pub restart: u32,
    /// Unix seconds.
    #[serde(default)]
    pub time: u64,
    /// The trainer's exit status (`exit` lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The signal that stopped it, if any (`TERM`, `USR1`; empty or absent for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The error, when training failed in-process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Event {
    /// An event of this kind, now, on this host.
    pub fn now(event: &str) -> Event {
        Event {
            event: event.into(),
            job: String::new(),
            host: host_name(),
            restart: 0,
            time: now_unix(),
            code: None,
            signal: None,
            error: None,
        }
    }

    fn signal(&self) -> Option<&str> {
        self.signal.as_deref().filter(|s| !s.is_empty())
    }
}

/// Reads a state file; unreadable lines (a line cut by a crash) are passed over.
pub fn read_events(path: &Path) -> Vec<Event> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Not started, or stopped and waiting to start again.
    Pending,
    /// A task is training it.
    Running,
    /// Done.
    Finished,
    /// Its task ended with an error.
    Failed,
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Failed => "failed",
        })
    }
}

/// One run's status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunStatus {
    /// Task index.
    pub index: usize,
    /// Run name.
    pub name: String,
    /// Its settings over the base config.
    pub settings: BTreeMap<String, Value>,
    /// Where it stands.
    pub state: RunState,
    /// A few words on why (the host it runs on, what stopped it, the error).
    pub note: String,
    /// Epochs done (by its newest readable checkpoint).
    pub epoch: usize,
    /// Epochs it trains.
    pub epochs: usize,
    /// Optimizer steps done.
    pub step: u64,
    /// The lowest validation loss so far and its epoch.
    pub best_valid: Option<(f64, usize)>,
    /// Its newest readable checkpoint's name.
    pub checkpoint: Option<String>,
    /// When that checkpoint was written (Unix seconds).
    pub checkpoint_unix: Option<u64>,
    /// How many times a task started it.
    pub starts: usize,
    /// The loss history (from its newest readable checkpoint).
    pub history: History,
}

impl RunStatus {
    /// `path=value` pairs joined by spaces.
    pub fn label(&self) -> String {
        super::Point {
            settings: self.settings.clone(),
        }
        .label()
    }
}

/// The status of every run of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepStatus {
    /// The sweep folder.
    pub dir: PathBuf,
    /// The sweep's name.
    pub name: String,
    /// The job ids `--submit` recorded, oldest first.
    pub jobs: Vec<String>,
    /// Every run, in array order.
    pub runs: Vec<RunStatus>,
}

/// The last line starting with `error:` in a task's log, if any.
fn log_error(dir: &Path, index: usize) -> Option<String> {
    let text = std::fs::read(dir.join(LOGS_DIR).join(format!("task-{index}.out"))).ok()?;
    let tail = &text[text.len().saturating_sub(64 * 1024)..];
    String::from_utf8_lossy(tail)
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(str::to_string)
}

fn classify(events: &[Event], epoch: usize, epochs: usize) -> (RunState, String) {
    let done = epochs > 0 && epoch >= epochs;
    let Some(last) = events.last() else {
        return if done {
            (
                RunState::Finished,
                "trained outside the sweep's tasks".into(),
            )
        } else if epoch > 0 {
            (
                RunState::Pending,
                "has checkpoints; no task started it".into(),
            )
        } else {
            (RunState::Pending, "not started".into())
        };
    };
    let at = |e: &Event| {
        if e.host.is_empty() {
            String::new()
        } else {
            format!(" on {}", e.host)
        }
    };
    match (last.event.as_str(), last.signal(), last.code) {
        ("start", _, _) => (
            RunState::Running,
            format!(
                "job {}{}, start {}",
                last.job,
                at(last),
                events_of(events, "start")
            ),
        ),
        ("requeue", _, _) => (
            RunState::Pending,
            "requeued itself before its time limit".into(),
        ),
        ("exit", Some(signal), code) => (
            RunState::Pending,
            format!(
                "stopped by SIG{signal}{} (preempted or requeued; cancelled if it never returns)",
                code.filter(|&c| c != 0)
                    .map(|c| format!(", exit code {c}"))
                    .unwrap_or_default()
            ),
        ),
        ("exit", None, Some(0)) => (
            RunState::Finished,
            if done {
                String::new()
            } else {
                format!("stopped early after epoch {epoch}")
            },
        ),
        ("exit", None, code) => (
            RunState::Failed,
            last.error.clone().unwrap_or_else(|| {
                format!(
                    "exit code {}",
                    code.map_or("?".to_string(), |c| c.to_string())
                )
            }),
        ),
        (other, _, _) => (RunState::Pending, format!("unknown state line {other:?}")),
    }
}

/// Seconds as `45 s`, `12 min` or `3.5 h`.
fn duration(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        _ => format!("{:.1} h", seconds as f64 / 3600.0),
    }
}

fn events_of(events: &[Event], kind: &str) -> usize {
    events.iter().filter(|e| e.event == kind).count()
}

fn run_status(dir: &Path, checkpoints: &Path, entry: &RunEntry) -> Result<RunStatus> {
    let entries = store::list(&checkpoints.join(&entry.name))?;
    let newest = entries
        .iter()
        .rev()
        .find_map(|e| e.meta.as_ref().ok().map(|m| (e.name(), m)));
    let (epoch, step, history, checkpoint, checkpoint_unix) = match newest {
        Some((name, meta)) => (
            meta.progress.epoch,
            meta.progress.step,
            meta.history.clone(),
            Some(name),
            Some(meta.created_unix),
        ),
        None => (0, 0, History::default(), None, None),
    };
    let best_valid = history
        .records
        .iter()
        .filter(|r| r.valid_loss.is_finite())
        .min_by(|a, b| a.valid_loss.total_cmp(&b.valid_loss))
        .map(|r| (r.valid_loss, r.epoch));
    let events = read_events(&dir.join(STATE_DIR).join(format!("{}.jsonl", entry.name)));
    let (state, mut note) = classify(&events, epoch, entry.epochs);
    if let (RunState::Running, Some(written)) = (state, checkpoint_unix) {
        let age = now_unix().saturating_sub(written);
        note = format!("{note}; last checkpoint {} ago", duration(age));
    }
    if state == RunState::Failed && !note.starts_with("error") {
        if let Some(line) = log_error(dir, entry.index) {
            note = format!("{note}: {line}");
        }
    }
    Ok(RunStatus {
        index: entry.index,
        name: entry.name.clone(),
        settings: entry.settings.clone(),
        state,
        note,
        epoch,
        epochs: entry.epochs,
        step,
        best_valid,
        checkpoint,
        checkpoint_unix,
        starts: events_of(&events, "start"),
        history,
    })
}

impl SweepStatus {
    /// Reads the status of the sweep in folder `dir`.
    pub fn read(dir: impl AsRef<Path>) -> Result<SweepStatus> {
        let dir = dir.as_ref();
        let manifest = Manifest::read(dir)?;
        let checkpoints = manifest.checkpoint_dir_in(dir);
        let runs = manifest
            .runs
            .iter()
            .map(|entry| run_status(dir, &checkpoints, entry))
            .collect::<Result<Vec<_>>>()?;
        let mut jobs: Vec<String> = std::fs::read_to_string(dir.join(super::JOBS_FILE))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        // Jobs submitted by hand show in the state lines (`<array job>_<task>`).
        for run in &manifest.runs {
            let path = dir.join(STATE_DIR).join(format!("{}.jsonl", run.name));
            for event in read_events(&path) {
                let job = event.job.split('_').next().unwrap_or_default().to_string();
                let slurm = !job.is_empty() && job.chars().all(|c| c.is_ascii_digit());
                if slurm && !jobs.contains(&job) {
                    jobs.push(job);
                }
            }
        }
        Ok(SweepStatus {
            dir: dir.to_path_buf(),
            name: manifest.name,
            jobs,
            runs,
        })
    }

    /// How many runs are in `state`.
    pub fn count(&self, state: RunState) -> usize {
        self.runs.iter().filter(|r| r.state == state).count()
    }

    /// True when every run finished.
    pub fn all_finished(&self) -> bool {
        self.runs.iter().all(|r| r.state == RunState::Finished)
    }

    /// One line: the sweep, its run counts and its jobs.
    pub fn summary(&self) -> String {
        let started = self.runs.iter().any(|r| r.starts > 0);
        let jobs = match self.jobs.as_slice() {
            [] if started => String::new(),
            [] => format!(
                "; not submitted yet (sbatch {})",
                self.dir.join(super::SCRIPT_FILE).display()
            ),
            [one] => format!("; job {one}"),
            many => format!("; jobs {}", many.join(", ")),
        };
        format!(
            "sweep {}: {} runs, {} finished, {} running, {} pending, {} failed{jobs}",
            self.name,
            self.runs.len(),
            self.count(RunState::Finished),
            self.count(RunState::Running),
            self.count(RunState::Pending),
            self.count(RunState::Failed),
        )
    }

    /// The status as a text table, for a terminal.
    pub fn table(&self) -> String {
        let width = self
            .runs
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(3)
            .max(3);
        let mut out = format!("{}\n", self.summary());
        out.push_str(&format!(
            "{:<width$}  {:<8}  {:>9}  {:>10}  {:>17}  settings / note\n",
            "run", "state", "epoch", "step", "best valid (ep.)"
        ));
        for r in &self.runs {
            let best = r.best_valid.map_or("-".to_string(), |(loss, epoch)| {
                format!("{loss:.4} ({epoch})")
            });
            let mut tail = r.label();
            if !r.note.is_empty() {
                tail = if tail.is_empty() {
                    r.note.clone()
                } else {
                    format!("{tail}; {}", r.note)
                };
            }
            out.push_str(&format!(
                "{:<width$}  {:<8}  {:>9}  {:>10}  {:>17}  {tail}\n",
                r.name,
                r.state.to_string(),
                format!("{}/{}", r.epoch, r.epochs),
                r.step,
                best
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, code: Option<i32>, signal: &str) -> Event {
        Event {
            code,
            signal: Some(signal.into()),
            ..Event::now(kind)
        }
    }

    #[test]
    fn states_follow_the_last_line() {
        let start = event("start", None, "");
        let cases = [
            (vec![], 0, RunState::Pending, "not started"),
            (vec![], 2, RunState::Pending, "has checkpoints"),
            (vec![], 6, RunState::Finished, "outside"),
            (vec![start.clone()], 1, RunState::Running, "start 1"),
            (
                vec![start.clone(), event("exit", Some(0), "TERM")],
                3,
                RunState::Pending,
                "SIGTERM",
            ),
            (
                vec![
                    start.clone(),
                    event("exit", Some(0), "USR1"),
                    event("requeue", None, ""),
                ],
                3,
                RunState::Pending,
                "requeued itself",
            ),
            (
                vec![start.clone(), event("exit", Some(0), "")],
                6,
                RunState::Finished,
                "",
            ),
            (
                vec![start.clone(), event("exit", Some(0), "")],
                4,
                RunState::Finished,
                "stopped early after epoch 4",
            ),
            (
                vec![start.clone(), event("exit", Some(1), "")],
                0,
                RunState::Failed,
                "exit code 1",
            ),
            (
                vec![start.clone(), event("exit", Some(0), "TERM"), start.clone()],
                3,
                RunState::Running,
                "start 2",
            ),
        ];
        for (events, epoch, state, note) in cases {
            let (got, got_note) = classify(&events, epoch, 6);
            assert_eq!(got, state, "{events:?}");
            assert!(got_note.contains(note), "{got_note:?} lacks {note:?}");
            if note.is_empty() {
                assert!(got_note.is_empty(), "{got_note}");
            }
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(720), "12 min");
        assert_eq!(duration(12_600), "3.5 h");
    }

    #[test]
    fn cut_lines_are_passed_over() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.jsonl");
        let line = serde_json::to_string(&event("start", None, ""))?;
        std::fs::write(&path, format!("{line}\n{{\"event\":\"ex"))?;
        let events = read_events(&path);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "start");
        assert!(read_events(&dir.path().join("missing.jsonl")).is_empty());
        Ok(())
    }

    #[test]
    fn the_error_line_of_a_log_is_found() -> Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join(LOGS_DIR))?;
        std::fs::write(
            dir.path().join(LOGS_DIR).join("task-2.out"),
            "task 2: run x\nerror: bad config /a.json: model: boom\n",
        )?;
        assert_eq!(
            log_error(dir.path(), 2).as_deref(),
            Some("error: bad config /a.json: model: boom")
        );
        assert_eq!(log_error(dir.path(), 3), None);
        Ok(())
    }
}
