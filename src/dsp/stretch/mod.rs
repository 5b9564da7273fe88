//! Time stretching and pitch shifting (key lock and transpose).
//!
//! [`TimeStretch`] is the small interface the engine drives: a stereo, real-time stretcher fed
//! planar blocks and pulled for output. [`rubberband`] implements it over Rubber Band (R3
//! engine, short window) through `rubberband-sys`; another engine (e.g. Signalsmith Stretch)
//! could implement it behind a build feature. [`offline`] renders stretched copies with the
//! best-quality (offline R3) engine, for the hybrid tables.
//!
//! A stretcher only ever changes time. Pitch comes from the voice's varispeed reader that
//! feeds it: to play at tempo `τ` (source frames per output frame) with pitch `π`, the reader
//! reads the source at `π` frames per fed frame (pitch and tempo × `π`) and the stretcher
//! consumes `τ / π` fed frames per output frame (tempo only). Pitch is then exact and
//! continuous (cents are free), and the stretcher never resamples: Rubber Band's resampler,
//! which allocates the first time it meets each new ratio, is never used.

pub mod offline;
pub mod rubberband;
pub mod signalsmith;

/// Most frames a voice feeds a stretcher in one `process` call (the stretcher is told at
/// construction, so it never grows its buffers).
pub const MAX_FEED: usize = 1024;

/// The range of stretcher tempos (fed frames per output frame) every stretcher is taken
/// through before use, so later tempo moves within it never allocate. The engine keeps
/// stretcher tempos inside it.
pub const WARM_TEMPO: [f64; 2] = [0.25, 4.0];

/// Which real-time stretcher key lock plays through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StretcherKind {
    /// Signalsmith Stretch ([`signalsmith`]): the default, about three times cheaper than
    /// Rubber Band's short window and steady in level while the tempo moves.
    #[default]
    Signalsmith,
    /// Rubber Band R3 with its short window ([`rubberband`]).
    RubberBand,
}

impl StretcherKind {
    /// Both, the default first.
    pub const ALL: [StretcherKind; 2] = [StretcherKind::Signalsmith, StretcherKind::RubberBand];

    /// A new stretcher of this kind for `rate` Hz, not warmed yet. Not real-time safe.
    pub fn make(self, rate: u32) -> Box<dyn TimeStretch> {
        match self {
            StretcherKind::Signalsmith => Box::new(signalsmith::Signalsmith::new(rate)),
            StretcherKind::RubberBand => Box::new(rubberband::RubberBand::new(rate)),
        }
    }

    /// The set file's spelling: "signalsmith" or "rubberband".
    pub fn name(self) -> &'static str {
        match self {
            StretcherKind::Signalsmith => "signalsmith",
            StretcherKind::RubberBand => "rubberband",
        }
    }
}

/// Fills `l` and `r` with the signal stretchers are warmed with: a tone plus noise, which
/// exercises their tonal and transient paths (`seed` carries the noise on). Not real-time
/// (warming only).
fn warm_signal(l: &mut [f32], r: &mut [f32], seed: &mut u32) {
    for (a, b) in l.iter_mut().zip(r.iter_mut()) {
        *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (*seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        let t = (*seed % 997) as f32;
        *a = 0.3 * noise + 0.2 * (t * 0.05).sin();
        *b = 0.3 * noise - 0.2 * (t * 0.03).sin();
    }
}

/// Feeds `st` `frames` frames of the warm-up signal and drains its output (warming only).
/// Not real-time (its caller allocates around it).
pub(crate) fn churn(st: &mut dyn TimeStretch, frames: usize, seed: &mut u32) {
    let mut l = [0.0f32; MAX_FEED];
    let mut r = [0.0f32; MAX_FEED];
    let mut out_l = [0.0f32; MAX_FEED];
    let mut out_r = [0.0f32; MAX_FEED];
    let mut left = frames;
    while left > 0 {
        let n = left.min(MAX_FEED);
        warm_signal(&mut l[..n], &mut r[..n], seed);
        st.process(&l[..n], &r[..n]);
        loop {
            // Never ask for more than is ready (Rubber Band prints a warning if so).
            let avail = st.available().min(MAX_FEED);
            if avail == 0 {
                break;
            }
            st.retrieve(&mut out_l[..avail], &mut out_r[..avail]);
        }
        left -= n;
    }
}

/// Appends stretched frames `l`/`r` to `out` (offline rendering), the first `drop` of them
/// dropped (its start delay; what is left of it is updated), `out` never past `limit` frames.
/// Not real-time.
pub(crate) fn append_after_drop(
    out: &mut [Vec<f32>; 2],
    drop: &mut usize,
    l: &[f32],
    r: &[f32],
    limit: usize,
) {
    let got = l.len().min(r.len());
    let skip = (*drop).min(got);
    *drop -= skip;
    let keep = (got - skip).min(limit.saturating_sub(out[0].len()));
    out[0].extend_from_slice(&l[skip..skip + keep]);
    out[1].extend_from_slice(&r[skip..skip + keep]);
}

/// The pitch ratio of `semitones` (fractions allowed: 0.01 is a cent). Real-time safe.
#[inline]
pub fn semitone_ratio(semitones: f64) -> f64 {
    (semitones / 12.0).exp2()
}

/// A stereo real-time time-stretcher.
///
/// After [`TimeStretch::warm`] has run (off the audio thread), every method but `warm` and
/// `reset` is real-time safe: no allocation, lock, blocking, I/O or logging, as long as
/// `process` is never given more than [`MAX_FEED`] frames, `retrieve` never asks for more
/// than [`TimeStretch::available`], and the tempo stays within [`WARM_TEMPO`]. A used
/// stretcher goes back to the control side to be reset (Rubber Band's R3 engine reallocates
/// internal queues when reset).
pub trait TimeStretch: Send {
    /// Visits every ratio the engine may use and runs a pull cycle, so nothing allocates
    /// later. Not real-time safe (allocates; takes milliseconds).
    fn warm(&mut self);
    /// Sets the tempo: input frames consumed per output frame. Real-time safe.
    fn set_tempo(&mut self, tempo: f64);
    /// Forgets all audio (keeps ratios). Not real-time safe.
    fn reset(&mut self);
    /// Frames of audio before the start point to feed first so the start is not eaten, at the
    /// current ratios. Real-time safe.
    fn start_pad(&self) -> usize;
    /// Output frames to drop after the start pad was fed, at the current ratios. Real-time safe.
    fn start_delay(&self) -> usize;
    /// Input frames wanted before more output can come (0: output is waiting). Real-time safe.
    fn required(&self) -> usize;
    /// Output frames between two of its bursts of work (its hop), over which the engine
    /// staggers voices so their bursts do not land in the same block. Real-time safe.
    fn hop(&self) -> usize {
        512
    }
    /// Feeds one planar stereo block (at most [`MAX_FEED`] frames). Real-time safe.
    fn process(&mut self, left: &[f32], right: &[f32]);
    /// Output frames ready. Real-time safe.
    fn available(&self) -> usize;
    /// Takes up to `left.len()` output frames; returns how many. Real-time safe.
    fn retrieve(&mut self, left: &mut [f32], right: &mut [f32]) -> usize;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semitone_ratios() {
        assert_eq!(semitone_ratio(0.0), 1.0);
        assert!((semitone_ratio(12.0) - 2.0).abs() < 1e-12);
        assert!((semitone_ratio(-12.0) - 0.5).abs() < 1e-12);
        assert!((semitone_ratio(0.01) - 2f64.powf(1.0 / 1200.0)).abs() < 1e-12);
    }
}
