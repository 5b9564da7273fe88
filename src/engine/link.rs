//! Ableton Link in the engine: the transport follows the session's tempo and bar phase, and
//! local tempo and start/stop changes go back to the session.
//!
//! [`LinkSession`] is Ableton's own Link (through `rusty_link`), shared by the control side
//! (enable, peers, start/stop sync) and the engine. [`LinkPart`] is the engine's end: once per
//! [`Engine::process`](super::Engine::process) call it captures the audio session state at the
//! host time the block's first frame will be *heard* (callback time, filtered against the frame
//! count, plus the output's delay and the limiter's look-ahead, as Ableton's LinkHut does), and
//! - takes a tempo the session changed (at once), or gives the session a tempo changed here (a
//!   tap, a knob, a glide's steps, a held nudge, a reload, MIDI clock in);
//! - with start/stop sync, starts or stops the transport when the session does, and tells the
//!   session when it starts or stops here;
//! - keeps the transport's bar phase (quantum = beats per bar) on the session's: small errors
//!   (above [`DRIFT_BEATS`]) are pulled in by a tempo trim of at most [`MAX_TRIM`] over about
//!   [`CATCH_BEATS`] until below [`SETTLED_BEATS`] (between pulls the tempo is steady); a larger
//!   one (joining a session, a peer moving the phase) moves the position there with the same
//!   re-sync a song position uses (synced voices keep playing and drift onto the new grid, so
//!   nothing jumps). While a MIDI clock in leads, the phase is the clock's
//!   ([`LinkSession::set_follow_phase`]).
//!
//! The capture, commit and clock calls are Link's real-time-safe ones; the part is built on a
//! control thread and never leaves the engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rusty_link::{AblLink, SessionState};

use super::host_time::HostTime;

use super::command::TransportCmd;
use super::transport::{MAX_BPM, MIN_BPM, Transport};

/// Tempo differences below this are the same tempo (Link keeps microseconds per beat).
pub const TEMPO_TOLERANCE: f64 = 0.005;
/// A phase error above this (beats) moves the position instead of trimming the tempo.
pub const LOCATE_BEATS: f64 = 0.03;
/// Smaller phase errors are pulled in over about this many beats.
pub const CATCH_BEATS: f64 = 0.5;
/// A phase error above this (beats; 0.2 ms at 120 BPM) starts a pull.
pub const DRIFT_BEATS: f64 = 0.0004;
/// A pull ends below this (beats): a steady session gives a steady tempo, so key-locked pads
/// stay on their stretched tables instead of real-time stretchers.
pub const SETTLED_BEATS: f64 = 0.0001;
/// Largest tempo trim (fraction) used to pull the phase in.
pub const MAX_TRIM: f64 = 0.03;

/// What the engine reports about the session (as [`super::event::EventKind::Link`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkNews {
    /// The session's tempo changed and the transport took it (BPM).
    Tempo(f64),
    /// A tempo changed here went to the session (BPM; glide steps are not reported).
    Sent(f64),
    /// The session started the transport (start/stop sync).
    Started,
    /// The session stopped the transport (start/stop sync).
    Stopped,
    /// The position moved onto the session's bar phase by this many beats.
    Moved(f32),
    /// The frame → time line started again (an xrun or a stall): frames before this event were
    /// heard on the old line, frames from it on the new one.
    Resync,
}

/// Ableton Link, shared between the control side and the engine. Created on a control thread;
/// every method says whether it is real-time safe.
pub struct LinkSession {
    link: AblLink,
    /// The engine follows the session (set with Link enabled, or alone for tests).
    following: AtomicBool,
    /// The transport follows the session's phase (false while a MIDI clock in leads).
    follow_phase: AtomicBool,
    /// Link microseconds at which engine frame 0 would be heard (`f64` bits; the engine
    /// publishes it every block; NaN before the first).
    origin_bits: AtomicU64,
}

impl std::fmt::Debug for LinkSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSession")
            .field("enabled", &self.link.is_enabled())
            .field("following", &self.following())
            .finish()
    }
}

impl LinkSession {
    /// A Link instance at `bpm`, not enabled: no socket is opened until [`Self::set_enabled`].
    /// Not real-time (Link starts its own thread).
    pub fn new(bpm: f64) -> Arc<Self> {
        Arc::new(Self {
            link: AblLink::new(bpm.clamp(MIN_BPM, MAX_BPM)),
            following: AtomicBool::new(false),
            follow_phase: AtomicBool::new(true),
            origin_bits: AtomicU64::new(f64::NAN.to_bits()),
        })
    }

    /// Joins (or leaves) the Link session on the network, and has the engine follow it. Not
    /// real-time (Link opens or closes its sockets).
    pub fn set_enabled(&self, on: bool) {
        self.link.enable(on);
        self.following.store(on, Ordering::Release);
    }

    /// Has the engine follow Link's timeline without joining the network (this process is
    /// the whole session). For tests and offline checks. Real-time safe.
    pub fn follow_offline(&self, on: bool) {
        self.following.store(on, Ordering::Release);
    }

    /// Whether Link is enabled on the network. Real-time safe.
    pub fn enabled(&self) -> bool {
        self.link.is_enabled()
    }

    /// Whether the engine follows the session. Real-time safe.
    pub fn following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Shares start and stop with the peers that do too. Real-time safe.
    pub fn set_start_stop_sync(&self, on: bool) {
        self.link.enable_start_stop_sync(on);
    }

    /// Whether start/stop is shared. Real-time safe.
    pub fn start_stop_sync(&self) -> bool {
        self.link.is_start_stop_sync_enabled()
    }

    /// Whether the transport follows the session's bar phase (false: a MIDI clock in leads
    /// the phase; tempo is still shared). Real-time safe.
    pub fn set_follow_phase(&self, on: bool) {
        self.follow_phase.store(on, Ordering::Release);
    }

    /// Other Link apps in the session. Real-time safe.
    pub fn peers(&self) -> u64 {
        self.link.num_peers()
    }

    /// Link's clock (microseconds; the host time every peer's timeline is expressed in).
    /// Real-time safe.
    pub fn clock_micros(&self) -> i64 {
        self.link.clock_micros()
    }

    /// The Link time (microseconds) at which engine frame `frame` is heard, once the engine
    /// has followed the session. Real-time safe.
    pub fn heard_at(&self, frame: u64, rate: u32) -> Option<f64> {
        let origin = f64::from_bits(self.origin_bits.load(Ordering::Acquire));
        origin
            .is_finite()
            .then(|| origin + frame as f64 * 1e6 / rate.max(1) as f64)
    }

    /// The session as an app thread sees it now: tempo, beat (at `quantum`) and whether it
    /// plays. Not real-time.
    pub fn app_view(&self, quantum: f64) -> AppView {
        let mut s = SessionState::new();
        self.link.capture_app_session_state(&mut s);
        let micros = self.link.clock_micros();
        let beat = s.beat_at_time(micros, quantum);
        let bar = (beat / quantum).floor() * quantum;
        AppView {
            micros,
            tempo: s.tempo(),
            beat,
            bar_micros: s.time_at_beat(bar, quantum),
            playing: s.is_playing(),
        }
    }

    /// The session's beat at Link time `micros` (at `quantum`), as an app thread sees it.
    /// Not real-time.
    pub fn beat_at(&self, micros: i64, quantum: f64) -> f64 {
        let mut s = SessionState::new();
        self.link.capture_app_session_state(&mut s);
        s.beat_at_time(micros, quantum)
    }

    /// Changes the session from an app thread: tempo (BPM, from now) and/or playing state.
    /// Not real-time.
    pub fn app_commit(&self, tempo: Option<f64>, playing: Option<bool>, quantum: f64) {
        let mut s = SessionState::new();
        self.link.capture_app_session_state(&mut s);
        let now = self.link.clock_micros();
        if let Some(bpm) = tempo {
            s.set_tempo(bpm, now);
        }
        if let Some(on) = playing {
            s.set_is_playing_and_request_beat_at_time(on, now, 0.0, quantum);
        }
        self.link.commit_app_session_state(&s);
    }
}

/// The session seen from an app thread ([`LinkSession::app_view`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppView {
    /// Link time of the reading, microseconds.
    pub micros: i64,
    /// Tempo, BPM.
    pub tempo: f64,
    /// Beat at `micros` for the quantum asked.
    pub beat: f64,
    /// Link time of the bar line (a multiple of the quantum) at or before `beat`.
    pub bar_micros: i64,
    /// Whether the session plays (start/stop sync).
    pub playing: bool,
}

/// What the follower asks of the engine.
pub(crate) trait LinkHost {
    /// The transport as it is now.
    fn transport(&self) -> Transport;
    /// Applies a transport command at the block's first frame.
    fn apply(&mut self, cmd: TransportCmd);
    /// Applies a transport command at a later engine frame.
    fn apply_at(&mut self, frame: u64, cmd: TransportCmd);
    /// Reports news at the block's first frame.
    fn report(&mut self, news: LinkNews);
    /// Buffer underruns so far (the output's count): the frame clock skipped.
    fn xruns(&self) -> u64;
}

/// The engine's end of Link: built on a control thread, then owned by the engine for good.
pub struct LinkPart {
    session: Arc<LinkSession>,
    state: SessionState,
    filter: HostTime,
    /// The output's xrun count at the last block (a change restarts the filter).
    xruns: u64,
    /// How long from the call until the block is heard (callback to speaker), microseconds.
    out_delay_us: f64,
    /// Followed last block.
    active: bool,
    /// The transport's tempo after the last block (BPM).
    last_ours: f64,
    /// The session's tempo seen last block.
    last_theirs: f64,
    was_running: bool,
    /// A trim is set (to be released when following stops).
    trimmed: bool,
}

impl LinkPart {
    /// The engine's end of `session` for an engine at `rate` Hz. Not real-time (allocates the
    /// state and the filter).
    pub fn new(session: Arc<LinkSession>, rate: u32) -> Box<Self> {
        Box::new(Self {
            session,
            state: SessionState::new(),
            filter: HostTime::new(rate),
            xruns: 0,
            out_delay_us: 0.0,
            active: false,
            last_ours: f64::NAN,
            last_theirs: f64::NAN,
            was_running: false,
            trimmed: false,
        })
    }

    /// Sets how long from now the next block is heard, ns. Real-time safe.
    pub(crate) fn set_output_delay(&mut self, nanos: i64) {
        self.out_delay_us = nanos as f64 / 1000.0;
    }

    /// Follows the session for the block of `frames` frames starting at engine `frame` (heard
    /// `latency` frames after the output delay). Real-time safe: Link's capture and commit
    /// calls only.
    pub(crate) fn sync(
        &mut self,
        (frame, frames): (u64, usize),
        rate: u32,
        latency: usize,
        host: &mut dyn LinkHost,
    ) {
        // A second reference for the duration of the call (an atomic count, never the last).
        let session = self.session.clone();
        let s = &*session;
        if !s.following() {
            if self.active {
                self.active = false;
                self.release_trim(host);
            }
            return;
        }
        let rate_f = rate.max(1) as f64;
        let xruns = host.xruns();
        if xruns != self.xruns {
            // The frames stopped counting for a while: a new line from here.
            self.xruns = xruns;
            self.filter.reset();
        }
        // The line goes through the times blocks leave the output (smoother than the times
        // callbacks run: a paced block names its deadline).
        let restarts = self.filter.restarts();
        let out = self
            .filter
            .time_of(frame, s.clock_micros() as f64 + self.out_delay_us);
        if self.filter.restarts() != restarts {
            host.report(LinkNews::Resync);
        }
        let heard = out + latency as f64 * 1e6 / rate_f;
        s.origin_bits.store(
            (heard - frame as f64 * 1e6 / rate_f).to_bits(),
            Ordering::Release,
        );
        let at = heard.round() as i64;
        s.link.capture_audio_session_state(&mut self.state);
        let first = !self.active;
        self.active = true;
        // Alone in the session (just enabled, or nobody else yet): the session takes ours.
        let alone = first && s.peers() == 0;
        let mut commit = self.tempo(first, alone, at, host);
        commit |= self.start_stop(first, alone, (frame, frames, at, rate_f), host);
        let t = host.transport();
        let follow_phase = s.follow_phase.load(Ordering::Acquire);
        if t.running() && follow_phase {
            let q = t.beats_per_bar() as f64;
            let ours = t.beat_at(frame);
            if (alone || !self.was_running) && s.peers() == 0 {
                // Nobody to follow: the session's bar lines become ours.
                self.state.request_beat_at_time(ours, at, q);
                commit = true;
            }
            let err = wrap(self.state.beat_at_time(at, q) - ours, q);
            if err.abs() > LOCATE_BEATS {
                let mut to = ours + err;
                if to < 0.0 {
                    to += q * (-to / q).ceil();
                }
                self.release_trim(host);
                host.apply(TransportCmd::Locate(to));
                host.report(LinkNews::Moved((to - ours) as f32));
            } else if self.trimmed && err.abs() < SETTLED_BEATS {
                self.release_trim(host);
            } else if self.trimmed || err.abs() > DRIFT_BEATS {
                let trim = 1.0 + (err / CATCH_BEATS).clamp(-MAX_TRIM, MAX_TRIM);
                host.apply(TransportCmd::Trim(trim as f32));
                self.trimmed = true;
            }
        } else if self.trimmed && follow_phase {
            self.release_trim(host);
        }
        if commit {
            s.link.commit_audio_session_state(&self.state);
        }
        let t = host.transport();
        self.was_running = t.running();
        self.last_ours = t.stepped_bpm() * t.nudge();
    }

    /// Tempo one way or the other; true when the state needs committing.
    fn tempo(&mut self, first: bool, alone: bool, at: i64, host: &mut dyn LinkHost) -> bool {
        let t = host.transport();
        // What the performer asks for: a held nudge moves the whole session, so every peer
        // keeps its phase with padlooper's.
        let ours = t.stepped_bpm() * t.nudge();
        let theirs = self.state.tempo();
        let local = !first && (ours - self.last_ours).abs() > TEMPO_TOLERANCE;
        let remote = !first && (theirs - self.last_theirs).abs() > TEMPO_TOLERANCE;
        let mut commit = false;
        if alone || local {
            if (theirs - ours).abs() > TEMPO_TOLERANCE {
                self.state.set_tempo(ours, at);
                commit = true;
                if !t.gliding() {
                    host.report(LinkNews::Sent(ours));
                }
            }
        } else if (first || remote) && (theirs - ours).abs() > TEMPO_TOLERANCE {
            host.apply(TransportCmd::TempoNow(theirs / t.nudge()));
            host.report(LinkNews::Tempo(theirs));
        }
        self.last_theirs = self.state.tempo();
        commit
    }

    /// Start/stop sync for the block of `frames` frames at engine frame `frame`, heard at Link
    /// time `at` (`rate` frames per second); true when the state needs committing. The
    /// session's start takes effect on the frame heard at the time it names (a peer counting
    /// in to its next bar starts there), or at once when that time has passed.
    fn start_stop(
        &mut self,
        first: bool,
        alone: bool,
        (frame, frames, at, rate): (u64, usize, i64, f64),
        host: &mut dyn LinkHost,
    ) -> bool {
        let running = host.transport().running();
        if !self.session.start_stop_sync() {
            return false;
        }
        let theirs = self.state.is_playing();
        if theirs == running {
            return false;
        }
        if alone || (!first && running != self.was_running) {
            self.state.set_is_playing(running, at);
            return true;
        }
        if theirs {
            let ahead = ((self.state.time_for_is_playing() - at) as f64 * rate / 1e6).round();
            if ahead >= frames as f64 {
                // Later: a block that holds the start takes it.
                return false;
            }
            if ahead >= 1.0 {
                host.apply_at(frame + ahead as u64, TransportCmd::Start);
            } else {
                host.apply(TransportCmd::Start);
            }
            host.report(LinkNews::Started);
        } else {
            host.apply(TransportCmd::Stop);
            host.report(LinkNews::Stopped);
        }
        false
    }

    fn release_trim(&mut self, host: &mut dyn LinkHost) {
        if self.trimmed {
            self.trimmed = false;
            host.apply(TransportCmd::Trim(1.0));
        }
    }
}

/// `x` folded into `[-q/2, q/2)`. Real-time safe.
fn wrap(x: f64, q: f64) -> f64 {
    if !x.is_finite() || q <= 0.0 {
        return 0.0;
    }
    (x + q / 2.0).rem_euclid(q) - q / 2.0
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn phase_errors_fold_into_half_a_bar_either_way() {
        assert!((wrap(0.1, 4.0) - 0.1).abs() < 1e-12);
        assert!((wrap(3.9, 4.0) + 0.1).abs() < 1e-12);
        assert!((wrap(-5.0, 4.0) + 1.0).abs() < 1e-12);
        assert_eq!(wrap(f64::NAN, 4.0), 0.0);
    }
}
