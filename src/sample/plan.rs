//! The memory planner: at set load it decides, per table, whether it is held in RAM or streamed
//! from disk with RAM heads, so the set fits its memory budget; a set that cannot fit even
//! streamed is refused at load, saying by how much. Not real-time (pure arithmetic).

use std::ops::Range;

use super::stream::chunk::{Format, chunk_shift, chunk_words};
use super::stream::service::chunks_per_voice;

/// Seconds of audio kept in RAM at every place a pad starts (its start and its loop start), so
/// a trigger sounds at once while the disk catches up.
pub const HEAD_SECONDS: f64 = 2.0;

/// By default a loop region at most this large stays in RAM even when its table streams (only
/// the intro streams then), as long as the set still fits.
pub const LOOP_RAM_MAX: u64 = 8 * 1024 * 1024;

/// A table larger than this share of the limit always streams (the specification's rule).
pub const STREAM_SHARE: f64 = 0.10;

/// How a pad uses a table (frames of the table).
#[derive(Debug, Clone, PartialEq)]
pub struct PadUse {
    /// Where the pad is, for messages ("set.toml:12: bank 0 pad 3").
    pub label: String,
    /// Where a press starts.
    pub start: usize,
    /// Loop region.
    pub loop_start: usize,
    /// Loop region end.
    pub loop_end: usize,
    /// Whether it loops.
    pub looping: bool,
    /// The pad's own speed.
    pub speed: f64,
    /// Key lock or transpose (stretched tables are made from the whole table in RAM).
    pub stretched: bool,
}

/// One table to place.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// Its name (file).
    pub name: String,
    /// Stereo frames.
    pub frames: usize,
    /// Storage format.
    pub format: Format,
    /// Whether it can stream at all (files can; built-in sounds and stem bundles cannot).
    pub streamable: bool,
    /// Stereo pairs per frame (1; a stem bundle: 1 + its stems).
    pub groups: usize,
    /// The pads playing it.
    pub pads: Vec<PadUse>,
}

impl TableInfo {
    /// Bytes of one frame (all of a bundle's pairs).
    pub fn frame_bytes(&self) -> usize {
        self.format.frame_bytes() * self.groups.max(1)
    }

    /// Bytes the whole table takes in RAM.
    pub fn bytes(&self) -> u64 {
        (self.frames * self.frame_bytes()) as u64
    }
}

/// What the plan needs besides the tables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Bytes the sample memory may take (tables, heads and the streaming pool).
    pub limit: u64,
    /// Output rate.
    pub rate: u32,
    /// Bytes of one streaming chunk buffer.
    pub chunk_bytes: usize,
    /// Most voices that may play at once.
    pub voices: usize,
    /// Fastest playback speed (global speed times nudge) to plan the disk rate for.
    pub max_speed: f64,
    /// What the storage sustains, in bytes per second (0: unknown).
    pub disk_rate: f64,
    /// Largest loop region kept in RAM while its table streams (see [`LOOP_RAM_MAX`]).
    pub loop_ram_max: u64,
    /// Bytes kept aside for recording tapes (already taken off `limit`).
    pub reserved: u64,
}

/// Where a table lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Residency {
    /// Whole in RAM.
    Ram,
    /// Streamed from disk; these frame ranges stay in RAM.
    Streamed {
        /// Head ranges (and a small loop region) kept resident.
        heads: Vec<Range<usize>>,
    },
}

/// The decision for one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// The table.
    pub info: TableInfo,
    /// RAM or streamed.
    pub residency: Residency,
    /// Bytes it holds in RAM (the whole table, or its heads).
    pub ram_bytes: u64,
    /// Disk read rate it needs at global speed 1x with every pad on it playing at its own speed,
    /// bytes/s (0 in RAM).
    pub disk_rate: f64,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Per table, in the order given.
    pub tables: Vec<TablePlan>,
    /// Bytes of the streaming pool (0 when nothing streams).
    pub pool_bytes: u64,
    /// Pool chunks.
    pub pool_chunks: usize,
    /// The limit planned for.
    pub budget: Budget,
    /// Things worth a warning (disk too slow, ...).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Bytes the plan holds in RAM: tables, heads and pool.
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|t| t.ram_bytes).sum::<u64>() + self.pool_bytes
    }

    /// Whether anything streams.
    pub fn streams(&self) -> bool {
        self.pool_chunks > 0
    }

    /// Disk read rate needed with every streamed pad playing at 1x, bytes/s.
    pub fn disk_rate_1x(&self) -> f64 {
        self.tables.iter().map(|t| t.disk_rate).sum()
    }

    /// The same at the fastest global speed the set allows (pads' own speeds included in both).
    pub fn disk_rate_max(&self) -> f64 {
        self.disk_rate_1x() * self.budget.max_speed
    }
}

/// Why a set cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// Even with everything streamable streamed, the set needs more than the limit.
    #[error(
        "the set needs {need_mb:.1} MB of sample memory even with every long sample streamed from disk, {over_mb:.1} MB more than `memory_limit` ({limit_mb:.1} MB); raise memory_limit, use fewer or shorter samples, or turn key lock off for long ones (key-locked samples stay in RAM)"
    )]
    DoesNotFit {
        /// MB needed.
        need_mb: f64,
        /// MB over.
        over_mb: f64,
        /// The limit in MB.
        limit_mb: f64,
    },
}

/// RAM bytes of the chunks covering `ranges` of a `frames`-frame table of `frame_bytes`-byte
/// frames.
pub fn head_bytes(
    ranges: &[Range<usize>],
    frames: usize,
    frame_bytes: usize,
    chunk_bytes: usize,
) -> u64 {
    let shift = chunk_shift(chunk_bytes, frame_bytes);
    let mut chunks: Vec<usize> = ranges
        .iter()
        .filter(|r| r.start < r.end && r.start < frames)
        .flat_map(|r| (r.start >> shift)..=((r.end.min(frames) - 1) >> shift))
        .collect();
    chunks.sort_unstable();
    chunks.dedup();
    (chunks.len() * chunk_words(shift, frame_bytes) * 8) as u64
}

/// The RAM ranges of a streamed table: a head at every start and loop start, and the whole
/// loop region when every pad on it loops a small one.
fn heads_of(t: &TableInfo, rate: u32, loop_ram_max: u64) -> Vec<Range<usize>> {
    let head = (HEAD_SECONDS * rate as f64) as usize;
    let mut out = Vec::new();
    for p in &t.pads {
        let loop_bytes = ((p.loop_end.saturating_sub(p.loop_start)) * t.frame_bytes()) as u64;
        out.push(p.start..(p.start + head).min(t.frames));
        // Only worth it when the loop is a small part of the table (an intro streams).
        if p.looping && loop_bytes <= loop_ram_max && 2 * loop_bytes <= t.bytes() {
            out.push(p.loop_start..p.loop_end.min(t.frames));
        } else {
            out.push(p.loop_start..(p.loop_start + head).min(t.frames));
        }
    }
    out
}

/// Plans `tables` within `budget`: tables over [`STREAM_SHARE`] of the limit stream, then the
/// largest others until the set fits. Not real-time.
pub fn plan(tables: Vec<TableInfo>, budget: Budget) -> Result<Plan, PlanError> {
    let bytes_per_s = |t: &TableInfo| {
        (budget.rate as usize * t.frame_bytes()) as f64
            * t.pads.iter().map(|p| p.speed.abs().max(0.0)).sum::<f64>()
    };
    let streamable = |t: &TableInfo| t.streamable && !t.pads.iter().any(|p| p.stretched);
    let mut plans: Vec<TablePlan> = tables
        .into_iter()
        .map(|info| TablePlan {
            ram_bytes: info.bytes(),
            residency: Residency::Ram,
            disk_rate: 0.0,
            info,
        })
        .collect();
    // Streaming buffers: every pad on a streamed table may play, a quarter more for voices
    // fading out after a retrigger, never more than the polyphony.
    let pool_chunks = |plans: &[TablePlan]| {
        let per_pad: Vec<usize> = plans
            .iter()
            .filter(|p| p.residency != Residency::Ram)
            .flat_map(|p| {
                let n = chunks_per_voice(budget.rate, budget.chunk_bytes, p.info.frame_bytes());
                p.info.pads.iter().map(move |_| n)
            })
            .collect();
        if per_pad.is_empty() {
            return 0;
        }
        let pads = per_pad.len();
        let most = per_pad.iter().copied().max().unwrap_or(0);
        let voices = (pads + pads / 4 + 2).min(budget.voices.max(1));
        let mut sorted = per_pad;
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.iter().take(voices).sum::<usize>() + most * voices.saturating_sub(pads)
    };
    let go_stream = |p: &mut TablePlan, loop_ram_max: u64| {
        let heads = heads_of(&p.info, budget.rate, loop_ram_max);
        p.ram_bytes = head_bytes(
            &heads,
            p.info.frames,
            p.info.frame_bytes(),
            budget.chunk_bytes,
        );
        p.disk_rate = bytes_per_s(&p.info);
        p.residency = Residency::Streamed { heads };
    };
    let share = (budget.limit as f64 * STREAM_SHARE) as u64;
    for p in plans.iter_mut() {
        if streamable(&p.info) && p.info.bytes() > share {
            go_stream(p, budget.loop_ram_max);
        }
    }
    let total = |plans: &[TablePlan]| {
        plans.iter().map(|p| p.ram_bytes).sum::<u64>()
            + (pool_chunks(plans) * budget.chunk_bytes) as u64
    };
    while total(&plans) > budget.limit {
        let next = plans
            .iter_mut()
            .filter(|p| p.residency == Residency::Ram && streamable(&p.info))
            .max_by_key(|p| p.info.bytes());
        match next {
            Some(p) => go_stream(p, budget.loop_ram_max),
            None => break,
        }
    }
    // Over the limit with loops in RAM: stream them too (largest tables first).
    while total(&plans) > budget.limit {
        let next = plans
            .iter_mut()
            .filter(|p| {
                matches!(&p.residency, Residency::Streamed { .. })
                    && p.ram_bytes
                        > head_bytes(
                            &heads_of(&p.info, budget.rate, 0),
                            p.info.frames,
                            p.info.frame_bytes(),
                            budget.chunk_bytes,
                        )
            })
            .max_by_key(|p| p.ram_bytes);
        match next {
            Some(p) => go_stream(p, 0),
            None => break,
        }
    }
    let need = total(&plans);
    if need > budget.limit {
        let mb = |b: u64| b as f64 / 1e6;
        return Err(PlanError::DoesNotFit {
            need_mb: mb(need),
            over_mb: mb(need - budget.limit),
            limit_mb: mb(budget.limit),
        });
    }
    let chunks = pool_chunks(&plans);
    let mut plan = Plan {
        tables: plans,
        pool_bytes: (chunks * budget.chunk_bytes) as u64,
        pool_chunks: chunks,
        budget,
        warnings: Vec::new(),
    };
    if budget.disk_rate > 0.0 && plan.disk_rate_max() > budget.disk_rate {
        plan.warnings.push(format!(
            "the streamed pads need up to {:.1} MB/s from disk at the fastest speed ({:.1} MB/s at 1x), more than the {:.1} MB/s the storage is declared to sustain (`disk_mb_s`); pads may fade out when many play at once: use faster storage (a USB SSD) or raise memory_limit",
            plan.disk_rate_max() / 1e6,
            plan.disk_rate_1x() / 1e6,
            budget.disk_rate / 1e6
        ));
    }
    Ok(plan)
}
