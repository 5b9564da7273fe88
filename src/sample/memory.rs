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

/// Bytes of physical memory (None when the system does not say). Not real-time.
pub fn physical_memory() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf has no preconditions.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return Some(pages as u64 * size as u64);
        }
    }
    None
}
