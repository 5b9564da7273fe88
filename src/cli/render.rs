//! `padlooper render`: offline rendering of a set and a script to WAV (+ JSON-lines events).
//! The audio streams to disk as it renders, so a day-long render needs no more memory than a
//! second-long one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use crate::config::profile::Profile;
use crate::config::script::Script;
use crate::control::offline::renderer::{ClockCollector, Feeder, ScriptFeeder, render_into};
use crate::control::offline::replay::{ClockInReplay, MidiReplay};
use crate::control::offline::wav_out::{WavOut, free_bytes};
use crate::control::set::loader::load_set;
use crate::engine::Engine;
use crate::engine::event::{EngineEvent, EventKind};
use crate::engine::params as P;
use crate::midi::clock_in::ClockNews;
use crate::midi::smf::read_smf_checked;
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
    /// Output WAV file (32-bit float stereo; RF64 past 4 GiB).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Write the engine's events as JSON lines to this file.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Block size in frames.
    #[arg(long, default_value_t = 256, value_parser = |s: &str| P::BUFFER_SIZE.parse_arg(s).map(|v| v as usize))]
    pub block: usize,
    /// Output sample rate (default: the set's).
    #[arg(long, value_parser = |s: &str| P::SAMPLE_RATE.parse_arg(s))]
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
    /// Write what padlooper would send to MIDI outputs (clock, start/stop, song position, LED
    /// messages) as a Standard MIDI File with exact times.
    #[arg(long)]
    pub midi_out: Option<PathBuf>,
    /// Follow the MIDI clock (and start/stop/continue/song position) recorded in this MIDI
    /// file, as from an external drum machine.
    #[arg(long)]
    pub clock_in: Option<PathBuf>,
    /// Feed this audio file to the audio input, as if played along with the render (frame f
    /// of it is heard against frame f of the output): what `record` commands record.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Folder the script's takes are written to (default: `recordings` beside the output).
    #[arg(long)]
    pub recordings: Option<PathBuf>,
}

impl RenderArgs {
    /// Arguments that render the demo performance to `out`.
    pub fn demo(out: PathBuf) -> Self {
        Self {
            set: None,
            script: None,
            seconds: None,
            out,
            events: None,
            block: 256,
            rate: None,
            midi: None,
            profile: None,
            leds: None,
            midi_out: None,
            clock_in: None,
            input: None,
            recordings: None,
        }
    }
}

/// One event as a JSON object (pad ids are split into bank and pad for readability).
pub fn event_json(e: &EngineEvent, rate: u32, pads_per_bank: usize) -> serde_json::Value {
    let time = e.frame as f64 / rate as f64;
    let (name, pad) = match e.kind {
        EventKind::PadStarted(p) => ("pad_started", p),
        EventKind::PadStopped(p) => ("pad_stopped", p),
        EventKind::PadLooped(p) => ("pad_looped", p),
        EventKind::PadEnded(p) => ("pad_ended", p),
        EventKind::VoiceStolen(p) => ("voice_stolen", p),
        EventKind::PadEmpty(p) => ("pad_empty", p),
        EventKind::SlotRetired(s) => {
            return json!({"frame": e.frame, "time": time, "event": "slot_retired", "slot": s});
        }
        EventKind::Bar(n) => {
            return json!({"frame": e.frame, "time": time, "event": "bar", "bar": n});
        }
        EventKind::Link(news) => {
            return json!({"frame": e.frame, "time": time, "event": "link", "news": format!("{news:?}")});
        }
        EventKind::TableWanted(r) => ("table_wanted", r.pad),
        EventKind::DiskStarved(p) => ("disk_starved", p),
        EventKind::RecordArmed(p) => ("record_armed", p),
        EventKind::RecordStarted(p) => ("record_started", p),
        EventKind::RecordPlaying(p) => ("record_playing", p),
        EventKind::RecordDone(p) => ("record_done", p),
        EventKind::RecordCancelled(p) => ("record_cancelled", p),
        EventKind::OverdubStarted(p) => ("overdub_started", p),
        EventKind::OverdubPlaying(p) => ("overdub_playing", p),
        EventKind::RecordUndone(p, _, true) => ("record_undone", p),
        EventKind::RecordUndone(p, _, false) => ("record_redone", p),
        EventKind::RecordCleared(p) => ("record_cleared", p),
        EventKind::RecordRefused(p, why) => {
            let p = p as usize;
            return json!({"frame": e.frame, "time": time, "event": "record_refused",
                "bank": p / pads_per_bank, "pad": p % pads_per_bank, "reason": format!("{why:?}")});
        }
    };
    let p = pad as usize;
    json!({
        "frame": e.frame,
        "time": time,
        "event": name,
        "bank": p / pads_per_bank,
        "pad": p % pads_per_bank,
    })
}

/// A JSON-lines file being written.
struct JsonLines {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    error: Option<std::io::Error>,
}

impl JsonLines {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self {
            file: std::io::BufWriter::new(file),
            path: path.into(),
            error: None,
        })
    }

    fn line(&mut self, v: &serde_json::Value) {
        if self.error.is_none()
            && let Err(e) = writeln!(self.file, "{v}")
        {
            self.error = Some(e);
        }
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e).with_context(|| format!("cannot write {}", self.path.display()));
        }
        self.file
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// The (device, inode) of an existing file.
fn identity(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Refuses a render whose outputs (`-o`, `--events`, `--leds`, `--midi-out`) would overwrite
/// one of its inputs (the set, the script, the MIDI files, a profile file, any sample) or each
/// other: the same file under any name.
fn refuse_overwriting_inputs(a: &RenderArgs, set: &crate::config::SetFile) -> anyhow::Result<()> {
    let mut inputs: Vec<(PathBuf, &str)> = Vec::new();
    let named = [
        (&a.set, "the set"),
        (&a.script, "the script"),
        (&a.midi, "the MIDI file"),
        (&a.clock_in, "the clock MIDI file"),
        (&a.input, "the input file"),
    ];
    for (p, what) in named {
        if let Some(p) = p {
            inputs.push((p.clone(), what));
        }
    }
    if let Some(p) = &a.profile {
        inputs.push((PathBuf::from(p), "the profile"));
    }
    for pad in &set.pads {
        match &pad.source {
            crate::sample::loader::SampleSource::File(p) => inputs.push((p.clone(), "a sample")),
            crate::sample::loader::SampleSource::Stems(s) => {
                for p in s.paths().unwrap_or_default() {
                    inputs.push((p, "a stem"));
                }
            }
            crate::sample::loader::SampleSource::Builtin(_) => {}
        }
    }
    let outputs = [
        (Some(&a.out), "-o"),
        (a.events.as_ref(), "--events"),
        (a.leds.as_ref(), "--leds"),
        (a.midi_out.as_ref(), "--midi-out"),
    ];
    let mut seen: Vec<((u64, u64), &str)> = Vec::new();
    for (out, flag) in outputs {
        let Some(out) = out else { continue };
        let Some(id) = identity(out) else { continue };
        if let Some((input, what)) = inputs.iter().find(|(p, _)| identity(p) == Some(id)) {
            anyhow::bail!(
                "{}: {flag} would overwrite {what} ({}); render to another file",
                out.display(),
                input.display()
            );
        }
        if let Some((_, other)) = seen.iter().find(|(i, _)| *i == id) {
            anyhow::bail!(
                "{}: {flag} and {other} are the same file; give each its own",
                out.display()
            );
        }
        seen.push((id, flag));
    }
    Ok(())
}

pub fn render_cmd(a: RenderArgs) -> anyhow::Result<i32> {
    let set = super::load_set_or_demo(a.set.as_ref())?;
    refuse_overwriting_inputs(&a, &set)?;
    let Inputs {
        script,
        midi,
        clock_in,
        seconds,
    } = inputs(&a, &set)?;
    let rate = a.rate.unwrap_or(set.master.sample_rate);
    check_space(&a.out, seconds, rate)?;
    let settings = crate::engine::EngineSettings {
        // Stretching in the render thread: the same sound every time.
        stretch_workers: 0,
        ..crate::control::set::loader::engine_settings(&set, rate)
    };
    let (mut engine, mut handle) = Engine::new(settings)?;
    let mut report = load_logged(&set, &mut handle);
    // Offline, the render waits for the disk before every block: identical to rendering from RAM.
    let mut disk = report
        .streaming
        .as_mut()
        .and_then(|s| s.service.take())
        .map(|s| crate::control::offline::renderer::DiskFeeder::new(s, true));
    let mut replay = match (midi, &a.profile) {
        (Some(events), Some(name)) => {
            let profile = Profile::find(name)?;
            let shared = Arc::new(SharedControl::new(&set, rate, engine.stats().clone()));
            shared.mark_failed(&report.failed_pads);
            Some(MidiReplay::new(Arc::new(profile), shared, events, rate))
        }
        _ => None,
    };
    let wanted = crate::control::keylock::setup::used(&set, Some(&script)) || replay.is_some();
    let mut tables = crate::control::keylock::setup::offline(&set, &report, &mut handle, wanted);
    let mut script_feeder = ScriptFeeder::new(&script, rate);
    let mut clock = match &a.midi_out {
        Some(_) => ClockCollector::new(&mut handle),
        None => None,
    };
    let mut feeders: Vec<&mut dyn Feeder> = vec![&mut script_feeder, &mut tables];
    if let Some(d) = disk.as_mut() {
        feeders.push(d);
    }
    if let Some(r) = replay.as_mut() {
        feeders.push(r);
    }
    if let Some(c) = clock.as_mut() {
        feeders.push(c);
    }
    let mut recorder = recording(&a, &set, &script, &mut handle, engine.latency(), rate)?;
    if let Some(r) = recorder.as_mut() {
        feeders.push(r);
    }
    let mut follower =
        clock_in.map(|events| ClockInReplay::new(events, engine.stats().clone(), rate));
    if let Some(f) = follower.as_mut() {
        feeders.push(f);
    }
    let mut wav = WavOut::create(&a.out, rate)?;
    let mut events = match &a.events {
        Some(p) => Some(JsonLines::create(p)?),
        None => None,
    };
    let per_bank = set.grid.pads_per_bank();
    let t0 = std::time::Instant::now();
    let dropped = render_into(
        &mut engine,
        &mut handle,
        &mut feeders,
        seconds,
        a.block,
        &mut |s| wav.write(s),
        &mut |evs| {
            if let Some(f) = events.as_mut() {
                for e in evs {
                    f.line(&event_json(e, rate, per_bank));
                }
            }
        },
        |_, _| {},
    )?;
    drop(feeders);
    let took = t0.elapsed().as_secs_f64();
    if let Some(f) = &follower {
        log_clock_news(f);
    }
    wav.finish()?;
    if let Some(f) = events {
        f.finish()?;
    }
    // What went wrong while rendering: said, and the exit status says it too.
    let mut failed = false;
    if dropped > 0 {
        log::error!("{dropped} commands could not be queued and are missing from the render");
        failed = true;
    }
    if let Some(s) = &report.streaming {
        for e in s.ctl.take_errors() {
            log::error!("{e}");
            failed = true;
        }
    }
    if let Some(r) = &recorder {
        failed |= log_takes(&r.news, per_bank, rate);
    }
    if let Some(path) = &a.midi_out {
        let clock = clock.map(|c| c.messages).unwrap_or_default();
        write_midi_out(path, &clock, replay.as_ref(), rate)?;
    }
    if let (Some(path), Some(r)) = (&a.leds, &replay) {
        write_leds(path, r)?;
    }
    log::info!(
        "rendered {seconds:.1} s to {} in {took:.2} s ({:.0}x real time){}",
        a.out.display(),
        seconds / took.max(1e-9),
        crate::sample::memory::resident().map_or(String::new(), |(_, peak)| format!(
            ", peak memory {:.1} MB",
            peak as f64 / (1 << 20) as f64
        ))
    );
    if failed {
        log::error!(
            "{}: a sample failed while rendering (see above); the file is incomplete",
            a.out.display()
        );
        return Ok(1);
    }
    Ok(0)
}

/// Recording in a render: when the script records or an input is given, tapes of the set's
/// `record_seconds` and a writer into `--recordings` (default `recordings` beside the output).
fn recording(
    a: &RenderArgs,
    set: &crate::config::set::SetFile,
    script: &Script,
    handle: &mut crate::engine::EngineHandle,
    delay: usize,
    rate: u32,
) -> anyhow::Result<Option<crate::control::record::RecordFeeder>> {
    use crate::control::record::{DiskWriter, RecordFeeder, TapeSupply};
    use crate::engine::command::Command;
    let records = script
        .events
        .iter()
        .any(|(_, c)| matches!(c, Command::Record(..)));
    if !records && a.input.is_none() {
        return Ok(None);
    }
    let input = match &a.input {
        Some(p) => Some(Arc::new(
            crate::sample::loader::load_file(p, rate)
                .with_context(|| format!("--input {}", p.display()))?,
        )),
        None => None,
    };
    let supply = TapeSupply::new(set.master.record_seconds, rate);
    if records && !supply.enabled() {
        log::warn!(
            "the script records, but `record_seconds` = 0 in [master] turns recording off; set it to the longest take (e.g. 60)"
        );
    }
    let dir = a
        .recordings
        .clone()
        .unwrap_or_else(|| a.out.parent().unwrap_or(Path::new(".")).join("recordings"));
    let writer = handle
        .take_record_stream()
        .map(|s| DiskWriter::new(s, &dir, set.grid.pads_per_bank(), rate));
    Ok(Some(RecordFeeder::new(
        handle, input, delay, supply, writer,
    )))
}

/// Logs the takes a render wrote; true when one could not be written.
fn log_takes(news: &[crate::control::record::WriterNews], per_bank: usize, rate: u32) -> bool {
    use crate::control::record::WriterNews;
    let mut failed = false;
    for n in news {
        match n {
            WriterNews::Written(t) => log::info!(
                "recorded bank {} pad {}: {} ({:.2} s at {:.2} BPM{})",
                t.pad as usize / per_bank.max(1),
                t.pad as usize % per_bank.max(1),
                t.path.display(),
                t.frames as f64 / rate.max(1) as f64,
                t.bpm,
                if t.lost_frames > 0 {
                    format!(", {} frames lost on the way to disk", t.lost_frames)
                } else {
                    String::new()
                }
            ),
            WriterNews::Failed { pad, error, .. } => {
                log::error!(
                    "the take of bank {} pad {} was not written: {error}",
                    *pad as usize / per_bank.max(1),
                    *pad as usize % per_bank.max(1)
                );
                failed = true;
            }
        }
    }
    failed
}

/// What a render plays and for how long.
struct Inputs {
    script: Script,
    midi: Option<Vec<crate::midi::smf::SmfEvent>>,
    clock_in: Option<Vec<crate::midi::smf::SmfEvent>>,
    seconds: f64,
}

/// The script (the demo's without a set), the MIDI files, and the length: `--seconds`, the
/// demo's, or the script's and MIDI files' end plus 3 s.
fn inputs(a: &RenderArgs, set: &crate::config::SetFile) -> anyhow::Result<Inputs> {
    let script = match (&a.script, &a.set, &a.midi) {
        (Some(p), _, _) => {
            let mut s = Script::load(p, &set.grid)?;
            s.resolve_stems(p, |pad| set.stem_names(pad as usize))?;
            s
        }
        (None, None, None) => crate::demo::demo_script(),
        _ => Script::default(),
    };
    let midi_file = |p: &PathBuf| -> anyhow::Result<Vec<crate::midi::smf::SmfEvent>> {
        let (events, warnings) = read_smf_checked(p)?;
        for w in warnings {
            log::warn!("{w}");
        }
        Ok(events)
    };
    let midi = a.midi.as_ref().map(midi_file).transpose()?;
    let clock_in = a.clock_in.as_ref().map(midi_file).transpose()?;
    let midi_end = midi
        .iter()
        .chain(clock_in.iter())
        .filter_map(|m| m.last())
        .fold(0.0f64, |m, e| m.max(e.0));
    let seconds = match a.seconds {
        Some(s) if s > 0.0 && s <= 86_400.0 => s,
        Some(s) => anyhow::bail!("--seconds {s} is out of range; allowed more than 0 up to 86400"),
        None if a.set.is_none()
            && a.script.is_none()
            && a.midi.is_none()
            && a.clock_in.is_none() =>
        {
            crate::demo::DEMO_SECONDS
        }
        None => script.duration().max(midi_end) + 3.0,
    };
    Ok(Inputs {
        script,
        midi,
        clock_in,
        seconds,
    })
}

/// Refuses a render that cannot fit on the output's file system.
fn check_space(out: &std::path::Path, seconds: f64, rate: u32) -> anyhow::Result<()> {
    let needed = (seconds * rate as f64) as u64 * 8;
    if let Some(free) = free_bytes(out)
        && needed > free
    {
        anyhow::bail!(
            "{}: rendering {seconds} s needs {:.1} GB but only {:.1} GB are free there; render less or choose another place",
            out.display(),
            needed as f64 / 1e9,
            free as f64 / 1e9
        );
    }
    Ok(())
}

/// Says when a followed MIDI clock dropped out and came back.
fn log_clock_news(f: &ClockInReplay) {
    for (t, news) in &f.news {
        match news {
            ClockNews::Dropout { bpm } => log::warn!(
                "{t:.3} s: the MIDI clock stopped for more than 2 beats; keeping {bpm:.2} BPM"
            ),
            ClockNews::Back => log::info!("{t:.3} s: the MIDI clock is back"),
        }
    }
}

/// Writes the MIDI clock and the controller LED messages a render sent as a MIDI file.
fn write_midi_out(
    path: &std::path::Path,
    clock: &[crate::engine::event::TimedClock],
    replay: Option<&MidiReplay>,
    rate: u32,
) -> anyhow::Result<()> {
    let mut msgs: Vec<(f64, Vec<u8>)> = clock
        .iter()
        .map(|m| {
            let (b, n) = m.msg.bytes();
            (m.frame as f64 / rate as f64, b[..n].to_vec())
        })
        .collect();
    if let Some(r) = replay {
        msgs.extend(r.led_log.iter().cloned());
    }
    msgs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let bytes = crate::midi::smf::write_smf(&msgs)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Writes the LED messages of a replayed controller session as JSON lines.
fn write_leds(path: &std::path::Path, r: &MidiReplay) -> anyhow::Result<()> {
    let mut f = JsonLines::create(path)?;
    for (t, bytes) in &r.led_log {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
        f.line(&json!({"time": t, "bytes": hex}));
    }
    f.finish()?;
    Ok(())
}

/// Loads the set, saying what went wrong, the memory plan and what loaded.
fn load_logged(
    set: &crate::config::SetFile,
    handle: &mut crate::engine::EngineHandle,
) -> crate::control::set::loader::SetLoadReport {
    let report = load_set(set, handle, 0, &|_, _| {});
    for e in &report.errors {
        log::error!("{e}");
    }
    for w in &report.warnings {
        log::warn!("{w}");
    }
    for a in &report.applied {
        log::info!("{a}");
    }
    crate::control::set::stream_load::log_plan(report.plan.as_ref());
    log::info!(
        "loaded {} pads, {} samples ({}) in {:.2} s",
        report.pads_ready(),
        report.samples_loaded,
        crate::control::live::status::mb(report.memory.0),
        report.load_time.as_secs_f64()
    );
    report
}
