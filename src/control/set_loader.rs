//! Loads a set's samples and publishes pads to the engine. Not real-time.

use crate::engine::command::PadCmd;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::set::{PadSpec, PadTempo, SetFile};
use crate::dsp::db_to_gain;
use crate::engine::command::{Command, PadConfig, PadId, SlotId, TransportCmd};
use crate::engine::stems::StemMix;
use crate::engine::{EngineHandle, EngineSettings};
use crate::sample::loader::{LoadFn, load_in_order, load_one};
use crate::sample::{SampleBuffer, SampleSource};

use super::stream_load::{self, StreamOptions};
use super::table_store::{TableKey, TableStore};

/// What loading a set did.
#[derive(Debug, Default)]
pub struct SetLoadReport {
    /// Distinct samples loaded.
    pub samples_loaded: usize,
    /// One message per problem (file, line and what to do); the rest of the set still plays.
    pub errors: Vec<String>,
    /// Problems that did not stop a sample from loading (cut-short files, NaN samples).
    pub warnings: Vec<String>,
    /// Time to decode and resample everything.
    pub load_time: Duration,
    /// Bytes of sample memory held, and the float32 size of the same audio.
    pub memory: (usize, usize),
    /// Pads published to the engine (global ids).
    pub ready_pads: Vec<usize>,
    /// Pads whose sample or region failed (global ids).
    pub failed_pads: Vec<usize>,
    /// The configuration each ready pad was published with.
    pub configs: Vec<(PadId, PadConfig)>,
    /// Tempo estimates for looping pads whose tempo the set does not give (shown by `check`,
    /// never applied).
    pub estimates: Vec<String>,
    /// The memory plan (RAM or streamed, per table).
    pub plan: Option<crate::sample::plan::Plan>,
    /// Pads a reload left as they were (same sample, region and settings).
    pub unchanged_pads: usize,
    /// Pads a reload cleared (the new set does not have them).
    pub removed_pads: usize,
    /// The streaming parts when something streams: run `service` (see
    /// [`Streaming`](super::stream_load::Streaming)) or streamed pads stay on their heads.
    pub streaming: Option<super::stream_load::Streaming>,
}

/// A plausible tempo for a loop of `seconds` that is a whole number of bars (1 to 32 bars of
/// `beats_per_bar`): within 0.02 BPM of a whole or half BPM between 60 and 200, the one
/// closest to `near`. Returns (beats, bpm).
pub fn estimate_tempo(seconds: f64, beats_per_bar: u32, near: f64) -> Option<(u32, f64)> {
    [1u32, 2, 4, 8, 16, 32]
        .iter()
        .map(|bars| {
            let beats = bars * beats_per_bar;
            (beats, beats as f64 * 60.0 / seconds)
        })
        .filter(|(_, bpm)| {
            (60.0..=200.0).contains(bpm) && (bpm * 2.0 - (bpm * 2.0).round()).abs() < 0.04
        })
        .min_by(|a, b| (a.1 - near).abs().total_cmp(&(b.1 - near).abs()))
}

impl SetLoadReport {
    /// Pads published to the engine.
    pub fn pads_ready(&self) -> usize {
        self.ready_pads.len()
    }
}

/// Commands the set loader sends besides one per pad (master and effect settings).
pub const SETTINGS_COMMANDS: usize = 32;

/// Engine capacities for a set rendered at `rate` Hz: voices, pads and slots from the set, and
/// a command queue with room for every pad assignment and setting at once, so even the largest
/// grid (16 banks of 16×16) loads completely before audio starts.
pub fn engine_settings(set: &SetFile, rate: u32) -> EngineSettings {
    let defaults = EngineSettings::default();
    EngineSettings {
        sample_rate: rate,
        voices: set.master.voices,
        pads: set.grid.total_pads(),
        // Room for every sample and a few stretched tables per key-locked pad.
        sample_slots: (set.pads.len() * 3 + 64).max(256),
        command_queue: (set.pads.len() + SETTINGS_COMMANDS + 256).max(defaults.command_queue),
        ..defaults
    }
}

/// Converts a pad spec to engine frames, checking the region against the sample's length.
pub fn pad_config(spec: &PadSpec, slot: SlotId, buf: &SampleBuffer) -> Result<PadConfig, String> {
    let rate = buf.rate as f64;
    let exact = buf.exact_frames();
    let secs = |s: f64| (s * rate).round() as usize;
    let loop_start = secs(spec.loop_start);
    // The region's exact length (its duration × rate, a fraction of a frame kept), a hair of
    // floating-point noise snapped to the whole frame it means.
    let loop_end = spec.loop_end.map_or(exact, |e| {
        let x = loop_start as f64 + (e - spec.loop_start) * rate;
        if (x - x.round()).abs() < 1e-6 {
            x.round()
        } else {
            x
        }
    });
    let len = buf.seconds();
    if loop_end > exact + 1.0 {
        return Err(format!(
            "`loop_end` = {} s is beyond the end of {} ({len:.3} s); shorten it or leave it out",
            spec.loop_end.unwrap_or(0.0),
            buf.name
        ));
    }
    let loop_end_exact = loop_end.min(exact);
    let loop_end = loop_end_exact.ceil() as usize;
    let end_frac = loop_end_exact.fract() as f32;
    if loop_start + 4 > loop_end {
        return Err(format!(
            "`loop_start` = {} s leaves no audio before the region end in {} ({len:.3} s)",
            spec.loop_start, buf.name
        ));
    }
    let start = spec.start.map_or(loop_start, secs);
    let bpm = match spec.tempo {
        PadTempo::Bpm(b) => b,
        PadTempo::Beats(n) => (n * 60.0 * rate / (loop_end_exact - loop_start as f64)) as f32,
        PadTempo::Unknown => 0.0,
    };
    if !(bpm == 0.0 || crate::engine::params::PAD_BPM.contains(bpm as f64)) {
        return Err(format!(
            "`beats` = {} makes the loop {bpm:.2} BPM; {}",
            match spec.tempo {
                PadTempo::Beats(n) => n,
                _ => 0.0,
            },
            crate::engine::params::PAD_BPM.out_of_range(format!("{bpm:.2}"))
        ));
    }
    Ok(PadConfig {
        slot,
        start: start as u32,
        loop_start: loop_start as u32,
        loop_end: loop_end as u32,
        end_frac,
        looping: spec.looping,
        gain: db_to_gain(spec.gain_db),
        speed: spec.speed,
        bpm,
        sync: spec.sync,
        key_lock: spec.key_lock,
        transpose: spec.transpose,
        mode: spec.mode,
        choke: spec.choke,
        fx: spec.fx,
        stems: stem_mix(spec, buf)?,
    })
}

/// The pad's stem settings from the set, its stem names checked against the bundle's.
fn stem_mix(spec: &PadSpec, buf: &SampleBuffer) -> Result<StemMix, String> {
    let index = |name: &str| {
        buf.stems
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<&str> = buf.stems.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "{} has no stem named {name:?}; its stems: {}",
                    buf.name,
                    known.join(", ")
                )
            })
    };
    let mut m = StemMix {
        on: spec.stems.on,
        ..StemMix::default()
    };
    for name in &spec.stems.mute {
        m.mute |= 1 << index(name)?;
    }
    for (name, db) in &spec.stems.gain_db {
        m.gain[index(name)?] = db_to_gain(*db);
    }
    Ok(m)
}

/// Publishes `buf` (the sample of the sources `names`) and assigns the pads that play it, at
/// once; returns what was assigned (the final pass does not send these again).
fn assign_early(
    set: &SetFile,
    names: &[&SampleSource],
    buf: &Arc<SampleBuffer>,
    handle: &mut EngineHandle,
) -> Vec<(PadId, PadConfig)> {
    let slot = match handle.slot_of(buf) {
        Some(s) => s,
        None => match handle.load(buf.clone()) {
            Ok(s) => s,
            Err(_) => return Vec::new(),
        },
    };
    set.pads
        .iter()
        .filter(|p| names.contains(&&p.source))
        .filter_map(|spec| {
            let cfg = pad_config(spec, slot, buf).ok()?;
            handle
                .command(Command::Pad(spec.id as PadId, PadCmd::Assign(cfg)))
                .ok()
                .map(|()| (spec.id as PadId, cfg))
        })
        .collect()
}

/// The master and effect settings of a set as engine commands.
fn settings_commands(set: &SetFile) -> Vec<Command> {
    let m = &set.master;
    [
        Command::Transport(TransportCmd::Meter(m.beats_per_bar)),
        Command::Transport(TransportCmd::TempoNow(m.bpm)),
        Command::Transport(TransportCmd::Glide(m.tempo_glide_ms)),
        Command::Transport(TransportCmd::LatePress(m.late_press_ms)),
        Command::MasterVolume(m.volume),
        Command::GlobalSpeed(m.speed),
        Command::PlayMode(m.play_mode.into()),
        Command::Quantize(m.quantize.into()),
        Command::EqCrossovers(m.eq_crossovers[0], m.eq_crossovers[1]),
    ]
    .into_iter()
    .chain(set.fx.params().into_iter().map(|(p, v)| Command::Fx(p, v)))
    .collect()
}

fn where_(set: &SetFile, spec: &PadSpec) -> String {
    where_line(set, spec, spec.line)
}

/// "file:line: bank B pad P" for a message about the pad's key written on `line`.
fn where_line(set: &SetFile, spec: &PadSpec, line: usize) -> String {
    if line > 0 {
        format!(
            "{}:{}: bank {} pad {}",
            set.path.display(),
            line,
            spec.bank,
            spec.index
        )
    } else {
        format!(
            "{}: bank {} pad {}",
            set.path.display(),
            spec.bank,
            spec.index
        )
    }
}

/// Decodes every sample of `set` (in parallel), publishes them and the pads and master settings
/// to the engine. Problems are collected, not fatal.
pub fn load_set(
    set: &SetFile,
    handle: &mut EngineHandle,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> SetLoadReport {
    load_set_with(set, handle, threads, progress, &load_one)
}

/// [`load_set`] with the loading of one sample given (tests inject decoder failures).
pub fn load_set_with(
    set: &SetFile,
    handle: &mut EngineHandle,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    load: &LoadFn,
) -> SetLoadReport {
    load_set_opts(
        set,
        handle,
        threads,
        progress,
        load,
        StreamOptions::default(),
        &mut TableStore::new(),
    )
}

/// [`load_set_with`] with the memory budget, streaming options and table cache given: plans
/// the set's memory, takes the tables that stay in RAM from `store` or loads them (the same
/// content once), prepares the ones that stream, and trims `store` to what the budget leaves.
/// A set that cannot fit is refused whole, with the plan's message.
pub fn load_set_opts(
    set: &SetFile,
    handle: &mut EngineHandle,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    load: &LoadFn,
    opts: StreamOptions,
    store: &mut TableStore,
) -> SetLoadReport {
    load_set_apply(
        set,
        handle,
        threads,
        progress,
        load,
        opts,
        store,
        &Apply::All,
    )
}

/// How a loaded set reaches the engine.
pub enum Apply<'a> {
    /// Every pad and setting (a set loaded from scratch).
    All,
    /// Only what differs from the set that plays (`old`, whose pads were published as
    /// `configs`): unchanged pads keep playing with their live changes, removed pads are
    /// cleared, tables nothing uses any more are unloaded. A new set with any error changes
    /// nothing (its tables are unloaded again).
    Changes {
        /// The set that plays.
        old: &'a SetFile,
        /// Its published pad configurations.
        configs: &'a [(PadId, PadConfig)],
    },
    /// Every pad and setting, each pad as soon as its sample is ready, the samples of
    /// `first_bank` first (a start while audio and controllers already run); `tick` is called
    /// every few milliseconds meanwhile (controllers, LEDs, the watchdog).
    Live {
        /// The bank whose samples load first.
        first_bank: usize,
        /// Called while samples load.
        tick: std::cell::RefCell<&'a mut dyn FnMut(&mut EngineHandle)>,
    },
}

/// [`load_set_opts`] with the way it is applied given (see [`Apply`]).
#[allow(clippy::too_many_arguments)]
pub fn load_set_apply(
    set: &SetFile,
    handle: &mut EngineHandle,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    load: &LoadFn,
    mut opts: StreamOptions,
    store: &mut TableStore,
    apply: &Apply,
) -> SetLoadReport {
    let slots_before: Vec<bool> = (0..handle.settings().sample_slots as SlotId)
        .map(|s| handle.is_loaded(s))
        .collect();
    let started = std::time::Instant::now();
    let rate = handle.settings().sample_rate;
    let infos = stream_load::tables(set, rate);
    let plan = match crate::sample::plan::plan(
        infos.iter().map(|(_, t)| t.clone()).collect(),
        stream_load::budget(set, rate, &opts),
    ) {
        Ok(p) => p,
        Err(e) => {
            return SetLoadReport {
                errors: vec![format!("{}: {e}", set.path.display())],
                failed_pads: set.pads.iter().map(|p| p.id).collect(),
                ..Default::default()
            };
        }
    };
    let in_ram: Vec<SampleSource> = plan
        .tables
        .iter()
        .zip(&infos)
        .filter(|(t, _)| t.residency == crate::sample::plan::Residency::Ram)
        .map(|(_, (src, _))| src.clone())
        .collect();
    // The same content is one table: from the cache, or loaded once for all its names.
    let mut cached: Vec<(SampleSource, stream_load::Made)> = Vec::new();
    let mut to_load: Vec<SampleSource> = Vec::new();
    let mut first_of: HashMap<TableKey, SampleSource> = HashMap::new();
    let mut aliases: Vec<(SampleSource, SampleSource)> = Vec::new();
    let mut keys: HashMap<SampleSource, TableKey> = HashMap::new();
    for src in in_ram {
        let Some(key) = store.key(&src, rate) else {
            to_load.push(src);
            continue;
        };
        keys.insert(src.clone(), key);
        if let Some(first) = first_of.get(&key) {
            aliases.push((src, first.clone()));
        } else if let Some(buf) = store.get(&key) {
            first_of.insert(key, src.clone());
            cached.push((src, Ok((buf, Vec::new()))));
        } else {
            first_of.insert(key, src.clone());
            to_load.push(src);
        }
    }
    // Live: settings at once (a pad pressed while others load plays at the set's volume and
    // tempo), then the first bank's samples, then the others bank by bank.
    if let Apply::Live { first_bank, .. } = apply {
        for cmd in settings_commands(set) {
            let _ = handle.command(cmd);
        }
        let rank = |src: &SampleSource| {
            set.pads
                .iter()
                .filter(|p| p.source == *src)
                .map(|p| (p.bank != *first_bank, p.bank, p.index))
                .min()
        };
        to_load.sort_by_key(|s| rank(s));
    }
    let mut early: Vec<(PadId, PadConfig)> = Vec::new();
    let mut loaded: Vec<(SampleSource, stream_load::Made)> = Vec::new();
    {
        let total = to_load.len();
        let mut done = 0;
        let mut on_event = |ev: Option<(
            SampleSource,
            Result<crate::sample::loader::Loaded, crate::sample::SampleError>,
        )>| {
            let Some((src, r)) = ev else {
                if let Apply::Live { tick, .. } = apply {
                    (tick.borrow_mut())(handle);
                }
                return;
            };
            done += 1;
            progress(done, total);
            let r = r.map(|l| (l.buffer, l.warnings)).map_err(|e| e.to_string());
            if let (Ok((buf, _)), Some(key)) = (&r, keys.get(&src)) {
                store.insert(*key, buf.clone());
            }
            if let (Apply::Live { tick, .. }, Ok((buf, _))) = (apply, &r) {
                // Its pads (and those of the same audio under other names) can play now.
                let names: Vec<&SampleSource> = std::iter::once(&src)
                    .chain(aliases.iter().filter(|(_, f)| *f == src).map(|(a, _)| a))
                    .collect();
                early.extend(assign_early(set, &names, buf, handle));
                (tick.borrow_mut())(handle);
            }
            loaded.push((src, r));
        };
        load_in_order(&to_load, rate, threads, load, &mut on_event);
    }
    let (streamed, streaming) =
        stream_load::prepare_streamed(&plan, &infos, handle, load, &mut opts, store);
    let mut report = SetLoadReport {
        load_time: started.elapsed(),
        plan: Some(plan),
        streaming,
        ..Default::default()
    };
    let mut buffers: HashMap<SampleSource, (SlotId, Arc<SampleBuffer>)> = HashMap::new();
    let mut results: Vec<(SampleSource, stream_load::Made)> =
        loaded.into_iter().chain(cached).chain(streamed).collect();
    let found: HashMap<SampleSource, Result<Arc<SampleBuffer>, String>> = results
        .iter()
        .map(|(s, r)| {
            (
                s.clone(),
                r.as_ref().map(|(b, _)| b.clone()).map_err(|e| e.clone()),
            )
        })
        .collect();
    for (alias, first) in aliases {
        let r = match found.get(&first) {
            Some(Ok(buf)) => Ok((buf.clone(), Vec::new())),
            Some(Err(e)) => Err(e.clone()),
            None => continue,
        };
        results.push((alias, r));
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    // Who uses each source (for the message of a source that failed), found in one pass.
    let mut users: HashMap<&SampleSource, Vec<String>> = HashMap::new();
    for p in &set.pads {
        users.entry(&p.source).or_default().push(where_(set, p));
    }
    for (src, result) in results {
        match result {
            Ok((buffer, warnings)) => match handle
                .slot_of(&buffer)
                .map_or_else(|| handle.load(buffer.clone()), Ok)
            {
                Ok(slot) => {
                    report.warnings.extend(warnings);
                    buffers.insert(src, (slot, buffer));
                }
                Err(e) => report.errors.push(format!("{src}: {e}")),
            },
            Err(e) => {
                let users = users.get(&src).map(|u| u.join(", ")).unwrap_or_default();
                report
                    .errors
                    .push(format!("{e} (used by {users}); those pads stay empty"));
            }
        }
    }
    report.samples_loaded = buffers.len();
    let mut planned: Vec<(PadId, PadConfig)> = Vec::new();
    for spec in &set.pads {
        let Some((slot, buf)) = buffers.get(&spec.source) else {
            report.failed_pads.push(spec.id);
            continue;
        };
        if spec.tempo == PadTempo::Unknown && spec.looping {
            let frames = spec
                .loop_end
                .map_or(buf.frames() as f64, |e| e * buf.rate as f64)
                - spec.loop_start * buf.rate as f64;
            let bpb = set.master.beats_per_bar as u32;
            if let Some((beats, bpm)) =
                estimate_tempo(frames / buf.rate as f64, bpb, set.master.bpm)
            {
                report.estimates.push(format!(
                    "{}: the loop is {:.3} s: {beats} beats at {bpm:.2} BPM? (an estimate, not applied; add `beats = {beats}` or `bpm = {bpm:.2}` to the pad to use it)",
                    where_(set, spec),
                    frames / buf.rate as f64
                ));
            }
        }
        match pad_config(spec, *slot, buf) {
            Ok(cfg) => planned.push((spec.id as PadId, cfg)),
            Err(m) => {
                // A message about one key (it starts with it, in backticks) points at its line.
                let key = m.strip_prefix('`').and_then(|r| r.split('`').next());
                let line = key.map_or(spec.line, |k| spec.line_of(k));
                report
                    .errors
                    .push(format!("{}: {m}", where_line(set, spec, line)));
                report.failed_pads.push(spec.id);
            }
        }
    }
    if let Apply::Changes { .. } = apply
        && !report.errors.is_empty()
    {
        // Rejected: the set that plays stays as it is; tables loaded for the new one go.
        for (s, was) in slots_before.iter().enumerate() {
            if !was && handle.is_loaded(s as SlotId) {
                let _ = handle.unload(s as SlotId);
            }
        }
        report.ready_pads.clear();
        return report;
    }
    let unchanged = |id: PadId, cfg: &PadConfig| match apply {
        Apply::All => false,
        Apply::Changes { configs, .. } => configs.iter().any(|(p, c)| *p == id && c == cfg),
        Apply::Live { .. } => early.iter().any(|(p, c)| *p == id && c == cfg),
    };
    for (id, cfg) in planned {
        let sent = if unchanged(id, &cfg) {
            report.unchanged_pads += 1;
            Ok(())
        } else {
            handle
                .command(Command::Pad(id, PadCmd::Assign(cfg)))
                .map_err(|e| e.to_string())
        };
        match sent {
            Ok(()) => {
                report.ready_pads.push(id as usize);
                report.configs.push((id, cfg));
            }
            Err(m) => {
                report
                    .errors
                    .push(format!("{}: pad {id}: {m}", set.path.display()));
                report.failed_pads.push(id as usize);
            }
        }
    }
    if let Apply::Changes { configs, .. } = apply {
        // Pads the new set no longer has, and tables no pad uses any more.
        for (id, _) in configs.iter() {
            if !report.configs.iter().any(|(p, _)| p == id) {
                let _ = handle.command(Command::Pad(*id, PadCmd::Clear));
                report.removed_pads += 1;
            }
        }
        for (_, old) in configs.iter() {
            if !report.configs.iter().any(|(_, c)| c.slot == old.slot) && handle.is_loaded(old.slot)
            {
                let _ = handle.unload(old.slot);
            }
        }
    }
    let old_settings = match apply {
        Apply::All => Vec::new(),
        Apply::Live { .. } => settings_commands(set),
        Apply::Changes { old, .. } => settings_commands(old),
    };
    for cmd in settings_commands(set) {
        if old_settings.contains(&cmd) {
            continue;
        }
        if let Err(e) = handle.command(cmd) {
            report.errors.push(e.to_string());
        }
    }
    report.memory = handle.sample_memory();
    // Tables of earlier sets stay cached while the budget has room for them.
    if let Some(plan) = &report.plan {
        let room = plan.budget.limit.saturating_sub(plan.total());
        store.trim(room as usize);
    }
    report
}
