//! Replays a recorded controller session (a MIDI file) through a profile: the same parsing,
//! mapping and LED code as a live controller, with the file's timing. Not real-time.

use std::sync::Arc;

use crate::config::profile::Profile;
use crate::control::offline::renderer::{Feeder, frame_of};
use crate::engine::EngineHandle;
use crate::engine::event::EngineEvent;
use crate::midi::controller::{Controller, DeviceState};
use crate::midi::leds::{LedSender, desired};
use crate::midi::smf::SmfEvent;
use crate::midi::state::SharedControl;

/// Room in the command queue a replayed message waits for (a row launch presses up to 16
/// pads; a column control sets 16).
const ROOM_PER_MESSAGE: usize = 32;

/// LED updates are computed this often (frames at 48 kHz ≈ 10 ms, one control tick).
pub const LED_TICK_SECONDS: f64 = 0.01;

/// Feeds MIDI file events into a render through a controller profile and records the LED
/// messages a real device would have received.
pub struct MidiReplay {
    controller: Controller,
    shared: Arc<SharedControl>,
    device: Arc<DeviceState>,
    events: Vec<SmfEvent>,
    next: usize,
    rate: u32,
    leds: LedSender,
    next_led: u64,
    /// LED (and init SysEx) messages sent, with their time in seconds.
    pub led_log: Vec<(f64, Vec<u8>)>,
}

impl MidiReplay {
    /// A replay of `events` through `profile`; the profile's init SysEx is logged at time 0.
    pub fn new(
        profile: Arc<Profile>,
        shared: Arc<SharedControl>,
        events: Vec<SmfEvent>,
        rate: u32,
    ) -> Self {
        let device = Arc::new(DeviceState::default());
        let led_log = profile.init.iter().map(|m| (0.0, m.clone())).collect();
        Self {
            controller: Controller::new(profile, shared.clone(), device.clone()),
            shared,
            device,
            events,
            next: 0,
            rate,
            leds: LedSender::new(),
            next_led: 0,
            led_log,
        }
    }

    /// The shared state (bank, selection, tempo) the replay drives.
    pub fn shared(&self) -> &Arc<SharedControl> {
        &self.shared
    }

    fn leds(&mut self, frame: u64) {
        if self.device.take_left_mode().is_some() {
            // As a live device: init again, then every LED redrawn.
            let t = frame as f64 / self.rate as f64;
            let init = self.controller.profile().init.clone();
            self.led_log.extend(init.into_iter().map(|m| (t, m)));
            self.leds.refresh();
        }
        let want = desired(self.controller.profile(), &self.shared, &self.device);
        for m in self.leds.update(&want) {
            self.led_log
                .push((frame as f64 / self.rate as f64, m.to_vec()));
        }
    }
}

impl Feeder for MidiReplay {
    fn before(&mut self, _start: u64, end: u64, handle: &mut EngineHandle) -> usize {
        while let Some((t, bytes)) = self.events.get(self.next) {
            let at = frame_of(*t, self.rate);
            if at >= end {
                break;
            }
            // One message makes at most a row's worth of commands: wait for that much room.
            if handle.command_room() < ROOM_PER_MESSAGE {
                return 1;
            }
            let bytes = bytes.clone();
            self.controller.feed(&bytes, at, &mut |cmd| {
                let _ = handle.send(cmd);
            });
            self.next += 1;
        }
        0
    }

    fn after(&mut self, end: u64, _events: &[EngineEvent]) {
        if end >= self.next_led {
            self.leds(end);
            self.next_led = end + frame_of(LED_TICK_SECONDS, self.rate);
        }
    }
}

/// Feeds the clock and transport messages of a MIDI file to a clock follower, as if they came
/// from a drum machine (`render --clock-in FILE.mid`), and records what the follower reported.
pub struct ClockInReplay {
    follower: crate::midi::clock_in::ClockFollower,
    stats: Arc<crate::engine::shared::EngineStats>,
    events: Vec<SmfEvent>,
    next: usize,
    rate: u32,
    /// What the follower reported (dropouts), with the time in seconds.
    pub news: Vec<(f64, crate::midi::clock_in::ClockNews)>,
}

impl ClockInReplay {
    /// A replay of the clock messages (F8, FA, FB, FC, F2) among `events`.
    pub fn new(
        events: Vec<SmfEvent>,
        stats: Arc<crate::engine::shared::EngineStats>,
        rate: u32,
    ) -> Self {
        let events = events
            .into_iter()
            .filter(|(_, b)| matches!(b.first(), Some(0xF8 | 0xFA | 0xFB | 0xFC | 0xF2)))
            .collect();
        Self {
            follower: crate::midi::clock_in::ClockFollower::new(rate),
            stats,
            events,
            next: 0,
            rate,
            news: Vec::new(),
        }
    }

    /// The follower (its tempo estimate and state).
    pub fn follower(&self) -> &crate::midi::clock_in::ClockFollower {
        &self.follower
    }
}

impl Feeder for ClockInReplay {
    fn before(&mut self, start: u64, end: u64, handle: &mut EngineHandle) -> usize {
        let (stats, rate) = (self.stats.clone(), self.rate);
        let beat = move |f: u64| stats.transport.beat_at(f, rate);
        while let Some((t, bytes)) = self.events.get(self.next) {
            if frame_of(*t, self.rate) >= end {
                break;
            }
            if handle.command_room() < ROOM_PER_MESSAGE {
                return 1;
            }
            self.follower.on_message(*t, bytes, &beat, &mut |cmd| {
                let _ = handle.send(cmd);
            });
            self.next += 1;
        }
        let now = start as f64 / self.rate as f64;
        if let Some(n) = self.follower.poll(now) {
            self.news.push((now, n));
        }
        0
    }
}
