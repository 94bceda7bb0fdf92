//! Executes notebook 04 through the real evcxr kernel and checks what it promises: training is
//! interrupted by SIGINT and saves, a fresh trainer resumes from the checkpoint, the loss curve is
//! drawn and saved, and the resumed run matches an uninterrupted one bit for bit; a sweep for a
//! Slurm cluster is written, two of its runs are trained here, and its status shows them.

mod common;

#[test]
fn notebook_04_interrupts_resumes_and_matches_an_uninterrupted_run() {
    let run = common::execute_notebook("04_checkpoint_resume");
    let out = run.stdout();
    for promised in [
        "sending SIGINT to this process",
        "checkpoint: interrupted: stopping after step",
        "fit returned: Some(Interrupted)",
        "checkpoint: resumed from",
        "fit returned Some(Completed) after 6 epochs",
        "identical weights: true; identical loss history: true",
        "4 runs in",
        "#SBATCH --array=0-3",
        "#SBATCH --requeue",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --account=my-lab",
        "lr-000: Completed after 3 epochs",
        "lr-003: Completed after 3 epochs",
        "sweep lr: 4 runs, 2 finished, 0 running, 2 pending, 0 failed",
    ] {
        assert!(out.contains(promised), "missing {promised:?} in:\n{out}");
    }
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(&svgs, &["<svg", "valid"], "loss curve missing");
    let saved = std::fs::read_to_string(run.files.join("loss.svg")).expect("loss.svg written");
    assert!(saved.contains("<svg"));
    let summary = run.summary();
    assert_eq!(summary["identical_weights"], true, "{summary}");
    assert_eq!(summary["epochs"], 6, "{summary}");
    assert_eq!(summary["sweep_runs"], 4, "{summary}");
    assert_eq!(summary["sweep_finished"], 2, "{summary}");
    summary.assert_resumed_mid_epoch();
    let samples = run.files.join("drive/abc-small/samples");
    for name in ["epoch-0002-1.abc", "epoch-0002-2.abc", "epoch-0006-2.abc"] {
        let text = std::fs::read_to_string(samples.join(name))
            .unwrap_or_else(|e| panic!("{name} missing: {e}"));
        assert!(text.starts_with("X:1\n"), "{name}: {text}");
    }
    assert!(
        run.displays("text/html")
            .iter()
            .any(|h| h.contains("<b>#3</b>") && !h.contains("<b>#4</b>")),
        "the three tunes generated from the checkpoint are missing"
    );
    let html = run.displays("text/html");
    common::assert_shown(
        &html,
        &["checkpoints<table", "inside an epoch"],
        "the run's checkpoint table is missing",
    );
    common::assert_shown(
        &html,
        &["epochs done", "weights.safetensors"],
        "the checkpoint's metadata display is missing",
    );
    assert!(
        html.iter().any(|h| h.contains("sweep lr: 4 runs")
            && h.contains("train.adam.lr=0.003")
            && h.matches("finished").count() >= 2
            && h.contains("<svg")),
        "the sweep's status table with its loss curves is missing"
    );
}
