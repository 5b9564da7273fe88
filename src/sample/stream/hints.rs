//! What the audio thread tells the disk service: where each streaming voice is reading and how
//! fast (so chunks are read ahead in play order, most urgent first), and a block epoch (so an
//! evicted chunk buffer is reused only after every block that could still read it has ended).
//! All plain atomics: real-time safe on the audio side, never blocking on the disk side.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// One voice's reading position, as last published by the audio thread.
#[derive(Debug, Default)]
pub struct VoiceHint {
    /// Table id + 1 (0: the voice reads no streamed table).
    table: AtomicU32,
    /// Read position in table frames (f64 bits).
    pos: AtomicU64,
    /// Table frames per output frame (f32 bits).
    step: AtomicU32,
    loop_start: AtomicU32,
    loop_end: AtomicU32,
    looping: AtomicBool,
}

/// A consistent-enough copy of a [`VoiceHint`] (fields may come from two successive blocks;
/// only the order of reads depends on them, never memory safety).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hint {
    /// Table id.
    pub table: u32,
    /// Read position in table frames.
    pub pos: f64,
    /// Table frames per output frame.
    pub step: f64,
    /// Loop region start (table frames).
    pub loop_start: usize,
    /// Loop region end (table frames).
    pub loop_end: usize,
    /// Whether the voice wraps at `loop_end`.
    pub looping: bool,
}

/// The hints of every voice slot, and the block epoch.
#[derive(Debug)]
pub struct StreamHints {
    voices: Box<[VoiceHint]>,
    epoch: AtomicU64,
}

impl StreamHints {
    /// Hints for `voices` voice slots. Allocates; not real-time.
    pub fn new(voices: usize) -> Self {
        Self {
            voices: (0..voices).map(|_| VoiceHint::default()).collect(),
            epoch: AtomicU64::new(0),
        }
    }

    /// Publishes voice `v`'s position. Real-time safe.
    pub fn publish(&self, v: usize, h: Hint) {
        let Some(s) = self.voices.get(v) else { return };
        s.pos.store(h.pos.to_bits(), Ordering::Relaxed);
        s.step.store((h.step as f32).to_bits(), Ordering::Relaxed);
        s.loop_start.store(h.loop_start as u32, Ordering::Relaxed);
        s.loop_end.store(h.loop_end as u32, Ordering::Relaxed);
        s.looping.store(h.looping, Ordering::Relaxed);
        s.table.store(h.table + 1, Ordering::Release);
    }

    /// Voice `v` no longer reads a streamed table. Real-time safe.
    pub fn clear(&self, v: usize) {
        if let Some(s) = self.voices.get(v) {
            s.table.store(0, Ordering::Release);
        }
    }

    /// Voice `v`'s hint, if it reads a streamed table. Never blocks.
    pub fn get(&self, v: usize) -> Option<Hint> {
        let s = self.voices.get(v)?;
        let table = s.table.load(Ordering::Acquire).checked_sub(1)?;
        Some(Hint {
            table,
            pos: f64::from_bits(s.pos.load(Ordering::Relaxed)),
            step: f32::from_bits(s.step.load(Ordering::Relaxed)) as f64,
            loop_start: s.loop_start.load(Ordering::Relaxed) as usize,
            loop_end: s.loop_end.load(Ordering::Relaxed) as usize,
            looping: s.looping.load(Ordering::Relaxed),
        })
    }

    /// Number of voice slots.
    pub fn len(&self) -> usize {
        self.voices.len()
    }

    /// Whether there are no voice slots.
    pub fn is_empty(&self) -> bool {
        self.voices.is_empty()
    }

    /// Marks the end of an engine block (after every read of the block). Real-time safe.
    pub fn end_block(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The number of blocks ended so far. Never blocks.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }
}
