//! SIGINT and SIGTERM during training: the first one asks the loop to finish its step, save and
//! return; a second one (or one that arrives while no training listens) ends the process as the
//! default action would.
//!
//! The handlers are installed once per process, the first time training listens
//! ([`listen`]). A signal that the process was ignoring when training started (as `nohup` and
//! shells do for background jobs) is left ignored.

use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

static LISTENERS: AtomicUsize = AtomicUsize::new(0);
static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// The signals that ask training to stop.
pub const SIGNALS: [i32; 2] = [libc::SIGINT, libc::SIGTERM];

/// While alive, SIGINT and SIGTERM set the [`requested`] flag instead of ending the process.
#[derive(Debug)]
pub struct Listening(());

impl Drop for Listening {
    fn drop(&mut self) {
        LISTENERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts listening for SIGINT and SIGTERM (installing the handlers on first use) and clears any
/// earlier request.
pub fn listen() -> Result<Listening> {
    INSTALLED
        .get_or_init(install)
        .clone()
        .map_err(anyhow::Error::msg)
        .context("cannot install the SIGINT/SIGTERM handlers")?;
    if LISTENERS.fetch_add(1, Ordering::SeqCst) == 0 {
        REQUESTED.store(false, Ordering::SeqCst);
    }
    Ok(Listening(()))
}

/// True once SIGINT or SIGTERM arrived while training listened.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Clears the request (after the loop has acted on it).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// True while some training loop listens.
pub fn listening() -> bool {
    LISTENERS.load(Ordering::SeqCst) > 0
}

/// Sends SIGINT to this process, as Ctrl-C in a terminal would (for demonstrations and tests).
pub fn send_sigint_to_self() -> Result<()> {
    signal_hook::low_level::raise(libc::SIGINT).context("cannot send SIGINT")
}

fn is_ignored(signal: i32) -> bool {
    // SAFETY: a query with a null new action only reads the current disposition.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

fn install() -> std::result::Result<(), String> {
    for signal in SIGNALS {
        if is_ignored(signal) {
            continue;
        }
        let action = move || {
            if LISTENERS.load(Ordering::SeqCst) == 0 || REQUESTED.swap(true, Ordering::SeqCst) {
                let _ = signal_hook::low_level::emulate_default_handler(signal);
            }
        };
        // SAFETY: the action only touches atomics and then, if it must end the process, resets
        // the default handler and re-raises the signal; all async-signal-safe.
        unsafe { signal_hook::low_level::register(signal, action) }
            .map_err(|e| format!("signal {signal}: {e}"))?;
    }
    Ok(())
}
