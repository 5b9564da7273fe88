//! Stretching ahead on worker threads: each real-time stretcher of the pool may run on a worker
//! thread (one per core) that keeps [`AHEAD_FRAMES`] of its output ready in a lock-free ring;
//! the audio callback then only feeds it the voice's audio (a copy) and mixes what is ready.
//! This spreads key lock over every core and absorbs a stretcher's bursts (a hop's work).
//!
//! A stretcher is handed to its worker over a one-place queue when it has been set up
//! (tempo, start pad) and comes back the same way when the callback asks (`stop`): the worker
//! empties the input ring first, so a lane is clean when it is launched again. Tempo changes
//! reach the worker through an atomic; it applies them between two `process` calls and logs
//! the output frame from which each holds, so the callback counts exactly what its voice
//! consumed (the voice stays in time). A tempo move is heard [`AHEAD_FRAMES`] later.
//!
//! The callback side ([`Lane`]) is real-time safe: ring copies and atomics. The worker side
//! never allocates either (its buffers are made before it starts); it runs in an
//! [`RtSection`](crate::engine::rt::RtSection) so the allocation tests see it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::dsp::finite::all_finite;
use crate::dsp::stretch::{MAX_FEED, TimeStretch};

/// Output frames a worker keeps ready ahead of the callback (21 ms at 48 kHz): the delay with
/// which a tempo move reaches a stretched voice, and the slack that hides the worker's
/// scheduling and a hop's burst of work.
pub const AHEAD_FRAMES: usize = 1024;
/// Input frames a lane holds (a few hops' worth at the fastest stretcher tempo).
const IN_FRAMES: usize = 8192;
/// Output frames a lane holds (the lead for callback blocks of up to about 3500 frames).
const OUT_FRAMES: usize = 8192;
/// Tempo changes in flight from a worker to the callback.
const CHANGES: usize = 64;
/// How long an idle worker sleeps before looking again.
const IDLE: Duration = Duration::from_micros(500);

/// What the callback and a lane's worker share.
struct Ctl {
    /// The tempo the callback wants (f64 bits).
    tempo: AtomicU64,
    /// Output frames the worker drops when a stretcher arrives (its start delay).
    drop: AtomicUsize,
    /// The callback wants the stretcher back.
    stop: AtomicBool,
    /// The stretcher gave non-finite output (silenced).
    broken: AtomicBool,
    /// The lane's worker is running.
    alive: AtomicBool,
    /// Most frames the callback rendered at once (every worker stays two such blocks ahead
    /// at least).
    block: Arc<AtomicUsize>,
}

type Frames = (HeapProd<f32>, HeapCons<f32>);

/// A ring of `frames` samples, written through once so its pages are resident before the
/// audio thread first touches them.
fn ring(frames: usize) -> Frames {
    let (mut p, mut c) = HeapRb::<f32>::new(frames).split();
    p.push_iter(std::iter::repeat(0.0));
    c.clear();
    (p, c)
}

/// The callback's end of a lane. Real-time safe.
pub(crate) struct Lane {
    ctl: Arc<Ctl>,
    send: HeapProd<Box<dyn TimeStretch>>,
    back: HeapCons<Box<dyn TimeStretch>>,
    in_l: HeapProd<f32>,
    in_r: HeapProd<f32>,
    out_l: HeapCons<f32>,
    out_r: HeapCons<f32>,
    changes: HeapCons<(u64, f64)>,
    /// A logged change not yet reached.
    next: Option<(u64, f64)>,
    /// Output frames taken since launch.
    taken: u64,
    /// The tempo the frames being taken were made at.
    applied: f64,
}

/// A worker's end of a lane.
struct WorkLane {
    ctl: Arc<Ctl>,
    recv: HeapCons<Box<dyn TimeStretch>>,
    back: HeapProd<Box<dyn TimeStretch>>,
    in_l: HeapCons<f32>,
    in_r: HeapCons<f32>,
    out_l: HeapProd<f32>,
    out_r: HeapProd<f32>,
    changes: HeapProd<(u64, f64)>,
    st: Option<Box<dyn TimeStretch>>,
    /// The tempo given to the stretcher.
    tempo: f64,
    /// Output frames pushed since launch.
    produced: u64,
    /// Output frames still to drop.
    drop: usize,
}

/// A lane's two ends (`block`: the engine's largest take, shared by its lanes). Allocates;
/// not real-time safe.
fn lane(block: Arc<AtomicUsize>) -> (Lane, WorkLane) {
    let ctl = Arc::new(Ctl {
        tempo: AtomicU64::new(1f64.to_bits()),
        drop: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        broken: AtomicBool::new(false),
        alive: AtomicBool::new(false),
        block,
    });
    let (send, recv) = HeapRb::new(1).split();
    let (wback, back) = HeapRb::new(1).split();
    let (in_pl, in_cl) = ring(IN_FRAMES);
    let (in_pr, in_cr) = ring(IN_FRAMES);
    let (out_pl, out_cl) = ring(OUT_FRAMES);
    let (out_pr, out_cr) = ring(OUT_FRAMES);
    let (ch_p, ch_c) = HeapRb::new(CHANGES).split();
    (
        Lane {
            ctl: ctl.clone(),
            send,
            back,
            in_l: in_pl,
            in_r: in_pr,
            out_l: out_cl,
            out_r: out_cr,
            changes: ch_c,
            next: None,
            taken: 0,
            applied: 1.0,
        },
        WorkLane {
            ctl,
            recv,
            back: wback,
            in_l: in_cl,
            in_r: in_cr,
            out_l: out_pl,
            out_r: out_pr,
            changes: ch_p,
            st: None,
            tempo: 1.0,
            produced: 0,
            drop: 0,
        },
    )
}

impl Lane {
    /// Whether a worker serves this lane. Real-time safe.
    pub(crate) fn alive(&self) -> bool {
        self.ctl.alive.load(Ordering::Acquire)
    }

    /// Hands a set-up stretcher (at `tempo`) to the worker, which drops its first `drop`
    /// output frames. Gives it back when the lane is still busy. Real-time safe.
    pub(crate) fn launch(
        &mut self,
        st: Box<dyn TimeStretch>,
        tempo: f64,
        drop: usize,
    ) -> Result<(), Box<dyn TimeStretch>> {
        self.ctl.tempo.store(tempo.to_bits(), Ordering::Relaxed);
        self.ctl.drop.store(drop, Ordering::Relaxed);
        self.ctl.stop.store(false, Ordering::Relaxed);
        self.ctl.broken.store(false, Ordering::Relaxed);
        self.next = None;
        self.taken = 0;
        self.applied = tempo;
        // The queue's release ordering publishes the stores above with the stretcher.
        self.send.try_push(st)
    }

    /// Asks the worker for the stretcher back (see [`Lane::take_back`]). Real-time safe.
    pub(crate) fn stop(&self) {
        self.ctl.stop.store(true, Ordering::Release);
    }

    /// The stretcher, once the worker gave it back; the lane is then empty. Real-time safe.
    pub(crate) fn take_back(&mut self) -> Option<Box<dyn TimeStretch>> {
        let st = self.back.try_pop()?;
        self.out_l.clear();
        self.out_r.clear();
        self.changes.clear();
        self.next = None;
        Some(st)
    }

    /// Sets the tempo the worker stretches at from now on. Real-time safe.
    pub(crate) fn set_tempo(&self, tempo: f64) {
        self.ctl.tempo.store(tempo.to_bits(), Ordering::Release);
    }

    /// Input frames to keep queued for a stretcher at `tempo`: what its worker consumes
    /// while two of the largest blocks play, and a few hundred frames more. Real-time safe.
    pub(crate) fn input_target(&self, tempo: f64) -> usize {
        let block = self.ctl.block.load(Ordering::Relaxed).clamp(64, OUT_FRAMES);
        ((2 * block + 512) as f64 * tempo).ceil() as usize
    }

    /// Input frames waiting for the worker. Real-time safe.
    pub(crate) fn queued(&self) -> usize {
        self.in_l.occupied_len().min(self.in_r.occupied_len())
    }

    /// Room for input frames. Real-time safe.
    pub(crate) fn room(&self) -> usize {
        self.in_l.vacant_len().min(self.in_r.vacant_len())
    }

    /// Queues input frames for the worker (as many as there is room for). Real-time safe.
    pub(crate) fn push(&mut self, l: &[f32], r: &[f32]) -> usize {
        let n = l.len().min(r.len()).min(self.room());
        self.in_l.push_slice(&l[..n]);
        self.in_r.push_slice(&r[..n]);
        n
    }

    /// Output frames ready. Real-time safe.
    pub(crate) fn ready(&self) -> usize {
        self.out_l.occupied_len().min(self.out_r.occupied_len())
    }

    /// Whether the stretcher's output was not finite since launch. Real-time safe.
    pub(crate) fn broken(&self) -> bool {
        self.ctl.broken.load(Ordering::Acquire)
    }

    /// The callback renders `frames` at once (the largest such block is what every worker
    /// stays ahead of). Real-time safe.
    pub(crate) fn note_block(&self, frames: usize) {
        self.ctl.block.fetch_max(frames, Ordering::Relaxed);
    }

    /// Takes up to `l.len()` ready frames; returns how many and the fed frames they stand
    /// for (each frame times the tempo it was made at). Real-time safe.
    pub(crate) fn take(&mut self, l: &mut [f32], r: &mut [f32]) -> (usize, f64) {
        let n = l.len().min(r.len()).min(self.ready());
        self.out_l.pop_slice(&mut l[..n]);
        self.out_r.pop_slice(&mut r[..n]);
        (n, self.consume(n))
    }

    /// Drops up to `n` ready frames; returns how many and the fed frames they stand for.
    /// Real-time safe.
    pub(crate) fn skip(&mut self, n: usize) -> (usize, f64) {
        let n = n.min(self.ready());
        self.out_l.skip(n);
        self.out_r.skip(n);
        (n, self.consume(n))
    }

    /// Counts `n` frames taken: their fed frames, from the worker's log of tempo changes.
    fn consume(&mut self, n: usize) -> f64 {
        let mut fed = 0.0;
        let end = self.taken + n as u64;
        while self.taken < end {
            if self.next.is_none() {
                self.next = self.changes.try_pop();
            }
            match self.next {
                Some((at, tempo)) if at <= self.taken => {
                    self.applied = tempo;
                    self.next = None;
                }
                Some((at, _)) if at < end => {
                    fed += (at - self.taken) as f64 * self.applied;
                    self.taken = at;
                }
                _ => {
                    fed += (end - self.taken) as f64 * self.applied;
                    self.taken = end;
                }
            }
        }
        fed
    }
}

impl WorkLane {
    /// Keeps the lane's output `lead` frames ahead, within a bounded amount of work; returns
    /// whether it did anything. `l`/`r` are scratch of at least [`MAX_FEED`] frames.
    fn work(&mut self, lead: usize, l: &mut [f32], r: &mut [f32]) -> bool {
        if self.st.is_none() {
            let Some(st) = self.recv.try_pop() else {
                return false;
            };
            self.tempo = f64::from_bits(self.ctl.tempo.load(Ordering::Relaxed));
            self.drop = self.ctl.drop.load(Ordering::Relaxed);
            self.produced = 0;
            self.st = Some(st);
        }
        if self.ctl.stop.load(Ordering::Acquire) {
            self.in_l.clear();
            self.in_r.clear();
            if let Some(st) = self.st.take()
                && let Err(st) = self.back.try_push(st)
            {
                // Cannot happen (one stretcher per lane); kept rather than lost.
                self.st = Some(st);
            }
            return true;
        }
        let Some(st) = self.st.as_mut() else {
            return false;
        };
        let block = self.ctl.block.load(Ordering::Relaxed);
        let lead = lead
            .max(2 * block.min(OUT_FRAMES) + 256)
            .min(OUT_FRAMES - MAX_FEED);
        let mut did = false;
        // Bounded: a few hops per visit, so one lane never starves the others.
        for _ in 0..8 {
            let ready = self.out_l.occupied_len().min(self.out_r.occupied_len());
            if ready >= lead {
                break;
            }
            let avail = st.available();
            if avail > 0 {
                let room = self.out_l.vacant_len().min(self.out_r.vacant_len());
                let k = avail.min(MAX_FEED).min(room + self.drop);
                if k == 0 {
                    break;
                }
                let got = st.retrieve(&mut l[..k], &mut r[..k]);
                if !(all_finite(&l[..got]) && all_finite(&r[..got])) {
                    l[..got].fill(0.0);
                    r[..got].fill(0.0);
                    self.ctl.broken.store(true, Ordering::Release);
                }
                let skip = self.drop.min(got);
                self.drop -= skip;
                self.out_l.push_slice(&l[skip..got]);
                self.out_r.push_slice(&r[skip..got]);
                self.produced += (got - skip) as u64;
                did = true;
                continue;
            }
            // Nothing waiting: a tempo change applies from the next output frame.
            let want = f64::from_bits(self.ctl.tempo.load(Ordering::Acquire));
            if want != self.tempo && self.changes.try_push((self.produced, want)).is_ok() {
                st.set_tempo(want);
                self.tempo = want;
            }
            let need = st.required().clamp(1, MAX_FEED);
            let queued = self.in_l.occupied_len().min(self.in_r.occupied_len());
            if queued < need {
                break;
            }
            self.in_l.pop_slice(&mut l[..need]);
            self.in_r.pop_slice(&mut r[..need]);
            st.process(&l[..need], &r[..need]);
            did = true;
        }
        did
    }
}

/// The worker threads and the lanes they serve, owned by the control side (`EngineHandle`):
/// made with the engine, started by the front-end that plays in real time, stopped and
/// joined when dropped.
pub struct Workers {
    /// Lanes waiting for their threads (split among them when started).
    pending: Vec<WorkLane>,
    threads: Vec<JoinHandle<()>>,
    /// Per thread: passes over its lanes that found nothing to do.
    idle: Vec<Arc<AtomicU64>>,
    /// Someone waits for the workers to settle: no sleeping.
    hurry: Arc<AtomicBool>,
    quit: Arc<AtomicBool>,
    lead: usize,
}

/// Makes `units` lanes served by up to `threads` workers, their output `lead` frames ahead:
/// the callback ends for the pool (empty when `threads` is 0: stretchers then run in the
/// callback) and the workers, not started yet. Allocates; not real-time safe.
pub(crate) fn lanes(units: usize, threads: usize, lead: usize) -> (Vec<Lane>, Workers) {
    let (cb, work): (Vec<_>, Vec<_>) = if threads == 0 {
        (Vec::new(), Vec::new())
    } else {
        let block = Arc::new(AtomicUsize::new(0));
        (0..units).map(|_| lane(block.clone())).unzip()
    };
    (
        cb,
        Workers {
            pending: work,
            threads: Vec::new(),
            idle: Vec::new(),
            hurry: Arc::new(AtomicBool::new(false)),
            quit: Arc::new(AtomicBool::new(false)),
            lead: lead.max(AHEAD_FRAMES),
        },
    )
}

impl Workers {
    /// Starts `threads` workers (lane `u` goes to worker `u % threads`), each calling
    /// `on_start(index)` once its buffers are made (e.g. to ask for real-time priority) and
    /// keeping what it returns until it quits (e.g. a test's allocation counter). Returns how
    /// many started. Not real-time safe.
    pub fn start<F, G>(&mut self, threads: usize, on_start: F) -> usize
    where
        F: Fn(usize) -> G + Send + Clone + 'static,
        G: 'static,
    {
        if self.pending.is_empty() || threads == 0 {
            return self.threads.len();
        }
        let mut groups: Vec<Vec<WorkLane>> = (0..threads).map(|_| Vec::new()).collect();
        for (u, l) in self.pending.drain(..).enumerate() {
            groups[u % threads].push(l);
        }
        for (i, group) in groups.into_iter().enumerate() {
            let idle = Arc::new(AtomicU64::new(0));
            let on_start = on_start.clone();
            let w = Worker {
                quit: self.quit.clone(),
                hurry: self.hurry.clone(),
                idle: idle.clone(),
                lead: self.lead,
            };
            let spawned = std::thread::Builder::new()
                .name(format!("padlooper-stretch-{i}"))
                .spawn(move || w.run(group, || on_start(i)));
            if let Ok(h) = spawned {
                self.threads.push(h);
                self.idle.push(idle);
            }
        }
        self.threads.len()
    }

    /// Waits until every worker has done all it can (each lane full, or waiting for input):
    /// what an offline render calls before each block, so it sounds the same every time, as
    /// if the workers always kept up. Not real-time safe (waits).
    pub fn settle(&self) {
        if self.threads.is_empty() {
            return;
        }
        self.hurry.store(true, Ordering::Release);
        for idle in &self.idle {
            // Two idle passes: the second began after this call.
            let from = idle.load(Ordering::Acquire);
            while idle.load(Ordering::Acquire) < from + 2 {
                std::thread::yield_now();
            }
        }
        self.hurry.store(false, Ordering::Release);
    }

    /// Worker threads running. Not real-time safe.
    pub fn running(&self) -> usize {
        self.threads.len()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Release);
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// What a worker thread shares with [`Workers`].
struct Worker {
    quit: Arc<AtomicBool>,
    hurry: Arc<AtomicBool>,
    idle: Arc<AtomicU64>,
    lead: usize,
}

impl Worker {
    /// Serves `lanes` until told to quit; `on_start`'s guard lives as long as the serving.
    fn run<G>(self, mut lanes: Vec<WorkLane>, on_start: impl FnOnce() -> G) {
        let mut l = vec![0.0f32; MAX_FEED];
        let mut r = vec![0.0f32; MAX_FEED];
        let _ftz = crate::dsp::denormal::ScopedFtz::enable();
        let guard = on_start();
        for lane in &lanes {
            lane.ctl.alive.store(true, Ordering::Release);
        }
        while !self.quit.load(Ordering::Acquire) {
            let mut did = false;
            {
                let _rt = crate::engine::rt::RtSection::enter();
                for lane in lanes.iter_mut() {
                    did |= lane.work(self.lead, &mut l, &mut r);
                }
            }
            if !did {
                self.idle.fetch_add(1, Ordering::AcqRel);
                if self.hurry.load(Ordering::Acquire) {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(IDLE);
                }
            }
        }
        for lane in &lanes {
            lane.ctl.alive.store(false, Ordering::Release);
        }
        drop(guard);
    }
}
