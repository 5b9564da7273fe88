//! The key-lock passes of `padlooper bench`: the standard scene with key lock on every pad at
//! its steady ratio (stretched tables), how many real-time key-locked voices one core
//! sustains, and a master tempo move with every pad synced and key-locked (the governor).

use crate::engine::command::PadCmd;
use std::time::Instant;

use crate::bench::measure::{Pass, measure};
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
    /// The tempo move.
    pub tempo_move: Pass,
    /// Most voices governed at once during it, and their worst pitch error (cents).
    pub governed: (u32, f32),
    /// Most voices on stretchers at once during it.
    pub move_rt: u32,
    /// Voices on tables at its end.
    pub move_tables_end: u32,
    /// Tempo before and after the move.
    pub move_bpm: (f64, f64),
    /// Pads in the tempo move.
    pub pads: usize,
}

impl KeylockBench {
    /// Stretchers whose mean cost (`c`, one alone) fits [`RT_SHARE`] of a block.
    pub fn voices_by_mean(&self, c: &Calibration) -> f64 {
        (RT_SHARE * self.tempo_move.budget_us / c.block_us).floor()
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
    let (tempo_move, governed, move_rt, move_tables_end, pads) =
        tempo_move_pass(set, args, &calibration)?;
    Ok(KeylockBench {
        steady,
        tables_s,
        tables: table_mem,
        rt,
        rt_voices: good,
        calibration,
        stretchers,
        tempo_move,
        governed,
        move_rt,
        move_tables_end,
        move_bpm: (126.0, 132.0),
        pads,
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
/// BPM) at 126 BPM on tables, gliding to 132 BPM over 4 s with the measured pool. Returns
/// the pass, the most voices governed and their worst error, the most on real-time
/// stretchers, those on tables at the end, and the pads.
#[allow(clippy::type_complexity)]
fn tempo_move_pass(
    set: &SetFile,
    args: &BenchArgs,
    calibration: &Calibration,
) -> anyhow::Result<(Pass, (u32, f32), u32, u32, usize)> {
    let blocks = |secs: f64| blocks(secs, args.block);
    let budget = TABLE_BUDGET_MB;
    let mut s = set.clone();
    s.master.bpm = 126.0;
    s.master.tempo_glide_ms = 4000.0;
    s.master.table_memory_mb = budget;
    s.master.keylock_voices = calibration.voices as f32;
    for p in s.pads.iter_mut() {
        p.key_lock = true;
        p.sync = true;
        p.tempo = PadTempo::Bpm(120.0);
        p.speed = 1.0;
        p.loop_end = Some(4.0);
    }
    let (mut engine, mut handle, mut tables, _) = prepare(&s)?;
    handle.command(Command::StretchBudget(
        calibration.voices as u16,
        calibration.prime_budget,
    ))?;
    let stats = engine.stats().clone();
    let n = blocks(12.0);
    let start = blocks(2.0);
    let mut governed = (0u32, 0.0f32);
    let mut move_rt = 0;
    let progress = Progress::new("tempo move");
    let tempo_move = measure(
        "tempo-move",
        &mut engine,
        &mut handle,
        n,
        args.block,
        |b, h| {
            if b == start {
                let _ = h.command(Command::Transport(TransportCmd::Tempo(132.0)));
            }
        },
        |b, h| {
            let k = stats.keylock.read();
            governed.0 = governed.0.max(k.governed);
            governed.1 = governed.1.max(k.worst_cents);
            move_rt = move_rt.max(k.rt);
            service(&mut tables, h);
            if b % 512 == 0 {
                progress.show(b, n);
            }
        },
    );
    progress.done();
    let move_tables_end = stats.keylock.read().tables;
    Ok((tempo_move, governed, move_rt, move_tables_end, s.pads.len()))
}
