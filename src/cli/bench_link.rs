//! `padlooper bench`, Ableton Link: what following a Link session costs the audio thread per
//! block. Two idle engines (the transport running, no voices) render the same blocks, one
//! following Link's timeline (this process alone, no network: the same capture, trim, move and
//! commit calls as with peers) and one not; the difference is Link's cost. Rendered faster
//! than real time, the follower finds the session's time running slower than the engine's and
//! corrects the phase every block: its most expensive path, so the figure is an upper bound.
//! Not real-time.

use crate::bench::measure::{Pass, measure};
use crate::engine::command::{Command, Timed, TransportCmd};
use crate::engine::link::{LinkPart, LinkSession};
use crate::engine::{Engine, EngineSettings};

/// Blocks measured per engine (an idle block takes a few µs).
const BLOCKS: usize = 20_000;

/// Block times with and without Link.
#[derive(Debug)]
pub struct LinkBench {
    /// The engine following Link.
    pub with: Pass,
    /// The same engine without.
    pub without: Pass,
}

/// Measures both engines at `block` frames.
pub fn run(block: usize) -> anyhow::Result<LinkBench> {
    let pass = |name: &'static str, link: bool| -> anyhow::Result<Pass> {
        let (mut engine, mut handle) = Engine::new(EngineSettings::default())?;
        let cmd = Command::Transport(TransportCmd::Start);
        handle.send(Timed { at: 0, cmd })?;
        // Kept alive for the pass (the engine holds the other reference).
        let session = link.then(|| {
            let s = LinkSession::new(120.0);
            s.set_start_stop_sync(true);
            s.follow_offline(true);
            s
        });
        if let Some(s) = &session
            && handle
                .attach_link(LinkPart::new(s.clone(), engine.settings().sample_rate))
                .is_err()
        {
            anyhow::bail!("Link could not be attached");
        }
        Ok(measure(
            name,
            &mut engine,
            &mut handle,
            BLOCKS,
            block,
            |_, _| {},
            |_, _| {},
        ))
    };
    Ok(LinkBench {
        without: pass("idle", false)?,
        with: pass("idle + Link", true)?,
    })
}

/// Link's cost per block in µs: (mean, p99) differences.
pub fn cost(b: &LinkBench) -> (f64, f64) {
    // Busy time per block: the block's duration over the real-time factor.
    let mean = |p: &Pass| p.budget_us / p.rtf.max(1e-12);
    (mean(&b.with) - mean(&b.without), b.with.p99 - b.without.p99)
}

/// As JSON.
pub fn json(b: &LinkBench) -> serde_json::Value {
    let (mean, p99) = cost(b);
    serde_json::json!({
        "blocks": b.with.blocks,
        "cost_us_per_block_mean": mean,
        "cost_us_per_block_p99": p99,
        "with_p50_us": b.with.p50, "with_p99_us": b.with.p99, "with_max_us": b.with.max,
        "without_p50_us": b.without.p50, "without_p99_us": b.without.p99,
    })
}

/// As a line of text.
pub fn describe(b: &LinkBench) -> String {
    let (mean, p99) = cost(b);
    format!(
        "Ableton Link: following the session costs at most {mean:.2} us per block on average ({p99:.2} us more at p99; idle engine {:.2} us p50 with Link, {:.2} us without; {} blocks, the phase corrected every block)",
        b.with.p50, b.without.p50, b.with.blocks
    )
}
