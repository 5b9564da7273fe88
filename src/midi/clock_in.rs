//! Following an external MIDI clock: tempo from a least-squares fit of the last clock ticks'
//! times (jitter averages out; a steady clock locks within two beats), phase held by small
//! tempo corrections towards the clock's beat (a phase-locked loop, never a jump), and
//! Start / Stop / Continue / Song Position moving the transport. A clock that stops for more
//! than two beats is reported once; padlooper keeps its last tempo. Not real-time: runs on
//! the clock input's MIDI thread (or in an offline render).

use std::collections::VecDeque;

use crate::engine::command::{Command, Timed, TransportCmd};
use crate::engine::transport::TICKS_PER_BEAT;

/// Ticks in the tempo fit (4 beats).
const WINDOW: usize = 96;
/// Ticks needed before the first tempo estimate (half a beat).
const MIN_TICKS: usize = 12;
/// The phase error is corrected over this many beats.
const PHASE_BEATS: f64 = 4.0;
/// Largest tempo trim used to pull the phase in.
const MAX_PHASE_CORRECTION: f64 = 0.005;
/// A phase error above this (in beats) at the first tempo estimate is fixed by moving the
/// position there and then (the music has just started).
const SNAP_BEATS: f64 = 0.002;
/// Beats without a tick before the clock counts as stopped.
const DROPOUT_BEATS: f64 = 2.0;

/// What the follower wants known.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockNews {
    /// The clock stopped ticking while running (more than two beats): tempo kept.
    Dropout {
        /// The tempo kept.
        bpm: f64,
    },
    /// Ticks came back after a dropout.
    Back,
}

/// The follower's state.
#[derive(Debug)]
pub struct ClockFollower {
    rate: f64,
    /// `(tick number, time in seconds)` of the last ticks.
    ticks: VecDeque<(f64, f64)>,
    /// Clock ticks since the start (or the song position), i.e. position × 24.
    count: f64,
    running: bool,
    /// A Start or Continue waits for the next tick, where it takes effect.
    pending: Option<TransportCmd>,
    last_tick: Option<f64>,
    bpm: Option<f64>,
    dropped_out: bool,
    /// Ticks resumed after a dropout (reported at the next poll).
    back: bool,
}

impl ClockFollower {
    /// A follower for an engine running at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: rate as f64,
            ticks: VecDeque::with_capacity(WINDOW + 1),
            count: 0.0,
            running: false,
            pending: None,
            last_tick: None,
            bpm: None,
            dropped_out: false,
            back: false,
        }
    }

    /// The tempo estimate, once there is one.
    pub fn bpm(&self) -> Option<f64> {
        self.bpm
    }

    /// Whether the external transport runs.
    pub fn running(&self) -> bool {
        self.running
    }

    fn frame(&self, t: f64) -> u64 {
        (t * self.rate).round().max(0.0) as u64
    }

    /// Handles one clock or transport byte sequence received at `t` seconds (on the clock the
    /// frames count from: engine frame = `t × rate`). `transport_beat(frame)` is where the
    /// engine's transport is at a frame (for the phase lock). Commands go to `send`.
    pub fn on_message(
        &mut self,
        t: f64,
        bytes: &[u8],
        transport_beat: &dyn Fn(u64) -> f64,
        send: &mut dyn FnMut(Timed),
    ) {
        let Some(&status) = bytes.first() else {
            return;
        };
        let at = self.frame(t);
        let mut cmd = |c: TransportCmd| {
            send(Timed {
                at,
                cmd: Command::Transport(c),
            })
        };
        match status {
            0xFA => {
                // Start: the next tick is beat 0.
                self.count = 0.0;
                self.ticks.clear();
                self.pending = Some(TransportCmd::Start);
            }
            0xFB => self.pending = Some(TransportCmd::Continue),
            0xFC => {
                self.running = false;
                self.pending = None;
                cmd(TransportCmd::Stop);
            }
            0xF2 if bytes.len() >= 3 => {
                let pos = (bytes[1] as u16 & 0x7F) | ((bytes[2] as u16 & 0x7F) << 7);
                self.count = pos as f64 * 6.0;
                self.ticks.clear();
                cmd(TransportCmd::Locate(pos as f64 / 4.0));
            }
            0xF8 => self.tick(t, transport_beat, send),
            _ => {}
        }
    }

    fn tick(&mut self, t: f64, transport_beat: &dyn Fn(u64) -> f64, send: &mut dyn FnMut(Timed)) {
        let at = self.frame(t);
        if let Some(p) = self.pending.take() {
            self.running = true;
            send(Timed {
                at,
                cmd: Command::Transport(p),
            });
            if let Some(bpm) = self.bpm {
                send(Timed {
                    at,
                    cmd: Command::Transport(TransportCmd::TempoNow(bpm)),
                });
            }
        }
        if self.dropped_out {
            self.dropped_out = false;
            self.back = true;
            self.ticks.clear();
        }
        self.last_tick = Some(t);
        self.ticks.push_back((self.count, t));
        if self.ticks.len() > WINDOW {
            self.ticks.pop_front();
        }
        let beat_here = self.count / TICKS_PER_BEAT;
        self.count += 1.0;
        let Some(period) = self.period() else {
            return;
        };
        let bpm = 60.0 / (TICKS_PER_BEAT * period);
        self.bpm = Some(bpm);
        // Tempo once per beat (and at the first estimate); the phase is pulled onto the
        // clock's beat by a small trim (the tempo shown stays the clock's).
        let first = self.ticks.len() == MIN_TICKS;
        if !first && !(self.count as u64).is_multiple_of(TICKS_PER_BEAT as u64) {
            return;
        }
        let mut send_cmd = |c: TransportCmd| {
            send(Timed {
                at,
                cmd: Command::Transport(c),
            })
        };
        send_cmd(TransportCmd::TempoNow(bpm));
        if !self.running {
            return;
        }
        let err = beat_here - transport_beat(at);
        if first && err.abs() > SNAP_BEATS {
            // Until the first estimate the transport ran at its old tempo: put it on the beat.
            send_cmd(TransportCmd::Locate(beat_here));
            send_cmd(TransportCmd::Trim(1.0));
        } else if err.abs() < 0.5 {
            // (A larger error is a different bar count, not phase: left alone.)
            let trim = 1.0 + (err / PHASE_BEATS).clamp(-MAX_PHASE_CORRECTION, MAX_PHASE_CORRECTION);
            send_cmd(TransportCmd::Trim(trim as f32));
        }
    }

    /// Seconds per tick from a least-squares line through the recent ticks.
    fn period(&self) -> Option<f64> {
        let n = self.ticks.len();
        if n < MIN_TICKS {
            return None;
        }
        let nf = n as f64;
        let (k0, t0) = self.ticks[0];
        let (mut sk, mut st) = (0.0, 0.0);
        for &(k, t) in &self.ticks {
            sk += k - k0;
            st += t - t0;
        }
        let (mk, mt) = (sk / nf, st / nf);
        let (mut num, mut den) = (0.0, 0.0);
        for &(k, t) in &self.ticks {
            let dk = k - k0 - mk;
            num += dk * (t - t0 - mt);
            den += dk * dk;
        }
        let p = num / den;
        (den > 0.0 && p > 0.0 && p.is_finite()).then_some(p)
    }

    /// Checks for a dropout at `t` seconds; returns news when the state changed.
    pub fn poll(&mut self, t: f64) -> Option<ClockNews> {
        if std::mem::take(&mut self.back) {
            return Some(ClockNews::Back);
        }
        let (Some(last), Some(bpm)) = (self.last_tick, self.bpm) else {
            return None;
        };
        let silent_beats = (t - last) * bpm / 60.0;
        if self.running && !self.dropped_out && silent_beats > DROPOUT_BEATS {
            self.dropped_out = true;
            return Some(ClockNews::Dropout { bpm });
        }
        None
    }

    /// Whether the clock is in a dropout now (reported, tempo kept).
    pub fn dropped_out(&self) -> bool {
        self.dropped_out
    }
}

/// A live clock input: a MIDI port whose clock the follower listens to, on its MIDI thread,
/// with a command lane of its own. Not real-time.
pub struct ClockInput {
    name: String,
    state: std::sync::Arc<std::sync::Mutex<LiveState>>,
    conn: Option<(
        crate::midi::ports::PortInfo,
        Box<dyn crate::midi::ports::InputConnection>,
    )>,
    waiting_reported: bool,
}

struct LiveState {
    follower: ClockFollower,
    lane: crate::engine::CommandLane,
    shared: std::sync::Arc<crate::midi::state::SharedControl>,
    arrival: crate::midi::ports::ArrivalClock,
}

impl LiveState {
    fn on_message(&mut self, now: u64, ts_us: u64, bytes: &[u8]) {
        // The arrival time on our clock, from the backend's timestamp (as for controllers).
        let happened = self.arrival.happened(now, ts_us);
        let shared = self.shared.clone();
        let block = shared.engine.clock.read().map_or(256, |r| r.block.max(1));
        let frame = shared.frame_at(happened) + block;
        let rate = shared.rate;
        let t = frame as f64 / rate as f64;
        let beat = |f: u64| shared.engine.transport.beat_at(f, rate);
        let lane = &mut self.lane;
        self.follower.on_message(t, bytes, &beat, &mut |c| {
            lane.send(c);
        });
    }
}

impl ClockInput {
    /// Follows the clock of the input port whose name contains `name`, sending transport
    /// commands through `lane`.
    pub fn new(
        name: &str,
        shared: std::sync::Arc<crate::midi::state::SharedControl>,
        lane: crate::engine::CommandLane,
    ) -> Self {
        let rate = shared.rate;
        Self {
            name: name.to_string(),
            state: std::sync::Arc::new(std::sync::Mutex::new(LiveState {
                follower: ClockFollower::new(rate),
                lane,
                shared,
                arrival: Default::default(),
            })),
            conn: None,
            waiting_reported: false,
        }
    }

    /// Whether `port` is the clock input (so it is not taken as a controller).
    pub fn wants(&self, port: &crate::midi::ports::PortInfo) -> bool {
        port.name.to_lowercase().contains(&self.name.to_lowercase())
    }

    /// Connects (or reconnects) to the clock port among `ports`; returns log lines.
    pub fn poll(
        &mut self,
        backend: &mut dyn crate::midi::ports::MidiBackend,
        ports: &[crate::midi::ports::PortInfo],
    ) -> Vec<String> {
        let mut log = Vec::new();
        if let Some((p, c)) = &self.conn
            && (!ports.contains(p) || !c.alive())
        {
            log.push(format!(
                "{}: MIDI clock input gone; keeping the tempo",
                p.name
            ));
            self.conn = None;
        }
        if self.conn.is_some() {
            return log;
        }
        let Some(port) = ports.iter().find(|p| self.wants(p)).cloned() else {
            if !self.waiting_reported {
                self.waiting_reported = true;
                log.push(format!(
                    "waiting for the MIDI clock input {:?} (`clock_in` in the set)",
                    self.name
                ));
            }
            return log;
        };
        let state = self.state.clone();
        let handler: crate::midi::ports::RawHandler = Box::new(move |ts, bytes| {
            if let Ok(mut s) = state.lock() {
                s.on_message(crate::engine::shared::mono_nanos(), ts, bytes);
            }
        });
        match backend.connect_raw(&port, handler) {
            Ok(c) => {
                log.push(format!("{}: following its MIDI clock", port.name));
                self.conn = Some((port, c));
                self.waiting_reported = false;
            }
            Err(e) => log.push(format!("{}: cannot follow its clock ({e})", port.name)),
        }
        log
    }

    /// Feeds a message as if it arrived at `now` ns (on [`mono_nanos`]' clock) with the
    /// backend's timestamp `ts_us`: what the port's handler does, with the time given (tests).
    ///
    /// [`mono_nanos`]: crate::engine::shared::mono_nanos
    pub fn feed_at(&self, now: u64, ts_us: u64, bytes: &[u8]) {
        if let Ok(mut s) = self.state.lock() {
            s.on_message(now, ts_us, bytes);
        }
    }

    /// Checks for a clock dropout; returns a log line when the state changed.
    pub fn check(&mut self) -> Option<String> {
        let mut s = self.state.lock().ok()?;
        let now = s.shared.frame_now() as f64 / s.shared.rate as f64;
        let name = self
            .conn
            .as_ref()
            .map_or(self.name.as_str(), |c| c.0.name.as_str());
        match s.follower.poll(now)? {
            ClockNews::Dropout { bpm } => Some(format!(
                "{name}: the MIDI clock stopped for more than 2 beats; keeping {bpm:.2} BPM"
            )),
            ClockNews::Back => Some(format!("{name}: the MIDI clock is back")),
        }
    }

    /// The followed tempo, once known.
    pub fn bpm(&self) -> Option<f64> {
        self.state.lock().ok()?.follower.bpm()
    }
}
