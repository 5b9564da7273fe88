//! `padlooper run` and `padlooper demo`: real-time playback, controllers, a status line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::live_loop::{LoopEnd, control_loop};
use super::service_mode;
use crate::audio::output::{AudioError, Output, OutputRequest, resolve};
use crate::config::SetFile;
use crate::config::profile::Profile;
use crate::control::keylock::setup::LiveKeylock;
use crate::control::live::disk::LiveDisk;
use crate::control::live::scheduler::LiveScheduler;
use crate::control::live::service::Notifier;
use crate::control::live::state_keeper::StateKeeper;
use crate::control::set::loader::{Apply, engine_settings, load_set_apply};
use crate::control::set::table_store::TableStore;
use crate::engine::{Engine, EngineHandle};
use crate::midi::clock_out::ClockSender;
use crate::midi::midir_backend::MidirBackend;
use crate::midi::ports::MidiManager;
use crate::midi::state::SharedControl;

/// A running set: audio output, the engine handle, controller state and controllers.
pub(crate) struct Session {
    pub(crate) out: Output,
    pub(crate) handle: EngineHandle,
    pub(crate) midi: Option<MidiManager>,
    pub(crate) clock_out: Option<ClockSender>,
    pub(crate) keylock: LiveKeylock,
    /// Ableton Link (off until the set or a controller switches it on).
    pub(crate) link: crate::control::live::link::LiveLink,
    pub(crate) rate: u32,
    pub(crate) notify: Notifier,
    pub(crate) shared: Arc<SharedControl>,
    /// Live changes saved and restored (None: nowhere to keep them).
    pub(crate) saved: Option<StateKeeper>,
    /// The disk threads of streamed samples.
    pub(crate) disk: LiveDisk,
    /// The set that plays, and its pads as published.
    pub(crate) set: SetFile,
    pub(crate) configs: Vec<(
        crate::engine::command::PadId,
        crate::engine::command::PadConfig,
    )>,
    /// Tables kept for reloads.
    pub(crate) store: TableStore,
    /// The set file SIGHUP reloads (None: nothing to reload, e.g. the demo).
    pub(crate) reload_from: Option<PathBuf>,
    /// Sticks with a set being plugged in (service mode).
    pub(crate) usb: Option<crate::control::set::usb_sets::UsbWatch>,
    /// The web surface (None: not asked for, or it could not start).
    pub(crate) web: Option<crate::web::WebServer>,
    /// Tapes for recording, the disk writer, takes saved into the set.
    pub(crate) record: crate::control::record::live::LiveRecording,
}

/// A short state for systemd's `STATUS=` (what `systemctl status padlooper` shows).
pub(crate) fn service_status(s: &Session) -> String {
    use std::sync::atomic::Ordering;
    let st = s.handle.stats();
    let controllers = s.midi.as_ref().map_or(0, |m| m.connected().len());
    let link = s.link.status().map_or(String::new(), |l| format!(" | {l}"));
    format!(
        "{} {} Hz | load {:.1}% | xruns {} | voices {}/{} | {} controller{}{link}",
        s.out.device_name(),
        s.rate,
        st.load_permille.load(Ordering::Relaxed) as f32 / 10.0,
        st.xruns.load(Ordering::Relaxed),
        st.active_voices.load(Ordering::Relaxed),
        s.handle.settings().voices,
        controllers,
        if controllers == 1 { "" } else { "s" }
    )
}

pub(super) fn request(set: &SetFile) -> OutputRequest {
    OutputRequest {
        device: set.master.device.clone(),
        sample_rate: set.master.sample_rate,
        buffer_size: set.master.buffer_size,
        rt_priority: set.master.rt_priority.round() as u8,
    }
}

/// The controller profile to force, from `--controller` or the set file.
/// Starts the threads real-time stretchers run ahead on (`stretch_workers`), at a real-time
/// priority ten below the audio thread's when it has one, and says so.
fn start_stretch_workers(set: &SetFile, handle: &mut EngineHandle) {
    let audio = set.master.rt_priority.round() as u8;
    let priority = audio.saturating_sub(10);
    let n = handle.start_stretch_workers(move |i| {
        if priority > 0
            && let Err(e) = crate::audio::priority::promote_current_thread(priority)
            && i == 0
        {
            log::debug!("key lock: stretcher threads at normal priority (error {e})");
        }
    });
    match n {
        0 => log::debug!("key lock: stretchers run in the audio thread"),
        n => log::info!("key lock: real-time stretchers run ahead on {n} threads"),
    }
}

fn forced_profile(cli: Option<&str>, set: &SetFile) -> anyhow::Result<Option<Arc<Profile>>> {
    match cli.or(set.master.controller.as_deref()) {
        Some(name) => {
            let p = Profile::find(name)?;
            for w in &p.warnings {
                log::warn!("{w}");
            }
            Ok(Some(Arc::new(p)))
        }
        None => Ok(None),
    }
}

/// Loads the set, starts audio and controllers. `Ok(Err(..))` when there is no usable output.
/// `state`: Some(reset) to save and restore live changes (forgetting them first when `reset`),
/// None not to keep them (the demo).
fn start(
    set: &SetFile,
    controller: Option<&str>,
    state: Option<bool>,
    no_audio: bool,
    web: Option<&crate::web::WebOptions>,
) -> anyhow::Result<Result<Session, AudioError>> {
    let forced = forced_profile(controller, set)?;
    crate::control::live::shutdown::install();
    let lock = crate::audio::priority::lock_memory();
    match lock {
        crate::audio::priority::MemoryLock::Locked => log::info!("{}", lock.describe()),
        _ => log::debug!("{}", lock.describe()),
    }
    let req = request(set);
    let verbose = log::log_enabled!(log::Level::Debug);
    let resolved = if no_audio {
        None
    } else {
        match crate::audio::quiet::without_stderr(verbose, || resolve(&req)) {
            Ok(r) => Some(r),
            Err(e) => return Ok(Err(e)),
        }
    };
    let rate = resolved
        .as_ref()
        .map_or(req.sample_rate, |r| r.config.sample_rate);
    let (engine, mut handle) = Engine::new(engine_settings(set, rate))?;
    start_stretch_workers(set, &mut handle);
    // Audio and controllers first; the samples load while they run (progressive start).
    let shared = Arc::new(SharedControl::new(set, rate, engine.stats().clone()));
    let latency = engine.latency() as u64;
    let stats = engine.stats().clone();
    let started = match resolved {
        Some(resolved) => {
            crate::audio::quiet::without_stderr(verbose, || Output::start(engine, resolved, req))
        }
        // `--no-audio`: the same engine and per-block code, paced by the clock.
        None => Output::paced(engine, req, None),
    };
    let out = match started {
        Ok(out) => out,
        Err(e) => return Ok(Err(e.error)),
    };
    log::info!(
        "audio: {} at {} Hz, buffer {:?}",
        out.device_name(),
        out.config().sample_rate,
        out.config().buffer_size
    );
    service_mode::milestone("audio up");
    let mut midi = open_midi(set, forced, &shared, &mut handle, verbose);
    // The web surface next to the controllers: a page can play while the samples load.
    let web = web.and_then(|o| {
        crate::web::WebServer::start(o, set, shared.clone(), &mut handle)
            .map_err(|e| log::error!("{e}; playing without it"))
            .ok()
    });
    let clock_out = open_clock_out(set, &mut handle, stats, rate, latency);
    let mut notify = Notifier::from_env();
    let first_bank = shared.bank.load(std::sync::atomic::Ordering::Relaxed);
    let bank_pads: Vec<usize> = set
        .pads
        .iter()
        .filter(|p| p.bank == first_bank)
        .map(|p| p.id)
        .collect();
    let mut bank_said = bank_pads.is_empty();
    let mut tick = |h: &mut EngineHandle| {
        if let Some(m) = midi.as_mut() {
            m.tick(h);
        }
        notify.keep_alive(h.stats().frames(), false);
        if !bank_said
            && bank_pads
                .iter()
                .all(|&p| h.stats().pads.get(p) != crate::engine::shared::PadState::Empty)
        {
            bank_said = true;
            service_mode::milestone("bank ready");
        }
    };
    let mut store = TableStore::new();
    let apply = Apply::Live {
        first_bank,
        tick: std::cell::RefCell::new(&mut tick),
    };
    let mut report = load_logged(set, &mut handle, &mut store, &apply);
    if let Some(w) = &web {
        let plan = report.plan.as_ref();
        w.set_memory(
            plan.map(crate::control::set::stream_load::describe)
                .unwrap_or_default(),
            handle.sample_memory(),
        );
    }
    let mut disk = LiveDisk::default();
    disk.add(report.streaming.take());
    service_mode::milestone("all pads ready");
    let keylock = LiveKeylock::start(set, &report, &mut handle, set.master.buffer_size as usize);
    let saved = state.and_then(|reset| StateKeeper::open(set, &report, &handle, &shared, reset));
    shared.mark_failed(&report.failed_pads);
    // Link after the set's and the saved tempo went to the engine: they are this padlooper's
    // own, not changes for a session it joins.
    let mut link = crate::control::live::link::LiveLink::new(rate);
    let on = saved
        .as_ref()
        .and_then(|k| k.link())
        .unwrap_or(set.master.link);
    link.configure(set, Some(on), &mut handle, &shared);
    let out_frames = crate::audio::buffer_frames(out.config(), set.master.buffer_size);
    let record = crate::control::record::live::LiveRecording::start(
        &mut handle,
        set,
        rate,
        (out.device_name(), out_frames),
    );
    shared
        .ready
        .store(true, std::sync::atomic::Ordering::Release);
    Ok(Ok(Session {
        out,
        handle,
        midi,
        clock_out,
        keylock,
        link,
        rate,
        notify,
        saved,
        shared,
        disk,
        set: set.clone(),
        configs: report.configs,
        store,
        reload_from: None,
        usb: None,
        web,
        record,
    }))
}

/// `padlooper run`. As a `service`, it never exits because audio is missing (it waits for a
/// device), plays the last good set (or the demo) when the set file is broken, and starts
/// again at the new rate when the device comes back at another one.
pub fn run(
    set_path: Option<&PathBuf>,
    controller: Option<&str>,
    service: bool,
    reset_state: bool,
    no_audio: bool,
    web: Option<crate::web::WebOptions>,
) -> anyhow::Result<i32> {
    service_mode::milestone("process started");
    if !service {
        let set = super::load_set_or_demo(set_path)?;
        return match start(&set, controller, Some(reset_state), no_audio, web.as_ref())? {
            Ok(mut s) => {
                s.reload_from = set_path.cloned();
                log::info!("playing; press Ctrl-C to quit");
                control_loop(&mut s, None, None, false);
                Ok(0)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(2)
            }
        };
    }
    let state = crate::control::set::last_set::copy_dir();
    // A screenless appliance's first web password, from a USB stick (read once, hashed).
    if web.is_some()
        && let Some(dir) = &state
        && let Some(Err(e)) =
            crate::web::auth::take_from_stick(&crate::control::set::usb_sets::roots(), dir)
    {
        log::error!("{e}");
    }
    // A stick carrying `padlooper/set.toml` wins over the configured set.
    let usb = crate::control::set::usb_sets::find_sets(&crate::control::set::usb_sets::roots())
        .into_iter()
        .next();
    if let Some(p) = &usb {
        log::info!("playing the set on the USB stick: {}", p.display());
    }
    let configured = set_path;
    let stick = usb.as_ref().and_then(|p| {
        SetFile::load(p)
            .map_err(|_| {
                log::warn!(
                    "the set on the USB stick has errors (see `padlooper check --set {}`); playing the configured set instead",
                    p.display()
                )
            })
            .ok()
    });
    let (set, set_path) = match (stick, configured) {
        (Some(s), _) => (s, usb.as_ref()),
        (None, Some(p)) => (
            crate::control::set::last_set::load_for_service(p, state.as_deref()).unwrap_or_else(|| {
                log::warn!(
                    "playing the built-in demo set instead; fix the set file and restart padlooper (systemctl restart padlooper)"
                );
                crate::demo::demo_set()
            }),
            configured,
        ),
        (None, None) => (crate::demo::demo_set(), None),
    };
    let mut notify = Notifier::from_env();
    let (mut set, mut reload_from, mut reset) = (set, set_path.cloned(), reset_state);
    loop {
        if !no_audio && !service_mode::wait_for_audio(&request(&set), &mut notify) {
            return Ok(0);
        }
        match start(&set, controller, Some(reset), no_audio, web.as_ref())? {
            Ok(mut s) => {
                s.reload_from = reload_from.clone();
                s.usb = Some(crate::control::set::usb_sets::UsbWatch::new());
                log::info!("playing as a service");
                match control_loop(&mut s, None, None, true) {
                    LoopEnd::Stopped => return Ok(0),
                    LoopEnd::RateChanged => {
                        // The device came back at another rate: everything starts again at
                        // that rate (samples resampled to it, live changes restored).
                        set = s.set.clone();
                        reload_from = s.reload_from.clone();
                        reset = false;
                    }
                }
            }
            // The device went away between the check and the start: wait again.
            Err(e) => log::warn!("{e}"),
        }
    }
}

/// `padlooper demo`.
pub fn demo(
    repeat: bool,
    fallback: &Path,
    controller: Option<&str>,
    no_audio: bool,
) -> anyhow::Result<i32> {
    let set = crate::demo::demo_set();
    match start(&set, controller, None, no_audio, None)? {
        Ok(mut s) => {
            let script = crate::demo::demo_script();
            let origin = s.handle.stats().frames() + s.rate as u64 / 5;
            log::info!(
                "playing the demo performance ({:.0} s)",
                crate::demo::DEMO_SECONDS
            );
            let sched = LiveScheduler::new(script.clone(), origin, s.rate);
            control_loop(&mut s, Some(sched), repeat.then_some(script), false);
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("rendering the demo to {} instead", fallback.display());
            super::render::render_cmd(super::render::RenderArgs::demo(fallback.to_path_buf()))?;
            eprintln!(
                "wrote {}: play it with any audio player",
                fallback.display()
            );
            Ok(2)
        }
    }
}

/// The controllers: connected now and whenever one is plugged in (None: no MIDI here).
fn open_midi(
    set: &SetFile,
    forced: Option<Arc<Profile>>,
    shared: &Arc<SharedControl>,
    handle: &mut EngineHandle,
    verbose: bool,
) -> Option<MidiManager> {
    match crate::audio::quiet::without_stderr(verbose, MidirBackend::new) {
        Ok(backend) => {
            let profiles = Profile::builtins().into_iter().map(Arc::new).collect();
            let mut m = MidiManager::new(Box::new(backend), profiles, forced, shared.clone());
            if let Some(name) = &set.master.clock_in {
                m.follow_clock(name, handle);
            }
            m.poll_ports(handle);
            if m.connected().is_empty() {
                log::info!(
                    "no controller connected yet; plug one in at any time (see `padlooper devices`)"
                );
            } else {
                service_mode::milestone("controller lit");
            }
            Some(m)
        }
        Err(e) => {
            log::warn!("MIDI is unavailable ({e}); playing without controllers");
            None
        }
    }
}

/// MIDI clock out to the set's `clock_out` ports, when it names any.
fn open_clock_out(
    set: &SetFile,
    handle: &mut EngineHandle,
    stats: Arc<crate::engine::shared::EngineStats>,
    rate: u32,
    latency: u64,
) -> Option<ClockSender> {
    let names = &set.master.clock_out;
    if names.is_empty() {
        return None;
    }
    let queue = handle.take_clock_out()?;
    match MidirBackend::new() {
        Ok(b) => ClockSender::start(queue, Box::new(b), names.clone(), stats, rate, latency).ok(),
        Err(e) => {
            log::warn!("MIDI clock out is unavailable ({e})");
            None
        }
    }
}

/// Loads the set while audio and controllers run, saying what went wrong and what loaded.
fn load_logged(
    set: &SetFile,
    handle: &mut EngineHandle,
    store: &mut TableStore,
    apply: &Apply,
) -> crate::control::set::loader::SetLoadReport {
    let report = load_set_apply(
        set,
        handle,
        0,
        &|_, _| {},
        &crate::sample::loader::load_one,
        Default::default(),
        store,
        apply,
    );
    if crate::sample::cancel::requested() {
        // SIGTERM while loading: the files still loading stopped (their errors say only that).
        log::info!("stopped while loading the samples");
    } else {
        for e in &report.errors {
            log::error!("{e}");
        }
    }
    crate::control::set::stream_load::log_plan(report.plan.as_ref());
    for w in &report.warnings {
        log::warn!("{w}");
    }
    for a in &report.applied {
        log::info!("{a}");
    }
    // The other loops' tempo, grid and key, cached for later, at low priority.
    let _ = crate::control::set::analyse::analyse_in_background(
        set,
        &crate::sample::stream::prepare::default_cache_dir(),
    );
    log::info!(
        "{}: {} pads ready, {} samples ({}) loaded in {:.2} s",
        set.path.display(),
        report.pads_ready(),
        report.samples_loaded,
        crate::control::live::status::mb(report.memory.0),
        report.load_time.as_secs_f64()
    );
    report
}
