//! Checkpointing in-process: exact mid-epoch resume, falling back past a damaged checkpoint,
//! a failing drive, retention, samples, refusing a different setup, and loading for generation.

mod ckpt_common;

use anyhow::Result;
use ckpt_common::*;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tch::Device;
use tunesmith::checkpoint::{open_for_generation, store, Checkpointer};
use tunesmith::generate::{sample_text, SampleConfig};
use tunesmith::train::{Callback, Control, DataInfo, StopAtStep, StopReason, Trainer};

fn names(run_dir: &Path) -> Result<Vec<String>> {
    Ok(store::list(run_dir)?.iter().map(|e| e.name()).collect())
}

#[test]
fn stopping_mid_epoch_and_resuming_in_a_new_trainer_is_exact() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let mut reference = tiny_trainer(&data.vocab, 3)?;
    reference.fit(&data.train, &data.valid)?;

    let bpe = data.train.batches_per_epoch() as u64;
    let stop_at = bpe + bpe / 2; // in the middle of the second epoch
    let mut first = tiny_trainer(&data.vocab, 3)?
        .with_callback(checkpointer(dir.path(), &data.vocab, None))
        .with_callback(StopAtStep(stop_at));
    first.fit(&data.train, &data.valid)?;
    assert_eq!(first.last_stop, Some(StopReason::Requested));
    assert_eq!(first.step, stop_at);
    let run = dir.path().join("run");
    assert!(names(&run)?.contains(&format!("step-{stop_at:09}")));
    drop(first);

    let mut second =
        tiny_trainer(&data.vocab, 3)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    second.fit(&data.train, &data.valid)?;
    let resumed = second
        .callback::<Checkpointer>()
        .and_then(|c| c.resumed.clone());
    let resumed = resumed.expect("the second trainer resumed");
    assert_eq!((resumed.step, resumed.epoch), (stop_at, 1));
    assert_eq!(resumed.batch_in_epoch as u64, bpe / 2);
    assert_eq!(second.step, reference.step);
    assert!(same_weights(&second.model, &reference.model));
    assert_eq!(losses(&second.history), losses(&reference.history));
    Ok(())
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_one_before() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let mut reference = tiny_trainer(&data.vocab, 3)?;
    reference.fit(&data.train, &data.valid)?;
    let mut first =
        tiny_trainer(&data.vocab, 2)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    first.fit(&data.train, &data.valid)?;
    let run = dir.path().join("run");
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0002"]);
    // Flip bytes in the middle of the newest checkpoint's weights.
    let weights = run.join("epoch-0002/weights.safetensors");
    let mut bytes = std::fs::read(&weights)?;
    let middle = bytes.len() - 40;
    bytes[middle] ^= 0xff;
    std::fs::write(&weights, bytes)?;

    let mut second =
        tiny_trainer(&data.vocab, 3)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    second.fit(&data.train, &data.valid)?;
    let resumed = second
        .callback::<Checkpointer>()
        .and_then(|c| c.resumed.clone());
    let resumed = resumed.expect("resumed from the earlier checkpoint");
    assert_eq!(resumed.from, run.join("epoch-0001"));
    assert_eq!(resumed.skipped.len(), 1);
    assert!(resumed.skipped[0].reason.contains("weights.safetensors"));
    assert!(resumed.skipped[0].reason.contains("damaged"));
    assert!(
        run.join("epoch-0002.damaged").is_dir(),
        "set aside for inspection"
    );
    // Training from epoch 1 again reaches the same end as never stopping.
    assert!(same_weights(&second.model, &reference.model));
    assert_eq!(losses(&second.history), losses(&reference.history));
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0002", "epoch-0003"]);
    Ok(())
}

/// A drive that fails while `failing` is set: the run folder is replaced by a plain file (root
/// ignores permissions, so this is how the test makes the folder unwritable), and put back later.
#[derive(Debug)]
struct FlakyDrive {
    run_dir: std::path::PathBuf,
    parked: std::path::PathBuf,
    fail_after_epoch: usize,
    heal_after_epoch: usize,
}

impl Callback for FlakyDrive {
    fn on_epoch_end(&mut self, trainer: &Trainer, _: &DataInfo) -> anyhow::Result<Control> {
        // Runs before the checkpointer (added first), so this epoch's save sees the change.
        if trainer.epoch == self.fail_after_epoch {
            std::fs::rename(&self.run_dir, &self.parked)?;
            std::fs::write(&self.run_dir, b"not a folder")?;
        }
        if trainer.epoch == self.heal_after_epoch {
            std::fs::remove_file(&self.run_dir)?;
            std::fs::rename(&self.parked, &self.run_dir)?;
        }
        Ok(Control::Continue)
    }
}

#[test]
fn a_vanished_checkpoint_folder_is_reported_and_the_next_checkpoint_lands() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("run");
    let mut reference = tiny_trainer(&data.vocab, 5)?;
    reference.fit(&data.train, &data.valid)?;

    let mut trainer = tiny_trainer(&data.vocab, 5)?
        .with_callback(FlakyDrive {
            run_dir: run.clone(),
            parked: dir.path().join("parked"),
            fail_after_epoch: 2,
            heal_after_epoch: 4,
        })
        .with_callback(checkpointer(dir.path(), &data.vocab, None));
    trainer.fit(&data.train, &data.valid)?;

    assert_eq!(trainer.epoch, 5, "training went on");
    assert!(same_weights(&trainer.model, &reference.model));
    let ckpt = trainer.callback::<Checkpointer>().expect("checkpointer");
    let failed: Vec<u64> = ckpt.failures.iter().map(|f| f.step).collect();
    let bpe = data.train.batches_per_epoch() as u64;
    assert_eq!(failed, vec![2 * bpe, 3 * bpe], "{:?}", ckpt.failures);
    assert!(
        ckpt.failures[0].error.contains("run"),
        "{}",
        ckpt.failures[0].error
    );
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0004", "epoch-0005"]);
    // The checkpoint written before the failure is untouched: it loads, checksums and all.
    let epoch1 = tunesmith::checkpoint::Checkpoint::load(&run.join("epoch-0001"))?;
    assert_eq!(epoch1.meta.progress.epoch, 1);
    Ok(())
}

#[test]
fn a_disk_that_fills_up_mid_write_leaves_the_previous_checkpoint_intact() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("run");
    let full = Arc::new(AtomicBool::new(false));
    let mut ckpt = checkpointer(dir.path(), &data.vocab, None);
    let flag = full.clone();
    ckpt.config.hooks.fault = Some(Arc::new(move |path: &Path| {
        (flag.load(Ordering::SeqCst) && path.ends_with("optimizer.safetensors"))
            .then(|| io::Error::from_raw_os_error(libc::ENOSPC))
    }));
    let mut trainer = tiny_trainer(&data.vocab, 1)?.with_callback(ckpt);
    trainer.fit(&data.train, &data.valid)?;
    let good = std::fs::read(run.join("epoch-0001/weights.safetensors"))?;

    full.store(true, Ordering::SeqCst);
    trainer.config.epochs = 2;
    trainer.fit(&data.train, &data.valid)?;
    assert_eq!(trainer.epoch, 2);
    let failures = &trainer
        .callback::<Checkpointer>()
        .expect("checkpointer")
        .failures;
    assert!(!failures.is_empty());
    assert!(
        failures[0].error.contains("No space left"),
        "{}",
        failures[0].error
    );
    assert_eq!(names(&run)?, vec!["epoch-0001"]);
    assert_eq!(
        std::fs::read(run.join("epoch-0001/weights.safetensors"))?,
        good
    );
    let leftovers = std::fs::read_dir(&run)?.count();
    assert_eq!(leftovers, 1, "no temporary left behind");

    full.store(false, Ordering::SeqCst);
    trainer.config.epochs = 3;
    trainer.fit(&data.train, &data.valid)?;
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0003"]);
    Ok(())
}

#[test]
fn retention_keeps_the_last_k_and_the_best_and_samples_are_written() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("run");
    let mut ckpt = checkpointer(dir.path(), &data.vocab, Some(5));
    ckpt.config.keep_last = 2;
    ckpt.config.sample_every_epochs = Some(2);
    ckpt.config.sample_count = 2;
    ckpt.config.sample.max_len = 60;
    let mut trainer = tiny_trainer(&data.vocab, 4)?.with_callback(ckpt);
    trainer.fit(&data.train, &data.valid)?;
    let saved = &trainer
        .callback::<Checkpointer>()
        .expect("checkpointer")
        .saved;
    let last_two: Vec<String> = saved[saved.len() - 2..]
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let entries = store::list(&run)?;
    let best = store::best(&entries).map(|e| e.name()).unwrap_or_default();
    let kept = names(&run)?;
    assert!(kept.ends_with(&last_two), "{kept:?} {last_two:?}");
    assert!(kept.contains(&best), "{kept:?} {best}");
    assert!(kept.len() <= 3, "{kept:?}");
    assert_eq!(last_two[1], "epoch-0004");

    let mut samples: Vec<String> = std::fs::read_dir(run.join("samples"))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    samples.sort();
    assert_eq!(samples, vec!["epoch-0002.abc", "epoch-0004.abc"]);
    let text = std::fs::read_to_string(run.join("samples/epoch-0004.abc"))?;
    assert!(
        text.starts_with("X:1\n") && text.contains("X:2\n"),
        "{text}"
    );
    Ok(())
}

#[test]
fn retention_spares_the_best_epoch_even_when_it_is_old() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("run");
    let mut trainer =
        tiny_trainer(&data.vocab, 3)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    trainer.fit(&data.train, &data.valid)?;
    // Pretend epoch 1 validated best.
    let meta_path = run.join("epoch-0001/meta.json");
    let mut meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&meta_path)?)?;
    meta["valid_loss"] = serde_json::json!(0.001);
    std::fs::write(&meta_path, serde_json::to_string(&meta)?)?;

    store::retain(&run, 1, true)?;
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0003"]);
    store::retain(&run, 1, false)?;
    assert_eq!(names(&run)?, vec!["epoch-0003"]);
    Ok(())
}

#[test]
fn a_different_setup_is_refused_unless_allowed() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let mut first =
        tiny_trainer(&data.vocab, 1)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    first.fit(&data.train, &data.valid)?;

    let mut changed = tiny_trainer(&data.vocab, 2)?;
    changed.config.adam.lr = 5e-3;
    changed.config.batch_size = 2;
    let mut changed = changed.with_callback(checkpointer(dir.path(), &data.vocab, None));
    let err = format!("{:#}", changed.fit(&data.train, &data.valid).unwrap_err());
    assert!(err.contains("different setup"), "{err}");
    assert!(
        err.contains("train.adam.lr: checkpoint 0.01, now 0.005"),
        "{err}"
    );
    assert!(
        err.contains("train.batch_size: checkpoint 4, now 2"),
        "{err}"
    );
    assert!(err.contains("allow_config_change"), "{err}");
    assert_eq!(changed.step, 0, "nothing was trained");

    changed
        .callback_mut::<Checkpointer>()
        .expect("checkpointer")
        .config
        .allow_config_change = true;
    changed.fit(&data.train, &data.valid)?;
    let report = changed
        .callback::<Checkpointer>()
        .and_then(|c| c.resumed.clone());
    assert_eq!(report.map(|r| r.differences.len()), Some(2));
    assert_eq!(changed.epoch, 2);
    Ok(())
}

#[test]
fn a_checkpoint_opens_for_generation_without_its_training_state() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let mut trainer =
        tiny_trainer(&data.vocab, 1)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    trainer.fit(&data.train, &data.valid)?;
    let checkpoint = dir.path().join("run/epoch-0001");
    std::fs::remove_file(checkpoint.join("optimizer.safetensors"))?;

    for path in [checkpoint.clone(), dir.path().join("run")] {
        let (model, vocab, meta) = open_for_generation(&path, Device::Cpu)?;
        assert_eq!(meta.progress.epoch, 1, "{}", path.display());
        assert!(same_weights(&model, &trainer.model));
        let config = SampleConfig {
            max_len: 40,
            ..SampleConfig::default()
        };
        let text = sample_text(&model, &vocab, &config)?;
        assert_eq!(text, sample_text(&trainer.model, &data.vocab, &config)?);
    }
    // Training state is gone, so resuming from it is refused with the file named.
    let err = tunesmith::checkpoint::Checkpoint::load(&checkpoint).unwrap_err();
    assert!(format!("{err:#}").contains("optimizer.safetensors"));
    Ok(())
}

#[test]
fn a_leftover_temporary_is_never_taken_for_a_checkpoint() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("run");
    let mut trainer =
        tiny_trainer(&data.vocab, 2)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    trainer.fit(&data.train, &data.valid)?;
    // A complete-looking copy of a later state under a temporary name, as a kill between the last
    // file and the rename leaves it.
    let fake = run.join(".tmp-epoch-0009-123-456");
    std::fs::create_dir(&fake)?;
    for file in ["weights.safetensors", "optimizer.safetensors", "meta.json"] {
        std::fs::copy(run.join("epoch-0002").join(file), fake.join(file))?;
    }
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0002"]);
    let mut again =
        tiny_trainer(&data.vocab, 2)?.with_callback(checkpointer(dir.path(), &data.vocab, None));
    again.fit(&data.train, &data.valid)?;
    let from = again
        .callback::<Checkpointer>()
        .and_then(|c| c.resumed.clone());
    assert_eq!(from.map(|r| r.from), Some(run.join("epoch-0002")));
    assert!(!fake.exists(), "leftover temporaries are cleaned up");
    Ok(())
}

#[test]
fn an_interrupt_signal_finishes_the_step_saves_and_returns() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;

    /// Sends SIGINT to this process at a given step, as Ctrl-C would.
    #[derive(Debug)]
    struct CtrlC(u64);
    impl Callback for CtrlC {
        fn on_step_end(&mut self, trainer: &Trainer, _: &DataInfo) -> anyhow::Result<Control> {
            if trainer.step == self.0 {
                tunesmith::train::interrupt::send_sigint_to_self()?;
            }
            Ok(Control::Continue)
        }
    }
    let mut ckpt = checkpointer(dir.path(), &data.vocab, None);
    ckpt.config.handle_signals = true;
    let mut trainer = tiny_trainer(&data.vocab, 2)?
        .with_callback(CtrlC(7))
        .with_callback(ckpt);
    trainer.fit(&data.train, &data.valid)?;
    assert_eq!(trainer.last_stop, Some(StopReason::Interrupted));
    assert_eq!(trainer.step, 7);
    assert_eq!(
        names(&dir.path().join("run"))?,
        vec![format!("step-{:09}", 7)]
    );
    // The same trainer continues where it stopped.
    trainer.fit(&data.train, &data.valid)?;
    assert_eq!(trainer.last_stop, Some(StopReason::Completed));
    let mut reference = tiny_trainer(&data.vocab, 2)?;
    reference.fit(&data.train, &data.valid)?;
    assert!(same_weights(&trainer.model, &reference.model));
    Ok(())
}

#[test]
fn a_time_based_checkpoint_is_taken_when_its_minutes_have_passed() -> Result<()> {
    let _lock = serial();
    let data = tiny_data()?;
    let dir = tempfile::tempdir()?;
    let mut ckpt = checkpointer(dir.path(), &data.vocab, None);
    ckpt.config.every_minutes = Some(0.0); // always due: one after every step
    let mut trainer = tiny_trainer(&data.vocab, 1)?.with_callback(ckpt);
    trainer.fit(&data.train, &data.valid)?;
    let bpe = data.train.batches_per_epoch();
    let kept = names(&dir.path().join("run"))?;
    assert_eq!(
        kept.len(),
        bpe,
        "a step checkpoint after each step but the last, then the epoch"
    );
    assert_eq!(kept[0], format!("step-{:09}", 1));
    assert_eq!(kept[bpe - 1], "epoch-0001");
    Ok(())
}
