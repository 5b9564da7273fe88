//! A paced output without a sound card (`run --no-audio`): a thread runs the engine block by
//! block on the wall clock at the set's rate and block size, through the same per-block code
//! as a device callback ([`super::output::render_block`]); the sound is discarded. For tests,
//! and for using padlooper as a MIDI clock bridge with controllers only. The thread is the
//! real-time section: it asks for the same priority as a device callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::priority::{RtStatus, promote_current_thread};
use crate::engine::Engine;

/// The paced engine thread.
pub struct Paced {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Box<Engine>>>,
}

impl Paced {
    /// Starts `engine` on a thread that renders `block` frames every `block / rate` seconds of
    /// wall-clock time. Not real-time (spawns a thread).
    pub fn start(
        engine: Box<Engine>,
        rate: u32,
        block: u32,
        rt_priority: u8,
        rt: Arc<RtStatus>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("padlooper-paced".into())
            .spawn(move || run(engine, rate, block, rt_priority, &rt, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread (within a block) and returns the engine. Not real-time.
    pub fn stop(mut self) -> Option<Engine> {
        self.stop.store(true, Ordering::Release);
        self.thread.take()?.join().ok().map(|b| *b)
    }
}

impl Drop for Paced {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread: one block per period, on a deadline that never drifts (a late block is
/// followed at once by the next, as a sound card's would be).
fn run(
    mut engine: Box<Engine>,
    rate: u32,
    block: u32,
    rt_priority: u8,
    rt: &RtStatus,
    stop: &AtomicBool,
) -> Box<Engine> {
    if rt_priority > 0 {
        rt.store(promote_current_thread(rt_priority));
    }
    let block = block.clamp(1, super::output::SCRATCH_FRAMES as u32) as usize;
    let period = Duration::from_secs_f64(block as f64 / rate.max(1) as f64);
    // Allocated before the loop: the loop itself is the real-time section.
    let mut buf = vec![0.0f32; block * 2];
    let stats = engine.stats().clone();
    let mut deadline = Instant::now();
    while !stop.load(Ordering::Acquire) {
        {
            #[cfg(debug_assertions)]
            let _rt = crate::engine::rt::RtSection::enter();
            // The block is heard at its deadline (later blocks are late, not their sound).
            let late = Instant::now()
                .saturating_duration_since(deadline)
                .as_nanos() as i64;
            super::output::render_block(&mut engine, &mut buf, &stats, rate as f64, -late);
        }
        deadline += period;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        } else if now - deadline > 4 * period {
            // Far behind (the machine was suspended, or a debugger stopped us): catch up by
            // skipping, not by racing through the missed blocks.
            stats.xruns.fetch_add(1, Ordering::Relaxed);
            deadline = now;
        }
    }
    engine
}
