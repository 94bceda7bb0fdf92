//! The LSTM stack every model shares: its weights (named as PyTorch names them, `weight_ih_l0`,
//! `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, … under the model's `lstm` path), a zero state, a
//! run over a whole sequence and a single step, all through libtorch's fused LSTM.

use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// The recurrent state carried from one step to the next: (h, c), each `[layers, batch, hidden]`.
#[derive(Debug)]
pub struct LstmState {
    /// Hidden state.
    pub h: Tensor,
    /// Cell state.
    pub c: Tensor,
}

impl LstmState {
    /// A zero state of `layers` × `batch` × `hidden` on `device`.
    pub fn zeros(layers: i64, batch: i64, hidden: i64, device: Device) -> Self {
        let zeros = Tensor::zeros([layers, batch, hidden], (Kind::Float, device));
        LstmState {
            h: zeros.shallow_clone(),
            c: zeros,
        }
    }
}

/// `num_layers` stacked LSTM layers of `hidden_size`, reading inputs of `input_size`, with dropout
/// between layers when training.
#[derive(Debug)]
pub struct LstmStack {
    /// Width of the inputs.
    pub input_size: i64,
    /// Width of each layer.
    pub hidden_size: i64,
    /// Number of layers.
    pub num_layers: i64,
    /// Dropout between layers (training only).
    pub dropout: f64,
    /// DropConnect on the hidden-to-hidden weights (training only; one mask per batch, shared by
    /// every step: dropout on the recurrent connections, as AWD-LSTM does it).
    pub weight_drop: f64,
    weights: Vec<Tensor>,
}

impl LstmStack {
    /// Creates the weights under `path`, initialised as PyTorch's `nn.LSTM` (uniform in
    /// ±1/√hidden).
    pub fn new(
        path: &nn::Path,
        input_size: i64,
        hidden_size: i64,
        num_layers: i64,
        dropout: f64,
    ) -> Self {
        let bound = 1.0 / (hidden_size as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let gates = 4 * hidden_size;
        let mut weights = Vec::new();
        for layer in 0..num_layers {
            let input = if layer == 0 { input_size } else { hidden_size };
            weights.push(path.var(&format!("weight_ih_l{layer}"), &[gates, input], uniform));
            weights.push(path.var(
                &format!("weight_hh_l{layer}"),
                &[gates, hidden_size],
                uniform,
            ));
            weights.push(path.var(&format!("bias_ih_l{layer}"), &[gates], uniform));
            weights.push(path.var(&format!("bias_hh_l{layer}"), &[gates], uniform));
        }
        LstmStack {
            input_size,
            hidden_size,
            num_layers,
            dropout,
            weight_drop: 0.0,
            weights,
        }
    }

    /// The same stack with DropConnect on its hidden-to-hidden weights while training.
    pub fn with_weight_drop(mut self, p: f64) -> Self {
        self.weight_drop = p;
        self
    }

    /// The weights in PyTorch's order: for each layer `weight_ih`, `weight_hh`, `bias_ih`,
    /// `bias_hh`.
    pub fn weights(&self) -> &[Tensor] {
        &self.weights
    }

    /// A zero state for `batch` sequences on `device`.
    pub fn zero_state(&self, batch: i64, device: Device) -> LstmState {
        LstmState::zeros(self.num_layers, batch, self.hidden_size, device)
    }

    /// Runs inputs `[batch, time, input]` from `state` (zeros when `None`); returns the last
    /// layer's outputs `[batch, time, hidden]` and the state after the last step. `train` turns
    /// the dropout between layers on.
    pub fn run(&self, x: &Tensor, state: Option<&LstmState>, train: bool) -> (Tensor, LstmState) {
        let zero;
        let state = match state {
            Some(s) => s,
            None => {
                zero = self.zero_state(x.size()[0], x.device());
                &zero
            }
        };
        let dropped: Vec<Tensor>;
        let weights: Vec<&Tensor> = if train && self.weight_drop > 0.0 {
            dropped = self
                .weights
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i % 4 == 1 {
                        w.dropout(self.weight_drop, true)
                    } else {
                        w.shallow_clone()
                    }
                })
                .collect();
            dropped.iter().collect()
        } else {
            self.weights.iter().collect()
        };
        let (out, h, c) = x.lstm(
            &[&state.h, &state.c],
            &weights,
            true,
            self.num_layers,
            self.dropout,
            train,
            false,
            true,
        );
        (out, LstmState { h, c })
    }

    /// One step (evaluation mode): inputs `[batch, input]` → outputs `[batch, hidden]` and the
    /// next state.
    pub fn step(&self, x: &Tensor, state: Option<&LstmState>) -> (Tensor, LstmState) {
        let (out, state) = self.run(&x.unsqueeze(1), state, false);
        (out.squeeze_dim(1), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_matches_a_whole_run_and_names_follow_pytorch() {
        let _generator = crate::model::torch_rng::hold_seeded(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let stack = LstmStack::new(&vs.root().sub("lstm"), 3, 5, 2, 0.0);
        let mut names: Vec<String> = vs.variables().into_keys().collect();
        names.sort();
        assert_eq!(names.len(), 8);
        assert!(names.contains(&"lstm.weight_hh_l1".to_string()));
        let x = Tensor::randn([2, 4, 3], (Kind::Float, Device::Cpu));
        let (whole, _) = stack.run(&x, None, false);
        assert_eq!(whole.size(), vec![2, 4, 5]);
        let mut state = None;
        for t in 0..4 {
            let (out, next) = stack.step(&x.select(1, t), state.as_ref());
            let diff = (out - whole.select(1, t)).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "step {t} differs by {diff}");
            state = Some(next);
        }
    }

    #[test]
    fn weight_drop_acts_on_the_recurrent_weights_only_while_training() {
        let _generator = crate::model::torch_rng::hold_seeded(2);
        let vs = nn::VarStore::new(Device::Cpu);
        let stack = LstmStack::new(&vs.root().sub("lstm"), 3, 5, 1, 0.0).with_weight_drop(0.5);
        let x = Tensor::randn([2, 4, 3], (Kind::Float, Device::Cpu));
        let (eval_a, _) = stack.run(&x, None, false);
        let (eval_b, _) = stack.run(&x, None, false);
        assert!(eval_a.equal(&eval_b));
        let (train, _) = stack.run(&x, None, true);
        // The first step reads a zero state, so dropping recurrent weights cannot change it.
        let first = (train.select(1, 0) - eval_a.select(1, 0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(first < 1e-6, "{first}");
        let later = (train.select(1, 3) - eval_a.select(1, 3))
            .abs()
            .max()
            .double_value(&[]);
        assert!(later > 1e-4, "{later}");
    }
}
