//! `padlooper render`: offline rendering of a set and a script to WAV (+ JSON-lines events).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::config::profile::Profile;
use crate::config::script::Script;
use crate::control::offline::{Feeder, ScriptFeeder, render_with};
use crate::control::replay::MidiReplay;
use crate::control::set_loader::load_set;
use crate::engine::Engine;
use crate::engine::event::{EngineEvent, EventKind};
use crate::midi::smf::read_smf;
use crate::midi::state::SharedControl;

/// Options of `padlooper render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Set file; without it, the built-in demo set.
    #[arg(long)]
    pub set: Option<PathBuf>,
    /// Script of timed commands; without it (and without --set), the demo performance.
    #[arg(long, help = format!("Script of timed commands ({})", crate::config::script::SCRIPT_COMMANDS))]
    pub script: Option<PathBuf>,
    /// Seconds to render (default: the script's or MIDI file's length plus 3 s).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Output WAV file (32-bit float stereo).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Write the engine's events as JSON lines to this file.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Block size in frames.
    #[arg(long, default_value_t = 256)]
    pub block: usize,
    /// Output sample rate (default: the set's).
    #[arg(long)]
    pub rate: Option<u32>,
    /// Replay a recorded controller session (Standard MIDI File) through --profile.
    #[arg(long, requires = "profile")]
    pub midi: Option<PathBuf>,
    /// Controller profile for --midi: a built-in name (e.g. launchpad-x) or a file.
    #[arg(long)]
    pub profile: Option<String>,
    /// Write the LED messages a real controller would have received, as JSON lines.
    #[arg(long, requires = "midi")]
    pub leds: Option<PathBuf>,
}

/// One event as a JSON object (pad ids are split into bank and pad for readability).
pub fn event_json(e: &EngineEvent, rate: u32, pads_per_bank: usize) -> String {
    let (name, pad) = match e.kind {
        EventKind::PadStarted(p) => ("pad_started", Some(p)),
        EventKind::PadStopped(p) => ("pad_stopped", Some(p)),
        EventKind::PadLooped(p) => ("pad_looped", Some(p)),
        EventKind::PadEnded(p) => ("pad_ended", Some(p)),
        EventKind::VoiceStolen(p) => ("voice_stolen", Some(p)),
        EventKind::PadEmpty(p) => ("pad_empty", Some(p)),
        EventKind::SlotRetired(s) => {
            return format!(
                r#"{{"frame":{},"time":{:.6},"event":"slot_retired","slot":{s}}}"#,
                e.frame,
                e.frame as f64 / rate as f64
            );
        }
    };
    let p = pad.unwrap_or(0) as usize;
    format!(
        r#"{{"frame":{},"time":{:.6},"event":"{name}","bank":{},"pad":{}}}"#,
        e.frame,
        e.frame as f64 / rate as f64,
        p / pads_per_bank,
        p % pads_per_bank
    )
}

pub fn render_cmd(a: RenderArgs) -> anyhow::Result<i32> {
    if a.block == 0 || a.block > 65536 {
        anyhow::bail!("--block must be 1..=65536 frames");
    }
    let set = super::load_set_or_demo(a.set.as_ref())?;
    let script = match (&a.script, &a.set, &a.midi) {
        (Some(p), _, _) => Script::load(p, &set.grid).map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, None, None) => crate::demo::demo_script(),
        _ => Script::default(),
    };
    let midi = match &a.midi {
        Some(p) => Some(read_smf(p)?),
        None => None,
    };
    let midi_end = midi.as_ref().and_then(|m| m.last()).map_or(0.0, |e| e.0);
    let seconds = match a.seconds {
        Some(s) if s > 0.0 && s <= 86_400.0 => s,
        Some(s) => anyhow::bail!("--seconds {s} must be between 0 and 86400"),
        None if a.set.is_none() && a.script.is_none() && a.midi.is_none() => {
            crate::demo::DEMO_SECONDS
        }
        None => script.duration().max(midi_end) + 3.0,
    };
    let rate = a.rate.unwrap_or(set.master.sample_rate);
    let settings = crate::control::set_loader::engine_settings(&set, rate);
    let (mut engine, mut handle) = Engine::new(settings).map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    for e in &report.errors {
        log::error!("{e}");
    }
    for w in &report.warnings {
        log::warn!("{w}");
    }
    log::info!(
        "loaded {} pads, {} samples ({}) in {:.2} s",
        report.pads_ready(),
        report.samples_loaded,
        crate::control::status::mb(report.memory.0),
        report.load_time.as_secs_f64()
    );
    let mut replay = match (midi, &a.profile) {
        (Some(events), Some(name)) => {
            let profile = Profile::find(name).map_err(|e| anyhow::anyhow!("{e}"))?;
            let shared = Arc::new(SharedControl::new(&set, rate, engine.stats().clone()));
            shared.mark_failed(&report.failed_pads);
            Some(MidiReplay::new(Arc::new(profile), shared, events, rate))
        }
        _ => None,
    };
    let mut script_feeder = ScriptFeeder::new(&script, rate);
    let mut feeders: Vec<&mut dyn Feeder> = vec![&mut script_feeder];
    if let Some(r) = replay.as_mut() {
        feeders.push(r);
    }
    let t0 = std::time::Instant::now();
    let out = render_with(
        &mut engine,
        &mut handle,
        &mut feeders,
        seconds,
        a.block,
        |_, _| {},
    );
    drop(feeders);
    let took = t0.elapsed().as_secs_f64();
    if out.dropped_commands > 0 {
        log::warn!(
            "{} script commands did not fit the command queue",
            out.dropped_commands
        );
    }
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&a.out, spec)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    for s in &out.samples {
        w.write_sample(*s)
            .with_context(|| format!("cannot write {}", a.out.display()))?;
    }
    w.finalize()
        .with_context(|| format!("cannot finish {}", a.out.display()))?;
    if let Some(path) = &a.events {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        );
        for e in &out.events {
            writeln!(f, "{}", event_json(e, rate, set.grid.pads_per_bank()))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        f.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let (Some(path), Some(r)) = (&a.leds, &replay) {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        );
        for (t, bytes) in &r.led_log {
            let hex: Vec<String> = bytes.iter().map(|b| format!("\"{b:02X}\"")).collect();
            writeln!(f, r#"{{"time":{t:.6},"bytes":[{}]}}"#, hex.join(","))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        f.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    log::info!(
        "rendered {seconds:.1} s to {} in {took:.2} s ({:.0}x real time)",
        a.out.display(),
        seconds / took.max(1e-9)
    );
    Ok(0)
}
