//! tch models, one readable file each.

pub mod frame_lstm;
pub mod lstm;
pub mod window;

pub use frame_lstm::{FrameLstm, FrameLstmConfig};
pub use lstm::{LstmConfig, LstmLm, LstmState};
pub use window::{WindowConfig, WindowLstm};

use tch::{nn, Device, Kind, Tensor};

/// Number of trainable parameters in `vs` (shared by the models' `parameter_count`).
pub(crate) fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// The variables of `vs` by name, sorted by name: a stable order for optimizers and checkpoints.
pub(crate) fn sorted_parameters(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
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
