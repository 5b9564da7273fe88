//! A simulated disk for tests and benchmarks: latency with seeded jitter, a bandwidth limit,
//! scheduled stalls, a disk that hangs forever, in *virtual* time (output frames told by
//! [`DiskReader::advance`]), so starvation is deterministic however fast the real disk is.
//! Not real-time.

use std::collections::HashMap;
use std::path::PathBuf;

use super::reader::{DiskReader, PreadReader, ReadOutcome, SourceFile};

/// How the simulated disk behaves. Times in output frames.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    /// Time from a request to its data.
    pub latency: u64,
    /// Extra latency per request, uniformly 0..=jitter (seeded).
    pub jitter: u64,
    /// Bytes per output frame the disk delivers (0: unlimited).
    pub bytes_per_frame: f64,
    /// Periods `(start, length)` during which nothing completes.
    pub stalls: Vec<(u64, u64)>,
    /// Every read blocks forever (a hung device; for threaded tests only).
    pub hang: bool,
    /// Seed of the jitter.
    pub seed: u64,
}

/// A reader that delivers real file data as [`Throttle`] says.
pub struct ThrottledReader {
    cfg: Throttle,
    inner: PreadReader,
    now: u64,
    budget: f64,
    pending: HashMap<(PathBuf, u64), u64>,
    rng: u64,
}

impl ThrottledReader {
    /// A simulated disk. Not real-time.
    pub fn new(cfg: Throttle) -> Self {
        let rng = cfg.seed | 1;
        Self {
            cfg,
            inner: PreadReader,
            now: 0,
            budget: 0.0,
            pending: HashMap::new(),
            rng,
        }
    }

    fn jitter(&mut self) -> u64 {
        if self.cfg.jitter == 0 {
            return 0;
        }
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % (self.cfg.jitter + 1)
    }

    fn stalled(&self) -> bool {
        self.cfg
            .stalls
            .iter()
            .any(|&(s, l)| self.now >= s && self.now < s + l)
    }
}

impl DiskReader for ThrottledReader {
    fn read_at(&mut self, file: &SourceFile, offset: u64, buf: &mut [u8]) -> ReadOutcome {
        if self.cfg.hang {
            loop {
                std::thread::park();
            }
        }
        let key = (file.path.clone(), offset);
        let ready = match self.pending.get(&key) {
            Some(&r) => r,
            None => {
                let r = self.now + self.cfg.latency + self.jitter();
                self.pending.insert(key.clone(), r);
                r
            }
        };
        if self.now < ready || self.stalled() {
            return ReadOutcome::NotYet;
        }
        if self.cfg.bytes_per_frame > 0.0 {
            if self.budget < buf.len() as f64 {
                return ReadOutcome::NotYet;
            }
            self.budget -= buf.len() as f64;
        }
        self.pending.remove(&key);
        self.inner.read_at(file, offset, buf)
    }

    fn advance(&mut self, frames: u64) {
        self.now += frames;
        if self.cfg.bytes_per_frame > 0.0 {
            // At most half a second of bandwidth saved up (a disk does not bank idle time).
            let cap = (self.cfg.bytes_per_frame * 24_000.0).max(512.0 * 1024.0);
            self.budget = (self.budget + frames as f64 * self.cfg.bytes_per_frame).min(cap);
        }
    }
}
