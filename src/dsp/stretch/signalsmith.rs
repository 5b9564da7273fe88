//! Signalsmith Stretch (MIT; vendored header-only C++ in `vendor/signalsmith`, compiled by
//! `build.rs` with the small C interface in `csrc/signalsmith.cpp`) as a [`TimeStretch`]:
//! 100-ms analysis blocks every 25 ms (four-fold overlap, as its default preset) with its
//! `splitComputation` on, which spreads each hop's work over the following hop's output
//! instead of doing it all in one block. (Its "cheaper" preset's 40-ms hops leave steps of 1.3
//! to 1.45 times a sine's own at tempo 0.8, which the key-lock gates refuse; the
//! `signalsmith-stretch` crate's wrapper offers split computation only with that preset, hence
//! the own wrapper.) About half of Rubber Band's R3 short window per voice, and steady in
//! level while the tempo moves.
//!
//! Signalsmith is block-synchronous (`process(input, output)`: the two lengths set the
//! ratio); [`TimeStretch`] is a queue (feed what it requires, take what is available). The
//! adapter turns each fed block into `fed / tempo` output frames (the fractions carried over)
//! and keeps them in a fixed ring until they are taken. Its start: after a reset the first
//! [`TimeStretch::start_pad`] frames fed are its pre-roll (Signalsmith's `seek`: history that
//! makes no output), then the first output frame that belongs to the frame after the pre-roll
//! is [`TimeStretch::start_delay`] frames in (its input and output latencies). Nothing here
//! allocates after [`TimeStretch::warm`].

use std::ffi::c_void;
use std::os::raw::{c_double, c_int, c_long};
use std::ptr::NonNull;

use super::{MAX_FEED, TimeStretch, WARM_TEMPO};

unsafe extern "C" {
    fn padlooper_ss_new(
        channels: c_int,
        block: c_int,
        interval: c_int,
        split: c_int,
        seed: c_long,
    ) -> *mut c_void;
    fn padlooper_ss_free(s: *mut c_void);
    fn padlooper_ss_reset(s: *mut c_void);
    fn padlooper_ss_input_latency(s: *const c_void) -> c_int;
    fn padlooper_ss_output_latency(s: *const c_void) -> c_int;
    fn padlooper_ss_seek(s: *mut c_void, input: *const *const f32, frames: c_int, rate: c_double);
    fn padlooper_ss_process(
        s: *mut c_void,
        input: *const *const f32,
        in_frames: c_int,
        output: *const *mut f32,
        out_frames: c_int,
    );
}

/// An owned stereo Signalsmith stretcher.
struct Raw(NonNull<c_void>);

// SAFETY: a stretcher may be used from any one thread at a time; `Raw` is only reachable
// through `&mut` (or moved whole between threads).
unsafe impl Send for Raw {}

impl Raw {
    /// A stereo stretcher with `block`-frame analyses every `interval` frames. Not real-time
    /// safe (allocates).
    fn new(block: usize, interval: usize) -> Self {
        // SAFETY: plain constructor; the seed makes renders repeatable.
        let p = unsafe { padlooper_ss_new(2, block as c_int, interval as c_int, 1, 0x5eed) };
        let Some(p) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 1 << 20]>());
        };
        Self(p)
    }

    fn input_latency(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { padlooper_ss_input_latency(self.0.as_ptr()) }.max(0) as usize
    }

    fn output_latency(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { padlooper_ss_output_latency(self.0.as_ptr()) }.max(0) as usize
    }

    /// Clears its history (keeps its buffers).
    fn reset(&mut self) {
        // SAFETY: valid handle.
        unsafe { padlooper_ss_reset(self.0.as_ptr()) }
    }

    /// Pre-roll: history that makes no output. Real-time safe once warmed.
    fn seek(&mut self, left: &[f32], right: &[f32], tempo: f64) {
        let n = left.len().min(right.len());
        let ptrs = [left.as_ptr(), right.as_ptr()];
        // SAFETY: two valid channels of at least `n` frames.
        unsafe { padlooper_ss_seek(self.0.as_ptr(), ptrs.as_ptr(), n as c_int, tempo) }
    }

    /// `input` in, `output` out: the ratio of their lengths is the tempo. Real-time safe once
    /// warmed.
    fn process(&mut self, input: [&[f32]; 2], output: [&mut [f32]; 2]) {
        let n = input[0].len().min(input[1].len());
        let [ol, or] = output;
        let m = ol.len().min(or.len());
        let ins = [input[0].as_ptr(), input[1].as_ptr()];
        let outs = [ol.as_mut_ptr(), or.as_mut_ptr()];
        // SAFETY: two valid input channels of `n` frames, two writable output channels of `m`.
        unsafe {
            padlooper_ss_process(
                self.0.as_ptr(),
                ins.as_ptr(),
                n as c_int,
                outs.as_ptr(),
                m as c_int,
            )
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: owned, never used again.
        unsafe { padlooper_ss_free(self.0.as_ptr()) }
    }
}

/// Length of an analysis block, in seconds.
const BLOCK_SECONDS: f64 = 0.1;
/// Time between two analyses (a hop), in seconds.
const HOP_SECONDS: f64 = 0.025;

fn frames(seconds: f64, rate: u32) -> usize {
    (seconds * rate as f64).round() as usize
}

/// Output frames the ring holds: a whole feed at the slowest tempo, and the stagger frames fed
/// after the pre-roll, with room to spare.
const RING: usize = 2 * MAX_FEED * (1.0 / WARM_TEMPO[0]) as usize;

/// The Signalsmith Stretch real-time stretcher (stereo). It only stretches time: pitch is the
/// feeding reader's job, so its transpose (a few cents off) is never used.
pub struct Signalsmith {
    st: Raw,
    rate: u32,
    tempo: f64,
    /// Output frames owed (the fraction of a frame carried from one feed to the next).
    owed: f64,
    /// Output ring (left, right), its first frame and the frames it holds.
    ring: [Box<[f32]>; 2],
    head: usize,
    held: usize,
    /// Pre-roll frames still to come after a reset, and the pre-roll (its first
    /// `len - preroll_left` frames gathered so far).
    preroll_left: usize,
    preroll: [Box<[f32]>; 2],
}

impl Signalsmith {
    /// Creates a stretcher for `rate` Hz. Not real-time safe; call [`TimeStretch::warm`]
    /// before handing it to the audio thread.
    pub fn new(rate: u32) -> Self {
        let st = Raw::new(frames(BLOCK_SECONDS, rate), frames(HOP_SECONDS, rate));
        let pad = frames(BLOCK_SECONDS + HOP_SECONDS, rate);
        let z = |n: usize| vec![0.0f32; n].into_boxed_slice();
        Self {
            st,
            rate,
            tempo: 1.0,
            owed: 0.0,
            ring: [z(RING), z(RING)],
            head: 0,
            held: 0,
            preroll_left: pad,
            preroll: [z(pad), z(pad)],
        }
    }

    /// Feeds the stretcher `left`/`right`, appending its output to the ring. Real-time safe.
    fn run(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len().min(right.len());
        let want = self.owed + n as f64 / self.tempo;
        let m = (want.floor().max(0.0) as usize).min(RING - self.held);
        self.owed = (want - m as f64).clamp(0.0, 1.0);
        // The ring's free space may wrap: the part up to its end, then the rest, the input
        // split in proportion so the ratio holds in both.
        let tail = (self.head + self.held) % RING;
        let first = m.min(RING - tail);
        let [rl, rr] = &mut self.ring;
        if first == m {
            self.st.process(
                [left, right],
                [&mut rl[tail..tail + m], &mut rr[tail..tail + m]],
            );
        } else {
            let k = ((n * first) as f64 / m as f64).round() as usize;
            self.st.process(
                [&left[..k], &right[..k]],
                [&mut rl[tail..], &mut rr[tail..]],
            );
            self.st.process(
                [&left[k..n], &right[k..n]],
                [&mut rl[..m - first], &mut rr[..m - first]],
            );
        }
        self.held += m;
    }
}

impl TimeStretch for Signalsmith {
    fn warm(&mut self) {
        let mut seed = 3u32;
        let tempo = self.tempo;
        for _ in 0..2 {
            for t in [WARM_TEMPO[0], 0.5, 0.8, 1.0, 1.25, 2.0, WARM_TEMPO[1]] {
                self.set_tempo(t);
                let pad = self.start_pad();
                super::churn(self, pad + 8 * MAX_FEED, &mut seed);
                self.reset();
            }
        }
        self.set_tempo(tempo);
        self.reset();
    }

    #[inline]
    fn set_tempo(&mut self, tempo: f64) {
        if tempo.is_finite() && tempo > 0.0 {
            self.tempo = tempo.clamp(WARM_TEMPO[0], WARM_TEMPO[1]);
        }
    }

    fn reset(&mut self) {
        self.st.reset();
        self.owed = 0.0;
        self.head = 0;
        self.held = 0;
        self.preroll_left = self.preroll[0].len();
    }

    #[inline]
    fn start_pad(&self) -> usize {
        self.preroll[0].len()
    }

    #[inline]
    fn start_delay(&self) -> usize {
        // After the pre-roll the centre of its analysis sits an input latency before the next
        // frame fed; the first output is an output latency behind that centre.
        (self.st.output_latency() as f64 + self.st.input_latency() as f64 / self.tempo).round()
            as usize
    }

    #[inline]
    fn hop(&self) -> usize {
        frames(HOP_SECONDS, self.rate)
    }

    #[inline]
    fn required(&self) -> usize {
        if self.preroll_left > 0 {
            return self.preroll_left.min(MAX_FEED);
        }
        ((256.0 * self.tempo).ceil() as usize).clamp(64, MAX_FEED)
    }

    fn process(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len().min(right.len()).min(MAX_FEED);
        let mut from = 0;
        if self.preroll_left > 0 {
            let k = n.min(self.preroll_left);
            let at = self.preroll[0].len() - self.preroll_left;
            self.preroll[0][at..at + k].copy_from_slice(&left[..k]);
            self.preroll[1][at..at + k].copy_from_slice(&right[..k]);
            self.preroll_left -= k;
            from = k;
            if self.preroll_left == 0 {
                let [pl, pr] = &self.preroll;
                self.st.seek(pl, pr, self.tempo);
            }
        }
        if from < n {
            self.run(&left[from..n], &right[from..n]);
        }
    }

    #[inline]
    fn available(&self) -> usize {
        self.held
    }

    fn retrieve(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let n = left.len().min(right.len()).min(self.held);
        let first = n.min(RING - self.head);
        let [rl, rr] = &self.ring;
        left[..first].copy_from_slice(&rl[self.head..self.head + first]);
        right[..first].copy_from_slice(&rr[self.head..self.head + first]);
        left[first..n].copy_from_slice(&rl[..n - first]);
        right[first..n].copy_from_slice(&rr[..n - first]);
        self.head = (self.head + n) % RING;
        self.held -= n;
        n
    }
}

/// Stretches planar stereo audio offline (a stretched table) to `frames_out` frames at
/// `tempo` (input frames per output frame) and `pitch`, the pitch by reading the input at
/// `pitch` first (cubic interpolation; exact, as on the audio thread) and the time by a
/// [`Signalsmith`] stretcher. Output frame `j` is input frame `lead + j · tempo`, where `lead`
/// is returned with the output. None when cancelled, or when `tempo / pitch` is outside
/// [`WARM_TEMPO`] (the caller renders those otherwise). Not real-time safe.
pub fn stretch_aligned(
    left: &[f32],
    right: &[f32],
    rate: u32,
    tempo: f64,
    pitch: f64,
    frames_out: usize,
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<(usize, [Vec<f32>; 2])> {
    use std::sync::atomic::Ordering;
    let fed_tempo = tempo / pitch;
    if !(WARM_TEMPO[0]..=WARM_TEMPO[1]).contains(&fed_tempo) {
        return None;
    }
    let n = left.len().min(right.len());
    let (fl, fr): (Vec<f32>, Vec<f32>) = if pitch == 1.0 {
        (left[..n].to_vec(), right[..n].to_vec())
    } else {
        let at = |x: &[f32], i: i64| x[i.clamp(0, n as i64 - 1) as usize];
        let m = (n as f64 / pitch).floor() as usize;
        (0..m)
            .map(|j| {
                let p = j as f64 * pitch;
                let i = p.floor() as i64;
                let t = (p - i as f64) as f32;
                let h = |x: &[f32]| {
                    crate::dsp::interp::hermite(
                        at(x, i - 1),
                        at(x, i),
                        at(x, i + 1),
                        at(x, i + 2),
                        t,
                    )
                };
                (h(left), h(right))
            })
            .unzip()
    };
    let mut st = Signalsmith::new(rate);
    st.set_tempo(fed_tempo);
    let lead = st.start_pad();
    let mut drop = st.start_delay();
    let mut out = [
        Vec::with_capacity(frames_out),
        Vec::with_capacity(frames_out),
    ];
    let mut buf = [vec![0.0f32; RING], vec![0.0f32; RING]];
    let zeros = [0.0f32; MAX_FEED];
    let mut at = 0;
    while out[0].len() < frames_out {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let avail = st.available();
        if avail > 0 {
            let [bl, br] = &mut buf;
            let got = st.retrieve(&mut bl[..avail], &mut br[..avail]);
            super::append_after_drop(&mut out, &mut drop, &bl[..got], &br[..got], frames_out);
            continue;
        }
        let want = st.required().clamp(64, MAX_FEED);
        if at < fl.len() {
            let end = (at + want).min(fl.len());
            st.process(&fl[at..end], &fr[at..end]);
            at = end;
        } else {
            // Past the input: silence pushes the rest out.
            st.process(&zeros[..want], &zeros[..want]);
        }
    }
    Some(((lead as f64 * pitch).round() as usize, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 440 Hz sine stretched at `tempo`, fed as the engine feeds (what `required` asks,
    /// whenever nothing is available), taken in blocks of 256.
    fn stretched(tempo: f64, seconds: f64) -> Vec<f32> {
        let rate = 48_000u32;
        let mut s = Signalsmith::new(rate);
        s.warm();
        s.set_tempo(tempo);
        let mut pos = 0usize;
        let sine =
            |i: usize| 0.5 * (i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin() as f32;
        let mut out = Vec::new();
        let mut l = [0.0f32; MAX_FEED];
        let mut r = [0.0f32; MAX_FEED];
        let (mut ol, mut or) = ([0.0f32; 256], [0.0f32; 256]);
        while out.len() < (seconds * rate as f64) as usize {
            let mut got = 0;
            while got < 256 {
                if s.available() > 0 {
                    let k = s.available().min(256 - got);
                    got += s.retrieve(&mut ol[got..got + k], &mut or[got..got + k]);
                    continue;
                }
                let k = s.required().clamp(64, MAX_FEED);
                for i in 0..k {
                    l[i] = sine(pos + i);
                    r[i] = l[i];
                }
                pos += k;
                s.process(&l[..k], &r[..k]);
            }
            out.extend_from_slice(&ol);
        }
        out
    }

    /// At steady tempos a sine keeps its level and has no step larger than its own (a click
    /// would be one), fed in the engine's pattern.
    #[test]
    fn a_steady_sine_keeps_its_level_without_clicks() {
        for tempo in [0.8, 1.0, 1.25] {
            let x = stretched(tempo, 4.0);
            let x = &x[48_000..];
            let ideal = 0.5 * 440.0 * std::f64::consts::TAU / 48_000.0;
            let step = x
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0f32, f32::max) as f64;
            let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(
                step / ideal <= 1.05,
                "tempo {tempo}: step {:.3}×",
                step / ideal
            );
            assert!((peak - 0.5).abs() < 0.01, "tempo {tempo}: peak {peak}");
        }
    }

    /// The ring never overflows: the most a feed can make fits.
    #[test]
    fn the_ring_holds_a_whole_feed_at_the_slowest_tempo() {
        let mut s = Signalsmith::new(48_000);
        s.set_tempo(WARM_TEMPO[0]);
        let pad = s.start_pad();
        let z = vec![0.1f32; MAX_FEED];
        let mut fed = 0;
        while fed < pad {
            let k = (pad - fed).min(MAX_FEED);
            s.process(&z[..k], &z[..k]);
            fed += k;
        }
        assert_eq!(s.available(), 0, "the pre-roll makes no output");
        s.process(&z, &z);
        assert_eq!(s.available(), (MAX_FEED as f64 / WARM_TEMPO[0]) as usize);
    }
}
