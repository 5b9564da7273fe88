//! Giving freed memory back to the system after large temporary work (decoding, resampling,
//! rendering stretched tables), so a Pi's resident memory reflects what is held, not what was
//! once used. Not real-time.

/// Returns free heap memory of every allocator arena to the system (glibc's `malloc_trim`;
/// nothing elsewhere). Not real-time: it walks and locks the allocator's arenas.
pub fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
