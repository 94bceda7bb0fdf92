//! Tests of the audio measures on signals whose answers are known.

use super::*;
use crate::encode::audio::tests::score_of;

const SR: u32 = 16_000;

fn tone(hz: f64, amplitude: f64, seconds: f64) -> Vec<f32> {
    (0..(seconds * f64::from(SR)) as usize)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            (amplitude
                * ((std::f64::consts::TAU * hz * t).sin()
                    + 0.5 * (std::f64::consts::TAU * 2.0 * hz * t).sin())) as f32
        })
        .collect()
}

/// A4 for one second then C5 for one second (120 BPM), and those notes rendered as tones.
fn melody() -> (Score, Vec<f32>) {
    let score = score_of(&[(69, 0, 960), (72, 960, 960)], 90);
    let mut audio = tone(440.0, 0.3, 1.0);
    audio.extend(tone(523.2511, 0.3, 1.0));
    (score, audio)
}

#[test]
fn yin_finds_the_fundamental_and_nothing_in_silence() {
    for hz in [110.0, 440.0, 1318.5] {
        let window = &tone(hz, 0.2, 0.1)[..1024];
        let got = yin_f0(window, SR).expect("a pitch");
        assert!(
            (1200.0 * (got / hz).log2()).abs() < 10.0,
            "{hz} Hz read as {got}"
        );
    }
    assert_eq!(yin_f0(&[0.0; 1024], SR), None);
}

#[test]
fn pitch_accuracy_is_full_for_the_written_notes_and_zero_for_silence_or_a_wrong_key() {
    let (score, audio) = melody();
    let (right, voiced) = pitch_accuracy(&audio, &score, SR);
    // Frames wholly inside one note, 30 ms after its onset: about (1 s − 94 ms) / 16 ms per note.
    assert!(voiced > 100, "{voiced} frames");
    assert_eq!(right, Some(1.0));
    let (silent, _) = pitch_accuracy(&vec![0.0; audio.len()], &score, SR);
    assert_eq!(silent, Some(0.0));
    let mut sharp = tone(466.16, 0.3, 1.0);
    sharp.extend(tone(554.37, 0.3, 1.0));
    assert_eq!(pitch_accuracy(&sharp, &score, SR).0, Some(0.0));
}

#[test]
fn distances_are_zero_to_itself_and_six_db_for_half_the_amplitude() {
    let (score, audio) = melody();
    let same = audio_metrics(&audio, &audio, &score, SR);
    assert!(same.mr_stft < 1e-6 && same.lsd_db < 1e-9 && same.loudness_error_db < 1e-9);
    let half: Vec<f32> = audio.iter().map(|s| s * 0.5).collect();
    let m = audio_metrics(&half, &audio, &score, SR);
    assert!(
        (m.loudness_error_db - 6.02).abs() < 0.05,
        "{}",
        m.loudness_error_db
    );
    // Pure tones leave most bins at the floor in both: the level difference shows in a few.
    assert!(m.lsd_db > 1.0 && m.lsd_db < 6.1, "{}", m.lsd_db);
    // Noise fills every bin: half the amplitude is 6.02 dB everywhere.
    let mut state = 1u32;
    let noise: Vec<f32> = (0..16_000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect();
    let quieter: Vec<f32> = noise.iter().map(|s| s * 0.5).collect();
    let lsd = log_spectral_distance(
        &power_frames(&quieter, 1024, 256),
        &power_frames(&noise, 1024, 256),
    );
    assert!((lsd - 6.02).abs() < 0.05, "{lsd}");
    assert!(m.mr_stft > same.mr_stft);
    let silence = audio_metrics(&vec![0.0; audio.len()], &audio, &score, SR);
    assert!(silence.mr_stft > m.mr_stft && silence.loudness_error_db > 30.0);
}

#[test]
fn a_full_scale_kilohertz_sine_is_zero_db() {
    let sine: Vec<f32> = (0..4096)
        .map(|i| (std::f64::consts::TAU * 1000.0 * f64::from(i) / f64::from(SR)).sin() as f32)
        .collect();
    let frames = power_frames(&sine, 1024, 256);
    let loudness = loudness_db(&frames[4..10], SR);
    assert!(loudness.iter().all(|l| l.abs() < 0.3), "{loudness:?}");
    assert!((a_weighting(1000.0) - 1.0).abs() < 1e-12 && a_weighting(100.0) < 0.02);
}
