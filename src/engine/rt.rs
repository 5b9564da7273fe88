//! Proof that the audio callback does not allocate: a global allocator that counts every
//! allocation and free made on a thread while it is inside a real-time section.
//!
//! Debug builds of the `padlooper` binary install [`GuardedAlloc`] and run the whole cpal
//! callback inside an [`RtSection`] (as nih-plug's `process_wrapper` does with
//! `assert_no_alloc`); the control thread reports any violation as an error. Tests install the
//! same allocator. Release builds pay nothing: the section is compiled out and the allocator is
//! not installed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static IN_RT: Cell<bool> = const { Cell::new(false) };
}

/// Allocations or frees seen inside real-time sections, process-wide.
static VIOLATIONS: AtomicU64 = AtomicU64::new(0);

#[inline]
fn note() {
    if IN_RT.try_with(|f| f.get()).unwrap_or(false) {
        VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// The system allocator, counting calls made inside an [`RtSection`].
pub struct GuardedAlloc;

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping only
// touches a const-initialised thread-local flag and an atomic (no allocation, no recursion).
unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(p, l, n) }
    }
}

/// Marks the current thread as real-time until dropped (sections nest). Real-time safe.
pub struct RtSection {
    prev: bool,
}

impl RtSection {
    /// Enters a real-time section. Real-time safe.
    #[inline]
    pub fn enter() -> Self {
        let prev = IN_RT.try_with(|f| f.replace(true)).unwrap_or(false);
        Self { prev }
    }
}

impl Drop for RtSection {
    #[inline]
    fn drop(&mut self) {
        let _ = IN_RT.try_with(|f| f.set(self.prev));
    }
}

/// Allocations and frees counted inside real-time sections so far (only counted where
/// [`GuardedAlloc`] is the global allocator). Real-time safe.
pub fn violations() -> u64 {
    VIOLATIONS.load(Ordering::Relaxed)
}
