//! Step 3 of a set load, per pad: its engine configuration from its sample and, where it asks
//! for it, its analysis; and the tempo estimate `check` shows for loops without a tempo.
//! Not real-time.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::set::{PadSpec, PadTempo, SetFile};
use crate::engine::command::{PadConfig, PadId, SlotId};
use crate::sample::{SampleBuffer, SampleSource};

use super::pad_config::{PadConfigError, estimate_tempo, pad_config, resolve, where_};
use super::report::{LoadProblem, PadAt, SetLoadReport};

/// Each pad's engine configuration from its sample (a pad whose sample failed, or whose
/// region does not fit it, fails); tempo estimates for loops without a tempo.
pub(super) fn configure_pads(
    set: &SetFile,
    buffers: &HashMap<SampleSource, (SlotId, Arc<SampleBuffer>)>,
    report: &mut SetLoadReport,
) -> Vec<(PadId, PadConfig)> {
    let mut planned = Vec::new();
    for spec in &set.pads {
        let Some((slot, buf)) = buffers.get(&spec.source) else {
            report.failed_pads.push(spec.id);
            continue;
        };
        if let Some(e) = tempo_estimate(set, spec, buf) {
            report.estimates.push(e);
        }
        let resolved = match report.analyses.get(&spec.source) {
            Some(Err(e)) if spec.needs_analysis() => Err(PadConfigError {
                key: "bpm",
                message: format!("{e}; give the tempo with `bpm = N` instead"),
            }),
            found => {
                let a = found.and_then(|r| r.as_ref().ok()).map(|a| a.as_ref());
                if let Some(a) = a.filter(|_| spec.needs_analysis()) {
                    report.applied.push(format!(
                        "{}: analysis: {} (applied: the pad says `bpm = \"auto\"` or places a loop on the grid)",
                        where_(set, spec),
                        crate::sample::analysis::summary(a)
                    ));
                }
                let bpb = set.master.beats_per_bar as u32;
                resolve(spec, a, buf.seconds(), &buf.name, bpb)
            }
        };
        match resolved.and_then(|spec| pad_config(&spec, *slot, buf)) {
            Ok(cfg) => planned.push((spec.id as PadId, cfg)),
            Err(e) => {
                let line = spec.line_of(e.key);
                report.errors.push(LoadProblem::Pad {
                    at: PadAt {
                        file: set.path.clone(),
                        line,
                        bank: spec.bank,
                        index: spec.index,
                    },
                    message: e.message,
                });
                report.failed_pads.push(spec.id);
            }
        }
    }
    planned
}

/// For a looping pad whose tempo the set does not give: a plausible tempo (shown by `check`,
/// never applied).
fn tempo_estimate(set: &SetFile, spec: &PadSpec, buf: &SampleBuffer) -> Option<String> {
    if spec.tempo != PadTempo::Unknown || !spec.looping {
        return None;
    }
    let rate = buf.rate as f64;
    let frames = spec.loop_end.map_or(buf.frames() as f64, |e| e * rate) - spec.loop_start * rate;
    let bpb = set.master.beats_per_bar as u32;
    let (beats, bpm) = estimate_tempo(frames / rate, bpb, set.master.bpm)?;
    Some(format!(
        "{}: the loop is {:.3} s: {beats} beats at {bpm:.2} BPM? (an estimate, not applied; add `beats = {beats}` or `bpm = {bpm:.2}` to the pad to use it)",
        where_(set, spec),
        frames / rate
    ))
}
