//! The stretched-table cache: renders tables for key-locked and transposed pads (when the
//! engine asks, and at set load for ratios known in advance), shares them between pads,
//! publishes them to the engine and keeps them within a memory budget, least recently used
//! first out. Not real-time: runs on the control thread, rendering on a background thread
//! (or inline, for deterministic offline renders).
//!
//! Tables live in the engine's sample slots and are handed back through its retire queue, so
//! the audio thread never frees one. They are keyed by the identity of their sample's buffer,
//! which the sample table cache makes one per audio content (see [`Origin`]).

use crate::engine::command::PadCmd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use crate::dsp::stretch::StretcherKind;
use crate::engine::EngineHandle;
use crate::engine::command::{Command, Geometry, PadConfig, PadId, SlotId, TableSource};
use crate::engine::event::{EngineEvent, EventKind, TableRequest};
use crate::engine::keylock::{EXACT_CENTS, cents};
use crate::sample::SampleBuffer;
use crate::sample::stretch_table::{self, Table, TableError, TableSpec};

/// The sample a table is made from, by identity. The sample table cache
/// (`table_store`) holds one buffer per distinct audio content, so the same buffer means the
/// same audio: a file under two names shares its tables, and an edited file is a new buffer
/// that never gets an old file's table. Weak, so a key does not keep a sample alive (yet its
/// address is not reused while the key exists).
#[derive(Debug, Clone)]
struct Origin(Weak<SampleBuffer>);

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        Weak::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Origin {}

impl std::hash::Hash for Origin {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.0.as_ptr() as usize).hash(h);
    }
}

impl Origin {
    /// The sample's name (for messages), if it is still loaded.
    fn name(&self) -> String {
        self.0
            .upgrade()
            .map_or_else(|| "a sample no longer loaded".into(), |b| b.name.clone())
    }

    /// Whether the sample is still loaded somewhere.
    fn alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// What identifies a table: the sample, the region and the ratio.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    source: Origin,
    frames: usize,
    start: u32,
    loop_start: u32,
    loop_end: u32,
    looping: bool,
    /// Tempo and pitch in millionths (so float noise never splits a key).
    tempo: i64,
    pitch: i64,
    /// The stretcher that renders it.
    engine: StretcherKind,
}

impl Key {
    fn new(src: &Arc<SampleBuffer>, r: &TableRequest, engine: StretcherKind) -> Self {
        Self {
            source: Origin(Arc::downgrade(src)),
            frames: src.frames(),
            start: r.start,
            loop_start: r.loop_start,
            loop_end: r.loop_end,
            looping: r.looping,
            tempo: (r.tempo as f64 * 1e6).round() as i64,
            pitch: (r.pitch as f64 * 1e6).round() as i64,
            engine,
        }
    }

    fn spec(&self) -> TableSpec {
        TableSpec {
            start: self.start,
            loop_start: self.loop_start,
            loop_end: self.loop_end,
            looping: self.looping,
            tempo: self.tempo as f64 / 1e6,
            pitch: self.pitch as f64 / 1e6,
            engine: self.engine,
        }
    }

    /// Bytes the table will take.
    fn bytes(&self, src: &SampleBuffer) -> usize {
        let frames = (self.loop_end - self.start) as f64 / (self.tempo as f64 / 1e6);
        let per = src.memory_bytes() / src.frames().max(1);
        (frames.ceil() as usize + 1) * per
    }
}

/// A rendered table.
struct Entry {
    key: Key,
    buffer: Arc<SampleBuffer>,
    start: u32,
    loop_start: u32,
    loop_end: u32,
    scale: f64,
    pitch: f64,
    /// The engine slot holding it, once published.
    slot: Option<SlotId>,
    /// Pads told about it.
    pads: Vec<PadId>,
    /// When it was last wanted (a counter).
    used: u64,
}

impl Entry {
    fn geometry(&self, slot: SlotId) -> Geometry {
        Geometry {
            slot,
            start: self.start,
            loop_start: self.loop_start,
            loop_end: self.loop_end,
            end_frac: 0.0,
            scale: self.scale,
            pitch0: self.pitch,
        }
    }
}

/// A table to render.
struct Job {
    key: Key,
    source: Arc<SampleBuffer>,
}

type Done = (Key, Result<Table, TableError>);

/// The background renderers.
struct Worker {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<Done>,
    cancel: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Threads that render tables: every core but the one audio needs (at least one).
pub fn render_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// The table cache (see the module docs).
pub struct TableService {
    budget: usize,
    entries: Vec<Entry>,
    /// Keys being rendered (or queued), with the pads waiting for them.
    waiting: Vec<(Key, Vec<(PadId, TableSource)>)>,
    /// Jobs not handed to the renderer yet (inline mode renders them in `pump`).
    queue: Vec<Job>,
    worker: Option<Worker>,
    clock: u64,
    /// Keys refused (too large for the budget, or failed), not asked again.
    refused: Vec<Key>,
    /// Requests seen in events, not acted on yet (offline renders).
    asked: Vec<TableRequest>,
    /// The stretcher tables are rendered with.
    engine: StretcherKind,
}

impl TableService {
    /// A cache of at most `budget` bytes rendering on background threads (`threaded`: see
    /// [`render_threads`]), or inline in [`pump`](Self::pump) (deterministic, for offline
    /// renders; on every core). Not real-time.
    pub fn new(budget: usize, threaded: bool) -> Self {
        let worker = threaded.then(|| {
            let (jobs, job_rx) = mpsc::channel::<Job>();
            let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
            let (done_tx, done) = mpsc::channel::<Done>();
            let cancel = Arc::new(AtomicBool::new(false));
            let threads = (0..render_threads())
                .filter_map(|i| {
                    let (c, rx, tx) = (cancel.clone(), job_rx.clone(), done_tx.clone());
                    std::thread::Builder::new()
                        .name(format!("padlooper-tables-{i}"))
                        .spawn(move || {
                            lower_priority();
                            loop {
                                // The lock is only held to take the next job.
                                let job = match rx.lock() {
                                    Ok(rx) => rx.recv(),
                                    Err(_) => break,
                                };
                                let Ok(job) = job else { break };
                                if c.load(Ordering::Relaxed) {
                                    break;
                                }
                                let r = stretch_table::render(&job.source, &job.key.spec(), &c);
                                if tx.send((job.key, r)).is_err() {
                                    break;
                                }
                            }
                        })
                        .ok()
                })
                .collect();
            Worker {
                jobs,
                done,
                cancel,
                threads,
            }
        });
        Self {
            budget,
            entries: Vec::new(),
            waiting: Vec::new(),
            queue: Vec::new(),
            worker,
            clock: 0,
            refused: Vec::new(),
            asked: Vec::new(),
            engine: StretcherKind::default(),
        }
    }

    /// Bytes of tables held, and how many. Not real-time.
    pub fn memory(&self) -> (usize, usize) {
        (
            self.entries.iter().map(|e| e.buffer.memory_bytes()).sum(),
            self.entries.len(),
        )
    }

    /// The same cache rendering its tables with `engine` (the default: Signalsmith). Not
    /// real-time.
    pub fn with_engine(mut self, engine: StretcherKind) -> Self {
        self.engine = engine;
        self
    }

    /// This cache, from now on rendering on background threads (what it holds, asks and
    /// waits for is kept): for a pass played in real time after an inline start. Not
    /// real-time.
    pub fn threaded(mut self) -> Self {
        let mut t = Self::new(self.budget, true).with_engine(self.engine);
        t.entries = std::mem::take(&mut self.entries);
        t.waiting = std::mem::take(&mut self.waiting);
        t.queue = std::mem::take(&mut self.queue);
        t.refused = std::mem::take(&mut self.refused);
        t.asked = std::mem::take(&mut self.asked);
        t.clock = self.clock;
        t
    }

    /// Tables still being rendered. Not real-time.
    pub fn pending(&self) -> usize {
        self.waiting.len()
    }

    /// Asks for the tables the engine wants in `events`. Not real-time.
    pub fn on_events(&mut self, events: &[EngineEvent], handle: &mut EngineHandle) {
        for e in events {
            if let EventKind::TableWanted(r) = e.kind {
                self.want(&r, handle);
            }
        }
    }

    /// Asks for the table a pad wants: published at once when cached, else rendered.
    /// Not real-time.
    pub fn want(&mut self, r: &TableRequest, handle: &mut EngineHandle) {
        if self.budget == 0 {
            return;
        }
        let Some(source) = handle.buffer(r.slot) else {
            return;
        };
        // A stem bundle's stretched table would hold its full mix only: stem pads key-lock
        // through the real-time stretchers, which read the stems as mixed.
        if source.groups() > 1 {
            return;
        }
        // A request from before a reload may name a slot that now holds another sample.
        if r.loop_end <= r.start || r.loop_start < r.start || r.loop_end as usize > source.frames()
        {
            log::debug!("stale table request for pad {} ignored", r.pad);
            return;
        }
        let from = TableSource {
            slot: r.slot,
            start: r.start,
            loop_start: r.loop_start,
            loop_end: r.loop_end,
        };
        let key = Key::new(&source, r, self.engine);
        self.clock += 1;
        if let Some(i) = self.entries.iter().position(|e| e.key == key) {
            self.entries[i].used = self.clock;
            self.publish(i, r.pad, from, handle);
            return;
        }
        if let Some((_, pads)) = self.waiting.iter_mut().find(|(k, _)| *k == key) {
            if !pads.contains(&(r.pad, from)) {
                pads.push((r.pad, from));
            }
            return;
        }
        if self.refused.contains(&key) {
            return;
        }
        let bytes = key.bytes(&source);
        if bytes > self.budget / 2 {
            log::info!(
                "{}: a stretched table would take {} (more than half of `table_memory_mb`); this pad stays on real-time stretching",
                source.name,
                crate::control::live::status::mb(bytes)
            );
            self.refused.push(key);
            return;
        }
        self.waiting.push((key.clone(), vec![(r.pad, from)]));
        let job = Job { key, source };
        match &self.worker {
            Some(w) => {
                if let Err(mpsc::SendError(job)) = w.jobs.send(job) {
                    self.queue.push(job);
                }
            }
            None => self.queue.push(job),
        }
    }

    /// Tables for every pad whose ratio is known at load (`configs`: the pads as published,
    /// `bpm`: the set's tempo, `speed`: its global speed), so they play cheaply from their
    /// first press. Not real-time.
    pub fn prefetch(
        &mut self,
        configs: &[(PadId, PadConfig)],
        bpm: f64,
        speed: f32,
        handle: &mut EngineHandle,
    ) {
        for (pad, cfg) in configs {
            if let Some(r) = known_ratio(*pad, cfg, bpm, speed) {
                self.want(&r, handle);
            }
        }
    }

    /// Publishes finished tables (rendering queued ones first when inline) and keeps the cache
    /// within its budget. Not real-time.
    pub fn pump(&mut self, handle: &mut EngineHandle) {
        let mut done: Vec<Done> = Vec::new();
        if let Some(w) = &self.worker {
            done.extend(w.done.try_iter());
        } else {
            done = render_all(std::mem::take(&mut self.queue));
        }
        if !done.is_empty() {
            crate::sample::memory::give_back_free_memory();
        }
        for (key, result) in done {
            let pads = match self.waiting.iter().position(|(k, _)| *k == key) {
                Some(i) => self.waiting.swap_remove(i).1,
                None => Vec::new(),
            };
            match result {
                Ok(t) => {
                    self.clock += 1;
                    self.entries.push(Entry {
                        key,
                        buffer: Arc::new(t.buffer),
                        start: t.start,
                        loop_start: t.loop_start,
                        loop_end: t.loop_end,
                        scale: t.scale,
                        pitch: t.pitch,
                        slot: None,
                        pads: Vec::new(),
                        used: self.clock,
                    });
                    let i = self.entries.len() - 1;
                    for (p, from) in pads {
                        self.publish(i, p, from, handle);
                    }
                }
                Err(TableError::Cancelled) => {}
                Err(e) => {
                    log::warn!("{}: no stretched table ({e})", key.source.name());
                    self.refused.push(key);
                }
            }
        }
        self.evict(handle);
    }

    /// Tells pad `pad` about entry `i` (loading it into a slot first if needed).
    fn publish(&mut self, i: usize, pad: PadId, from: TableSource, handle: &mut EngineHandle) {
        let slot = match self.entries[i].slot {
            Some(s) => s,
            None => match handle.load(self.entries[i].buffer.clone()) {
                Ok(s) => {
                    self.entries[i].slot = Some(s);
                    s
                }
                Err(e) => {
                    log::warn!("cannot publish a stretched table: {e}");
                    return;
                }
            },
        };
        let g = self.entries[i].geometry(slot);
        if handle
            .command(Command::Pad(pad, PadCmd::Table(from, g)))
            .is_ok()
            && !self.entries[i].pads.contains(&pad)
        {
            self.entries[i].pads.push(pad);
        }
    }

    /// Drops the tables of samples no longer loaded, then least recently wanted ones until
    /// the cache fits its budget.
    fn evict(&mut self, handle: &mut EngineHandle) {
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].key.source.alive() {
                i += 1;
                continue;
            }
            let e = self.entries.swap_remove(i);
            if let Some(slot) = e.slot {
                let _ = handle.command(Command::TableDrop(slot));
            }
        }
        self.refused.retain(|k| k.source.alive());
        loop {
            let held: usize = self.entries.iter().map(|e| e.buffer.memory_bytes()).sum();
            if held <= self.budget || self.entries.is_empty() {
                return;
            }
            let Some(i) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].used) else {
                return;
            };
            let e = self.entries.swap_remove(i);
            if let Some(slot) = e.slot {
                let _ = handle.command(Command::TableDrop(slot));
            }
        }
    }
}

impl Drop for TableService {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.cancel.store(true, Ordering::Relaxed);
            drop(w.jobs);
            for t in w.threads {
                let _ = t.join();
            }
        }
    }
}

/// Renders every job now, on every core, in job order. Not real-time.
fn render_all(jobs: Vec<Job>) -> Vec<Done> {
    let never = AtomicBool::new(false);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Done>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = stretch_table::render(&job.source, &job.key.spec(), &never);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some((job.key.clone(), r));
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

impl crate::control::offline::renderer::Feeder for TableService {
    fn before(&mut self, _start: u64, _end: u64, handle: &mut EngineHandle) -> usize {
        for r in std::mem::take(&mut self.asked) {
            self.want(&r, handle);
        }
        self.pump(handle);
        0
    }
    fn after(&mut self, _end: u64, events: &[EngineEvent]) {
        self.asked
            .extend(events.iter().filter_map(|e| match e.kind {
                EventKind::TableWanted(r) => Some(r),
                _ => None,
            }));
    }
}

/// The table request for a pad whose ratio is known from the set: key lock at a fixed tempo
/// (synced to the set's tempo, or its own speed), or a transpose. None when it plays plain.
pub fn known_ratio(pad: PadId, cfg: &PadConfig, bpm: f64, speed: f32) -> Option<TableRequest> {
    let pitch = crate::dsp::stretch::semitone_ratio(cfg.transpose as f64);
    let tempo = if !cfg.key_lock {
        1.0
    } else if cfg.sync && cfg.bpm > 0.0 {
        bpm / cfg.bpm as f64 * cfg.speed as f64
    } else {
        cfg.speed as f64 * speed as f64
    };
    if cents(pitch / tempo).abs() <= EXACT_CENTS {
        return None;
    }
    Some(TableRequest::for_pad(pad, cfg, tempo, pitch))
}

/// Runs the calling thread at a lower priority (a background renderer must not take CPU from
/// MIDI or control). Best effort.
fn lower_priority() {
    // SAFETY: plain syscall on the calling thread (tid 0 = self).
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}
