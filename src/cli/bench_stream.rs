//! `padlooper bench --memory-limit`: the scene within a sample memory budget, long loops
//! streaming from disk. A timed pass (the disk service fills between blocks, untimed: the
//! engine's own cost) and a pass paced in real time at 2x speed with the disk thread running
//! (does the disk keep up?).

use crate::engine::command::PadCmd;
use std::time::{Duration, Instant};

use super::bench::{BenchArgs, PassResult, Progress, render_pass};
use crate::bench::measure::peak_rss;
use crate::bench::scene::RATE;
use crate::config::SetFile;
use crate::config::ranged::MemoryLimit;
use crate::control::set::loader::{engine_settings, load_set_opts};
use crate::control::set::stream_load::StreamOptions;
use crate::engine::Engine;
use crate::engine::command::{Command, PadId};
use crate::engine::shared::Counter;
use crate::sample::stream::DiskThread;

/// What the streamed passes measured.
pub(crate) struct StreamBench {
    /// The budget in bytes.
    pub(crate) limit: u64,
    /// The timed pass.
    pub(crate) timed: PassResult,
    /// Peak resident memory after the timed pass (before any in-RAM pass).
    pub(crate) rss: Option<u64>,
    /// Paced pass: seconds, speed, starved events, bytes read.
    pub(crate) paced: (f64, f64, u64, u64),
    /// Real-time factor of a second timed pass, run right after the in-RAM scene (see
    /// [`retime`]).
    pub(crate) again: Option<f64>,
}

/// Times the streamed scene once more, right after the in-RAM scene pass: the comparison uses
/// the better of the two streamed passes, since this VM's speed drifts between passes run
/// minutes apart by more than what is compared.
pub(crate) fn retime(s: &mut StreamBench, set: &SetFile, args: &BenchArgs) -> anyhow::Result<()> {
    let again = render_pass(
        "streamed",
        set,
        |_| {},
        args,
        Some(s.limit),
        &crate::sample::loader::load_one,
    )?;
    s.again = Some(again.pass.rtf);
    Ok(())
}

impl StreamBench {
    /// The better real-time factor of the timed streamed passes.
    pub(crate) fn best_rtf(&self) -> f64 {
        self.again
            .map_or(self.timed.pass.rtf, |a| a.max(self.timed.pass.rtf))
    }
}

/// Speed of the paced pass (the fastest a set allows).
const PACED_SPEED: f32 = 2.0;

pub(crate) fn run(set: &SetFile, args: &BenchArgs, limit: &str) -> anyhow::Result<StreamBench> {
    let physical = crate::sample::memory::physical_memory().unwrap_or(0);
    let limit = MemoryLimit::parse(limit)
        .map_err(|e| anyhow::anyhow!("--memory-limit: {e}"))?
        .bytes(physical);
    let timed = render_pass(
        "streamed",
        set,
        |_| {},
        args,
        Some(limit),
        &crate::sample::loader::load_one,
    )?;
    let rss = peak_rss();
    let paced = paced(set, args, limit)?;
    Ok(StreamBench {
        limit,
        timed,
        rss,
        paced,
        again: None,
    })
}

/// Plays the scene in real time at 2x with the disk thread reading as it would live.
fn paced(set: &SetFile, args: &BenchArgs, limit: u64) -> anyhow::Result<(f64, f64, u64, u64)> {
    let (mut engine, mut handle) = Engine::new(engine_settings(set, RATE))?;
    let opts = StreamOptions {
        limit: Some(limit),
        ..Default::default()
    };
    let mut report = load_set_opts(
        set,
        &mut handle,
        0,
        &|_, _| {},
        &crate::sample::loader::load_one,
        opts,
        &mut crate::control::set::table_store::TableStore::new(),
    );
    if let Some(e) = report.errors.first() {
        anyhow::bail!("{e}");
    }
    let streaming = report.streaming.take();
    let (ctl, thread) = match streaming {
        Some(mut s) => {
            let service = s.service.take();
            let t = match service {
                Some(sv) => Some(DiskThread::spawn(sv)?),
                None => None,
            };
            (Some(s.ctl), t)
        }
        None => (None, None),
    };
    for spec in &set.pads {
        let _ = handle.command(Command::Pad(spec.id as PadId, PadCmd::Press));
    }
    let _ = handle.command(Command::GlobalSpeed(PACED_SPEED));
    let seconds = args.seconds.min(20.0);
    let blocks = ((seconds * RATE as f64) as usize / args.block).max(1);
    let mut buf = vec![0.0f32; 2 * args.block];
    let progress = Progress::new("paced 2x");
    let t0 = Instant::now();
    for b in 0..blocks {
        engine.process(&mut buf);
        handle.collect_retired();
        if b % 256 == 0 {
            handle.drain_events();
            progress.show(b, blocks);
        }
        let due = t0 + Duration::from_secs_f64((b + 1) as f64 * args.block as f64 / RATE as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    progress.done();
    let starved = engine.stats().counters.get(Counter::DiskStarved);
    let bytes = ctl.as_ref().map_or(0, |c| {
        c.status().bytes.load(std::sync::atomic::Ordering::Relaxed)
    });
    if let Some(t) = thread {
        t.stop();
    }
    Ok((seconds, PACED_SPEED as f64, starved, bytes))
}

/// Lines for the text report; `scene_rtf`: the in-RAM scene's real-time factor.
pub(crate) fn describe(s: &StreamBench, scene_rtf: f64, seconds: f64) -> Vec<String> {
    let (streamed, bytes, starved) = s.timed.disk.unwrap_or((0, 0, 0));
    let (ps, speed, pstarved, pbytes) = s.paced;
    vec![
        format!(
            "streamed (--memory-limit {:.0} MB): {streamed} tables streamed; load {:.2} s; sample memory {:.1} MB; peak RSS {}",
            s.limit as f64 / 1e6,
            s.timed.load_s,
            s.timed.memory.0 as f64 / 1e6,
            s.rss
                .map_or("unknown".into(), |r| format!("{:.1} MB", r as f64 / 1e6))
        ),
        format!(
            "streamed: {:.1}x real time ({:.2}x the in-RAM scene; the better of a pass before and one right after it, first {:.1}x), disk read {:.1} MB/s at 1x, {starved} starved",
            s.best_rtf(),
            s.best_rtf() / scene_rtf,
            s.timed.pass.rtf,
            bytes as f64 / seconds / 1e6
        ),
        format!(
            "paced in real time at {speed}x with the disk thread: {pstarved} starved in {ps:.0} s, disk read {:.1} MB/s",
            pbytes as f64 / ps / 1e6
        ),
    ]
}

/// The JSON object of the streamed passes.
pub(crate) fn json(s: &StreamBench, scene_rtf: f64, seconds: f64) -> serde_json::Value {
    let (streamed, bytes, starved) = s.timed.disk.unwrap_or((0, 0, 0));
    let (ps, speed, pstarved, pbytes) = s.paced;
    serde_json::json!({
        "memory_limit_bytes": s.limit,
        "tables_streamed": streamed,
        "load_seconds": s.timed.load_s,
        "sample_bytes": s.timed.memory.0,
        "peak_rss_bytes": s.rss,
        "realtime_factor": s.best_rtf(),
        "first_pass_realtime_factor": s.timed.pass.rtf,
        "vs_scene": s.best_rtf() / scene_rtf,
        "disk_bytes_per_second": bytes as f64 / seconds,
        "starved": starved,
        "blocks_over_budget": s.timed.pass.over_budget,
        "paced": {"seconds": ps, "speed": speed, "starved": pstarved,
                  "disk_bytes_per_second": pbytes as f64 / ps},
    })
}
