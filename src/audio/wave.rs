//! Audio: a buffer of interleaved `f32` samples and its WAV encoding (players for notebooks are
//! the render layer's: `render::preview`).

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result};

/// A block of PCM audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second (per channel).
    pub sample_rate: u32,
    /// Number of interleaved channels (1 = mono, 2 = stereo).
    pub channels: u16,
    /// Interleaved samples, nominally in `-1.0..=1.0`.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Length in seconds.
    pub fn duration_seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// The largest absolute sample value.
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }

    /// One channel as its own vector (`channel` counts from 0).
    ///
    /// # Panics
    /// If `channel >= self.channels`.
    pub fn channel(&self, channel: u16) -> Vec<f32> {
        assert!(channel < self.channels, "channel {channel} out of range");
        self.samples
            .iter()
            .skip(usize::from(channel))
            .step_by(usize::from(self.channels))
            .copied()
            .collect()
    }

    /// The average of all channels, one value per frame.
    pub fn to_mono(&self) -> Vec<f32> {
        let ch = usize::from(self.channels.max(1));
        self.samples
            .chunks_exact(ch)
            .map(|f| f.iter().sum::<f32>() / ch as f32)
            .collect()
    }

    fn check(&self) -> Result<()> {
        anyhow::ensure!(self.channels > 0, "audio has 0 channels");
        anyhow::ensure!(self.sample_rate > 0, "audio has a sample rate of 0");
        anyhow::ensure!(
            self.samples
                .len()
                .is_multiple_of(usize::from(self.channels)),
            "{} samples do not fill whole frames of {} channels",
            self.samples.len(),
            self.channels
        );
        Ok(())
    }

    /// Encodes the audio as a 16-bit PCM WAV file in memory (samples are clamped to `-1..=1`).
    pub fn to_wav_bytes(&self) -> Result<Vec<u8>> {
        self.check()?;
        let spec = hound::WavSpec {
            channels: self.channels,
            sample_rate: self.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::with_capacity(44 + self.samples.len() * 2));
        {
            let mut writer = hound::WavWriter::new(&mut cursor, spec).context("starting WAV")?;
            let mut w16 = writer.get_i16_writer(self.samples.len() as u32);
            for &s in &self.samples {
                w16.write_sample(to_i16(s));
            }
            w16.flush().context("writing WAV samples")?;
            writer.finalize().context("finishing WAV")?;
        }
        Ok(cursor.into_inner())
    }

    /// Writes a 16-bit PCM WAV file atomically: the bytes go to a temporary sibling file that is
    /// synced and then renamed over `path`, so readers never see a half-written file.
    pub fn write_wav(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_wav_bytes()?;
        crate::fsutil::write_atomic(path, &bytes)
            .with_context(|| format!("writing WAV {}", path.display()))
    }
}

/// Converts a float sample to 16-bit PCM, clamping to the representable range.
fn to_i16(s: f32) -> i16 {
    let s = if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    (s * 32767.0).round() as i16
}
