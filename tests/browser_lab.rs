//! The real client: JupyterLab in Chromium runs notebook 00 through the page, as a person does
//! (Run ▸ Run All Cells), and the page must show what each cell promises: engraved sheet music,
//! SVG pictures, audio players that load and play, tables, and no errors. Then a small notebook
//! with planted faults proves the checks fail when they should. The work is done by
//! `scripts/browser_lab.py` (Selenium driving Debian's Chromium, installed with apt-get when
//! absent; JupyterLab started the way `make lab` starts it); this test runs it and reads its report.
//!
//! Screenshots and `report.json` land in `out/browser/`. The first `:dep` cell compiles the crate
//! inside the kernel: minutes on a cold evcxr cache, seconds on a warm one.

mod common;

use serde_json::Value;
use std::process::Command;

#[test]
fn jupyterlab_runs_the_quick_look_notebook_in_a_real_browser() {
    let root = common::repo_root();
    for needed in [
        ".venv/bin/jupyter-lab",
        ".tools/jupyter/kernels/tunesmith/kernel.json",
    ] {
        assert!(
            root.join(needed).exists(),
            "{needed} is missing: run `make setup` (scripts/setup.sh) before the browser test"
        );
    }
    let out = root.join("out/browser");
    let status = Command::new("bash")
        .arg("-c")
        .arg(
            "source scripts/env.sh && exec python scripts/browser_lab.py \
             notebooks/00_quick_look.ipynb --out out/browser --self-check",
        )
        .current_dir(&root)
        .status()
        .expect("run scripts/browser_lab.py");
    let report_path = out.join("report.json");
    let report: Value = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("{} is missing or not JSON", report_path.display()));
    assert!(
        status.success(),
        "the browser run failed: {}",
        report["failures"]
    );

    // The script's verdict is checked again here from what it saw, so a lenient script cannot
    // pass a page that lacks what notebook 00 promises.
    let nb = &report["notebook"];
    assert_eq!(nb["kernel"], "Rust (tunesmith)");
    let cells = nb["cells"].as_array().cloned().unwrap_or_default();
    assert_eq!(cells.len(), 5, "notebook 00 has five code cells: {nb}");
    let count = |key: &str| -> usize {
        cells
            .iter()
            .map(|c| c[key].as_array().map_or(0, Vec::len))
            .sum()
    };
    let sheets_with_notes = cells
        .iter()
        .flat_map(|c| c["sheets"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["notes"].as_u64().unwrap_or(0) > 10)
        .count();
    assert_eq!(
        sheets_with_notes, 2,
        "the tune and the score as sheet music"
    );
    assert!(count("svgs") >= 2, "the piano rolls");
    assert_eq!(count("modelErrors") + count("stderr"), 0, "error outputs");
    let audio = nb["audio"].as_array().cloned().unwrap_or_default();
    assert_eq!(audio.len(), 2, "players of the score and of the audio");
    for a in &audio {
        let duration = a["duration"].as_f64().unwrap_or(0.0);
        assert!(
            duration > 10.0 && duration < 60.0,
            "the jig lasts about 20 s: {a}"
        );
        assert!(
            a["played"].as_f64().unwrap_or(0.0) > 0.0,
            "did not play: {a}"
        );
    }
    assert!(
        report["self_check"]["problems"]
            .as_array()
            .is_some_and(|p| p.len() >= 4),
        "the planted faults were not all reported: {}",
        report["self_check"]
    );
    for shot in [
        "01-opened.png",
        "02-run-menu.png",
        "04-done.png",
        "cell-02.png",
    ] {
        let size = std::fs::metadata(out.join(shot)).map_or(0, |m| m.len());
        assert!(size > 10_000, "screenshot {shot} missing or blank");
    }
}
