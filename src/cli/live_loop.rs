//! The live control loop: every 10 ms it handles stop and reload requests, USB sticks, saved
//! state, engine events, controllers and their hot-plug, a lost or fallback audio device, the
//! audio thread's health, a live script and the status line. Not real-time.

use std::time::{Duration, Instant};

use super::live::{Session, service_status};
use super::service_mode;
use crate::audio::output::AudioError;
use crate::audio::priority::RtOutcome;
use crate::config::script::Script;
use crate::control::live::scheduler::LiveScheduler;
use crate::control::live::status::{CounterWatch, status_line};

/// Why the control loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoopEnd {
    /// Ctrl-C, SIGTERM, or the script finished.
    Stopped,
    /// The device came back at another sample rate: a service starts again at it.
    RateChanged,
}

/// What the loop remembers between passes.
struct Watch {
    last_status: Instant,
    last_poll: Instant,
    last_rebuild: Instant,
    last_preferred: Instant,
    /// The audio problem last logged (one line per change of state, not one per retry).
    audio_said: Option<String>,
    /// Whether a controller has been lit (said once).
    lit: bool,
    counters: CounterWatch,
    rt_violations: u64,
    rt_said: RtOutcome,
}

/// The control loop: returns when the script (if any, and not repeating) has finished, on a
/// stop request, or (`service`) when audio must be reopened at another rate.
pub(crate) fn control_loop(
    s: &mut Session,
    mut script: Option<LiveScheduler>,
    repeat: Option<Script>,
    service: bool,
) -> LoopEnd {
    let mut w = Watch {
        last_status: Instant::now(),
        last_poll: Instant::now(),
        last_rebuild: Instant::now() - Duration::from_secs(10),
        last_preferred: Instant::now(),
        audio_said: None,
        // Said at start when a controller was there already.
        lit: s.midi.as_ref().is_some_and(|m| !m.connected().is_empty()),
        counters: CounterWatch::new(),
        rt_violations: 0,
        rt_said: RtOutcome::NotAsked,
    };
    let lookahead = s.rate as u64 / 5;
    if let Some(web) = &s.web {
        web.set_source(s.reload_from.as_deref());
    }
    s.notify.ready(&service_status(s));
    if let Some(wd) = s.notify.watchdog() {
        log::debug!("systemd watchdog every {:.1} s", wd.as_secs_f64());
    }
    loop {
        std::thread::sleep(Duration::from_millis(10));
        let frames = s.handle.stats().frames();
        s.notify.keep_alive(frames, s.out.has_failed());
        if crate::control::live::shutdown::requested() {
            stop(s);
            return LoopEnd::Stopped;
        }
        housekeeping(s, &mut w);
        if let Some(end) = audio_device(s, &mut w, service) {
            return end;
        }
        health(s, &mut w);
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
        if w.last_status.elapsed() >= Duration::from_secs(5) {
            w.last_status = Instant::now();
            let (bytes, n) = s.keylock.tables.memory();
            let mut line = status_line(&s.handle, Some((bytes, n)));
            if let Some(link) = s.link.status() {
                line = format!("{line} | {link}");
            }
            log::info!("{line}");
            s.notify.status(&service_status(s));
        }
    }
}

/// A stop request: the live state saved, controllers dark, disk and clock threads stopped.
fn stop(s: &mut Session) {
    log::info!("stopping");
    s.notify.stopping();
    if let Some(saved) = s.saved.as_mut() {
        saved.flush(&s.handle, &s.shared);
    }
    if let Some(m) = s.midi.as_mut() {
        m.shutdown(&mut s.handle);
    }
    s.disk.stop();
    s.record.stop();
    if let Some(w) = s.web.take() {
        w.stop(&mut s.handle);
    }
    if let Some(c) = s.clock_out.take() {
        let st = c.stop();
        log::info!(
            "MIDI clock out: {} messages sent, at most {:.2} ms late",
            st.sent,
            st.worst_late_ns as f64 / 1e6
        );
    }
}

/// Retired buffers, the disk, reloads (SIGHUP, a USB stick), the saved state, events, key
/// lock and the controllers.
fn housekeeping(s: &mut Session, w: &mut Watch) {
    s.handle.collect_retired();
    s.disk.tick();
    if crate::control::live::shutdown::reload_requested() {
        super::live_reload::reload(s);
    }
    if let Some(p) = s.web.as_ref().and_then(|w| w.take_open()) {
        log::info!("the web surface asked to play {}", p.display());
        let before = s.reload_from.replace(p.clone());
        super::live_reload::reload(s);
        if s.set.path != p {
            // Refused (its errors are logged): the set that plays stays the one reloads read.
            s.reload_from = before;
        }
        if let Some(w) = &s.web {
            w.set_source(s.reload_from.as_deref());
        }
    }
    if let Some(p) = s.web.as_ref().and_then(|w| w.take_preview()) {
        super::live_reload::preview(s, p);
    }
    if let Some(p) = s.usb.as_mut().and_then(|u| u.poll()) {
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
    s.link.tick(&mut s.handle, &s.shared, &events);
    for line in s.record.tick(&mut s.handle, &s.set, &events) {
        log::info!("{line}");
    }
    if let Some(line) = s.keylock.tick(&mut s.handle, &events) {
        log::info!("{line}");
    }
    if let Some(m) = s.midi.as_mut() {
        m.tick(&mut s.handle);
        if w.last_poll.elapsed() >= Duration::from_secs(1) {
            w.last_poll = Instant::now();
            m.poll_ports(&mut s.handle);
        }
    }
    if !w.lit && s.midi.as_ref().is_some_and(|m| !m.connected().is_empty()) {
        w.lit = true;
        service_mode::milestone("controller lit");
    }
}

/// A failed audio device is reopened every second (a service starts again when it came back
/// at another rate); playing on a fallback device, moves back to a preferred one when it
/// appears.
fn audio_device(s: &mut Session, w: &mut Watch, service: bool) -> Option<LoopEnd> {
    let verbose = log::log_enabled!(log::Level::Debug);
    if s.out.has_failed() && w.last_rebuild.elapsed() > Duration::from_secs(1) {
        w.last_rebuild = Instant::now();
        if w.audio_said.is_none() {
            log::warn!(
                "audio device {} failed; reopening it every second (controllers and everything else keep running)",
                s.out.device_name()
            );
            w.audio_said = Some(String::new());
            s.notify.status("audio device lost; retrying");
        }
        match crate::audio::quiet::without_stderr(verbose, || s.out.try_rebuild()) {
            Ok(_) => {
                log::info!(
                    "audio running again on {} at {} Hz",
                    s.out.device_name(),
                    s.rate
                );
                w.audio_said = None;
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
                if let Some(w) = s.web.take() {
                    w.stop(&mut s.handle);
                }
                return Some(LoopEnd::RateChanged);
            }
            Err(e) => {
                let msg = e.to_string();
                if w.audio_said.as_deref() != Some(msg.as_str()) {
                    log::warn!("{msg}; still retrying every second");
                    w.audio_said = Some(msg);
                }
            }
        }
    } else if !s.out.has_failed()
        && s.out.choice() > 0
        && w.last_preferred.elapsed() >= Duration::from_secs(5)
    {
        w.last_preferred = Instant::now();
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
    None
}

/// The audio thread's priority (said once, and again when a rebuilt stream got another
/// answer), counters that moved for the first time, and real-time violations.
fn health(s: &mut Session, w: &mut Watch) {
    let rt = s.out.rt_outcome();
    if rt != w.rt_said && rt != RtOutcome::NotAsked {
        match rt {
            RtOutcome::Denied(_) => log::warn!("{}", rt.describe()),
            _ => log::info!("{}", rt.describe()),
        }
        w.rt_said = rt;
    }
    for m in w.counters.first_occurrences(s.handle.stats()) {
        log::warn!("{m}");
    }
    let v = crate::engine::rt::violations();
    if v > w.rt_violations {
        log::error!(
            "the audio callback allocated or freed memory {} time(s): a real-time bug, please report it",
            v - w.rt_violations
        );
        w.rt_violations = v;
    }
}
