//! Light inline players: audio embedded in a notebook as Ogg Vorbis, not WAV.
//!
//! A notebook keeps every player it shows, base64-encoded (a third larger than the bytes). 16-bit
//! stereo WAV at 44.1 kHz is 10.6 MB a minute; Ogg Vorbis at [`PREVIEW_BITRATE`] is about 0.5 MB,
//! so a three-minute tune adds about 2 MB to the notebook. Chromium-based browsers and Firefox play
//! Ogg Vorbis in an `<audio>` element (older Safari versions do not; MP3 plays everywhere, but its
//! encoder, LAME, is LGPL, where libvorbis is BSD-licensed like the rest of the dependencies).
//! Vorbis is encoded by libvorbis (the aoTuV/Lancer build) through the `vorbis_rs` crate. Files on
//! disk stay full-quality WAV ([`Audio::write_wav`]).

use std::num::{NonZeroU32, NonZeroU8};

use anyhow::{Context, Result};
use base64::Engine as _;
use vorbis_rs::{VorbisBitrateManagementStrategy, VorbisEncoderBuilder};

use super::Audio;

/// Average bit rate of inline players, in bits per second (for the whole stream, all channels).
pub const PREVIEW_BITRATE: u32 = 64_000;

/// Frames handed to the encoder at a time (libvorbis suggests about a thousand).
const BLOCK_FRAMES: usize = 4096;

impl Audio {
    /// Encodes the audio as an Ogg Vorbis stream in memory, at about [`PREVIEW_BITRATE`] (or, for
    /// a sample rate and channel count libvorbis has no such mode for, at a fixed low quality).
    /// Samples are clamped to `-1..=1`; the stream serial is fixed, so the same audio always gives
    /// the same bytes.
    pub fn to_ogg_vorbis(&self) -> Result<Vec<u8>> {
        anyhow::ensure!(self.frames() > 0, "no audio to encode");
        let rate = NonZeroU32::new(self.sample_rate).context("audio has a sample rate of 0")?;
        let channels = u8::try_from(self.channels)
            .ok()
            .and_then(NonZeroU8::new)
            .with_context(|| format!("Ogg Vorbis cannot hold {} channels", self.channels))?;
        anyhow::ensure!(
            self.samples.len() == self.frames() * usize::from(self.channels),
            "{} samples do not fill whole frames of {} channels",
            self.samples.len(),
            self.channels
        );
        let average = NonZeroU32::new(PREVIEW_BITRATE).context("bit rate")?;
        let strategies = [
            VorbisBitrateManagementStrategy::Abr {
                average_bitrate: average,
            },
            VorbisBitrateManagementStrategy::QualityVbr {
                target_quality: 0.1,
            },
        ];
        let mut last_error = None;
        for strategy in strategies {
            let mut builder = VorbisEncoderBuilder::new_with_serial(rate, channels, Vec::new(), 1);
            builder.bitrate_management_strategy(strategy);
            match builder.build() {
                Ok(encoder) => return self.encode_with(encoder),
                Err(e) => last_error = Some(e),
            }
        }
        Err(anyhow::anyhow!(
            "libvorbis has no mode for {} Hz, {} channels: {:?}",
            self.sample_rate,
            self.channels,
            last_error
        ))
    }

    fn encode_with(&self, mut encoder: vorbis_rs::VorbisEncoder<Vec<u8>>) -> Result<Vec<u8>> {
        let ch = usize::from(self.channels);
        let mut planar: Vec<Vec<f32>> = vec![Vec::with_capacity(BLOCK_FRAMES); ch];
        for block in self.samples.chunks(BLOCK_FRAMES * ch) {
            for plane in planar.iter_mut() {
                plane.clear();
            }
            for frame in block.chunks_exact(ch) {
                for (plane, &s) in planar.iter_mut().zip(frame) {
                    plane.push(if s.is_finite() {
                        s.clamp(-1.0, 1.0)
                    } else {
                        0.0
                    });
                }
            }
            encoder
                .encode_audio_block(&planar)
                .context("encoding Ogg Vorbis")?;
        }
        encoder.finish().context("finishing the Ogg Vorbis stream")
    }

    /// An HTML `<audio>` element with the audio embedded as a compressed (Ogg Vorbis) data URL,
    /// light enough for notebooks; see [`Audio::preview_html`].
    pub fn to_html(&self) -> String {
        self.preview_html()
    }

    /// An HTML `<audio>` element playing the audio from an embedded Ogg Vorbis data URL, or a
    /// short note saying why the audio cannot be encoded.
    pub fn preview_html(&self) -> String {
        match self.to_ogg_vorbis() {
            Ok(bytes) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                format!(
                    r#"<audio controls="controls" preload="metadata" src="data:audio/ogg;base64,{b64}"></audio>"#
                )
            }
            Err(e) => format!(
                "<pre>cannot encode audio: {}</pre>",
                html_escape::encode_text(&format!("{e:#}"))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sine tone with a little noise (so the encoder has something to spend bits on).
    fn tone(seconds: f64, sample_rate: u32, channels: u16) -> Audio {
        let frames = (seconds * f64::from(sample_rate)) as usize;
        let mut samples = Vec::with_capacity(frames * usize::from(channels));
        let mut noise = 1u32;
        for i in 0..frames {
            let t = i as f64 / f64::from(sample_rate);
            noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = (noise >> 8) as f64 / f64::from(1u32 << 24) - 0.5;
            let s = (0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() + 0.05 * n) as f32;
            samples.extend(std::iter::repeat_n(s, usize::from(channels)));
        }
        Audio {
            sample_rate,
            channels,
            samples,
        }
    }

    #[test]
    fn three_minutes_of_stereo_fit_in_three_megabytes_of_html() -> Result<()> {
        let audio = tone(180.0, 44_100, 2);
        let html = audio.preview_html();
        assert!(
            html.starts_with(
                r#"<audio controls="controls" preload="metadata" src="data:audio/ogg;base64,T2dnUw"#
            ),
            "{}",
            &html[..html.len().min(120)]
        );
        assert!(html.len() < 3_000_000, "{} bytes of HTML", html.len());
        let wav = audio.to_wav_bytes()?.len();
        assert!(
            html.len() * 10 < wav,
            "{} bytes of HTML for {wav} of WAV",
            html.len()
        );
        Ok(())
    }

    #[test]
    fn mono_at_low_rates_and_the_same_bytes_every_time() -> Result<()> {
        let audio = tone(2.0, 16_000, 1);
        let first = audio.to_ogg_vorbis()?;
        assert!(first.starts_with(b"OggS"));
        assert_eq!(
            first,
            audio.to_ogg_vorbis()?,
            "the encoding is not repeatable"
        );
        Ok(())
    }

    #[test]
    fn bad_audio_is_an_error_not_a_panic() {
        let empty = Audio {
            sample_rate: 44_100,
            channels: 2,
            samples: vec![],
        };
        assert!(empty.to_ogg_vorbis().is_err());
        let ragged = Audio {
            sample_rate: 8_000,
            channels: 2,
            samples: vec![0.0; 3],
        };
        assert!(ragged.to_ogg_vorbis().is_err());
        assert!(ragged
            .preview_html()
            .starts_with("<pre>cannot encode audio"));
        let none = Audio {
            sample_rate: 0,
            channels: 1,
            samples: vec![0.0; 3],
        };
        assert!(none.to_ogg_vorbis().is_err());
    }
}
