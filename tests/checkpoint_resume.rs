//! Checkpointing in-process: for every model kind, exact mid-epoch resume, falling back past a
//! damaged checkpoint, saving and loading for generation with identical outputs, and refusing a
//! checkpoint of another model or encoding; then, on the character model, a failing drive,
//! retention, refusing a different setup, leftovers, interrupts and time-based saves.

mod ckpt_common;

use anyhow::Result;
use ckpt_common::*;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tch::Device;
use tunesmith::checkpoint::{load_model, store, Checkpointer};
use tunesmith::generate::{generate, render_audio, Length, Primer, SampleConfig, SampleEvery};
use tunesmith::train::{evaluate, Callback, Control, DataInfo, StopAtStep, StopReason, Trainer};

fn names(run_dir: &Path) -> Result<Vec<String>> {
    Ok(store::list(run_dir)?.iter().map(|e| e.name()).collect())
}

#[test]
fn stopping_mid_epoch_and_resuming_in_a_new_trainer_is_exact_for_every_model() -> Result<()> {
    let _lock = serial();
    for kind in KINDS {
        let data = tiny(kind)?;
        let dir = tempfile::tempdir()?;
        let mut reference = tiny_trainer(&data, 3)?;
        fit(&mut reference, &data)?;

        let bpe = data.train.batches_per_epoch() as u64;
        let stop_at = bpe + bpe / 2; // in the middle of the second epoch
        let mut first = tiny_trainer(&data, 3)?
            .with_callback(checkpointer(dir.path(), &data.encoding, None))
            .with_callback(StopAtStep(stop_at));
        fit(&mut first, &data)?;
        assert_eq!(first.last_stop, Some(StopReason::Requested), "{kind:?}");
        assert_eq!(first.step, stop_at);
        let run = dir.path().join("run");
        assert!(names(&run)?.contains(&format!("step-{stop_at:09}")));
        drop(first);

        let second = trained_with_checkpoints(&data, dir.path(), 3)?;
        let resumed = resume_report(&second).expect("the second trainer resumed");
        assert_eq!((resumed.step, resumed.epoch), (stop_at, 1), "{kind:?}");
        assert_eq!(resumed.batch_in_epoch as u64, bpe / 2);
        assert_eq!(second.step, reference.step);
        assert!(
            same_weights(second.model(), reference.model()),
            "{kind:?}: resumed weights differ"
        );
        assert_eq!(
            losses(&second.history),
            losses(&reference.history),
            "{kind:?}"
        );
    }
    Ok(())
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_one_before_for_every_model() -> Result<()> {
    let _lock = serial();
    for kind in KINDS {
        let data = tiny(kind)?;
        let dir = tempfile::tempdir()?;
        let mut reference = tiny_trainer(&data, 3)?;
        fit(&mut reference, &data)?;
        trained_with_checkpoints(&data, dir.path(), 2)?;
        let run = dir.path().join("run");
        assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0002"]);
        // Flip bytes in the middle of the newest checkpoint's weights.
        let weights = run.join("epoch-0002/weights.safetensors");
        let mut bytes = std::fs::read(&weights)?;
        let middle = bytes.len() - 40;
        bytes[middle] ^= 0xff;
        std::fs::write(&weights, bytes)?;

        let second = trained_with_checkpoints(&data, dir.path(), 3)?;
        let resumed = resume_report(&second).expect("resumed from the earlier checkpoint");
        assert_eq!(resumed.from, run.join("epoch-0001"), "{kind:?}");
        assert_eq!(resumed.skipped.len(), 1);
        assert!(resumed.skipped[0].reason.contains("weights.safetensors"));
        assert!(resumed.skipped[0].reason.contains("damaged"));
        assert!(
            run.join("epoch-0002.damaged").is_dir(),
            "set aside for inspection"
        );
        // Training from epoch 1 again reaches the same end as never stopping.
        assert!(same_weights(second.model(), reference.model()), "{kind:?}");
        assert_eq!(losses(&second.history), losses(&reference.history));
        assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0002", "epoch-0003"]);
    }
    Ok(())
}

#[test]
fn a_saved_model_of_every_kind_loads_with_identical_outputs() -> Result<()> {
    let _lock = serial();
    for kind in KINDS {
        let data = tiny(kind)?;
        let dir = tempfile::tempdir()?;
        let trainer = trained_with_checkpoints(&data, dir.path(), 1)?;
        let loaded = load_model(&dir.path().join("run"), Device::Cpu)?;
        assert_eq!(loaded.encoding, data.encoding, "{kind:?}");
        assert_eq!(loaded.model.architecture(), trainer.model().architecture());
        assert!(
            same_weights(loaded.model.as_ref(), trainer.model()),
            "{kind:?}"
        );
        let before = evaluate(trainer.model(), data.valid.as_ref(), usize::MAX);
        let after = evaluate(loaded.model.as_ref(), data.valid.as_ref(), usize::MAX);
        assert_eq!(before.loss.to_bits(), after.loss.to_bits(), "{kind:?}");
        let config = SampleConfig {
            length: Length::Steps(30),
            seed: 3,
            ..SampleConfig::default()
        };
        if matches!(kind, Kind::Audio | Kind::Samples) {
            // A neural synthesizer renders notes: the same waveform before and after loading.
            let score = &tiny_scores(1)?[0];
            let score = tunesmith::bench::audio::first_seconds(score, 0.05);
            let original = render_audio(trainer.model(), &data.encoding, &score, &config)?;
            let reloaded = render_audio(loaded.model.as_ref(), &loaded.encoding, &score, &config)?;
            assert!(!original.samples.is_empty(), "{kind:?}");
            assert_eq!(original.samples, reloaded.samples, "{kind:?}");
            // And it opens for generation like every other model.
            let generator =
                tunesmith::generate::open_for_generation(&dir.path().join("run"), Device::Cpu)?;
            assert_eq!(generator.render(&score, &config)?.samples, original.samples);
            continue;
        }
        let primer = match kind {
            Kind::Chars => Primer::abc("M:4/4\n"),
            Kind::Roll | Kind::PitchRoll => Primer::none(),
            _ => Primer::ids(vec![1, 2, 3]),
        };
        let original = generate(trainer.model(), &data.encoding, &primer, &config)?;
        let reloaded = generate(loaded.model.as_ref(), &loaded.encoding, &primer, &config)?;
        assert_eq!(original, reloaded, "{kind:?}");
    }
    Ok(())
}

#[test]
fn a_checkpoint_of_another_model_or_encoding_is_refused_naming_both() -> Result<()> {
    let _lock = serial();
    let pairs = [
        (Kind::Chars, Kind::WindowAttention, "lstm_lm", "window_lstm"),
        (
            Kind::WindowAttention,
            Kind::Roll,
            "window_lstm",
            "frame_lstm",
        ),
        (Kind::Roll, Kind::Chars, "piano_roll", "chars"),
        (Kind::Roll, Kind::PitchRoll, "frame_lstm", "pitch_lstm"),
        (Kind::Audio, Kind::Samples, "ddsp", "sample_rnn"),
    ];
    for (saved, resumed, theirs, ours) in pairs {
        let first_data = tiny(saved)?;
        let dir = tempfile::tempdir()?;
        trained_with_checkpoints(&first_data, dir.path(), 1)?;
        let data = tiny(resumed)?;
        let mut other = tiny_trainer(&data, 2)?.with_callback({
            let mut c = checkpointer(dir.path(), &data.encoding, None);
            c.config.allow_config_change = true;
            c
        });
        let err = format!("{:#}", fit(&mut other, &data).expect_err("another kind"));
        assert!(
            err.contains(theirs) && err.contains(ours) && err.contains("epoch-0001"),
            "{saved:?} → {resumed:?}: {err}"
        );
        assert_eq!(other.step, 0, "nothing was trained");
    }
    // The same architecture with another encoding (characters, then events) is refused too.
    let chars = tiny(Kind::Chars)?;
    let dir = tempfile::tempdir()?;
    let first = trained_with_checkpoints(&chars, dir.path(), 1)?;
    let events = tunesmith::encode::EventVocab::new(tunesmith::encode::EventConfig::default());
    let err = tunesmith::checkpoint::Checkpoint::load(&dir.path().join("run/epoch-0001"))?
        .check_same_kind(first.model(), &events.into())
        .expect_err("another encoding");
    let err = format!("{err:#}");
    assert!(err.contains("chars") && err.contains("events"), "{err}");
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
    fn on_epoch_end(&mut self, trainer: &mut Trainer, _: &DataInfo) -> anyhow::Result<Control> {
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
    let (_lock, data, dir) = tiny_chars_run()?;
    let run = dir.path().join("run");
    let mut reference = tiny_trainer(&data, 5)?;
    fit(&mut reference, &data)?;

    let mut trainer = tiny_trainer(&data, 5)?
        .with_callback(FlakyDrive {
            run_dir: run.clone(),
            parked: dir.path().join("parked"),
            fail_after_epoch: 2,
            heal_after_epoch: 4,
        })
        .with_callback(checkpointer(dir.path(), &data.encoding, None));
    fit(&mut trainer, &data)?;

    assert_eq!(trainer.epoch, 5, "training went on");
    assert!(same_weights(trainer.model(), reference.model()));
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
    let (_lock, data, dir) = tiny_chars_run()?;
    let run = dir.path().join("run");
    let full = Arc::new(AtomicBool::new(false));
    let mut ckpt = checkpointer(dir.path(), &data.encoding, None);
    let flag = full.clone();
    ckpt.config.hooks.fault = Some(Arc::new(move |path: &Path| {
        (flag.load(Ordering::SeqCst) && path.ends_with("optimizer.safetensors"))
            .then(|| io::Error::from_raw_os_error(libc::ENOSPC))
    }));
    let mut trainer = tiny_trainer(&data, 1)?.with_callback(ckpt);
    fit(&mut trainer, &data)?;
    let good = std::fs::read(run.join("epoch-0001/weights.safetensors"))?;

    full.store(true, Ordering::SeqCst);
    trainer.config.epochs = 2;
    fit(&mut trainer, &data)?;
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
    fit(&mut trainer, &data)?;
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0003"]);
    Ok(())
}

#[test]
fn retention_keeps_the_last_k_and_the_best_and_samples_are_written() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    let run = dir.path().join("run");
    let mut ckpt = checkpointer(dir.path(), &data.encoding, Some(5));
    ckpt.config.keep_last = 2;
    let mut samples = SampleEvery::into_run(2, &run, data.encoding.clone());
    samples.count = 2;
    samples.verbose = false;
    samples.config.max_steps = 60;
    let mut trainer = tiny_trainer(&data, 4)?
        .with_callback(ckpt)
        .with_callback(samples);
    fit(&mut trainer, &data)?;
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
    assert_eq!(
        samples,
        vec![
            "epoch-0002-1.abc",
            "epoch-0002-2.abc",
            "epoch-0004-1.abc",
            "epoch-0004-2.abc"
        ]
    );
    let text = std::fs::read_to_string(run.join("samples/epoch-0004-2.abc"))?;
    assert!(text.starts_with("X:1\nT:epoch-0004-2\n"), "{text}");
    Ok(())
}

#[test]
fn retention_spares_the_best_epoch_even_when_it_is_old() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    let run = dir.path().join("run");
    trained_with_checkpoints(&data, dir.path(), 3)?;
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
    let (_lock, data, dir) = tiny_chars_run()?;
    trained_with_checkpoints(&data, dir.path(), 1)?;

    let mut changed = tiny_trainer(&data, 2)?;
    changed.config.adam.lr = 5e-3;
    let mut changed = changed.with_callback(checkpointer(dir.path(), &data.encoding, None));
    // The same tokens cut into sequences of another length.
    let tokens = match &data.encoding {
        tunesmith::encode::Encoding::Chars(vocab) => vocab.encode(&tiny_tunes(30))?,
        _ => unreachable!("the character kind"),
    };
    let cut = tokens.len() * 4 / 5;
    let other = Tiny {
        kind: Kind::Chars,
        encoding: data.encoding.clone(),
        train: Box::new(tunesmith::data::SequenceBatches::new(
            tokens[..cut].to_vec(),
            12,
            4,
        )?),
        valid: Box::new(tunesmith::data::SequenceBatches::new(
            tokens[cut..].to_vec(),
            16,
            4,
        )?),
    };
    let err = format!("{:#}", fit(&mut changed, &other).unwrap_err());
    assert!(err.contains("different setup"), "{err}");
    assert!(
        err.contains("train.adam.lr: checkpoint 0.01, now 0.005"),
        "{err}"
    );
    assert!(
        err.contains("data.batches.seq_len: checkpoint 16, now 12"),
        "{err}"
    );
    assert!(err.contains("allow_config_change"), "{err}");
    assert_eq!(changed.step, 0, "nothing was trained");

    changed
        .callback_mut::<Checkpointer>()
        .expect("checkpointer")
        .config
        .allow_config_change = true;
    fit(&mut changed, &other)?;
    let report = resume_report(&changed);
    let differences = report.map(|r| r.differences).unwrap_or_default();
    assert!(
        differences.len() >= 3,
        "the learning rate, the sequence length and the data: {differences:?}"
    );
    assert_eq!(changed.epoch, 2);
    // The allowed new rate is the one the run went on at, not the checkpoint's.
    assert_eq!(changed.optimizer.config.lr, 5e-3);
    assert_eq!(changed.history.records.last().map(|r| r.lr), Some(5e-3));
    Ok(())
}

#[test]
fn a_checkpoint_opens_for_generation_without_its_training_state() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    let trainer = trained_with_checkpoints(&data, dir.path(), 1)?;
    let checkpoint = dir.path().join("run/epoch-0001");
    std::fs::remove_file(checkpoint.join("optimizer.safetensors"))?;

    for path in [checkpoint.clone(), dir.path().join("run")] {
        let generator = tunesmith::generate::open_for_generation(&path, Device::Cpu)?;
        let meta = generator.meta.as_ref().map(|m| m.progress.epoch);
        assert_eq!(meta, Some(1), "{}", path.display());
        assert!(same_weights(generator.model.as_ref(), trainer.model()));
        let config = SampleConfig {
            max_steps: 40,
            ..SampleConfig::default()
        };
        let piece = generator.generate(&Primer::none(), &config)?;
        assert_eq!(
            piece,
            generate(trainer.model(), &data.encoding, &Primer::none(), &config)?
        );
    }
    // Training state is gone, so resuming from it is refused with the file named.
    let err = tunesmith::checkpoint::Checkpoint::load(&checkpoint).unwrap_err();
    assert!(format!("{err:#}").contains("optimizer.safetensors"));
    Ok(())
}

#[test]
fn a_leftover_temporary_is_never_taken_for_a_checkpoint() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    let run = dir.path().join("run");
    trained_with_checkpoints(&data, dir.path(), 2)?;
    // A complete-looking copy of a later state under a temporary name, as a kill between the last
    // file and the rename leaves it.
    let fake = run.join(".tmp-epoch-0009-123-456");
    std::fs::create_dir(&fake)?;
    for file in ["weights.safetensors", "optimizer.safetensors", "meta.json"] {
        std::fs::copy(run.join("epoch-0002").join(file), fake.join(file))?;
    }
    assert_eq!(names(&run)?, vec!["epoch-0001", "epoch-0002"]);
    let again = trained_with_checkpoints(&data, dir.path(), 2)?;
    let from = resume_report(&again).map(|r| r.from);
    assert_eq!(from, Some(run.join("epoch-0002")));
    assert!(!fake.exists(), "leftover temporaries are cleaned up");
    Ok(())
}

#[test]
fn an_interrupt_signal_finishes_the_step_saves_and_returns() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;

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
    let mut ckpt = checkpointer(dir.path(), &data.encoding, None);
    ckpt.config.handle_signals = true;
    let mut trainer = tiny_trainer(&data, 2)?
        .with_callback(CtrlC(7))
        .with_callback(ckpt);
    fit(&mut trainer, &data)?;
    assert_eq!(trainer.last_stop, Some(StopReason::Interrupted));
    assert_eq!(trainer.step, 7);
    assert_eq!(
        names(&dir.path().join("run"))?,
        vec![format!("step-{:09}", 7)]
    );
    // The same trainer continues where it stopped.
    fit(&mut trainer, &data)?;
    assert_eq!(trainer.last_stop, Some(StopReason::Completed));
    let mut reference = tiny_trainer(&data, 2)?;
    fit(&mut reference, &data)?;
    assert!(same_weights(trainer.model(), reference.model()));
    Ok(())
}

#[test]
fn a_time_based_checkpoint_is_taken_when_its_minutes_have_passed() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    let mut ckpt = checkpointer(dir.path(), &data.encoding, None);
    ckpt.config.every_minutes = Some(0.0); // always due: one after every step
    let mut trainer = tiny_trainer(&data, 1)?.with_callback(ckpt);
    fit(&mut trainer, &data)?;
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

#[test]
fn exporting_over_an_earlier_export_keeps_its_readme_and_refuses_to_drop_a_folder() -> Result<()> {
    let (_lock, data, dir) = tiny_chars_run()?;
    trained_with_checkpoints(&data, dir.path(), 2)?;
    let load =
        |epoch: &str| tunesmith::checkpoint::Checkpoint::load(&dir.path().join("run").join(epoch));
    let out = dir.path().join("models");
    let shipped = load("epoch-0001")?.export_for_generation(&out, "tiny")?;
    std::fs::write(shipped.join("README.md"), "# tiny: the recipe")?;
    std::fs::write(shipped.join("config.json"), "{}")?;
    std::fs::write(shipped.join("sampling.json"), r#"{"temperature": 0.9}"#)?;
    let first_weights = std::fs::read(shipped.join("weights.safetensors"))?;

    // A second export replaces the weights and keeps the files that are not the checkpoint's.
    load("epoch-0002")?.export_for_generation(&out, "tiny")?;
    assert_eq!(
        std::fs::read_to_string(shipped.join("README.md"))?,
        "# tiny: the recipe"
    );
    assert_eq!(std::fs::read_to_string(shipped.join("config.json"))?, "{}");
    let second_weights = std::fs::read(shipped.join("weights.safetensors"))?;
    assert_ne!(first_weights, second_weights, "the new weights are in");
    // The sampling settings kept beside the weights are the generator's.
    let generator = tunesmith::generate::open_for_generation(&shipped, Device::Cpu)?;
    assert_eq!(generator.sampling.temperature, 0.9);

    // A subfolder would be lost: refused, named, and nothing changes.
    std::fs::create_dir(shipped.join("figures"))?;
    let err = format!(
        "{:#}",
        load("epoch-0001")?
            .export_for_generation(&out, "tiny")
            .unwrap_err()
    );
    assert!(err.contains("figures"), "{err}");
    assert_eq!(
        std::fs::read(shipped.join("weights.safetensors"))?,
        second_weights
    );
    assert!(shipped.join("figures").is_dir());
    Ok(())
}
