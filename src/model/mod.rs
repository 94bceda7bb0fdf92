//! tch models, one readable file each.

pub mod frame_lstm;
pub mod lstm;
pub mod window;

pub use frame_lstm::{FrameLstm, FrameLstmConfig};
pub use lstm::{LstmConfig, LstmLm, LstmState};
pub use window::{WindowConfig, WindowLstm};
