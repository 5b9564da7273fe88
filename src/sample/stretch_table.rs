//! Stretched tables: a pad's region rendered once at a fixed tempo and pitch (with Signalsmith
//! Stretch, about 1/40 of real time per core, or Rubber Band's R3 with its standard window,
//! about 1/11), so a key-locked or transposed pad at a steady ratio plays as cheaply as a plain
//! one. Not real-time safe (allocates).
//!
//! A loop is rendered with circular padding on both sides (its tail before it, its start after
//! it), so its edges sound as they do in the middle of a loop. Padding alone still leaves a jump
//! where the table wraps: held partials do not fit a whole number of cycles into the new
//! length. So the table's first [`SEAM_MS`] are a cross-fade from the audio that naturally
//! follows its last frame into its start; the fade keeps the loudness constant for how alike
//! the two are ([`crate::dsp::align::xfade_gains`]).

use std::sync::atomic::AtomicBool;

use super::buffer::SampleBuffer;
use crate::dsp::align::xfade_gains;
use crate::dsp::stretch::offline;

/// Length of the cross-fade at a table's loop seam.
pub const SEAM_MS: f64 = 20.0;
/// Audio rendered on each side of the region as context.
const PAD_SECONDS: f64 = 0.5;

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableSpec {
    /// Region start, loop start and loop end in source frames.
    pub start: u32,
    /// See `start`.
    pub loop_start: u32,
    /// See `start`.
    pub loop_end: u32,
    /// Whether the region loops.
    pub looping: bool,
    /// Source frames per table frame (the table plays at this tempo when read at 1).
    pub tempo: f64,
    /// Pitch relative to the source.
    pub pitch: f64,
    /// The stretcher that renders it (Rubber Band's offline R3 for tempos Signalsmith is not
    /// warmed for).
    pub engine: crate::dsp::stretch::StretcherKind,
}

/// A rendered table and where its region lies in it.
pub struct Table {
    /// The audio (16-bit when the source is, else float).
    pub buffer: SampleBuffer,
    /// Region start, loop start and loop end in table frames.
    pub start: u32,
    /// See `start`.
    pub loop_start: u32,
    /// See `start`.
    pub loop_end: u32,
    /// Table frames per source frame (exactly the loop's, or the region's, length ratio).
    pub scale: f64,
    /// Pitch relative to the source.
    pub pitch: f64,
}

/// Why a table was not rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
    /// The region or ratio cannot be rendered.
    #[error("{0}")]
    Invalid(String),
    /// Cancelled (the set changed or padlooper is stopping).
    #[error("cancelled")]
    Cancelled,
}

/// Frames `from..to` of `src` (any integers; outside the buffer is silence), planar.
fn frames(src: &SampleBuffer, from: i64, to: i64, l: &mut Vec<f32>, r: &mut Vec<f32>) {
    let n = src.frames() as i64;
    for i in from..to {
        let [a, b] = if (0..n).contains(&i) {
            src.frame(i as usize)
        } else {
            [0.0; 2]
        };
        l.push(a);
        r.push(b);
    }
}

/// Frames of the loop `[ls, le)` starting `off` frames into it, circularly, `len` of them.
fn loop_frames(src: &SampleBuffer, ls: i64, le: i64, off: i64, len: i64) -> [Vec<f32>; 2] {
    let (mut l, mut r) = (Vec::new(), Vec::new());
    let span = (le - ls).max(1);
    for k in 0..len {
        let i = ls + (off + k).rem_euclid(span);
        frames(src, i, i + 1, &mut l, &mut r);
    }
    [l, r]
}

/// Renders the table for `spec` from `src`. Not real-time safe.
pub fn render(
    src: &SampleBuffer,
    spec: &TableSpec,
    cancel: &AtomicBool,
) -> Result<Table, TableError> {
    let t = spec.tempo;
    if !(t.is_finite() && t > 0.05 && t < 20.0 && spec.pitch.is_finite() && spec.pitch > 0.05) {
        return Err(TableError::Invalid(format!(
            "tempo {t} / pitch {} out of range",
            spec.pitch
        )));
    }
    let (start, ls, le) = (
        spec.start as i64,
        spec.loop_start as i64,
        spec.loop_end as i64,
    );
    if le <= start || ls < start || le > src.frames() as i64 {
        return Err(TableError::Invalid("region outside the sample".into()));
    }
    let rate = src.rate;
    let pad = (PAD_SECONDS * rate as f64) as i64;
    let seam = (SEAM_MS / 1000.0 * rate as f64).round() as i64;
    let (mut l, mut r) = (Vec::new(), Vec::new());
    // Before the region: the loop's tail when the region is the loop, else the file.
    let circular = spec.looping && start == ls;
    if circular {
        let [pl, pr] = loop_frames(src, ls, le, -pad, pad);
        l.extend(pl);
        r.extend(pr);
    } else {
        frames(src, start - pad, start, &mut l, &mut r);
    }
    frames(src, start, le, &mut l, &mut r);
    // After it: the loop again (enough for the seam and context), else silence.
    let after = pad + (seam as f64 * t).ceil() as i64 + 1;
    if spec.looping {
        let [al, ar] = loop_frames(src, ls, le, 0, after);
        l.extend(al);
        r.extend(ar);
    } else {
        l.extend(std::iter::repeat_n(0.0, after as usize));
        r.extend(std::iter::repeat_n(0.0, after as usize));
    }
    let frames_out = ((l.len() as f64) / t) as usize;
    let fast = match spec.engine {
        crate::dsp::stretch::StretcherKind::Signalsmith => {
            crate::dsp::stretch::signalsmith::stretch_aligned(
                &l, &r, rate, t, spec.pitch, frames_out, cancel,
            )
        }
        crate::dsp::stretch::StretcherKind::RubberBand => None,
    };
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(TableError::Cancelled);
    }
    let (lead, [ol, or]) = match fast {
        Some(x) => x,
        None => offline::stretch_aligned(&l, &r, rate, t, spec.pitch, frames_out, cancel)
            .ok_or(TableError::Cancelled)?,
    };
    let c = ((pad as usize).saturating_sub(lead) as f64 / t).round() as usize;
    let at = |i: usize| -> [f32; 2] {
        [
            ol.get(c + i).copied().unwrap_or(0.0),
            or.get(c + i).copied().unwrap_or(0.0),
        ]
    };
    let (intro, body, scale) = if spec.looping {
        let len = ((le - ls) as f64 / t).round().max(1.0) as usize;
        let intro = ((ls - start) as f64 / t).round() as usize;
        (intro, len, len as f64 / (le - ls) as f64)
    } else {
        let len = ((le - start) as f64 / t).round().max(1.0) as usize;
        (0, len, len as f64 / (le - start) as f64)
    };
    let total = intro + body;
    let mut data: Vec<[f32; 2]> = (0..total).map(at).collect();
    if spec.looping {
        // The seam: what follows the last frame, faded into the loop's start.
        let x = (seam as usize).min(body / 2);
        let cont: Vec<[f32; 2]> = (0..x).map(|k| at(intro + body + k)).collect();
        let head: Vec<[f32; 2]> = (0..x).map(|k| data[intro + k]).collect();
        let rho = correlation(&cont, &head);
        for k in 0..x {
            let (g_out, g_in) = xfade_gains((k as f32 + 0.5) / x as f32, rho);
            for ch in 0..2 {
                data[intro + k][ch] = g_out * cont[k][ch] + g_in * head[k][ch];
            }
        }
    }
    let name = format!(
        "{} (stretched ×{:.4}, pitch ×{:.4})",
        src.name,
        1.0 / t,
        spec.pitch
    );
    // Exactly sized: a table is held for long, so no spare capacity (`flatten` would leave
    // up to half of it unused).
    let mut interleaved: Vec<f32> = Vec::with_capacity(data.len() * 2);
    interleaved.extend(data.into_iter().flatten());
    // Stored like its source: 16-bit when the source is.
    let sixteen = match src.data() {
        super::buffer::SampleData::I16(_) | super::buffer::SampleData::BundleI16 { .. } => true,
        super::buffer::SampleData::F32(_) | super::buffer::SampleData::BundleF32 { .. } => false,
        super::buffer::SampleData::Streamed(t) => t.format == super::stream::Format::I16,
    };
    let buffer = if sixteen {
        SampleBuffer::from_i16(
            name,
            rate,
            interleaved
                .iter()
                .map(|v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                .collect(),
        )
    } else {
        SampleBuffer::from_f32(name, rate, interleaved)
    };
    Ok(Table {
        buffer,
        start: 0,
        loop_start: intro as u32,
        loop_end: total as u32,
        scale,
        pitch: spec.pitch,
    })
}

/// Correlation of two stereo stretches (mono sums), -1..=1 (0 when either is silent).
fn correlation(a: &[[f32; 2]], b: &[[f32; 2]]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = ((x[0] + x[1]) as f64, (y[0] + y[1]) as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 1e-12 || bb <= 1e-12 {
        0.0
    } else {
        (ab / (aa * bb).sqrt()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f64) -> SampleBuffer {
        let n = (secs * 48_000.0) as usize;
        let mut d = Vec::new();
        for i in 0..n {
            // 8 cycles of 100 Hz per 80 ms... a chord that loops seamlessly over 1 s.
            let t = i as f64 / 48_000.0;
            let v = 0.3 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                + 0.2 * (2.0 * std::f64::consts::PI * 330.0 * t).sin();
            d.push(v as f32);
            d.push(v as f32);
        }
        SampleBuffer::from_f32("chord", 48_000, d)
    }

    #[test]
    fn a_loop_table_has_the_exact_stretched_length() {
        let src = tone(1.0);
        let spec = TableSpec {
            start: 0,
            loop_start: 0,
            loop_end: 48_000,
            looping: true,
            tempo: 1.25,
            pitch: 1.0,
            engine: crate::dsp::stretch::StretcherKind::RubberBand,
        };
        let t = render(&src, &spec, &AtomicBool::new(false)).unwrap();
        assert_eq!(t.loop_end, 38_400);
        assert_eq!(t.buffer.frames(), 38_400);
        assert!((t.scale - 0.8).abs() < 1e-12);
        assert!(
            render(
                &src,
                &TableSpec {
                    tempo: f64::NAN,
                    ..spec
                },
                &AtomicBool::new(false)
            )
            .is_err()
        );
    }
}
