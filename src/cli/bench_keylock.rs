//! The key-lock passes of `padlooper bench`: the standard scene with key lock on every pad at
//! its steady ratio (stretched tables), how many real-time key-locked voices one core
//! sustains, and a master tempo move with every pad synced and key-locked (the governor).

use crate::engine::command::PadCmd;
use std::time::Instant;

use crate::bench::measure::{Pass, measure, measure_with};
use crate::bench::scene::RATE;
use crate::config::SetFile;
use crate::config::set::PadTempo;
use crate::control::keylock::stretchers::{Calibration, calibrate};
use crate::control::keylock::tables::TableService;
use crate::control::set::loader::{engine_settings, load_set};
use crate::dsp::stretch::StretcherKind;
use crate::engine::command::{Command, PadId, TransportCmd};
use crate::engine::{Engine, EngineHandle};

use super::bench::{BenchArgs, Progress};

/// Share of a block the real-time voices may take at the 99.9th percentile.
pub const RT_SHARE: f64 = 0.5;

/// What the key-lock passes measured.
pub struct KeylockBench {
    /// The scene with key lock on every pad, on stretched tables.
    pub steady: Pass,
    /// Seconds it took to render the scene's tables (every core).
    pub tables_s: f64,
    /// Bytes and count of those tables.
    pub tables: (usize, usize),
    /// Real-time-only runs: voices, the first second (priming) and the steady part.
    pub rt: Vec<(usize, (Pass, Pass))>,
    /// Most real-time key-locked voices whose p99.9 block stays within [`RT_SHARE`].
    pub rt_voices: usize,
    /// One stretcher of the set's kind measured alone (what `keylock_voices = 0` uses).
    pub calibration: Calibration,
    /// One stretcher of each kind measured alone, the set's kind first.
    pub stretchers: Vec<(StretcherKind, Calibration)>,
    /// The tempo move with the stretchers in the audio callback (one core).
    pub tempo_move: TempoMove,
    /// The tempo move with the stretchers running ahead on worker threads (one per core),
    /// paced in real time; None on a single core.
    pub workers_move: Option<TempoMove>,
    /// Tempo before and after the move.
    pub move_bpm: (f64, f64),
    /// Pads in the tempo move.
    pub pads: usize,
}

/// What a tempo move measured.
pub struct TempoMove {
    /// The blocks' times (the audio callback's work).
    pub pass: Pass,
    /// Most voices governed at once, and their worst pitch error (cents).
    pub governed: (u32, f32),
    /// Most voices on stretchers at once.
    pub rt: u32,
    /// Most voices stretched on worker threads at once.
    pub ahead: u32,
    /// Voices on tables at its end.
    pub tables_end: u32,
    /// The stretcher pool (the governor's limit).
    pub pool: usize,
    /// Worker threads (0: stretching in the callback).
    pub workers: usize,
    /// Times a stretcher gave less than a block needed.
    pub starved: u64,
    /// CPU time of the threads beside the one rendering (the workers), in % of one core.
    pub others_cpu_pct: f64,
    /// Whether the pass ran at real-time priority (workers ten below the renderer).
    pub realtime: bool,
}

impl KeylockBench {
    /// Stretchers whose mean cost (`c`, one alone) fits [`RT_SHARE`] of a block.
    pub fn voices_by_mean(&self, c: &Calibration) -> f64 {
        (RT_SHARE * self.tempo_move.pass.budget_us / c.block_us).floor()
    }

    /// Blocks over budget in the tempo moves.
    pub fn over_budget(&self) -> usize {
        self.tempo_move.pass.over_budget
            + self.workers_move.as_ref().map_or(0, |m| m.pass.over_budget)
    }
}

/// Loads `set`, builds its stretchers and renders its known tables (timed), presses every pad.
fn prepare(set: &SetFile) -> anyhow::Result<(Engine, EngineHandle, TableService, f64)> {
    let (engine, mut handle) = Engine::new(engine_settings(set, RATE))?;
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    if let Some(e) = report.errors.first() {
        anyhow::bail!("{e}");
    }
    let t0 = Instant::now();
    let mut tables = crate::control::keylock::setup::offline(set, &report, &mut handle, true);
    tables.pump(&mut handle);
    let tables_s = t0.elapsed().as_secs_f64();
    for spec in &set.pads {
        handle.command(Command::Pad(spec.id as PadId, PadCmd::Press))?;
    }
    Ok((engine, handle, tables, tables_s))
}

/// After each measured block: events to the table cache, tables published (untimed: live,
/// they render on other threads), used stretchers reset.
fn service(tables: &mut TableService, handle: &mut EngineHandle) {
    let events = handle.drain_events();
    tables.on_events(&events, handle);
    tables.pump(handle);
    handle.collect_retired();
}

/// Runs the key-lock passes on the scene `set` (its first `args.voices` pads).
pub fn run(set: &SetFile, args: &BenchArgs) -> anyhow::Result<KeylockBench> {
    let (steady, tables_s, table_mem) = steady_pass(set, args)?;
    let kind = engine_settings(set, RATE).stretcher;
    let mut stretchers: Vec<(StretcherKind, Calibration)> = std::iter::once(kind)
        .chain(StretcherKind::ALL.into_iter().filter(|&k| k != kind))
        .map(|k| (k, calibrate(RATE, args.block, 64, k)))
        .collect();
    // The better of two measurements of the set's kind (the first warms the machine).
    let again = calibrate(RATE, args.block, 64, kind);
    if again.block_us < stretchers[0].1.block_us {
        stretchers[0].1 = again;
    }
    let calibration = stretchers[0].1;
    let (rt, good) = rt_search(set, args, &calibration)?;
    let tempo_move = tempo_move_pass(set, args, &calibration, 0)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers_move = if cores > 1 {
        let (m, realtime) =
            super::bench_web::on_rt_thread(|| tempo_move_pass(set, args, &calibration, cores));
        let mut m = m?;
        m.realtime = realtime;
        Some(m)
    } else {
        None
    };
    Ok(KeylockBench {
        steady,
        tables_s,
        tables: table_mem,
        rt,
        rt_voices: good,
        calibration,
        stretchers,
        tempo_move,
        workers_move,
        move_bpm: (126.0, 132.0),
        pads: set.pads.len(),
    })
}

/// Blocks of `block` frames in `secs` seconds (at least one).
fn blocks(secs: f64, block: usize) -> usize {
    ((secs * RATE as f64) as usize / block).max(1)
}

/// Memory for stretched tables in the table passes, in MB.
const TABLE_BUDGET_MB: f32 = 2048.0;

/// Pass 1, steady: every pad key-locked at its own speed, on tables. Returns the pass, the
/// seconds the tables took and their memory (bytes, count).
fn steady_pass(set: &SetFile, args: &BenchArgs) -> anyhow::Result<(Pass, f64, (usize, usize))> {
    let blocks = |secs: f64| blocks(secs, args.block);
    let budget = TABLE_BUDGET_MB;
    let mut steady_set = set.clone();
    steady_set.master.table_memory_mb = budget;
    for p in steady_set.pads.iter_mut() {
        p.key_lock = true;
    }
    let progress = Progress::new("tables");
    progress.show(0, 1);
    let (mut engine, mut handle, mut tables, tables_s) = prepare(&steady_set)?;
    progress.done();
    let n = blocks(args.seconds);
    let progress = Progress::new("keylock");
    let steady = measure(
        "keylock",
        &mut engine,
        &mut handle,
        n,
        args.block,
        |_, _| {},
        |b, h| {
            service(&mut tables, h);
            if b % 512 == 0 {
                progress.show(b, n);
            }
        },
    );
    progress.done();
    let table_mem = tables.memory();
    drop((engine, handle, tables));

    Ok((steady, tables_s, table_mem))
}

/// Pass 2, real-time stretchers only: more voices until the p99.9 block passes RT_SHARE, once
/// they all play (the first second, where they are primed, is measured apart). Returns the
/// runs (voices, (launch, steady)) and the most voices that fit.
#[allow(clippy::type_complexity)]
fn rt_search(
    set: &SetFile,
    args: &BenchArgs,
    calibration: &Calibration,
) -> anyhow::Result<(Vec<(usize, (Pass, Pass))>, usize)> {
    let blocks = |secs: f64| blocks(secs, args.block);
    let rt_seconds = args.seconds.min(10.0);
    let mut rt = Vec::new();
    let rt_pass = |voices: usize| -> anyhow::Result<(Pass, Pass)> {
        let mut s = set.clone();
        s.pads.truncate(voices);
        s.master.table_memory_mb = 0.0;
        s.master.keylock_voices = voices as f32;
        for p in s.pads.iter_mut() {
            p.key_lock = true;
        }
        let (mut engine, mut handle, mut tables, _) = prepare(&s)?;
        let _ = handle.command(Command::StretchBudget(
            voices as u16,
            calibration.prime_budget,
        ));
        let launch = measure(
            "keylock-rt launch",
            &mut engine,
            &mut handle,
            blocks(1.0),
            args.block,
            |_, _| {},
            |_, h| service(&mut tables, h),
        );
        let steady = measure(
            "keylock-rt",
            &mut engine,
            &mut handle,
            blocks(rt_seconds),
            args.block,
            |_, _| {},
            |_, h| service(&mut tables, h),
        );
        Ok((launch, steady))
    };
    let progress = Progress::new("keylock-rt");
    let fits = |p: &Pass| p.pct(p.p999) <= 100.0 * RT_SHARE;
    let max = set.pads.len().min(64);
    let mut n = 4.min(max);
    let mut good = 0;
    while n <= max {
        progress.show(n, max);
        let p = rt_pass(n)?;
        let ok = fits(&p.1);
        rt.push((n, p));
        if !ok {
            break;
        }
        good = n;
        n += 4;
    }
    // Narrow down between the last good count and the first bad one.
    if let Some(&(bad, _)) = rt.last().filter(|(_, p)| !fits(&p.1)) {
        for m in good + 1..bad {
            progress.show(m, max);
            let p = rt_pass(m)?;
            let ok = fits(&p.1);
            rt.push((m, p));
            if !ok {
                break;
            }
            good = m;
        }
    }
    progress.done();
    rt.sort_by_key(|(n, _)| *n);

    Ok((rt, good))
}

/// Pass 3, a master tempo move: every pad synced and key-locked (4-s loops of 8 beats at 120
/// BPM) at 126 BPM on tables, gliding to 132 BPM over 4 s with the measured pool: in the
/// callback (`workers` 0, blocks back to back), or ahead on `workers` threads (the pool they
/// hold, blocks paced in real time, the threads at real-time priority where allowed).
fn tempo_move_pass(
    set: &SetFile,
    args: &BenchArgs,
    calibration: &Calibration,
    workers: usize,
) -> anyhow::Result<TempoMove> {
    let blocks = |secs: f64| blocks(secs, args.block);
    let budget = TABLE_BUDGET_MB;
    let pool = calibration.voices_on(workers);
    let mut s = set.clone();
    s.master.bpm = 126.0;
    s.master.tempo_glide_ms = 4000.0;
    s.master.table_memory_mb = budget;
    s.master.keylock_voices = pool as f32;
    s.master.stretch_workers = workers as f32;
    for p in s.pads.iter_mut() {
        p.key_lock = true;
        p.sync = true;
        p.tempo = PadTempo::Bpm(120.0);
        p.speed = 1.0;
        p.loop_end = Some(4.0);
    }
    let (mut engine, mut handle, mut tables, _) = prepare(&s)?;
    if workers > 0 {
        // Played in real time: tables render beside it, as live.
        tables = tables.threaded();
        handle.start_stretch_workers(|_| {
            let _ = crate::audio::priority::promote_current_thread(30);
        });
    }
    handle.command(Command::StretchBudget(
        pool.min(u16::MAX as usize) as u16,
        calibration.prime_budget,
    ))?;
    let stats = engine.stats().clone();
    let n = blocks(12.0);
    let start = blocks(2.0);
    let mut governed = (0u32, 0.0f32);
    let (mut rt, mut ahead) = (0, 0);
    let name = if workers > 0 {
        "tempo move, workers"
    } else {
        "tempo move"
    };
    let progress = Progress::new(name);
    let starved = || {
        stats
            .counters
            .get(crate::engine::shared::Counter::StretchStarved)
    };
    let starved_before = starved();
    let cpu = (
        process_cpu_ns(),
        crate::control::keylock::stretchers::thread_cpu_ns(),
    );
    let t0 = Instant::now();
    let pass = measure_with(
        name,
        &mut engine,
        &mut handle,
        n,
        args.block,
        workers > 0,
        |b, h| {
            if b == start {
                let _ = h.command(Command::Transport(TransportCmd::Tempo(132.0)));
            }
        },
        |b, h| {
            let k = stats.keylock.read();
            governed.0 = governed.0.max(k.governed);
            governed.1 = governed.1.max(k.worst_cents);
            rt = rt.max(k.rt);
            ahead = ahead.max(k.ahead);
            service(&mut tables, h);
            if b % 512 == 0 {
                progress.show(b, n);
            }
        },
    );
    let wall = t0.elapsed().as_nanos().max(1) as f64;
    let others = (process_cpu_ns() - cpu.0)
        .saturating_sub(crate::control::keylock::stretchers::thread_cpu_ns() - cpu.1);
    progress.done();
    Ok(TempoMove {
        pass,
        governed,
        rt,
        ahead,
        tables_end: stats.keylock.read().tables,
        pool,
        workers,
        starved: starved() - starved_before,
        others_cpu_pct: 100.0 * others as f64 / wall,
        realtime: false,
    })
}

/// CPU time of the whole process, ns.
fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The key-lock figures as JSON.
pub fn json(k: &KeylockBench, standard: &Pass) -> serde_json::Value {
    use super::bench::pass_json;
    let moved = |m: &TempoMove| {
        serde_json::json!({
            "from_bpm": k.move_bpm.0, "to_bpm": k.move_bpm.1,
            "pass": pass_json(&m.pass),
            "pool": m.pool,
            "workers": m.workers,
            "realtime_priority": m.realtime,
            "max_rt_voices": m.rt,
            "max_voices_on_workers": m.ahead,
            "max_governed": m.governed.0,
            "worst_governed_cents": m.governed.1,
            "starved": m.starved,
            "other_threads_cpu_pct": m.others_cpu_pct,
            "voices_on_tables_at_end": m.tables_end,
        })
    };
    serde_json::json!({
        "keylock_vs_scene": k.steady.rtf / standard.rtf,
        "tables_seconds": k.tables_s,
        "table_bytes": k.tables.0,
        "tables": k.tables.1,
        "rt_voices_per_core": k.rt_voices,
        "rt_share": RT_SHARE,
        "rt_runs": k.rt.iter().map(|(n, (launch, p))| serde_json::json!({
            "voices": n, "launch": pass_json(launch), "pass": pass_json(p)
        })).collect::<Vec<_>>(),
        "one_stretcher_us_per_block": k.calibration.block_us,
        "prime_us": k.calibration.prime_us,
        "measured_pool": k.calibration.voices,
        "stretchers": k.stretchers.iter().map(|(kind, c)| serde_json::json!({
            "stretcher": kind.name(),
            "us_per_block": c.block_us,
            "busy_us_per_block": c.busy_us,
            "prime_us": c.prime_us,
            "voices_per_core_by_mean": k.voices_by_mean(c),
        })).collect::<Vec<_>>(),
        "tempo_move": moved(&k.tempo_move),
        "tempo_move_on_workers": k.workers_move.as_ref().map(moved),
    })
}

/// The key-lock figures, after the pass table.
pub fn print(k: &KeylockBench, scene: &Pass) {
    println!(
        "key lock, steady (hybrid tables): {:.2}x the scene's speed; {} tables ({:.1} MB) rendered in {:.1} s on every core",
        k.steady.rtf / scene.rtf,
        k.tables.1,
        k.tables.0 as f64 / 1e6,
        k.tables_s
    );
    println!(
        "key lock, real-time stretchers only (voices started together; playing, p99.9 must stay within {:.0}% of the block):",
        100.0 * RT_SHARE
    );
    for (n, (launch, p)) in &k.rt {
        println!(
            "  {n:>3} voices: {:>6.1}x RT, p50 {:.0} us, p99.9 {:.0} us ({:.1}%), max {:.0} us ({:.1}%); first second (priming) max {:.0} us ({:.1}%)",
            p.rtf,
            p.p50,
            p.p999,
            p.pct(p.p999),
            p.max,
            p.pct(p.max),
            launch.max,
            launch.pct(launch.max)
        );
    }
    println!(
        "  => {} real-time key-locked stereo voices per core; one stretcher alone: {:.0} us per block, {:.0} us to prime (pool when keylock_voices = 0: {})",
        k.rt_voices, k.calibration.block_us, k.calibration.prime_us, k.calibration.voices
    );
    for (kind, c) in &k.stretchers {
        println!(
            "  one {} stretcher alone: {:.0} us per block (busiest quarter of blocks {:.0} us), {:.0} us to prime; {:.0} voices' mean cost fit {:.0}% of a block",
            kind.name(),
            c.block_us,
            c.busy_us,
            c.prime_us,
            k.voices_by_mean(c),
            100.0 * RT_SHARE
        );
    }
    for m in std::iter::once(&k.tempo_move).chain(k.workers_move.as_ref()) {
        let p = &m.pass;
        let place = match m.workers {
            0 => String::from("stretchers in the audio callback"),
            w => format!(
                "stretchers ahead on {w} worker threads{}, paced in real time",
                if m.realtime { " (SCHED_FIFO)" } else { "" }
            ),
        };
        println!(
            "key lock, tempo move {:.0} -> {:.0} BPM over 4 s with {} synced pads, {place}, pool {}: {} of {} blocks over budget, p99.9 {:.0} us ({:.1}%), max {:.0} us ({:.1}%); up to {} on stretchers ({} on workers), {} governed (worst {:.1} cents off), {} starved; other threads {:.0}% of a core; {} on tables again at the end",
            k.move_bpm.0,
            k.move_bpm.1,
            k.pads,
            m.pool,
            p.over_budget,
            p.blocks,
            p.p999,
            p.pct(p.p999),
            p.max,
            p.pct(p.max),
            m.rt,
            m.ahead,
            m.governed.0,
            m.governed.1,
            m.starved,
            m.others_cpu_pct,
            m.tables_end
        );
    }
}
