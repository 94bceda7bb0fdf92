//! Sampling speed of the pitch-invariant piano-roll model (`PitchLstm`), one stream on one core:
//! every key of a frame drawn through libtorch step by step (the path on CUDA, and on the CPU before
//! the crate's kernel) against the pitch axis in the crate's CPU kernel (`cpu_kernel`, the default
//! on the CPU). Both draw the same frames from the same logits (`model::pitch_lstm::tests`); the
//! methods alternate for `ROUNDS` rounds and the table gives frames per second and the seconds a
//! 30-second piece takes (240 frames: 4 frames a quarter note at 120 quarters a minute).
//!
//!     cargo run --release --example bench_sample_rolls -- [FRAMES] [ROUNDS]
//!
//! (defaults 240 frames, 3 rounds; one libtorch thread; weights are random, which does not change
//! speed). Two sizes: `--preset balstm`'s JSB model (time axis 1×96, pitch axis 1×48, the 50 keys
//! JSB sounds) and the 88-key model of `bench_polyphonic`'s pitch defaults (2×128, 1×64).

use anyhow::{Context, Result};
use std::time::Instant;
use tch::{Device, Tensor};
use tunesmith::model::{FrameStepper, PitchLstm, PitchLstmConfig};

/// Draws `frames` frames after a one-chord primer; each key sounds when its logit is above a
/// fixed threshold (deterministic, so both paths draw the same piece).
fn sample(model: &PitchLstm, frames: usize) -> Result<usize> {
    let mut primer = vec![0f32; 88];
    for key in [39usize, 43, 46] {
        primer[key] = 1.0;
    }
    let mut state = model.start(&Tensor::from_slice(&primer).view([1, 88]))?;
    let mut on = 0;
    for _ in 0..frames {
        let frame = model.next_frame(&state, &mut |_, logit| logit > -1.0)?;
        on += frame.iter().filter(|&&c| c > 0.5).count();
        state = model.advance(state, &frame)?;
    }
    Ok(on)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: usize = args
        .first()
        .map_or(Ok(240), |a| a.parse())
        .context("FRAMES")?;
    let rounds: usize = args.get(1).map_or(Ok(3), |a| a.parse()).context("ROUNDS")?;
    tch::set_num_threads(1);
    tch::manual_seed(0);
    let sizes = [
        (
            "balstm JSB (time 1×96, pitch 1×48, 50 keys)",
            PitchLstmConfig {
                key_range: Some([15, 64]),
                ..PitchLstmConfig::piano(96, 1, 48, 1, 0.0)
            },
        ),
        (
            "88 keys (time 2×128, pitch 1×64)",
            PitchLstmConfig::piano(128, 2, 64, 1, 0.0),
        ),
    ];
    println!("| model | path | frames/s | s for a 30-second piece (240 frames) |");
    println!("|---|---|---:|---:|");
    for (name, config) in sizes {
        let mut model = PitchLstm::new(config, Device::Cpu)?;
        let mut best = [f64::INFINITY; 2];
        let mut drawn = [0usize; 2];
        for _ in 0..rounds {
            for (i, kernel) in [false, true].into_iter().enumerate() {
                model.cpu_kernel = kernel;
                let start = Instant::now();
                drawn[i] = sample(&model, frames)?;
                best[i] = best[i].min(start.elapsed().as_secs_f64());
            }
        }
        anyhow::ensure!(drawn[0] == drawn[1], "the two paths drew different pieces");
        for (i, path) in ["libtorch, key by key", "crate's CPU kernel"]
            .iter()
            .enumerate()
        {
            let per_second = frames as f64 / best[i];
            println!(
                "| {name} | {path} | {per_second:.0} | {:.2} |",
                240.0 / per_second
            );
        }
        println!("| {name} | speed-up | {:.1}× | |", best[0] / best[1]);
    }
    Ok(())
}
