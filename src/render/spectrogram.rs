//! Seeing audio: spectrograms (computed by [`crate::audio::spectrum`]) drawn as a PNG inside an SVG
//! with time and frequency axes ([`spectrogram_svg`]), and renderings of the same notes side by
//! side, each with its spectrogram and a player ([`compare_audio_html`]).
//!
//! Levels are absolute (dB relative to a full-scale sine, from −100 to 0 dB) so that pictures
//! drawn side by side compare.

use super::html::{Html, Svg};
use super::Audio;
use anyhow::{Context, Result};
use base64::Engine;

pub use crate::audio::spectrum::{power_frames, Spectrogram, FLOOR_DB};

impl Spectrogram {
    /// The picture as PNG bytes, at most `max_width` pixels wide (neighbouring frames merged by
    /// their loudest value), one row per bin, low frequencies at the bottom.
    pub fn to_png(&self, max_width: usize) -> Result<Vec<u8>> {
        let frames = self.db.len().max(1);
        let bins = self.db.first().map_or(1, Vec::len).max(1);
        let width = frames.min(max_width.max(1));
        let mut rgb = vec![0u8; width * bins * 3];
        for x in 0..width {
            let (from, to) = (
                x * frames / width,
                ((x + 1) * frames / width).max(x * frames / width + 1),
            );
            for bin in 0..bins {
                let level = self.db[from..to.min(self.db.len())]
                    .iter()
                    .map(|f| f.get(bin).copied().unwrap_or(FLOOR_DB))
                    .fold(FLOOR_DB, f32::max);
                let colour = magma((level - FLOOR_DB) / -FLOOR_DB);
                let at = ((bins - 1 - bin) * width + x) * 3;
                rgb[at..at + 3].copy_from_slice(&colour);
            }
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width as u32, bins as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().context("starting the PNG")?;
            writer.write_image_data(&rgb).context("writing the PNG")?;
        }
        Ok(out)
    }

    /// Seconds the spectrogram spans.
    pub fn seconds(&self) -> f64 {
        (self.db.len() * self.hop) as f64 / f64::from(self.sample_rate.max(1))
    }

    /// The picture with a title, a time axis in seconds and a frequency axis in kHz, as SVG.
    pub fn to_svg(&self, title: &str) -> Result<Svg> {
        let png = self.to_png(720)?;
        let frames = self.db.len().max(1);
        let width = frames.min(720) as f64;
        let height = self.db.first().map_or(1, Vec::len) as f64;
        let (left, top) = (44.0, 22.0);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
        let mut svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" font-family="sans-serif" font-size="11"><title>spectrogram: {t}</title><text x="{left}" y="14" font-size="13">{t}</text><image x="{left}" y="{top}" width="{width}" height="{height}" preserveAspectRatio="none" xlink:href="data:image/png;base64,{b64}"/>"#,
            w = left + width + 12.0,
            h = top + height + 34.0,
            t = html_escape::encode_text(title),
        );
        let nyquist_khz = f64::from(self.sample_rate) / 2000.0;
        let step = if nyquist_khz > 10.0 { 5.0 } else { 2.0 };
        let mut khz: f64 = 0.0;
        while khz <= nyquist_khz + 1e-9 {
            let y = top + height * (1.0 - khz / nyquist_khz);
            svg.push_str(&format!(
                r#"<text x="{}" y="{}" text-anchor="end">{khz}</text>"#,
                left - 4.0,
                y + 4.0
            ));
            khz += step;
        }
        let seconds = self.seconds();
        let tick = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0]
            .into_iter()
            .find(|t| seconds / t <= 8.0)
            .unwrap_or(120.0);
        let mut s: f64 = 0.0;
        while s <= seconds + 1e-9 {
            let x = left + width * s / seconds.max(1e-9);
            svg.push_str(&format!(
                r#"<text x="{x}" y="{}" text-anchor="middle">{s}</text>"#,
                top + height + 14.0
            ));
            s += tick;
        }
        svg.push_str(&format!(
            r#"<text x="{}" y="{}" text-anchor="middle">seconds</text><text x="10" y="{}" transform="rotate(-90 10 {})" text-anchor="middle">kHz</text></svg>"#,
            left + width / 2.0,
            top + height + 30.0,
            top + height / 2.0,
            top + height / 2.0
        ));
        Ok(Svg(svg))
    }
}

/// The magma colour map (dark purple → orange → pale yellow) at `t` in `[0, 1]`, from five of its
/// published anchor colours.
fn magma(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [81.0, 18.0, 124.0],
        [183.0, 55.0, 121.0],
        [252.0, 137.0, 97.0],
        [252.0, 253.0, 191.0],
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f32;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        *o = (STOPS[i][c] * (1.0 - f) + STOPS[i + 1][c] * f).round() as u8;
    }
    out
}

/// The spectrogram of (the mono mix of) `audio`, windows of 512 samples at 16 kHz (scaled with
/// the sample rate), a frame every quarter window.
pub fn spectrogram_svg(audio: &Audio, title: &str) -> Result<Svg> {
    let n_fft = (audio.sample_rate as usize / 32)
        .next_power_of_two()
        .max(64);
    Spectrogram::of(&audio.to_mono(), audio.sample_rate, n_fft, n_fft / 4).to_svg(title)
}

/// Renderings of the same notes side by side: for each, its name, its spectrogram and a player.
pub fn compare_audio_html(renderings: &[(&str, &Audio)]) -> Result<Html> {
    let mut html = String::from(
        r#"<div class="tunesmith-compare" style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">"#,
    );
    for (name, audio) in renderings {
        let svg = spectrogram_svg(audio, name)?;
        html.push_str(&format!(
            r#"<div style="flex:1 1 300px;min-width:300px"><div style="overflow-x:auto">{}</div>{}</div>"#,
            svg.0,
            audio.to_html()
        ));
    }
    html.push_str("</div>");
    Ok(Html(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_reads_zero_db_in_its_bin() {
        let sr = 16_000.0;
        let samples: Vec<f32> = (0..16_000)
            .map(|i| (std::f64::consts::TAU * 1000.0 * f64::from(i) / sr).sin() as f32)
            .collect();
        let spec = Spectrogram::of(&samples, 16_000, 512, 128);
        assert_eq!(spec.db.len(), 125);
        // 1000 Hz / 31.25 Hz per bin = bin 32.
        let middle = &spec.db[60];
        let (peak, level) =
            middle.iter().enumerate().fold(
                (0, FLOOR_DB),
                |best, (i, &l)| if l > best.1 { (i, l) } else { best },
            );
        assert_eq!(peak, 32);
        assert!(level.abs() < 0.1, "{level} dB");
        assert!(middle[100] < -60.0);
        let png = spec.to_png(50).expect("png");
        assert_eq!(&png[1..4], b"PNG");
        let svg = spec.to_svg("a <sine>").expect("svg").0;
        assert!(svg.contains("data:image/png;base64,") && svg.contains("a &lt;sine&gt;"));
        assert!(svg.contains(">kHz<") && svg.contains(">seconds<"));
    }
}
