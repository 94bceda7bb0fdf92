//! Piano-roll batches: pieces of frames (the pitches sounding at each step) padded to the longest
//! piece of a batch, for next-frame prediction. Training may cut pieces into windows; evaluation
//! always reads whole pieces. Padded target frames hold [`PAD_TARGET`] and count for nothing.
//! Training windows may be transposed at random, epoch by epoch
//! ([`RollBatches::with_transposition`]): augmentation across keys.

use super::{epoch_rng, Batch, Batches, Fnv};
use crate::encode::PianoRoll;
use anyhow::{ensure, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::json;
use tch::{Device, Kind, Tensor};

/// Value of the target cells of a padded frame (see [`padding_mask`]).
pub const PAD_TARGET: f64 = -1.0;

/// 1 for the frames of `targets` (`[.., pitches]`) that are real, 0 for padded frames (whose cells
/// are [`PAD_TARGET`]); Float, the shape of `targets` without its last dimension.
pub fn padding_mask(targets: &Tensor) -> Tensor {
    targets.select(-1, 0).ge(0.0).to_kind(Kind::Float)
}

/// Pads pieces (each `[T_i, pitches]`) into one batch for next-frame prediction: inputs are frames
/// `0..T_i-1`, targets frames `1..T_i`, both `[batch, max T_i - 1, pitches]`; padded target rows are
/// [`PAD_TARGET`]. Pieces shorter than 2 frames are skipped; `None` when none is left.
pub fn next_frame_batch(pieces: &[&Tensor]) -> Option<Batch> {
    let pieces: Vec<&&Tensor> = pieces.iter().filter(|p| p.size()[0] >= 2).collect();
    let first = pieces.first()?;
    let pitches = first.size()[1];
    let options = (Kind::Float, first.device());
    let longest = pieces.iter().map(|p| p.size()[0]).max().unwrap_or(2) - 1;
    let n = pieces.len() as i64;
    let inputs = Tensor::zeros([n, longest, pitches], options);
    let targets = Tensor::full([n, longest, pitches], PAD_TARGET, options);
    let mut count = 0.0;
    for (i, piece) in pieces.iter().enumerate() {
        let t = piece.size()[0] - 1;
        count += t as f64;
        let piece = piece.to_kind(Kind::Float);
        inputs
            .get(i as i64)
            .narrow(0, 0, t)
            .copy_(&piece.narrow(0, 0, t));
        targets
            .get(i as i64)
            .narrow(0, 0, t)
            .copy_(&piece.narrow(0, 1, t));
    }
    Some(Batch {
        inputs,
        targets,
        count,
        carry: false,
    })
}

/// One piece: for each frame, the MIDI pitches sounding in it.
type Frames = Vec<Vec<u8>>;

/// Piano-roll pieces served as padded batches of similar length.
#[derive(Debug, Clone)]
pub struct RollBatches {
    /// Whole pieces (evaluation reads these).
    pieces: Vec<Frames>,
    /// Training examples: (piece, first frame, frames), windows of `window_frames + 1` frames or
    /// whole pieces.
    examples: Vec<(usize, usize, usize)>,
    /// Lowest pitch of the keyboard (the first cell of a frame).
    pub low_pitch: u8,
    /// Pitches per frame.
    pub num_pitches: usize,
    /// Predicted frames per training window (0: whole pieces).
    pub window_frames: usize,
    /// Pieces (or windows) per batch.
    pub batch_size: usize,
    /// Each piece is read after one silent frame, so its first frame is predicted too
    /// ([`RollBatches::with_lead_in`]).
    pub lead_in: bool,
    /// Training windows are moved by up to this many semitones each way, drawn anew every epoch
    /// ([`RollBatches::with_transposition`]); 0 reads them as written.
    pub transpose: u8,
}

/// Seeds the transpositions of an epoch apart from its order, so a plan with transposition
/// holds the same batches in the same order as one without.
const TRANSPOSE_STREAM: u64 = 0x7452_414e_5350_4f53;

impl RollBatches {
    /// Batches of piano rolls, which must share one keyboard. `window_frames` cuts the pieces
    /// into windows of that many predicted frames for training (consecutive windows share a
    /// frame, so every transition is trained on once; 0 trains on whole pieces).
    pub fn new(rolls: &[PianoRoll], window_frames: usize, batch_size: usize) -> Result<Self> {
        let first = rolls.first().map(|r| r.config);
        let config = first.ok_or_else(|| anyhow::anyhow!("no piano rolls to batch"))?;
        ensure!(
            rolls.iter().all(|r| r.config.low_pitch == config.low_pitch
                && r.config.num_pitches == config.num_pitches),
            "the piano rolls do not share one keyboard"
        );
        let pieces = rolls.iter().map(|r| r.frames.clone()).collect();
        Self::from_frames(
            pieces,
            config.low_pitch,
            config.num_pitches,
            window_frames,
            batch_size,
        )
    }

    /// Batches of pieces given as frames of MIDI pitches on a keyboard of `num_pitches` keys from
    /// `low_pitch`; a pitch off the keyboard is an error naming the piece and frame.
    pub fn from_frames(
        pieces: Vec<Frames>,
        low_pitch: u8,
        num_pitches: usize,
        window_frames: usize,
        batch_size: usize,
    ) -> Result<Self> {
        ensure!(batch_size > 0, "batch_size must be positive");
        ensure!(num_pitches > 0, "num_pitches must be positive");
        for (i, piece) in pieces.iter().enumerate() {
            for (t, frame) in piece.iter().enumerate() {
                for &p in frame {
                    ensure!(
                        p >= low_pitch && usize::from(p - low_pitch) < num_pitches,
                        "piece {i} frame {t} has pitch {p}, off the keyboard of {num_pitches} keys from {low_pitch}"
                    );
                }
            }
        }
        let mut examples = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let len = piece.len();
            if window_frames == 0 {
                if len >= 2 {
                    examples.push((i, 0, len));
                }
                continue;
            }
            let mut start = 0;
            while start + 1 < len {
                examples.push((i, start, (window_frames + 1).min(len - start)));
                start += window_frames;
            }
        }
        ensure!(
            !examples.is_empty(),
            "no piece has the two frames next-frame prediction needs ({} pieces)",
            pieces.len()
        );
        Ok(RollBatches {
            pieces,
            examples,
            low_pitch,
            num_pitches,
            window_frames,
            batch_size,
            lead_in: false,
            transpose: 0,
        })
    }

    /// The same pieces, each read after one silent frame: its first frame becomes a target,
    /// predicted from silence, as a model draws the first frame of a piece it writes from no primer
    /// (a frame stepper starts from one silent frame). Without it a model never
    /// learns how pieces begin, and its pieces open with silence. Frame `t` of a piece is then the
    /// model's step `t + 1`, as in the pieces it writes. Applying it twice adds one frame.
    pub fn with_lead_in(self) -> Result<Self> {
        let pieces = self
            .pieces
            .into_iter()
            .map(|piece| std::iter::once(Vec::new()).chain(piece).collect())
            .collect();
        let batches = Self::from_frames(
            pieces,
            self.low_pitch,
            self.num_pitches,
            self.window_frames,
            self.batch_size,
        )?;
        Ok(RollBatches {
            lead_in: true,
            transpose: self.transpose,
            ..batches
        })
    }

    /// The same batches with every training window moved by a whole number of semitones drawn
    /// at random for each window and epoch, from `-semitones` to `semitones`, among the moves
    /// that keep the window within the lowest and highest pitch of all the pieces (so a model
    /// whose keys are the data's range, such as a `PitchLstm` with a key range, sees no note
    /// outside it; a window spanning that whole range stays where it is). The draws are a pure
    /// function of `(seed, epoch)`, so resumed runs draw the same, and the batches and their
    /// order are those without transposition. Evaluation reads the pieces as written. This is
    /// augmentation across keys: a model that reads absolute pitches learns each pattern in
    /// every key it is moved to, not only in the keys the pieces were written in.
    pub fn with_transposition(self, semitones: u8) -> Self {
        RollBatches {
            transpose: semitones,
            ..self
        }
    }

    /// The lowest and highest pitch sounding in any piece (`None` when none sounds).
    fn pitch_bounds(&self) -> Option<(u8, u8)> {
        let pitches = self.pieces.iter().flatten().flatten();
        Some((*pitches.clone().min()?, *pitches.max()?))
    }

    /// The lowest and highest pitch sounding in frames `start..start + len` of piece `piece`
    /// (`None` when all are silent).
    fn pitch_span(&self, piece: usize, start: usize, len: usize) -> Option<(u8, u8)> {
        let pitches = self.pieces[piece][start..start + len].iter().flatten();
        Some((*pitches.clone().min()?, *pitches.max()?))
    }

    /// The moves (in semitones) example `example` may be transposed by this epoch.
    fn allowed_moves(&self, example: usize, set_span: Option<(u8, u8)>) -> (i32, i32) {
        let limit = i32::from(self.transpose);
        let (piece, start, len) = self.examples[example];
        match (self.pitch_span(piece, start, len), set_span) {
            (Some((low, high)), Some((set_low, set_high))) => (
                (i32::from(set_low) - i32::from(low)).max(-limit),
                (i32::from(set_high) - i32::from(high)).min(limit),
            ),
            _ => (0, 0),
        }
    }

    /// [`RollBatches::with_lead_in`] when `on`, else the batches unchanged (for a setting such
    /// as a run's `lead_in` flag).
    pub fn lead_in_if(self, on: bool) -> Result<Self> {
        if on {
            self.with_lead_in()
        } else {
            Ok(self)
        }
    }

    /// Number of pieces.
    pub fn pieces(&self) -> usize {
        self.pieces.len()
    }

    /// The keys (cells `0..num_pitches`) from the lowest to the highest that sounds in these
    /// pieces, widened by `margin` keys each side within the keyboard: `[first, last]`, `None`
    /// when no note sounds.
    pub fn key_range(&self, margin: usize) -> Option<[i64; 2]> {
        let (low, high) = self.pitch_bounds()?;
        let (low, high) = (
            usize::from(low - self.low_pitch),
            usize::from(high - self.low_pitch),
        );
        Some([
            low.saturating_sub(margin) as i64,
            (high + margin).min(self.num_pitches - 1) as i64,
        ])
    }

    /// Frames `start..start + len` of piece `piece`, moved by `semitones`, as a `[len, pitches]`
    /// tensor of 0s and 1s (a pitch moved off the keyboard is left out; the moves planned keep
    /// every pitch on it).
    fn tensor(&self, piece: usize, start: usize, len: usize, semitones: i32) -> Tensor {
        let mut cells = vec![0f32; len * self.num_pitches];
        for (t, frame) in self.pieces[piece][start..start + len].iter().enumerate() {
            for &p in frame {
                let key = i32::from(p) - i32::from(self.low_pitch) + semitones;
                if let Ok(key) = usize::try_from(key) {
                    if key < self.num_pitches {
                        cells[t * self.num_pitches + key] = 1.0;
                    }
                }
            }
        }
        Tensor::from_slice(&cells).view([len as i64, self.num_pitches as i64])
    }

    /// Keys of a plan encode the example and its move: `example × moves + (move + transpose)`.
    fn moves_per_example(&self) -> usize {
        2 * usize::from(self.transpose) + 1
    }

    fn padded(&self, parts: &[(usize, usize, usize, i32)], device: Device) -> Batch {
        let tensors: Vec<Tensor> = parts
            .iter()
            .map(|&(p, s, l, m)| self.tensor(p, s, l, m).to(device))
            .collect();
        let refs: Vec<&Tensor> = tensors.iter().collect();
        next_frame_batch(&refs).unwrap_or_else(|| Batch {
            inputs: Tensor::zeros([0, 1, self.num_pitches as i64], (Kind::Float, device)),
            targets: Tensor::zeros([0, 1, self.num_pitches as i64], (Kind::Float, device)),
            count: 0.0,
            carry: false,
        })
    }
}

impl Batches for RollBatches {
    fn settings(&self) -> serde_json::Value {
        let mut settings = json!({"kind": "piano_rolls", "window_frames": self.window_frames,
               "batch_size": self.batch_size, "low_pitch": self.low_pitch,
               "num_pitches": self.num_pitches});
        // Only when on, so that runs checkpointed before it existed resume unchanged.
        if self.lead_in {
            settings["lead_in"] = json!(true);
        }
        if self.transpose > 0 {
            settings["transpose"] = json!(self.transpose);
        }
        settings
    }

    /// Predicted frames in the training examples.
    fn items(&self) -> usize {
        self.examples.iter().map(|e| e.2 - 1).sum()
    }

    /// A 64-bit FNV-1a hash of every frame of every piece.
    fn fingerprint(&self) -> u64 {
        let mut hash = Fnv::default();
        for piece in &self.pieces {
            hash.add(-1);
            for frame in piece {
                hash.add(-2);
                for &p in frame {
                    hash.add(i64::from(p));
                }
            }
        }
        hash.0
    }

    fn batches_per_epoch(&self) -> usize {
        let pool = self.batch_size * 16;
        let n = self.examples.len();
        (n / pool) * 16 + (n % pool).div_ceil(self.batch_size)
    }

    /// Examples shuffled by `(seed, epoch)`, grouped with examples of similar length (so little is
    /// padded), the groups in shuffled order; keys index the training examples. With
    /// transposition each key also carries the example's move this epoch (see
    /// [`RollBatches::with_transposition`]): `example × (2 × transpose + 1) + move + transpose`.
    fn epoch_plan(&self, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(seed, epoch);
        let mut order: Vec<usize> = (0..self.examples.len()).collect();
        order.shuffle(&mut rng);
        let mut batches = Vec::new();
        for pool in order.chunks(self.batch_size * 16) {
            let mut pool = pool.to_vec();
            pool.sort_by_key(|&i| (self.examples[i].2, i));
            batches.extend(pool.chunks(self.batch_size).map(<[usize]>::to_vec));
        }
        batches.shuffle(&mut rng);
        if self.transpose == 0 {
            return batches;
        }
        let set_span = self.pitch_bounds();
        let mut moves = epoch_rng(seed ^ TRANSPOSE_STREAM, epoch);
        let (per, limit) = (self.moves_per_example(), i32::from(self.transpose));
        for batch in &mut batches {
            for key in batch.iter_mut() {
                let (low, high) = self.allowed_moves(*key, set_span);
                let semitones = moves.random_range(low..=high);
                *key = *key * per + (semitones + limit) as usize;
            }
        }
        batches
    }

    fn batch(&self, keys: &[usize], device: Device) -> Batch {
        let (per, limit) = (self.moves_per_example(), i32::from(self.transpose));
        let parts: Vec<(usize, usize, usize, i32)> = keys
            .iter()
            .map(|&k| {
                let (p, s, l) = self.examples[k / per];
                (p, s, l, (k % per) as i32 - limit)
            })
            .collect();
        self.padded(&parts, device)
    }

    /// At most `limit` whole pieces (in their order), grouped by length.
    fn evaluation_batches(&self, limit: usize, device: Device) -> Vec<Batch> {
        let mut order: Vec<usize> = (0..self.pieces.len().min(limit))
            .filter(|&i| self.pieces[i].len() >= 2)
            .collect();
        order.sort_by_key(|&i| (self.pieces[i].len(), i));
        order
            .chunks(self.batch_size)
            .map(|chunk| {
                let parts: Vec<(usize, usize, usize, i32)> = chunk
                    .iter()
                    .map(|&i| (i, 0, self.pieces[i].len(), 0))
                    .collect();
                self.padded(&parts, device)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(len: usize) -> Frames {
        (0..len).map(|t| vec![60 + (t % 4) as u8]).collect()
    }

    #[test]
    fn padding_is_marked_and_counted_out() {
        let long = Tensor::ones([4, 3], (Kind::Float, Device::Cpu));
        let short = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
        let batch = next_frame_batch(&[&long, &short]).expect("a batch");
        assert_eq!(batch.inputs.size(), vec![2, 3, 3]);
        assert_eq!(batch.count, 4.0);
        let mask = padding_mask(&batch.targets);
        let rows: Vec<f32> = Vec::try_from(mask.view([-1])).unwrap_or_default();
        assert_eq!(rows, vec![1., 1., 1., 1., 0., 0.]);
    }

    /// The pitches of each row of a batch's inputs, frame by frame (MIDI numbers).
    fn rows(batch: &Batch, low_pitch: u8) -> Vec<Vec<Vec<u8>>> {
        let size = batch.inputs.size();
        let cells: Vec<f32> = Vec::try_from(batch.inputs.view([-1])).unwrap_or_default();
        let (t, p) = (size[1] as usize, size[2] as usize);
        cells
            .chunks(t * p)
            .map(|row| {
                row.chunks(p)
                    .map(|frame| {
                        (0..p)
                            .filter(|&k| frame[k] > 0.5)
                            .map(|k| low_pitch + k as u8)
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn transposed_windows_move_within_the_pieces_range_and_keep_the_plan() -> Result<()> {
        // Piece 0 spans 60..=64; piece 1 is one note, 70, so the set spans 60..=70. Windows of 2.
        let pieces = vec![
            (0..9).map(|t| vec![60 + (t % 5) as u8]).collect(),
            vec![vec![70]; 5],
        ];
        let plain = RollBatches::from_frames(pieces, 55, 24, 2, 2)?;
        let moved = plain.clone().with_transposition(3);
        assert_eq!(moved.settings()["transpose"], 3);
        assert!(plain.settings().get("transpose").is_none());
        let per = 7;
        let mut seen = std::collections::BTreeSet::new();
        for epoch in 0..20 {
            let (a, b) = (plain.epoch_plan(5, epoch), moved.epoch_plan(5, epoch));
            assert_eq!(
                b,
                moved.epoch_plan(5, epoch),
                "a pure function of (seed, epoch)"
            );
            let decoded: Vec<Vec<usize>> = b
                .iter()
                .map(|batch| batch.iter().map(|k| k / per).collect())
                .collect();
            assert_eq!(decoded, a, "the same batches in the same order");
            for (keys, plain_keys) in b.iter().zip(&a) {
                let batch = moved.batch(keys, Device::Cpu);
                let written = plain.batch(plain_keys, Device::Cpu);
                for ((row, original), key) in rows(&batch, 55)
                    .into_iter()
                    .zip(rows(&written, 55))
                    .zip(keys)
                {
                    let semitones = (key % per) as i32 - 3;
                    seen.insert(semitones);
                    let expected: Vec<Vec<u8>> = original
                        .iter()
                        .map(|f| {
                            f.iter()
                                .map(|&p| (i32::from(p) + semitones) as u8)
                                .collect()
                        })
                        .collect();
                    assert_eq!(row, expected, "moved by {semitones}");
                    for &p in row.iter().flatten() {
                        assert!((60..=70).contains(&p), "{p} left the pieces' range");
                    }
                }
            }
        }
        assert_eq!(
            seen,
            (-3..=3).collect(),
            "every move within reach is drawn in 20 epochs"
        );
        let led = moved.clone().with_lead_in()?;
        assert_eq!(led.transpose, 3, "the lead-in keeps the transposition");
        let whole = moved.evaluation_batches(usize::MAX, Device::Cpu);
        assert_eq!(
            rows(&whole[0], 55)[0][0],
            vec![70],
            "evaluation reads pieces as written"
        );
        Ok(())
    }

    #[test]
    fn a_window_spanning_the_whole_range_is_not_moved() -> Result<()> {
        let piece: Frames = vec![vec![60], vec![72], vec![60], vec![72]];
        let batches = RollBatches::from_frames(vec![piece], 60, 13, 0, 1)?.with_transposition(5);
        for epoch in 0..10 {
            assert_eq!(batches.epoch_plan(1, epoch), vec![vec![5]], "move 0 of ±5");
        }
        Ok(())
    }

    #[test]
    fn windows_keep_every_transition_once() -> Result<()> {
        let batches = RollBatches::from_frames(vec![piece(7)], 60, 4, 3, 2)?;
        assert_eq!(batches.items(), 6);
        let plan = batches.epoch_plan(1, 0);
        let batch = batches.batch(&plan.concat(), Device::Cpu);
        assert_eq!(batch.count, 6.0);
        let whole = batches.evaluation_batches(usize::MAX, Device::Cpu);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].inputs.size(), vec![1, 6, 4]);
        Ok(())
    }

    #[test]
    fn a_lead_in_makes_every_frame_a_target_read_after_silence() -> Result<()> {
        let plain = RollBatches::from_frames(vec![piece(7)], 60, 4, 3, 2)?;
        let led = RollBatches::from_frames(vec![piece(7)], 60, 4, 3, 2)?.with_lead_in()?;
        assert_eq!((plain.items(), led.items()), (6, 7));
        let whole = &led.evaluation_batches(usize::MAX, Device::Cpu)[0];
        assert_eq!(whole.count, 7.0);
        let row = |t: &Tensor, i: i64| Vec::<f32>::try_from(t.get(0).get(i)).unwrap_or_default();
        // Input 0 is the silent lead-in; target 0 is the piece's first frame (pitch 60, cell 0).
        assert_eq!(row(&whole.inputs, 0), vec![0., 0., 0., 0.]);
        assert_eq!(row(&whole.targets, 0), vec![1., 0., 0., 0.]);
        assert_eq!(row(&whole.inputs, 1), vec![1., 0., 0., 0.]);
        assert_eq!(led.settings()["lead_in"], true);
        assert!(plain.settings().get("lead_in").is_none());
        assert_ne!(led.fingerprint(), plain.fingerprint());
        let make = || RollBatches::from_frames(vec![piece(7)], 60, 4, 3, 2);
        assert_eq!(make()?.lead_in_if(true)?.fingerprint(), led.fingerprint());
        assert_eq!(
            make()?.lead_in_if(false)?.fingerprint(),
            plain.fingerprint()
        );
        Ok(())
    }

    #[test]
    fn plans_cover_every_example_once_and_depend_on_the_seed() -> Result<()> {
        let pieces: Vec<Frames> = (2..40).map(piece).collect();
        let batches = RollBatches::from_frames(pieces, 60, 4, 0, 2)?;
        let a = batches.epoch_plan(7, 1);
        assert_eq!(a.len(), batches.batches_per_epoch());
        let mut seen: Vec<usize> = a.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..38).collect::<Vec<_>>());
        assert!(a.iter().all(|b| b.len() <= 2));
        assert_eq!(a, batches.epoch_plan(7, 1));
        assert_ne!(a, batches.epoch_plan(7, 2));
        Ok(())
    }

    #[test]
    fn the_key_range_spans_the_notes_that_sound() -> Result<()> {
        let batches =
            RollBatches::from_frames(vec![piece(3), vec![vec![], vec![70]]], 60, 12, 0, 2)?;
        // Pitches 60..=62 and 70 are keys 0..=10 of 12.
        assert_eq!(batches.key_range(0), Some([0, 10]));
        assert_eq!(batches.key_range(3), Some([0, 11]));
        let silent = RollBatches::from_frames(vec![vec![vec![], vec![]]], 60, 12, 0, 2)?;
        assert_eq!(silent.key_range(1), None);
        Ok(())
    }

    #[test]
    fn pitches_off_the_keyboard_are_refused() {
        let err = RollBatches::from_frames(vec![vec![vec![60], vec![99]]], 60, 4, 0, 1)
            .expect_err("off the keyboard");
        assert!(format!("{err:#}").contains("frame 1 has pitch 99"));
    }
}
