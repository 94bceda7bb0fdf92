//! Records where libtorch lives as a run path in the binaries, tests and examples, so
//! `target/release/tunesmith` runs without `LD_LIBRARY_PATH` (tch links libtorch dynamically).
//!
//! The folder is found as `torch-sys` finds it: `$LIBTORCH/lib`, or, with
//! `LIBTORCH_USE_PYTORCH=1`, the `lib` folder of the `torch` package of the `python` on `PATH`.
//! When neither gives a folder that exists, nothing is recorded (and `LD_LIBRARY_PATH` still works).

use std::path::PathBuf;
use std::process::Command;

fn libtorch_lib() -> Option<PathBuf> {
    if let Some(root) = std::env::var_os("LIBTORCH") {
        return Some(PathBuf::from(root).join("lib"));
    }
    std::env::var_os("LIBTORCH_USE_PYTORCH")?;
    let python = std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python".into());
    let script = "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))";
    let out = Command::new(&python)
        .args(["-c", script])
        .output()
        .or_else(|_| Command::new("python3").args(["-c", script]).output())
        .ok()?;
    out.status.success().then_some(())?;
    let text = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(text.trim()))
}

fn main() {
    for var in ["LIBTORCH", "LIBTORCH_USE_PYTORCH", "PYTHON_SYS_EXECUTABLE"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    if let Some(lib) = libtorch_lib().filter(|p| p.is_dir()) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
