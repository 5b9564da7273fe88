//! A paced output without a sound card (`run --no-audio`): a thread runs the engine block by
//! block on the wall clock at the set's rate and block size, through the same per-block code
//! as a device callback ([`super::block::render_block`]); the sound is discarded. For tests,
//! and for using padlooper as a MIDI clock bridge with controllers only. The thread is the
//! real-time section: it asks for the same priority as a device callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringbuf::traits::Producer;

use super::priority::{RtStatus, promote_current_thread};
use crate::engine::Engine;
use crate::engine::input::InputFeed;

/// A simulated loopback cable (`padlooper latency --simulate`): each block the paced thread
/// renders is fed to the engine's audio input `delay` frames later, as if played out of an
/// output and recorded back through a cable. The round trip the engine sees is `delay` plus
/// one block (the block is heard once it is rendered; the input bus reads the next one).
pub struct Loopback {
    /// The engine's input ring.
    pub feed: InputFeed,
    /// Frames between a block's output and its arrival at the input.
    pub delay: usize,
}

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
        loopback: Option<Loopback>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("padlooper-paced".into())
            .spawn(move || run(engine, rate, block, rt_priority, &rt, &flag, loopback))?;
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
    mut loopback: Option<Loopback>,
) -> Box<Engine> {
    if rt_priority > 0 {
        rt.store(promote_current_thread(rt_priority));
    }
    let block = block.clamp(1, super::block::SCRATCH_FRAMES as u32) as usize;
    let period = Duration::from_secs_f64(block as f64 / rate.max(1) as f64);
    // Allocated before the loop: the loop itself is the real-time section.
    let mut buf = vec![0.0f32; block * 2];
    let delay = loopback.as_ref().map_or(0, |l| l.delay);
    let mut line = vec![0.0f32; 2 * delay.max(1)];
    let mut at = 0usize;
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
            super::block::render_block(&mut engine, &mut buf, &stats, rate as f64, -late);
            if let Some(l) = loopback.as_mut() {
                if delay > 0 {
                    // Through the delay line, in place: the block out, what is due in.
                    for s in buf.iter_mut() {
                        std::mem::swap(s, &mut line[at]);
                        at = (at + 1) % line.len();
                    }
                }
                l.feed.push_slice(&buf);
            }
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
