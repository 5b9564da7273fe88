//! Real-time scheduling for the audio thread, and memory locking only where it is safe.
//!
//! cpal does not raise its callback thread's priority on Linux (its `realtime` feature needs
//! rtkit over D-Bus, absent on a headless Pi). The callback asks for SCHED_FIFO itself, once per
//! stream (a rebuilt stream runs on a new thread), and records the outcome in an atomic the
//! control thread reports. `SCHED_RESET_ON_FORK` keeps children (e.g. a shell a script starts)
//! from inheriting it. The right is granted by root, `CAP_SYS_NICE`, systemd's `LimitRTPRIO=`
//! or a limits.d entry (see `deploy/`).

use std::sync::atomic::{AtomicI32, Ordering};

/// Default SCHED_FIFO priority of the audio thread: below the kernel's threaded interrupt
/// handlers (50), so the sound card's and the USB controller's interrupts still run first,
/// and above every normal thread.
pub const DEFAULT_PRIORITY: u8 = 40;

/// What became of a thread's request for real-time priority, shared between the audio
/// thread (which writes it once per stream) and the control thread (which reports it).
/// Real-time safe (one atomic).
#[derive(Debug, Default)]
pub struct RtStatus(AtomicI32);

/// The outcome, as read by the control thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtOutcome {
    /// Not asked yet (no callback ran), or real-time priority is turned off.
    NotAsked,
    /// Running SCHED_FIFO at this priority.
    Granted(u8),
    /// The system refused (an `errno` value, e.g. EPERM when the limit is 0).
    Denied(i32),
}

impl RtStatus {
    /// Records the result of [`promote_current_thread`]. Real-time safe.
    pub fn store(&self, result: Result<u8, i32>) {
        let v = match result {
            Ok(p) => p as i32,
            Err(e) => -(e.max(1)),
        };
        self.0.store(v, Ordering::Relaxed);
    }

    /// The last outcome. Real-time safe.
    pub fn get(&self) -> RtOutcome {
        match self.0.load(Ordering::Relaxed) {
            0 => RtOutcome::NotAsked,
            v if v > 0 => RtOutcome::Granted(v as u8),
            v => RtOutcome::Denied(-v),
        }
    }

    /// Forgets the outcome (before a new stream asks again). Real-time safe.
    pub fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

impl RtOutcome {
    /// One line for the log. Not real-time.
    pub fn describe(&self) -> String {
        match *self {
            RtOutcome::NotAsked => "audio thread: normal scheduling (`rt_priority = 0`)".into(),
            RtOutcome::Granted(p) => format!("audio thread: real-time priority {p} (SCHED_FIFO)"),
            RtOutcome::Denied(e) => format!(
                "audio thread: no real-time priority ({}); audio may drop out under load. Run padlooper as the systemd service in deploy/ (LimitRTPRIO=95), or add your user to the `audio` group with deploy/limits/95-padlooper.conf installed, then log in again",
                std::io::Error::from_raw_os_error(e)
            ),
        }
    }
}

/// Lowers the calling thread's scheduling priority to niceness `nice` (best effort): threads
/// that write files or serve pages stay below audio, MIDI and the control loop. Not real-time.
pub fn nice_current_thread(nice: i32) {
    // SAFETY: setpriority on the calling thread (Linux: a thread id is a PRIO_PROCESS target).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice);
    }
}

/// Switches the calling thread to SCHED_FIFO at `priority` (1 to 99). Returns the priority
/// now in effect, or the `errno` the system answered. Real-time safe in the sense the audio
/// callback needs: one system call, no allocation, lock or I/O (call it once, not per block).
pub fn promote_current_thread(priority: u8) -> Result<u8, i32> {
    let priority = priority.clamp(1, 99);
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param {
            sched_priority: priority as i32,
        };
        // SAFETY: pthread_self() is the calling thread; param is a valid sched_param.
        let r = unsafe {
            libc::pthread_setschedparam(
                libc::pthread_self(),
                libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK,
                &param,
            )
        };
        if r == 0 { Ok(priority) } else { Err(r) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(38) // ENOSYS
    }
}

/// The calling thread's scheduling policy and priority, as the kernel sees them (for logs and
/// tests). Not real-time.
pub fn current_thread_policy() -> (i32, i32) {
    #[cfg(target_os = "linux")]
    {
        let mut policy = 0;
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: valid out-pointers for the calling thread.
        let r =
            unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
        if r == 0 {
            return (policy & !libc::SCHED_RESET_ON_FORK, param.sched_priority);
        }
    }
    (0, 0)
}

/// What [`lock_memory`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLock {
    /// Every page, now and later, is locked in RAM (no swapping, no page faults on samples).
    Locked,
    /// Not locked: the process's limit is this many bytes, not unlimited. Locking under a
    /// finite limit would make later allocations fail, so padlooper does not.
    LimitTooLow(u64),
    /// The limit was unlimited but the system refused (`errno`).
    Failed(i32),
}

impl MemoryLock {
    /// One line for the log. Not real-time.
    pub fn describe(&self) -> String {
        match *self {
            MemoryLock::Locked => "memory locked in RAM (mlockall)".into(),
            MemoryLock::LimitTooLow(b) => format!(
                "memory not locked: the memlock limit is {} kB, not unlimited (the service in deploy/ sets LimitMEMLOCK=infinity)",
                b / 1024
            ),
            MemoryLock::Failed(e) => format!(
                "memory not locked: {}",
                std::io::Error::from_raw_os_error(e)
            ),
        }
    }
}

/// Whether memory may be locked under a memlock limit of `limit` bytes (None: unlimited):
/// only when unlimited, since every later allocation counts against it. Not real-time.
pub fn may_lock(limit: Option<u64>) -> bool {
    limit.is_none()
}

/// The process's memlock limit in bytes (None: unlimited). Not real-time.
pub fn memlock_limit() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid out-pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) } == 0 {
            return (r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur);
        }
    }
    Some(0)
}

/// Locks all current and future memory when the memlock limit is unlimited, else leaves it.
/// Call once at start, on the control thread. Not real-time.
pub fn lock_memory() -> MemoryLock {
    let limit = memlock_limit();
    if !may_lock(limit) {
        return MemoryLock::LimitTooLow(limit.unwrap_or(0));
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no preconditions; with an unlimited limit later allocations cannot fail
        // because of it.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } == 0 {
            return MemoryLock::Locked;
        }
        MemoryLock::Failed(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
    #[cfg(not(target_os = "linux"))]
    MemoryLock::Failed(38)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_the_atomic() {
        let s = RtStatus::default();
        assert_eq!(s.get(), RtOutcome::NotAsked);
        s.store(Ok(40));
        assert_eq!(s.get(), RtOutcome::Granted(40));
        s.store(Err(libc::EPERM));
        assert_eq!(s.get(), RtOutcome::Denied(libc::EPERM));
        assert!(s.get().describe().contains("LimitRTPRIO"));
        s.clear();
        assert_eq!(s.get(), RtOutcome::NotAsked);
    }

    #[test]
    fn memory_is_only_locked_under_an_unlimited_limit() {
        assert!(may_lock(None));
        assert!(!may_lock(Some(8 << 20)));
        assert!(!may_lock(Some(u64::MAX - 1)));
    }

    #[test]
    fn a_thread_asking_for_real_time_gets_it_or_a_reason() {
        // Root or LimitRTPRIO grants it; an unprivileged container answers EPERM. Either way
        // the answer is consistent with what the kernel reports for the thread.
        std::thread::spawn(|| match promote_current_thread(DEFAULT_PRIORITY) {
            Ok(p) => assert_eq!(current_thread_policy(), (libc::SCHED_FIFO, p as i32)),
            Err(e) => {
                assert!(e == libc::EPERM || e == libc::EINVAL, "errno {e}");
                assert_eq!(current_thread_policy().0, libc::SCHED_OTHER);
            }
        })
        .join()
        .unwrap();
    }
}
