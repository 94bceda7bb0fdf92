//! Benchmarks against published results: the polyphonic piano-roll benchmark
//! ([`bl2012`] reads its data, [`polyphonic`] trains and scores a [`crate::model::FrameLstm`]),
//! and neural audio against the SoundFont on held-out tunes ([`audio`]).

pub mod audio;
pub mod bl2012;
pub mod polyphonic;

pub use bl2012::{piece_tensor, Piece, PolyDataset};
pub use polyphonic::{
    baseline_nlls, run_benchmark, run_benchmark_checkpointed, split_batches, PolyBenchConfig,
    PolyBenchResult, PolyEpoch,
};
