//! From token streams to tensors: train/valid splits, many-to-many windows (targets are inputs
//! shifted by one), and seeded shuffling that depends only on (seed, epoch), so a resumed run sees
//! exactly the batches an uninterrupted one would.

use anyhow::{ensure, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

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

/// A token stream cut into windows of `seq_len + 1` tokens, served as shuffled batches.
#[derive(Debug, Clone)]
pub struct SequenceBatches {
    tokens: Vec<i64>,
    /// Tokens per training sequence.
    pub seq_len: usize,
    /// Sequences per batch.
    pub batch_size: usize,
}

impl SequenceBatches {
    /// Wraps a stream; it must hold at least one full batch of windows.
    pub fn new(tokens: Vec<i64>, seq_len: usize, batch_size: usize) -> Result<Self> {
        ensure!(
            seq_len > 0 && batch_size > 0,
            "seq_len and batch_size must be positive"
        );
        let batches = SequenceBatches {
            tokens,
            seq_len,
            batch_size,
        };
        ensure!(
            batches.batches_per_epoch() > 0,
            "{} tokens are too few for one batch of {} sequences of {} tokens",
            batches.tokens.len(),
            batch_size,
            seq_len
        );
        Ok(batches)
    }

    /// Number of tokens in the stream.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// A 64-bit FNV-1a hash of the token stream: checkpoints record it, so resuming on different
    /// data is noticed.
    pub fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for token in &self.tokens {
            for byte in token.to_le_bytes() {
                hash = (hash ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        hash
    }

    /// Whole batches in one epoch (the last incomplete batch is dropped).
    pub fn batches_per_epoch(&self) -> usize {
        self.windows(0) / self.batch_size
    }

    fn windows(&self, offset: usize) -> usize {
        self.tokens.len().saturating_sub(offset + 1) / self.seq_len
    }

    /// The epoch's plan: a start offset and a shuffled order of windows, a pure function of
    /// `(seed, epoch)`.
    pub fn epoch_plan(&self, seed: u64, epoch: usize) -> EpochPlan {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut offset = rng.random_range(0..self.seq_len);
        if self.windows(offset) < self.batch_size * self.batches_per_epoch() {
            offset = 0;
        }
        let mut order: Vec<usize> = (0..self.windows(offset)).collect();
        order.shuffle(&mut rng);
        order.truncate(self.batch_size * self.batches_per_epoch());
        EpochPlan { offset, order }
    }

    /// Batch `index` of an epoch plan as (inputs, targets), each `[batch, seq_len]` on `device`.
    pub fn batch(&self, plan: &EpochPlan, index: usize, device: Device) -> (Tensor, Tensor) {
        let ids = &plan.order[index * self.batch_size..(index + 1) * self.batch_size];
        self.gather(ids.iter().map(|&w| plan.offset + w * self.seq_len), device)
    }

    fn gather(&self, starts: impl Iterator<Item = usize>, device: Device) -> (Tensor, Tensor) {
        let mut inputs = Vec::with_capacity(self.batch_size * self.seq_len);
        let mut targets = Vec::with_capacity(self.batch_size * self.seq_len);
        let mut rows = 0i64;
        for start in starts {
            inputs.extend_from_slice(&self.tokens[start..start + self.seq_len]);
            targets.extend_from_slice(&self.tokens[start + 1..start + self.seq_len + 1]);
            rows += 1;
        }
        let shape = [rows, self.seq_len as i64];
        (
            Tensor::from_slice(&inputs).view(shape).to(device),
            Tensor::from_slice(&targets).view(shape).to(device),
        )
    }

    /// Consecutive, non-overlapping batches in stream order (for validation), covering at most
    /// `max_tokens` tokens; the last batch may be smaller.
    pub fn sequential(&self, max_tokens: usize, device: Device) -> Vec<(Tensor, Tensor)> {
        let windows = self
            .windows(0)
            .min(max_tokens.div_ceil(self.seq_len).max(1));
        let starts: Vec<usize> = (0..windows).map(|w| w * self.seq_len).collect();
        starts
            .chunks(self.batch_size)
            .map(|chunk| self.gather(chunk.iter().copied(), device))
            .collect()
    }
}

/// Where an epoch's windows start and the order they are visited in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochPlan {
    /// Offset of the first window in the stream.
    pub offset: usize,
    /// Window ids in visiting order.
    pub order: Vec<usize>,
}

/// Many-to-one examples: every window of `window` consecutive ids inside a piece, with the id that
/// follows it as the target (windows never cross from one piece into the next), served as shuffled
/// batches.
#[derive(Debug, Clone)]
pub struct WindowBatches {
    pieces: Vec<Vec<i64>>,
    /// (piece, start) of every example, in stream order.
    examples: Vec<(usize, usize)>,
    /// Ids per input window.
    pub window: usize,
    /// Examples per batch.
    pub batch_size: usize,
}

impl WindowBatches {
    /// Windows over several pieces; pieces shorter than `window + 1` give no examples. There must
    /// be at least one example.
    pub fn from_pieces(pieces: Vec<Vec<i64>>, window: usize, batch_size: usize) -> Result<Self> {
        ensure!(
            window > 0 && batch_size > 0,
            "window and batch_size must be positive"
        );
        let examples: Vec<(usize, usize)> = pieces
            .iter()
            .enumerate()
            .flat_map(|(p, ids)| (0..ids.len().saturating_sub(window)).map(move |s| (p, s)))
            .collect();
        ensure!(
            !examples.is_empty(),
            "no piece is longer than the window of {window} ids ({} pieces, longest {} ids)",
            pieces.len(),
            pieces.iter().map(Vec::len).max().unwrap_or(0)
        );
        Ok(WindowBatches {
            pieces,
            examples,
            window,
            batch_size,
        })
    }

    /// Windows over one stream.
    pub fn new(tokens: Vec<i64>, window: usize, batch_size: usize) -> Result<Self> {
        Self::from_pieces(vec![tokens], window, batch_size)
    }

    /// Number of (window, next id) examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// True when there are no examples (never, for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Batches in one epoch (the last one may be smaller).
    pub fn batches_per_epoch(&self) -> usize {
        self.examples.len().div_ceil(self.batch_size)
    }

    /// The order examples are visited in an epoch: a pure function of `(seed, epoch)`.
    pub fn epoch_order(&self, seed: u64, epoch: usize) -> Vec<usize> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut order: Vec<usize> = (0..self.examples.len()).collect();
        order.shuffle(&mut rng);
        order
    }

    /// The examples `ids` (indices into the stream-order list) as (inputs `[n, window]`, targets
    /// `[n]`) on `device`.
    pub fn gather(&self, ids: &[usize], device: Device) -> (Tensor, Tensor) {
        let mut inputs = Vec::with_capacity(ids.len() * self.window);
        let mut targets = Vec::with_capacity(ids.len());
        for &i in ids {
            let (piece, start) = self.examples[i];
            let ids = &self.pieces[piece];
            inputs.extend_from_slice(&ids[start..start + self.window]);
            targets.push(ids[start + self.window]);
        }
        (
            Tensor::from_slice(&inputs)
                .view([ids.len() as i64, self.window as i64])
                .to(device),
            Tensor::from_slice(&targets).to(device),
        )
    }

    /// Every example of an epoch, shuffled by `(seed, epoch)`, as batches on `device`.
    pub fn epoch_batches(&self, seed: u64, epoch: usize, device: Device) -> Vec<(Tensor, Tensor)> {
        self.epoch_order(seed, epoch)
            .chunks(self.batch_size)
            .map(|chunk| self.gather(chunk, device))
            .collect()
    }

    /// At most `max_examples` examples in stream order, as batches (for validation).
    pub fn sequential(&self, max_examples: usize, device: Device) -> Vec<(Tensor, Tensor)> {
        let ids: Vec<usize> = (0..self.examples.len().min(max_examples)).collect();
        ids.chunks(self.batch_size)
            .map(|chunk| self.gather(chunk, device))
            .collect()
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
        let mut all: Vec<u32> = train.iter().chain(&valid).copied().collect();
        all.sort();
        assert_eq!(all, items);
    }

    #[test]
    fn targets_are_inputs_shifted_by_one() -> Result<()> {
        let tokens: Vec<i64> = (0..1000).collect();
        let batches = SequenceBatches::new(tokens, 10, 4)?;
        let plan = batches.epoch_plan(1, 0);
        let (x, y) = batches.batch(&plan, 0, Device::Cpu);
        assert_eq!(x.size(), vec![4, 10]);
        let diff = (y - x).min().int64_value(&[]);
        assert_eq!(diff, 1);
        Ok(())
    }

    #[test]
    fn epoch_plans_are_reproducible_and_cover_distinct_windows() -> Result<()> {
        let batches = SequenceBatches::new((0..5000).collect(), 16, 8)?;
        let a = batches.epoch_plan(3, 2);
        assert_eq!(a, batches.epoch_plan(3, 2));
        assert_ne!(a, batches.epoch_plan(3, 3));
        let mut seen = a.order.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), a.order.len());
        assert_eq!(a.order.len(), batches.batches_per_epoch() * 8);
        Ok(())
    }

    #[test]
    fn fingerprints_tell_streams_apart() -> Result<()> {
        let a = SequenceBatches::new((0..100).collect(), 4, 2)?;
        let b = SequenceBatches::new((1..101).collect(), 4, 2)?;
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        Ok(())
    }

    #[test]
    fn too_short_a_stream_is_an_error() {
        assert!(SequenceBatches::new(vec![1, 2, 3], 10, 2).is_err());
    }
    #[test]
    fn windows_predict_the_next_id_and_stay_inside_pieces() -> Result<()> {
        let pieces = vec![(0..10).collect(), vec![100, 101], (200..205).collect()];
        let batches = WindowBatches::from_pieces(pieces, 3, 4)?;
        // 7 windows in the first piece, none in the second, 2 in the third.
        assert_eq!(batches.len(), 9);
        assert_eq!(batches.batches_per_epoch(), 3);
        let all = batches.sequential(usize::MAX, Device::Cpu);
        let xs: Vec<i64> = all
            .iter()
            .flat_map(|(x, _)| Vec::<i64>::try_from(x.view([-1])).unwrap_or_default())
            .collect();
        let ys: Vec<i64> = all
            .iter()
            .flat_map(|(_, y)| Vec::<i64>::try_from(y).unwrap_or_default())
            .collect();
        assert_eq!(ys, vec![3, 4, 5, 6, 7, 8, 9, 203, 204]);
        assert_eq!(&xs[..3], &[0, 1, 2]);
        assert_eq!(&xs[xs.len() - 3..], &[201, 202, 203]);
        for (i, y) in ys.iter().enumerate() {
            assert_eq!(xs[i * 3 + 2] + 1, *y, "the target follows its window");
        }
        Ok(())
    }

    #[test]
    fn window_epochs_are_seeded_shuffles_of_every_example() -> Result<()> {
        let batches = WindowBatches::new((0..200).collect(), 8, 16)?;
        let a = batches.epoch_order(5, 1);
        assert_eq!(a, batches.epoch_order(5, 1));
        assert_ne!(a, batches.epoch_order(5, 2));
        assert_ne!(a, batches.epoch_order(6, 1));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..192).collect::<Vec<_>>());
        let epoch = batches.epoch_batches(5, 1, Device::Cpu);
        assert_eq!(epoch.len(), 12);
        assert_eq!(epoch[0].0.size(), vec![16, 8]);
        assert_eq!(epoch[11].1.size(), vec![16]);
        assert!(WindowBatches::new(vec![1, 2, 3], 3, 2).is_err());
        Ok(())
    }
}
