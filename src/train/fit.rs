//! A small, generic training loop for any model that can name its parameters and compute a batch
//! loss: the window model, piano-roll models, anything that is not trained by [`super::Trainer`].
//!
//! Each epoch asks a closure for that epoch's batches, visits them in an order that depends only on
//! `(seed, epoch)`, takes one Adam step per batch (with gradient clipping), validates, prints a
//! progress line and records the epoch in a [`History`].

use super::{Adam, AdamConfig, EpochRecord, History};
use crate::model::LstmLm;
use anyhow::{ensure, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Kind, Tensor};

/// A model [`fit`] can train.
pub trait Trainable {
    /// The trainable parameters by name, in a stable order.
    fn named_parameters(&self) -> Vec<(String, Tensor)>;

    /// Mean loss of one batch (a scalar tensor attached to the graph); `train` turns dropout on.
    fn batch_loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor;

    /// Share of the batch's targets the model ranks first (evaluation mode), or `None` when
    /// accuracy means nothing for this model.
    fn batch_accuracy(&self, _inputs: &Tensor, _targets: &Tensor) -> Option<f64> {
        None
    }
}

/// How [`fit`] trains. (Missing fields in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitOptions {
    /// Epochs to run.
    pub epochs: usize,
    /// Optimizer settings.
    pub adam: AdamConfig,
    /// Maximum global gradient norm (0 turns clipping off).
    pub clip_norm: f64,
    /// Seed for the batch order and for dropout.
    pub seed: u64,
    /// Stop (after validating) once this many seconds of training have passed.
    pub max_seconds: Option<f64>,
    /// Print a progress line per epoch.
    pub verbose: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 10,
            adam: AdamConfig {
                lr: 2e-3,
                ..AdamConfig::default()
            },
            clip_norm: 1.0,
            seed: 0,
            max_seconds: None,
            verbose: true,
        }
    }
}

/// Mean loss and accuracy over a set of batches, weighted by the number of targets in each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per target (nats for cross-entropy).
    pub loss: f64,
    /// Share of targets predicted right, when the model reports accuracy.
    pub accuracy: Option<f64>,
}

/// Evaluates a model on batches without dropout or gradients (`NaN` loss for no batches).
pub fn evaluate_batches<M: Trainable + ?Sized>(
    model: &M,
    batches: &[(Tensor, Tensor)],
) -> Evaluation {
    tch::no_grad(|| {
        let (mut loss, mut correct, mut count) = (0.0, 0.0, 0.0);
        let mut has_accuracy = true;
        for (x, y) in batches {
            let n = target_count(y);
            loss += model
                .batch_loss(x, y, false)
                .to_kind(Kind::Double)
                .double_value(&[])
                * n;
            match model.batch_accuracy(x, y) {
                Some(a) => correct += a * n,
                None => has_accuracy = false,
            }
            count += n;
        }
        if count == 0.0 {
            return Evaluation {
                loss: f64::NAN,
                accuracy: None,
            };
        }
        Evaluation {
            loss: loss / count,
            accuracy: has_accuracy.then_some(correct / count),
        }
    })
}

/// How many predictions a batch's targets hold: one per id for class targets, one per row of the
/// last dimension for float (multi-hot) targets.
fn target_count(targets: &Tensor) -> f64 {
    let n = targets.numel() as f64;
    match (targets.kind(), targets.size().last()) {
        (Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16, Some(&last)) if last > 0 => {
            n / last as f64
        }
        _ => n,
    }
    .max(1.0)
}

/// Trains `model` for `options.epochs` epochs (or until `options.max_seconds`), asking `train` for
/// each epoch's batches (given the 0-based epoch) and validating on `valid` after every epoch.
/// Returns the loss history; `valid_loss` is `NaN` when `valid` is empty.
pub fn fit<M: Trainable>(
    model: &M,
    options: &FitOptions,
    train: &mut dyn FnMut(usize) -> Vec<(Tensor, Tensor)>,
    valid: &[(Tensor, Tensor)],
) -> Result<History> {
    let params = model.named_parameters();
    ensure!(!params.is_empty(), "the model has no parameters to train");
    let mut optimizer = Adam::new(params, options.adam);
    let mut history = History::default();
    let started = Instant::now();
    let mut step: u64 = 0;
    for epoch in 0..options.epochs {
        let batches = train(epoch);
        ensure!(
            !batches.is_empty(),
            "the training data gave no batches for epoch {}",
            epoch + 1
        );
        let mut order: Vec<usize> = (0..batches.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(
            options.seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        order.shuffle(&mut rng);
        let epoch_start = Instant::now();
        let (mut loss_sum, mut done, mut targets) = (0.0, 0usize, 0usize);
        for &i in &order {
            let (x, y) = &batches[i];
            tch::manual_seed(options.seed.wrapping_add(step) as i64);
            optimizer.zero_grad();
            let loss = model.batch_loss(x, y, true);
            loss.backward();
            if options.clip_norm > 0.0 {
                optimizer.clip_grad_norm(options.clip_norm);
            }
            optimizer.step();
            step += 1;
            let value = loss.double_value(&[]);
            ensure!(
                value.is_finite(),
                "the training loss became {value} at epoch {}, step {step}",
                epoch + 1
            );
            loss_sum += value;
            done += 1;
            targets += target_count(y) as usize;
            if options
                .max_seconds
                .is_some_and(|b| started.elapsed().as_secs_f64() >= b)
            {
                break;
            }
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        let eval = evaluate_batches(model, valid);
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / done.max(1) as f64,
            valid_loss: eval.loss,
            seconds,
            tokens_per_second: targets as f64 / seconds.max(1e-9),
            fraction: done as f64 / batches.len() as f64,
        };
        if options.verbose {
            let accuracy = eval
                .accuracy
                .map(|a| format!("  valid accuracy {:.1}%", 100.0 * a))
                .unwrap_or_default();
            println!(
                "epoch {:>3}/{}  train loss {:.4}  valid loss {:.4}{accuracy}  {:.1} s  {:.0} targets/s",
                record.epoch,
                options.epochs,
                record.train_loss,
                record.valid_loss,
                record.seconds,
                record.tokens_per_second
            );
        }
        history.records.push(record);
        if options
            .max_seconds
            .is_some_and(|b| started.elapsed().as_secs_f64() >= b)
        {
            if options.verbose {
                println!(
                    "time budget of {:.0} s reached",
                    options.max_seconds.unwrap_or(0.0)
                );
            }
            break;
        }
    }
    Ok(history)
}

/// Share of rows whose highest logit is the target: `logits` `[n, vocab]`, `targets` `[n]`.
pub fn argmax_accuracy(logits: &Tensor, targets: &Tensor) -> f64 {
    let predicted = logits.argmax(-1, false);
    predicted
        .eq_tensor(targets)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

impl Trainable for LstmLm {
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        LstmLm::named_parameters(self)
    }

    fn batch_loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        self.loss(inputs, targets, train)
    }

    fn batch_accuracy(&self, inputs: &Tensor, targets: &Tensor) -> Option<f64> {
        let (logits, _) = self.forward(inputs, None, false);
        let v = self.config.vocab_size;
        Some(argmax_accuracy(&logits.view([-1, v]), &targets.view([-1])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LstmConfig;
    use tch::nn::{self, Init};
    use tch::Device;

    /// A bigram model: embedding → linear, enough to learn "next = (x + 1) mod 5".
    struct Bigram {
        vs: nn::VarStore,
        embed: Tensor,
        weight: Tensor,
    }

    impl Bigram {
        fn new() -> Self {
            tch::manual_seed(3);
            let vs = nn::VarStore::new(Device::Cpu);
            let embed = vs.root().var(
                "embed",
                &[5, 8],
                Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            );
            let weight = vs.root().var(
                "weight",
                &[5, 8],
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.3,
                },
            );
            Bigram { vs, embed, weight }
        }

        fn logits(&self, x: &Tensor) -> Tensor {
            Tensor::embedding(&self.embed, x, -1, false, false)
                .linear::<&Tensor>(&self.weight, None)
        }
    }

    impl Trainable for Bigram {
        fn named_parameters(&self) -> Vec<(String, Tensor)> {
            let mut v: Vec<_> = self.vs.variables().into_iter().collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        }
        fn batch_loss(&self, inputs: &Tensor, targets: &Tensor, _train: bool) -> Tensor {
            self.logits(inputs).cross_entropy_for_logits(targets)
        }
        fn batch_accuracy(&self, inputs: &Tensor, targets: &Tensor) -> Option<f64> {
            Some(argmax_accuracy(&self.logits(inputs), targets))
        }
    }

    fn batches(seed: i64) -> Vec<(Tensor, Tensor)> {
        (0..8)
            .map(|b| {
                let x = Tensor::from_slice(
                    &(0..16)
                        .map(|i| (i * 7 + b * 3 + seed) % 5)
                        .collect::<Vec<i64>>(),
                );
                let y = (&x + 1).remainder(5);
                (x, y)
            })
            .collect()
    }

    #[test]
    fn a_tiny_model_learns_a_pattern() -> Result<()> {
        let model = Bigram::new();
        let valid = batches(100);
        let before = evaluate_batches(&model, &valid);
        let options = FitOptions {
            epochs: 6,
            adam: AdamConfig {
                lr: 5e-2,
                ..AdamConfig::default()
            },
            verbose: false,
            ..FitOptions::default()
        };
        let mut seen_epochs = Vec::new();
        let history = fit(
            &model,
            &options,
            &mut |epoch| {
                seen_epochs.push(epoch);
                batches(epoch as i64)
            },
            &valid,
        )?;
        assert_eq!(seen_epochs, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(history.records.len(), 6);
        let last = history
            .records
            .last()
            .map(|r| r.valid_loss)
            .unwrap_or(f64::NAN);
        assert!(before.loss > 1.0, "untrained loss {}", before.loss);
        assert!(last < 0.1, "trained loss {last}");
        assert!(history.records[0].train_loss > history.records[5].train_loss);
        let after = evaluate_batches(&model, &valid);
        assert_eq!(after.accuracy, Some(1.0));
        assert!(history.records.iter().all(|r| r.fraction == 1.0));
        Ok(())
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() -> Result<()> {
        let run = |seed| -> Result<Tensor> {
            let model = Bigram::new();
            let options = FitOptions {
                epochs: 2,
                seed,
                verbose: false,
                ..FitOptions::default()
            };
            fit(&model, &options, &mut |e| batches(e as i64), &[])?;
            Ok(model.weight.copy())
        };
        assert!(run(1)?.equal(&run(1)?));
        assert!(!run(1)?.equal(&run(2)?), "the seed changes the batch order");
        Ok(())
    }

    #[test]
    fn lstm_lm_is_trainable() -> Result<()> {
        tch::set_num_threads(1);
        tch::manual_seed(0);
        let model = LstmLm::new(LstmConfig::debug(4), Device::Cpu)?;
        let pattern: Vec<i64> = (0..17 * 8).map(|i| [0, 1, 2, 3][i % 4]).collect();
        let x = Tensor::from_slice(&pattern[..16 * 8]).view([8, 16]);
        let y = Tensor::from_slice(&pattern[1..16 * 8 + 1]).view([8, 16]);
        let data = vec![(x, y)];
        let options = FitOptions {
            epochs: 40,
            adam: AdamConfig {
                lr: 2e-2,
                ..AdamConfig::default()
            },
            verbose: false,
            ..FitOptions::default()
        };
        let history = fit(
            &model,
            &options,
            &mut |_| {
                data.iter()
                    .map(|(a, b)| (a.shallow_clone(), b.shallow_clone()))
                    .collect()
            },
            &data,
        )?;
        let eval = evaluate_batches(&model, &data);
        assert!(history.records[0].valid_loss > 1.0);
        assert!(eval.loss < 0.2, "loss {}", eval.loss);
        assert_eq!(eval.accuracy, Some(1.0));
        Ok(())
    }

    #[test]
    fn no_batches_is_an_error() {
        let model = Bigram::new();
        let options = FitOptions {
            verbose: false,
            ..FitOptions::default()
        };
        assert!(fit(&model, &options, &mut |_| Vec::new(), &[]).is_err());
    }
}
