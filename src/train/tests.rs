//! The training loop with each model kind: learning, determinism, continuing after a stop, and
//! the policies (learning-rate cuts, early stopping, best weights, time budget).

use super::*;
use crate::data::{SequenceBatches, WindowBatches};
use crate::model::{LstmConfig, LstmLm, WindowConfig, WindowLstm};
use tch::Device;

fn pattern_batches() -> Result<(SequenceBatches, SequenceBatches)> {
    let pattern: Vec<i64> = (0..2000).map(|i| [0, 1, 2, 3, 2, 1][i % 6]).collect();
    Ok((
        SequenceBatches::new(pattern.clone(), 12, 8)?,
        SequenceBatches::new(pattern, 12, 8)?,
    ))
}

fn weights(trainer: &Trainer) -> Vec<Tensor> {
    trainer
        .model()
        .named_parameters()
        .into_iter()
        .map(|(_, t)| t.copy())
        .collect()
}

fn same(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equal(y))
}

#[test]
fn a_tiny_lstm_learns_a_repeating_pattern() -> Result<()> {
    let (train, valid) = pattern_batches()?;
    let _generator = crate::model::torch_rng::hold_seeded(0);
    let model = LstmLm::new(LstmConfig::debug(4), Device::Cpu)?;
    let mut trainer = Trainer::new(model, TrainConfig::quiet(8, 1e-2));
    let before = trainer.evaluate(&valid).loss;
    trainer.fit(&train, &valid)?;
    let after = trainer.history.last_valid_loss().unwrap_or(f64::NAN);
    assert!(before > 1.0, "an untrained model is uncertain: {before}");
    assert!(
        after < 0.2,
        "the pattern is deterministic given context: {after}"
    );
    assert_eq!(trainer.history.records.len(), 8);
    assert_eq!(trainer.last_stop, Some(StopReason::Completed));
    assert!(trainer.history.records.iter().all(|r| r.lr == 1e-2));
    Ok(())
}

/// The next token is the one that was 3 steps back: the model must look past the last step.
#[test]
fn the_window_model_learns_a_lagged_copy_with_and_without_attention() -> Result<()> {
    let stream: Vec<i64> = (0..600u64)
        .map(|i| ((i * 2654435761) >> 7) as i64 % 4)
        .collect();
    let pieces: Vec<Vec<i64>> = vec![stream];
    for attention in [true, false] {
        // Targets: the id 3 steps before the next one, i.e. inside the window.
        let window = 6;
        let lagged: Vec<i64> = (0..pieces[0].len())
            .map(|i| if i >= 3 { pieces[0][i - 3] } else { 0 })
            .collect();
        let mut xs = Vec::new();
        for s in 0..pieces[0].len() - window {
            let mut w = pieces[0][s..s + window].to_vec();
            w.push(lagged[s + window]);
            xs.push(w);
        }
        // Each example as its own piece of window + 1 ids: exactly one example per piece.
        let train = WindowBatches::from_pieces(xs, window, 32)?;
        let _generator = crate::model::torch_rng::hold_seeded(7);
        let model = WindowLstm::new(WindowConfig::debug(4, attention), Device::Cpu)?;
        let before = evaluate(&model, &train, usize::MAX);
        let mut trainer = Trainer::new(model, TrainConfig::quiet(15, 1e-2));
        trainer.fit(&train, &train)?;
        let after = trainer.evaluate(&train);
        assert!(before.loss > 1.2, "untrained loss {}", before.loss);
        let accuracy = after.accuracy.unwrap_or(0.0);
        assert!(
            accuracy > 0.95,
            "attention {attention}: accuracy {accuracy}, loss {}",
            after.loss
        );
        let shown = trainer.history.records.last().map(|r| r.to_string());
        assert!(shown.is_some_and(|s| s.contains("valid accuracy")));
    }
    Ok(())
}

#[test]
fn the_same_seed_gives_the_same_weights_and_another_does_not() -> Result<()> {
    let (train, valid) = pattern_batches()?;
    let run = |seed| -> Result<Vec<Tensor>> {
        let model = seeded(1, || LstmLm::new(LstmConfig::debug(4), Device::Cpu))?;
        let mut config = TrainConfig::quiet(2, 1e-2);
        config.seed = seed;
        let mut trainer = Trainer::new(model, config);
        trainer.fit(&train, &valid)?;
        Ok(weights(&trainer))
    };
    assert!(same(&run(1)?, &run(1)?));
    assert!(
        !same(&run(1)?, &run(2)?),
        "the seed changes the batch order"
    );
    Ok(())
}

#[test]
fn fit_called_again_after_a_stop_continues_exactly() -> Result<()> {
    let (train, valid) = pattern_batches()?;
    let fresh = || -> Result<Trainer> {
        let mut config = LstmConfig::debug(4);
        config.dropout = 0.3;
        let model = seeded(3, || LstmLm::new(config, Device::Cpu))?;
        Ok(Trainer::new(model, TrainConfig::quiet(3, 1e-2)))
    };
    let mut whole = fresh()?;
    whole.fit(&train, &valid)?;
    let mut paused = fresh()?.with_callback(StopAtStep(25));
    paused.fit(&train, &valid)?;
    assert_eq!(paused.last_stop, Some(StopReason::Requested));
    assert_eq!((paused.step, paused.epoch), (25, 1));
    paused.callback_mut::<StopAtStep>().expect("added").0 = u64::MAX;
    paused.fit(&train, &valid)?;
    assert_eq!(paused.last_stop, Some(StopReason::Completed));
    assert!(same(&weights(&whole), &weights(&paused)));
    assert_eq!(whole.history.records.len(), paused.history.records.len());
    Ok(())
}

#[test]
fn a_plateau_cuts_the_learning_rate_then_stops_and_the_best_weights_come_back() -> Result<()> {
    let (train, valid) = pattern_batches()?;
    let _generator = crate::model::torch_rng::hold_seeded(0);
    let model = LstmLm::new(LstmConfig::debug(4), Device::Cpu)?;
    // A learning rate far too high: the validation loss soon stops improving.
    let mut config = TrainConfig::quiet(60, 3.0);
    config.lr_plateau = Some(LrOnPlateau {
        patience: 2,
        factor: 0.5,
        max_cuts: 1,
    });
    config.keep_best = true;
    let mut trainer = Trainer::new(model, config);
    trainer.fit(&train, &valid)?;
    assert_eq!(trainer.last_stop, Some(StopReason::NoImprovement));
    let lrs: Vec<f64> = trainer.history.records.iter().map(|r| r.lr).collect();
    assert!(lrs.contains(&3.0) && lrs.contains(&1.5), "{lrs:?}");
    let best = trainer.best.as_ref().expect("best weights kept");
    assert_eq!(Some(best.epoch), trainer.history.best_epoch());
    let restored = trainer.evaluate(&valid).loss;
    assert!(
        (restored - best.valid_loss).abs() < 1e-9,
        "the model holds the best epoch's weights: {restored} vs {}",
        best.valid_loss
    );
    Ok(())
}

#[test]
fn early_stopping_and_the_time_budget_stop_training() -> Result<()> {
    let (train, valid) = pattern_batches()?;
    let _generator = crate::model::torch_rng::hold_seeded(0);
    let mut config = TrainConfig::quiet(200, 3.0);
    config.early_stopping = Some(2);
    let mut trainer = Trainer::new(LstmLm::new(LstmConfig::debug(4), Device::Cpu)?, config);
    trainer.fit(&train, &valid)?;
    assert_eq!(trainer.last_stop, Some(StopReason::NoImprovement));
    let plateau = Plateau::of(
        &trainer
            .history
            .records
            .iter()
            .map(|r| r.valid_loss)
            .collect::<Vec<_>>(),
        None,
    );
    assert_eq!(plateau.since_best, 2);

    let mut config = TrainConfig::quiet(1000, 1e-2);
    config.max_seconds = Some(0.0);
    let mut trainer = Trainer::new(LstmLm::new(LstmConfig::debug(4), Device::Cpu)?, config);
    trainer.fit(&train, &valid)?;
    assert_eq!(trainer.last_stop, Some(StopReason::TimeBudget));
    assert_eq!(trainer.step, 1, "the budget is checked after every step");
    assert!(trainer.history.records[0].fraction < 1.0);
    Ok(())
}

#[test]
fn the_model_comes_back_as_its_own_type_or_a_clear_error() -> Result<()> {
    let trainer = Trainer::new(
        LstmLm::new(LstmConfig::debug(4), Device::Cpu)?,
        TrainConfig::quiet(1, 1e-2),
    );
    assert!(trainer.model_as::<LstmLm>().is_ok());
    let err = trainer.model_as::<WindowLstm>().expect_err("another type");
    assert!(format!("{err:#}").contains("lstm_lm"), "{err:#}");
    let model: LstmLm = trainer.into_model()?;
    assert_eq!(model.config, LstmConfig::debug(4));
    Ok(())
}

#[test]
fn the_learning_rate_decays_along_a_cosine_over_the_budget() {
    let decay = LrDecay {
        start: 0.5,
        floor: 0.1,
    };
    assert_eq!(decay.factor(0.0), 1.0);
    assert_eq!(decay.factor(0.5), 1.0);
    assert!((decay.factor(0.75) - 0.55).abs() < 1e-12);
    assert!((decay.factor(1.0) - 0.1).abs() < 1e-12);
    assert!((decay.factor(2.0) - 0.1).abs() < 1e-12);
}
