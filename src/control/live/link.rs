//! Ableton Link while playing: switched on and off by the set (`[master] link`,
//! `link_start_stop`) and a controller's `link` button, peers shown on the controller and in
//! the status line, and what the engine did for the session said in the log. Link itself is
//! created the first time it is switched on (no Link thread or socket before). Not real-time.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::config::SetFile;
use crate::engine::EngineHandle;
use crate::engine::event::{EngineEvent, EventKind};
use crate::engine::link::{LinkNews, LinkPart, LinkSession};
use crate::midi::state::SharedControl;

/// Link on the control side.
#[derive(Debug)]
pub struct LiveLink {
    session: Option<Arc<LinkSession>>,
    rate: u32,
    /// Peers last said in the log.
    peers_said: Option<u64>,
    /// The Link time of engine frame 0 at the last pass (events before a resync were heard on
    /// it).
    origin_seen: Option<f64>,
}

impl LiveLink {
    /// Link off (nothing created yet).
    pub fn new(rate: u32) -> Self {
        Self {
            session: None,
            rate,
            peers_said: None,
            origin_seen: None,
        }
    }

    /// Takes the set's Link settings: start/stop sync, whether the phase is Link's (not while
    /// a MIDI clock in leads), and Link on or off when `on` says (None: as it is; a reload
    /// switches Link only when the set's `link` changed, a controller's switch stays).
    pub fn configure(
        &mut self,
        set: &SetFile,
        on: Option<bool>,
        handle: &mut EngineHandle,
        shared: &SharedControl,
    ) {
        let on = on.unwrap_or(shared.link.on.load(Ordering::Relaxed));
        if on || self.session.is_some() {
            let s = self.session(set.master.bpm, handle);
            s.set_start_stop_sync(set.master.link_start_stop);
            s.set_follow_phase(set.master.clock_in.is_none());
        }
        self.set_enabled(on, handle, shared);
    }

    /// Switches Link on or off.
    pub fn set_enabled(&mut self, on: bool, handle: &mut EngineHandle, shared: &SharedControl) {
        let was = self.session.as_ref().is_some_and(|s| s.enabled());
        if on == was {
            return;
        }
        if on {
            let bpm = handle.stats().transport.bpm() as f64;
            let s = self.session(bpm, handle);
            s.set_enabled(true);
            self.peers_said = None;
            log::info!(
                "Ableton Link on: tempo and bar phase are shared with the Link apps on this network (at {} µs)",
                s.clock_micros()
            );
            if network_interfaces().is_empty() {
                log::warn!(
                    "Ableton Link: no network interface is up (only loopback), so only Link apps on this machine can join; connect the network (cable or Wi-Fi), or, for the service, check that its unit does not set PrivateNetwork=yes"
                );
            }
        } else if let Some(s) = &self.session {
            s.set_enabled(false);
            log::info!("Ableton Link off: the tempo is padlooper's own again");
        }
        shared.link.on.store(on, Ordering::Relaxed);
        shared.link.peers.store(0, Ordering::Relaxed);
        shared.touch();
    }

    /// Link, created and handed to the engine the first time it is needed.
    fn session(&mut self, bpm: f64, handle: &mut EngineHandle) -> Arc<LinkSession> {
        if let Some(s) = &self.session {
            return s.clone();
        }
        let s = LinkSession::new(bpm);
        if handle
            .attach_link(LinkPart::new(s.clone(), self.rate))
            .is_err()
        {
            log::error!(
                "Ableton Link could not be attached to the engine (a bug; please report it)"
            );
        }
        self.session = Some(s.clone());
        s
    }

    /// Every pass of the control loop: a controller's toggle, the peer count (shown and said
    /// when it changes), and the engine's Link news.
    pub fn tick(
        &mut self,
        handle: &mut EngineHandle,
        shared: &SharedControl,
        events: &[EngineEvent],
    ) {
        if shared.link.toggle_requested.swap(false, Ordering::Relaxed) {
            let on = !shared.link.on.load(Ordering::Relaxed);
            self.set_enabled(on, handle, shared);
        }
        let Some(s) = self.session.clone().filter(|s| s.enabled()) else {
            return;
        };
        let peers = s.peers();
        if self.peers_said != Some(peers) {
            self.peers_said = Some(peers);
            log::info!("link: {} (at {} µs)", peers_text(peers), s.clock_micros());
            shared.link.peers.store(peers as u32, Ordering::Relaxed);
            shared.touch();
        }
        // Frames map to Link time through the line the engine publishes; events from before a
        // resync in this batch were heard on the line seen at the last pass.
        let now = s.heard_at(0, self.rate);
        let resync = events
            .iter()
            .any(|e| e.kind == EventKind::Link(LinkNews::Resync));
        let mut origin = if resync { self.origin_seen } else { now }.or(now);
        for e in events {
            let at = origin.map_or(f64::NAN, |o| o + e.frame as f64 * 1e6 / self.rate as f64);
            match e.kind {
                EventKind::Link(LinkNews::Resync) => {
                    origin = now;
                    log::debug!("link: the audio stalled; timing follows again");
                }
                EventKind::Link(news) => log::info!("link: {} (at {at:.0} µs)", news_text(news)),
                EventKind::Bar(n) => log::debug!("link: bar {n} heard at {at:.0} µs"),
                _ => {}
            }
        }
        self.origin_seen = now;
    }

    /// For the status line: `link: 2 peers` (None while Link is off).
    pub fn status(&self) -> Option<String> {
        let s = self.session.as_ref().filter(|s| s.enabled())?;
        Some(format!("link: {}", peers_text(s.peers())))
    }
}

/// Names of the network interfaces that are up with an IPv4 or IPv6 address, loopback left
/// out (where Link can meet other machines).
pub fn network_interfaces() -> Vec<String> {
    let mut names = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list freed by freeifaddrs below; every
    // node and its name and address are valid until then.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return names;
        }
        let mut p = list;
        while let Some(ifa) = p.as_ref() {
            let flags = ifa.ifa_flags as i32;
            let up = flags & libc::IFF_UP != 0 && flags & libc::IFF_LOOPBACK == 0;
            let inet = ifa.ifa_addr.as_ref().is_some_and(|a| {
                a.sa_family as i32 == libc::AF_INET || a.sa_family as i32 == libc::AF_INET6
            });
            if up && inet && !ifa.ifa_name.is_null() {
                let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                    .to_string_lossy()
                    .into_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            p = ifa.ifa_next;
        }
        libc::freeifaddrs(list);
    }
    names
}

fn peers_text(n: u64) -> String {
    match n {
        0 => "no peers yet (alone in the session)".into(),
        1 => "1 peer".into(),
        n => format!("{n} peers"),
    }
}

fn news_text(n: LinkNews) -> String {
    match n {
        LinkNews::Tempo(bpm) => format!("tempo {bpm:.2} BPM from the session"),
        LinkNews::Sent(bpm) => format!("tempo {bpm:.2} BPM sent to the session"),
        LinkNews::Started => "the session started the transport".into(),
        LinkNews::Stopped => "the session stopped the transport".into(),
        LinkNews::Moved(b) => format!("moved {b:+.3} beats onto the session's bar phase"),
        LinkNews::Resync => "the audio stalled; timing follows again".into(),
    }
}
