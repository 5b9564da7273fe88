//! Ctrl-C / SIGTERM: ask the control loop to stop cleanly (controllers get their exit SysEx and
//! dark LEDs) instead of dying mid-stream. Not real-time.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static RELOAD: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Async-signal-safe: atomic stores. Loads in progress stop too (a long decode must not
    // keep a service that was told to stop).
    REQUESTED.store(true, Ordering::SeqCst);
    crate::sample::cancel::cancel_loads();
}

extern "C" fn on_hangup(_: libc::c_int) {
    // Async-signal-safe: a single atomic store.
    RELOAD.store(true, Ordering::SeqCst);
}

/// Installs handlers for SIGINT and SIGTERM that set the stop flag, and for SIGHUP that asks
/// for the set to be reloaded.
pub fn install() {
    #[cfg(unix)]
    // SAFETY: the handlers only perform an atomic store, which is async-signal-safe.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        let hup = on_hangup as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGHUP, hup);
    }
}

/// Asks the control loop to stop cleanly, as SIGTERM does (the web surface's restart: a
/// service is started again by systemd).
pub fn request_stop() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Asks for the set to be reloaded, as SIGHUP does (e.g. to make a damaged prepared copy
/// again).
pub fn request_reload() {
    RELOAD.store(true, Ordering::SeqCst);
}

/// Whether a reload was asked for since the last call (SIGHUP).
pub fn reload_requested() -> bool {
    RELOAD.swap(false, Ordering::SeqCst)
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
