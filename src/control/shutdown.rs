//! Ctrl-C / SIGTERM: ask the control loop to stop cleanly (controllers get their exit SysEx and
//! dark LEDs) instead of dying mid-stream. Not real-time.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Async-signal-safe: a single atomic store.
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs handlers for SIGINT and SIGTERM that set the stop flag.
pub fn install() {
    #[cfg(unix)]
    // SAFETY: `on_signal` only performs an atomic store, which is async-signal-safe.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
