//! Many-to-one batches: every window of `window` consecutive ids inside a piece, with the id that
//! follows it as the target (windows never cross from one piece into the next): the seed's "100
//! notes predict the next".

use super::{shuffled_plan, Batch, Batches, Fnv};
use anyhow::{ensure, Result};
use serde_json::json;
use tch::{Device, Tensor};

/// (window, next id) examples of several pieces, served as shuffled batches.
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

    /// The examples `ids` (indices into the stream-order list) as a batch on `device`: inputs
    /// `[n, window]`, targets `[n]`.
    pub fn gather(&self, ids: &[usize], device: Device) -> Batch {
        let mut inputs = Vec::with_capacity(ids.len() * self.window);
        let mut targets = Vec::with_capacity(ids.len());
        for &i in ids {
            let (piece, start) = self.examples[i];
            let ids = &self.pieces[piece];
            inputs.extend_from_slice(&ids[start..start + self.window]);
            targets.push(ids[start + self.window]);
        }
        Batch {
            inputs: Tensor::from_slice(&inputs)
                .view([ids.len() as i64, self.window as i64])
                .to(device),
            targets: Tensor::from_slice(&targets).to(device),
            count: ids.len() as f64,
            carry: false,
        }
    }
}

impl Batches for WindowBatches {
    fn settings(&self) -> serde_json::Value {
        json!({"kind": "windows", "window": self.window, "batch_size": self.batch_size})
    }

    fn items(&self) -> usize {
        self.examples.len()
    }

    /// A 64-bit FNV-1a hash of the pieces (and where each ends).
    fn fingerprint(&self) -> u64 {
        let mut hash = Fnv::default();
        for piece in &self.pieces {
            hash.add(piece.len() as i64);
            for &id in piece {
                hash.add(id);
            }
        }
        hash.0
    }

    /// Batches in one epoch (the last one may be smaller).
    fn batches_per_epoch(&self) -> usize {
        self.examples.len().div_ceil(self.batch_size)
    }

    /// Every example once, in a seeded shuffle; keys are the examples' indices.
    fn epoch_plan(&self, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
        shuffled_plan(self.examples.len(), self.batch_size, seed, epoch)
    }

    fn batch(&self, keys: &[usize], device: Device) -> Batch {
        self.gather(keys, device)
    }

    /// At most `limit` examples in stream order.
    fn evaluation_batches(&self, limit: usize, device: Device) -> Vec<Batch> {
        let ids: Vec<usize> = (0..self.examples.len().min(limit)).collect();
        ids.chunks(self.batch_size)
            .map(|chunk| self.gather(chunk, device))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(t: &Tensor) -> Vec<i64> {
        Vec::<i64>::try_from(t.view([-1])).unwrap_or_default()
    }

    #[test]
    fn windows_predict_the_next_id_and_stay_inside_pieces() -> Result<()> {
        let pieces = vec![(0..10).collect(), vec![100, 101], (200..205).collect()];
        let batches = WindowBatches::from_pieces(pieces, 3, 4)?;
        // 7 windows in the first piece, none in the second, 2 in the third.
        assert_eq!(batches.len(), 9);
        assert_eq!(batches.batches_per_epoch(), 3);
        let all = batches.evaluation_batches(usize::MAX, Device::Cpu);
        let xs: Vec<i64> = all.iter().flat_map(|b| ids(&b.inputs)).collect();
        let ys: Vec<i64> = all.iter().flat_map(|b| ids(&b.targets)).collect();
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
        let a = batches.epoch_plan(5, 1);
        assert_eq!(a, batches.epoch_plan(5, 1));
        assert_ne!(a, batches.epoch_plan(5, 2));
        assert_ne!(a, batches.epoch_plan(6, 1));
        let mut sorted: Vec<usize> = a.iter().flatten().copied().collect();
        sorted.sort();
        assert_eq!(sorted, (0..192).collect::<Vec<_>>());
        assert_eq!(a.len(), 12);
        let batch = batches.batch(&a[0], Device::Cpu);
        assert_eq!(batch.inputs.size(), vec![16, 8]);
        assert_eq!(batch.targets.size(), vec![16]);
        assert!(WindowBatches::new(vec![1, 2, 3], 3, 2).is_err());
        Ok(())
    }

    #[test]
    fn a_piece_boundary_changes_the_fingerprint() -> Result<()> {
        let one = WindowBatches::from_pieces(vec![(0..10).collect()], 2, 2)?;
        let two = WindowBatches::from_pieces(vec![(0..5).collect(), (5..10).collect()], 2, 2)?;
        assert_ne!(one.fingerprint(), two.fingerprint());
        Ok(())
    }
}
