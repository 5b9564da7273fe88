//! Planning a set's sample memory and preparing its streamed tables: probes every sample's
//! size without decoding it, plans RAM against streaming within `memory_limit`, and makes the
//! streamed tables (prepared PCM, RAM heads, the disk service). Not real-time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::ranged::MemoryLimit;
use crate::config::set::SetFile;
use crate::engine::EngineHandle;
use crate::engine::params as P;
use crate::sample::buffer::StemInfo;
use crate::sample::loader::LoadFn;
use crate::sample::plan::{Budget, PadUse, Plan, PlanError, Residency, TableInfo, plan};
use crate::sample::stream::chunk::{DEFAULT_CHUNK_BYTES, Format};
use crate::sample::stream::prepare::{self, Prepared};
use crate::sample::stream::service::{DiskService, StreamCtl, disk_service};
use crate::sample::stream::{DiskReader, PreadReader, SourceFile};
use crate::sample::{SampleBuffer, SampleSource};

use crate::control::set::table_store::{StreamKey, TableStore};

/// A source's ready buffer with its load warnings, or its error message.
pub type Made = Result<(Arc<SampleBuffer>, Vec<String>), String>;

/// How a set's samples are placed in memory.
pub struct StreamOptions {
    /// Overrides the set's `memory_limit` (bench and tests), in bytes.
    pub limit: Option<u64>,
    /// Where decoded-and-resampled tables that stream are cached.
    pub cache_dir: PathBuf,
    /// The disk reads (None: the real disk).
    pub reader: Option<Box<dyn DiskReader>>,
    /// Bytes of one streaming chunk buffer.
    pub chunk_bytes: usize,
    /// Largest loop region kept in RAM while its table streams.
    pub loop_ram_max: u64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            limit: None,
            cache_dir: prepare::default_cache_dir(),
            reader: None,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            loop_ram_max: crate::sample::plan::LOOP_RAM_MAX,
        }
    }
}

/// A set's streaming parts: the control side, and the disk service for the front-end to run
/// (on a [`DiskThread`](crate::sample::stream::DiskThread), or between offline blocks).
pub struct Streaming {
    /// Prepares tables, reports errors and disk status.
    pub ctl: StreamCtl,
    /// The service (taken by whoever runs it).
    pub service: Option<DiskService>,
}

impl std::fmt::Debug for Streaming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streaming")
            .field("pool_bytes", &self.ctl.pool_bytes())
            .finish()
    }
}

/// The memory limit for `set` in bytes (option, else the set's, else the default share).
pub fn limit_bytes(set: &SetFile, opts: &StreamOptions) -> u64 {
    if let Some(l) = opts.limit {
        return l;
    }
    let physical = crate::sample::memory::physical_memory().unwrap_or(2_000_000_000);
    set.master
        .memory_limit
        .unwrap_or(MemoryLimit::DEFAULT)
        .bytes(physical)
}

/// The plan's budget for `set` at `rate` Hz.
pub fn budget(set: &SetFile, rate: u32, opts: &StreamOptions) -> Budget {
    // Recordings count against the budget: a blank tape waits, and a second one is made while
    // a take runs (a finished take is then compacted to its size).
    let reserved = 2 * (set.master.record_seconds.max(0.0) as f64 * rate as f64) as u64 * 8;
    let limit = limit_bytes(set, opts);
    Budget {
        limit: limit.saturating_sub(reserved),
        reserved: reserved.min(limit),
        rate,
        chunk_bytes: opts.chunk_bytes,
        voices: set.master.voices,
        max_speed: P::SPEED.hi as f64,
        disk_rate: set.master.disk_mb_s as f64 * 1e6,
        loop_ram_max: opts.loop_ram_max,
    }
}

/// Size and format of one source at `rate` Hz, without decoding it (exact for WAV files, an
/// upper bound for built-in sounds, from the container's frame count otherwise; None when
/// unknown): frames, format, whether it can stream, stereo pairs per frame.
fn probe(source: &SampleSource, rate: u32) -> Option<(usize, Format, bool, usize)> {
    if let SampleSource::Stems(s) = source {
        return probe_stems(s, rate);
    }
    let (frames, format, streamable) = probe_one(source, rate)?;
    Some((frames, format, streamable, 1))
}

/// A stem bundle's size: its longest part, every stem plus the mix, 16-bit only when every
/// part is.
fn probe_stems(
    s: &crate::sample::stems::StemSource,
    rate: u32,
) -> Option<(usize, Format, bool, usize)> {
    use crate::sample::stems::StemFiles;
    if let StemFiles::Ni(path) = &s.files {
        // A stem file's tracks are compressed: its size is its duration times 5 pairs.
        let p = crate::sample::decode::probe_file(path).ok()?;
        let frames = p.frames? as f64 * rate as f64 / p.rate.max(1) as f64;
        return Some((frames.ceil() as usize, Format::F32, true, 1 + 4));
    }
    let paths = s.paths().ok()?;
    let stems = paths.len() - usize::from(s.mix.is_some());
    let mut frames = 0;
    let mut sixteen = true;
    for p in &paths {
        let (f, format, _) = probe_one(&SampleSource::File(p.clone()), rate)?;
        frames = frames.max(f);
        sixteen &= format == Format::I16;
    }
    let format = if sixteen { Format::I16 } else { Format::F32 };
    Some((frames, format, true, 1 + stems))
}

/// [`probe`] for a plain file or built-in sound.
fn probe_one(source: &SampleSource, rate: u32) -> Option<(usize, Format, bool)> {
    match source {
        // At most MAX_SECONDS (a bound: rendering them here would do the work twice).
        SampleSource::Builtin(name) => {
            crate::sample::builtin::NAMES
                .contains(&name.as_str())
                .then(|| {
                    let frames = (crate::sample::builtin::MAX_SECONDS * rate as f64).ceil();
                    (frames as usize, Format::F32, false)
                })
        }
        SampleSource::File(path) => {
            if let Some(p) = prepare::straight_wav(path, rate) {
                return Some((p.frames, p.format, true));
            }
            let p = crate::sample::decode::probe_file(path).ok()?;
            let frames = p.frames? as f64 * rate as f64 / p.rate.max(1) as f64;
            let format = if p.sixteen_bit {
                Format::I16
            } else {
                Format::F32
            };
            Some((frames.ceil() as usize, format, true))
        }
        SampleSource::Stems(_) => None,
    }
}

/// The tables of `set` (one per distinct source, in source order) with the pads using them.
pub fn tables(set: &SetFile, rate: u32) -> Vec<(SampleSource, TableInfo)> {
    // The pads of each source, in one pass (sources in order).
    let mut users: std::collections::BTreeMap<&SampleSource, Vec<&crate::config::set::PadSpec>> =
        std::collections::BTreeMap::new();
    for p in &set.pads {
        users.entry(&p.source).or_default().push(p);
    }
    let secs = |s: f64| (s * rate as f64).round().max(0.0) as usize;
    users
        .into_iter()
        .map(|(src, pads)| {
            let src = src.clone();
            let (frames, format, streamable, groups) =
                probe(&src, rate).unwrap_or((0, Format::F32, false, 1));
            let pads = pads
                .into_iter()
                .map(|p| {
                    let loop_start = secs(p.loop_start).min(frames);
                    PadUse {
                        label: format!("bank {} pad {}", p.bank, p.index),
                        start: p.start.map_or(loop_start, secs).min(frames),
                        loop_start,
                        loop_end: p.loop_end.map_or(frames, secs).min(frames),
                        looping: p.looping,
                        speed: p.speed as f64,
                        stretched: p.key_lock || p.transpose != 0.0,
                    }
                })
                .collect();
            let info = TableInfo {
                name: src.to_string(),
                frames,
                format,
                streamable,
                groups,
                pads,
            };
            (src, info)
        })
        .collect()
}

/// Plans `set`'s sample memory at `rate` Hz. Not real-time (reads file headers).
pub fn plan_set(set: &SetFile, rate: u32, opts: &StreamOptions) -> Result<Plan, PlanError> {
    let infos = tables(set, rate).into_iter().map(|(_, t)| t).collect();
    plan_tables(infos, set, rate, opts)
}

/// Plans `infos` within `set`'s budget, recording tapes set aside; when the samples cannot
/// fit beside the tapes even streamed, planned without them, with a warning saying so (the
/// set still plays). Not real-time.
pub fn plan_tables(
    infos: Vec<TableInfo>,
    set: &SetFile,
    rate: u32,
    opts: &StreamOptions,
) -> Result<Plan, PlanError> {
    let b = budget(set, rate, opts);
    if b.reserved == 0 {
        return plan(infos, b);
    }
    let reserved = b.reserved;
    match plan(infos.clone(), b) {
        Ok(p) => Ok(p),
        Err(_) => {
            let mut whole = budget(set, rate, opts);
            whole.limit += whole.reserved;
            whole.reserved = 0;
            let mut p = plan(infos, whole)?;
            p.warnings.push(format!(
                "{}: the recording tapes ({:.1} MB for `record_seconds` = {}) do not fit in `memory_limit` beside the samples; they are held beyond it: lower record_seconds (0 if this set does not record) or raise memory_limit",
                set.path.display(),
                reserved as f64 / 1e6,
                set.master.record_seconds
            ));
            Ok(p)
        }
    }
}

/// The plan as lines for `check --plan` and the load log.
pub fn describe(plan: &Plan) -> Vec<String> {
    let mb = |b: f64| b / 1e6;
    let mut out = Vec::new();
    for t in &plan.tables {
        let what = match &t.residency {
            Residency::Ram => "RAM     ".to_string(),
            Residency::Streamed { .. } => "streamed".to_string(),
        };
        let rate = if t.disk_rate > 0.0 {
            format!(
                ", disk {:.2} MB/s at 1x, {:.2} MB/s at {}x",
                mb(t.disk_rate),
                mb(t.disk_rate * plan.budget.max_speed),
                plan.budget.max_speed
            )
        } else {
            String::new()
        };
        let pads: Vec<&str> = t.info.pads.iter().map(|p| p.label.as_str()).collect();
        out.push(format!(
            "{what} {:>8.1} MB in RAM of {:>8.1} MB  {} ({}){rate}",
            mb(t.ram_bytes as f64),
            mb(t.info.bytes() as f64),
            t.info.name,
            pads.join(", ")
        ));
    }
    let streamed = plan
        .tables
        .iter()
        .filter(|t| t.residency != Residency::Ram)
        .count();
    let tapes = if plan.budget.reserved > 0 {
        format!(
            ", after {:.1} MB kept for recording tapes",
            mb(plan.budget.reserved as f64)
        )
    } else {
        String::new()
    };
    out.push(format!(
        "total {:.1} MB of {:.1} MB allowed (`memory_limit`{tapes}): {} table(s) in RAM, {streamed} streamed, {:.1} MB of streaming buffers; disk {:.2} MB/s at 1x, {:.2} MB/s at {}x",
        mb(plan.total() as f64),
        mb(plan.budget.limit as f64),
        plan.tables.len() - streamed,
        mb(plan.pool_bytes as f64),
        mb(plan.disk_rate_1x()),
        mb(plan.disk_rate_max()),
        plan.budget.max_speed
    ));
    out.extend(plan.warnings.iter().cloned());
    out
}

/// Logs the plan of a loaded set: every table when something streams (else at debug level),
/// and the totals.
pub fn log_plan(plan: Option<&Plan>) {
    let Some(plan) = plan else { return };
    let lines = describe(plan);
    let (last, tables) = lines.split_at(plan.tables.len().min(lines.len()));
    for l in tables {
        if plan.streams() {
            log::info!("memory plan: {l}");
        } else {
            log::debug!("memory plan: {l}");
        }
    }
    for l in last {
        log::info!("memory plan: {l}");
    }
}

/// Makes the streamed tables of `plan` (prepared PCM, heads read now) and registers them with
/// a new disk service; returns each source's buffer or its error, and the streaming parts.
/// Decodes what cannot stream as it is (one file at a time, to bound memory) through `load`.
pub fn prepare_streamed(
    plan: &Plan,
    sources: &[(SampleSource, TableInfo)],
    handle: &EngineHandle,
    load: &LoadFn,
    opts: &mut StreamOptions,
    store: &mut TableStore,
) -> (HashMap<SampleSource, Made>, Option<Streaming>) {
    let mut out = HashMap::new();
    if !plan.streams() {
        return (out, None);
    }
    let rate = handle.settings().sample_rate;
    // A disk service only when a table must be made (a reload that finds every streamed table
    // in the cache keeps them on the service that already serves them).
    let mut parts: Option<(StreamCtl, DiskService)> = None;
    for (tp, (src, _)) in plan.tables.iter().zip(sources) {
        let Residency::Streamed { heads } = &tp.residency else {
            continue;
        };
        let mut warnings = Vec::new();
        // A prepared copy found damaged when its heads are read is made again, once.
        let mut remade = false;
        let made = loop {
            let prepared: Result<Prepared, String> = match src {
                SampleSource::File(path) => match prepare::straight_wav(path, rate) {
                    Some(p) => Ok(p),
                    None => cached_or_decoded(src, rate, load, opts, store, &mut warnings),
                },
                SampleSource::Stems(_) => {
                    cached_or_decoded(src, rate, load, opts, store, &mut warnings)
                }
                SampleSource::Builtin(_) => break Err(String::new()),
            };
            let p = match prepared {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            let key = StreamKey::new(&p.path, p.data_offset, p.frames, p.format, heads, rate);
            if let Some(buf) = key.as_ref().and_then(|k| store.get_streamed(k)) {
                break Ok(buf);
            }
            let (ctl, _) = parts.get_or_insert_with(|| {
                let reader = opts.reader.take().unwrap_or_else(|| Box::new(PreadReader));
                disk_service(
                    handle.stream_hints().clone(),
                    reader,
                    rate,
                    plan.pool_chunks,
                    opts.chunk_bytes,
                )
            });
            let mut file = match SourceFile::open(&p.path, p.data_offset) {
                Ok(f) => f,
                Err(e) => {
                    break Err(format!(
                        "{}: cannot open it for streaming: {e}",
                        p.path.display()
                    ));
                }
            };
            file.checks = p.checks.clone();
            let table = match ctl.prepare(
                &src.to_string(),
                file,
                p.frames,
                (p.format, p.groups),
                heads,
            ) {
                Ok(t) => t,
                Err(crate::sample::stream::service::StreamError::Damaged { path, reason })
                    if !remade =>
                {
                    let _ = std::fs::remove_file(&path);
                    warnings.push(format!(
                        "{src}: its prepared copy {path} was damaged ({reason}); made it again from the source"
                    ));
                    remade = true;
                    continue;
                }
                Err(e) => break Err(e.to_string()),
            };
            let mut buf = SampleBuffer::streamed(src.to_string(), rate, table);
            buf.end_frac = p.end_frac;
            if let SampleSource::Stems(s) = src {
                buf.stems = stem_infos(s, p.groups);
            }
            let buf = Arc::new(buf);
            if let Some(k) = key {
                store.insert_streamed(k, buf.clone());
            }
            break Ok(buf);
        };
        if matches!(src, SampleSource::Builtin(_)) {
            continue;
        }
        out.insert(src.clone(), made.map(|b| (b, warnings)));
    }
    let streaming = parts.map(|(ctl, service)| Streaming {
        ctl,
        service: Some(service),
    });
    (out, streaming)
}

/// The names and colours of a streamed bundle's `groups - 1` stems (from the files' names or
/// the stem file's metadata, as the in-RAM loader names them).
fn stem_infos(s: &crate::sample::stems::StemSource, groups: usize) -> Vec<StemInfo> {
    let mut infos = s.infos().unwrap_or_default();
    let n = groups.saturating_sub(1);
    infos.truncate(n);
    while infos.len() < n {
        let i = infos.len();
        let name = format!("stem{}", i + 1);
        infos.push(StemInfo {
            color: crate::sample::stems::default_color(&name, i),
            name,
        });
    }
    infos
}

/// The prepared cache file of a source that cannot stream as it is (a compressed or
/// resampled file, a stem bundle): reused when present, else decoded and resampled by the
/// in-RAM pipeline and written. Named by the source's content key.
fn cached_or_decoded(
    src: &SampleSource,
    rate: u32,
    load: &LoadFn,
    opts: &StreamOptions,
    store: &mut TableStore,
    warnings: &mut Vec<String>,
) -> Result<Prepared, String> {
    let hash = store
        .key(src, rate)
        .ok_or_else(|| format!("{src}: cannot read it"))?
        .content;
    let cache = prepare::cache_path(&opts.cache_dir, hash, rate);
    if let Some(p) = prepare::read_cached(&cache) {
        return Ok(p);
    }
    if let SampleSource::File(path) = src {
        // Straight from the decoder into the prepared file: memory stays bounded.
        let (p, w) = prepare::prepare_file(path, rate, &cache).map_err(|e| match e {
            crate::sample::error::SampleError::Write { error: source, .. } => format!(
                "{src}: cannot write its prepared copy to {} for streaming: {source}; make the cache folder writable or raise memory_limit",
                cache.display()
            ),
            other => other.to_string(),
        })?;
        warnings.extend(w);
        return Ok(p);
    }
    let loaded = load(src, rate).map_err(|e| e.to_string())?;
    warnings.extend(loaded.warnings.iter().cloned());
    let written = prepare::write_cached(&cache, &loaded.buffer).map_err(|e| {
        format!(
            "{src}: cannot write its prepared copy to {} for streaming: {e}; make the cache folder writable or raise memory_limit",
            cache.display()
        )
    });
    drop(loaded);
    crate::sample::memory::give_back_free_memory();
    written
}
