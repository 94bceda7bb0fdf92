//! Audio clips for neural synthesizers: pieces of note features aligned with the audio they were
//! rendered to ([`AudioPair`]), cut into clips of a fixed number of frames and served as batches
//! of features `[batch, frames, voices × features]` with audio `[batch, frames × hop]` as targets.

use super::{shuffled_plan, Batch, Batches, Fnv};
use crate::encode::AudioFeatures;
use anyhow::{ensure, Result};
use serde_json::json;
use std::sync::Arc;
use tch::{Device, Tensor};

/// A piece's note features and its mono audio, aligned: `samples.len() == frames × hop`.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioPair {
    /// Where it came from (a tune's title).
    pub name: String,
    /// Note features per frame.
    pub features: AudioFeatures,
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl AudioPair {
    /// Pairs features with samples, which must cover exactly `frames × hop` samples.
    pub fn new(
        name: impl Into<String>,
        features: AudioFeatures,
        samples: Vec<f32>,
        sample_rate: u32,
    ) -> Result<Self> {
        let name = name.into();
        ensure!(
            features.frames > 0 && samples.len().is_multiple_of(features.frames),
            "{name}: {} samples do not split into {} frames",
            samples.len(),
            features.frames
        );
        Ok(AudioPair {
            name,
            features,
            samples,
            sample_rate,
        })
    }

    /// Samples per frame.
    pub fn hop(&self) -> usize {
        self.samples.len() / self.features.frames.max(1)
    }

    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Frames `range` (and their samples) as a pair of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> AudioPair {
        let hop = self.hop();
        AudioPair {
            name: format!("{} [{}..{}]", self.name, range.start, range.end),
            samples: self.samples[range.start * hop..range.end * hop].to_vec(),
            features: self.features.slice(range),
            sample_rate: self.sample_rate,
        }
    }
}

/// Clips of `clip_frames` frames cut from pairs, served as shuffled batches. Every clip holds at
/// least one frame in which a key is held; a piece's end that is at least half a clip long gives
/// one more clip, aligned to the end.
#[derive(Debug, Clone)]
pub struct AudioClips {
    pairs: Arc<Vec<AudioPair>>,
    /// (pair, first frame) of every clip, in piece order.
    clips: Vec<(usize, usize)>,
    /// Frames per clip.
    pub clip_frames: usize,
    /// Clips per batch.
    pub batch_size: usize,
}

impl AudioClips {
    /// Cuts `pairs` into clips of `clip_frames`; there must be at least one clip, and every pair
    /// must have the same hop, voices and sample rate.
    pub fn new(pairs: Vec<AudioPair>, clip_frames: usize, batch_size: usize) -> Result<Self> {
        ensure!(
            clip_frames > 0 && batch_size > 0,
            "clip_frames and batch_size must be positive"
        );
        if let Some(first) = pairs.first() {
            for p in &pairs {
                ensure!(
                    (p.hop(), p.features.voices, p.sample_rate)
                        == (first.hop(), first.features.voices, first.sample_rate),
                    "{} has another layout than {} (hop, voices or sample rate)",
                    p.name,
                    first.name
                );
            }
        }
        let mut clips = Vec::new();
        for (i, pair) in pairs.iter().enumerate() {
            let frames = pair.features.frames;
            let mut starts: Vec<usize> =
                (0..frames / clip_frames).map(|c| c * clip_frames).collect();
            if frames >= clip_frames && frames % clip_frames >= clip_frames / 2 {
                starts.push(frames - clip_frames);
            }
            for start in starts {
                let clip = pair.features.slice(start..start + clip_frames);
                if clip.held_frames() > 0 {
                    clips.push((i, start));
                }
            }
        }
        ensure!(
            !clips.is_empty(),
            "no clip of {clip_frames} frames with notes in {} pieces (longest {} frames)",
            pairs.len(),
            pairs.iter().map(|p| p.features.frames).max().unwrap_or(0)
        );
        Ok(AudioClips {
            pairs: Arc::new(pairs),
            clips,
            clip_frames,
            batch_size,
        })
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.clips.len()
    }

    /// True when there are no clips (never, for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    /// The pieces the clips are cut from.
    pub fn pairs(&self) -> &[AudioPair] {
        &self.pairs
    }

    /// Clip `i` as a pair of its own.
    pub fn clip(&self, i: usize) -> AudioPair {
        let (pair, start) = self.clips[i];
        self.pairs[pair].slice(start..start + self.clip_frames)
    }

    /// Seconds of audio in all clips.
    pub fn seconds(&self) -> f64 {
        self.pairs.first().map_or(0.0, |p| {
            (self.clips.len() * self.clip_frames * p.hop()) as f64 / f64::from(p.sample_rate)
        })
    }

    /// Clips `ids` as a batch on `device`.
    pub fn gather(&self, ids: &[usize], device: Device) -> Batch {
        let n = ids.len() as i64;
        let mut features = Vec::new();
        let mut samples = Vec::new();
        let mut width = 0;
        let mut hop = 0;
        for &i in ids {
            let (pair, start) = self.clips[i];
            let p = &self.pairs[pair];
            width = p.features.frame_width();
            hop = p.hop();
            let end = start + self.clip_frames;
            features.extend_from_slice(&p.features.values[start * width..end * width]);
            samples.extend_from_slice(&p.samples[start * hop..end * hop]);
        }
        let frames = self.clip_frames as i64;
        Batch {
            inputs: Tensor::from_slice(&features)
                .view([n, frames, width as i64])
                .to(device),
            targets: Tensor::from_slice(&samples)
                .view([n, frames * hop as i64])
                .to(device),
            count: (ids.len() * self.clip_frames) as f64,
            carry: false,
        }
    }
}

impl Batches for AudioClips {
    fn settings(&self) -> serde_json::Value {
        let first = self.pairs.first();
        json!({"kind": "audio_clips", "clip_frames": self.clip_frames, "batch_size": self.batch_size,
               "hop": first.map_or(0, AudioPair::hop), "sample_rate": first.map_or(0, |p| p.sample_rate)})
    }

    /// Frames in all clips.
    fn items(&self) -> usize {
        self.clips.len() * self.clip_frames
    }

    /// A 64-bit FNV-1a hash of the clips' places and of every feature and sample (in millionths).
    fn fingerprint(&self) -> u64 {
        let mut hash = Fnv::default();
        for &(pair, start) in &self.clips {
            hash.add(pair as i64);
            hash.add(start as i64);
        }
        for p in self.pairs.iter() {
            hash.add(p.samples.len() as i64);
            for &x in p.features.values.iter().chain(&p.samples) {
                hash.add((f64::from(x) * 1e6).round() as i64);
            }
        }
        hash.0
    }

    /// Batches in one epoch (the last one may be smaller).
    fn batches_per_epoch(&self) -> usize {
        self.clips.len().div_ceil(self.batch_size)
    }

    /// Every clip once, in a seeded shuffle; keys are the clips' indices.
    fn epoch_plan(&self, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
        shuffled_plan(self.clips.len(), self.batch_size, seed, epoch)
    }

    fn batch(&self, keys: &[usize], device: Device) -> Batch {
        self.gather(keys, device)
    }

    /// Clips in order, as many as hold at most `limit` frames (at least one clip).
    fn evaluation_batches(&self, limit: usize, device: Device) -> Vec<Batch> {
        let count = (limit / self.clip_frames).clamp(1, self.clips.len());
        let ids: Vec<usize> = (0..count).collect();
        ids.chunks(self.batch_size)
            .map(|chunk| self.gather(chunk, device))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::audio::tests::score_of;
    use crate::encode::AudioFeatureConfig;

    fn pair(notes: &[(u8, u32, u32)]) -> Result<AudioPair> {
        let config = AudioFeatureConfig::default();
        let score = score_of(notes, 90);
        let frames = config.frames_for(&score);
        let features = config.features(&score, frames)?;
        let samples = (0..frames * config.hop)
            .map(|i| (i as f32 * 0.01).sin())
            .collect();
        AudioPair::new("test", features, samples, config.sample_rate)
    }

    #[test]
    fn clips_skip_silence_and_batches_line_up() -> Result<()> {
        // A note in the first second, a rest, a note at 3.5 s: 4.5 s with the tail.
        let p = pair(&[(60, 0, 480), (67, 3360, 480)])?;
        assert_eq!(p.features.frames, 1125);
        let clips = AudioClips::new(vec![p.clone()], 250, 2)?;
        // Clips start at frames 0, 250, 500, 750 and (the end) 875; 250 and 500 hold no key.
        assert_eq!(clips.clips, vec![(0, 0), (0, 750), (0, 875)]);
        assert_eq!(clips.items(), 750);
        let batch = clips.batch(&[1, 0], Device::Cpu);
        assert_eq!(batch.inputs.size(), vec![2, 250, 24]);
        assert_eq!(batch.targets.size(), vec![2, 16_000]);
        assert_eq!(batch.count, 500.0);
        let first = batch.targets.double_value(&[0, 0]);
        assert!((first - f64::from(p.samples[750 * 64])).abs() < 1e-7);
        let plan = clips.epoch_plan(3, 1);
        assert_eq!(plan, clips.epoch_plan(3, 1));
        assert_eq!(plan.iter().map(Vec::len).sum::<usize>(), 3);
        assert_eq!(clips.evaluation_batches(500, Device::Cpu).len(), 1);
        Ok(())
    }

    #[test]
    fn misaligned_audio_is_refused() -> Result<()> {
        let p = pair(&[(60, 0, 480)])?;
        let err = AudioPair::new("bad", p.features.clone(), vec![0.0; 1001], 16_000)
            .expect_err("1001 samples");
        assert!(format!("{err:#}").contains("bad"));
        Ok(())
    }
}
