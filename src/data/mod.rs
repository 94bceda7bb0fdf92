//! From encodings to tensors: train/valid splits and the three kinds of batches every model trains
//! on, behind one [`Batches`] trait:
//!
//! - [`SequenceBatches`]: many-to-many, windows of a token stream whose targets are the inputs
//!   shifted by one (the character model);
//! - [`WindowBatches`]: many-to-one, a window of ids inside a piece and the id after it (the
//!   notes-and-chords model);
//! - [`RollBatches`]: piano-roll pieces (or windows of them) padded into batches of frames (the
//!   multi-hot models);
//! - [`AudioClips`]: clips of note features with the audio they were rendered to (the neural
//!   synthesizers).
//!
//! Every epoch's batches follow a plan that is a pure function of `(seed, epoch)`, so a resumed
//! run sees exactly the batches an uninterrupted one would.

pub mod audio;
pub mod audio_pairs;
pub mod rolls;
pub mod sequences;
pub mod windows;

pub use audio::{AudioClips, AudioPair};
pub use rolls::{next_frame_batch, padding_mask, RollBatches, PAD_TARGET};
pub use sequences::SequenceBatches;
pub use windows::WindowBatches;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// One batch: the model's inputs and targets, and how many predictions it holds.
#[derive(Debug)]
pub struct Batch {
    /// Inputs: token ids `[batch, time]` or `[batch, window]`, frames `[batch, time, pitches]`,
    /// or note features `[batch, frames, voices × features]`.
    pub inputs: Tensor,
    /// Targets: ids `[batch, time]` or `[batch]`, frames `[batch, time, pitches]` (padded
    /// frames hold [`PAD_TARGET`]), or audio `[batch, frames × hop]`.
    pub targets: Tensor,
    /// Predictions the batch holds (tokens, windows or real frames): a model's mean loss over the
    /// batch is weighted by it when batches are averaged.
    pub count: f64,
    /// Each row continues the same row of the batch before it in the epoch (sequences cut from
    /// lanes of one stream): a model may carry its recurrent state over from that batch.
    pub carry: bool,
}

/// The batches of every epoch: the order is planned per epoch from `(seed, epoch)` alone.
pub trait Batches {
    /// What the batches are and the settings that shape them (`{"kind": "sequences", "seq_len":
    /// 128, "batch_size": 32}`): saved in checkpoints and compared when a run resumes.
    fn settings(&self) -> serde_json::Value;

    /// Items the data holds (tokens, windows or frames), for reports.
    fn items(&self) -> usize;

    /// A fingerprint of the data itself, so a resume on different data is noticed.
    fn fingerprint(&self) -> u64;

    /// Batches in every epoch.
    fn batches_per_epoch(&self) -> usize;

    /// The epoch's plan: for each batch, the keys of its examples (what a key means is the
    /// implementation's business). A pure function of `(seed, epoch)`.
    fn epoch_plan(&self, seed: u64, epoch: usize) -> Vec<Vec<usize>>;

    /// The batch made of these keys of a plan, on `device`.
    fn batch(&self, keys: &[usize], device: Device) -> Batch;

    /// Batches for evaluation, in a fixed order, covering at most `limit` items (tokens, windows
    /// or pieces, as the implementation documents).
    fn evaluation_batches(&self, limit: usize, device: Device) -> Vec<Batch>;
}

/// Splits items into (train, valid) with a seeded shuffle; `valid_fraction` of them (at least one
/// when there are two or more) go to validation.
pub fn split_train_valid<T: Clone>(
    items: &[T],
    valid_fraction: f64,
    seed: u64,
) -> (Vec<T>, Vec<T>) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut n_valid = (items.len() as f64 * valid_fraction.clamp(0.0, 1.0)).round() as usize;
    if n_valid == 0 && items.len() >= 2 && valid_fraction > 0.0 {
        n_valid = 1;
    }
    let (valid, train) = order.split_at(n_valid);
    let pick = |ids: &[usize]| ids.iter().map(|&i| items[i].clone()).collect();
    (pick(train), pick(valid))
}

/// The random generator of an epoch's plan: a pure function of `(seed, epoch)`.
pub(crate) fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Every item `0..items` once in a seeded shuffle of `(seed, epoch)`, cut into batches of
/// `batch_size` keys (the last batch may be smaller).
pub(crate) fn shuffled_plan(
    items: usize,
    batch_size: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..items).collect();
    order.shuffle(&mut epoch_rng(seed, epoch));
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// A 64-bit FNV-1a hash, fed value by value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Adds the little-endian bytes of a value.
    pub fn add(&mut self, value: i64) {
        for byte in value.to_le_bytes() {
            self.0 = (self.0 ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_seeded_and_disjoint() {
        let items: Vec<u32> = (0..100).collect();
        let (train, valid) = split_train_valid(&items, 0.1, 7);
        assert_eq!((train.len(), valid.len()), (90, 10));
        assert_eq!(split_train_valid(&items, 0.1, 7).1, valid);
        assert_ne!(split_train_valid(&items, 0.1, 8).1, valid);
        let mut all: Vec<u32> = train.iter().chain(&valid).copied().collect();
        all.sort();
        assert_eq!(all, items);
    }
}
