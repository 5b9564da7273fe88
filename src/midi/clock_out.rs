//! MIDI clock out, live: a thread takes the clock and transport messages the engine emitted
//! (each with its exact engine frame), maps every frame to the moment its audio leaves the
//! speakers (from the output's published clock and buffering delay), waits until then and
//! sends the message to every port named in `[master] clock_out`. Tick times come from the
//! audio clock, not from a sleeping thread's idea of time: a late wake-up only delays one
//! message, the next is back on the grid. Not real-time (its own thread).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ringbuf::HeapCons;
use ringbuf::traits::Consumer;

use super::ports::{MidiBackend, OutputConnection, PortInfo};
use crate::engine::event::TimedClock;
use crate::engine::shared::{EngineStats, mono_nanos};

/// Messages more than this late are sent at once (after an outage), not skipped.
const LATE_NS: u64 = 50_000_000;
/// The sender wakes this early and spins the rest (sleep granularity).
const SPIN_NS: u64 = 300_000;
/// Ports are looked for again this often while a named port is missing.
const RESCAN: Duration = Duration::from_secs(2);

/// Wall-clock accuracy the sender achieved, for the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct SendStats {
    /// Messages sent.
    pub sent: u64,
    /// Largest lateness seen, in ns (0 when always on time).
    pub worst_late_ns: u64,
}

/// The clock sender thread's handle; dropping it stops the thread.
pub struct ClockSender {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<SendStats>>,
}

impl ClockSender {
    /// Starts sending the engine's clock messages (`queue`, from
    /// [`EngineHandle::take_clock_out`]) to the output ports whose names contain one of
    /// `names`, through `backend`. `latency` is the engine's own output latency in frames.
    ///
    /// [`EngineHandle::take_clock_out`]: crate::engine::EngineHandle::take_clock_out
    pub fn start(
        mut queue: HeapCons<TimedClock>,
        mut backend: Box<dyn MidiBackend>,
        names: Vec<String>,
        stats: Arc<EngineStats>,
        rate: u32,
        latency: u64,
    ) -> std::io::Result<ClockSender> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("padlooper-clock-out".into())
            .spawn(move || {
                let mut outs: Vec<(PortInfo, Box<dyn OutputConnection>)> = Vec::new();
                let mut last_scan: Option<std::time::Instant> = None;
                let mut result = SendStats::default();
                while !flag.load(Ordering::Relaxed) {
                    if last_scan.is_none_or(|t| t.elapsed() >= RESCAN) {
                        connect(&mut *backend, &names, &mut outs);
                        last_scan = Some(std::time::Instant::now());
                    }
                    // The audio clock first: a message taken before the first callback has
                    // published it would have no time to be sent at (and a Start would be
                    // lost).
                    let Some(clock) = stats.clock.read() else {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    let Some(m) = queue.try_pop() else {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    let due = clock.play_time(m.frame, rate, latency);
                    wait_until(due, &flag);
                    let late = mono_nanos().saturating_sub(due);
                    if late < LATE_NS {
                        result.worst_late_ns = result.worst_late_ns.max(late);
                    }
                    let (bytes, n) = m.msg.bytes();
                    outs.retain_mut(|(port, out)| match out.send(&bytes[..n]) {
                        Ok(()) => true,
                        Err(e) => {
                            log::warn!("{}: MIDI clock out failed ({e}); retrying", port.name);
                            false
                        }
                    });
                    result.sent += 1;
                }
                result
            })?;
        Ok(ClockSender {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and returns what it achieved.
    pub fn stop(mut self) -> SendStats {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ClockSender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Connects output ports matching `names` that are not connected yet.
fn connect(
    backend: &mut dyn MidiBackend,
    names: &[String],
    outs: &mut Vec<(PortInfo, Box<dyn OutputConnection>)>,
) {
    let Ok(ports) = backend.output_ports() else {
        return;
    };
    for p in ports {
        let wanted = names
            .iter()
            .any(|n| p.name.to_lowercase().contains(&n.to_lowercase()));
        if wanted && !outs.iter().any(|(q, _)| *q == p) {
            match backend.connect_output(&p) {
                Ok(c) => {
                    log::info!("{}: sending MIDI clock", p.name);
                    outs.push((p, c));
                }
                Err(e) => log::warn!("{}: cannot send MIDI clock ({e})", p.name),
            }
        }
    }
}

/// Sleeps until `due` (on [`mono_nanos`]' clock), spinning the last fraction of a
/// millisecond; returns early when `stop` is set.
fn wait_until(due: u64, stop: &AtomicBool) {
    loop {
        let now = mono_nanos();
        if now >= due || stop.load(Ordering::Relaxed) {
            return;
        }
        let left = due - now;
        if left > SPIN_NS {
            std::thread::sleep(Duration::from_nanos(left - SPIN_NS));
        } else {
            std::hint::spin_loop();
        }
    }
}
