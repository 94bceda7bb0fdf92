//! tch models, one readable file each.

pub mod lstm;

pub use lstm::{LstmConfig, LstmLm, LstmState};
