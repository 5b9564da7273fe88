//! What the key-lock machinery is doing, published after every block (atomics: writing is
//! real-time safe, reading never blocks).

use std::sync::atomic::{AtomicU32, Ordering};

/// Voices by how they play, and the governor's pitch error.
#[derive(Debug, Default)]
pub struct KeylockView {
    rt: AtomicU32,
    tables: AtomicU32,
    governed: AtomicU32,
    worst_centi: AtomicU32,
    units: AtomicU32,
    limit: AtomicU32,
    ahead: AtomicU32,
}

/// A reading of [`KeylockView`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KeylockReading {
    /// Voices playing through a real-time stretcher.
    pub rt: u32,
    /// Voices playing a stretched table.
    pub tables: u32,
    /// Key-locked or transposed voices playing off pitch because no stretcher was free.
    pub governed: u32,
    /// The largest pitch error among them, in cents.
    pub worst_cents: f32,
    /// Stretchers in the pool.
    pub units: u32,
    /// Most stretchers used at once (the governor's limit).
    pub limit: u32,
    /// Of the voices on real-time stretchers, those stretched ahead on worker threads.
    pub ahead: u32,
}

impl KeylockView {
    /// Publishes a block's counts. Real-time safe.
    pub fn publish(&self, r: KeylockReading) {
        self.rt.store(r.rt, Ordering::Relaxed);
        self.tables.store(r.tables, Ordering::Relaxed);
        self.governed.store(r.governed, Ordering::Relaxed);
        self.worst_centi
            .store((r.worst_cents * 100.0) as u32, Ordering::Relaxed);
        self.units.store(r.units, Ordering::Relaxed);
        self.limit.store(r.limit, Ordering::Relaxed);
        self.ahead.store(r.ahead, Ordering::Relaxed);
    }

    /// The last published counts. Real-time safe.
    pub fn read(&self) -> KeylockReading {
        KeylockReading {
            rt: self.rt.load(Ordering::Relaxed),
            tables: self.tables.load(Ordering::Relaxed),
            governed: self.governed.load(Ordering::Relaxed),
            worst_cents: self.worst_centi.load(Ordering::Relaxed) as f32 / 100.0,
            units: self.units.load(Ordering::Relaxed),
            limit: self.limit.load(Ordering::Relaxed),
            ahead: self.ahead.load(Ordering::Relaxed),
        }
    }
}
