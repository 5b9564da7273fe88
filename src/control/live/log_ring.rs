//! The last log messages, kept for screens (the web surface's log panel). The logger pushes
//! every message it prints at info level or above; readers ask for what came after the last
//! one they saw. Locks a mutex: never used on the audio thread (which never logs).

use std::collections::VecDeque;
use std::sync::Mutex;

/// Messages kept.
pub const KEPT: usize = 200;

/// One logged message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    /// Increases by one per message since the process started (1 is the first).
    pub seq: u64,
    /// "error", "warn" or "info".
    pub level: &'static str,
    /// Seconds since the process started.
    pub t: f64,
    /// The message (errors and warnings end with what to do).
    pub text: String,
}

struct Ring {
    lines: VecDeque<LogLine>,
    next: u64,
}

static RING: Mutex<Ring> = Mutex::new(Ring {
    lines: VecDeque::new(),
    next: 1,
});

fn started() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// Keeps a message (the oldest goes when [`KEPT`] are kept). Not real-time.
pub fn push(level: log::Level, text: String) {
    let level = match level {
        log::Level::Error => "error",
        log::Level::Warn => "warn",
        log::Level::Info => "info",
        _ => return,
    };
    let t = started().elapsed().as_secs_f64();
    if let Ok(mut r) = RING.lock() {
        let seq = r.next;
        r.next += 1;
        if r.lines.len() == KEPT {
            r.lines.pop_front();
        }
        r.lines.push_back(LogLine {
            seq,
            level,
            t,
            text,
        });
    }
}

/// The kept messages after `seq` (all kept ones for 0), oldest first. Not real-time.
pub fn since(seq: u64) -> Vec<LogLine> {
    RING.lock().map_or_else(
        |_| Vec::new(),
        |r| r.lines.iter().filter(|l| l.seq > seq).cloned().collect(),
    )
}

/// The number of the last message kept (0: none yet). Not real-time.
pub fn last_seq() -> u64 {
    RING.lock().map_or(0, |r| r.next - 1)
}

/// A logger that prints through `inner` and keeps what it prints at info level or above.
pub struct KeepingLogger<L: log::Log> {
    inner: L,
}

impl<L: log::Log> KeepingLogger<L> {
    /// Wraps `inner`.
    pub fn new(inner: L) -> Self {
        started();
        Self { inner }
    }
}

impl<L: log::Log> log::Log for KeepingLogger<L> {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if !self.inner.enabled(record.metadata()) {
            return;
        }
        self.inner.log(record);
        if record.level() <= log::Level::Info {
            push(record.level(), record.args().to_string());
        }
    }

    fn flush(&self) {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_messages_in_order() {
        let before = last_seq();
        for i in 0..(KEPT + 5) {
            push(log::Level::Warn, format!("m{i}"));
        }
        push(log::Level::Debug, "not kept".into());
        let all = since(0);
        assert_eq!(all.len(), KEPT);
        let last = since(last_seq() - 2);
        assert_eq!(last.len(), 2);
        assert_eq!(last[1].text, format!("m{}", KEPT + 4));
        assert_eq!(last[1].level, "warn");
        assert!(last_seq() >= before + KEPT as u64 + 5);
    }
}
