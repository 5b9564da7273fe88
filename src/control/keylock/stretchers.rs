//! The real-time stretcher pool: measuring what one stretcher costs on this machine, building
//! and warming stretchers off the audio thread, and handing them to the engine. Not real-time.

use std::sync::mpsc;
use std::time::Instant;

use crate::dsp::stretch::{MAX_FEED, StretcherKind, TimeStretch};
use crate::engine::EngineHandle;
use crate::engine::command::Command;

/// Share of a block's time the real-time stretchers may take together in their busiest blocks
/// (the 99.9th percentile), when their number is measured (`keylock_voices = 0`).
pub const CPU_SHARE: f64 = 0.5;
/// Share of a block's time priming may take.
pub const PRIME_SHARE: f64 = 0.15;
/// Share of a core each worker thread's stretchers may take on average, when stretching runs
/// ahead on workers (`stretch_workers`): a worker works a few blocks ahead, so its mean cost
/// counts, not its busiest blocks; the rest of the core is left to the audio thread and the
/// system.
pub const WORKER_SHARE: f64 = 0.6;

/// What one real-time stretcher costs here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Mean CPU time per block of playing, µs.
    pub block_us: f64,
    /// Mean of its busiest quarter of blocks (a stretcher works in hops: some blocks carry a
    /// whole hop).
    pub busy_us: f64,
    /// CPU time to prime one (hide its start delay), µs.
    pub prime_us: f64,
    /// Frames fed while priming it.
    pub prime_frames: usize,
    /// Voices that fit [`CPU_SHARE`] of a block.
    pub voices: usize,
    /// Priming frames that fit [`PRIME_SHARE`] of a block.
    pub prime_budget: u32,
    /// A block's real-time budget, µs.
    pub budget_us: f64,
    /// The most it may hold (the engine's stretcher places).
    pub capacity: usize,
}

impl Calibration {
    /// Stretchers that fit: [`Calibration::voices`] in the audio callback, or on `workers`
    /// worker threads [`WORKER_SHARE`] of a core each at their mean cost (never fewer than
    /// the callback alone holds, never more than the capacity). Not real-time.
    pub fn voices_on(&self, workers: usize) -> usize {
        if workers == 0 {
            return self.voices;
        }
        let on = workers as f64 * WORKER_SHARE * self.budget_us / self.block_us.max(1e-3);
        (on.floor() as usize)
            .max(self.voices)
            .min(self.capacity.max(1))
    }
}

/// CPU time of the calling thread, ns.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A warmed stretcher of `kind`. Not real-time (allocates; about 50 ms on a small x86
/// machine).
pub fn warmed(rate: u32, kind: StretcherKind) -> Box<dyn TimeStretch> {
    let mut s = kind.make(rate);
    s.warm();
    s
}

/// `n` warmed stretchers of `kind`, built on up to `threads` threads. Not real-time.
pub fn build(
    n: usize,
    rate: u32,
    threads: usize,
    kind: StretcherKind,
) -> Vec<Box<dyn TimeStretch>> {
    let threads = threads.clamp(1, n.max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = n / threads + usize::from(t < n % threads);
                s.spawn(move || (0..count).map(|_| warmed(rate, kind)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Measures a stretcher of `kind` playing music-like audio at tempo 1.1 in blocks of `block`
/// frames at `rate` Hz, and how many fit the budgets. Not real-time (takes about 100 ms here).
pub fn calibrate(rate: u32, block: usize, capacity: usize, kind: StretcherKind) -> Calibration {
    let mut st = warmed(rate, kind);
    let block = block.clamp(16, 8192);
    let mut seed = 9u32;
    let fed = std::cell::Cell::new(0usize);
    let feed = |st: &mut Box<dyn TimeStretch>, k: usize, seed: &mut u32| {
        let mut l = [0.0f32; MAX_FEED];
        let mut r = [0.0f32; MAX_FEED];
        for i in 0..k {
            *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = (fed.get() + i) as f32 / rate as f32;
            let noise = (*seed >> 8) as f32 / 16_777_216.0 - 0.5;
            let hit = (-(t % 0.25) * 30.0).exp();
            l[i] = 0.2 * (t * 220.0 * std::f32::consts::TAU).sin() + 0.3 * noise * hit;
            r[i] = 0.2 * (t * 331.0 * std::f32::consts::TAU).sin() + 0.3 * noise * hit;
        }
        fed.set(fed.get() + k);
        st.process(&l[..k], &r[..k]);
    };
    st.set_tempo(1.1);
    let mut out_l = vec![0.0f32; block.max(MAX_FEED)];
    let mut out_r = out_l.clone();
    // Priming, as the engine does it.
    let t0 = thread_cpu_ns();
    let pad = st.start_pad();
    let mut left = pad;
    while left > 0 {
        let k = left.min(MAX_FEED);
        feed(&mut st, k, &mut seed);
        left -= k;
    }
    let mut drop = st.start_delay();
    while drop > 0 {
        let a = st.available();
        if a > 0 {
            let k = a.min(drop).min(out_l.len());
            drop -= st.retrieve(&mut out_l[..k], &mut out_r[..k]);
        } else {
            let k = st.required().clamp(64, MAX_FEED);
            feed(&mut st, k, &mut seed);
        }
    }
    let prime_us = (thread_cpu_ns() - t0) as f64 / 1000.0;
    let prime_frames = fed.get();
    // Playing: two seconds.
    let blocks = (2 * rate as usize / block).max(100);
    let mut times = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        let t0 = thread_cpu_ns();
        let mut got = 0;
        while got < block {
            let a = st.available();
            if a > 0 {
                let k = a.min(block - got);
                got += st.retrieve(&mut out_l[got..got + k], &mut out_r[got..got + k]);
            } else {
                let k = st.required().clamp(64, MAX_FEED);
                feed(&mut st, k, &mut seed);
            }
        }
        times.push((thread_cpu_ns() - t0) as f64 / 1000.0);
    }
    let block_us = times.iter().sum::<f64>() / blocks as f64;
    times.sort_by(|a, b| a.total_cmp(b));
    // The busy blocks (those carrying a hop): the mean of the costliest quarter, steadier
    // than a high percentile over a few hundred blocks.
    let busy = &times[times.len() * 3 / 4..];
    let p99_us = busy.iter().sum::<f64>() / busy.len().max(1) as f64;
    let budget_us = block as f64 / rate as f64 * 1e6;
    let voices = (1..=capacity.max(1))
        .take_while(|&n| busiest_block(n, block_us, p99_us) <= CPU_SHARE * budget_us)
        .last()
        .unwrap_or(1);
    let per_frame = prime_us / prime_frames.max(1) as f64;
    let prime_budget = ((PRIME_SHARE * budget_us / per_frame.max(1e-3)) as u32).max(256);
    Calibration {
        block_us,
        busy_us: p99_us,
        prime_us,
        prime_frames,
        voices,
        prime_budget,
        budget_us,
        capacity,
    }
}

/// What a voice costs in the engine around its stretcher (reading the sample at its pitch,
/// its history for hand-offs, envelope and gain), relative to the stretcher alone: `bench`
/// here, Signalsmith, 24 voices at p99.9 = 50 % of the block, i.e. 111 µs per voice against
/// 96 µs for the stretcher's busy blocks alone.
pub const ENGINE_SHARE: f64 = 1.2;

/// The busiest blocks (99.9th percentile) of `n` voices on stretchers playing together, each
/// stretcher costing `mean` µs per block on average and `busy` µs in its busiest quarter of
/// blocks: `n` times `busy` times [`ENGINE_SHARE`] (hops are staggered, but several may fall in
/// one block).
pub fn busiest_block(n: usize, mean: f64, busy: f64) -> f64 {
    n as f64 * busy.max(mean) * ENGINE_SHARE
}

/// Hands `n` freshly built stretchers to the engine and sets its limits. Not real-time.
pub fn install(handle: &mut EngineHandle, n: usize, limit: usize, prime_budget: u32) {
    let rate = handle.settings().sample_rate;
    let kind = handle.settings().stretcher;
    let n = n.min(
        handle
            .settings()
            .stretch_units
            .saturating_sub(handle.stretchers()),
    );
    for st in build(
        n,
        rate,
        std::thread::available_parallelism().map_or(1, |p| p.get()),
        kind,
    ) {
        if handle.add_stretcher(st).is_err() {
            break;
        }
    }
    let _ = handle.command(Command::StretchBudget(
        limit.min(u16::MAX as usize) as u16,
        prime_budget,
    ));
}

/// Messages from the background pool builder.
enum Msg {
    /// The measurement, and how many fit (in the callback or on the workers).
    Calibrated(Calibration, usize),
    Unit(Box<dyn TimeStretch>),
}

/// Builds the pool on a background thread (measuring first when asked), so playback starts at
/// once; the control loop hands each stretcher to the engine as it is ready.
pub struct PoolBuilder {
    rx: mpsc::Receiver<Msg>,
    limit: usize,
    prime_budget: u32,
    started: Instant,
    delivered: usize,
}

impl PoolBuilder {
    /// Starts building `voices` stretchers (0: as many as [`calibrate`] finds fit, in the
    /// callback or on the running workers) for blocks of `block` frames. Not real-time.
    pub fn start(handle: &EngineHandle, voices: usize, block: usize) -> Self {
        let rate = handle.settings().sample_rate;
        let capacity = handle.settings().stretch_units;
        let prime_budget = handle.settings().prime_frames;
        let kind = handle.settings().stretcher;
        let workers = handle.stretch_workers();
        let (tx, rx) = mpsc::channel();
        let _ = std::thread::Builder::new()
            .name("padlooper-stretch".into())
            .spawn(move || {
                let n = if voices == 0 {
                    let c = calibrate(rate, block, capacity, kind);
                    let n = c.voices_on(workers);
                    if tx.send(Msg::Calibrated(c, n)).is_err() {
                        return;
                    }
                    n
                } else {
                    voices.min(capacity)
                };
                for _ in 0..n {
                    if tx.send(Msg::Unit(warmed(rate, kind))).is_err() {
                        return;
                    }
                }
            });
        Self {
            rx,
            limit: if voices == 0 { capacity } else { voices },
            prime_budget,
            started: Instant::now(),
            delivered: 0,
        }
    }

    /// Hands ready stretchers to the engine; returns a line to log when something changed.
    /// Not real-time.
    pub fn poll(&mut self, handle: &mut EngineHandle) -> Option<String> {
        let mut said = None;
        for msg in self.rx.try_iter() {
            match msg {
                Msg::Calibrated(c, n) => {
                    self.limit = n;
                    self.prime_budget = c.prime_budget;
                    let _ = handle.command(Command::StretchBudget(
                        n.min(u16::MAX as usize) as u16,
                        c.prime_budget,
                    ));
                    let workers = match handle.stretch_workers() {
                        0 => String::from("in the audio thread"),
                        w => format!("on {w} worker threads"),
                    };
                    said = Some(format!(
                        "key lock: a real-time stretcher costs {:.0} µs per block here ({:.0} µs in a busy block); {n} may run at once {workers} (`keylock_voices` in [master] to change)",
                        c.block_us, c.busy_us
                    ));
                }
                Msg::Unit(st) => {
                    if handle.add_stretcher(st).is_ok() {
                        self.delivered += 1;
                        if self.delivered == self.limit {
                            let _ = handle.command(Command::StretchBudget(
                                self.limit.min(u16::MAX as usize) as u16,
                                self.prime_budget,
                            ));
                            said = Some(format!(
                                "key lock: {} real-time stretchers ready in {:.1} s",
                                self.delivered,
                                self.started.elapsed().as_secs_f64()
                            ));
                        }
                    }
                }
            }
        }
        said
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_measures_a_stretcher() {
        let c = calibrate(48_000, 256, 32, StretcherKind::RubberBand);
        println!("{c:?}");
        assert!(c.block_us > 0.0 && c.prime_us > 0.0);
        assert!((1..=32).contains(&c.voices));
        assert!(c.prime_frames > 1000, "the start pad and delay were fed");
        assert!(c.prime_budget >= 256);
    }
}
