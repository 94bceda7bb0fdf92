//! Where the SoundFont piano's partials lie against whole multiples of the fundamental: the
//! inharmonicity a neural piano synthesizer would need to match (a stiff string's partial `k`
//! sounds at `k · f0 · √(1 + B k²)`). Renders single notes of General MIDI program 0 with the
//! crate's SoundFont synthesizer (no reverb), takes one spectrum from 50 ms after the onset, and
//! for each partial `k` finds the strongest bin from 1% below to 8% above `k · f0`. Prints the
//! offset in cents and the level of each partial, and a least-squares `B` from the partials within
//! 50 dB of the strongest (cents ≈ 866 · B · k²).
//!
//! Usage: `cargo run --release --example soundfont_partials -- [SAMPLE_RATE]`

use anyhow::{Context, Result};
use rustfft::{num_complex::Complex, FftPlanner};
use tunesmith::audio::synth::{find_soundfont, pitch_to_hz, render_score_soundfont, RenderOptions};
use tunesmith::score::{Note, Score, Track};

/// Samples in the analysed window (1.5 s at 22,050 Hz: 0.67 Hz a bin).
const WINDOW: usize = 32_768;

fn main() -> Result<()> {
    let sample_rate: u32 = std::env::args().nth(1).map_or(Ok(22_050), |a| a.parse())?;
    let soundfont = find_soundfont().context("no SoundFont found (make setup installs one)")?;
    println!("| pitch | f0 Hz | k: cents (dB) | B |\n|---|---|---|---|");
    for pitch in [45u8, 52, 57, 64, 69, 76, 81] {
        let mut score = Score::default();
        let quarter = u32::from(score.ticks_per_quarter);
        score.tracks.push(Track {
            name: String::new(),
            program: 0,
            channel: 0,
            is_drum: false,
            notes: vec![Note {
                pitch,
                start: 0,
                duration: 8 * quarter,
                velocity: 90,
            }],
        });
        let options = RenderOptions {
            sample_rate,
            reverb: false,
            normalize_peak: 0.0,
            ..RenderOptions::default()
        };
        let mono = render_score_soundfont(&score, &soundfont, &options)?.to_mono();
        let start = sample_rate as usize / 20;
        let mut spectrum: Vec<Complex<f32>> = (0..WINDOW)
            .map(|i| {
                let hann = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / WINDOW as f32).cos();
                Complex::new(mono.get(start + i).copied().unwrap_or(0.0) * hann, 0.0)
            })
            .collect();
        FftPlanner::new()
            .plan_fft_forward(WINDOW)
            .process(&mut spectrum);
        let level: Vec<f64> = spectrum[..WINDOW / 2]
            .iter()
            .map(|c| 20.0 * f64::from(c.norm()).max(1e-12).log10())
            .collect();
        let hz_per_bin = f64::from(sample_rate) / WINDOW as f64;
        let f0 = pitch_to_hz(pitch);
        let partials: Vec<(usize, f64, f64)> = (1..=24)
            .filter(|&k| k as f64 * f0 * 1.08 < f64::from(sample_rate) / 2.0)
            .map(|k| {
                let target = k as f64 * f0;
                let low = (target * 0.99 / hz_per_bin) as usize;
                let high = (target * 1.08 / hz_per_bin) as usize;
                let peak = (low..=high)
                    .max_by(|&a, &b| level[a].total_cmp(&level[b]))
                    .unwrap_or(low);
                let cents = 1200.0 * (peak as f64 * hz_per_bin / target).log2();
                (k, cents, level[peak])
            })
            .collect();
        let loudest = partials.iter().map(|p| p.2).fold(f64::MIN, f64::max);
        let strong: Vec<_> = partials.iter().filter(|p| p.2 > loudest - 50.0).collect();
        // cents = 866 B k² through the origin, by least squares.
        let (num, den) = strong.iter().fold((0.0, 0.0), |(n, d), p| {
            let k2 = (p.0 * p.0) as f64;
            (n + p.1 * k2, d + k2 * k2)
        });
        let b = num / den.max(1e-12) / (1200.0 / std::f64::consts::LN_2 / 2.0);
        let shown: Vec<String> = partials
            .iter()
            .filter(|p| [1, 2, 4, 6, 8, 12, 16, 20].contains(&p.0))
            .map(|p| format!("{}: {:+.0} ({:.0})", p.0, p.1, p.2 - loudest))
            .collect();
        println!("| {pitch} | {f0:.1} | {} | {b:.1e} |", shown.join(", "));
    }
    Ok(())
}
