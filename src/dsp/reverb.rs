//! Stereo reverb (send effect) after Jezar's Freeverb: 8 damped comb filters and 4 all-passes
//! per channel. All delay lines are allocated at construction.

use super::biquad::undenormal;

const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
const SPREAD: usize = 23;
const INPUT_GAIN: f32 = 0.015;

struct Comb {
    buf: Box<[f32]>,
    pos: usize,
    store: f32,
}

struct AllPass {
    buf: Box<[f32]>,
    pos: usize,
}

/// The reverb and its settings.
pub struct Reverb {
    combs: [Vec<Comb>; 2],
    allpasses: [Vec<AllPass>; 2],
    feedback: f32,
    damp: f32,
    /// Wet level 0..1.
    pub wet: f32,
    idle: usize,
    tail: usize,
}

impl Reverb {
    /// Allocates all delay lines for `rate` Hz. Not real-time safe.
    pub fn new(rate: u32) -> Self {
        let scale = rate as f64 / 44_100.0;
        let len = |n: usize| ((n as f64 * scale) as usize).max(1);
        let combs = [0, SPREAD].map(|extra| {
            COMBS
                .iter()
                .map(|&n| Comb {
                    buf: vec![0.0; len(n + extra)].into_boxed_slice(),
                    pos: 0,
                    store: 0.0,
                })
                .collect()
        });
        let allpasses = [0, SPREAD].map(|extra| {
            ALLPASSES
                .iter()
                .map(|&n| AllPass {
                    buf: vec![0.0; len(n + extra)].into_boxed_slice(),
                    pos: 0,
                })
                .collect()
        });
        let mut r = Self {
            combs,
            allpasses,
            feedback: 0.0,
            damp: 0.0,
            wet: 0.0,
            idle: usize::MAX,
            tail: rate as usize * 30,
        };
        r.set_room(0.6);
        r.set_damping(0.5);
        r
    }

    /// Room size 0..1 (comb feedback 0.7..0.98). Real-time safe.
    pub fn set_room(&mut self, room: f32) {
        self.feedback = 0.7 + 0.28 * room.clamp(0.0, 1.0);
    }

    /// High-frequency damping 0..1. Real-time safe.
    pub fn set_damping(&mut self, d: f32) {
        self.damp = 0.4 * d.clamp(0.0, 1.0);
    }

    /// Resets every comb and all-pass if the reverb's state went non-finite (checked after
    /// each block); returns whether it did. Real-time safe.
    pub fn recover(&mut self) -> bool {
        let ok = self.combs.iter().flatten().all(|c| {
            c.store.is_finite() && c.buf[(c.pos + c.buf.len() - 1) % c.buf.len()].is_finite()
        }) && self
            .allpasses
            .iter()
            .flatten()
            .all(|a| a.buf[(a.pos + a.buf.len() - 1) % a.buf.len()].is_finite());
        if !ok {
            for c in self.combs.iter_mut().flatten() {
                c.buf.fill(0.0);
                c.store = 0.0;
            }
            for a in self.allpasses.iter_mut().flatten() {
                a.buf.fill(0.0);
            }
        }
        !ok
    }

    /// Reads the send bus `input` and adds the reverb into `out`. Real-time safe.
    // `ch` indexes the frame and several per-channel state arrays in step.
    #[allow(clippy::needless_range_loop)]
    pub fn process(&mut self, input: &[f32], out: &mut [f32], input_silent: bool) {
        if input_silent {
            if self.idle > self.tail {
                return;
            }
            self.idle = self.idle.saturating_add(input.len() / 2);
        } else {
            self.idle = 0;
        }
        let (fb, damp, wet) = (self.feedback, self.damp, self.wet);
        for (x, o) in input.chunks_exact(2).zip(out.chunks_exact_mut(2)) {
            let inp = (x[0] + x[1]) * INPUT_GAIN;
            for ch in 0..2 {
                let mut acc = 0.0;
                for c in self.combs[ch].iter_mut() {
                    let y = c.buf[c.pos];
                    c.store = undenormal(y * (1.0 - damp) + c.store * damp);
                    c.buf[c.pos] = undenormal(inp + c.store * fb);
                    c.pos = if c.pos + 1 == c.buf.len() {
                        0
                    } else {
                        c.pos + 1
                    };
                    acc += y;
                }
                for a in self.allpasses[ch].iter_mut() {
                    let b = a.buf[a.pos];
                    a.buf[a.pos] = undenormal(acc + b * 0.5);
                    a.pos = if a.pos + 1 == a.buf.len() {
                        0
                    } else {
                        a.pos + 1
                    };
                    acc = b - acc;
                }
                o[ch] += wet * acc;
            }
        }
    }
}
