//! `padlooper run` and `padlooper demo`: real-time playback with a status line.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::audio::output::{Output, OutputRequest, resolve};
use crate::config::SetFile;
use crate::control::scheduler::LiveScheduler;
use crate::control::set_loader::engine_settings;
use crate::control::set_loader::load_set;
use crate::control::status::status_line;
use crate::engine::{Engine, EngineHandle};

fn request(set: &SetFile) -> OutputRequest {
    OutputRequest {
        device: set.master.device.clone(),
        sample_rate: set.master.sample_rate,
        buffer_size: set.master.buffer_size,
    }
}

/// Loads the set and starts audio. Err(message) when there is no usable output.
fn start(
    set: &SetFile,
) -> anyhow::Result<Result<(Output, EngineHandle), crate::audio::output::AudioError>> {
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
    log::info!(
        "{}: {} pads ready, {} samples ({}) loaded in {:.2} s",
        set.path.display(),
        report.pads_ready,
        report.samples_loaded,
        crate::control::status::mb(report.memory.0),
        report.load_time.as_secs_f64()
    );
    match crate::audio::quiet::without_stderr(verbose, || Output::start(engine, resolved, req)) {
        Ok(out) => {
            log::info!(
                "audio: {} at {} Hz, buffer {:?}",
                out.device_name(),
                out.config().sample_rate,
                out.config().buffer_size
            );
            Ok(Ok((out, handle)))
        }
        Err(e) => Ok(Err(e.error)),
    }
}

/// The control loop: status line, events, retired buffers, stream rebuilds, optional script.
fn control_loop(
    out: &mut Output,
    handle: &mut EngineHandle,
    mut script: Option<(LiveScheduler, bool)>,
    repeat_script: Option<crate::config::script::Script>,
    rate: u32,
) {
    let mut last_status = Instant::now();
    let mut last_rebuild = Instant::now() - Duration::from_secs(10);
    let lookahead = (rate as u64) / 5;
    loop {
        std::thread::sleep(Duration::from_millis(10));
        handle.collect_retired();
        for ev in handle.drain_events() {
            log::debug!("{ev:?}");
        }
        if out.has_failed() && last_rebuild.elapsed() > Duration::from_secs(1) {
            last_rebuild = Instant::now();
            log::warn!("audio device error; reopening {}", out.device_name());
            match out.try_rebuild() {
                Ok(_) => log::info!("audio running again on {}", out.device_name()),
                Err(e) => log::warn!("{e}; retrying"),
            }
        }
        let now = handle.stats().frames();
        if let Some((sched, _)) = script.as_mut() {
            let more = sched.poll(handle, now, lookahead);
            if !more && now > sched.end_frame() + 3 * rate as u64 {
                match &repeat_script {
                    Some(s) => {
                        script = Some((LiveScheduler::new(s.clone(), now + lookahead, rate), true))
                    }
                    None => return,
                }
            }
        }
        if last_status.elapsed() >= Duration::from_secs(5) {
            last_status = Instant::now();
            log::info!("{}", status_line(handle));
        }
    }
}

/// `padlooper run`.
pub fn run(set_path: Option<&PathBuf>, _controller: Option<&str>) -> anyhow::Result<i32> {
    let set = super::load_set_or_demo(set_path)?;
    match start(&set)? {
        Ok((mut out, mut handle)) => {
            let rate = out.config().sample_rate;
            log::info!("playing; press Ctrl-C to quit");
            control_loop(&mut out, &mut handle, None, None, rate);
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(2)
        }
    }
}

/// `padlooper demo`.
pub fn demo(repeat: bool, fallback: &Path) -> anyhow::Result<i32> {
    let set = crate::demo::demo_set();
    match start(&set)? {
        Ok((mut out, mut handle)) => {
            let rate = out.config().sample_rate;
            let script = crate::demo::demo_script();
            let origin = handle.stats().frames() + rate as u64 / 5;
            log::info!(
                "playing the demo performance ({:.0} s)",
                crate::demo::DEMO_SECONDS
            );
            let sched = LiveScheduler::new(script.clone(), origin, rate);
            control_loop(
                &mut out,
                &mut handle,
                Some((sched, false)),
                repeat.then_some(script),
                rate,
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("rendering the demo to {} instead", fallback.display());
            super::render::render_cmd(super::render::RenderArgs {
                set: None,
                script: None,
                seconds: None,
                out: fallback.to_path_buf(),
                events: None,
                block: 256,
                rate: None,
                midi: None,
                profile: None,
                leds: None,
            })?;
            eprintln!(
                "wrote {}: play it with any audio player",
                fallback.display()
            );
            Ok(2)
        }
    }
}
