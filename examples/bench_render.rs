//! Real-time factor of the synths: renders a 60-second synthetic score (melody, chords, bass,
//! drums at 120 BPM, 720 notes) and prints audio seconds / wall seconds for each.
//!
//! Run with `cargo run --release --example bench_render`.

use std::time::Instant;

use tunesmith::render::{
    find_soundfont, render_score_builtin, render_score_soundfont, RenderOptions,
};
use tunesmith::score::{Note, Score, TempoChange, Track};

/// 60 s at 120 BPM = 120 beats: eighth-note melody, four-note chords per bar, quarter-note
/// bass and an eighth-note drum pattern.
fn synthetic_score() -> Score {
    let tpq = 480u32;
    let mut score = Score::new(tpq as u16);
    score.tempos.push(TempoChange {
        tick: 0,
        micros_per_quarter: 500_000,
    });
    let scale = [0u8, 2, 4, 5, 7, 9, 11, 12];
    let note = |pitch, start, duration, velocity| Note {
        pitch,
        start,
        duration,
        velocity,
    };
    let mut melody = Track {
        name: "melody".into(),
        program: 0,
        ..Track::default()
    };
    let mut chords = Track {
        name: "chords".into(),
        program: 48,
        channel: 1,
        ..Track::default()
    };
    let mut bass = Track {
        name: "bass".into(),
        program: 33,
        channel: 2,
        ..Track::default()
    };
    let mut drums = Track {
        name: "drums".into(),
        channel: 9,
        is_drum: true,
        ..Track::default()
    };
    let beats = 120u32;
    for i in 0..beats * 2 {
        let t = i * tpq / 2;
        let step = (i * 5 + i / 3) as usize % scale.len();
        melody.notes.push(note(
            72 + scale[step],
            t,
            tpq / 2 - 20,
            70 + (i % 5) as u8 * 8,
        ));
        drums.notes.push(note(
            if i % 4 == 2 {
                38
            } else if i % 4 == 0 {
                36
            } else {
                42
            },
            t,
            60,
            100,
        ));
    }
    let roots = [48u8, 53, 55, 50];
    for bar in 0..beats / 4 {
        let root = roots[bar as usize % roots.len()];
        for (k, off) in [0u8, 4, 7, 12].iter().enumerate() {
            chords
                .notes
                .push(note(root + off, bar * 4 * tpq, 4 * tpq - 30, 60 + k as u8));
        }
        for b in 0..4 {
            bass.notes
                .push(note(root - 12, (bar * 4 + b) * tpq, tpq - 40, 90));
        }
    }
    score.tracks = vec![melody, chords, bass, drums];
    score
}

fn main() -> anyhow::Result<()> {
    let score = synthetic_score();
    let base = RenderOptions::default();
    println!(
        "score: {} notes, {:.1} s; sample rate {} Hz, tail {} s; best of 3 runs",
        score.note_count(),
        score.duration_seconds(),
        base.sample_rate,
        base.tail_seconds
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "synth", "audio s", "wall s", "RTF"
    );

    let report = |name: &str, run: &dyn Fn() -> anyhow::Result<f64>| -> anyhow::Result<()> {
        run()?; // warm-up (loads and caches a SoundFont)
        let mut best = f64::INFINITY;
        let mut audio_s = 0.0;
        for _ in 0..3 {
            let t0 = Instant::now();
            audio_s = run()?;
            best = best.min(t0.elapsed().as_secs_f64());
        }
        println!(
            "{name:<34} {audio_s:>9.2} {best:>9.3} {:>8.0}x",
            audio_s / best
        );
        Ok(())
    };

    report("built-in", &|| {
        Ok(render_score_builtin(&score, &base)?.duration_seconds())
    })?;
    match find_soundfont() {
        Some(sf2) => {
            let file = sf2.file_name().map(|n| n.to_string_lossy().into_owned());
            let file = file.unwrap_or_default();
            for reverb in [true, false] {
                let opts = RenderOptions {
                    reverb,
                    ..base.clone()
                };
                let name = format!(
                    "SoundFont {file} ({})",
                    if reverb { "reverb" } else { "dry" }
                );
                report(&name, &|| {
                    Ok(render_score_soundfont(&score, &sf2, &opts)?.duration_seconds())
                })?;
            }
        }
        None => println!("SoundFont: skipped, none found (see find_soundfont)"),
    }
    Ok(())
}
