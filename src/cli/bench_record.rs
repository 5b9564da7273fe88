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

/// One pass: `plain` is the scene alone; else "record" times a take of the input running, and
/// "overdub" an overdub pass over a take. What sets them going (the take beginning, a take
/// of a second ending, the pass beginning) is rendered first, untimed.
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
    let block = args.block;
    let mut rig = Rig {
        feed: handle.take_input_feed(),
        stream: handle.take_record_stream(),
        input: (0..2 * (block + 1))
            .map(|i| ((i / 2) as f32 * 0.031).sin() * 0.3)
            .collect(),
        scratch: vec![0.0f32; 1 << 16],
        block,
    };
    if !plain {
        let mut supply = TapeSupply::new(args.seconds as f32 + 30.0, RATE);
        supply.keep(&mut handle);
        for c in [InputCmd::Drift(true), InputCmd::Monitor(Some(true))] {
            handle.command(Command::Input(c))?;
        }
        handle.command(Command::Record(
            target,
            RecordCmd::Press(RecordSource::Input),
        ))?;
        // At most 10 s of audio to get each step going (a take begins on the next bar).
        let most = 10 * RATE as usize / block;
        let mut steps: Vec<(Option<EventKind>, Option<RecordCmd>)> =
            vec![(Some(EventKind::RecordStarted(target)), None)];
        if name == "overdub" {
            // A take of about a second, then the pass over it.
            steps.push((None, Some(RecordCmd::Stop)));
            steps.push((
                Some(EventKind::RecordDone(target)),
                Some(RecordCmd::Overdub),
            ));
            steps.push((Some(EventKind::OverdubStarted(target)), None));
        }
        for (want, then) in steps {
            let most = if want.is_some() {
                most
            } else {
                RATE as usize / block
            };
            if !rig.roll(&mut engine, &mut handle, want, most) {
                anyhow::bail!(
                    "the {name} pass could not set its recording going ({want:?} never came)"
                );
            }
            // A blank tape for the next step (the take used the first).
            supply.keep(&mut handle);
            if let Some(c) = then {
                handle.command(Command::Record(target, c))?;
            }
        }
        supply.keep(&mut handle);
    }
    let blocks = ((args.seconds * RATE as f64) as usize / block).max(1);
    let progress = Progress::new(name);
    let p = measure(
        name,
        &mut engine,
        &mut handle,
        blocks,
        block,
        |b, _| {
            if !plain {
                feed_block(&mut rig.feed, &rig.input, block, b);
            }
        },
        |b, h| {
            drain(&mut rig.stream, &mut rig.scratch);
            if b % 512 == 0 {
                h.drain_events();
                progress.show(b, blocks);
            }
        },
    );
    progress.done();
    Ok(p)
}

/// The input fed and the recorded samples taken, as a device and the disk writer would.
struct Rig {
    feed: Option<crate::engine::input::InputFeed>,
    stream: Option<crate::engine::record::RecordStream>,
    input: Vec<f32>,
    scratch: Vec<f32>,
    block: usize,
}

impl Rig {
    /// Renders untimed until `want` happens (None: `most` blocks), feeding and draining as
    /// while timed; false when it did not come within `most` blocks.
    fn roll(
        &mut self,
        engine: &mut Engine,
        handle: &mut crate::engine::EngineHandle,
        want: Option<EventKind>,
        most: usize,
    ) -> bool {
        let mut out = vec![0.0f32; 2 * self.block];
        for b in 0..most {
            feed_block(&mut self.feed, &self.input, self.block, b);
            engine.process(&mut out);
            drain(&mut self.stream, &mut self.scratch);
            if want.is_some_and(|w| handle.drain_events().iter().any(|e| e.kind == w)) {
                return true;
            }
        }
        want.is_none()
    }
}

/// Block `b` of input, a frame more every seventh (drift correction has something to do).
fn feed_block(
    feed: &mut Option<crate::engine::input::InputFeed>,
    input: &[f32],
    block: usize,
    b: usize,
) {
    if let Some(f) = feed.as_mut() {
        let n = if b.is_multiple_of(7) {
            block + 1
        } else {
            block
        };
        f.push_slice(&input[..2 * n]);
    }
}

/// Takes what was recorded (the disk writer's part, without the disk).
fn drain(stream: &mut Option<crate::engine::record::RecordStream>, scratch: &mut [f32]) {
    if let Some(s) = stream.as_mut() {
        while s.samples.pop_slice(scratch) > 0 {}
        while s.marks.try_pop().is_some() {}
    }
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
