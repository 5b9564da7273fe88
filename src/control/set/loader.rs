//! Loads a set's samples and publishes pads to the engine, in three steps: **plan** (the memory
//! plan, and which tables come from the cache, which load, which are the same audio under
//! another name), **decode** (in parallel; a live start publishes each pad as soon as its
//! sample is ready), **publish** (buffers into slots, pads checked against their samples and
//! assigned, settings sent; a reload sends only what differs). Problems are typed
//! ([`LoadProblem`]: file, line, pad, what to do) and never stop the rest of the set. Not
//! real-time.

use std::collections::HashMap;

use std::sync::Arc;
use std::time::Instant;

use crate::config::set::SetFile;
use crate::engine::command::{Command, PadCmd, PadConfig, PadId, SlotId, TransportCmd};
use crate::engine::record::InputCmd;
use crate::engine::{EngineHandle, EngineSettings};
use crate::sample::loader::{LoadFn, Loaded, load_in_order, load_one};
use crate::sample::{SampleBuffer, SampleError, SampleSource};

use super::configure::configure_pads;
use super::pad_config::{pad_config, resolve, where_};
pub use super::report::{LoadProblem, PadAt, SetLoadReport};
use super::stream_load::{self, Made, StreamOptions};
use super::table_store::{TableKey, TableStore};
use crate::sample::plan::TableInfo;

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
        stretcher: set.master.stretcher.into(),
        stretch_workers: stretch_workers(set),
        ..defaults
    }
}

/// Worker threads for real-time stretchers: the set's number, or one per core (none on a
/// single core, where they would only take turns with the audio thread).
pub fn stretch_workers(set: &SetFile) -> usize {
    match set.master.stretch_workers as usize {
        0 => match std::thread::available_parallelism().map_or(1, |n| n.get()) {
            1 => 0,
            n => n.min(16),
        },
        n => n,
    }
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
            let bpb = set.master.beats_per_bar as u32;
            let spec = resolve(spec, None, buf.seconds(), &buf.name, bpb).ok()?;
            let cfg = pad_config(&spec, slot, buf).ok()?;
            handle
                .command(Command::Pad(spec.id as PadId, PadCmd::Assign(cfg)))
                .ok()
                .map(|()| (spec.id as PadId, cfg))
        })
        .collect()
}

/// The master and effect settings of a set as engine commands.
pub(crate) fn settings_commands(set: &SetFile) -> Vec<Command> {
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
        Command::Input(InputCmd::FirstBars(m.record_bars as u8)),
        Command::Input(InputCmd::Feedback(m.overdub_feedback)),
        Command::Input(InputCmd::Monitor(Some(m.input_monitor))),
    ]
    .into_iter()
    .chain(set.fx.params().into_iter().map(|(p, v)| Command::Fx(p, v)))
    .collect()
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

/// [`load_set_opts`] with the way it is applied given (see [`Apply`]): plan, decode, publish.
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
    let started = Instant::now();
    let rate = handle.settings().sample_rate;
    let mut plan = match plan_load(set, rate, &opts, store) {
        Ok(p) => p,
        Err(problem) => {
            return SetLoadReport {
                errors: vec![problem],
                failed_pads: set.pads.iter().map(|p| p.id).collect(),
                ..Default::default()
            };
        }
    };
    if let Apply::Live { first_bank, .. } = apply {
        // Settings at once (a pad pressed while others load plays at the set's volume and
        // tempo), then the first bank's samples, then the others bank by bank.
        for cmd in settings_commands(set) {
            let _ = handle.command(cmd);
        }
        plan.first_bank_first(set, *first_bank);
    }
    let decoded = decode(set, &plan, handle, threads, progress, load, store, apply);
    let (streamed, streaming) =
        stream_load::prepare_streamed(&plan.memory, &plan.infos, handle, load, &mut opts, store);
    let mut report = SetLoadReport {
        load_time: started.elapsed(),
        streaming,
        ..Default::default()
    };
    let results = plan.results(decoded.loaded, streamed);
    report.plan = Some(plan.memory);
    // Analysis where pads ask for it (they are playable meanwhile: a live start published
    // them as their samples decoded).
    store
        .analyses
        .set_dir(&crate::sample::analysis::cache::AnalysisCache::dir_in(
            &opts.cache_dir,
        ));
    let loaded: HashMap<SampleSource, Arc<SampleBuffer>> = results
        .iter()
        .filter_map(|(s, r)| r.as_ref().ok().map(|(b, _)| (s.clone(), b.clone())))
        .collect();
    report.analyses = super::analyse::analyse_needed(set, &loaded, store, threads);
    publish(
        set,
        handle,
        results,
        &decoded.early,
        apply,
        &slots_before,
        &mut report,
    );
    // Tables of earlier sets stay cached while the budget has room for them.
    if let Some(plan) = &report.plan {
        let room = plan.budget.limit.saturating_sub(plan.total());
        store.trim(room as usize);
    }
    report
}

/// Step 1: what the set's samples need. The memory plan says which tables stay in RAM and
/// which stream; of those in RAM, the same content is one table: from the cache, or loaded
/// once for all its names.
struct LoadPlan {
    memory: crate::sample::plan::Plan,
    infos: Vec<(SampleSource, TableInfo)>,
    /// Tables found in the cache.
    cached: Vec<(SampleSource, Made)>,
    /// Tables to decode, in order.
    to_load: Vec<SampleSource>,
    /// Sources that are the same audio as another (alias, the one loaded).
    aliases: Vec<(SampleSource, SampleSource)>,
    /// Cache keys of the sources that have one.
    keys: HashMap<SampleSource, TableKey>,
}

fn plan_load(
    set: &SetFile,
    rate: u32,
    opts: &StreamOptions,
    store: &mut TableStore,
) -> Result<LoadPlan, LoadProblem> {
    let infos = stream_load::tables(set, rate);
    let memory = stream_load::plan_tables(
        infos.iter().map(|(_, t)| t.clone()).collect(),
        set,
        rate,
        opts,
    )
    .map_err(|e| LoadProblem::Memory {
        file: set.path.clone(),
        message: e.to_string(),
    })?;
    let mut plan = LoadPlan {
        memory,
        infos,
        cached: Vec::new(),
        to_load: Vec::new(),
        aliases: Vec::new(),
        keys: HashMap::new(),
    };
    let in_ram: Vec<SampleSource> = plan
        .memory
        .tables
        .iter()
        .zip(&plan.infos)
        .filter(|(t, _)| t.residency == crate::sample::plan::Residency::Ram)
        .map(|(_, (src, _))| src.clone())
        .collect();
    let mut first_of: HashMap<TableKey, SampleSource> = HashMap::new();
    for src in in_ram {
        let Some(key) = store.key(&src, rate) else {
            plan.to_load.push(src);
            continue;
        };
        plan.keys.insert(src.clone(), key);
        if let Some(first) = first_of.get(&key) {
            plan.aliases.push((src, first.clone()));
        } else if let Some(buf) = store.get(&key) {
            first_of.insert(key, src.clone());
            plan.cached.push((src, Ok((buf, Vec::new()))));
        } else {
            first_of.insert(key, src.clone());
            plan.to_load.push(src);
        }
    }
    Ok(plan)
}

impl LoadPlan {
    /// Loads the samples of bank `first_bank` first, then the others bank by bank.
    fn first_bank_first(&mut self, set: &SetFile, first_bank: usize) {
        let rank = |src: &SampleSource| {
            set.pads
                .iter()
                .filter(|p| p.source == *src)
                .map(|p| (p.bank != first_bank, p.bank, p.index))
                .min()
        };
        self.to_load.sort_by_key(|s| rank(s));
    }

    /// Every source's outcome: decoded, cached, streamed, and each alias with the outcome of
    /// the source it shares audio with; in source order.
    fn results(
        &mut self,
        loaded: Vec<(SampleSource, Made)>,
        streamed: HashMap<SampleSource, Made>,
    ) -> Vec<(SampleSource, Made)> {
        let mut results: Vec<(SampleSource, Made)> = loaded
            .into_iter()
            .chain(std::mem::take(&mut self.cached))
            .chain(streamed)
            .collect();
        let found: HashMap<SampleSource, Result<Arc<SampleBuffer>, String>> = results
            .iter()
            .map(|(s, r)| {
                let r = r.as_ref().map(|(b, _)| b.clone()).map_err(|e| e.clone());
                (s.clone(), r)
            })
            .collect();
        for (alias, first) in std::mem::take(&mut self.aliases) {
            let r = match found.get(&first) {
                Some(Ok(buf)) => Ok((buf.clone(), Vec::new())),
                Some(Err(e)) => Err(e.clone()),
                None => continue,
            };
            results.push((alias, r));
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        results
    }
}

/// What decoding gave.
struct Decoded {
    /// Each decoded source's outcome.
    loaded: Vec<(SampleSource, Made)>,
    /// Pads a live start assigned as soon as their sample was ready.
    early: Vec<(PadId, PadConfig)>,
}

/// Step 2: decodes the tables to load (in parallel), caching each; a live start publishes
/// each sample's pads as soon as it is ready and ticks the controllers meanwhile.
#[allow(clippy::too_many_arguments)]
fn decode(
    set: &SetFile,
    plan: &LoadPlan,
    handle: &mut EngineHandle,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    load: &LoadFn,
    store: &mut TableStore,
    apply: &Apply,
) -> Decoded {
    let mut out = Decoded {
        loaded: Vec::new(),
        early: Vec::new(),
    };
    let total = plan.to_load.len();
    let rate = handle.settings().sample_rate;
    let mut done = 0;
    let mut on_event = |ev: Option<(SampleSource, Result<Loaded, SampleError>)>| {
        let Some((src, r)) = ev else {
            if let Apply::Live { tick, .. } = apply {
                (tick.borrow_mut())(handle);
            }
            return;
        };
        done += 1;
        progress(done, total);
        let r = r.map(|l| (l.buffer, l.warnings)).map_err(|e| e.to_string());
        if let (Ok((buf, _)), Some(key)) = (&r, plan.keys.get(&src)) {
            store.insert(*key, buf.clone());
        }
        if let (Apply::Live { tick, .. }, Ok((buf, _))) = (apply, &r) {
            // Its pads (and those of the same audio under other names) can play now.
            let names: Vec<&SampleSource> = std::iter::once(&src)
                .chain(
                    plan.aliases
                        .iter()
                        .filter(|(_, f)| *f == src)
                        .map(|(a, _)| a),
                )
                .collect();
            out.early.extend(assign_early(set, &names, buf, handle));
            (tick.borrow_mut())(handle);
        }
        out.loaded.push((src, r));
    };
    load_in_order(&plan.to_load, rate, threads, load, &mut on_event);
    out
}

/// Step 3: buffers into slots, pads configured from them and assigned, settings sent. A
/// reload with any problem changes nothing (the tables it loaded are unloaded again); else it
/// sends only what differs and clears the pads and tables the new set no longer uses.
fn publish(
    set: &SetFile,
    handle: &mut EngineHandle,
    results: Vec<(SampleSource, Made)>,
    early: &[(PadId, PadConfig)],
    apply: &Apply,
    slots_before: &[bool],
    report: &mut SetLoadReport,
) {
    let buffers = publish_tables(set, handle, results, report);
    report.samples_loaded = buffers.len();
    let planned = configure_pads(set, &buffers, report);
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
        return;
    }
    assign_pads(set, handle, planned, early, apply, report);
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
            report.errors.push(LoadProblem::Engine {
                file: set.path.clone(),
                what: "settings".into(),
                message: e.to_string(),
            });
        }
    }
    report.memory = handle.sample_memory();
}

/// Puts every loaded buffer in a slot (a buffer already there keeps its slot); a failed
/// source is reported with the pads that use it.
fn publish_tables(
    set: &SetFile,
    handle: &mut EngineHandle,
    results: Vec<(SampleSource, Made)>,
    report: &mut SetLoadReport,
) -> HashMap<SampleSource, (SlotId, Arc<SampleBuffer>)> {
    // Who uses each source (for the message of a source that failed), found in one pass.
    let mut users: HashMap<&SampleSource, Vec<String>> = HashMap::new();
    for p in &set.pads {
        users.entry(&p.source).or_default().push(where_(set, p));
    }
    let mut buffers = HashMap::new();
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
                Err(e) => report.errors.push(LoadProblem::NoSlot {
                    sample: src.to_string(),
                    message: e.to_string(),
                }),
            },
            Err(e) => {
                let users = users.get(&src).map(|u| u.join(", ")).unwrap_or_default();
                report.errors.push(LoadProblem::Sample {
                    sample: src.to_string(),
                    message: e,
                    users,
                });
            }
        }
    }
    buffers
}

/// Assigns the planned pads (those already playing as planned are left alone); a reload clears
/// the pads the new set no longer has and unloads tables no pad uses any more.
fn assign_pads(
    set: &SetFile,
    handle: &mut EngineHandle,
    planned: Vec<(PadId, PadConfig)>,
    early: &[(PadId, PadConfig)],
    apply: &Apply,
    report: &mut SetLoadReport,
) {
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
            handle.command(Command::Pad(id, PadCmd::Assign(cfg)))
        };
        match sent {
            Ok(()) => {
                report.ready_pads.push(id as usize);
                report.configs.push((id, cfg));
            }
            Err(e) => {
                report.errors.push(LoadProblem::Engine {
                    file: set.path.clone(),
                    what: format!("pad {id}"),
                    message: e.to_string(),
                });
                report.failed_pads.push(id as usize);
            }
        }
    }
    if let Apply::Changes { configs, .. } = apply {
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
}
