//! `padlooper run` and `padlooper demo`: real-time playback, controllers, a status line.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::service_mode;
use crate::audio::output::{AudioError, Output, OutputRequest, resolve};
use crate::config::SetFile;
use crate::config::profile::Profile;
use crate::config::script::Script;
use crate::control::keylock::setup::LiveKeylock;
use crate::control::live::disk::LiveDisk;
use crate::control::live::scheduler::LiveScheduler;
use crate::control::live::service::Notifier;
use crate::control::live::state_keeper::StateKeeper;
use crate::control::live::status::{CounterWatch, status_line};
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
}

/// A short state for systemd's `STATUS=` (what `systemctl status padlooper` shows).
pub(crate) fn service_status(s: &Session) -> String {
    use std::sync::atomic::Ordering;
    let st = s.handle.stats();
    let controllers = s.midi.as_ref().map_or(0, |m| m.connected().len());
    format!(
        "{} {} Hz | load {:.1}% | xruns {} | voices {}/{} | {} controller{}",
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

fn request(set: &SetFile) -> OutputRequest {
    OutputRequest {
        device: set.master.device.clone(),
        sample_rate: set.master.sample_rate,
        buffer_size: set.master.buffer_size,
        rt_priority: set.master.rt_priority.round() as u8,
    }
}

/// The controller profile to force, from `--controller` or the set file.
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
    let resolved = match crate::audio::quiet::without_stderr(verbose, || resolve(&req)) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let rate = resolved.config.sample_rate;
    let (engine, mut handle) = Engine::new(engine_settings(set, rate))?;
    // Audio and controllers first; the samples load while they run (progressive start).
    let shared = Arc::new(SharedControl::new(set, rate, engine.stats().clone()));
    let latency = engine.latency() as u64;
    let stats = engine.stats().clone();
    let out =
        match crate::audio::quiet::without_stderr(verbose, || Output::start(engine, resolved, req))
        {
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
    let mut midi = match crate::audio::quiet::without_stderr(verbose, MidirBackend::new) {
        Ok(backend) => {
            let profiles = Profile::builtins().into_iter().map(Arc::new).collect();
            let mut m = MidiManager::new(Box::new(backend), profiles, forced, shared.clone());
            if let Some(name) = &set.master.clock_in {
                m.follow_clock(name, &mut handle);
            }
            m.poll_ports(&mut handle);
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
    };
    let names = &set.master.clock_out;
    let queue = if names.is_empty() {
        None
    } else {
        handle.take_clock_out()
    };
    let clock_out = match queue {
        None => None,
        Some(queue) => match MidirBackend::new() {
            Ok(b) => {
                ClockSender::start(queue, Box::new(b), names.clone(), stats, rate, latency).ok()
            }
            Err(e) => {
                log::warn!("MIDI clock out is unavailable ({e})");
                None
            }
        },
    };
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
    let mut report = load_set_apply(
        set,
        &mut handle,
        0,
        &|_, _| {},
        &crate::sample::loader::load_one,
        Default::default(),
        &mut store,
        &Apply::Live {
            first_bank,
            tick: std::cell::RefCell::new(&mut tick),
        },
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
    let mut disk = LiveDisk::default();
    disk.add(report.streaming.take());
    for w in &report.warnings {
        log::warn!("{w}");
    }
    log::info!(
        "{}: {} pads ready, {} samples ({}) loaded in {:.2} s",
        set.path.display(),
        report.pads_ready(),
        report.samples_loaded,
        crate::control::live::status::mb(report.memory.0),
        report.load_time.as_secs_f64()
    );
    service_mode::milestone("all pads ready");
    let keylock = LiveKeylock::start(set, &report, &mut handle, set.master.buffer_size as usize);
    let saved = state.and_then(|reset| StateKeeper::open(set, &report, &handle, &shared, reset));
    shared.mark_failed(&report.failed_pads);
    Ok(Ok(Session {
        out,
        handle,
        midi,
        clock_out,
        keylock,
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
    }))
}

/// Why the control loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopEnd {
    /// Ctrl-C, SIGTERM, or the script finished.
    Stopped,
    /// The device came back at another sample rate: a service starts again at it.
    RateChanged,
}

/// The control loop: events, LEDs, hot-plug, retired buffers, stream rebuilds, status line and
/// an optional live script. Returns when the script (if any, and not repeating) has finished,
/// on a stop request, or (`service`) when audio must be reopened at another rate.
fn control_loop(
    s: &mut Session,
    mut script: Option<LiveScheduler>,
    repeat: Option<Script>,
    service: bool,
) -> LoopEnd {
    let mut last_status = Instant::now();
    let mut last_poll = Instant::now();
    let mut last_rebuild = Instant::now() - Duration::from_secs(10);
    let mut last_preferred = Instant::now();
    // The audio problem last logged (one line per change of state, not one per retry).
    let mut audio_said: Option<String> = None;
    // Said at start when a controller was there already.
    let mut lit = s.midi.as_ref().is_some_and(|m| !m.connected().is_empty());
    let lookahead = s.rate as u64 / 5;
    let mut watch = CounterWatch::new();
    let mut rt_violations = 0;
    let mut rt_said = crate::audio::priority::RtOutcome::NotAsked;
    s.notify.ready(&service_status(s));
    if let Some(w) = s.notify.watchdog() {
        log::debug!("systemd watchdog every {:.1} s", w.as_secs_f64());
    }
    loop {
        std::thread::sleep(Duration::from_millis(10));
        let frames = s.handle.stats().frames();
        s.notify.keep_alive(frames, s.out.has_failed());
        if crate::control::live::shutdown::requested() {
            log::info!("stopping");
            s.notify.stopping();
            if let Some(saved) = s.saved.as_mut() {
                saved.flush(&s.handle, &s.shared);
            }
            if let Some(m) = s.midi.as_mut() {
                m.shutdown(&mut s.handle);
            }
            s.disk.stop();
            if let Some(c) = s.clock_out.take() {
                let st = c.stop();
                log::info!(
                    "MIDI clock out: {} messages sent, at most {:.2} ms late",
                    st.sent,
                    st.worst_late_ns as f64 / 1e6
                );
            }
            return LoopEnd::Stopped;
        }
        s.handle.collect_retired();
        s.disk.tick();
        if crate::control::live::shutdown::reload_requested() {
            super::live_reload::reload(s);
        }
        if let Some(p) = s.usb.as_mut().and_then(|w| w.poll()) {
            log::info!(
                "a USB stick with a set was plugged in: {}; loading it",
                p.display()
            );
            s.reload_from = Some(p);
            super::live_reload::reload(s);
        }
        if let Some(saved) = s.saved.as_mut() {
            saved.tick(&mut s.handle, &s.shared);
        }
        let events = s.handle.drain_events();
        for ev in &events {
            log::debug!("{ev:?}");
        }
        if let Some(line) = s.keylock.tick(&mut s.handle, &events) {
            log::info!("{line}");
        }
        if let Some(m) = s.midi.as_mut() {
            m.tick(&mut s.handle);
            if last_poll.elapsed() >= Duration::from_secs(1) {
                last_poll = Instant::now();
                m.poll_ports(&mut s.handle);
            }
        }
        if !lit && s.midi.as_ref().is_some_and(|m| !m.connected().is_empty()) {
            lit = true;
            service_mode::milestone("controller lit");
        }
        if s.out.has_failed() && last_rebuild.elapsed() > Duration::from_secs(1) {
            last_rebuild = Instant::now();
            if audio_said.is_none() {
                log::warn!(
                    "audio device {} failed; reopening it every second (controllers and everything else keep running)",
                    s.out.device_name()
                );
                audio_said = Some(String::new());
                s.notify.status("audio device lost; retrying");
            }
            let verbose = log::log_enabled!(log::Level::Debug);
            match crate::audio::quiet::without_stderr(verbose, || s.out.try_rebuild()) {
                Ok(_) => {
                    log::info!(
                        "audio running again on {} at {} Hz",
                        s.out.device_name(),
                        s.rate
                    );
                    audio_said = None;
                }
                Err(e @ AudioError::RateChanged { .. }) if service => {
                    log::warn!("{e}: starting again at the new rate");
                    s.notify.reloading();
                    if let Some(saved) = s.saved.as_mut() {
                        saved.flush(&s.handle, &s.shared);
                    }
                    if let Some(m) = s.midi.as_mut() {
                        m.shutdown(&mut s.handle);
                    }
                    s.disk.stop();
                    return LoopEnd::RateChanged;
                }
                Err(e) => {
                    let msg = e.to_string();
                    if audio_said.as_deref() != Some(msg.as_str()) {
                        log::warn!("{msg}; still retrying every second");
                        audio_said = Some(msg);
                    }
                }
            }
        } else if !s.out.has_failed()
            && s.out.choice() > 0
            && last_preferred.elapsed() >= Duration::from_secs(5)
        {
            // Playing on a fallback device: move back to a preferred one when it appears.
            last_preferred = Instant::now();
            let verbose = log::log_enabled!(log::Level::Debug);
            let (req, choice) = (s.out.request().clone(), s.out.choice());
            if let Some(r) = crate::audio::quiet::without_stderr(verbose, || {
                crate::audio::output::preferred_available(&req, choice)
            }) {
                let name = r.name.clone();
                match crate::audio::quiet::without_stderr(verbose, || s.out.switch_to(r)) {
                    Ok(()) => log::info!("moved to the preferred audio device {name}"),
                    Err(e) => log::warn!("cannot move to the preferred audio device: {e}"),
                }
            }
        }
        // The audio thread's priority: said once, and again only when a rebuilt stream got a
        // different answer.
        let rt = s.out.rt_outcome();
        if rt != rt_said && rt != crate::audio::priority::RtOutcome::NotAsked {
            match rt {
                crate::audio::priority::RtOutcome::Denied(_) => log::warn!("{}", rt.describe()),
                _ => log::info!("{}", rt.describe()),
            }
            rt_said = rt;
        }
        for m in watch.first_occurrences(s.handle.stats()) {
            log::warn!("{m}");
        }
        let v = crate::engine::rt::violations();
        if v > rt_violations {
            log::error!(
                "the audio callback allocated or freed memory {} time(s): a real-time bug, please report it",
                v - rt_violations
            );
            rt_violations = v;
        }
        let now = s.handle.stats().frames();
        if let Some(sched) = script.as_mut() {
            let more = sched.poll(&mut s.handle, now, lookahead);
            if !more && now > sched.end_frame() + 3 * s.rate as u64 {
                match &repeat {
                    Some(r) => {
                        script = Some(LiveScheduler::new(r.clone(), now + lookahead, s.rate))
                    }
                    None => {
                        if let Some(m) = s.midi.as_mut() {
                            m.shutdown(&mut s.handle);
                        }
                        return LoopEnd::Stopped;
                    }
                }
            }
        }
        if last_status.elapsed() >= Duration::from_secs(5) {
            last_status = Instant::now();
            let (bytes, n) = s.keylock.tables.memory();
            log::info!("{}", status_line(&s.handle, Some((bytes, n))));
            s.notify.status(&service_status(s));
        }
    }
}

/// `padlooper run`. As a `service`, it never exits because audio is missing (it waits for a
/// device), plays the last good set (or the demo) when the set file is broken, and starts
/// again at the new rate when the device comes back at another one.
pub fn run(
    set_path: Option<&PathBuf>,
    controller: Option<&str>,
    service: bool,
    reset_state: bool,
) -> anyhow::Result<i32> {
    service_mode::milestone("process started");
    if !service {
        let set = super::load_set_or_demo(set_path)?;
        return match start(&set, controller, Some(reset_state))? {
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
        if !service_mode::wait_for_audio(&request(&set), &mut notify) {
            return Ok(0);
        }
        match start(&set, controller, Some(reset))? {
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
pub fn demo(repeat: bool, fallback: &Path, controller: Option<&str>) -> anyhow::Result<i32> {
    let set = crate::demo::demo_set();
    match start(&set, controller, None)? {
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
