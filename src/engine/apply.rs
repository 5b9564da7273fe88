//! How each command changes the engine's parts. Every number is clamped through the parameter
//! table (NaN becomes the parameter's default), so a bad value can never reach the DSP, and
//! what a command changed is published to the live state. Real-time safe.

use super::command::{Command, PadCmd, PadConfig, PadFx, PadId, StemCmd, TransportCmd};
use super::event::ClockMsg;
use super::io::Io;
use super::keylock::{self, Pool};
use super::live::PadLive;
use super::mix::Mixer;
use super::pads::{self, PadBank};
use super::params;
use super::slots::SlotTable;
use super::stems::StemMix;
use super::timeline::Launch;
use super::transport::Transport;
use crate::sample::buffer::MAX_STEMS;

/// The last taps of tap tempo (frames, oldest first).
#[derive(Default)]
pub(crate) struct Taps(heapless::Vec<u64, 5>);

impl Taps {
    /// A tap at `now`: the tempo of the taps so far (taps more than 2 s apart start over).
    /// Real-time safe.
    fn tap(&mut self, now: u64, rate: u32) -> Option<f64> {
        let gap = 2 * rate as u64;
        if self.0.last().is_some_and(|&t| now.saturating_sub(t) > gap) {
            self.0.clear();
        }
        if self.0.is_full() {
            self.0.remove(0);
        }
        let _ = self.0.push(now);
        match (self.0.first(), self.0.len()) {
            (Some(&first), n) if n >= 2 && now > first => {
                let beat = (now - first) as f64 / (n - 1) as f64 / rate as f64;
                Some(60.0 / beat)
            }
            _ => None,
        }
    }
}

/// Every part a command can change.
pub(crate) struct Ctx<'a> {
    pub(crate) bank: &'a mut PadBank,
    pub(crate) slots: &'a mut SlotTable,
    pub(crate) mixer: &'a mut Mixer,
    pub(crate) pool: &'a mut Pool,
    pub(crate) transport: &'a mut Transport,
    pub(crate) taps: &'a mut Taps,
    pub(crate) io: &'a mut Io,
    pub(crate) rate: u32,
}

impl Ctx<'_> {
    /// What pads reach beyond the bank.
    pub(crate) fn pads(&mut self) -> (&mut PadBank, pads::Ctx<'_>) {
        (
            &mut *self.bank,
            pads::Ctx {
                slots: &mut *self.slots,
                transport: &mut *self.transport,
                io: &mut *self.io,
            },
        )
    }

    /// Milliseconds as frames (truncated). Real-time safe.
    fn ms(&self, ms: f32) -> u64 {
        (ms as f64 / 1000.0 * self.rate as f64) as u64
    }
}

/// Applies `cmd` at frame `now` and publishes what it changed. Returns a quantised launch the
/// caller puts on the timeline. Real-time safe.
pub(crate) fn apply(cx: &mut Ctx, cmd: Command, now: u64) -> Option<(u64, Launch)> {
    let launch = match cmd {
        Command::Pad(p, c) => return pad(cx, p, c, now),
        Command::StopAll => {
            cx.bank.stop_all(now, cx.io);
            None
        }
        Command::Unload(slot) => {
            if cx.slots.begin_retire(slot) {
                cx.bank.forget_slot(slot, now, cx.io);
            }
            None
        }
        // The engine hands these to its recorder and input bus before they get here.
        Command::Record(..) | Command::Input(_) => None,
        Command::TableDrop(slot) => {
            keylock::drop_table(cx.bank, cx.slots, slot);
            None
        }
        Command::StretchBudget(n, frames) => {
            cx.pool.set_budget(n, frames);
            None
        }
        Command::MasterVolume(v) => {
            cx.mixer.set_master(v, cx.bank.smooth);
            None
        }
        Command::GlobalSpeed(s) => {
            cx.bank.global_speed = params::SPEED.clamp(s);
            None
        }
        Command::PlayMode(m) => {
            cx.bank.play_mode = m;
            None
        }
        Command::Quantize(q) => {
            cx.bank.quantize = q;
            None
        }
        Command::GlobalKeyLock(on) => {
            global_key_lock(cx, on);
            None
        }
        Command::Transport(t) => {
            transport(cx, t, now);
            None
        }
        Command::ClockOut(on) => {
            cx.io.clock_on = on;
            None
        }
        Command::Fx(param, v) => {
            cx.mixer.set_fx(param, v);
            cx.io.stats.live.set_fx(param, v);
            None
        }
        Command::EqCrossovers(a, b) => {
            cx.mixer.set_crossovers(a, b);
            None
        }
    };
    if matches!(
        cmd,
        Command::MasterVolume(_)
            | Command::GlobalSpeed(_)
            | Command::PlayMode(_)
            | Command::Quantize(_)
            | Command::Transport(
                TransportCmd::Tempo(_) | TransportCmd::TempoNow(_) | TransportCmd::Tap
            )
    ) {
        cx.io.stats.live.set_master(
            cx.mixer.master(),
            cx.bank.global_speed,
            cx.transport.bpm(),
            cx.bank.play_mode,
            cx.bank.quantize,
        );
    }
    launch
}

/// Key lock on or off for every pad; toggling turns it on everywhere unless it already is
/// everywhere.
fn global_key_lock(cx: &mut Ctx, on: Option<bool>) {
    let on = on.unwrap_or_else(|| {
        cx.bank
            .pads
            .iter()
            .filter_map(|p| p.cfg)
            .any(|c| !c.key_lock)
    });
    for p in 0..cx.bank.pads.len() {
        if let Some(cfg) = cx.bank.pads[p].cfg.as_mut() {
            cfg.key_lock = on;
            cx.bank.publish(&cx.io.stats, p as PadId);
        }
    }
    for p in 0..cx.bank.pads.len() {
        publish_pad_live(cx, p as PadId);
    }
}

/// A pad command.
fn pad(cx: &mut Ctx, p: PadId, cmd: PadCmd, now: u64) -> Option<(u64, Launch)> {
    match cmd {
        PadCmd::Press => {
            let (bank, mut pcx) = cx.pads();
            return bank.press(p, now, &mut pcx);
        }
        PadCmd::Release => cx.bank.release(p, now, cx.io),
        PadCmd::Stop => cx.bank.stop_pad(p, now, cx.io),
        PadCmd::Assign(cfg) => assign(cx, p, cfg, now),
        PadCmd::Reshape(region) => {
            let (bank, mut pcx) = cx.pads();
            bank.reshape(p, region, now, &mut pcx);
        }
        PadCmd::Clear => cx.bank.clear(p, now, cx.io),
        PadCmd::Table(src, g) => keylock::add_table(cx.bank, cx.slots, p, src, g),
        _ => pad_setting(cx, p, cmd, now),
    }
    if cmd.changes_settings() {
        publish_pad_live(cx, p);
    }
    None
}

/// A change to one of a pad's settings (nothing happens to a pad without a sample).
fn pad_setting(cx: &mut Ctx, p: PadId, cmd: PadCmd, now: u64) {
    let Some(cfg) = cx.bank.cfg_mut(p) else {
        return;
    };
    let mut lights = true;
    match cmd {
        PadCmd::Gain(g) => {
            cfg.gain = params::clamp_pad_gain(g);
            lights = false;
        }
        PadCmd::Speed(s) => {
            cfg.speed = params::SPEED.clamp(s);
            lights = false;
            if cfg.sync {
                cx.bank.resync(p, now, cx.transport);
            }
        }
        PadCmd::Sync(on) => {
            let on = on.unwrap_or(!cfg.sync);
            lights = cfg.sync != on;
            if lights {
                cfg.sync = on;
                cx.bank.resync(p, now, cx.transport);
            }
        }
        PadCmd::KeyLock(on) => cfg.key_lock = on.unwrap_or(!cfg.key_lock),
        PadCmd::Transpose(t) => cfg.transpose = clamp_transpose(t),
        PadCmd::TransposeBy(d) => cfg.transpose = clamp_transpose(cfg.transpose + d),
        PadCmd::Stem(c) => stem_change(&mut cfg.stems, c),
        _ => {
            lights = false;
            pad_fx(cx, p, cmd);
        }
    }
    if lights {
        cx.bank.publish(&cx.io.stats, p);
    }
}

/// Changes a pad's sound-shaping settings; they glide from where they are.
fn pad_fx(cx: &mut Ctx, p: PadId, cmd: PadCmd) {
    let Some(cfg) = cx.bank.cfg_mut(p) else {
        return;
    };
    let fx: &mut PadFx = &mut cfg.fx;
    match cmd {
        PadCmd::Eq(band, k) => {
            if let Some(v) = fx.eq.get_mut(band as usize) {
                *v = params::EQ_KNOB.clamp(k);
            }
        }
        PadCmd::Filter(k) => fx.filter = params::FILTER.clamp(k),
        PadCmd::Resonance(r) => fx.resonance = params::RESONANCE.clamp(r),
        PadCmd::Send(bus, v) => fx.sends[bus as usize] = params::DELAY_SEND.clamp(v),
        PadCmd::EqMode(m) => fx.eq_mode = m,
        _ => return,
    }
    let fx = *fx;
    cx.mixer
        .configure_pad(p as usize, &fx, true, cx.bank.smooth);
}

/// Publishes pad `p`'s settings to the live state.
pub(crate) fn publish_pad_live(cx: &Ctx, p: PadId) {
    let live = cx
        .bank
        .pads
        .get(p as usize)
        .and_then(|pad| pad.cfg)
        .map(|c| PadLive::of(&c));
    cx.io.stats.live.set_pad(p as usize, live);
}

/// Sets or replaces a pad's configuration: a pad keeps playing when only its sound settings
/// changed; a new sample or region restarts from silence.
fn assign(cx: &mut Ctx, p: PadId, cfg: PadConfig, now: u64) {
    let Some(pad) = cx.bank.pads.get(p as usize).copied() else {
        return;
    };
    if cfg.slot as usize >= cx.slots.len() {
        return;
    }
    let keeps_playing = pad.cfg.is_some_and(|old| {
        old.slot == cfg.slot
            && old.start == cfg.start
            && old.loop_start == cfg.loop_start
            && old.loop_end == cfg.loop_end
            && old.looping == cfg.looping
    });
    if !keeps_playing {
        cx.bank.stop_pad(p, now, cx.io);
        // Tables belong to the old sample and region.
        cx.bank.pads[p as usize].tables = Default::default();
    }
    let mut cfg = cfg;
    cfg.gain = params::clamp_pad_gain(cfg.gain);
    cfg.speed = params::SPEED.clamp(cfg.speed);
    cfg.transpose = clamp_transpose(cfg.transpose);
    let playing = cx.bank.pads[p as usize].voice.is_some();
    cx.mixer
        .configure_pad(p as usize, &cfg.fx, playing, cx.bank.smooth);
    cx.bank.pads[p as usize].cfg = Some(cfg);
    cx.bank.publish(&cx.io.stats, p);
}

/// A transport command.
fn transport(cx: &mut Ctx, t: TransportCmd, now: u64) {
    let tr = &mut *cx.transport;
    match t {
        TransportCmd::Start => cx.io.start_transport(tr, now),
        TransportCmd::Continue => {
            if !tr.running() {
                let at = tr.beat_at(now);
                tr.start(now, at);
                cx.io.clock(now, ClockMsg::SongPosition(song_position(at)));
                cx.io.clock(now, ClockMsg::Continue);
            }
        }
        TransportCmd::Stop => stop(cx, now),
        TransportCmd::Toggle => {
            if tr.running() {
                stop(cx, now);
            } else {
                cx.io.start_transport(tr, now);
            }
        }
        TransportCmd::Tempo(b) => tr.set_bpm(now, b),
        TransportCmd::TempoNow(b) => tr.jump_bpm(now, b),
        TransportCmd::Glide(ms) => {
            let frames = cx.ms(params::TEMPO_GLIDE_MS.clamp(ms));
            cx.transport.set_glide_frames(frames);
        }
        TransportCmd::Meter(n) => tr.set_beats_per_bar(n as u32),
        TransportCmd::LatePress(ms) => {
            cx.bank.late_frames = cx.ms(params::LATE_PRESS_MS.clamp(ms));
        }
        TransportCmd::Nudge(f) => tr.set_nudge(now, f as f64),
        TransportCmd::Trim(f) => tr.set_trim(now, f as f64),
        TransportCmd::Tap => {
            if let Some(bpm) = cx.taps.tap(now, cx.rate) {
                tr.jump_bpm(now, bpm);
            }
        }
        TransportCmd::Locate(beat) => {
            let beat = if beat.is_finite() {
                beat.clamp(0.0, 1e9)
            } else {
                0.0
            };
            let jump = beat - tr.beat_at(now);
            tr.locate(now, beat);
            cx.io
                .clock(now, ClockMsg::SongPosition(song_position(beat)));
            // Synced voices keep playing where they are, then drift onto the new grid.
            cx.bank.shift_grid(jump);
        }
    }
}

/// Stops the transport: every pad and queued launch stops (MIDI Stop goes out).
fn stop(cx: &mut Ctx, now: u64) {
    cx.bank.stop_all(now, cx.io);
    if cx.transport.running() {
        cx.transport.stop(now);
        cx.io.clock(now, ClockMsg::Stop);
    }
}

/// Applies a stem change (stem numbers past [`MAX_STEMS`] are ignored). Real-time safe.
fn stem_change(m: &mut StemMix, c: StemCmd) {
    let bit = |s: u8| {
        if (s as usize) < MAX_STEMS {
            1u8 << s
        } else {
            0
        }
    };
    let set = |mask: &mut u8, b: u8, on: Option<bool>| match on {
        Some(true) => *mask |= b,
        Some(false) => *mask &= !b,
        None => *mask ^= b,
    };
    match c {
        StemCmd::Stems(on) => m.on = on.unwrap_or(!m.on),
        StemCmd::Mute(s, on) => set(&mut m.mute, bit(s), on),
        StemCmd::Solo(s, on) => set(&mut m.solo, bit(s), on),
        StemCmd::SoloOnly(s) => m.solo = if m.solo == bit(s) { 0 } else { bit(s) },
        StemCmd::Gain(s, g) => {
            if let Some(v) = m.gain.get_mut(s as usize) {
                *v = params::clamp_stem_gain(g);
            }
        }
        StemCmd::Reset => *m = StemMix::default(),
    }
}

/// Transpose within its range: semitones plus cents (NaN is 0). Real-time safe.
fn clamp_transpose(t: f32) -> f32 {
    let lo = params::TRANSPOSE.lo + params::FINE.lo / 100.0;
    let hi = params::TRANSPOSE.hi + params::FINE.hi / 100.0;
    if t.is_nan() { 0.0 } else { t.clamp(lo, hi) }
}

/// A position in beats as a MIDI song position (sixteenth notes, 14 bits). Real-time safe.
fn song_position(beat: f64) -> u16 {
    (beat * 4.0).round().clamp(0.0, 16383.0) as u16
}
