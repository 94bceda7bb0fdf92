//! libtorch's random generator is one per process, and tch gives no generator of one's own:
//! weight initialisation, dropout and `Tensor::randn` all draw from it. Two threads that draw at
//! once (two runs in one process, or tests in parallel) would each change what the other draws,
//! so a seeded result would depend on timing. Every draw in the crate holds the generator first
//! ([`hold`]: the model constructors; [`seeded`]: each training step, seeded from its step).
//!
//! The hold is re-entrant (a constructor called inside [`seeded`] must not wait on its own
//! thread). std's `ReentrantLock` is not stable yet, and `parking_lot`'s `ReentrantMutex` would
//! bring in several crates for what a mutex and a thread-local flag do here.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};

static GENERATOR: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread holds [`GENERATOR`] already, so that a constructor called inside
    /// [`seeded`] does not wait on its own lock.
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Keeps other threads from drawing from libtorch's generator until it is dropped; see [`hold`].
pub struct GeneratorHeld {
    /// The lock, when this is the outermost hold on its thread.
    guard: Option<MutexGuard<'static, ()>>,
}

impl Drop for GeneratorHeld {
    fn drop(&mut self) {
        if self.guard.is_some() {
            HELD.with(|held| held.set(false));
        }
    }
}

/// Holds libtorch's generator for this thread until the returned value is dropped (the rest of
/// a constructor, say). Re-entrant: a hold inside another on the same thread takes nothing.
pub fn hold() -> GeneratorHeld {
    if HELD.with(Cell::get) {
        return GeneratorHeld { guard: None };
    }
    let guard = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    HELD.with(|held| held.set(true));
    GeneratorHeld { guard: Some(guard) }
}

/// Runs `f` while no other thread can draw from libtorch's generator ([`hold`]).
pub fn exclusive<T>(f: impl FnOnce() -> T) -> T {
    let _held = hold();
    f()
}

/// Seeds libtorch's generator and holds it until the returned value is dropped, so that every
/// draw in between (a model, then random inputs, say) depends on `seed` alone.
pub fn hold_seeded(seed: u64) -> GeneratorHeld {
    let held = hold();
    tch::manual_seed(seed as i64);
    held
}

/// Seeds libtorch's generator and runs `f` (building a model, say) while holding it
/// ([`hold_seeded`]), so the result depends on `seed` alone. Every training step runs inside it,
/// seeded from its step.
pub fn seeded<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    let _held = hold_seeded(seed);
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn draw() -> Vec<f32> {
        let t = Tensor::randn([64], (Kind::Float, Device::Cpu));
        Vec::<f32>::try_from(&t).unwrap_or_default()
    }

    #[test]
    fn nested_calls_do_not_wait_on_themselves() {
        let inner = seeded(5, || exclusive(|| seeded(6, draw)));
        assert_eq!(inner, seeded(6, draw));
        assert_ne!(inner, seeded(5, draw));
    }

    /// Four threads each draw under their own seed while the others draw too: every thread sees
    /// exactly what a lone draw with its seed gives.
    #[test]
    fn seeded_draws_do_not_see_each_other_across_threads() {
        let alone: Vec<Vec<f32>> = (0..4).map(|seed| seeded(seed, draw)).collect();
        let together: Vec<Vec<Vec<f32>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4u64)
                .map(|seed| scope.spawn(move || (0..50).map(|_| seeded(seed, draw)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (seed, runs) in together.iter().enumerate() {
            assert_eq!(runs.len(), 50);
            assert!(runs.iter().all(|run| run == &alone[seed]), "seed {seed}");
        }
    }

    /// Building models draws from the generator too, and holds it while it does: a seeded draw
    /// on one thread sees the same numbers while another thread builds models all along.
    #[test]
    fn building_a_model_does_not_change_a_seeded_draw_on_another_thread() {
        let alone = seeded(9, draw);
        let (seeded_runs, built) = std::thread::scope(|scope| {
            let builder = scope.spawn(|| {
                (0..100)
                    .filter(|_| {
                        crate::model::LstmLm::new(crate::model::LstmConfig::debug(30), Device::Cpu)
                            .is_ok()
                    })
                    .count()
            });
            let runs: Vec<Vec<f32>> = (0..500).map(|_| seeded(9, draw)).collect();
            (runs, builder.join().unwrap_or(0))
        });
        assert_eq!(built, 100);
        assert!(seeded_runs.iter().all(|run| run == &alone));
    }
}
