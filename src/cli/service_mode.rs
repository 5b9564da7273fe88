//! What `run --service` adds at start-up: waiting for an audio device without exiting, and
//! boot milestones in the log. Not real-time.

use std::time::{Duration, Instant};

use crate::audio::output::{OutputRequest, resolve};
use crate::control::live::service::Notifier;

/// Waits until the set's audio device (or one of its fallbacks) can be opened, logging once per
/// change of what is wrong and keeping systemd's watchdog fed. False when a stop was requested.
pub fn wait_for_audio(req: &OutputRequest, notify: &mut Notifier) -> bool {
    crate::control::live::shutdown::install();
    let verbose = log::log_enabled!(log::Level::Debug);
    let mut said: Option<String> = None;
    loop {
        match crate::audio::quiet::without_stderr(verbose, || resolve(req)) {
            Ok(_) => {
                if said.is_some() {
                    log::info!("an audio device is here");
                }
                return true;
            }
            Err(e) => {
                let msg = e.to_string();
                if said.as_deref() != Some(msg.as_str()) {
                    log::warn!(
                        "{msg}; waiting for one (checked every second; plug in the audio interface)"
                    );
                    // Up and waiting is a state the service is meant to be in: systemd must
                    // not time the start out.
                    notify.ready("waiting for an audio device");
                    said = Some(msg);
                }
            }
        }
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(10));
            if crate::control::live::shutdown::requested() {
                notify.stopping();
                return false;
            }
            notify.keep_alive(0, true);
        }
    }
}

/// Logs a start-up milestone with the time since boot and since the process started, so
/// boot-to-playable can be read from the journal.
pub fn milestone(what: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let since_start = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok());
    match uptime {
        Some(u) => {
            log::info!("milestone: {what} ({u:.2} s since boot, {since_start:.2} s since start)")
        }
        None => log::info!("milestone: {what} ({since_start:.2} s since start)"),
    }
}
