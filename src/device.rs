//! Choosing where tensors live: CUDA when present, else the CPU.

use tch::Device;

/// The first CUDA device when libtorch sees one, otherwise the CPU.
pub fn best_device() -> Device {
    Device::cuda_if_available()
}

/// A one-line description of a device and the threads libtorch uses on the CPU.
pub fn describe_device(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("CUDA device {i} ({} visible)", tch::Cuda::device_count()),
        other => format!("{other:?} with {} threads", tch::get_num_threads()),
    }
}

/// The environment variable that turns [`keep_freed_memory`] off (`0`).
pub const KEEP_FREED_MEMORY_VAR: &str = "TUNESMITH_KEEP_FREED_MEMORY";

/// glibc's own malloc settings in the environment: when any is set, the person has chosen, and
/// [`keep_freed_memory`] leaves the allocator alone.
const MALLOC_VARS: [&str; 4] = [
    "GLIBC_TUNABLES",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
];

/// Asks the C allocator (glibc's malloc, which libtorch's CPU tensors come from) to keep the
/// memory a training step frees for the next step's tensors, instead of handing it back to the
/// system and faulting it in again page by page. Returns whether the settings are in force.
///
/// By default glibc serves every allocation over 32 MiB with its own `mmap` and unmaps it when
/// it is freed, and trims the top of its heap past 128 KiB free. A `PitchLstm` batch of JSB
/// (464 sequences of 64 frames, 384 gates each) allocates such tensors at every step: on a
/// 2-core AMD EPYC, a third of an epoch's CPU time went to the kernel mapping and zeroing pages
/// (`bench_roll_epoch`, docs/benchmarks.md). With no `mmap` allocations (`M_MMAP_MAX` 0) and up
/// to 1 GiB kept free at the top of the heap (`M_TRIM_THRESHOLD`), freed tensors are reused. The
/// arithmetic and the numbers are unchanged; the process keeps its peak memory instead of
/// returning it.
///
/// The trainer (`train::Trainer`) calls this once when it is made. It is process-wide and
/// done at most once. Nothing is changed where the allocator is not glibc's, when
/// `TUNESMITH_KEEP_FREED_MEMORY=0`, or when glibc's own settings are in the environment
/// (`GLIBC_TUNABLES`, `MALLOC_MMAP_MAX_`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`).
pub fn keep_freed_memory() -> bool {
    static KEPT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KEPT.get_or_init(|| {
        let off = std::env::var(KEEP_FREED_MEMORY_VAR).is_ok_and(|v| v.trim() == "0");
        !off && !malloc_chosen_in_environment() && glibc_keeps_freed_memory()
    })
}

/// Whether any of glibc's own malloc settings ([`MALLOC_VARS`]) is in the environment.
fn malloc_chosen_in_environment() -> bool {
    MALLOC_VARS
        .iter()
        .any(|var| std::env::var_os(var).is_some())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc_keeps_freed_memory() -> bool {
    /// The most free memory kept at the top of the heap before it is given back.
    const KEEP_AT_TOP: libc::c_int = 1 << 30;
    // SAFETY: `mallopt` only changes the allocator's parameters; both are documented settings
    // with values in range, and it is safe to call at any time from any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP_AT_TOP) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn glibc_keeps_freed_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minor page faults of the calling thread so far.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn thread_page_faults() -> i64 {
        // SAFETY: `getrusage` fills the zeroed struct it is given.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, &mut usage), 0);
            usage.ru_minflt
        }
    }

    /// Allocates, fills and frees `bytes` in this thread.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn fill_and_free(bytes: usize) {
        let buffer = vec![1u8; bytes];
        std::hint::black_box(&buffer);
    }

    /// On glibc, the settings take, and a large buffer freed and allocated again reuses the
    /// same pages: the second fill faults in next to nothing, where glibc's defaults would map
    /// it afresh and fault in every page (12,288 pages of 4 KiB for 48 MiB; this test thread
    /// has a malloc arena of its own, as a training thread may).
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_memory_is_reused_without_page_faults() {
        if std::env::var_os(KEEP_FREED_MEMORY_VAR).is_some() || malloc_chosen_in_environment() {
            eprintln!("the allocator's settings are chosen in the environment: nothing to check");
            return;
        }
        assert!(keep_freed_memory(), "glibc takes the settings");
        assert!(
            keep_freed_memory(),
            "and says so again without redoing them"
        );
        let bytes = 48 << 20;
        fill_and_free(bytes);
        let before = thread_page_faults();
        fill_and_free(bytes);
        let faults = thread_page_faults() - before;
        let pages = (bytes / 4096) as i64;
        assert!(
            faults < pages / 20,
            "{faults} page faults to fill {pages} pages a second time"
        );
    }
}
