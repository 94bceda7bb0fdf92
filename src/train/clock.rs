//! The clock of a training budget: wall-clock seconds, or CPU seconds of this process (which
//! other processes' load on the machine does not change).

use std::time::Instant;

/// CPU seconds this process has used so far, all its threads together
/// (`CLOCK_PROCESS_CPUTIME_ID`); `None` where the system cannot tell.
pub fn process_cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
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

    #[test]
    fn the_cpu_clock_counts_work_not_sleep() {
        let clock = BudgetClock::start(true);
        assert!(clock.is_cpu());
        std::thread::sleep(std::time::Duration::from_millis(300));
        let slept = clock.seconds();
        assert!(slept < 0.15, "sleeping used {slept} CPU s");
        let mut x = 0u64;
        let spin = Instant::now();
        while spin.elapsed().as_secs_f64() < 0.3 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(clock.seconds() > slept + 0.05, "spinning used no CPU time");
        let wall = BudgetClock::start(false);
        assert!(!wall.is_cpu());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(wall.seconds() >= 0.05);
    }
}
