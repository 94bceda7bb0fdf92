//! Helpers shared by the tests that compare the crate with music21 or pretty_midi through the
//! repository's Python scripts (`scripts/*.py`).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use tunesmith::metrics::oracle::find_python_with_music21;

/// The Python that imports music21 (and pretty_midi, which `make setup` installs beside it), or
/// `None` after printing that the test is skipped.
pub fn python_or_skip() -> Option<PathBuf> {
    let python = find_python_with_music21();
    if python.is_none() {
        eprintln!(
            "skipped: no Python with music21 and pretty_midi (run `make setup` or set \
             TUNESMITH_PYTHON)"
        );
    }
    python
}

/// Runs `scripts/<script>` with `python` and `args`, asserts that it succeeded (the panic names
/// the script and its arguments and shows its stderr) and returns what it printed.
pub fn run_script<S: AsRef<OsStr>>(python: &Path, script: &str, args: &[S]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(script);
    let output = Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("{script} printed non-UTF-8: {e}"))
}
