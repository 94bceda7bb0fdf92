//! Atomic checkpoint folders: the files are written into a temporary sibling (`.tmp-<name>-…`),
//! each flushed to disk, the folder flushed, then renamed into place and the parent flushed. A
//! crash at any instant leaves either the complete new checkpoint or none, and never touches the
//! checkpoints already there. Temporaries are not checkpoint names, so they are never loaded.

use crate::fsutil::sync_dir;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::format::FileDigest;

/// A test hook that makes the write of a file fail: given the file's path, it returns the error to
/// fail with (half the file is written first, as a full disk would), or `None` to write normally.
pub type WriteFault = Arc<dyn Fn(&Path) -> Option<io::Error> + Send + Sync>;

/// Hooks for tests and debugging: markers printed around saves, a pause after each file (so a test
/// can kill the process in the middle of a save), and injected write failures.
#[derive(Clone, Default)]
pub struct SaveHooks {
    /// Print `marker: saving NAME`, `marker: wrote NAME/FILE` and `marker: saved NAME`.
    pub markers: bool,
    /// After each marker, wait for a line on standard input (or its end) before going on, so a
    /// test driving the process can stop it exactly there.
    pub wait_after_marker: bool,
    /// Sleep this long after writing each file.
    pub delay: Duration,
    /// Fail some writes.
    pub fault: Option<WriteFault>,
}

impl fmt::Debug for SaveHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaveHooks")
            .field("markers", &self.markers)
            .field("wait_after_marker", &self.wait_after_marker)
            .field("delay", &self.delay)
            .field("fault", &self.fault.as_ref().map(|_| "…"))
            .finish()
    }
}

impl SaveHooks {
    /// Hooks from the environment, for the `tunesmith` binary and the tests that drive it:
    /// `TUNESMITH_DEBUG_MARKERS=1` prints markers, `TUNESMITH_DEBUG_MARKERS=wait` also waits for a
    /// line on standard input after each, `TUNESMITH_DEBUG_SAVE_DELAY_MS=N` pauses after each file.
    pub fn from_env() -> Self {
        let markers = std::env::var("TUNESMITH_DEBUG_MARKERS").unwrap_or_default();
        SaveHooks {
            markers: markers == "1" || markers == "wait",
            wait_after_marker: markers == "wait",
            delay: Duration::from_millis(
                std::env::var("TUNESMITH_DEBUG_SAVE_DELAY_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
            fault: None,
        }
    }

    /// Prints a marker line when markers are on (and then waits for a line on standard input when
    /// [`SaveHooks::wait_after_marker`] is set).
    pub fn marker(&self, text: &str) {
        if self.markers {
            println!("marker: {text}");
            if self.wait_after_marker {
                let mut go_on = String::new();
                // End of input or an error: go on without waiting.
                let _ = std::io::stdin().read_line(&mut go_on);
            }
        }
    }
}

/// Size and SHA-256 of some bytes.
pub fn digest(bytes: &[u8]) -> FileDigest {
    let hash = Sha256::digest(bytes);
    FileDigest {
        bytes: bytes.len() as u64,
        sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn write_file(path: &Path, bytes: &[u8], hooks: &SaveHooks) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    if let Some(err) = hooks.fault.as_ref().and_then(|fault| fault(path)) {
        file.write_all(&bytes[..bytes.len() / 2])?;
        return Err(err);
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// A unique temporary sibling name for checkpoint `name`.
fn temporary_name(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(".tmp-{name}-{}-{nanos}", std::process::id())
}

/// Writes `files` (name, bytes; in order) as checkpoint folder `run_dir/name`, atomically. A
/// checkpoint already there under that name (a damaged one a resume fell back from) is replaced.
/// Returns the checkpoint's path. On an error nothing is left behind but, at worst, a temporary.
pub fn write_checkpoint_dir(
    run_dir: &Path,
    name: &str,
    files: &[(&str, &[u8])],
    hooks: &SaveHooks,
) -> Result<PathBuf> {
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create the run folder {}", run_dir.display()))?;
    let tmp = run_dir.join(temporary_name(name));
    let result = write_into(&tmp, run_dir, name, files, hooks);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_into(
    tmp: &Path,
    run_dir: &Path,
    name: &str,
    files: &[(&str, &[u8])],
    hooks: &SaveHooks,
) -> Result<PathBuf> {
    hooks.marker(&format!("saving {name}"));
    std::fs::create_dir(tmp)
        .with_context(|| format!("cannot create the temporary folder {}", tmp.display()))?;
    for (file, bytes) in files {
        let path = tmp.join(file);
        write_file(&path, bytes, hooks)
            .with_context(|| format!("cannot write {}", path.display()))?;
        hooks.marker(&format!("wrote {name}/{file}"));
        if !hooks.delay.is_zero() {
            std::thread::sleep(hooks.delay);
        }
    }
    sync_dir(tmp);
    let target = run_dir.join(name);
    let trash = if target.exists() {
        let trash = run_dir.join(format!(".trash-{}", temporary_name(name)));
        std::fs::rename(&target, &trash)
            .with_context(|| format!("cannot move the old {} out of the way", target.display()))?;
        Some(trash)
    } else {
        None
    };
    std::fs::rename(tmp, &target)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))?;
    sync_dir(run_dir);
    if let Some(trash) = trash {
        let _ = std::fs::remove_dir_all(trash);
    }
    hooks.marker(&format!("saved {name}"));
    Ok(target)
}

/// Removes a checkpoint folder: renamed to a `.trash-` name first (one step), then deleted, so a
/// crash in the middle never leaves a half-deleted folder under a checkpoint name.
pub fn remove_checkpoint_dir(path: &Path) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = path.parent().unwrap_or(Path::new("."));
    let trash = parent.join(format!(".trash-{}", temporary_name(&name)));
    std::fs::rename(path, &trash)
        .with_context(|| format!("cannot remove old checkpoint {}", path.display()))?;
    sync_dir(parent);
    std::fs::remove_dir_all(&trash).with_context(|| format!("cannot delete {}", trash.display()))
}

/// Deletes temporaries and trash left in a run folder by a process that died mid-save.
pub fn clean_leftovers(run_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") || name.starts_with(".trash-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_replaces_a_same_named_checkpoint() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let hooks = SaveHooks::default();
        let path = write_checkpoint_dir(dir.path(), "epoch-0001", &[("a", b"one")], &hooks)?;
        assert_eq!(std::fs::read(path.join("a"))?, b"one");
        write_checkpoint_dir(dir.path(), "epoch-0001", &[("a", b"two")], &hooks)?;
        assert_eq!(std::fs::read(path.join("a"))?, b"two");
        let names: Vec<String> = std::fs::read_dir(dir.path())?
            .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_>>()?;
        assert_eq!(names, vec!["epoch-0001".to_string()]);
        Ok(())
    }

    #[test]
    fn a_failed_write_leaves_the_previous_checkpoint_and_no_temporary() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let ok = SaveHooks::default();
        write_checkpoint_dir(dir.path(), "epoch-0001", &[("a", b"good")], &ok)?;
        let failing = SaveHooks {
            fault: Some(Arc::new(|_: &Path| Some(io::Error::other("disk full")))),
            ..SaveHooks::default()
        };
        let err = write_checkpoint_dir(dir.path(), "epoch-0001", &[("a", b"bad!")], &failing)
            .unwrap_err();
        assert!(format!("{err:#}").contains("disk full"));
        assert_eq!(std::fs::read(dir.path().join("epoch-0001/a"))?, b"good");
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }
}
