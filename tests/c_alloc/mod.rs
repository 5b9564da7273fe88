//! Counts C heap calls (`malloc`, `free`, `new`/`delete` through them, …) made by this thread
//! while counting is on, by interposing the C allocator in the test binary.
//!
//! A Rust global allocator does not see what C and C++ libraries allocate (Rubber Band uses
//! `malloc` and `new`). Defining `malloc` and friends here makes the dynamic linker resolve
//! every caller in the process to these (the executable comes first in symbol lookup); each
//! forwards to glibc's own entry points (`__libc_malloc`, …) and counts the call when the
//! calling thread has switched counting on. Rust allocations go through `malloc` too, so this
//! catches both. glibc only.
#![allow(dead_code)]

use std::cell::Cell;
use std::ffi::c_void;

unsafe extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn __libc_valloc(size: usize) -> *mut c_void;
    fn __libc_pvalloc(size: usize) -> *mut c_void;
}

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

#[inline]
fn note() {
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = CALLS.try_with(|c| c.set(c.get() + 1));
            if TRAP.load(std::sync::atomic::Ordering::Relaxed) {
                // For finding the caller under a debugger: `TRAP_C_ALLOC=1 gdb …`.
                std::process::abort();
            }
        }
    });
}

/// Abort on the first counted call (set from the environment by [`counting`]).
static TRAP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `f` with counting on; returns its result and the C heap calls this thread made.
pub fn counting<R>(f: impl FnOnce() -> R) -> (R, usize) {
    if std::env::var_os("TRAP_C_ALLOC").is_some() {
        TRAP.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let before = CALLS.with(|c| c.get());
    ON.with(|on| on.set(true));
    let r = f();
    ON.with(|on| on.set(false));
    (r, CALLS.with(|c| c.get()) - before)
}

/// Counts this thread's C heap calls until dropped, then adds them to `total` (for a thread
/// the test does not run itself, e.g. a worker).
pub struct ThreadCount {
    before: usize,
    total: &'static std::sync::atomic::AtomicUsize,
}

impl ThreadCount {
    /// Starts counting on the calling thread.
    pub fn start(total: &'static std::sync::atomic::AtomicUsize) -> Self {
        let before = CALLS.with(|c| c.get());
        ON.with(|on| on.set(true));
        Self { before, total }
    }
}

impl Drop for ThreadCount {
    fn drop(&mut self) {
        ON.with(|on| on.set(false));
        let n = CALLS.with(|c| c.get()) - self.before;
        self.total
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    note();
    unsafe { __libc_malloc(size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    note();
    unsafe { __libc_calloc(n, size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    note();
    unsafe { __libc_realloc(p, size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if !p.is_null() {
        note();
    }
    unsafe { __libc_free(p) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    note();
    unsafe { __libc_memalign(align, size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    note();
    unsafe { __libc_memalign(align, size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    note();
    if align < std::mem::size_of::<usize>() || !align.is_power_of_two() {
        return libc_einval();
    }
    let p = unsafe { __libc_memalign(align, size) };
    if p.is_null() && size != 0 {
        return 12; // ENOMEM
    }
    unsafe { *out = p };
    0
}

fn libc_einval() -> i32 {
    22 // EINVAL
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    note();
    unsafe { __libc_valloc(size) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    note();
    unsafe { __libc_pvalloc(size) }
}
