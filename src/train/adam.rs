//! Adam whose state (moments and step count) we own, so checkpoints can save and restore it.
//! The update is PyTorch's `torch.optim.Adam` (no AMSGrad), and matches tch's built-in Adam.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Adam's hyper-parameters. (Missing fields in JSON take their defaults.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator for stability.
    pub eps: f64,
    /// L2 penalty added to the gradient (PyTorch's `weight_decay`).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam over a fixed, ordered list of named parameters.
#[derive(Debug)]
pub struct Adam {
    /// Hyper-parameters (the learning rate may be changed between steps).
    pub config: AdamConfig,
    /// Number of updates made so far.
    pub step: i64,
    names: Vec<String>,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
}

impl Adam {
    /// An optimizer for the given named parameters (state starts at zero).
    pub fn new(named: Vec<(String, Tensor)>, config: AdamConfig) -> Self {
        let (names, params): (Vec<String>, Vec<Tensor>) = named.into_iter().unzip();
        let zeros = |p: &Tensor| p.zeros_like().set_requires_grad(false);
        let exp_avg = params.iter().map(zeros).collect();
        let exp_avg_sq = params.iter().map(zeros).collect();
        Adam {
            config,
            step: 0,
            names,
            params,
            exp_avg,
            exp_avg_sq,
        }
    }

    /// Clears the gradients of every parameter.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// Scales gradients so their global L2 norm is at most `max_norm` (as `clip_grad_norm_`).
    /// Returns the norm before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
        let total = Tensor::stack(&norms, 0).norm().double_value(&[]);
        let coef = max_norm / (total + 1e-6);
        if coef < 1.0 {
            tch::no_grad(|| {
                for g in &grads {
                    let _ = g.shallow_clone().g_mul_scalar_(coef);
                }
            });
        }
        total
    }

    /// One Adam update from the current gradients.
    pub fn step(&mut self) {
        self.step += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.step as i32);
        let bias2 = 1.0 - c.beta2.powi(self.step as i32);
        let step_size = c.lr / bias1;
        let bias2_sqrt = bias2.sqrt();
        tch::no_grad(|| {
            for ((p, m), v) in self.params.iter().zip(&self.exp_avg).zip(&self.exp_avg_sq) {
                let mut g = p.grad();
                if !g.defined() {
                    continue;
                }
                if c.weight_decay != 0.0 {
                    g = &g + p * c.weight_decay;
                }
                let (mut m, mut v, mut p) =
                    (m.shallow_clone(), v.shallow_clone(), p.shallow_clone());
                let _ = m.lerp_(&g, 1.0 - c.beta1);
                let _ = v
                    .g_mul_scalar_(c.beta2)
                    .addcmul_(&g, &(&g * (1.0 - c.beta2)));
                let denom = (v.sqrt() / bias2_sqrt).g_add_scalar_(c.eps);
                let _ = p.addcdiv_(&m.g_mul_scalar(-step_size), &denom);
            }
        });
    }

    /// The optimizer state as named tensors (`exp_avg.<param>`, `exp_avg_sq.<param>`) for saving.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (name, (m, v)) in self
            .names
            .iter()
            .zip(self.exp_avg.iter().zip(&self.exp_avg_sq))
        {
            out.push((format!("exp_avg.{name}"), m.shallow_clone()));
            out.push((format!("exp_avg_sq.{name}"), v.shallow_clone()));
        }
        out
    }

    /// Restores state saved by [`Adam::state_tensors`]; shapes and names must match.
    pub fn load_state_tensors(&mut self, step: i64, tensors: &[(String, Tensor)]) -> Result<()> {
        let lookup = |key: &str| tensors.iter().find(|(n, _)| n == key).map(|(_, t)| t);
        for (i, name) in self.names.iter().enumerate() {
            for (prefix, slot) in [
                ("exp_avg", &self.exp_avg[i]),
                ("exp_avg_sq", &self.exp_avg_sq[i]),
            ] {
                let key = format!("{prefix}.{name}");
                let Some(saved) = lookup(&key) else {
                    bail!("optimizer state has no tensor {key}");
                };
                if saved.size() != slot.size() {
                    bail!(
                        "optimizer tensor {key} has shape {:?}, expected {:?}",
                        saved.size(),
                        slot.size()
                    );
                }
                tch::no_grad(|| slot.shallow_clone().copy_(&saved.to_kind(Kind::Float)));
            }
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig};
    use tch::Device;

    fn quadratic_loss(w: &Tensor) -> Tensor {
        let target = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]);
        (w - target).pow_tensor_scalar(2).sum(Kind::Float) + w.sin().sum(Kind::Float)
    }

    #[test]
    fn matches_tch_adam() -> Result<()> {
        let init = Tensor::from_slice(&[0.3f32, -0.1, 0.7, 0.0]);
        let vs_ours = nn::VarStore::new(Device::Cpu);
        let w_ours = vs_ours.root().var_copy("w", &init);
        let vs_tch = nn::VarStore::new(Device::Cpu);
        let w_tch = vs_tch.root().var_copy("w", &init);
        let config = AdamConfig {
            lr: 0.05,
            ..AdamConfig::default()
        };
        let mut ours = Adam::new(vec![("w".into(), w_ours.shallow_clone())], config);
        let mut theirs = nn::Adam::default().build(&vs_tch, 0.05)?;
        for _ in 0..50 {
            ours.zero_grad();
            quadratic_loss(&w_ours).backward();
            ours.step();
            theirs.zero_grad();
            quadratic_loss(&w_tch).backward();
            theirs.step();
        }
        let diff = (&w_ours - &w_tch).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "ours and tch's Adam differ by {diff}");
        let moved = (&w_ours - &init).abs().max().double_value(&[]);
        assert!(
            moved > 0.5,
            "the parameters should have moved, moved {moved}"
        );
        Ok(())
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[0.0f32, 0.0]));
        let mut adam = Adam::new(vec![("w".into(), w.shallow_clone())], AdamConfig::default());
        (&w * Tensor::from_slice(&[30.0f32, 40.0]))
            .sum(Kind::Float)
            .backward();
        let before = adam.clip_grad_norm(1.0);
        assert!((before - 50.0).abs() < 1e-3);
        let after = w.grad().norm().double_value(&[]);
        assert!((after - 1.0).abs() < 1e-3, "norm after clipping {after}");
    }

    #[test]
    fn state_round_trips_and_wrong_shapes_are_refused() -> Result<()> {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0]));
        let mut adam = Adam::new(vec![("w".into(), w.shallow_clone())], AdamConfig::default());
        quadratic_loss(&Tensor::cat(&[&w, &w], 0)).backward();
        adam.step();
        let saved: Vec<(String, Tensor)> = adam
            .state_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let mut fresh = Adam::new(vec![("w".into(), w.shallow_clone())], AdamConfig::default());
        fresh.load_state_tensors(1, &saved)?;
        for ((_, a), (_, b)) in fresh.state_tensors().iter().zip(&saved) {
            assert!(a.equal(b));
        }
        let bad = vec![(
            "exp_avg.w".to_string(),
            Tensor::zeros([3], (Kind::Float, Device::Cpu)),
        )];
        assert!(fresh.load_state_tensors(1, &bad).is_err());
        Ok(())
    }
}
