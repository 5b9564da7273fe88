//! `padlooper bench`: loads the standard scene and measures rendering speed and memory.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use crate::bench::scene::{self, RATE};
use crate::config::SetFile;
use crate::control::set_loader::{engine_settings, load_set};
use crate::engine::Engine;
use crate::engine::command::{Command, EqMode, FxParam, PadId, SendBus, Timed};

/// Options of `padlooper bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Folder with loop_000.wav .. loop_NNN.wav (default: generate them in the temp folder).
    #[arg(long)]
    pub files: Option<PathBuf>,
    /// Number of voices (pads) in the scene.
    #[arg(long, default_value_t = 50)]
    pub voices: usize,
    /// Seconds of audio to render per pass.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Block size in frames.
    #[arg(long, default_value_t = 256)]
    pub block: usize,
    /// Use 300-second loops instead of 30-second ones.
    #[arg(long)]
    pub long: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A one-line progress bar on stderr (only when it is a terminal).
struct Progress {
    label: &'static str,
    on: bool,
}

impl Progress {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            on: std::io::stderr().is_terminal(),
        }
    }
    fn show(&self, done: usize, total: usize) {
        if self.on && total > 0 {
            let w = 30 * done / total;
            eprint!(
                "\r{:<10} [{}{}] {:>3}%",
                self.label,
                "#".repeat(w),
                " ".repeat(30 - w),
                100 * done / total
            );
            let _ = std::io::stderr().flush();
        }
    }
    fn done(&self) {
        if self.on {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }
}

/// Results of one rendering pass.
struct Pass {
    name: &'static str,
    rtf: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    over_budget: usize,
    blocks: usize,
    budget_us: f64,
    peak: f32,
}

/// The `p` quantile of sorted values (0 for none).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Peak resident set size in bytes (Linux `VmHWM`), if known.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn render_pass(
    name: &'static str,
    set: &SetFile,
    handle_setup: impl Fn(&mut crate::engine::EngineHandle),
    args: &BenchArgs,
) -> anyhow::Result<(Pass, f64, (usize, usize), usize)> {
    let (mut engine, mut handle) =
        Engine::new(engine_settings(set, RATE)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let progress = Progress::new("loading");
    let t0 = Instant::now();
    let report = load_set(set, &mut handle, 0, &|d, t| progress.show(d, t));
    let load_s = t0.elapsed().as_secs_f64();
    progress.done();
    if let Some(e) = report.errors.first() {
        anyhow::bail!("{e}");
    }
    for spec in &set.pads {
        handle
            .send(Timed {
                at: 0,
                cmd: Command::Press(spec.id as PadId),
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    handle_setup(&mut handle);
    let frames = (args.seconds * RATE as f64) as usize;
    // At least one block, however short the request.
    let blocks = (frames / args.block).max(1);
    let mut buf = vec![0.0f32; 2 * args.block];
    let mut times = Vec::with_capacity(blocks);
    let mut peak = 0.0f32;
    let progress = Progress::new(name);
    crate::dsp::denormal::flush_denormals();
    let start = Instant::now();
    for b in 0..blocks {
        let t = Instant::now();
        engine.process(&mut buf);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        peak = buf.iter().fold(peak, |m, s| m.max(s.abs()));
        if b % 512 == 0 {
            handle.drain_events();
            progress.show(b, blocks);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    progress.done();
    let active = engine
        .stats()
        .active_voices
        .load(std::sync::atomic::Ordering::Relaxed) as usize;
    let budget_us = args.block as f64 / RATE as f64 * 1e6;
    let over_budget = times.iter().filter(|&&t| t > budget_us).count();
    times.sort_by(|a, b| a.total_cmp(b));
    let pass = Pass {
        name,
        rtf: (blocks * args.block) as f64 / RATE as f64 / wall,
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        p999: percentile(&times, 0.999),
        max: *times.last().unwrap_or(&0.0),
        over_budget,
        blocks,
        budget_us,
        peak,
    };
    Ok((pass, load_s, report.memory, active))
}

pub fn bench(args: BenchArgs) -> anyhow::Result<i32> {
    if !(1..=512).contains(&args.voices) {
        anyhow::bail!("--voices must be 1..=512");
    }
    if !(16..=8192).contains(&args.block) {
        anyhow::bail!("--block must be 16..=8192 frames");
    }
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        anyhow::bail!(
            "--seconds {} is out of range; allowed more than 0 up to 3600",
            args.seconds
        );
    }
    let loop_seconds = if args.long { 300.0 } else { 30.0 };
    let dir = match &args.files {
        Some(d) => {
            for i in 0..args.voices {
                let p = d.join(scene::file_name(i));
                if !p.exists() {
                    anyhow::bail!(
                        "{} is missing (--files needs loop_000.wav .. loop_{:03}.wav)",
                        p.display(),
                        args.voices - 1
                    );
                }
            }
            d.clone()
        }
        None => {
            let d = std::env::temp_dir().join(format!("padlooper-bench-{}s", loop_seconds as u32));
            let progress = Progress::new("generating");
            scene::ensure_files(&d, args.voices, loop_seconds, &|a, b| progress.show(a, b))
                .map_err(|e| {
                    anyhow::anyhow!("cannot write benchmark files to {}: {e}", d.display())
                })?;
            progress.done();
            d
        }
    };
    std::fs::write(dir.join("scene.toml"), scene::scene_toml(args.voices)).ok();
    std::fs::write(dir.join("scene.txt"), scene::scene_script(args.voices)).ok();
    let set = scene::scene_set(&dir, args.voices);

    // Passes: plain playback (EQ flat), the standard scene, scene plus effects, and the
    // scene with the isolator EQ on every pad instead of the shelf EQ.
    let mut flat = set.clone();
    for p in flat.pads.iter_mut() {
        p.fx.eq = [0.5; 3];
    }
    let mut iso = set.clone();
    for p in iso.pads.iter_mut() {
        p.fx.eq_mode = EqMode::Isolator;
    }
    let (plain, _, _, _) = render_pass("plain", &flat, |_| {}, &args)?;
    let (standard, load_s, memory, active) = render_pass("scene", &set, |_| {}, &args)?;
    let voices = args.voices;
    let (fx, _, _, _) = render_pass(
        "effects",
        &set,
        |h| {
            for p in 0..voices {
                let _ = h.command(Command::PadSend(p as PadId, SendBus::Delay, 0.2));
                let _ = h.command(Command::PadSend(p as PadId, SendBus::Reverb, 0.2));
            }
            let _ = h.command(Command::Fx(FxParam::PhaserMix, 0.5));
        },
        &args,
    )?;
    let (isolator, _, _, _) = render_pass("isolator", &iso, |_| {}, &args)?;
    let passes = [&plain, &standard, &fx, &isolator];
    let rss = peak_rss();
    let raw = memory.1;
    let audio_s = args.seconds;
    // Per-voice costs: extra wall time per voice per second of audio.
    let per_voice = |p: &Pass| (1.0 / p.rtf - 1.0 / plain.rtf) * 1e6 / voices as f64;
    let eq_cost_us = per_voice(&standard);
    let iso_cost_us = per_voice(&isolator);
    let iso_ratio = isolator.rtf / standard.rtf;
    let fx_cost_us = (1.0 / fx.rtf - 1.0 / standard.rtf) * 1e6;
    if args.json {
        let pass_json = |p: &Pass| {
            let pct = |us: f64| 100.0 * us / p.budget_us;
            serde_json::json!({
                "name": p.name,
                "realtime_factor": p.rtf,
                "block_us": {"p50": p.p50, "p99": p.p99, "p999": p.p999, "max": p.max},
                "block_budget_pct": {
                    "p50": pct(p.p50), "p99": pct(p.p99), "p999": pct(p.p999), "max": pct(p.max)
                },
                "blocks": p.blocks,
                "blocks_over_budget": p.over_budget,
                "peak": p.peak,
            })
        };
        let out = serde_json::json!({
            "voices": voices,
            "loop_seconds": loop_seconds,
            "seconds": audio_s,
            "block": args.block,
            "rate": RATE,
            "load_seconds": load_s,
            "active_voices": active,
            "sample_bytes": memory.0,
            "float32_bytes": raw,
            "peak_rss_bytes": rss,
            "eq_cost_us_per_voice_second": eq_cost_us,
            "isolator_cost_us_per_voice_second": iso_cost_us,
            "isolator_vs_scene": iso_ratio,
            "effects_cost_us_per_second": fx_cost_us,
            "key_lock": "not implemented",
            "passes": passes.iter().map(|p| pass_json(p)).collect::<Vec<_>>(),
        });
        println!("{out}");
        return Ok(0);
    }
    println!(
        "padlooper bench: {voices} voices, {loop_seconds:.0}-s loops, {audio_s} s at {RATE} Hz, block {} ({:.0} us budget)",
        args.block, standard.budget_us
    );
    println!("files: {}", dir.display());
    println!("load (decode + resample + publish): {load_s:.2} s; {active} voices playing");
    println!(
        "sample memory: {:.1} MB held vs {:.1} MB as float32 ({:.0}%)",
        memory.0 as f64 / 1e6,
        raw as f64 / 1e6,
        100.0 * memory.0 as f64 / raw.max(1) as f64
    );
    if let Some(r) = rss {
        println!("peak RSS: {:.1} MB", r as f64 / 1e6);
    }
    println!(
        "{:<9} {:>8} {:>22} {:>22} {:>22} {:>22} {:>6}",
        "pass", "x RT", "p50 us (% budget)", "p99", "p99.9", "max", "over"
    );
    for p in passes {
        let cell = |us: f64| format!("{us:.1} ({:.2}%)", 100.0 * us / p.budget_us);
        println!(
            "{:<9} {:>8.1} {:>22} {:>22} {:>22} {:>22} {:>6}",
            p.name,
            p.rtf,
            cell(p.p50),
            cell(p.p99),
            cell(p.p999),
            cell(p.max),
            p.over_budget
        );
    }
    println!(
        "passes: plain = EQ flat; scene = the standard scene (shelf EQ); effects = scene + delay/reverb sends 0.2 + phaser; isolator = scene with the isolator EQ on every pad"
    );
    println!(
        "EQ cost per voice per second of audio: shelf {eq_cost_us:.1} us, isolator {iso_cost_us:.1} us (isolator pass at {iso_ratio:.2}x the scene's speed); effects: {fx_cost_us:.0} us per second of audio"
    );
    println!("key lock: not implemented yet (no key-lock figures)");
    let over: usize = passes.iter().map(|p| p.over_budget).sum();
    if over > 0 {
        println!("WARNING: {over} blocks exceeded their time budget");
    }
    Ok(0)
}
