//! A second core for one lane's step. One lane's step is a matrix-vector product per layer whose
//! speed is the rate at which one core can read the weights (3 MB for a 2×256 LSTM, beyond a
//! core's own cache); two cores read at twice that rate. A [`Pair`] is a helper thread that
//! takes the second half of each product's rows while the caller computes the first half; the
//! two wait for each other by spinning (a product takes about ten microseconds, less than a
//! sleeping thread takes to wake), and the helper yields its core when no work comes for a while. Every
//! output is one dot product computed as on one thread, so the results are the same to the bit.
//!
//! Written here rather than with rayon's `join`: measured on the 2-core machine, `join`'s
//! hand-over made one lane slower (14,700 characters/s against 19,900 on one core).

use super::kernels::matmul_add;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Spins before a waiting side starts yielding its core (about 100 µs).
const SPINS_BEFORE_YIELDING: u32 = 1 << 14;

/// Yields before a waiting side starts sleeping between looks (no work for a millisecond or so).
const YIELDS_BEFORE_SLEEPING: u32 = 1 << 10;

/// Products with fewer rows than this stay on one core.
const MIN_ROWS_TO_SPLIT: usize = 512;

/// The half of a product the helper computes, `out[n] += x[k] · w[n, k]ᵀ`: the starts of slices
/// of those lengths, which the caller keeps borrowed until the helper says it is done.
#[derive(Clone, Copy)]
struct Job {
    x: *const f32,
    w: *const f32,
    out: *mut f32,
    k: usize,
    n: usize,
}

/// The helper's side of a pair: the posted job and the counters the two sides wait on.
pub struct Pair {
    job: UnsafeCell<Job>,
    /// Jobs posted by the caller so far.
    posted: AtomicU64,
    /// Jobs the helper has finished so far.
    finished: AtomicU64,
    quit: AtomicBool,
}

// SAFETY: `job` is written only by the caller, before it raises `posted` (release), and read only
// by the helper after it sees the raise (acquire); the caller does not write it again until the
// helper has raised `finished`. The slices behind the job stay borrowed by the caller meanwhile.
unsafe impl Sync for Pair {}

impl Pair {
    fn new() -> Self {
        Pair {
            job: UnsafeCell::new(Job {
                x: std::ptr::null(),
                w: std::ptr::null(),
                out: std::ptr::null_mut(),
                k: 0,
                n: 0,
            }),
            posted: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            quit: AtomicBool::new(false),
        }
    }

    /// Runs `f` with a pair whose helper runs on a thread of its own for as long as `f` does,
    /// when this machine has a second core for it (and `RAYON_NUM_THREADS`, if set, allows two
    /// threads); otherwise runs `f` with `None`.
    pub fn with_helper<T>(f: impl FnOnce(Option<&Pair>) -> T) -> T {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores < 2 || rayon::current_num_threads() < 2 {
            return f(None);
        }
        let pair = Pair::new();
        std::thread::scope(|scope| {
            let helper = std::thread::Builder::new()
                .name("tunesmith-pair".into())
                .spawn_scoped(scope, || pair.serve());
            // The helper is told to quit however `f` ends, a panic included, so the scope's
            // wait for it ends.
            let _quit = QuitOnDrop(&pair);
            f(helper.is_ok().then_some(&pair))
        })
    }

    /// The helper's loop: waits for a job, computes it, says so; ends when told to quit.
    fn serve(&self) {
        let mut done = 0u64;
        loop {
            let mut spins = 0u32;
            while self.posted.load(Ordering::Acquire) == done {
                if self.quit.load(Ordering::Acquire) {
                    return;
                }
                wait(&mut spins);
            }
            // SAFETY: the caller wrote the job before raising `posted`, and keeps its slices
            // borrowed, untouched in the helper's half, until `finished` is raised below.
            let job = unsafe { *self.job.get() };
            let (x, w, out) = unsafe {
                (
                    std::slice::from_raw_parts(job.x, job.k),
                    std::slice::from_raw_parts(job.w, job.n * job.k),
                    std::slice::from_raw_parts_mut(job.out, job.n),
                )
            };
            matmul_add(x, w, 1, job.k, job.n, out);
            done += 1;
            self.finished.store(done, Ordering::Release);
        }
    }

    /// `out[n] += x[k] · w[n, k]ᵀ` for one lane, the rows split between the caller and the
    /// helper at a multiple of 24 rows (so each output is summed as on one thread).
    pub(super) fn matvec_add(&self, x: &[f32], w: &[f32], k: usize, n: usize, out: &mut [f32]) {
        if n < MIN_ROWS_TO_SPLIT {
            return matmul_add(x, w, 1, k, n, out);
        }
        // Cut to the lengths first: a slice too short panics here, before any job is posted.
        let (x, w, out) = (&x[..k], &w[..n * k], &mut out[..n]);
        let m = n / 2 / 24 * 24;
        let (w_first, w_rest) = w.split_at(m * k);
        let (out_first, out_rest) = out.split_at_mut(m);
        // SAFETY: the helper is idle (every posted job is finished, checked below before this
        // function returns), so nobody reads the job while it is written.
        unsafe {
            *self.job.get() = Job {
                x: x.as_ptr(),
                w: w_rest.as_ptr(),
                out: out_rest.as_mut_ptr(),
                k,
                n: n - m,
            };
        }
        let ticket = self.posted.fetch_add(1, Ordering::AcqRel) + 1;
        matmul_add(x, w_first, 1, k, m, out_first);
        let mut spins = 0u32;
        while self.finished.load(Ordering::Acquire) != ticket {
            wait(&mut spins);
        }
    }
}

/// Tells the helper to quit when dropped.
struct QuitOnDrop<'a>(&'a Pair);

impl Drop for QuitOnDrop<'_> {
    fn drop(&mut self) {
        self.0.quit.store(true, Ordering::Release);
    }
}

/// One round of waiting: a spin; once the spins are used up, yielding the core; after that,
/// sleeping 50 µs between looks.
fn wait(rounds: &mut u32) {
    if *rounds < SPINS_BEFORE_YIELDING {
        std::hint::spin_loop();
    } else if *rounds < SPINS_BEFORE_YIELDING + YIELDS_BEFORE_SLEEPING {
        std::thread::yield_now();
    } else {
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
    *rounds = rounds.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fused::FusedLm;
    use crate::model::{LstmConfig, LstmLm};
    use anyhow::Result;
    use tch::Device;

    /// A model wide enough (4 × 160 = 640 gate rows) for its products to be split.
    fn model() -> Result<LstmLm> {
        crate::model::seeded(12, || {
            LstmLm::new(
                LstmConfig {
                    embed_dim: 8,
                    ..LstmConfig::two_layer(20, 160)
                },
                Device::Cpu,
            )
        })
    }

    #[test]
    fn one_lane_on_two_cores_gives_the_same_logits_to_the_bit() -> Result<()> {
        let fused = FusedLm::new(&model()?)?;
        let ids: Vec<i64> = (0..120).map(|i| (i * 7 + i / 5) % 20).collect();
        let alone: Vec<Vec<f32>> = {
            let mut state = fused.zero_state(1);
            let mut logits = Vec::new();
            ids.iter()
                .map(|&id| {
                    fused.step(&mut state, &[id], &mut logits)?;
                    Ok(logits.clone())
                })
                .collect::<Result<_>>()?
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let paired: Vec<Vec<f32>> = Pair::with_helper(|pair| -> Result<Vec<Vec<f32>>> {
            assert_eq!(
                pair.is_some(),
                cores >= 2 && rayon::current_num_threads() >= 2
            );
            let mut state = fused.zero_state(1);
            let mut logits = Vec::new();
            ids.iter()
                .map(|&id| {
                    fused.step_with(&mut state, &[id], &mut logits, pair)?;
                    Ok(logits.clone())
                })
                .collect()
        })?;
        assert_eq!(paired.len(), alone.len());
        for (step, (a, b)) in alone.iter().zip(&paired).enumerate() {
            let same =
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "step {step}");
        }
        Ok(())
    }

    #[test]
    fn the_helper_computes_its_half_of_a_product() {
        let (k, n) = (40, 600);
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.011).cos()).collect();
        let mut expected = vec![0.5f32; n];
        matmul_add(&x, &w, 1, k, n, &mut expected);
        let pair = Pair::new();
        let got = std::thread::scope(|scope| {
            scope.spawn(|| pair.serve());
            let _quit = QuitOnDrop(&pair);
            let mut out = vec![0.5f32; n];
            for _ in 0..3 {
                out.fill(0.5);
                pair.matvec_add(&x, &w, k, n, &mut out);
            }
            out
        });
        assert_eq!(
            pair.finished.load(Ordering::Acquire),
            3,
            "three jobs handed over"
        );
        assert!(expected
            .iter()
            .zip(&got)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn a_panic_inside_ends_the_helper_too() {
        let caught = std::panic::catch_unwind(|| {
            Pair::with_helper(|_| -> () { panic!("inside") });
        });
        assert!(caught.is_err());
    }
}
