//! How fast a shipped neural synthesizer renders a 4-voice piece on one core: the crate's CPU
//! kernel for the harmonics (`Ddsp::cpu_kernel`, the default) beside the tensor path it is tested
//! against, in alternating rounds, with the largest difference between their waveforms.
//!
//! The piece is 60 s of four-part chords (soprano, alto, tenor, bass; a new chord every quarter
//! at 120 quarters a minute, some held two beats), written by the example itself.
//!
//! Usage: `cargo run --release --example bench_neural_render -- [SYNTH] [ROUNDS]` (SYNTH: a
//! checkpoint folder, default `models/piano_synth`; ROUNDS: default 3).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::checkpoint::load_model_as;
use tunesmith::generate::{render_audio, SampleConfig};
use tunesmith::model::Ddsp;
use tunesmith::score::{Note, Score, Track};

/// Four voices of chords for `seconds` at 120 quarters a minute.
fn four_part_chords(seconds: u32, program: u8) -> Score {
    let tpq = 480u32;
    let chords: [[u8; 4]; 4] = [
        [48, 55, 64, 72],
        [53, 57, 65, 69],
        [55, 59, 62, 71],
        [48, 60, 64, 67],
    ];
    let mut score = Score::new(tpq as u16);
    let mut track = Track {
        program,
        ..Track::default()
    };
    let quarters = seconds * 2;
    let mut q = 0;
    while q < quarters {
        let held = if q % 8 == 6 { 2 } else { 1 };
        let chord = chords[(q as usize / 2) % chords.len()];
        for (voice, &pitch) in chord.iter().enumerate() {
            track.notes.push(Note::new(
                pitch + (q % 3 == 1 && voice == 3) as u8 * 2,
                q * tpq,
                held * tpq - 20,
            ));
        }
        q += held;
    }
    track.notes.sort_by_key(|n| (n.start, n.pitch));
    score.tracks.push(track);
    score
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = PathBuf::from(args.get(1).map_or("models/piano_synth", String::as_str));
    let rounds: usize = args.get(2).map_or(Ok(3), |a| a.parse())?;
    tch::set_num_threads(1);
    let (mut model, encoding, _) = load_model_as::<Ddsp>(&path, tch::Device::Cpu)
        .with_context(|| format!("loading {}", path.display()))?;
    let score = four_part_chords(60, 0);
    let config = SampleConfig::default();
    let mut times = [Vec::new(), Vec::new()];
    let mut waves: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, kernel) in [true, false].into_iter().enumerate() {
            model.cpu_kernel = kernel;
            let start = Instant::now();
            let rendered = render_audio(&model, &encoding, &score, &config)?;
            times[i].push(start.elapsed().as_secs_f64());
            waves[i] = rendered.samples;
        }
    }
    let seconds = waves[0].len() as f64 / f64::from(model.config.sample_rate);
    let best = |t: &[f64]| t.iter().copied().fold(f64::INFINITY, f64::min);
    let peak = waves[1].iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let worst = waves[0]
        .iter()
        .zip(&waves[1])
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    println!(
        "{} ({} voices, {} harmonics, {} Hz, hop {}): {seconds:.1} s of four-part chords, one thread, best of {rounds} rounds",
        path.display(),
        model.config.voices,
        model.config.harmonics,
        model.config.sample_rate,
        model.config.hop
    );
    println!("| harmonics rendered by | seconds | real-time factor |\n|---|---|---|");
    for (name, t) in [
        ("the CPU kernel (default)", &times[0]),
        ("the tensor path", &times[1]),
    ] {
        println!("| {name} | {:.3} | {:.1}× |", best(t), seconds / best(t));
    }
    println!(
        "largest difference between the two waveforms: {worst:.2e} (peak {peak:.3}); speed-up {:.1}×",
        best(&times[1]) / best(&times[0])
    );
    Ok(())
}
