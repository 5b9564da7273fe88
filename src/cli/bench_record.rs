//! The benchmark's recording passes: the standard scene playing while a take of the audio input
//! records (monitored, read through drift correction, streamed to the disk writer's ring), and
//! while an overdub pass sums the input into a recorded loop; what that adds to a block is the
//! cost of recording. Not real-time (drives the engine offline).

use ringbuf::traits::{Consumer, Producer};

use super::bench::{BenchArgs, Progress};
use crate::bench::measure::{Pass, measure};
use crate::bench::scene::RATE;
use crate::config::SetFile;
use crate::control::record::TapeSupply;
use crate::control::set::loader::{engine_settings, load_set};
use crate::engine::Engine;
use crate::engine::command::{Command, PadCmd, PadId, Timed};
use crate::engine::event::EventKind;
use crate::engine::record::{InputCmd, RecordCmd, RecordSource};

/// The recording passes and the scene pass they are compared with.
pub struct RecordResult {
    /// The scene with a take of the input recording throughout.
    pub take: Pass,
    /// The scene with a one-bar take, then an overdub pass over it to the end.
    pub overdub: Pass,
    /// The scene alone (run between the two).
    pub scene: Pass,
}

/// Renders the three passes.
pub fn run(set: &SetFile, args: &BenchArgs) -> anyhow::Result<RecordResult> {
    let take = pass("record", set, args, false)?;
    let scene = pass("scene", set, args, true)?;
    let overdub = pass("overdub", set, args, false)?;
    Ok(RecordResult {
        take,
        overdub,
        scene,
    })
}

/// One pass: `plain` is the scene alone; else "record" keeps a take of the input running, and
/// "overdub" records a bar then overdubs it.
fn pass(name: &'static str, set: &SetFile, args: &BenchArgs, plain: bool) -> anyhow::Result<Pass> {
    let (mut engine, mut handle) = Engine::new(engine_settings(set, RATE))?;
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    if let Some(e) = report.errors.first() {
        anyhow::bail!("{e}");
    }
    for spec in &set.pads {
        handle.send(Timed {
            at: 0,
            cmd: Command::Pad(spec.id as PadId, PadCmd::Press),
        })?;
    }
    // The pad recorded into: the grid's last (the scene leaves it empty).
    let target = (set.grid.total_pads().max(1) - 1) as PadId;
    let mut supply = TapeSupply::new(args.seconds as f32 + 10.0, RATE);
    let mut feed = handle.take_input_feed();
    let mut stream = handle.take_record_stream();
    if !plain {
        supply.keep(&mut handle);
        for c in [InputCmd::Drift(true), InputCmd::Monitor(Some(true))] {
            handle.command(Command::Input(c))?;
        }
        handle.command(Command::Record(
            target,
            RecordCmd::Press(RecordSource::Input),
        ))?;
    }
    let block = args.block;
    let input: Vec<f32> = (0..2 * (block + 1))
        .map(|i| ((i / 2) as f32 * 0.031).sin() * 0.3)
        .collect();
    let blocks = ((args.seconds * RATE as f64) as usize / block).max(1);
    // "overdub": the take ends after a bar or two, then the pass runs to the end.
    let (stop_at, dub_at) = (blocks / 4, blocks / 2);
    let progress = Progress::new(name);
    let mut scratch = vec![0.0f32; 1 << 16];
    let (mut took, mut dubbed) = (false, false);
    let p = measure(
        name,
        &mut engine,
        &mut handle,
        blocks,
        block,
        |b, h| {
            if plain {
                return;
            }
            if let Some(f) = feed.as_mut() {
                // A little fast: drift correction has something to follow.
                let n = if b % 7 == 0 { block + 1 } else { block };
                f.push_slice(&input[..2 * n]);
            }
            if name == "overdub" && b == stop_at {
                let _ = h.command(Command::Record(target, RecordCmd::Stop));
            }
            if name == "overdub" && b == dub_at {
                let _ = h.command(Command::Record(target, RecordCmd::Overdub));
            }
        },
        |b, h| {
            if let Some(s) = stream.as_mut() {
                while s.samples.pop_slice(&mut scratch) > 0 {}
                while s.marks.try_pop().is_some() {}
            }
            for e in h.drain_events() {
                match e.kind {
                    EventKind::RecordStarted(p) if p == target => took = true,
                    EventKind::OverdubStarted(p) if p == target => dubbed = true,
                    _ => {}
                }
            }
            if b % 512 == 0 {
                progress.show(b, blocks);
            }
        },
    );
    progress.done();
    // Measured what it says it measured.
    if !plain && (!took || (name == "overdub" && !dubbed)) {
        anyhow::bail!(
            "the {name} pass did not record (take {took}, overdub {dubbed}): make the measured time longer (--seconds)"
        );
    }
    Ok(p)
}

/// A pass's mean block time, us (its block's time over its real-time factor).
fn mean_us(p: &Pass) -> f64 {
    p.budget_us / p.rtf.max(1e-9)
}

/// The recording passes in words.
pub fn describe(r: &RecordResult) -> String {
    let added = |p: &Pass| mean_us(p) - mean_us(&r.scene);
    format!(
        "recording: a take of the input (monitored, drift-corrected, to the disk ring) while the scene plays: {:.1}x real time vs the scene's {:.1}x, +{:.1} us per {}-frame block ({:.2} % of it); an overdub pass: {:.1}x, +{:.1} us",
        r.take.rtf,
        r.scene.rtf,
        added(&r.take),
        r.scene.budget_us * RATE as f64 / 1e6,
        100.0 * added(&r.take) / r.scene.budget_us,
        r.overdub.rtf,
        added(&r.overdub),
    )
}

/// The recording passes as JSON.
pub fn json(r: &RecordResult) -> serde_json::Value {
    serde_json::json!({
        "take_realtime_factor": r.take.rtf,
        "overdub_realtime_factor": r.overdub.rtf,
        "scene_realtime_factor": r.scene.rtf,
        "take_added_us_per_block": mean_us(&r.take) - mean_us(&r.scene),
        "overdub_added_us_per_block": mean_us(&r.overdub) - mean_us(&r.scene),
        "take_block_us_p999": r.take.p999,
        "overdub_block_us_p999": r.overdub.p999,
    })
}
