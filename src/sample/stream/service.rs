//! The disk service: one thread (or, offline, the renderer between blocks) that keeps every
//! streaming voice's next seconds resident, most urgent first, in play order including loop
//! wraps, and evicts what no voice needs, least recently needed first. Not real-time; it never
//! touches the audio thread except through atomics (see `chunk` and `hints`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use super::chunk::{ChunkPool, StreamedTable, chunk_shift, chunk_words};
use super::ctl::{ChunkError, NewTable, fill_chunk};
pub use super::ctl::{DiskError, DiskStatus, StreamCtl, StreamError};
use super::hints::StreamHints;
use super::reader::{DiskReader, SourceFile};

/// How far ahead of each voice the service keeps audio resident, in seconds of output.
pub const LOOKAHEAD_SECONDS: f64 = 1.5;

/// Pool chunks a voice reading a table of `frame_bytes`-byte frames needs: the look-ahead at
/// 2x speed, plus the chunk being read and one at the loop seam.
pub fn chunks_per_voice(rate: u32, chunk_bytes: usize, frame_bytes: usize) -> usize {
    let frames = 1usize << chunk_shift(chunk_bytes, frame_bytes);
    (LOOKAHEAD_SECONDS * 2.0 * rate as f64 / frames as f64).ceil() as usize + 3
}

struct Entry {
    table: Arc<StreamedTable>,
    file: SourceFile,
    name: String,
    /// Resident pool chunks: table chunk -> (pool buffer, last step it was needed).
    resident: HashMap<usize, (usize, u64)>,
}

/// What one service step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepReport {
    /// Chunks read.
    pub reads: usize,
    /// Chunks voices need that are still missing after the step.
    pub missing: usize,
    /// The reader said "not yet" (a simulated slow disk).
    pub waiting: bool,
}

/// The disk service proper (run by [`DiskThread`] or, offline, between blocks).
pub struct DiskService {
    hints: Arc<StreamHints>,
    reader: Box<dyn DiskReader>,
    pool: Arc<ChunkPool>,
    free: Vec<usize>,
    deferred: Vec<(usize, u64)>,
    tables: HashMap<u32, Entry>,
    incoming: Receiver<NewTable>,
    errors: Sender<DiskError>,
    status: Arc<DiskStatus>,
    rate: u32,
    clock: u64,
}

/// A disk service and its control side, for voices publishing to `hints` at `rate` Hz, with a
/// look-ahead pool of `pool_chunks` buffers of `chunk_bytes`, reading through `reader`.
/// Allocates the pool; not real-time.
pub fn disk_service(
    hints: Arc<StreamHints>,
    reader: Box<dyn DiskReader>,
    rate: u32,
    pool_chunks: usize,
    chunk_bytes: usize,
) -> (StreamCtl, DiskService) {
    let pool = Arc::new(ChunkPool::new(pool_chunks, chunk_bytes));
    let (to_service, incoming) = channel();
    let (errors_tx, errors) = channel();
    let status = Arc::new(DiskStatus::default());
    let ctl = StreamCtl {
        pool: pool.clone(),
        next_id: Arc::new(AtomicU32::new(0)),
        to_service,
        errors,
        status: status.clone(),
    };
    let service = DiskService {
        hints,
        reader,
        free: (0..pool_chunks).rev().collect(),
        pool,
        deferred: Vec::new(),
        tables: HashMap::new(),
        incoming,
        errors: errors_tx,
        status,
        rate,
        clock: 0,
    };
    (ctl, service)
}

/// A chunk some voice needs: (output frames until the voice reaches it, table, chunk).
type Want = (f64, u32, usize);

impl DiskService {
    /// Status shared with the control side.
    pub fn status(&self) -> &Arc<DiskStatus> {
        &self.status
    }

    /// Tells the reader that `frames` output frames passed (simulated disks).
    pub fn advance(&mut self, frames: u64) {
        self.reader.advance(frames);
    }

    /// Streamed tables registered.
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    /// Pool buffers currently holding a table's chunk.
    pub fn resident_chunks(&self) -> usize {
        self.tables.values().map(|e| e.resident.len()).sum()
    }

    fn take_new_and_drop_unused(&mut self) {
        while let Ok(n) = self.incoming.try_recv() {
            self.tables.insert(
                n.table.id,
                Entry {
                    table: n.table,
                    file: n.file,
                    name: n.name,
                    resident: HashMap::new(),
                },
            );
        }
        let epoch = self.hints.epoch();
        let unused: Vec<u32> = self
            .tables
            .iter()
            .filter(|(_, e)| Arc::strong_count(&e.table) == 1)
            .map(|(id, _)| *id)
            .collect();
        for id in unused {
            if let Some(e) = self.tables.remove(&id) {
                for (_, (k, _)) in e.resident {
                    self.deferred.push((k, epoch));
                }
                self.status
                    .names
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            }
        }
        let now = self.hints.epoch();
        let mut i = 0;
        while i < self.deferred.len() {
            if now > self.deferred[i].1 {
                let (k, _) = self.deferred.swap_remove(i);
                self.free.push(k);
            } else {
                i += 1;
            }
        }
    }

    /// Chunks every voice needs in the next [`LOOKAHEAD_SECONDS`], marked as needed now, with
    /// the missing ones returned most urgent first.
    fn wants(&mut self) -> Vec<Want> {
        self.clock += 1;
        let clock = self.clock;
        let mut out: Vec<Want> = Vec::new();
        for v in 0..self.hints.len() {
            let Some(h) = self.hints.get(v) else { continue };
            let Some(e) = self.tables.get_mut(&h.table) else {
                continue;
            };
            if e.table.failed() {
                continue;
            }
            let t = &e.table;
            let step = h.step.abs().max(0.05);
            let ahead = (LOOKAHEAD_SECONDS * self.rate as f64 * step) as usize + 4;
            let frames = t.frames;
            let looping = h.looping && h.loop_start + 4 <= h.loop_end && h.loop_end <= frames;
            let mut pos = (h.pos.max(0.0) as usize).saturating_sub(2).min(frames);
            let mut left = ahead;
            let mut travelled = 0usize;
            let mut guard = 0;
            while left > 0 && guard < 64 {
                guard += 1;
                let end = if looping && pos < h.loop_end {
                    h.loop_end
                } else {
                    frames
                };
                let seg_end = end.min(pos + left);
                if seg_end > pos {
                    for c in t.chunk_of(pos)..=t.chunk_of(seg_end - 1) {
                        let first = (c * t.chunk_frames()).max(pos);
                        let until = (travelled + first - pos) as f64 / step;
                        match e.resident.get_mut(&c) {
                            Some(r) => r.1 = clock,
                            None if t.resident(c) => {} // a pinned head
                            None => out.push((until, h.table, c)),
                        }
                    }
                    travelled += seg_end - pos;
                    left -= seg_end - pos;
                }
                if looping && seg_end >= h.loop_end {
                    pos = h.loop_start;
                } else {
                    break;
                }
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        out.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
        out
    }

    /// Unmaps least recently needed chunks no voice needs now until `want` buffers are free or
    /// on their way back (they return once the block epoch moves on).
    fn evict_to(&mut self, want: usize) {
        let have = self.free.len() + self.deferred.len();
        if have >= want {
            return;
        }
        let clock = self.clock;
        let mut victims: Vec<(u64, u32, usize)> = self
            .tables
            .iter()
            .flat_map(|(id, e)| {
                e.resident
                    .iter()
                    .map(move |(c, (_, used))| (*used, *id, *c))
            })
            .filter(|(used, _, _)| *used < clock)
            .collect();
        victims.sort_unstable();
        let epoch = self.hints.epoch();
        for (_, id, c) in victims.into_iter().take(want - have) {
            if let Some(e) = self.tables.get_mut(&id)
                && let Some((k, _)) = e.resident.remove(&c)
            {
                e.table.unpublish(c);
                self.deferred.push((k, epoch));
            }
        }
    }

    /// Does one round of work: takes new tables, drops unused ones, reads up to `max_reads`
    /// of the most urgent missing chunks. Not real-time (blocks on the reader).
    pub fn step(&mut self, max_reads: usize) -> StepReport {
        self.take_new_and_drop_unused();
        let wants = self.wants();
        let mut report = StepReport::default();
        let mut done = 0;
        for &(_, id, c) in &wants {
            if report.reads >= max_reads {
                break;
            }
            let Some(k) = self.free.pop() else {
                self.evict_to(1);
                if self.deferred.is_empty() {
                    self.status.pool_exhausted.fetch_add(1, Ordering::Relaxed);
                }
                break;
            };
            let Some(e) = self.tables.get_mut(&id) else {
                self.free.push(k);
                continue;
            };
            let t = e.table.clone();
            // SAFETY: buffer k is free: unmapped and past its eviction epoch (module protocol).
            let buf = unsafe { self.pool.chunk_mut(k) };
            let fb = t.frame_bytes();
            let shift = chunk_shift(self.pool.chunk_bytes(), fb);
            let need = chunk_words(shift, fb) * 8;
            self.status.busy_table.store(id + 1, Ordering::Release);
            self.status
                .busy_since
                .store(self.status.now_ns(), Ordering::Release);
            let r = fill_chunk(
                self.reader.as_mut(),
                &e.file,
                t.frames,
                (t.format, t.groups),
                shift,
                c,
                &mut buf[..need],
            );
            self.status.busy_since.store(0, Ordering::Release);
            match r {
                Ok(Some(())) => {
                    t.publish(c, self.pool.ptr(k));
                    e.resident.insert(c, (k, self.clock));
                    report.reads += 1;
                    done += 1;
                    self.status.reads.fetch_add(1, Ordering::Relaxed);
                    self.status.bytes.fetch_add(need as u64, Ordering::Relaxed);
                }
                Ok(None) => {
                    // Submitted to a simulated disk that answers later: ask for the next one.
                    self.free.push(k);
                    report.waiting = true;
                }
                Err(err) => {
                    self.free.push(k);
                    t.set_failed();
                    let (reason, damaged) = match err {
                        ChunkError::Failed(r) => (r, false),
                        ChunkError::Damaged(r) => (r, true),
                    };
                    if damaged {
                        // A damaged prepared copy is ours: drop it so the next load makes it
                        // again from the source.
                        let _ = std::fs::remove_file(&e.file.path);
                    }
                    let _ = self.errors.send(DiskError {
                        name: e.name.clone(),
                        path: e.file.path.display().to_string(),
                        reason,
                        damaged,
                    });
                }
            }
        }
        report.missing = wants.len().saturating_sub(done);
        // Keep some buffers free ahead of need (eviction takes a block to complete).
        let low = (self.pool.len() / 8).max(2);
        self.evict_to(low);
        report
    }

    /// Steps until every voice's look-ahead is resident (offline "wait for disk" rendering;
    /// blocks on the reader). Gives up when a step makes no progress.
    pub fn fill_all(&mut self) -> StepReport {
        let mut last = StepReport::default();
        for _ in 0..10_000 {
            last = self.step(64);
            if last.missing == 0 || (last.reads == 0 && self.free.is_empty()) || last.waiting {
                break;
            }
        }
        last
    }
}

/// The disk service on its own thread, stepping every few milliseconds.
pub struct DiskThread {
    stop: Arc<AtomicBool>,
    join: Option<std::thread::JoinHandle<()>>,
}

/// Name of the disk thread.
pub const DISK_THREAD: &str = "padlooper-disk";

impl DiskThread {
    /// Starts `service` on a thread of its own. Not real-time.
    pub fn spawn(mut service: DiskService) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let join = std::thread::Builder::new()
            .name(DISK_THREAD.into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let r = service.step(8);
                    if r.reads == 0 {
                        std::thread::sleep(Duration::from_millis(4));
                    }
                }
            })?;
        Ok(Self {
            stop,
            join: Some(join),
        })
    }

    /// Asks the thread to stop and waits for it unless it is stuck in a read (a hung disk):
    /// then it is left behind.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(j) = self.join.take() {
            let t0 = Instant::now();
            while !j.is_finished() && t0.elapsed() < Duration::from_millis(500) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if j.is_finished() {
                let _ = j.join();
            }
        }
    }
}

impl Drop for DiskThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
