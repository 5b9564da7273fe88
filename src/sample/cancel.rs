//! Stopping long loads: decoding and preparing check this between packets, so a shutdown
//! (SIGTERM while a 20-minute file decodes) does not wait for them. Real-time safe (an atomic).

use std::sync::atomic::{AtomicBool, Ordering};

static CANCEL: AtomicBool = AtomicBool::new(false);

/// Asks every load in progress to stop (their files fail with `SampleError::Cancelled`).
pub fn cancel_loads() {
    CANCEL.store(true, Ordering::SeqCst);
}

/// Whether loads should stop.
pub fn requested() -> bool {
    CANCEL.load(Ordering::Relaxed)
}

/// Lets loads run again (tests; a process that goes on after a cancelled load).
pub fn reset() {
    CANCEL.store(false, Ordering::SeqCst);
}
