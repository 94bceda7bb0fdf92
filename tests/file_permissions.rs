//! Files and folders the crate writes get the usual permissions (what `File::create` and
//! `create_dir` give: `0o666` and `0o777` less the umask, so `0o644` and `0o755` under umask 022),
//! never the owner-only `0o600` of a bare temporary file: a user can open what a notebook wrote,
//! and share a checkpoint folder.
#![cfg(unix)]

mod ckpt_common;

use anyhow::{Context, Result};
use ckpt_common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tunesmith::checkpoint::Checkpointer;
use tunesmith::prelude::*;

/// This process's umask, read from `/proc/self/status` (reading it with `umask(2)` would change it).
fn umask() -> Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .context("no Umask line in /proc/self/status")?;
    u32::from_str_radix(line.trim(), 8).context("Umask is not octal")
}

fn mode(path: &Path) -> Result<u32> {
    Ok(std::fs::metadata(path)
        .with_context(|| path.display().to_string())?
        .permissions()
        .mode()
        & 0o777)
}

/// Every file and folder under `root` (itself included), depth first.
fn walk(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .collect()
}

/// Asserts the usual permissions on every file and folder under `root`; returns how many files.
fn assert_usual(root: &Path) -> Result<usize> {
    let mask = umask()?;
    let (file_mode, dir_mode) = (0o666 & !mask, 0o777 & !mask);
    let mut files = 0;
    for path in walk(root) {
        let expected = if path.is_dir() { dir_mode } else { file_mode };
        files += usize::from(path.is_file());
        assert_eq!(
            mode(&path)?,
            expected,
            "{} has mode {:o}, expected {expected:o} (umask {mask:03o})",
            path.display(),
            mode(&path)?
        );
    }
    Ok(files)
}

#[test]
fn files_a_notebook_writes_are_readable_by_others() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // tempdir() makes an owner-only folder; the crate's own folders go inside it.
    let out = dir.path().join("out");
    tunesmith::fsutil::write_atomic(&out.join("summary.json"), b"{}")?;
    let score = abc_to_score("X:1\nM:4/4\nL:1/4\nK:C\nCDEF|\n")?;
    write_midi_file(&score, &out.join("tune.mid"))?;
    listen(&score)?.write_wav(out.join("tune.wav"))?;
    piano_roll_svg(&score, "roll")?.save(out.join("plots/roll.svg"))?;
    let vocab = CharVocab::from_texts(["M:4/4\nL:1/4\nK:C\nCDEF|\n\n"]);
    let model = LstmLm::new(LstmConfig::debug(vocab.len()), Device::Cpu)?;
    let config = SampleConfig {
        length: Length::Steps(5),
        ..SampleConfig::default()
    };
    let piece = generate(
        &model,
        &Encoding::from(vocab),
        &Primer::abc("M:4/4\n"),
        &config,
    )?;
    write_pieces(&out.join("generated"), "tune", &[piece])?;
    CharVocab::from_texts(["abc\n"]).save(&out.join("vocab.json"))?;
    let files = assert_usual(&out)?;
    assert_eq!(files, 6, "{:?}", walk(&out));
    Ok(())
}

#[test]
fn checkpoints_and_their_samples_are_readable_by_others() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    let drive = dir.path().join("drive");
    let ckpt = checkpointer(&drive, &data.encoding, None);
    let samples = SampleEvery::into_run(1, &ckpt.run_dir(), data.encoding.clone())
        .with_count(1)
        .with_config(SampleConfig {
            max_steps: 40,
            ..SampleConfig::default()
        });
    let mut trainer = tiny_trainer(&data, 1)?
        .with_callback(ckpt)
        .with_callback(samples);
    fit(&mut trainer, &data)?;
    let saved = trainer
        .callback::<Checkpointer>()
        .context("checkpointer")?
        .saved
        .len();
    assert!(saved >= 1, "no checkpoint was saved");
    let files = assert_usual(&drive)?;
    // weights, optimizer state, meta.json and one sample file at least.
    assert!(files >= 4, "{:?}", walk(&drive));
    Ok(())
}
