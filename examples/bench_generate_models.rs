//! Single-stream generation speed of the models that step through libtorch by default elsewhere:
//! each model's libtorch path (every step libtorch calls: the path on CUDA, and on
//! the CPU before the crate's kernel) against the crate's CPU kernel (`cpu_kernel`, the default on
//! the CPU). Both give the same logits (the models' tests compare them to 1e-4). The methods
//! alternate for `ROUNDS` rounds (best of each).
//!
//! - `WindowLstm`, the seed's notes-and-chords model (windows of 100 ids, embedding 64, LSTM 2×256,
//!   attention; 300 ids): tokens per second, the start from a primer of a window included, and
//!   after the start. The kernel is told how many ids follow (`start_for`) and splits its windows
//!   in flight among rayon's threads: `RAYON_NUM_THREADS=1` keeps both paths on one core.
//! - `PitchLstm` and `FrameLstm` step their kernels on one thread.
//! - `PitchLstm`: `--preset balstm`'s JSB model (time axis 1×96, pitch axis 1×48, the 50 keys JSB
//!   sounds) and the 88-key model of `bench_polyphonic`'s pitch defaults (2×128, 1×64): frames per
//!   second, and the seconds a 30-second piece takes (240 frames: 4 frames a quarter note at 120
//!   quarters a minute). Each key sounds when its logit is above −1, so both paths draw the same
//!   piece.
//! - `FrameLstm`: `--preset best`'s JSB model (LSTM 1×512 over 88 keys, skip path, pitch
//!   autoregression), frames per second, drawn the same way.
//!
//! (The character model's fused kernel, one stream and batched, is `bench_generate`.)
//!
//!     cargo run --release --example bench_generate_models -- [STEPS] [ROUNDS]
//!
//! (defaults 240 steps, 3 rounds; libtorch gets as many threads as rayon's pool, so both paths use
//! the same cores; weights are random, which does not change speed).

use anyhow::{Context, Result};
use std::time::Instant;
use tch::{Device, Tensor};
use tunesmith::model::{
    FrameLstm, FrameLstmConfig, FrameStepper, PitchLstm, PitchLstmConfig, TokenStepper,
    WindowConfig, WindowLstm,
};

/// Draws `frames` frames after a one-chord primer; each key sounds when its logit is above a
/// fixed threshold (deterministic, so both paths draw the same piece).
fn sample(model: &dyn FrameStepper, frames: usize) -> Result<usize> {
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

/// Steps a window model through `steps` ids after a primer of a window, greedily; returns the
/// sum of the ids drawn and the seconds the start (the primer read) took.
fn sample_tokens(model: &WindowLstm, steps: usize) -> Result<(i64, f64)> {
    let primer: Vec<i64> = (0..100).map(|i| (i * 37) % 300).collect();
    let started = Instant::now();
    let (mut logits, mut state) = model.start_for(&primer, steps)?;
    let start_secs = started.elapsed().as_secs_f64();
    let mut sum = 0;
    for _ in 0..steps {
        let id = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i as i64);
        sum += id;
        (logits, state) = model.advance(state, id)?;
    }
    Ok((sum, start_secs))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: usize = args
        .first()
        .map_or(Ok(240), |a| a.parse())
        .context("FRAMES")?;
    let rounds: usize = args.get(1).map_or(Ok(3), |a| a.parse()).context("ROUNDS")?;
    // Both paths get the same cores: libtorch as many threads as rayon's pool.
    let threads = rayon::current_num_threads();
    tch::set_num_threads(i32::try_from(threads).context("threads")?);
    tch::manual_seed(0);
    let mut window = WindowLstm::new(WindowConfig::seed(300, 256), Device::Cpu)?;
    // The kernel splits its windows in flight among rayon's threads (`RAYON_NUM_THREADS`).
    let kernel_path = format!("crate's CPU kernel, {threads} thread(s)");
    let libtorch_path = format!("libtorch, {threads} thread(s)");
    let mut best = [f64::INFINITY; 2];
    let mut best_steps = [f64::INFINITY; 2];
    let mut best_start = [f64::INFINITY; 2];
    let mut drawn = [0i64; 2];
    for _ in 0..rounds {
        for (i, kernel) in [false, true].into_iter().enumerate() {
            window.cpu_kernel = kernel;
            let start = Instant::now();
            let (sum, start_secs) = sample_tokens(&window, frames)?;
            let total = start.elapsed().as_secs_f64();
            drawn[i] = sum;
            best[i] = best[i].min(total);
            best_steps[i] = best_steps[i].min(total - start_secs);
            best_start[i] = best_start[i].min(start_secs);
        }
    }
    anyhow::ensure!(drawn[0] == drawn[1], "the two paths chose different ids");
    println!(
        "| model | path | tokens/s, the start included | tokens/s after the start | start (ms) |"
    );
    println!("|---|---|---:|---:|---:|");
    for (i, path) in [&libtorch_path, &kernel_path].iter().enumerate() {
        println!(
            "| WindowLstm (seed: window 100, 2×256, attention) | {path} | {:.0} | {:.0} | {:.1} |",
            frames as f64 / best[i],
            frames as f64 / best_steps[i],
            best_start[i] * 1e3
        );
    }
    println!(
        "| WindowLstm | speed-up | {:.1}× | {:.1}× | |\n",
        best[0] / best[1],
        best_steps[0] / best_steps[1]
    );
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
        time_frame_model(name, frames, rounds, |kernel| {
            model.cpu_kernel = kernel;
            sample(&model, frames)
        })?;
    }
    let mut config = FrameLstmConfig::piano(512, 1, 0.5);
    config.input_dropout = 0.2;
    config.skip_connection = true;
    config.pitch_autoregression = true;
    let mut model = FrameLstm::new(config, Device::Cpu)?;
    time_frame_model(
        "FrameLstm, best JSB (1×512, skip, pitch autoregression)",
        frames,
        rounds,
        |kernel| {
            model.cpu_kernel = kernel;
            sample(&model, frames)
        },
    )?;
    Ok(())
}

/// Times `draw(false)` (libtorch) against `draw(true)` (the crate's kernel), alternating for
/// `rounds` rounds, checks both drew the same piece and prints the rows.
fn time_frame_model(
    name: &str,
    frames: usize,
    rounds: usize,
    mut draw: impl FnMut(bool) -> Result<usize>,
) -> Result<()> {
    let mut best = [f64::INFINITY; 2];
    let mut drawn = [0usize; 2];
    for _ in 0..rounds {
        for (i, kernel) in [false, true].into_iter().enumerate() {
            let start = Instant::now();
            drawn[i] = draw(kernel)?;
            best[i] = best[i].min(start.elapsed().as_secs_f64());
        }
    }
    anyhow::ensure!(drawn[0] == drawn[1], "the two paths drew different pieces");
    let libtorch_path = format!("libtorch, {} thread(s)", tch::get_num_threads());
    for (i, path) in [libtorch_path.as_str(), "crate's CPU kernel, 1 thread"]
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
    Ok(())
}
