//! Flush-to-zero / denormals-are-zero control for audio threads.

/// Sets the current thread's floating-point unit to flush subnormal numbers to zero
/// (FTZ + DAZ on x86-64, FZ on AArch64). Call once at the start of every audio thread (or at the
/// top of each callback: it is cheap and idempotent). Real-time safe. Returns whether the
/// platform supports it.
#[inline]
pub fn flush_denormals() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // MXCSR bit 15 = FTZ, bit 6 = DAZ.
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr only read/write the SSE control register of this thread.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            csr |= (1 << 15) | (1 << 6);
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly));
        }
        true
    }
    #[cfg(target_arch = "aarch64")]
    {
        // FPCR bit 24 = FZ.
        // SAFETY: reads and writes this thread's floating-point control register only.
        unsafe {
            let mut fpcr: u64;
            std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack));
            fpcr |= 1 << 24;
            std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack));
        }
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Reads this thread's floating-point control word (MXCSR on x86-64, FPCR on AArch64).
#[inline]
fn control_word() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr only reads the SSE control register of this thread.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
        csr as u64
    }
    #[cfg(target_arch = "aarch64")]
    {
        let fpcr: u64;
        // SAFETY: reads this thread's floating-point control register only.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack)) };
        fpcr
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        0
    }
}

/// Restores a control word saved by [`control_word`].
#[inline]
fn set_control_word(v: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        let csr = v as u32;
        // SAFETY: ldmxcsr writes this thread's SSE control register with a value read from it.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly)) };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: writes this thread's floating-point control register with a value read from it.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) v, options(nomem, nostack)) };
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = v;
}

/// Flushes subnormals for as long as it lives, then restores the thread's previous
/// floating-point mode (as nih-plug's `ScopedFtz`): safe to use around a callback on a thread
/// padlooper does not own. Real-time safe.
pub struct ScopedFtz {
    saved: u64,
}

impl ScopedFtz {
    /// Turns flushing on until the guard is dropped. Real-time safe.
    #[inline]
    pub fn enable() -> Self {
        let saved = control_word();
        flush_denormals();
        Self { saved }
    }
}

impl Drop for ScopedFtz {
    #[inline]
    fn drop(&mut self) {
        set_control_word(self.saved);
    }
}

/// Whether the current thread flushes subnormals (used by tests). Real-time safe.
pub fn denormals_flushed() -> bool {
    let tiny = std::hint::black_box(f32::MIN_POSITIVE);
    let sub = std::hint::black_box(tiny / 4.0);
    sub == 0.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn flushing_turns_subnormal_results_into_zero() {
        std::thread::spawn(|| {
            assert!(!super::denormals_flushed());
            if super::flush_denormals() {
                assert!(super::denormals_flushed());
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_scoped_guard_restores_the_previous_mode() {
        std::thread::spawn(|| {
            assert!(!super::denormals_flushed());
            {
                let _ftz = super::ScopedFtz::enable();
                #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
                assert!(super::denormals_flushed());
            }
            assert!(!super::denormals_flushed());
        })
        .join()
        .unwrap();
    }
}
