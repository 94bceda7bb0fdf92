//! The clock of a training budget: wall-clock seconds, or CPU seconds of this process (which
//! other processes' load on the machine does not change).

use std::time::Instant;

/// CPU seconds this process has used so far, all its threads together
/// (`CLOCK_PROCESS_CPUTIME_ID`); `None` where the system cannot tell.
pub fn process_cpu_seconds() -> Option<f64> {
    cpu_seconds(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU seconds on one of the system's CPU-time clocks.
fn cpu_seconds(clock: libc::clockid_t) -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Seconds since it started, on the wall clock or on the process's CPU clock.
#[derive(Debug, Clone, Copy)]
pub struct BudgetClock {
    wall: Instant,
    /// The process's CPU seconds at the start (`None`: wall clock).
    cpu: Option<f64>,
}

impl BudgetClock {
    /// Starts now; counts CPU seconds of the process when `cpu` is set (falling back to the wall
    /// clock where the CPU clock cannot be read).
    pub fn start(cpu: bool) -> Self {
        BudgetClock {
            wall: Instant::now(),
            cpu: if cpu { process_cpu_seconds() } else { None },
        }
    }

    /// Seconds counted since [`BudgetClock::start`].
    pub fn seconds(&self) -> f64 {
        match self.cpu.zip(process_cpu_seconds()) {
            Some((start, now)) => now - start,
            None => self.wall.elapsed().as_secs_f64(),
        }
    }

    /// Whether it counts CPU seconds.
    pub fn is_cpu(&self) -> bool {
        self.cpu.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spins for `seconds` of wall time.
    fn spin(seconds: f64) {
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < seconds {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
    }

    #[test]
    fn a_cpu_clock_counts_work_not_sleep() {
        // This thread's own clock: other tests running in the same process cannot move it.
        let thread_seconds = || cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID).expect("thread clock");
        let start = thread_seconds();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let slept = thread_seconds() - start;
        assert!(slept < 0.05, "sleeping used {slept} CPU s");
        let before = thread_seconds();
        spin(0.3);
        assert!(
            thread_seconds() - before > 0.01,
            "spinning used no CPU time"
        );
    }

    #[test]
    fn the_budget_clock_counts_the_process_cpu_time_or_the_wall_clock() {
        let clock = BudgetClock::start(true);
        assert!(clock.is_cpu());
        let thread_before = cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID).expect("thread clock");
        spin(0.2);
        let thread_spent =
            cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID).expect("thread clock") - thread_before;
        // The process spent at least what this thread spent (other threads only add to it).
        assert!(clock.seconds() >= thread_spent - 1e-3);
        assert!(thread_spent > 0.01, "spinning used no CPU time");
        let wall = BudgetClock::start(false);
        assert!(!wall.is_cpu());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(wall.seconds() >= 0.05);
    }
}
