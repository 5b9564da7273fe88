//! Keeps libasound's own multi-line diagnostics off the terminal while probing devices, so a
//! missing sound card produces our one clear line instead. Not real-time.

/// Runs `f` with the process's stderr redirected to /dev/null (unless `verbose`).
pub fn without_stderr<T>(verbose: bool, f: impl FnOnce() -> T) -> T {
    #[cfg(unix)]
    if !verbose {
        use std::os::fd::AsRawFd;
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            // SAFETY: plain POSIX fd calls on fds we own; stderr is restored before returning.
            let saved = unsafe { libc::dup(2) };
            if saved >= 0 {
                unsafe { libc::dup2(null.as_raw_fd(), 2) };
                let out = f();
                unsafe {
                    libc::dup2(saved, 2);
                    libc::close(saved);
                }
                return out;
            }
        }
    }
    f()
}
