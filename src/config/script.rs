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
//! ```

use std::path::Path;

use super::error::{ConfigError, ConfigErrors};
use super::set::GridSection;
use crate::dsp::db_to_gain;
use crate::engine::command::{Command, PadId, PlayMode};

/// A parsed script: commands with their time in seconds, in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// `(seconds, command)` pairs sorted by time (stable for equal times).
    pub events: Vec<(f64, Command)>,
}

/// Commands understood by scripts, for help texts.
pub const SCRIPT_COMMANDS: &str = "press|trigger B P, release B P, stop B P, stopall, master V, speed X, gain B P DB, padspeed B P X, mode multi|exclusive";

impl Script {
    /// Reads and parses a script file.
    pub fn load(path: &Path, grid: &GridSection) -> Result<Script, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::whole(
                path,
                format!("cannot read script: {e}"),
            )])
        })?;
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
                Ok(ev) => events.push(ev),
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
        Ok(Script { events })
    }

    /// Time of the last event in seconds (0 when empty).
    pub fn duration(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.0)
    }
}

fn parse_line(line: &str, grid: &GridSection) -> Result<(f64, Command), String> {
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
    let args = &words[2..];
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{verb}` takes {n} argument(s), got {}",
                args.len()
            ))
        }
    };
    let num = |s: &str, what: &str, lo: f64, hi: f64| -> Result<f64, String> {
        let v: f64 = s
            .parse()
            .map_err(|_| format!("{what} {s:?} is not a number"))?;
        if !(lo..=hi).contains(&v) {
            return Err(format!("{what} {v} is out of range; allowed {lo} to {hi}"));
        }
        Ok(v)
    };
    let pad = |b: &str, p: &str| -> Result<PadId, String> {
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
    };
    let cmd = match verb {
        "press" | "trigger" => {
            want(2)?;
            Command::Press(pad(args[0], args[1])?)
        }
        "release" => {
            want(2)?;
            Command::Release(pad(args[0], args[1])?)
        }
        "stop" => {
            want(2)?;
            Command::Stop(pad(args[0], args[1])?)
        }
        "stopall" => {
            want(0)?;
            Command::StopAll
        }
        "master" => {
            want(1)?;
            Command::MasterVolume(num(args[0], "master volume", 0.0, 2.0)? as f32)
        }
        "speed" => {
            want(1)?;
            Command::GlobalSpeed(num(args[0], "speed", 0.5, 2.0)? as f32)
        }
        "gain" => {
            want(3)?;
            let db = num(args[2], "gain (dB)", -60.0, 12.0)? as f32;
            Command::PadGain(pad(args[0], args[1])?, db_to_gain(db))
        }
        "padspeed" => {
            want(3)?;
            Command::PadSpeed(
                pad(args[0], args[1])?,
                num(args[2], "speed", 0.5, 2.0)? as f32,
            )
        }
        "mode" => {
            want(1)?;
            match args[0] {
                "multi" => Command::PlayMode(PlayMode::Multi),
                "exclusive" => Command::PlayMode(PlayMode::Exclusive),
                other => return Err(format!("mode {other:?} unknown; allowed multi, exclusive")),
            }
        }
        other => {
            return Err(format!(
                "unknown command {other:?}; known: {SCRIPT_COMMANDS}"
            ));
        }
    };
    Ok((time, cmd))
}
