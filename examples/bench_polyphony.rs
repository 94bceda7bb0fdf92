//! The polyphonic audio measures on held-out piano pieces, with their reference rows: JSB test
//! chorales (quarter-note frames at 120 quarters a minute) played on General MIDI program 0 and
//! rendered at 22,050 Hz by the SoundFont (the reference: what a neural piano synthesizer trains
//! on), by the built-in synthesizer, and as silence. For each rendering: the chroma similarity to
//! the SoundFont's, frame by frame (`metrics::audio::polyphony::chroma_similarity`), and the share
//! of written notes heard while they sound (`note_presence`: two of the first four partials 10 dB
//! out of the spectrum around it), pooled over the pieces. A neural piano synthesizer is judged
//! against these rows: chroma similarity at least 0.90, note presence at least 95% of the
//! SoundFont's own.
//!
//!     cargo run --release --example bench_polyphony -- ../shared/data/bl2012/JSB_Chorales.json [PIECES]
//!
//! (default 8 pieces, the first of the test split; at least 60 s of audio in all).

use anyhow::{Context, Result};
use tunesmith::audio::{
    find_soundfont, render_score_builtin, render_score_soundfont, RenderOptions,
};
use tunesmith::bench::PolyDataset;
use tunesmith::encode::{PianoRoll, PianoRollConfig};
use tunesmith::metrics::audio::polyphony::{chroma_similarity, note_presence};
use tunesmith::score::Score;

const SAMPLE_RATE: u32 = 22_050;

/// A piece of the data set (frames of MIDI pitches, a quarter note each) as a piano score.
fn piece_score(piece: &[Vec<u8>]) -> Score {
    let config = PianoRollConfig {
        steps_per_quarter: 1,
        transpose_to_c: false,
        ..PianoRollConfig::default()
    };
    PianoRoll::from_frames(piece.to_vec(), config).to_score()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .context("usage: bench_polyphony JSB_Chorales.json [PIECES]")?;
    let pieces: usize = args.get(1).map_or(Ok(8), |a| a.parse()).context("PIECES")?;
    let data = PolyDataset::load(path)?;
    let soundfont = find_soundfont().context("no SoundFont found (make setup)")?;
    let options = RenderOptions {
        sample_rate: SAMPLE_RATE,
        soundfont: Some(soundfont.clone()),
        normalize_peak: 0.0,
        tail_seconds: 0.5,
        reverb: false,
    };
    let names = ["SoundFont (reference)", "built-in synthesizer", "silence"];
    let mut chroma = [(0.0, 0usize); 3];
    let mut presence = [(0.0, 0usize); 3];
    let mut seconds = 0.0;
    for piece in data.test.iter().take(pieces) {
        let score = piece_score(piece);
        let reference = render_score_soundfont(&score, &soundfont, &options)?.to_mono();
        let builtin = render_score_builtin(&score, &options)?.to_mono();
        let silence = vec![0f32; reference.len()];
        seconds += reference.len() as f64 / f64::from(SAMPLE_RATE);
        for (i, audio) in [&reference, &builtin, &silence].into_iter().enumerate() {
            if let Some(similarity) = chroma_similarity(audio, &reference, SAMPLE_RATE) {
                chroma[i].0 += similarity;
                chroma[i].1 += 1;
            }
            let (share, pairs) = note_presence(audio, &score, SAMPLE_RATE);
            if let Some(share) = share {
                presence[i].0 += share * pairs as f64;
                presence[i].1 += pairs;
            }
        }
    }
    println!(
        "{} test chorales of {}, {seconds:.0} s of audio at {SAMPLE_RATE} Hz\n",
        pieces.min(data.test.len()),
        data.name
    );
    println!("| rendering | chroma similarity to the SoundFont (mean of pieces) | notes heard (of {} frame-notes) |", presence[0].1);
    println!("|---|---:|---:|");
    for i in 0..3 {
        println!(
            "| {} | {:.3} | {:.1}% |",
            names[i],
            chroma[i].0 / chroma[i].1.max(1) as f64,
            100.0 * presence[i].0 / presence[i].1.max(1) as f64
        );
    }
    Ok(())
}
