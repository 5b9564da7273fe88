//! Render scripts: timed engine commands in a small text format. Not real-time.
//!
//! ```text
//! # seconds  command  arguments
//! 0.0   press 0 3        # bank 0, pad 3 (alias: trigger)
//! 2.0   release 0 3      # ends a gate pad
//! 4.0   stop 0 3
//! 6.0   stopall
//! 8.0   master 0.8       # master volume, linear 0..2
//! 8.0   speed 1.5        # global speed 0.5..2
//! 9.0   gain 0 3 -6      # pad gain in dB, -60..12
//! 9.0   padspeed 0 3 0.5 # pad speed 0.5..2
//! 10.0  mode exclusive   # or multi
//! 11.0  eq 0 3 low 0.25  # EQ knob (low|mid|high) 0..1: 0 kill, 0.5 flat, 1 = +6 dB
//! 11.0  eqdb 0 3 mid -6  # the same in dB, -inf..6
//! 12.0  filter 0 3 0.2   # DJ filter knob 0..1 (0.5 off)
//! 12.0  resonance 0 3 0.5
//! 12.5  eqmode 0 3 shelf   # or isolator (cross-fades while playing)
//! 13.0  send 0 3 delay 0.5   # or reverb; 0..1
//! 14.0  fx delay_wet 0.7     # any [fx] key of the set file
//! 14.0  bpm 128          # tempo (glides over tempo_glide_ms, keeps the bar phase)
//! 15.0  transport stop   # or start (from bar 1), continue
//! 16.0  tap              # a tap-tempo tap
//! 17.0  sync 0 3 on      # a pad follows the transport (needs its tempo in the set)
//! 18.0  keylock 0 3 on   # key lock: tempo changes leave the pitch alone (`keylock all on`)
//! 19.0  transpose 0 3 -2 # semitones -12..12, optional cents -50..50 after it
//! 20.0  stems 0 3 on     # a stem pad plays its stems (off: the full mix)
//! 20.0  stem 0 3 vocals mute   # or unmute, solo, unsolo; a stem by name or number (1..)
//! 21.0  stemgain 0 3 drums -6  # a stem's gain in dB, -60..6
//! 22.0  record 0 5       # record the input into a pad: from the next bar (at once when the
//!                        # transport is stopped: the take then sets the tempo)
//! 26.0  record 0 5 stop  # ends on the next bar line (or `cancel`); the pad loops the take
//! 30.0  resample 0 6     # the same, recording the master output
//! 31.0  monitor on       # hear the input through the master
//! 32.0  overdub 0 5      # sum the input into the pad's loop from now on; again: stop
//! 40.0  undo 0 5         # the last take, overdub or clear of the pad taken back (`redo`)
//! 44.0  clear 0 5        # the pad's loop goes (undo brings it back)
//! ```

use crate::engine::command::PadCmd;
use std::path::Path;

use super::error::{ConfigError, ConfigErrors};
use super::set::GridSection;
use crate::dsp::db_to_gain;
use crate::dsp::delay::Division;
use crate::dsp::eq::db_to_knob;
use crate::engine::command::{
    Command, EqMode, FxParam, PadId, PlayMode, SendBus, StemCmd, TransportCmd,
};
use crate::engine::params::{self as P, ParamSpec};
use crate::engine::record::{InputCmd, RecordCmd, RecordSource};
use crate::sample::buffer::MAX_STEMS;

/// A parsed script: commands with their time in seconds, in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// `(seconds, command)` pairs sorted by time (stable for equal times).
    pub events: Vec<(f64, Command)>,
    /// Stems named in `stem`/`stemgain` commands, to be looked up once the set is known
    /// ([`Script::resolve_stems`]).
    pub stem_names: Vec<StemRef>,
}

/// A stem named by a script line.
#[derive(Debug, Clone, PartialEq)]
pub struct StemRef {
    /// Index of the event in [`Script::events`].
    pub event: usize,
    /// Line of the script.
    pub line: usize,
    /// The name as written.
    pub name: String,
}

/// Placeholder stem number of a command whose stem is named (resolved later).
const UNRESOLVED: u8 = u8::MAX;

/// Commands understood by scripts, for help texts.
pub const SCRIPT_COMMANDS: &str = "press|trigger B P, release B P, stop B P, stopall, master V, speed X, gain B P DB, \
     padspeed B P X, mode multi|exclusive, eq B P low|mid|high K, eqdb B P low|mid|high DB, filter B P K, \
     resonance B P R, send B P delay|reverb L, eqmode B P isolator|shelf, fx PARAM V, bpm X, transport start|stop|continue, tap, sync B P on|off, \
     keylock B P on|off, keylock all on|off, transpose B P N [CENTS], stems B P on|off, \
     stem B P NAME mute|unmute|solo|unsolo, stemgain B P NAME DB, record B P [stop|cancel], \
     resample B P [without|stop|cancel], monitor on|off, overdub B P, undo B P, redo B P, clear B P";

/// Effect parameters by their set-file names, with their entry in the parameter table.
pub const FX_PARAMS: &[(FxParam, ParamSpec)] = &[
    (FxParam::DelayFeedback, P::DELAY_FEEDBACK),
    (FxParam::DelayWet, P::DELAY_WET),
    (FxParam::ReverbRoom, P::REVERB_ROOM),
    (FxParam::ReverbDamping, P::REVERB_DAMPING),
    (FxParam::ReverbWet, P::REVERB_WET),
    (FxParam::PhaserRate, P::PHASER_RATE),
    (FxParam::PhaserDepth, P::PHASER_DEPTH),
    (FxParam::PhaserFeedback, P::PHASER_FEEDBACK),
    (FxParam::PhaserMix, P::PHASER_MIX),
];

fn band(s: &str) -> Result<u8, String> {
    match s {
        "low" => Ok(0),
        "mid" => Ok(1),
        "high" => Ok(2),
        _ => Err(format!("EQ band {s:?} unknown; allowed low, mid, high")),
    }
}

impl Script {
    /// Reads and parses a script file.
    pub fn load(path: &Path, grid: &GridSection) -> Result<Script, ConfigErrors> {
        let text = super::input::read_text(path, "script", super::input::SCRIPT_MAX)
            .map_err(|e| ConfigErrors(vec![ConfigError::whole(path, e.to_string())]))?;
        Self::parse(path, &text, grid)
    }

    /// Parses script text; every bad line is reported with its number.
    pub fn parse(path: &Path, text: &str, grid: &GridSection) -> Result<Script, ConfigErrors> {
        let mut events = Vec::new();
        let mut errors = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            match parse_line(line, grid) {
                Ok((t, cmd, name)) => events.push((t, cmd, name.map(|s| (n + 1, s)))),
                Err(m) => errors.push(ConfigError {
                    file: path.into(),
                    line: n + 1,
                    column: 1,
                    message: format!("{m} (in `{line}`)"),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let stem_names = events
            .iter()
            .enumerate()
            .filter_map(|(event, e)| {
                let (line, name) = e.2.clone()?;
                Some(StemRef { event, line, name })
            })
            .collect();
        Ok(Script {
            events: events.into_iter().map(|(t, c, _)| (t, c)).collect(),
            stem_names,
        })
    }

    /// Looks up the stems named in the script: `names(pad)` gives a pad's stem names (None:
    /// the pad has no stems), asked once per pad. Every unknown name is an error naming its
    /// line.
    pub fn resolve_stems(
        &mut self,
        path: &Path,
        names: impl Fn(PadId) -> Option<Vec<String>>,
    ) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        let mut known_of = std::collections::HashMap::new();
        for r in &self.stem_names {
            let Some((_, Command::Pad(pad, PadCmd::Stem(cmd)))) = self.events.get_mut(r.event)
            else {
                continue;
            };
            let found = match known_of.entry(*pad).or_insert_with(|| names(*pad)) {
                None => Err("this pad has no stems (give it `stems = ...` in the set)".to_string()),
                Some(known) => known
                    .iter()
                    .position(|k| k.eq_ignore_ascii_case(&r.name))
                    .ok_or_else(|| {
                        format!(
                            "no stem named {:?} on this pad; its stems: {}",
                            r.name,
                            known.join(", ")
                        )
                    }),
            };
            match found {
                Ok(i) => set_stem(cmd, i as u8),
                Err(m) => errors.push(ConfigError {
                    file: path.into(),
                    line: r.line,
                    column: 1,
                    message: m,
                }),
            }
        }
        if errors.is_empty() {
            self.stem_names.clear();
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Time of the last event in seconds (0 when empty).
    pub fn duration(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.0)
    }
}

/// Points a stem command at stem `i`.
fn set_stem(cmd: &mut StemCmd, i: u8) {
    match cmd {
        StemCmd::Mute(s, _) | StemCmd::Solo(s, _) | StemCmd::SoloOnly(s) | StemCmd::Gain(s, _) => {
            *s = i
        }
        StemCmd::Stems(_) | StemCmd::Reset => {}
    }
}

/// A stem given by number (1-based) or by name (looked up later).
fn stem_arg(s: &str) -> Result<(u8, Option<String>), String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_STEMS).contains(&n) => Ok(((n - 1) as u8, None)),
        Ok(n) => Err(format!(
            "stem {n} does not exist; stems are numbered 1 to {MAX_STEMS}"
        )),
        Err(_) => Ok((UNRESOLVED, Some(s.to_string()))),
    }
}

fn parse_line(line: &str, grid: &GridSection) -> Result<(f64, Command, Option<String>), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let time: f64 = words[0]
        .parse()
        .map_err(|_| format!("time {:?} is not a number of seconds", words[0]))?;
    if !(0.0..=86_400.0).contains(&time) {
        return Err(format!("time {time} must be between 0 and 86400 seconds"));
    }
    let Some(&verb) = words.get(1) else {
        return Err(format!("missing command; known: {SCRIPT_COMMANDS}"));
    };
    let l = Line {
        verb,
        args: &words[2..],
        grid,
    };
    if let Some(r) = l.stem_verb() {
        let (cmd, name) = r?;
        return Ok((time, cmd, name));
    }
    let cmd = match l.pad_verb() {
        Some(r) => r?,
        None => l.global_verb()?,
    };
    Ok((time, cmd, None))
}

/// Makes a pad command from a script line's arguments.
type MakePad = for<'a> fn(&Line<'a>) -> Result<PadCmd, String>;

/// One script line's command word and arguments, with the grid its pads are on.
struct Line<'a> {
    verb: &'a str,
    args: &'a [&'a str],
    grid: &'a GridSection,
}

impl Line<'_> {
    /// Checks the argument count.
    fn want(&self, n: usize) -> Result<(), String> {
        if self.args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{}` takes {n} argument(s), got {}",
                self.verb,
                self.args.len()
            ))
        }
    }

    /// A number within `spec`'s range.
    fn num(&self, s: &str, spec: &ParamSpec) -> Result<f32, String> {
        let v: f64 = s
            .parse()
            .map_err(|_| format!("`{}` {s:?} is not a number", spec.name))?;
        spec.check(v)
    }

    /// The pad of the first two arguments (bank, pad).
    fn pad(&self) -> Result<PadId, String> {
        let (b, p) = (self.args[0], self.args[1]);
        let grid = self.grid;
        let bank: usize = b
            .parse()
            .map_err(|_| format!("bank {b:?} is not a number"))?;
        let index: usize = p
            .parse()
            .map_err(|_| format!("pad {p:?} is not a number"))?;
        if bank >= grid.banks {
            return Err(format!(
                "bank {bank} does not exist; allowed 0 to {}",
                grid.banks - 1
            ));
        }
        if index >= grid.pads_per_bank() {
            return Err(format!(
                "pad {index} does not exist; allowed 0 to {}",
                grid.pads_per_bank() - 1
            ));
        }
        Ok(grid.pad_id(bank, index) as PadId)
    }

    /// Commands addressing one pad (bank, pad, then their own arguments): None when `verb`
    /// is not one of them.
    fn pad_verb(&self) -> Option<Result<Command, String>> {
        let (n, make): (usize, MakePad) = match self.verb {
            "press" | "trigger" => (2, |_| Ok(PadCmd::Press)),
            "release" => (2, |_| Ok(PadCmd::Release)),
            "stop" => (2, |_| Ok(PadCmd::Stop)),
            "gain" => (3, |l| {
                Ok(PadCmd::Gain(db_to_gain(l.num(l.args[2], &P::GAIN_DB)?)))
            }),
            "padspeed" => (3, |l| Ok(PadCmd::Speed(l.num(l.args[2], &P::SPEED)?))),
            "eq" => (4, |l| {
                Ok(PadCmd::Eq(band(l.args[2])?, l.num(l.args[3], &P::EQ_KNOB)?))
            }),
            "eqdb" => (4, |l| {
                let db = l.num(l.args[3], &P::EQ_DB)?;
                Ok(PadCmd::Eq(band(l.args[2])?, db_to_knob(db as f64)))
            }),
            "filter" => (3, |l| Ok(PadCmd::Filter(l.num(l.args[2], &P::FILTER)?))),
            "resonance" => (3, |l| {
                Ok(PadCmd::Resonance(l.num(l.args[2], &P::RESONANCE)?))
            }),
            "send" => (4, |l| {
                let bus = choose(
                    l.args[2],
                    "send",
                    &[("delay", SendBus::Delay), ("reverb", SendBus::Reverb)],
                )?;
                Ok(PadCmd::Send(bus, l.num(l.args[3], &P::DELAY_SEND)?))
            }),
            "eqmode" => (3, |l| {
                let modes = [("isolator", EqMode::Isolator), ("shelf", EqMode::Shelf)];
                Ok(PadCmd::EqMode(choose(l.args[2], "EQ mode", &modes)?))
            }),
            "sync" => (3, |l| Ok(PadCmd::Sync(Some(on_off(l.args[2], "sync")?)))),
            "keylock" if self.args.first() != Some(&"all") => (3, |l| {
                Ok(PadCmd::KeyLock(Some(on_off(l.args[2], "keylock")?)))
            }),
            "stems" => (3, |l| {
                Ok(PadCmd::Stem(StemCmd::Stems(Some(on_off(
                    l.args[2], "stems",
                )?))))
            }),
            "transpose" => return Some(self.transpose()),
            "record" | "resample" => return Some(self.record()),
            "overdub" | "undo" | "redo" | "clear" => {
                let cmd = match self.verb {
                    "overdub" => RecordCmd::Overdub,
                    "undo" => RecordCmd::Undo,
                    "redo" => RecordCmd::Redo,
                    _ => RecordCmd::Clear,
                };
                return Some(
                    self.want(2)
                        .and_then(|()| Ok(Command::Record(self.pad()?, cmd))),
                );
            }
            _ => return None,
        };
        Some(
            self.want(n)
                .and_then(|()| Ok(Command::Pad(self.pad()?, make(self)?))),
        )
    }

    /// `record bank pad [stop|cancel]`, `resample bank pad [without|stop|cancel]`.
    fn record(&self) -> Result<Command, String> {
        let args = self.args;
        if args.len() != 2 && args.len() != 3 {
            return Err(format!(
                "`{}` takes 2 or 3 arguments (bank, pad, optional stop or cancel), got {}",
                self.verb,
                args.len()
            ));
        }
        let source = if self.verb == "resample" {
            RecordSource::Master
        } else {
            RecordSource::Input
        };
        let cmd = match args.get(2) {
            None => RecordCmd::Press(source),
            Some(&"without") if self.verb == "resample" => {
                RecordCmd::Press(RecordSource::MasterWithout)
            }
            Some(&"stop") => RecordCmd::Stop,
            Some(&"cancel") => RecordCmd::Cancel,
            Some(other) => {
                return Err(format!(
                    "`{}` action {other:?} unknown; allowed {}",
                    self.verb,
                    if self.verb == "resample" {
                        "without, stop, cancel"
                    } else {
                        "stop, cancel"
                    }
                ));
            }
        };
        Ok(Command::Record(self.pad()?, cmd))
    }

    /// `transpose bank pad semitones [cents]`.
    fn transpose(&self) -> Result<Command, String> {
        let args = self.args;
        if args.len() != 3 && args.len() != 4 {
            return Err(format!(
                "`transpose` takes 3 or 4 arguments (bank, pad, semitones, optional cents), got {}",
                args.len()
            ));
        }
        let semis = self.num(args[2], &P::TRANSPOSE)?;
        let cents = match args.get(3) {
            Some(c) => self.num(c, &P::FINE)?,
            None => 0.0,
        };
        Ok(Command::Pad(
            self.pad()?,
            PadCmd::Transpose(semis + cents / 100.0),
        ))
    }

    /// `stem` and `stemgain`, whose stem may be a name resolved later: None when `verb` is
    /// neither.
    fn stem_verb(&self) -> Option<Result<(Command, Option<String>), String>> {
        let cmd = |l: &Self| -> Result<(Command, Option<String>), String> {
            l.want(4)?;
            let p = l.pad()?;
            let (s, name) = stem_arg(l.args[2])?;
            let cmd = if l.verb == "stemgain" {
                StemCmd::Gain(s, db_to_gain(l.num(l.args[3], &P::STEM_GAIN_DB)?))
            } else {
                match l.args[3] {
                    "mute" => StemCmd::Mute(s, Some(true)),
                    "unmute" => StemCmd::Mute(s, Some(false)),
                    "solo" => StemCmd::Solo(s, Some(true)),
                    "unsolo" => StemCmd::Solo(s, Some(false)),
                    other => {
                        return Err(format!(
                            "stem action {other:?} unknown; allowed mute, unmute, solo, unsolo"
                        ));
                    }
                }
            };
            Ok((Command::Pad(p, PadCmd::Stem(cmd)), name))
        };
        matches!(self.verb, "stem" | "stemgain").then(|| cmd(self))
    }

    /// Commands for the whole set (master, transport, effects).
    fn global_verb(&self) -> Result<Command, String> {
        let args = self.args;
        Ok(match self.verb {
            "stopall" => {
                self.want(0)?;
                Command::StopAll
            }
            "master" => {
                self.want(1)?;
                Command::MasterVolume(self.num(args[0], &P::VOLUME)?)
            }
            "speed" => {
                self.want(1)?;
                Command::GlobalSpeed(self.num(args[0], &P::SPEED)?)
            }
            "mode" => {
                self.want(1)?;
                let modes = [
                    ("multi", PlayMode::Multi),
                    ("exclusive", PlayMode::Exclusive),
                ];
                Command::PlayMode(choose(args[0], "mode", &modes)?)
            }
            "bpm" => {
                self.want(1)?;
                let bpm: f64 = args[0]
                    .parse()
                    .map_err(|_| format!("`bpm` {:?} is not a number", args[0]))?;
                P::BPM.check(bpm)?;
                Command::Transport(TransportCmd::Tempo(bpm))
            }
            "transport" => {
                self.want(1)?;
                let t = [
                    ("start", TransportCmd::Start),
                    ("stop", TransportCmd::Stop),
                    ("continue", TransportCmd::Continue),
                ];
                Command::Transport(choose(args[0], "transport", &t)?)
            }
            "tap" => {
                self.want(0)?;
                Command::Transport(TransportCmd::Tap)
            }
            "keylock" => {
                self.want(2)?;
                Command::GlobalKeyLock(Some(on_off(args[1], "keylock")?))
            }
            "fx" => {
                self.want(2)?;
                self.fx()?
            }
            "monitor" => {
                self.want(1)?;
                Command::Input(InputCmd::Monitor(Some(on_off(args[0], "monitor")?)))
            }
            other => {
                return Err(format!(
                    "unknown command {other:?}; known: {SCRIPT_COMMANDS}"
                ));
            }
        })
    }

    /// `fx name value`.
    fn fx(&self) -> Result<Command, String> {
        let args = self.args;
        if args[0] == "delay_division" {
            let d = Division::parse(args[1]).ok_or_else(|| {
                format!(
                    "division {:?} unknown; allowed 1/4, 1/8, 1/8d, 1/16",
                    args[1]
                )
            })?;
            return Ok(Command::Fx(FxParam::DelayDivision, d.index() as f32));
        }
        let Some(&(param, spec)) = FX_PARAMS.iter().find(|p| p.1.name == args[0]) else {
            let names: Vec<&str> = FX_PARAMS.iter().map(|p| p.1.name).collect();
            return Err(format!(
                "effect parameter {:?} unknown; allowed delay_division, {}",
                args[0],
                names.join(", ")
            ));
        };
        Ok(Command::Fx(param, self.num(args[1], &spec)?))
    }
}

/// One of the words `options` offers ("`what` {word:?} unknown; allowed a, b" otherwise).
fn choose<T: Copy>(word: &str, what: &str, options: &[(&str, T)]) -> Result<T, String> {
    options
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
            format!("{what} {word:?} unknown; allowed {}", names.join(", "))
        })
}

/// `on` or `off`.
fn on_off(word: &str, what: &str) -> Result<bool, String> {
    choose(word, what, &[("on", true), ("off", false)])
}
