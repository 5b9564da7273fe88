//! The recorder: a take's life (armed, running, closed while its last frames are written),
//! its capture from the input bus or the master output into its tape, and the samples and
//! marks to the disk writer. Real-time safe.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::super::command::{PadId, SlotId};
use super::super::event::EventKind;
use super::super::io::Io;
use super::super::shared::Counter;
use super::super::slots::SlotTable;
use super::super::transport::{MAX_BPM, Transport};
use super::history::History;
use super::overdub::Pass;
use super::types::{DiskMark, Finished, InputCmd, RecordCmd, RecordSource, Refusal, Tape};
use super::view::RecordView;
use crate::sample::buffer::SampleBuffer;

/// Frames of a take shorter than this are refused (a double press, not a loop).
const MIN_TAKE_SECONDS: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Armed,
    Running,
    /// The pad plays it; its last frames are still being captured.
    Closed,
}

/// A take in progress.
struct Take {
    n: u32,
    pad: PadId,
    slot: SlotId,
    /// The tape while the engine holds it (`None` once it sits in its slot).
    tape: Option<Arc<SampleBuffer>>,
    /// Tape capacity in frames.
    cap: usize,
    source: RecordSource,
    phase: Phase,
    /// Engine frame and transport beat it began at; whether the transport was stopped then.
    begin: u64,
    begin_beat: f64,
    free: bool,
    /// First captured frame (on the input bus or the master output).
    from: u64,
    /// Frames captured so far.
    written: usize,
    /// Frames of the loop, once closed.
    len: usize,
    /// Its tempo, once closed.
    bpm: f64,
    /// The frame it ends at (a press, or where the tape runs out).
    end_at: u64,
    pushed: u64,
    lost: u64,
}

/// A take that just closed: the engine gives the pad its loop and starts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Closed {
    pub(crate) pad: PadId,
    pub(crate) slot: SlotId,
    /// Frames of the loop.
    pub(crate) frames: u32,
    /// Its tempo (the transport's, or the one the take sets).
    pub(crate) bpm: f64,
    /// Whether the take sets the tempo (the transport was stopped).
    pub(crate) sets_tempo: bool,
}

/// The recorder's queues (engine ends).
pub(crate) struct RecorderQueues {
    /// Blank tapes in.
    pub(crate) tapes: HeapCons<Tape>,
    /// Finished takes out (a second reference, for the control side).
    pub(crate) takes: HeapProd<Finished>,
    /// Finished overdub passes to the disk writer, which writes them whole.
    pub(crate) wholes: HeapProd<Tape>,
    /// Samples to the disk writer.
    pub(crate) disk: HeapProd<f32>,
    /// Marks to the disk writer.
    pub(crate) marks: HeapProd<DiskMark>,
}

/// The recorder. Owned by the engine; real-time safe.
pub(crate) struct Recorder {
    pub(super) q: RecorderQueues,
    blank: Option<Tape>,
    take: Option<Take>,
    /// The overdub pass running.
    pub(super) pass: Option<Pass>,
    /// Takes and passes armed so far.
    pub(super) count: u32,
    /// Devices' round trip in frames.
    pub(super) latency: u32,
    first_bars: u8,
    /// Overdub feedback.
    pub(super) fb: f32,
    pub(super) history: History,
    rate: f64,
}

impl Recorder {
    /// A recorder on these queues. Not real-time safe (called once, in `Engine::new`).
    pub(crate) fn new(q: RecorderQueues, rate: u32) -> Self {
        Self {
            q,
            blank: None,
            take: None,
            pass: None,
            count: 0,
            latency: 0,
            first_bars: 0,
            fb: 1.0,
            history: History::default(),
            rate: rate as f64,
        }
    }

    /// A setting changed (monitoring is the input bus's). Real-time safe.
    pub(crate) fn set(&mut self, cmd: InputCmd, view: &RecordView, monitor: bool) {
        match cmd {
            InputCmd::Latency(f) => self.latency = f.min(self.rate as u32),
            InputCmd::FirstBars(b) => self.first_bars = b.min(64),
            InputCmd::Feedback(f) if f.is_finite() => self.fb = f.clamp(0.0, 1.0),
            InputCmd::Feedback(_) | InputCmd::Drift(_) => {}
            InputCmd::Monitor(_) => view.monitor.store(monitor, Ordering::Relaxed),
        }
    }

    /// A record press on pad `p` at `now`; `unit` is the quantisation in beats a take begins
    /// on. Returns what to schedule (frame, command), or why nothing happens. Real-time safe.
    pub(crate) fn press(
        &mut self,
        p: PadId,
        source: RecordSource,
        now: u64,
        t: &Transport,
        unit: f64,
        view: &RecordView,
    ) -> Result<Option<(u64, RecordCmd)>, Refusal> {
        let Some(tk) = self.take.as_mut() else {
            if self.pass.is_some() {
                return Err(Refusal::Busy);
            }
            return self.arm(p, source, now, t, unit, view).map(Some);
        };
        if tk.pad != p {
            return Err(Refusal::Busy);
        }
        match tk.phase {
            Phase::Armed => {
                self.cancel(p, view);
                Ok(None)
            }
            Phase::Running => {
                let end = if tk.free || !t.running() {
                    now
                } else {
                    let bar = t.beats_per_bar() as f64;
                    let mut k = ((t.beat_at(now) - tk.begin_beat) / bar).ceil().max(1.0);
                    let mut e = t.frame_of_beat(tk.begin_beat + k * bar);
                    while e < now {
                        k += 1.0;
                        e = t.frame_of_beat(tk.begin_beat + k * bar);
                    }
                    e
                };
                if end < tk.end_at {
                    tk.end_at = end;
                }
                Ok(Some((tk.end_at, RecordCmd::End(tk.n))))
            }
            Phase::Closed => Ok(None),
        }
    }

    fn arm(
        &mut self,
        p: PadId,
        source: RecordSource,
        now: u64,
        t: &Transport,
        unit: f64,
        view: &RecordView,
    ) -> Result<(u64, RecordCmd), Refusal> {
        let tape = self.blank_tape().ok_or(Refusal::NoTape)?;
        self.count = self.count.wrapping_add(1);
        let at = if t.running() {
            t.next_boundary(now, unit).0
        } else {
            now
        };
        let cap = tape.buffer.frames();
        self.take = Some(Take {
            n: self.count,
            pad: p,
            slot: tape.slot,
            tape: Some(tape.buffer),
            cap,
            source,
            phase: Phase::Armed,
            begin: at,
            begin_beat: 0.0,
            free: true,
            from: at,
            written: 0,
            len: 0,
            bpm: 0.0,
            end_at: u64::MAX,
            pushed: 0,
            lost: 0,
        });
        view.set(1, p);
        Ok((at, RecordCmd::Begin(self.count)))
    }

    /// A blank tape, if one is ready. Real-time safe.
    pub(super) fn blank_tape(&mut self) -> Option<Tape> {
        self.blank.take().or_else(|| self.q.tapes.try_pop())
    }

    /// A tape that was not used up, for the next take. Real-time safe.
    pub(super) fn keep_blank(&mut self, tape: Tape) {
        self.blank = Some(tape);
    }

    /// Whether a take or pass runs (or waits to). Real-time safe.
    pub(super) fn busy(&self) -> bool {
        self.take.is_some() || self.pass.is_some()
    }

    /// The pad a take or pass runs on. Real-time safe.
    pub(super) fn busy_pad(&self) -> Option<PadId> {
        self.take
            .as_ref()
            .map(|t| t.pad)
            .or(self.pass.as_ref().map(|p| p.pad))
    }

    /// The slot of the running take's or pass's tape. Real-time safe.
    pub(super) fn busy_slot(&self) -> Option<SlotId> {
        self.take
            .as_ref()
            .map(|t| t.slot)
            .or(self.pass.as_ref().map(|p| p.slot))
    }

    /// Take `n` begins at `now`; `lookahead` is the master limiter's. Returns the frame it
    /// must end by (where the tape runs out), its pad and what it records. Real-time safe.
    pub(crate) fn begin(
        &mut self,
        n: u32,
        now: u64,
        t: &Transport,
        lookahead: usize,
        view: &RecordView,
    ) -> Option<(u64, PadId, RecordSource)> {
        let latency = self.latency as u64;
        let tk = self.take.as_mut().filter(|tk| tk.n == n)?;
        if tk.phase != Phase::Armed {
            return None;
        }
        tk.phase = Phase::Running;
        tk.begin = now;
        tk.free = !t.running();
        tk.begin_beat = t.beat_at(now);
        tk.from = now
            + lookahead as u64
            + match tk.source {
                RecordSource::Input => latency,
                RecordSource::Master | RecordSource::MasterWithout => 0,
            };
        // The longest take the tape holds: whole bars when the transport runs.
        let cap = tk.cap as u64;
        tk.end_at = if tk.free {
            now + cap
        } else {
            let bar = t.beats_per_bar() as f64;
            let bars = (cap as f64 / t.frames_per_beat() / bar).floor();
            if bars >= 1.0 {
                t.frame_of_beat(tk.begin_beat + bars * bar).min(now + cap)
            } else {
                now + cap
            }
        };
        view.tapes_used.fetch_add(1, Ordering::Release);
        view.set(2, tk.pad);
        if view.disk.load(Ordering::Relaxed) {
            let _ = self.q.marks.try_push(DiskMark::Begin {
                take: tk.n,
                pad: tk.pad,
                slot: tk.slot,
                source: tk.source,
            });
        }
        Some((tk.end_at, tk.pad, tk.source))
    }

    /// Take `n` ends at `now` if that is its end frame: its tape goes into its slot (given
    /// back to the control side if the slot is taken) and the engine starts the pad on it.
    /// A take too short to loop is abandoned. Real-time safe.
    pub(crate) fn end(
        &mut self,
        n: u32,
        now: u64,
        t: &Transport,
        slots: &mut SlotTable,
        view: &RecordView,
    ) -> Result<Option<Closed>, (PadId, Refusal)> {
        let first_bars = self.first_bars;
        let rate = self.rate;
        let Some(tk) = self.take.as_mut().filter(|tk| tk.n == n) else {
            return Ok(None);
        };
        if tk.phase != Phase::Running || now != tk.end_at {
            return Ok(None);
        }
        let frames = (now - tk.begin) as usize;
        let bpb = t.beats_per_bar().max(1) as f64;
        let bpm = if tk.free {
            // The take sets the tempo: a whole number of bars.
            let min = (MIN_TAKE_SECONDS * rate).max(60.0 * rate * bpb / MAX_BPM);
            if (frames as f64) < min {
                let p = tk.pad;
                self.cancel(p, view);
                return Err((p, Refusal::TooShort));
            }
            let bpm_of = |bars: f64| 60.0 * rate * bars * bpb / frames as f64;
            let mut bars = first_bars.max(1) as f64;
            if first_bars == 0 {
                while bpm_of(bars) < 70.0 && bars < 64.0 {
                    bars *= 2.0;
                }
            }
            // A tempo a float32 pad tempo holds exactly, so the loop plays at exactly 1.
            bpm_of(bars) as f32 as f64
        } else {
            if (frames as f64) < MIN_TAKE_SECONDS * rate {
                let p = tk.pad;
                self.cancel(p, view);
                return Err((p, Refusal::TooShort));
            }
            t.effective_bpm() as f32 as f64
        };
        let len = frames.min(tk.cap);
        tk.len = len;
        tk.bpm = bpm;
        tk.phase = Phase::Closed;
        if let Some(tape) = tk.tape.take()
            && let Err(tape) = slots.put(tk.slot, tape)
        {
            slots.hand_back(tape);
        }
        view.set(3, tk.pad);
        Ok(Some(Closed {
            pad: tk.pad,
            slot: tk.slot,
            frames: len as u32,
            bpm,
            sets_tempo: tk.free,
        }))
    }

    /// Abandons pad `p`'s take (its tape stays for the next one). Real-time safe.
    pub(crate) fn cancel(&mut self, p: PadId, view: &RecordView) {
        let Some(tk) = self
            .take
            .take_if(|tk| tk.pad == p && tk.phase != Phase::Closed)
        else {
            return;
        };
        if tk.phase == Phase::Running {
            // Its tape waits for the next take: not used up.
            view.tapes_used.fetch_sub(1, Ordering::Release);
            if view.disk.load(Ordering::Relaxed) {
                let _ = self.q.marks.try_push(DiskMark::Cancel {
                    take: tk.n,
                    samples: tk.pushed,
                });
            }
        }
        if let Some(buffer) = tk.tape {
            self.blank = Some(Tape {
                slot: tk.slot,
                buffer,
            });
        }
        view.set(0, 0);
    }

    /// Captures the block that began at engine frame `start`: `input` (the input bus) and
    /// `master` (the output, limiter included) hold its frames. A take this block completes
    /// goes to the control side (`RecordDone`). Real-time safe.
    pub(crate) fn capture(
        &mut self,
        start: u64,
        input: &[f32],
        master: &[f32],
        slots: &mut SlotTable,
        io: &mut Io,
    ) {
        let stats = &io.stats;
        let Some(tk) = self.take.as_mut() else {
            return;
        };
        if tk.phase == Phase::Armed {
            return;
        }
        let src = match tk.source {
            RecordSource::Input => input,
            RecordSource::Master | RecordSource::MasterWithout => master,
        };
        let frames = (src.len() / 2) as u64;
        let target = if tk.phase == Phase::Closed {
            tk.len
        } else {
            tk.cap
        };
        let at = tk.from + tk.written as u64;
        if at < start + frames && tk.written < target {
            let skip = at.saturating_sub(start) as usize;
            let n = (frames as usize - skip).min(target - tk.written);
            let part = &src[2 * skip..2 * (skip + n)];
            let dst = match tk.tape.as_mut() {
                Some(tape) => Arc::get_mut(tape).and_then(|b| b.tape_mut()),
                None => slots.tape_mut(tk.slot),
            };
            if let Some(d) = dst {
                let w = tk.written;
                d[2 * w..2 * (w + n)].copy_from_slice(part);
            }
            tk.written += n;
            if stats.record.disk.load(Ordering::Relaxed) {
                let pushed = self.q.disk.push_slice(part);
                tk.pushed += pushed as u64;
                if pushed < part.len() {
                    tk.lost += (part.len() - pushed) as u64;
                    stats
                        .counters
                        .add(Counter::RecordLost, ((part.len() - pushed) / 2) as u64);
                }
            }
        }
        if tk.phase != Phase::Closed || tk.written < tk.len {
            return;
        }
        let Some(tk) = self.take.take() else {
            return;
        };
        if stats.record.disk.load(Ordering::Relaxed) {
            let _ = self.q.marks.try_push(DiskMark::End {
                take: tk.n,
                samples: tk.pushed,
                lost: tk.lost,
                frames: tk.len as u32,
                bpm: tk.bpm as f32,
            });
        }
        stats.record.set(0, 0);
        // The control side's reference to the take (an `Arc` clone: no allocation).
        if let Some(buffer) = slots.shared(tk.slot)
            && !self.q.takes.is_full()
        {
            let _ = self.q.takes.try_push(Finished {
                tape: Tape {
                    slot: tk.slot,
                    buffer,
                },
                pad: tk.pad,
                frames: tk.len as u32,
                bpm: tk.bpm as f32,
                overdub: false,
            });
        }
        io.emit(start, EventKind::RecordDone(tk.pad));
    }
}
