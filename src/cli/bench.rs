//! `padlooper bench`: loads the standard scene and measures rendering speed and memory.

use crate::engine::command::PadCmd;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use crate::bench::measure::{Pass, measure, peak_rss};

use crate::bench::scene::{self, RATE};
use crate::config::SetFile;
use crate::control::set::loader::{engine_settings, load_set_opts};
use crate::engine::Engine;
use crate::engine::command::{Command, EqMode, FxParam, PadId, SendBus, Timed};
use crate::engine::params as P;
use crate::sample::loader::load_one;

/// Options of `padlooper bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Folder with loop_000.wav .. loop_NNN.wav (default: generate them in the temp folder).
    #[arg(long)]
    pub files: Option<PathBuf>,
    /// Number of voices (pads) in the scene.
    #[arg(long, default_value_t = 50, value_parser = |s: &str| P::VOICES.parse_arg(s).map(|v| v as usize))]
    pub voices: usize,
    /// Seconds of audio to render per pass.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Block size in frames.
    #[arg(long, default_value_t = 256, value_parser = |s: &str| P::BUFFER_SIZE.parse_arg(s).map(|v| v as usize))]
    pub block: usize,
    /// Use 300-second loops instead of 30-second ones.
    #[arg(long)]
    pub long: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Leave out the key-lock passes (they render the scene's stretched tables first).
    #[arg(long)]
    pub no_keylock: bool,
    /// Also run the scene within this sample memory budget ("1GB", "60%"): long loops stream
    /// from disk. Reports peak memory, load time, disk read rate and a real-time paced pass
    /// at 2x speed with the disk thread running.
    #[arg(long)]
    pub memory_limit: Option<String>,
}

/// A one-line progress bar on stderr (only when it is a terminal).
pub(crate) struct Progress {
    label: &'static str,
    on: bool,
}

impl Progress {
    pub(crate) fn new(label: &'static str) -> Self {
        Self {
            label,
            on: std::io::stderr().is_terminal(),
        }
    }
    pub(crate) fn show(&self, done: usize, total: usize) {
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
    pub(crate) fn done(&self) {
        if self.on {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }
}

/// What one render pass measured.
pub(crate) struct PassResult {
    pub(crate) pass: Pass,
    /// Seconds until every pad could play.
    pub(crate) load_s: f64,
    /// Sample memory held and its float32 size.
    pub(crate) memory: (usize, usize),
    /// Voices playing at the end.
    pub(crate) active: usize,
    /// With a memory limit: tables streamed, bytes read from disk, starved events.
    pub(crate) disk: Option<(usize, u64, u64)>,
}

/// Loads `set` (within `limit` bytes of sample memory when given: long samples stream, the
/// disk service filling between blocks, untimed), presses every pad and times `args.seconds`.
pub(crate) fn render_pass(
    name: &'static str,
    set: &SetFile,
    handle_setup: impl Fn(&mut crate::engine::EngineHandle),
    args: &BenchArgs,
    limit: Option<u64>,
    load: &crate::sample::loader::LoadFn,
) -> anyhow::Result<PassResult> {
    let (mut engine, mut handle) = Engine::new(engine_settings(set, RATE))?;
    let progress = Progress::new("loading");
    let t0 = Instant::now();
    let opts = crate::control::set::stream_load::StreamOptions {
        limit: Some(limit.unwrap_or(u64::MAX / 4)),
        ..Default::default()
    };
    let mut report = load_set_opts(
        set,
        &mut handle,
        0,
        &|d, t| progress.show(d, t),
        load,
        opts,
        &mut crate::control::set::table_store::TableStore::new(),
    );
    let load_s = t0.elapsed().as_secs_f64();
    progress.done();
    if let Some(e) = report.errors.first() {
        anyhow::bail!("{e}");
    }
    let streamed = report.plan.as_ref().map_or(0, |p| {
        p.tables
            .iter()
            .filter(|t| t.residency != crate::sample::plan::Residency::Ram)
            .count()
    });
    let mut service = report.streaming.as_mut().and_then(|s| s.service.take());
    for spec in &set.pads {
        handle.send(Timed {
            at: 0,
            cmd: Command::Pad(spec.id as PadId, PadCmd::Press),
        })?;
    }
    handle_setup(&mut handle);
    let frames = (args.seconds * RATE as f64) as usize;
    // At least one block, however short the request.
    let blocks = (frames / args.block).max(1);
    let progress = Progress::new(name);
    let pass = measure(
        name,
        &mut engine,
        &mut handle,
        blocks,
        args.block,
        |_, _| {},
        |b, h| {
            if let Some(s) = service.as_mut() {
                s.fill_all();
            }
            if b % 512 == 0 {
                h.drain_events();
                progress.show(b, blocks);
            }
        },
    );
    progress.done();
    let active = engine
        .stats()
        .active_voices
        .load(std::sync::atomic::Ordering::Relaxed) as usize;
    let disk = report.streaming.as_ref().map(|s| {
        (
            streamed,
            s.ctl
                .status()
                .bytes
                .load(std::sync::atomic::Ordering::Relaxed),
            engine
                .stats()
                .counters
                .get(crate::engine::shared::Counter::DiskStarved),
        )
    });
    Ok(PassResult {
        pass,
        load_s,
        memory: report.memory,
        active,
        disk,
    })
}

pub fn bench(args: BenchArgs) -> anyhow::Result<i32> {
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        anyhow::bail!(
            "--seconds {} is out of range; allowed more than 0 up to 3600",
            args.seconds
        );
    }
    let loop_seconds = if args.long { 300.0 } else { 30.0 };
    let dir = scene_files(&args, loop_seconds)?;
    std::fs::write(dir.join("scene.toml"), scene::scene_toml(args.voices)).ok();
    std::fs::write(dir.join("scene.txt"), scene::scene_script(args.voices)).ok();
    let set = scene::scene_set(&dir, args.voices);
    let r = run_passes(&set, &args, dir, loop_seconds)?;
    if args.json {
        println!("{}", json_report(&r, &args));
    } else {
        print_report(&r, &args);
    }
    Ok(0)
}

/// The scene's loop files: the folder given (checked), or generated in the temp folder.
fn scene_files(args: &BenchArgs, loop_seconds: f64) -> anyhow::Result<std::path::PathBuf> {
    if let Some(d) = &args.files {
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
        return Ok(d.clone());
    }
    let d = std::env::temp_dir().join(format!("padlooper-bench-{}s", loop_seconds as u32));
    let progress = Progress::new("generating");
    scene::ensure_files(&d, args.voices, loop_seconds, &|a, b| progress.show(a, b))
        .map_err(|e| anyhow::anyhow!("cannot write benchmark files to {}: {e}", d.display()))?;
    progress.done();
    Ok(d)
}

/// Everything one bench run measured.
struct Results {
    dir: std::path::PathBuf,
    loop_seconds: f64,
    plain: Pass,
    standard: Pass,
    fx: Pass,
    isolator: Pass,
    load_s: f64,
    memory: (usize, usize),
    active: usize,
    streamed: Option<super::bench_stream::StreamBench>,
    stems: super::bench_stems::StemsResult,
    record: super::bench_record::RecordResult,
    kl: Option<super::bench_keylock::KeylockBench>,
    link: super::bench_link::LinkBench,
    web: super::bench_web::WebBench,
    rss: Option<u64>,
}

impl Results {
    /// The passes in the order of the table.
    fn passes(&self) -> Vec<&Pass> {
        let mut v = vec![&self.plain, &self.standard, &self.fx, &self.isolator];
        if let Some(k) = &self.kl {
            v.push(&k.steady);
        }
        v
    }

    /// Extra wall time per voice per second of audio of pass `p` over plain playback.
    fn per_voice_us(&self, p: &Pass, voices: usize) -> f64 {
        (1.0 / p.rtf - 1.0 / self.plain.rtf) * 1e6 / voices as f64
    }

    /// Extra wall time per second of audio of the effects.
    fn fx_cost_us(&self) -> f64 {
        (1.0 / self.fx.rtf - 1.0 / self.standard.rtf) * 1e6
    }

    /// How many voices of the scene fit this machine.
    fn verdict(&self, voices: usize) -> crate::bench::machine::Verdict {
        // Memory padlooper could use: what is free now plus what the scene holds.
        let memory_for_samples =
            crate::bench::machine::meminfo("MemAvailable").map_or(0, |a| a + self.memory.0 as u64);
        crate::bench::machine::Verdict::estimate(
            voices,
            self.standard.p999,
            self.standard.budget_us,
            self.memory.0 as u64,
            memory_for_samples,
        )
    }
}

/// Passes: plain playback (EQ flat), the standard scene, scene plus effects, the scene with
/// the isolator EQ on every pad instead of the shelf EQ; streamed, stems and key lock.
fn run_passes(
    set: &SetFile,
    args: &BenchArgs,
    dir: std::path::PathBuf,
    loop_seconds: f64,
) -> anyhow::Result<Results> {
    let mut flat = set.clone();
    for p in flat.pads.iter_mut() {
        p.fx.eq = [0.5; 3];
    }
    let mut iso = set.clone();
    for p in iso.pads.iter_mut() {
        p.fx.eq_mode = EqMode::Isolator;
    }
    // Under a memory limit the streamed pass runs first, so its peak RSS is its own.
    let mut streamed = match args.memory_limit.as_deref() {
        Some(l) => Some(super::bench_stream::run(set, args, l)?),
        None => None,
    };
    let plain = render_pass("plain", &flat, |_| {}, args, None, &load_one)?.pass;
    let PassResult {
        pass: standard,
        load_s,
        memory,
        active,
        ..
    } = render_pass("scene", set, |_| {}, args, None, &load_one)?;
    if let Some(s) = streamed.as_mut() {
        super::bench_stream::retime(s, set, args)?;
    }
    let stems = super::bench_stems::run(set, args, standard.rtf)?;
    let record = super::bench_record::run(set, args)?;
    let voices = args.voices;
    let sends = |h: &mut crate::engine::EngineHandle| {
        for p in 0..voices {
            let _ = h.command(Command::Pad(p as PadId, PadCmd::Send(SendBus::Delay, 0.2)));
            let _ = h.command(Command::Pad(p as PadId, PadCmd::Send(SendBus::Reverb, 0.2)));
        }
        let _ = h.command(Command::Fx(FxParam::PhaserMix, 0.5));
    };
    let fx = render_pass("effects", set, sends, args, None, &load_one)?.pass;
    let isolator = render_pass("isolator", &iso, |_| {}, args, None, &load_one)?.pass;
    let kl = if args.no_keylock {
        None
    } else {
        Some(super::bench_keylock::run(set, args)?)
    };
    let link = super::bench_link::run(args.block)?;
    let web = super::bench_web::run(set, &dir.join("scene.toml"), args)?;
    Ok(Results {
        link,
        web,
        dir,
        loop_seconds,
        plain,
        standard,
        fx,
        isolator,
        load_s,
        memory,
        active,
        streamed,
        stems,
        record,
        kl,
        rss: peak_rss(),
    })
}

/// One pass as JSON.
pub(super) fn pass_json(p: &Pass) -> serde_json::Value {
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
}

/// Everything as one JSON object.
fn json_report(r: &Results, args: &BenchArgs) -> serde_json::Value {
    let machine = crate::bench::machine::Machine::detect();
    let voices = args.voices;
    let verdict = r.verdict(voices);
    serde_json::json!({
        "machine": {
            "model": machine.model, "arch": machine.arch, "cores": machine.cores,
            "mem_total_bytes": machine.mem_total,
        },
        "verdict": {
            "voices_fit": verdict.voices(), "by_cpu": verdict.by_cpu,
            "by_memory": verdict.by_memory, "limited_by": verdict.limited_by(),
        },
        "voices": voices,
        "loop_seconds": r.loop_seconds,
        "seconds": args.seconds,
        "block": args.block,
        "rate": RATE,
        "load_seconds": r.load_s,
        "active_voices": r.active,
        "sample_bytes": r.memory.0,
        "float32_bytes": r.memory.1,
        "peak_rss_bytes": r.rss,
        "eq_cost_us_per_voice_second": r.per_voice_us(&r.standard, voices),
        "isolator_cost_us_per_voice_second": r.per_voice_us(&r.isolator, voices),
        "isolator_vs_scene": r.isolator.rtf / r.standard.rtf,
        "effects_cost_us_per_second": r.fx_cost_us(),
        "key_lock": r.kl.as_ref().map(|k| super::bench_keylock::json(k, &r.standard)),
        "streamed": r.streamed.as_ref().map(|s| super::bench_stream::json(s, r.standard.rtf, args.seconds)),
        "stems": super::bench_stems::json(&r.stems),
        "recording": super::bench_record::json(&r.record),
        "link": super::bench_link::json(&r.link),
        "web": super::bench_web::json(&r.web),
        "passes": r.passes().iter().map(|p| pass_json(p)).collect::<Vec<_>>(),
    })
}

/// Everything as text: the scene, the pass table, the costs and the verdict.
fn print_report(r: &Results, args: &BenchArgs) {
    let (voices, audio_s, loop_seconds) = (args.voices, args.seconds, r.loop_seconds);
    let (standard, memory, raw) = (&r.standard, r.memory, r.memory.1);
    println!(
        "padlooper bench: {voices} voices, {loop_seconds:.0}-s loops, {audio_s} s at {RATE} Hz, block {} ({:.0} us budget)",
        args.block, standard.budget_us
    );
    println!(
        "machine: {}",
        crate::bench::machine::Machine::detect().describe()
    );
    println!("files: {}", r.dir.display());
    println!(
        "load (decode + resample + publish): {:.2} s; {} voices playing",
        r.load_s, r.active
    );
    println!(
        "sample memory: {:.1} MB held vs {:.1} MB as float32 ({:.0}%)",
        memory.0 as f64 / 1e6,
        raw as f64 / 1e6,
        100.0 * memory.0 as f64 / raw.max(1) as f64
    );
    if let Some(rss) = r.rss {
        println!("peak RSS: {:.1} MB", rss as f64 / 1e6);
    }
    print_passes(&r.passes());
    let (eq_cost_us, iso_cost_us) = (
        r.per_voice_us(standard, voices),
        r.per_voice_us(&r.isolator, voices),
    );
    let iso_ratio = r.isolator.rtf / standard.rtf;
    let fx_cost_us = r.fx_cost_us();
    println!(
        "EQ cost per voice per second of audio: shelf {eq_cost_us:.1} us, isolator {iso_cost_us:.1} us (isolator pass at {iso_ratio:.2}x the scene's speed); effects: {fx_cost_us:.0} us per second of audio"
    );
    if let Some(s) = &r.streamed {
        for l in super::bench_stream::describe(s, standard.rtf, audio_s) {
            println!("{l}");
        }
    }
    println!("{}", super::bench_stems::describe(&r.stems));
    println!("{}", super::bench_record::describe(&r.record));
    println!("{}", super::bench_link::describe(&r.link));
    println!("{}", super::bench_web::describe(&r.web));
    let mut over: usize = r.passes().iter().map(|p| p.over_budget).sum();
    if let Some(k) = &r.kl {
        super::bench_keylock::print(k, standard);
        over += k.over_budget();
    }
    if over > 0 {
        println!("WARNING: {over} blocks exceeded their time budget");
    }
    let verdict = r.verdict(voices);
    println!(
        "verdict: about {} voices of the standard scene ({loop_seconds:.0}-s loops) fit on this machine at block {} ({} by CPU: p99.9 within {:.0}% of the block; {} by memory: samples within {:.0}% of the RAM; limited by {}; scaled linearly from the {voices} measured)",
        verdict.voices(),
        args.block,
        verdict.by_cpu,
        100.0 * crate::bench::machine::CPU_SHARE,
        verdict.by_memory,
        100.0 * crate::bench::machine::MEMORY_SHARE,
        verdict.limited_by()
    );
}

/// The pass table.
fn print_passes(passes: &[&Pass]) {
    println!(
        "{:<9} {:>8} {:>22} {:>22} {:>22} {:>22} {:>6}",
        "pass", "x RT", "p50 us (% budget)", "p99", "p99.9", "max", "over"
    );
    for p in passes.iter().copied() {
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
        "passes: plain = EQ flat; scene = the standard scene (shelf EQ); effects = scene + delay/reverb sends 0.2 + phaser; isolator = scene with the isolator EQ on every pad; keylock = scene with key lock on every pad at its steady ratio (stretched tables)"
    );
}
