//! Offline stretching with Rubber Band's best-quality engine (R3, standard window), for the
//! hybrid tables. Not real-time safe: allocates, and takes about 1/11 of the audio's duration
//! per core on a small x86 machine.

use std::sync::atomic::{AtomicBool, Ordering};

use rubberband_sys as rb;

use super::rubberband::State;

/// Frames per study/process call.
const CHUNK: usize = 16384;

const OFFLINE_OPTIONS: rb::RubberBandOptions = (rb::RubberBandOption_RubberBandOptionProcessOffline
    | rb::RubberBandOption_RubberBandOptionThreadingNever
    | rb::RubberBandOption_RubberBandOptionEngineFiner
    | rb::RubberBandOption_RubberBandOptionChannelsTogether)
    as rb::RubberBandOptions;

/// Options of the real-time-mode renderer (R3, standard window).
const RT_FULL_OPTIONS: rb::RubberBandOptions = (rb::RubberBandOption_RubberBandOptionProcessRealTime
    | rb::RubberBandOption_RubberBandOptionThreadingNever
    | rb::RubberBandOption_RubberBandOptionEngineFiner
    | rb::RubberBandOption_RubberBandOptionChannelsTogether)
    as rb::RubberBandOptions;

/// Stretches planar stereo audio with the R3 engine in real-time mode (standard window), the
/// input's first `start_pad()` frames standing for the start pad. Output frame `j` is input
/// frame `pad + j · tempo`, where `pad` is returned with the output. Not real-time safe.
pub fn stretch_aligned(
    left: &[f32],
    right: &[f32],
    rate: u32,
    tempo: f64,
    pitch: f64,
    frames_out: usize,
    cancel: &AtomicBool,
) -> Option<(usize, [Vec<f32>; 2])> {
    let mut state = State::new(rate, RT_FULL_OPTIONS, tempo, pitch);
    // SAFETY: valid state; precedes the first process().
    unsafe { rb::rubberband_set_max_process_size(state.raw(), CHUNK as u32) };
    // SAFETY: valid state.
    let (pad, mut drop) = unsafe {
        (
            rb::rubberband_get_preferred_start_pad(state.raw()) as usize,
            rb::rubberband_get_start_delay(state.raw()) as usize,
        )
    };
    let n = left.len().min(right.len());
    let mut out = [
        Vec::with_capacity(frames_out),
        Vec::with_capacity(frames_out),
    ];
    let mut buf = [vec![0.0f32; CHUNK], vec![0.0f32; CHUNK]];
    let zeros = vec![0.0f32; CHUNK];
    let mut at = 0;
    while out[0].len() < frames_out {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let avail = state.available().max(0) as usize;
        if avail > 0 {
            let [bl, br] = &mut buf;
            let take = avail.min(CHUNK);
            let got = state.retrieve(&mut bl[..take], &mut br[..take]);
            super::append_after_drop(&mut out, &mut drop, &bl[..got], &br[..got], usize::MAX);
            continue;
        }
        // SAFETY: valid state.
        let want =
            unsafe { rb::rubberband_get_samples_required(state.raw()) as usize }.clamp(64, CHUNK);
        if at < n {
            let end = (at + want).min(n);
            state.process(&left[at..end], &right[at..end], false);
            at = end;
        } else {
            // Past the input: silence pushes the rest out.
            state.process(&zeros[..want], &zeros[..want], false);
        }
    }
    out[0].truncate(frames_out);
    out[1].truncate(frames_out);
    Some((pad, out))
}

/// Stretches planar stereo audio: `tempo` input frames per output frame, pitch scaled by
/// `pitch`. Returns `None` when `cancel` was raised. The output holds about
/// `len / tempo` frames (Rubber Band's offline mode rounds the total). Not real-time safe.
pub fn stretch(
    left: &[f32],
    right: &[f32],
    rate: u32,
    tempo: f64,
    pitch: f64,
    cancel: &AtomicBool,
) -> Option<[Vec<f32>; 2]> {
    let n = left.len().min(right.len());
    let mut state = State::new(rate, OFFLINE_OPTIONS, tempo, pitch);
    let expected = (n as f64 / tempo).round() as usize;
    let mut out = [
        Vec::with_capacity(expected + CHUNK),
        Vec::with_capacity(expected + CHUNK),
    ];
    // SAFETY: valid state; both calls precede processing.
    unsafe {
        rb::rubberband_set_expected_input_duration(state.raw(), n as u32);
        rb::rubberband_set_max_process_size(state.raw(), CHUNK as u32);
    }
    let mut at = 0;
    while at < n {
        let end = (at + CHUNK).min(n);
        let ptrs = [left[at..end].as_ptr(), right[at..end].as_ptr()];
        // SAFETY: two valid channel pointers of `end - at` frames.
        unsafe {
            rb::rubberband_study(
                state.raw(),
                ptrs.as_ptr(),
                (end - at) as u32,
                (end == n) as i32,
            )
        };
        at = end;
    }
    let mut buf = [vec![0.0f32; CHUNK], vec![0.0f32; CHUNK]];
    let mut drain = |state: &mut State, out: &mut [Vec<f32>; 2]| {
        loop {
            let avail = state.available();
            if avail <= 0 {
                return avail;
            }
            let [bl, br] = &mut buf;
            let take = (avail as usize).min(CHUNK);
            let got = state.retrieve(&mut bl[..take], &mut br[..take]);
            out[0].extend_from_slice(&bl[..got]);
            out[1].extend_from_slice(&br[..got]);
        }
    };
    let mut at = 0;
    while at < n {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let end = (at + CHUNK).min(n);
        state.process(&left[at..end], &right[at..end], end == n);
        at = end;
        drain(&mut state, &mut out);
    }
    if n == 0 {
        return Some(out);
    }
    // Flush: keep pulling until Rubber Band reports the end.
    let mut idle = 0;
    while drain(&mut state, &mut out) >= 0 && idle < 10_000 {
        idle += 1;
        std::thread::yield_now();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_length_follows_the_ratio() {
        let rate = 48_000;
        let n = rate as usize;
        let l: Vec<f32> = (0..n)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5)
            .collect();
        let cancel = AtomicBool::new(false);
        let out = stretch(&l, &l, rate, 1.25, 1.0, &cancel).expect("not cancelled");
        let want = (n as f64 / 1.25).round() as i64;
        assert!(
            (out[0].len() as i64 - want).abs() <= 1,
            "{} vs {want}",
            out[0].len()
        );
    }
}
