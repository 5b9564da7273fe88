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

/// This process's resident memory now and at its peak, in bytes (Linux `VmRSS` and `VmHWM`;
/// None elsewhere). Not real-time (reads `/proc`).
pub fn resident() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = s.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
