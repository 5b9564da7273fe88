//! Overdub passes, undo, redo and clear routed to the recorder, the pads and the slot table,
//! and what recording captures after each block. Real-time safe.

use std::sync::atomic::Ordering;

use ringbuf::traits::{Observer, Producer};

use super::super::apply::{self, Ctx};
use super::super::command::{Command, PadCmd, PadConfig, PadId, SlotId};
use super::super::event::EventKind;
use super::overdub::{Pass, PassStep};
use super::recorder::Recorder;
use super::types::{DiskMark, Finished, RecordCmd, Refusal, Tape};

/// Engine frames between two looks for tapes nothing reaches any more (1.4 s at 48 kHz).
const SWEEP: u64 = 1 << 16;

/// The overdub button on pad `p` at `now` (`lookahead`: the master limiter's): a pass begins
/// at once, or the pad's pass ends. Real-time safe.
/// Returns when the pad can play the pass's tape (the swap to schedule).
pub(crate) fn overdub(
    rec: &mut Recorder,
    cx: &mut Ctx,
    p: PadId,
    now: u64,
    lookahead: usize,
) -> Option<(u64, Command)> {
    if let Some(pass) = rec.pass.as_mut() {
        if pass.pad != p {
            cx.io.emit(now, EventKind::RecordRefused(p, Refusal::Busy));
        } else if pass.end_at == u64::MAX {
            pass.end_at = now;
        }
        return None;
    }
    if rec.busy() {
        cx.io.emit(now, EventKind::RecordRefused(p, Refusal::Busy));
        return None;
    }
    match begin(rec, cx, p, now, lookahead) {
        Ok(()) => {
            cx.io.emit(now, EventKind::OverdubStarted(p));
            let pass = rec.pass.as_ref()?;
            let at = pass.once_round(cx.transport);
            Some((at, Command::Record(p, RecordCmd::Swap(pass.n))))
        }
        Err(r) => {
            cx.io.emit(now, EventKind::RecordRefused(p, r));
            None
        }
    }
}

/// The scheduled swap of pass `n`: the pad plays its tape from now on, if it is once round
/// (a tempo change since can make it early: then capture swaps once every frame is in).
/// Real-time safe.
pub(crate) fn swap_due(rec: &mut Recorder, cx: &mut Ctx, n: u32, now: u64) {
    let due = rec
        .pass
        .as_ref()
        .is_some_and(|x| x.n == n && !x.swapped && x.due(now, cx.transport));
    if due {
        swap(rec, cx, now);
    }
}

fn begin(
    rec: &mut Recorder,
    cx: &mut Ctx,
    p: PadId,
    now: u64,
    lookahead: usize,
) -> Result<(), Refusal> {
    let (cfg, origin) = cx.bank.synced(p).ok_or(Refusal::NotLooping)?;
    let origin = origin.ok_or(Refusal::NotLooping)?;
    let spb = cx
        .bank
        .src_per_beat(&cfg, cx.transport)
        .ok_or(Refusal::NotLooping)?;
    let resident = cx
        .slots
        .buffer(cfg.slot)
        .is_some_and(|b| b.stream().is_none());
    if !cfg.looping || cfg.start != cfg.loop_start || !resident || !cx.slots.playable(cfg.slot) {
        return Err(Refusal::NotLooping);
    }
    let tape = rec.blank_tape().ok_or(Refusal::NoTape)?;
    rec.count = rec.count.wrapping_add(1);
    let delay = lookahead as u64 + rec.latency as u64;
    let tape = (tape.slot, tape.buffer);
    match Pass::new(rec.count, p, cfg, tape, (origin, spb), rec.fb, now, delay) {
        Ok(pass) => rec.pass = Some(pass),
        Err((slot, buffer)) => {
            rec.keep_blank(Tape { slot, buffer });
            return Err(Refusal::TooLong);
        }
    }
    let view = &cx.io.stats.record;
    view.tapes_used.fetch_add(1, Ordering::Release);
    view.set(4, p);
    Ok(())
}

/// Cancel on pad `p`: a pass the pad does not play yet is abandoned (the pad keeps its loop);
/// one it plays ends as a press would (undo takes it back). Real-time safe.
pub(crate) fn cancel(rec: &mut Recorder, cx: &mut Ctx, p: PadId, now: u64) {
    let Some(pass) = rec.pass.as_mut().filter(|x| x.pad == p) else {
        return;
    };
    if pass.swapped {
        pass.end_at = pass.end_at.min(now);
    } else {
        abandon(rec, cx, now);
    }
}

/// Drops the running pass; its tape waits for the next take when the engine still holds it.
fn abandon(rec: &mut Recorder, cx: &mut Ctx, now: u64) {
    let Some(pass) = rec.pass.take() else {
        return;
    };
    if let Some(buffer) = pass.tape {
        rec.keep_blank(Tape {
            slot: pass.slot,
            buffer,
        });
        cx.io
            .stats
            .record
            .tapes_used
            .fetch_sub(1, Ordering::Release);
    }
    cx.io.stats.record.set(0, 0);
    cx.io.emit(now, EventKind::RecordCancelled(pass.pad));
}

/// After the block that began at `start`: takes capture from `input` (the input bus) or
/// `master`; a pass sums the input into its loop, the pad plays its layers once they are all
/// there, and a complete pass goes to the control side and the disk writer. Now and then,
/// tapes nothing plays or can go back to are handed back. Real-time safe.
pub(crate) fn capture(rec: &mut Recorder, cx: &mut Ctx, start: u64, input: &[f32], master: &[f32]) {
    rec.capture(start, input, master, cx.slots, cx.io);
    let end = start + (master.len() / 2) as u64;
    if let Some(pass) = rec.pass.as_mut() {
        match pass.capture(start, input, cx.transport, cx.slots) {
            PassStep::Going => {}
            PassStep::Swap => swap(rec, cx, end),
            PassStep::Done => finish(rec, cx, end),
        }
    }
    if start / SWEEP != end / SWEEP {
        rec.history.sweep(cx.bank, cx.slots, rec.busy_slot());
    }
}

/// The pass's tape has every frame of the loop: the pad plays it from `now`, in place.
fn swap(rec: &mut Recorder, cx: &mut Ctx, now: u64) {
    let Some(pass) = rec.pass.as_mut() else {
        return;
    };
    let p = pass.pad;
    let Some(cur) = cx.bank.pads[p as usize]
        .cfg
        .filter(|c| c.slot == pass.old.slot)
    else {
        // The pad was given another sample meanwhile: the pass has nothing to go into.
        return abandon(rec, cx, now);
    };
    if let Some(tape) = pass.tape.take()
        && let Err(tape) = cx.slots.put(pass.slot, tape)
    {
        cx.slots.hand_back(tape);
        rec.pass = None;
        cx.io.stats.record.set(0, 0);
        cx.io.emit(now, EventKind::RecordCancelled(p));
        return;
    }
    pass.old = cur;
    pass.swapped = true;
    let cfg = pass.config(&cur);
    put_config(cx, p, cfg, now);
    cx.io.emit(now, EventKind::OverdubPlaying(p));
}

/// A pass is complete: undo can take it back; the control side and the disk writer get it.
fn finish(rec: &mut Recorder, cx: &mut Ctx, now: u64) {
    if !rec.pass.as_ref().is_some_and(|x| x.started() && x.swapped) {
        return abandon(rec, cx, now);
    }
    let Some(pass) = rec.pass.take() else {
        return;
    };
    let p = pass.pad;
    let after = cx.bank.pads[p as usize].cfg.filter(|c| c.slot == pass.slot);
    rec.history.push(p, Some(pass.old), after);
    rec.history.own(pass.slot);
    let bpm = after.map_or(pass.old.bpm, |c| c.bpm);
    let frames = pass.len as u32;
    if let Some(buffer) = cx.slots.shared(pass.slot) {
        let slot = pass.slot;
        if cx.io.stats.record.disk.load(Ordering::Relaxed)
            && !rec.q.wholes.is_full()
            && !rec.q.marks.is_full()
        {
            let _ = rec.q.wholes.try_push(Tape {
                slot,
                buffer: buffer.clone(),
            });
            let _ = rec.q.marks.try_push(DiskMark::Whole {
                take: pass.n,
                pad: p,
                slot,
                frames,
                bpm,
            });
        }
        let _ = rec.q.takes.try_push(Finished {
            tape: Tape { slot, buffer },
            pad: p,
            frames,
            bpm,
            overdub: true,
        });
    }
    cx.io.stats.record.set(0, 0);
    cx.io.emit(now, EventKind::RecordDone(p));
    rec.history.sweep(cx.bank, cx.slots, None);
}

/// Undo (`redo` false) or redo on pad `p`: it gets back what the last take, pass or clear
/// changed (a playing pad keeps playing, in place). Real-time safe.
pub(crate) fn undo(rec: &mut Recorder, cx: &mut Ctx, p: PadId, now: u64, redo: bool) {
    if rec.busy() {
        cx.io.emit(now, EventKind::RecordRefused(p, Refusal::Busy));
        return;
    }
    let cur = cx.bank.pads[p as usize].cfg;
    let slots = &*cx.slots;
    let Some(to) = rec.history.step(p, cur, redo, |c| slots.playable(c.slot)) else {
        cx.io
            .emit(now, EventKind::RecordRefused(p, Refusal::NoHistory));
        return;
    };
    match to {
        Some(cfg) => put_config(cx, p, cfg, now),
        None => apply::apply(cx, Command::Pad(p, PadCmd::Clear), now).map_or((), |_| ()),
    }
    cx.io
        .emit(now, EventKind::RecordUndone(p, to.map(|c| c.slot), !redo));
}

/// Clear on pad `p`: its loop goes (undo brings it back). Real-time safe.
pub(crate) fn clear(rec: &mut Recorder, cx: &mut Ctx, p: PadId, now: u64) {
    let Some(cur) = cx.bank.pads[p as usize].cfg else {
        return;
    };
    if rec.busy_pad() == Some(p) {
        cx.io.emit(now, EventKind::RecordRefused(p, Refusal::Busy));
        return;
    }
    let _ = apply::apply(cx, Command::Pad(p, PadCmd::Clear), now);
    rec.history.push(p, Some(cur), None);
    cx.io.emit(now, EventKind::RecordCleared(p));
}

/// Slot `from` (a finished take's or pass's whole tape) is now `to` (its frames, exactly):
/// every pad and voice on `from` reads `to` instead, as it was (the same frames at the same
/// places: nothing to hear), undo with it, and the tape goes back to the control side. A `to` nothing can use (the
/// pad moved on, the slot not there) is handed back instead. Real-time safe.
pub(crate) fn compacted(rec: &mut Recorder, cx: &mut Ctx, from: SlotId, to: SlotId) {
    let fits = match (cx.slots.buffer(from), cx.slots.buffer(to)) {
        (Some(a), Some(b)) => b.frames() <= a.frames(),
        _ => false,
    };
    if !fits || !rec.history.owns(from) || rec.busy_slot() == Some(from) || !cx.slots.playable(to) {
        cx.slots.begin_retire(to);
        return;
    }
    let room = cx.slots.buffer(to).map_or(0, |b| b.frames());
    let reaches = |c: &PadConfig| c.slot == from && c.loop_end.max(c.start) as usize > room;
    if cx
        .bank
        .pads
        .iter()
        .any(|p| p.cfg.is_some_and(|c| reaches(&c)))
    {
        // A pad plays past the take's frames (cannot happen from a take; a hand-edited
        // region): keep the tape.
        cx.slots.begin_retire(to);
        return;
    }
    cx.bank.reslot(from, to, cx.slots);
    rec.history.rename(from, to);
    // A pass begun over the take meanwhile reads its loop from the copy too.
    if let Some(pass) = rec.pass.as_mut().filter(|x| x.old.slot == from) {
        pass.old.slot = to;
    }
    cx.slots.begin_retire(from);
}

/// Pad `p` plays `cfg` from now on: a playing pad in place, a stopped one is assigned it.
fn put_config(cx: &mut Ctx, p: PadId, cfg: PadConfig, now: u64) {
    if cx.bank.pads[p as usize].voice.is_some() {
        let (bank, mut pcx) = cx.pads();
        bank.swap(p, cfg, now, &mut pcx);
        bank.publish(&pcx.io.stats, p);
        apply::publish_pad_live(cx, p);
    } else {
        let _ = apply::apply(cx, Command::Pad(p, PadCmd::Assign(cfg)), now);
    }
}
