//! A randomised offline soak: random sets (with bad files among the good), random presses,
//! releases, bank changes and knob sweeps through a real controller mapping, random engine
//! commands, sets loaded and unloaded while playing. It checks, on every block, that the output
//! is finite and never above the limiter's ceiling; at the end, that stop-all leaves no pad
//! sounding and that memory did not grow. Drives the same `Engine::process` as everything
//! else. Not real-time.

use crate::engine::command::PadCmd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::SetFile;
use crate::config::profile::Profile;
use crate::control::set::loader::engine_settings;
use crate::dsp::limiter::CEILING_DB;
use crate::engine::command::{Command, FxParam, PadId, SendBus, SlotId, Timed, TransportCmd};
use crate::engine::shared::{COUNTERS, PadState};
use crate::engine::{Engine, EngineHandle};
use crate::midi::controller::{Controller, DeviceState};
use crate::midi::state::SharedControl;

/// A small deterministic PRNG (xorshift64*): the same seed gives the same soak.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.bits() % n }
    }
    /// A float in `0..1`.
    pub fn unit(&mut self) -> f32 {
        (self.bits() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }
}

/// What a soak found.
#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// Seconds of audio rendered.
    pub audio_seconds: f64,
    /// Wall-clock seconds it took.
    pub wall_seconds: f64,
    /// Sets loaded (the first plus every reload).
    pub sets: usize,
    /// Commands and controller messages sent.
    pub actions: u64,
    /// Blocks with a non-finite sample (must be 0).
    pub nonfinite_blocks: u64,
    /// Blocks with a sample above the limiter's ceiling (must be 0).
    pub over_ceiling_blocks: u64,
    /// Loudest output sample.
    pub peak: f32,
    /// Voices sounding, averaged over the blocks.
    pub mean_voices: f64,
    /// Pad starts, stops and presses on empty pads the engine reported.
    pub starts: u64,
    /// See `starts`.
    pub stops: u64,
    /// See `starts`.
    pub empty_presses: u64,
    /// Pads still playing or queued after stop-all (must be empty).
    pub stuck_pads: Vec<usize>,
    /// Voices still sounding a second after stop-all (must be 0).
    pub voices_after_stop: u32,
    /// Resident memory after the first set loaded and at the end, in bytes (Linux).
    pub rss: Option<(u64, u64)>,
    /// The stretched-table cache's budget: it fills up to this as pads ask for tables, so
    /// this much growth is expected on top of the slack.
    pub table_budget: u64,
    /// Bytes and number of stretched tables held at the end (bytes within the budget).
    pub tables_held: (u64, usize),
    /// Load problems reported (bad files on purpose).
    pub load_errors: usize,
    /// Random sets that did not parse (must be empty: the generator only writes valid sets).
    pub set_errors: Vec<String>,
    /// The engine's counters at the end, as `label value`.
    pub counters: Vec<(String, u64)>,
}

impl SoakReport {
    /// Problems found, one line each (empty = the soak passed). `rss_slack` bytes of growth
    /// are allowed (allocator and page-cache noise) on top of the table cache's budget.
    pub fn problems(&self, rss_slack: u64) -> Vec<String> {
        let mut p = Vec::new();
        if self.nonfinite_blocks > 0 {
            p.push(format!("{} blocks had NaN or inf", self.nonfinite_blocks));
        }
        if self.over_ceiling_blocks > 0 {
            p.push(format!(
                "{} blocks went above the ceiling",
                self.over_ceiling_blocks
            ));
        }
        if let Some(e) = self.set_errors.first() {
            p.push(format!(
                "{} generated sets did not parse: {e}",
                self.set_errors.len()
            ));
        }
        if !self.stuck_pads.is_empty() {
            p.push(format!("pads stuck after stop-all: {:?}", self.stuck_pads));
        }
        if self.voices_after_stop > 0 {
            p.push(format!(
                "{} voices still sounding after stop-all",
                self.voices_after_stop
            ));
        }
        if self.tables_held.0 > self.table_budget {
            p.push(format!(
                "stretched tables hold {:.1} MB, over their {:.1} MB budget",
                self.tables_held.0 as f64 / 1e6,
                self.table_budget as f64 / 1e6
            ));
        }
        if let Some((a, b)) = self.rss
            && b > a + rss_slack + self.table_budget
        {
            p.push(format!(
                "memory grew from {:.1} MB to {:.1} MB",
                a as f64 / 1e6,
                b as f64 / 1e6
            ));
        }
        p
    }
}

/// Resident set size of this process in bytes (Linux `VmRSS`), if known.
pub fn rss_bytes() -> Option<u64> {
    crate::sample::memory::resident().map(|(now, _)| now)
}

/// The grid every soak set uses (fixed, so the engine is built once).
const BANKS: usize = 4;
const ROWS: usize = 8;
const COLS: usize = 8;
const RATE: u32 = 48_000;

fn write_wav(path: &Path, rate: u32, channels: u16, float: bool, frames: usize, rng: &mut Rng) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let Ok(mut w) = hound::WavWriter::create(path, spec) else {
        return;
    };
    let f = 60.0 + rng.unit() * 900.0;
    let poison = float && rng.chance(0.3);
    for i in 0..frames {
        let t = i as f32 / rate as f32;
        for c in 0..channels {
            let v = 0.6 * (std::f32::consts::TAU * f * (1.0 + 0.01 * c as f32) * t).sin();
            let v = if poison && i % 997 == 0 { f32::NAN } else { v };
            let _ = if float {
                w.write_sample(v)
            } else {
                w.write_sample((v * 32767.0) as i16)
            };
        }
    }
    let _ = w.finalize();
}

/// Writes the sample files every soak set draws from: good WAVs of several kinds, and bad
/// files (cut short, empty, garbage, a directory).
fn write_files(dir: &Path, rng: &mut Rng) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..10 {
        let name = format!("good{i}.wav");
        let rate = [48_000, 44_100, 22_050][i % 3];
        write_wav(
            &dir.join(&name),
            rate,
            1 + (i % 2) as u16,
            i % 4 == 3,
            (rate as f32 * (0.2 + 2.0 * rng.unit())) as usize,
            rng,
        );
        names.push(name);
    }
    let cut = dir.join("cut.wav");
    write_wav(&cut, RATE, 2, false, 24_000, rng);
    if let Ok(mut b) = std::fs::read(&cut) {
        b.truncate(b.len() / 3);
        let _ = std::fs::write(&cut, b);
    }
    let _ = std::fs::write(dir.join("empty.wav"), b"");
    let garbage: Vec<u8> = (0..5000).map(|_| rng.bits() as u8).collect();
    let _ = std::fs::write(dir.join("garbage.wav"), garbage);
    let _ = std::fs::create_dir_all(dir.join("folder.wav"));
    names.extend(
        [
            "cut.wav",
            "empty.wav",
            "garbage.wav",
            "folder.wav",
            "missing.wav",
        ]
        .map(String::from),
    );
    names
}

/// A random set over `files`, as set-file text (so parsing is soaked too).
fn random_set(files: &[String], rng: &mut Rng) -> String {
    let q = ["off", "off", "off", "off", "beat", "bar", "2bars", "4bars"][rng.below(8) as usize];
    let mode = if rng.chance(0.2) {
        "exclusive"
    } else {
        "multi"
    };
    let mut s = format!(
        "[master]\nvolume = {:.2}\nvoices = {}\nquantize = \"{q}\"\nplay_mode = \"{mode}\"\nbpm = {:.1}\n\
         [grid]\nbanks = {BANKS}\nrows = {ROWS}\ncols = {COLS}\n\
         [fx]\ndelay_feedback = {:.2}\nreverb_room = {:.2}\nphaser_mix = {:.2}\n",
        0.3 + rng.unit(),
        if rng.chance(0.3) {
            1 + rng.below(4)
        } else {
            8 + rng.below(56)
        },
        60.0 + 120.0 * rng.unit(),
        0.9 * rng.unit(),
        rng.unit(),
        if rng.chance(0.3) { rng.unit() } else { 0.0 },
    );
    let mut used = std::collections::HashSet::new();
    for _ in 0..(10 + rng.below(60)) {
        let (bank, pad) = (rng.below(BANKS as u64), rng.below((ROWS * COLS) as u64));
        if !used.insert((bank, pad)) {
            continue;
        }
        let file = &files[rng.below(files.len() as u64) as usize];
        let mode = ["toggle", "gate", "oneshot", "retrigger"][rng.below(4) as usize];
        let mut extra = String::new();
        if rng.chance(0.4) {
            extra += "key_lock = true\n";
        }
        if rng.chance(0.2) {
            extra += &format!("transpose = {}\n", rng.below(25) as i64 - 12);
        }
        s += &format!(
            "[[pad]]\nbank = {bank}\npad = {pad}\nfile = \"{file}\"\nmode = \"{mode}\"\ngain_db = {:.1}\nspeed = {:.3}\nchoke = {}\n\
             eq_low = {:.2}\neq_mid = {:.2}\neq_high = {:.2}\nfilter = {:.2}\nresonance = {:.2}\ndelay_send = {:.2}\nreverb_send = {:.2}\n",
            -20.0 + 26.0 * rng.unit(),
            0.5 + 1.5 * rng.unit(),
            if rng.chance(0.2) { 1 + rng.below(3) } else { 0 },
            rng.unit(),
            rng.unit(),
            rng.unit(),
            if rng.chance(0.5) { 0.5 } else { rng.unit() },
            rng.unit(),
            if rng.chance(0.5) { 0.0 } else { rng.unit() },
            if rng.chance(0.5) { 0.0 } else { rng.unit() },
        );
        s += &extra;
    }
    s
}

/// Loads random sets over the soak's files, one after another, through one table cache.
struct SetSwitcher<'a> {
    dir: &'a Path,
    files: &'a [String],
    /// Slots the current set uses (unloaded before the next one loads).
    loaded: Vec<SlotId>,
    store: crate::control::set::table_store::TableStore,
}

impl SetSwitcher<'_> {
    /// Loads a random set into the engine (after unloading everything the previous set used).
    fn next(
        &mut self,
        rng: &mut Rng,
        handle: &mut EngineHandle,
        report: &mut SoakReport,
    ) -> Option<SetFile> {
        for slot in self.loaded.drain(..) {
            let _ = handle.unload(slot);
        }
        let path = self.dir.join(format!("set{}.toml", report.sets));
        let text = random_set(self.files, rng);
        let set = match SetFile::parse(&path, &text) {
            Ok(s) => s,
            Err(e) => {
                report.set_errors.push(e.to_string());
                return None;
            }
        };
        // Through the table cache: a file seen in an earlier set is not decoded again.
        let r = crate::control::set::loader::load_set_opts(
            &set,
            handle,
            0,
            &|_, _| {},
            &crate::sample::loader::load_one,
            Default::default(),
            &mut self.store,
        );
        report.load_errors += r.errors.len();
        report.sets += 1;
        self.loaded = (0..handle.settings().sample_slots as SlotId)
            .filter(|s| handle.is_loaded(*s))
            .collect();
        Some(set)
    }
}

/// Runs a soak of `seconds` of audio from `seed`, with files in `dir` (created). `progress`
/// sees (seconds done, total).
pub fn soak(dir: &Path, seconds: f64, seed: u64, progress: &dyn Fn(f64, f64)) -> SoakReport {
    let t0 = std::time::Instant::now();
    let mut rng = Rng::new(seed);
    let mut report = SoakReport::default();
    let _ = std::fs::create_dir_all(dir);
    let files = write_files(dir, &mut rng);
    let template = SetFile::parse(
        &dir.join("grid.toml"),
        &format!("[master]\nvoices = 12\n[grid]\nbanks = {BANKS}\nrows = {ROWS}\ncols = {COLS}\n"),
    );
    let Ok(template) = template else {
        return report;
    };
    let mut settings = engine_settings(&template, RATE);
    settings.sample_slots = 128;
    settings.stretch_units = 4;
    settings.stretch_workers = 0;
    let Ok((mut engine, mut handle)) = Engine::new(settings) else {
        return report;
    };
    // Key lock: a few real-time stretchers and a small table cache, rendered between blocks.
    crate::control::keylock::stretchers::install(&mut handle, 4, 4, settings.prime_frames);
    let mut tables = crate::control::keylock::tables::TableService::new(TABLE_BUDGET, false);
    report.table_budget = TABLE_BUDGET as u64;
    let mut sets = SetSwitcher {
        dir,
        files: &files,
        loaded: Vec::new(),
        store: crate::control::set::table_store::TableStore::new(),
    };
    let mut set = sets
        .next(&mut rng, &mut handle, &mut report)
        .unwrap_or(template.clone());
    let shared = Arc::new(SharedControl::new(&set, RATE, engine.stats().clone()));
    let profile = Profile::find("launchpad-x").map(Arc::new);
    let mut controller = profile
        .ok()
        .map(|p| Controller::new(p, shared.clone(), Arc::new(DeviceState::default())));
    let ceiling = 10f32.powf(CEILING_DB / 20.0);
    let block = 256usize;
    let mut buf = vec![0.0f32; 2 * block];
    let total_blocks = (seconds * RATE as f64 / block as f64).ceil() as u64;
    let reload_every = (30.0 * RATE as f64 / block as f64) as u64;
    for b in 0..total_blocks {
        let now = engine.frame();
        // A few random actions per block.
        for _ in 0..rng.below(4) {
            report.actions += 1;
            let at = now + rng.below(block as u64);
            let mut send = |t: Timed| {
                let _ = handle.send(t);
            };
            random_action(&mut rng, at, &set, controller.as_mut(), &mut send);
        }
        if b > 0
            && b % reload_every == 0
            && let Some(s) = sets.next(&mut rng, &mut handle, &mut report)
        {
            set = s;
        }
        engine.process(&mut buf);
        if !buf.iter().all(|s| s.is_finite()) {
            report.nonfinite_blocks += 1;
        }
        let peak = buf.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        if peak > ceiling {
            report.over_ceiling_blocks += 1;
        }
        report.peak = report.peak.max(peak);
        report.mean_voices += engine
            .stats()
            .active_voices
            .load(std::sync::atomic::Ordering::Relaxed) as f64;
        let events = handle.drain_events();
        tables.on_events(&events, &mut handle);
        tables.pump(&mut handle);
        for e in events {
            match e.kind {
                crate::engine::event::EventKind::PadStarted(_) => report.starts += 1,
                crate::engine::event::EventKind::PadStopped(_) => report.stops += 1,
                crate::engine::event::EventKind::PadEmpty(_) => report.empty_presses += 1,
                _ => {}
            }
        }
        handle.collect_retired();
        if b == reload_every / 2 {
            report.rss = rss_bytes().map(|r| (r, r));
        }
        if b % 2000 == 0 {
            progress(b as f64 * block as f64 / RATE as f64, seconds);
        }
    }
    stop_and_check(&mut engine, &mut handle, controller.as_mut(), &mut report);
    let (held, count) = tables.memory();
    report.tables_held = (held as u64, count);
    report.mean_voices /= total_blocks.max(1) as f64;
    report.audio_seconds = total_blocks as f64 * block as f64 / RATE as f64;
    report.wall_seconds = t0.elapsed().as_secs_f64();
    report
}

/// Stops everything and checks that within a second nothing plays or waits; takes the end
/// memory and the counters.
fn stop_and_check(
    engine: &mut Engine,
    handle: &mut crate::engine::EngineHandle,
    controller: Option<&mut Controller>,
    report: &mut SoakReport,
) {
    let block = 256usize;
    let mut buf = vec![0.0f32; 2 * block];
    // Stop everything: within a second nothing may be playing or queued.
    let _ = handle.command(Command::StopAll);
    if let Some(c) = controller {
        c.release_all(engine.frame(), &mut |t| {
            let _ = handle.send(t);
        });
    }
    for _ in 0..(RATE as usize / block) {
        engine.process(&mut buf);
        handle.drain_events();
        handle.collect_retired();
    }
    let stats = engine.stats();
    report.stuck_pads = (0..stats.pads.len())
        .filter(|&p| {
            matches!(
                stats.pads.get(p),
                PadState::Playing | PadState::QueuedStart | PadState::QueuedStop
            )
        })
        .collect();
    report.voices_after_stop = stats
        .active_voices
        .load(std::sync::atomic::Ordering::Relaxed);
    if let (Some((start, _)), Some(end)) = (report.rss, rss_bytes()) {
        report.rss = Some((start, end));
    }
    let values = stats.counters.snapshot();
    report.counters = COUNTERS
        .iter()
        .zip(values)
        .map(|(c, v)| (c.label.to_string(), v))
        .collect();
}

/// One random action at frame `at`: controller traffic (grid notes, bank buttons, row
/// launches, garbage bytes), pad presses and releases, pad and master settings, a rare
/// stop-all, garbage values.
fn random_action(
    rng: &mut Rng,
    at: u64,
    set: &SetFile,
    controller: Option<&mut Controller>,
    send: &mut dyn FnMut(Timed),
) {
    let pads = (BANKS * ROWS * COLS) as u64;
    match rng.below(10) {
        0..=3 => {
            // Controller traffic: grid notes on and off, bank buttons, garbage bytes.
            if let Some(c) = controller {
                let bytes: Vec<u8> = match rng.below(6) {
                    0..=2 => {
                        let note = 11 + 10 * rng.below(8) as u8 + rng.below(8) as u8;
                        vec![0x90, note, if rng.chance(0.5) { 127 } else { 0 }]
                    }
                    3 => vec![0xB0, 91 + rng.below(2) as u8, 127 * rng.below(2) as u8],
                    // Row launches (CC 19, the bottom one, is stop-all: rarely).
                    4 if rng.chance(0.01) => vec![0xB0, 19, 127],
                    4 => vec![0xB0, 89 - 10 * rng.below(7) as u8, 127 * rng.below(2) as u8],
                    _ => (0..rng.below(8)).map(|_| rng.bits() as u8).collect(),
                };
                c.feed(&bytes, at, send);
            }
        }
        4 => {
            // Mostly pads that hold a sample, sometimes any pad.
            let p = match set.pads.get(rng.below(set.pads.len() as u64 + 4) as usize) {
                Some(spec) => spec.id as PadId,
                None => rng.below(pads) as PadId,
            };
            send(Timed {
                at,
                cmd: Command::Pad(p, PadCmd::Press),
            });
        }
        5 => {
            let p = rng.below(pads) as PadId;
            let cmd = match rng.below(9) {
                0 => Command::Pad(p, PadCmd::Eq(rng.below(3) as u8, rng.unit())),
                1 => Command::Pad(p, PadCmd::Filter(rng.unit())),
                2 => Command::Pad(p, PadCmd::Resonance(rng.unit())),
                3 => Command::Pad(p, PadCmd::Send(SendBus::Delay, rng.unit())),
                4 => Command::Pad(p, PadCmd::Gain(2.0 * rng.unit())),
                5 => Command::Pad(p, PadCmd::KeyLock(None)),
                6 => Command::Pad(p, PadCmd::Transpose(24.0 * rng.unit() - 12.0)),
                7 if rng.chance(0.1) => Command::GlobalKeyLock(None),
                _ => Command::Pad(p, PadCmd::Speed(0.5 + 1.5 * rng.unit())),
            };
            send(Timed { at, cmd });
        }
        6 => {
            let cmd = match rng.below(5) {
                0 => Command::MasterVolume(2.0 * rng.unit()),
                1 => Command::GlobalSpeed(0.5 + 1.5 * rng.unit()),
                2 => Command::Transport(TransportCmd::Tempo(20.0 + 280.0 * rng.unit() as f64)),
                3 => Command::Fx(FxParam::DelayFeedback, rng.unit()),
                _ => Command::Fx(FxParam::PhaserMix, rng.unit()),
            };
            send(Timed { at, cmd });
        }
        7 => {
            send(Timed {
                at,
                cmd: Command::Pad(rng.below(pads) as PadId, PadCmd::Release),
            });
        }
        8 if rng.chance(0.002) => {
            send(Timed {
                at,
                cmd: Command::StopAll,
            });
        }
        _ => {
            // Garbage values straight at the handle (refused and counted).
            send(Timed {
                at,
                cmd: Command::MasterVolume(f32::NAN),
            });
        }
    }
}

/// Memory for the soak's stretched tables: small, so the cache is full after a few minutes
/// and eviction runs for the rest of the soak.
const TABLE_BUDGET: usize = 6 << 20;

/// Where `padlooper soak` keeps its files by default.
pub fn default_dir(seed: u64) -> PathBuf {
    std::env::temp_dir().join(format!("padlooper-soak-{seed}"))
}
