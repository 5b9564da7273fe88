//! Record commands routed to the recorder, the timeline and the pads: a press arms a take for
//! its quantisation point, a take that begins asks for its end, and a closed take becomes its
//! pad's loop (the tempo it sets first). Real-time safe.

use super::super::apply::{self, Ctx};
use super::super::command::TransportCmd;
use super::super::command::{Command, LaunchMode, PadCmd, PadConfig, PadFx, PadId, SlotId};
use super::super::event::EventKind;
use super::super::input::InputBus;
use super::dub;
use super::recorder::{Closed, Recorder};
use super::types::{InputCmd, RecordCmd, RecordSource};
use super::view::RecordState;

/// Applies a record command for pad `p` at `now` (`lookahead`: the master limiter's). Returns
/// a record command to put on the timeline at its frame (a take's begin or end).
pub(crate) fn command(
    rec: &mut Recorder,
    cx: &mut Ctx,
    p: PadId,
    rc: RecordCmd,
    now: u64,
    lookahead: usize,
) -> Option<(u64, Command)> {
    if p as usize >= cx.bank.pads.len() {
        return None;
    }
    let was = cx.io.stats.record.state();
    match rc {
        RecordCmd::Press(source) => {
            let bar = cx.transport.beats_per_bar().max(1);
            // Takes begin on the quantisation grid (a bar without one), at most a bar apart.
            let unit = cx
                .bank
                .quantize
                .beats(bar)
                .unwrap_or(bar as f64)
                .min(bar as f64);
            match rec.press(p, source, now, cx.transport, unit, &cx.io.stats.record) {
                Ok(Some((at, next))) => {
                    if matches!(next, RecordCmd::Begin(_)) {
                        cx.io.emit(now, EventKind::RecordArmed(p));
                    }
                    if at <= now {
                        return command(rec, cx, p, next, now, lookahead);
                    }
                    return Some((at, Command::Record(p, next)));
                }
                Ok(None) => note_cancel(cx, was, p, now),
                Err(r) => cx.io.emit(now, EventKind::RecordRefused(p, r)),
            }
        }
        RecordCmd::Overdub => return dub::overdub(rec, cx, p, now, lookahead),
        RecordCmd::Swap(n) => dub::swap_due(rec, cx, n, now),
        RecordCmd::Compacted(from, to) => dub::compacted(rec, cx, from, to),
        RecordCmd::Undo => dub::undo(rec, cx, p, now, false),
        RecordCmd::Redo => dub::undo(rec, cx, p, now, true),
        RecordCmd::Clear => dub::clear(rec, cx, p, now),
        RecordCmd::Stop => {
            if was == RecordState::Overdubbing(p) {
                return dub::overdub(rec, cx, p, now, lookahead);
            } else if let RecordState::Armed(q) | RecordState::Recording(q) = was
                && q == p
            {
                return command(
                    rec,
                    cx,
                    p,
                    RecordCmd::Press(RecordSource::Input),
                    now,
                    lookahead,
                );
            }
        }
        RecordCmd::Cancel => {
            dub::cancel(rec, cx, p, now);
            rec.cancel(p, &cx.io.stats.record);
            note_cancel(cx, was, p, now);
        }
        RecordCmd::Begin(n) => {
            let view = &cx.io.stats.record;
            if let Some((end, pad, source)) = rec.begin(n, now, cx.transport, lookahead, view) {
                if source == RecordSource::MasterWithout {
                    // Its sound out of the take: it stops (fading) as the take begins.
                    cx.bank.stop_pad(pad, now, cx.io);
                }
                cx.io.emit(now, EventKind::RecordStarted(pad));
                return Some((end, Command::Record(pad, RecordCmd::End(n))));
            }
        }
        RecordCmd::End(n) => match rec.end(n, now, cx.transport, cx.slots, &cx.io.stats.record) {
            Ok(Some(c)) => play_take(rec, cx, c, now),
            Ok(None) => {}
            Err((pad, r)) => {
                cx.io.emit(now, EventKind::RecordRefused(pad, r));
                cx.io.emit(now, EventKind::RecordCancelled(pad));
            }
        },
    }
    None
}

/// A setting of the input bus and recording. Real-time safe.
pub(crate) fn settings(rec: &mut Recorder, input: &mut InputBus, cmd: InputCmd, cx: &Ctx) {
    if let InputCmd::Monitor(on) = cmd {
        input.set_monitor(on.unwrap_or(!input.monitoring()));
    }
    if let InputCmd::Drift(on) = cmd {
        input.set_drift(on);
    }
    rec.set(cmd, &cx.io.stats.record, input.monitoring());
}

/// Reports a take of `p` that a command abandoned.
fn note_cancel(cx: &mut Ctx, was: RecordState, p: PadId, now: u64) {
    let gone = matches!(was, RecordState::Armed(q) | RecordState::Recording(q) if q == p)
        && cx.io.stats.record.state() == RecordState::Idle;
    if gone {
        cx.io.emit(now, EventKind::RecordCancelled(p));
    }
}

/// The settings a take plays with in a pad that had none.
fn fresh(slot: SlotId) -> PadConfig {
    PadConfig {
        slot,
        start: 0,
        loop_start: 0,
        loop_end: 0,
        end_frac: 0.0,
        looping: true,
        gain: 1.0,
        speed: 1.0,
        bpm: 0.0,
        sync: true,
        in_phase: true,
        key_lock: false,
        transpose: 0.0,
        mode: LaunchMode::Toggle,
        choke: 0,
        quantize: None,
        fx: PadFx::default(),
        stems: Default::default(),
    }
}

/// A take closed at `now`: the tempo it sets (transport stopped), then its pad plays it from
/// its start, looping, on the beat grid. The pad keeps its gain, effects, choke group,
/// quantisation and key lock; it plays the take at its own speed and pitch, in toggle mode.
fn play_take(rec: &mut Recorder, cx: &mut Ctx, c: Closed, now: u64) {
    if c.sets_tempo {
        apply::apply(cx, Command::Transport(TransportCmd::TempoNow(c.bpm)), now);
    }
    let old = cx.bank.pads[c.pad as usize].cfg;
    let cfg = PadConfig {
        slot: c.slot,
        start: 0,
        loop_start: 0,
        loop_end: c.frames,
        end_frac: 0.0,
        looping: true,
        speed: 1.0,
        bpm: c.bpm as f32,
        sync: true,
        in_phase: true,
        transpose: 0.0,
        mode: LaunchMode::Toggle,
        stems: Default::default(),
        ..old.unwrap_or_else(|| fresh(c.slot))
    };
    apply::apply(cx, Command::Pad(c.pad, PadCmd::Assign(cfg)), now);
    rec.history.push(c.pad, old, Some(cfg));
    rec.history.own(c.slot);
    let grid = cx
        .transport
        .running()
        .then(|| (now, cx.transport.beat_at(now)));
    let (bank, mut pcx) = cx.pads();
    bank.start_pad(c.pad, cfg, now, grid, &mut pcx);
    bank.publish(&pcx.io.stats, c.pad);
    cx.io.emit(now, EventKind::RecordPlaying(c.pad));
}
