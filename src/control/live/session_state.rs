//! Saved state: what the performer changed while playing (pad gains, EQ, filters, sends,
//! speeds, key lock, transpose, sync; master volume, speed, tempo, play mode, quantisation,
//! effects; the bank; Ableton Link switched on or off) survives a restart or a power cut. The engine publishes the live values
//! (`engine::live`); this module compares them with what the set says, writes the difference
//! as TOML atomically a few seconds after the last change and on stop, and turns a saved file
//! back into engine commands at start. A state file that does not parse, or belongs to another
//! set or grid, is reported and ignored, never fatal. Not real-time.

use crate::engine::command::PadCmd;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::SetFile;
use crate::config::script::FX_PARAMS;
use crate::engine::command::{
    Command, EqMode, FxParam, PadConfig, PadId, PlayMode, SendBus, StemCmd, TransportCmd,
};
use crate::engine::live::{LiveState, PadLive, QUANTIZE_ORDER};
use crate::sample::buffer::MAX_STEMS;

/// How long after the last change the state is written.
pub const SAVE_DELAY: Duration = Duration::from_secs(3);

/// A pad's saved values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadState {
    /// The pad's id (bank-major, row-major inside the bank).
    pub id: usize,
    /// Linear gain.
    pub gain: f32,
    /// Speed factor.
    pub speed: f32,
    /// EQ knobs low, mid, high.
    pub eq: [f32; 3],
    /// DJ filter knob.
    pub filter: f32,
    /// Filter resonance.
    pub resonance: f32,
    /// Delay send.
    pub delay_send: f32,
    /// Reverb send.
    pub reverb_send: f32,
    /// Semitones.
    pub transpose: f32,
    /// Key lock.
    pub key_lock: bool,
    /// Tempo sync.
    pub sync: bool,
    /// "isolator" or "shelf".
    pub eq_mode: String,
    /// Stem pads: playing the stems (not the full mix).
    #[serde(default)]
    pub stems_on: bool,
    /// Stem pads: muted stems (bit per stem, in storage order).
    #[serde(default)]
    pub stem_mute: u8,
    /// Stem pads: soloed stems.
    #[serde(default)]
    pub stem_solo: u8,
    /// Stem pads: each stem's linear gain.
    #[serde(default = "unity_gains")]
    pub stem_gain: [f32; MAX_STEMS],
}

fn unity_gains() -> [f32; MAX_STEMS] {
    [1.0; MAX_STEMS]
}

/// The master's saved values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterState {
    /// Master volume.
    pub volume: f32,
    /// Global speed.
    pub speed: f32,
    /// Tempo.
    pub bpm: f64,
    /// "multi" or "exclusive".
    pub play_mode: String,
    /// "off", "beat", "bar", "2bars" or "4bars".
    pub quantize: String,
    /// Effect values changed while playing, by their set-file names.
    #[serde(default)]
    pub fx: BTreeMap<String, f32>,
}

/// A saved session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionState {
    /// The set file it belongs to.
    pub set: String,
    /// Banks, rows and columns of that set's grid.
    pub grid: [usize; 3],
    /// The bank shown on the controllers.
    pub bank: usize,
    /// Master values.
    pub master: MasterState,
    /// Pads whose values differ from the set.
    #[serde(default)]
    pub pad: Vec<PadState>,
    /// Ableton Link, when a controller switched it away from the set's `link`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<bool>,
}

fn fx_name(p: FxParam) -> &'static str {
    match p {
        FxParam::DelayDivision => "delay_division",
        _ => FX_PARAMS
            .iter()
            .find(|(q, _)| *q == p)
            .map_or("?", |(_, spec)| spec.name),
    }
}

fn fx_by_name(name: &str) -> Option<FxParam> {
    if name == "delay_division" {
        return Some(FxParam::DelayDivision);
    }
    FX_PARAMS
        .iter()
        .find(|(_, spec)| spec.name == name)
        .map(|(p, _)| *p)
}

impl MasterState {
    /// The master as the set writes it.
    pub fn of_set(set: &SetFile) -> Self {
        let q: crate::engine::command::Quantize = set.master.quantize.into();
        Self {
            volume: set.master.volume,
            speed: set.master.speed,
            bpm: set.master.bpm,
            play_mode: if PlayMode::from(set.master.play_mode) == PlayMode::Exclusive {
                "exclusive"
            } else {
                "multi"
            }
            .into(),
            quantize: q.name().into(),
            fx: set
                .fx
                .params()
                .into_iter()
                .map(|(p, v)| (fx_name(p).to_string(), v))
                .collect(),
        }
    }
}

impl PadState {
    /// A pad's saved values from its live ones.
    pub fn new(id: usize, l: &PadLive) -> Self {
        Self {
            id,
            gain: l.gain,
            speed: l.speed,
            eq: l.eq,
            filter: l.filter,
            resonance: l.resonance,
            delay_send: l.sends[0],
            reverb_send: l.sends[1],
            transpose: l.transpose,
            key_lock: l.key_lock,
            sync: l.sync,
            eq_mode: if l.shelf { "shelf" } else { "isolator" }.into(),
            stems_on: l.stems.on,
            stem_mute: l.stems.mute,
            stem_solo: l.stems.solo,
            stem_gain: l.stems.gain,
        }
    }

    fn commands(&self, out: &mut Vec<Command>) {
        let p = self.id as PadId;
        out.push(Command::Pad(p, PadCmd::Gain(self.gain)));
        out.push(Command::Pad(p, PadCmd::Speed(self.speed)));
        for (b, k) in self.eq.iter().enumerate() {
            out.push(Command::Pad(p, PadCmd::Eq(b as u8, *k)));
        }
        out.push(Command::Pad(p, PadCmd::Filter(self.filter)));
        out.push(Command::Pad(p, PadCmd::Resonance(self.resonance)));
        out.push(Command::Pad(
            p,
            PadCmd::Send(SendBus::Delay, self.delay_send),
        ));
        out.push(Command::Pad(
            p,
            PadCmd::Send(SendBus::Reverb, self.reverb_send),
        ));
        out.push(Command::Pad(p, PadCmd::Transpose(self.transpose)));
        out.push(Command::Pad(p, PadCmd::KeyLock(Some(self.key_lock))));
        out.push(Command::Pad(p, PadCmd::Sync(Some(self.sync))));
        out.push(Command::Pad(
            p,
            PadCmd::EqMode(if self.eq_mode == "shelf" {
                EqMode::Shelf
            } else {
                EqMode::Isolator
            }),
        ));
        out.push(Command::Pad(
            p,
            PadCmd::Stem(StemCmd::Stems(Some(self.stems_on))),
        ));
        for s in 0..MAX_STEMS {
            let bit = |m: u8| Some(m & (1 << s) != 0);
            out.push(Command::Pad(
                p,
                PadCmd::Stem(StemCmd::Mute(s as u8, bit(self.stem_mute))),
            ));
            out.push(Command::Pad(
                p,
                PadCmd::Stem(StemCmd::Solo(s as u8, bit(self.stem_solo))),
            ));
            out.push(Command::Pad(
                p,
                PadCmd::Stem(StemCmd::Gain(s as u8, self.stem_gain[s])),
            ));
        }
    }
}

impl SessionState {
    /// The live values now: the master, the bank, and every pad that differs from `baseline`
    /// (the pads as the set configured them). Never blocks.
    pub fn capture(
        live: &LiveState,
        set: &SetFile,
        baseline: &[(PadId, PadConfig)],
        bank: usize,
    ) -> Self {
        let m = live.master();
        let pad = baseline
            .iter()
            .filter_map(|(p, cfg)| {
                let now = live.pad(*p as usize)?;
                (now != PadLive::of(cfg)).then(|| PadState::new(*p as usize, &now))
            })
            .collect();
        Self {
            set: set.path.display().to_string(),
            grid: [set.grid.banks, set.grid.rows, set.grid.cols],
            bank,
            master: MasterState {
                volume: m.volume,
                speed: m.speed,
                bpm: m.bpm,
                play_mode: if m.exclusive { "exclusive" } else { "multi" }.into(),
                quantize: QUANTIZE_ORDER[(m.quantize as usize).min(QUANTIZE_ORDER.len() - 1)]
                    .name()
                    .into(),
                fx: FxParam::ALL
                    .iter()
                    .zip(m.fx)
                    .filter(|(_, v)| v.is_finite())
                    .map(|(p, v)| (fx_name(*p).to_string(), v))
                    .collect(),
            },
            pad,
            link: None,
        }
    }

    /// The state as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Whether this state belongs to `set` (same file, same grid).
    pub fn fits(&self, set: &SetFile) -> bool {
        self.set == set.path.display().to_string()
            && self.grid == [set.grid.banks, set.grid.rows, set.grid.cols]
    }

    /// The engine commands that bring a freshly loaded set to this state (pads the set does
    /// not have are skipped).
    pub fn commands(&self, baseline: &[(PadId, PadConfig)]) -> Vec<Command> {
        let mut out = vec![
            Command::MasterVolume(self.master.volume),
            Command::GlobalSpeed(self.master.speed),
            Command::Transport(TransportCmd::TempoNow(self.master.bpm)),
            Command::PlayMode(if self.master.play_mode == "exclusive" {
                PlayMode::Exclusive
            } else {
                PlayMode::Multi
            }),
        ];
        if let Some(q) = QUANTIZE_ORDER
            .iter()
            .find(|q| q.name() == self.master.quantize)
        {
            out.push(Command::Quantize(*q));
        }
        for (name, v) in &self.master.fx {
            if let Some(p) = fx_by_name(name) {
                out.push(Command::Fx(p, *v));
            }
        }
        for p in &self.pad {
            if baseline.iter().any(|(id, _)| *id as usize == p.id) {
                p.commands(&mut out);
            }
        }
        out
    }
}

/// Where the state of `set` is kept: `session-state.toml` in the service's state folder, else
/// next to the set file (`NAME.state.toml`); None for the built-in demo outside a service.
pub fn state_path(set: &SetFile, state_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = state_dir {
        return Some(d.join("session-state.toml"));
    }
    if set.path.as_os_str().is_empty() || set.path.to_string_lossy().starts_with('<') {
        return None;
    }
    let stem = set.path.file_stem()?.to_string_lossy().into_owned();
    Some(set.path.with_file_name(format!("{stem}.state.toml")))
}

/// Reads a saved state for `set`: None (with one log line saying why) when there is none, it
/// does not parse, or it belongs to another set or grid.
pub fn read(path: &Path, set: &SetFile) -> Option<SessionState> {
    if !path.exists() {
        return None;
    }
    let text =
        match crate::config::input::read_text(path, "saved state", crate::config::input::STATE_MAX)
        {
            Ok(t) => t,
            Err(e) => {
                log::warn!(
                    "{}: {e}; ignoring it and starting from the set as written",
                    path.display()
                );
                return None;
            }
        };
    match toml::from_str::<SessionState>(&text) {
        Ok(s) if s.fits(set) => Some(s),
        Ok(s) => {
            log::info!(
                "{}: saved for {} ({}x{}x{} grid), not this set; starting from the set as written",
                path.display(),
                s.set,
                s.grid[0],
                s.grid[1],
                s.grid[2]
            );
            None
        }
        Err(e) => {
            let line = e
                .span()
                .map(|r| text[..r.start.min(text.len())].lines().count().max(1));
            log::warn!(
                "{}{}: the saved state is damaged ({}); ignoring it and starting from the set as written",
                path.display(),
                line.map_or(String::new(), |l| format!(":{l}")),
                e.message()
            );
            None
        }
    }
}

/// Writes the state a few seconds after the last change, and on request. Not real-time.
pub struct Saver {
    path: PathBuf,
    seen: (u64, (usize, bool)),
    changed: Option<Instant>,
    said_error: bool,
}

impl Saver {
    /// A saver writing to `path`, starting from live version `version` and the
    /// controller-side state `controls` (the bank, Link on).
    pub fn new(path: PathBuf, version: u64, controls: (usize, bool)) -> Self {
        Self {
            path,
            seen: (version, controls),
            changed: None,
            said_error: false,
        }
    }

    /// Where it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notes changes; returns true when [`SAVE_DELAY`] has passed since the last one and the
    /// state should be written now.
    pub fn due(&mut self, version: u64, controls: (usize, bool)) -> bool {
        if (version, controls) != self.seen {
            self.seen = (version, controls);
            self.changed = Some(Instant::now());
        }
        self.changed.is_some_and(|t| t.elapsed() >= SAVE_DELAY)
    }

    /// Writes `state` (atomically); a failure is logged once.
    pub fn save(&mut self, state: &SessionState) {
        self.changed = None;
        match crate::atomic_file::write_atomic(&self.path, state.to_toml().as_bytes()) {
            Ok(()) => {
                self.said_error = false;
                log::debug!("saved the session state to {}", self.path.display());
            }
            Err(e) if !self.said_error => {
                self.said_error = true;
                log::warn!(
                    "cannot save the session state to {} ({e}); live changes will not survive a restart",
                    self.path.display()
                );
            }
            Err(_) => {}
        }
    }

    /// Whether a change is waiting to be written.
    pub fn pending(&self) -> bool {
        self.changed.is_some()
    }
}
