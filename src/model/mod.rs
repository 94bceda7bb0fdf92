//! tch models, one readable file each.

pub mod lstm;
pub mod window;

pub use lstm::{LstmConfig, LstmLm, LstmState};
pub use window::{WindowConfig, WindowLstm};
