//! Many-to-many batches: a token stream cut into windows of `seq_len + 1` tokens (targets are the
//! inputs shifted by one), visited in a seeded shuffle with a random start offset per epoch; or,
//! with carried state ([`SequenceBatches::streams`]), the stream cut into one lane per batch row,
//! each batch continuing the one before it (truncated backpropagation through time).

use super::{epoch_rng, Batch, Batches, Fnv};
use anyhow::{ensure, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::json;
use tch::{Device, Tensor};

/// A token stream served as shuffled batches of sequences.
#[derive(Debug, Clone)]
pub struct SequenceBatches {
    tokens: Vec<i64>,
    /// Tokens per training sequence.
    pub seq_len: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Rows are lanes of the stream read in order, so a model may carry its state from one
    /// batch to the next ([`crate::data::Batch::carry`]).
    pub carry_state: bool,
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
            carry_state: false,
        };
        ensure!(
            batches.whole_batches() > 0,
            "{} tokens are too few for one batch of {} sequences of {} tokens",
            batches.tokens.len(),
            batch_size,
            seq_len
        );
        Ok(batches)
    }

    /// The stream cut into `batch_size` lanes read in order: row `i` of every batch continues
    /// row `i` of the batch before it, so a model can carry its state across batches (each epoch
    /// starts its lanes at a new random offset, and from a zero state).
    pub fn streams(tokens: Vec<i64>, seq_len: usize, batch_size: usize) -> Result<Self> {
        let batches = SequenceBatches {
            carry_state: true,
            ..Self::new(tokens, seq_len, batch_size)?
        };
        ensure!(
            batches.lane_len() >= seq_len,
            "{} tokens are too few for {batch_size} lanes of at least {seq_len} tokens",
            batches.tokens.len()
        );
        Ok(batches)
    }

    /// Tokens in each lane (the same in every epoch, whatever its offset).
    fn lane_len(&self) -> usize {
        self.tokens.len().saturating_sub(self.seq_len + 1) / self.batch_size
    }

    /// Number of tokens in the stream.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token stream.
    pub fn tokens(&self) -> &[i64] {
        &self.tokens
    }

    fn whole_batches(&self) -> usize {
        if self.carry_state {
            self.lane_len() / self.seq_len
        } else {
            self.windows(0) / self.batch_size
        }
    }

    fn windows(&self, offset: usize) -> usize {
        self.tokens.len().saturating_sub(offset + 1) / self.seq_len
    }

    fn gather(&self, starts: &[usize], device: Device) -> Batch {
        let mut inputs = Vec::with_capacity(starts.len() * self.seq_len);
        let mut targets = Vec::with_capacity(starts.len() * self.seq_len);
        for &start in starts {
            inputs.extend_from_slice(&self.tokens[start..start + self.seq_len]);
            targets.extend_from_slice(&self.tokens[start + 1..start + self.seq_len + 1]);
        }
        let shape = [starts.len() as i64, self.seq_len as i64];
        Batch {
            inputs: Tensor::from_slice(&inputs).view(shape).to(device),
            targets: Tensor::from_slice(&targets).view(shape).to(device),
            count: targets.len() as f64,
            carry: false,
        }
    }
}

impl Batches for SequenceBatches {
    fn settings(&self) -> serde_json::Value {
        let mut settings =
            json!({"kind": "sequences", "seq_len": self.seq_len, "batch_size": self.batch_size});
        if self.carry_state {
            settings["carry_state"] = json!(true);
        }
        settings
    }

    fn items(&self) -> usize {
        self.tokens.len()
    }

    /// A 64-bit FNV-1a hash of the token stream.
    fn fingerprint(&self) -> u64 {
        let mut hash = Fnv::default();
        for &token in &self.tokens {
            hash.add(token);
        }
        hash.0
    }

    /// Whole batches in one epoch (the last incomplete batch is dropped).
    fn batches_per_epoch(&self) -> usize {
        self.whole_batches()
    }

    /// A start offset below `seq_len` and a shuffle of the windows from there; keys are the
    /// windows' first tokens.
    fn epoch_plan(&self, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(seed, epoch);
        if self.carry_state {
            // Lane i starts at offset + i × lane; batch j reads seq_len tokens from each lane.
            let offset = rng.random_range(0..self.seq_len);
            let lane = self.lane_len();
            return (0..self.whole_batches())
                .map(|j| {
                    (0..self.batch_size)
                        .map(|i| offset + i * lane + j * self.seq_len)
                        .collect()
                })
                .collect();
        }
        let mut offset = rng.random_range(0..self.seq_len);
        let needed = self.batch_size * self.whole_batches();
        if self.windows(offset) < needed {
            offset = 0;
        }
        let mut order: Vec<usize> = (0..self.windows(offset)).collect();
        order.shuffle(&mut rng);
        order.truncate(needed);
        order
            .chunks(self.batch_size)
            .map(|c| c.iter().map(|w| offset + w * self.seq_len).collect())
            .collect()
    }

    /// With carried state, every batch but an epoch's first continues the one before (its first
    /// row starts at least `seq_len` tokens in, since offsets are below `seq_len`).
    fn batch(&self, keys: &[usize], device: Device) -> Batch {
        Batch {
            carry: self.carry_state && keys.first().is_some_and(|&k| k >= self.seq_len),
            ..self.gather(keys, device)
        }
    }

    /// Consecutive, non-overlapping sequences in stream order covering at most `limit` tokens;
    /// the last batch may be smaller.
    fn evaluation_batches(&self, limit: usize, device: Device) -> Vec<Batch> {
        let windows = self.windows(0).min(limit.div_ceil(self.seq_len).max(1));
        let starts: Vec<usize> = (0..windows).map(|w| w * self.seq_len).collect();
        starts
            .chunks(self.batch_size)
            .map(|chunk| self.gather(chunk, device))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_inputs_shifted_by_one() -> Result<()> {
        let tokens: Vec<i64> = (0..1000).collect();
        let batches = SequenceBatches::new(tokens, 10, 4)?;
        let plan = batches.epoch_plan(1, 0);
        let batch = batches.batch(&plan[0], Device::Cpu);
        assert_eq!(batch.inputs.size(), vec![4, 10]);
        assert_eq!(batch.count, 40.0);
        let diff = (batch.targets - batch.inputs).min().int64_value(&[]);
        assert_eq!(diff, 1);
        Ok(())
    }

    #[test]
    fn epoch_plans_are_reproducible_and_cover_distinct_windows() -> Result<()> {
        let batches = SequenceBatches::new((0..5000).collect(), 16, 8)?;
        let a = batches.epoch_plan(3, 2);
        assert_eq!(a, batches.epoch_plan(3, 2));
        assert_ne!(a, batches.epoch_plan(3, 3));
        let mut seen: Vec<usize> = a.iter().flatten().copied().collect();
        let total = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), total);
        assert_eq!(a.len(), batches.batches_per_epoch());
        assert!(a.iter().all(|b| b.len() == 8));
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
    fn evaluation_covers_the_stream_in_order_up_to_the_limit() -> Result<()> {
        let batches = SequenceBatches::new((0..101).collect(), 10, 4)?;
        let all = batches.evaluation_batches(usize::MAX, Device::Cpu);
        assert_eq!(all.iter().map(|b| b.count).sum::<f64>(), 100.0);
        assert_eq!(all[0].inputs.int64_value(&[1, 0]), 10);
        let some = batches.evaluation_batches(25, Device::Cpu);
        assert_eq!(some.iter().map(|b| b.count).sum::<f64>(), 30.0);
        Ok(())
    }

    #[test]
    fn streams_are_lanes_read_in_order_each_batch_continuing_the_last() -> Result<()> {
        let batches = SequenceBatches::streams((0..1000).collect(), 10, 4)?;
        // Lanes of (1000 - 11) / 4 = 247 tokens: 24 batches of 10 per lane.
        assert_eq!(batches.batches_per_epoch(), 24);
        let plan = batches.epoch_plan(5, 1);
        assert_eq!(plan.len(), 24);
        let offset = plan[0][0];
        assert!(offset < 10);
        assert_eq!(
            plan[0],
            vec![offset, offset + 247, offset + 494, offset + 741]
        );
        assert_eq!(plan[1][2], offset + 494 + 10);
        let first = batches.batch(&plan[0], Device::Cpu);
        let second = batches.batch(&plan[1], Device::Cpu);
        assert!(!first.carry && second.carry);
        // Row 3 of the second batch starts where row 3 of the first ended.
        assert_eq!(
            second.inputs.int64_value(&[3, 0]),
            first.inputs.int64_value(&[3, 9]) + 1
        );
        let last = plan.last().map_or(0, |b| b[3]);
        assert!(last + 11 <= 1000);
        assert_eq!(batches.settings()["carry_state"], true);
        assert!(
            SequenceBatches::new((0..1000).collect(), 10, 4)?.settings()["carry_state"].is_null()
        );
        assert!(SequenceBatches::streams((0..50).collect(), 10, 4).is_err());
        Ok(())
    }

    #[test]
    fn too_short_a_stream_is_an_error() {
        assert!(SequenceBatches::new(vec![1, 2, 3], 10, 2).is_err());
    }
}
