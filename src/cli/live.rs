//! `padlooper run` and `padlooper demo`: real-time playback, controllers, a status line.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio::output::{AudioError, Output, OutputRequest, resolve};
use crate::config::SetFile;
use crate::config::profile::Profile;
use crate::config::script::Script;
use crate::control::keylock::LiveKeylock;
use crate::control::scheduler::LiveScheduler;
use crate::control::set_loader::{engine_settings, load_set};
use crate::control::status::{CounterWatch, status_line};
use crate::engine::{Engine, EngineHandle};
use crate::midi::clock_out::ClockSender;
use crate::midi::midir_backend::MidirBackend;
use crate::midi::ports::MidiManager;
use crate::midi::state::SharedControl;

/// A running set: audio output, the engine handle, controller state and controllers.
struct Session {
    out: Output,
    handle: EngineHandle,
    midi: Option<MidiManager>,
    clock_out: Option<ClockSender>,
    keylock: LiveKeylock,
    rate: u32,
}

fn request(set: &SetFile) -> OutputRequest {
    OutputRequest {
        device: set.master.device.clone(),
        sample_rate: set.master.sample_rate,
        buffer_size: set.master.buffer_size,
    }
}

/// The controller profile to force, from `--controller` or the set file.
fn forced_profile(cli: Option<&str>, set: &SetFile) -> anyhow::Result<Option<Arc<Profile>>> {
    match cli.or(set.master.controller.as_deref()) {
        Some(name) => Ok(Some(Arc::new(
            Profile::find(name).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))),
        None => Ok(None),
    }
}

/// Loads the set, starts audio and controllers. `Ok(Err(..))` when there is no usable output.
fn start(set: &SetFile, controller: Option<&str>) -> anyhow::Result<Result<Session, AudioError>> {
    let forced = forced_profile(controller, set)?;
    crate::control::shutdown::install();
    let req = request(set);
    let verbose = log::log_enabled!(log::Level::Debug);
    let resolved = match crate::audio::quiet::without_stderr(verbose, || resolve(&req)) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let rate = resolved.config.sample_rate;
    let (engine, mut handle) =
        Engine::new(engine_settings(set, rate)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    for e in &report.errors {
        log::error!("{e}");
    }
    for w in &report.warnings {
        log::warn!("{w}");
    }
    log::info!(
        "{}: {} pads ready, {} samples ({}) loaded in {:.2} s",
        set.path.display(),
        report.pads_ready(),
        report.samples_loaded,
        crate::control::status::mb(report.memory.0),
        report.load_time.as_secs_f64()
    );
    let keylock = LiveKeylock::start(set, &report, &mut handle, set.master.buffer_size as usize);
    let shared = Arc::new(SharedControl::new(set, rate, engine.stats().clone()));
    shared.mark_failed(&report.failed_pads);
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
    let midi = match crate::audio::quiet::without_stderr(verbose, MidirBackend::new) {
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
    Ok(Ok(Session {
        out,
        handle,
        midi,
        clock_out,
        keylock,
        rate,
    }))
}

/// The control loop: events, LEDs, hot-plug, retired buffers, stream rebuilds, status line and
/// an optional live script. Returns when the script (if any, and not repeating) has finished.
fn control_loop(s: &mut Session, mut script: Option<LiveScheduler>, repeat: Option<Script>) {
    let mut last_status = Instant::now();
    let mut last_poll = Instant::now();
    let mut last_rebuild = Instant::now() - Duration::from_secs(10);
    let lookahead = s.rate as u64 / 5;
    let mut watch = CounterWatch::new();
    let mut rt_violations = 0;
    loop {
        std::thread::sleep(Duration::from_millis(10));
        if crate::control::shutdown::requested() {
            log::info!("stopping");
            if let Some(m) = s.midi.as_mut() {
                m.shutdown(&mut s.handle);
            }
            if let Some(c) = s.clock_out.take() {
                let st = c.stop();
                log::info!(
                    "MIDI clock out: {} messages sent, at most {:.2} ms late",
                    st.sent,
                    st.worst_late_ns as f64 / 1e6
                );
            }
            return;
        }
        s.handle.collect_retired();
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
        if s.out.has_failed() && last_rebuild.elapsed() > Duration::from_secs(1) {
            last_rebuild = Instant::now();
            log::warn!("audio device error; reopening {}", s.out.device_name());
            match s.out.try_rebuild() {
                Ok(_) => log::info!("audio running again on {}", s.out.device_name()),
                Err(e) => log::warn!("{e}; retrying"),
            }
        }
        for m in watch.first_occurrences(s.handle.stats()) {
            log::warn!("{m}");
        }
        let v = crate::audio::rt_guard::violations();
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
                        return;
                    }
                }
            }
        }
        if last_status.elapsed() >= Duration::from_secs(5) {
            last_status = Instant::now();
            let (bytes, n) = s.keylock.tables.memory();
            log::info!("{}", status_line(&s.handle, Some((bytes, n))));
        }
    }
}

/// `padlooper run`.
pub fn run(set_path: Option<&PathBuf>, controller: Option<&str>) -> anyhow::Result<i32> {
    let set = super::load_set_or_demo(set_path)?;
    match start(&set, controller)? {
        Ok(mut s) => {
            log::info!("playing; press Ctrl-C to quit");
            control_loop(&mut s, None, None);
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(2)
        }
    }
}

/// `padlooper demo`.
pub fn demo(repeat: bool, fallback: &Path, controller: Option<&str>) -> anyhow::Result<i32> {
    let set = crate::demo::demo_set();
    match start(&set, controller)? {
        Ok(mut s) => {
            let script = crate::demo::demo_script();
            let origin = s.handle.stats().frames() + s.rate as u64 / 5;
            log::info!(
                "playing the demo performance ({:.0} s)",
                crate::demo::DEMO_SECONDS
            );
            let sched = LiveScheduler::new(script.clone(), origin, s.rate);
            control_loop(&mut s, Some(sched), repeat.then_some(script));
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
