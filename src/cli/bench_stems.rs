//! The benchmark's stems pass: the standard scene with every pad a stem bundle (the full mix
//! and four stems), playing its stems. Not real-time (drives the engine offline).

use std::sync::Arc;

use super::bench::{BenchArgs, PassResult, render_pass};
use crate::bench::scene::{self, RATE};
use crate::config::SetFile;
use crate::sample::buffer::{Bundle, SampleBuffer, StemInfo};
use crate::sample::loader::{Loaded, load_one, to_i16};
use crate::sample::{SampleError, SampleSource};

/// Stems per pad.
pub const STEMS: usize = 4;
/// Length of each pad's stem loops (shorter than the scene's: a bundle holds five pairs).
pub const LOOP_SECONDS: f64 = 8.0;

/// Pad `i`'s bundle: four different scene loops at half level as its stems, their sum as
/// the mix. Deterministic.
pub fn bundle(i: usize) -> SampleBuffer {
    let stems: Vec<Vec<i16>> = (0..STEMS)
        .map(|k| scene::render_loop(1000 + STEMS * i + k, LOOP_SECONDS))
        .collect();
    let n = stems[0].len();
    let mut data = Vec::with_capacity(n * (1 + STEMS));
    for j in 0..n / 2 {
        for c in 0..2 {
            let mix: f32 = stems
                .iter()
                .map(|s| s[2 * j + c] as f32 * 0.5 / 32768.0)
                .sum();
            data.push(to_i16(mix));
        }
        for s in &stems {
            data.push(s[2 * j] / 2);
            data.push(s[2 * j + 1] / 2);
        }
    }
    let info = ["drums", "bass", "other", "vocals"]
        .iter()
        .enumerate()
        .map(|(k, n)| StemInfo {
            name: n.to_string(),
            color: crate::sample::stems::default_color(n, k),
        })
        .collect();
    SampleBuffer::bundle(format!("stems {i}"), RATE, Bundle::I16(data), info, 0)
}

/// Builds pad `i`'s bundle for the scene's file `loop_NNN.wav` (the file itself is not read).
fn load(source: &SampleSource, _rate: u32) -> Result<Loaded, SampleError> {
    let i = source
        .to_string()
        .rsplit("loop_")
        .next()
        .and_then(|s| s.trim_end_matches(".wav").parse::<usize>().ok())
        .unwrap_or(0);
    Ok(Loaded {
        buffer: Arc::new(bundle(i)),
        warnings: Vec::new(),
    })
}

/// The stems pass and the plain scene it is compared with.
pub struct StemsResult {
    /// The faster of two stems passes.
    pub stems: PassResult,
    /// The faster of the scene pass and one run between the two stems passes.
    pub scene_rtf: f64,
}

/// Renders the scene with stem bundles, every pad in stems mode, twice, with a scene pass in
/// between; the ratio compares the best of each (this VM's speed drifts by more than the
/// difference between passes run minutes apart).
pub fn run(set: &SetFile, args: &BenchArgs, scene_rtf: f64) -> anyhow::Result<StemsResult> {
    let mut stems = set.clone();
    for p in stems.pads.iter_mut() {
        p.stems.on = true;
    }
    let first = render_pass("stems", &stems, |_| {}, args, None, &load)?;
    let scene = render_pass("scene", set, |_| {}, args, None, &load_one)?;
    let second = render_pass("stems", &stems, |_| {}, args, None, &load)?;
    let best = if second.pass.rtf > first.pass.rtf {
        second
    } else {
        first
    };
    Ok(StemsResult {
        stems: best,
        scene_rtf: scene_rtf.max(scene.pass.rtf),
    })
}

/// The stems pass in words.
pub fn describe(r: &StemsResult) -> String {
    format!(
        "stems: every pad a bundle of the mix and {STEMS} stems ({LOOP_SECONDS:.0}-s loops), playing its stems: {:.1}x real time = {:.2} of the scene's {:.1}x (best of two runs each; target >= 0.7); {:.1} MB of bundles; p99.9 block {:.1} us",
        r.stems.pass.rtf,
        r.stems.pass.rtf / r.scene_rtf,
        r.scene_rtf,
        r.stems.memory.0 as f64 / 1e6,
        r.stems.pass.p999
    )
}

/// The stems pass as JSON.
pub fn json(r: &StemsResult) -> serde_json::Value {
    serde_json::json!({
        "stems_per_pad": STEMS,
        "loop_seconds": LOOP_SECONDS,
        "realtime_factor": r.stems.pass.rtf,
        "scene_realtime_factor": r.scene_rtf,
        "vs_scene": r.stems.pass.rtf / r.scene_rtf,
        "bundle_bytes": r.stems.memory.0,
        "block_us_p999": r.stems.pass.p999,
        "blocks_over_budget": r.stems.pass.over_budget,
    })
}
