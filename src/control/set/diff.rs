//! What changed between two sets, as data: per pad (added, removed, a new sample or region,
//! settings only), whether the master or effect settings changed, and what only a restart can
//! change (with whether the new set can be applied before it). A pure function of the two sets
//! and the engine's capacities; reload logs and decides with it, and a front-end that edits a
//! set can show it before applying. Not real-time.

use std::fmt;

use crate::config::set::{PadSpec, SetFile};
use crate::engine::EngineSettings;

use super::loader::{engine_settings, settings_commands};

/// How one pad changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadChange {
    /// The new set has the pad, the old one did not.
    Added,
    /// The old set had the pad, the new one does not: it is cleared.
    Removed,
    /// Another sample, region or looping: the pad restarts from silence if it plays.
    Sample,
    /// Only its sound or playing settings: a playing pad plays on.
    Settings,
}

/// Something only a restart of padlooper can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// The new grid has more pads than the engine was made with.
    LargerGrid {
        /// Pads the new set needs.
        pads: usize,
        /// Pads the engine has.
        now: usize,
    },
    /// The new set needs more sample slots than the engine was made with.
    MoreSamples {
        /// Slots the new set needs.
        slots: usize,
        /// Slots the engine has.
        now: usize,
    },
    /// Another polyphony (`voices`).
    Voices(usize),
    /// Another `sample_rate` or `buffer_size`.
    AudioFormat,
    /// Another `device` list.
    Device,
    /// Another `stretcher` or `table_stretcher`.
    Stretcher,
}

impl Restart {
    /// Whether the new set cannot be applied at all before the restart (else it is applied and
    /// this change waits for the next start).
    pub fn blocks(&self) -> bool {
        matches!(
            self,
            Restart::LargerGrid { .. } | Restart::MoreSamples { .. }
        )
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Restart::LargerGrid { pads, now } => {
                write!(f, "a larger grid ({pads} pads, {now} now)")
            }
            Restart::MoreSamples { slots, now } => write!(
                f,
                "more samples than the slots made at start ({slots} needed, {now} now)"
            ),
            Restart::Voices(n) => write!(f, "`voices` = {n}"),
            Restart::AudioFormat => f.write_str("`sample_rate` or `buffer_size`"),
            Restart::Device => f.write_str("`device`"),
            Restart::Stretcher => f.write_str("`stretcher` or `table_stretcher`"),
        }
    }
}

/// Everything that differs between two sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetChange {
    /// Pads that change, by pad id, in id order.
    pub pads: Vec<(usize, PadChange)>,
    /// The master settings the engine takes (tempo, meter, volume, speed, play mode,
    /// quantisation, glide, late-press window, crossovers) changed.
    pub master: bool,
    /// The effect settings changed.
    pub fx: bool,
    /// What only a restart can change.
    pub restart: Vec<Restart>,
}

impl SetChange {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.pads.is_empty() && !self.master && !self.fx && self.restart.is_empty()
    }

    /// Whether the new set cannot be applied before a restart.
    pub fn blocked(&self) -> bool {
        self.restart.iter().any(Restart::blocks)
    }

    /// How many pads change this way.
    pub fn count(&self, kind: PadChange) -> usize {
        self.pads.iter().filter(|(_, c)| *c == kind).count()
    }

    /// The restart reasons as one phrase ("`voices` = 32, `device`").
    pub fn restart_list(&self) -> String {
        let v: Vec<String> = self.restart.iter().map(|r| r.to_string()).collect();
        v.join(", ")
    }
}

/// What plays on a pad: its source and region (changing any restarts it).
fn same_sample(a: &PadSpec, b: &PadSpec) -> bool {
    a.source == b.source
        && a.start == b.start
        && a.loop_start == b.loop_start
        && a.loop_end == b.loop_end
        && a.looping == b.looping
}

/// Whether two pads are the same in everything but where they are written.
fn same_pad(a: &PadSpec, b: &PadSpec) -> bool {
    let strip = |p: &PadSpec| PadSpec {
        line: 0,
        key_lines: Vec::new(),
        ..p.clone()
    };
    strip(a) == strip(b)
}

/// What changes when `new` replaces `old` in an engine made with `have`.
pub fn diff(old: &SetFile, new: &SetFile, have: &EngineSettings) -> SetChange {
    let mut pads: Vec<(usize, PadChange)> = Vec::new();
    for n in &new.pads {
        match old.pads.iter().find(|o| o.id == n.id) {
            None => pads.push((n.id, PadChange::Added)),
            Some(o) if !same_sample(o, n) => pads.push((n.id, PadChange::Sample)),
            Some(o) if !same_pad(o, n) => pads.push((n.id, PadChange::Settings)),
            Some(_) => {}
        }
    }
    for o in &old.pads {
        if !new.pads.iter().any(|n| n.id == o.id) {
            pads.push((o.id, PadChange::Removed));
        }
    }
    pads.sort_by_key(|(id, _)| *id);
    let master_cmds = |s: &SetFile| {
        settings_commands(s)
            .into_iter()
            .filter(|c| !matches!(c, crate::engine::command::Command::Fx(..)))
            .collect::<Vec<_>>()
    };
    SetChange {
        pads,
        master: master_cmds(old) != master_cmds(new),
        fx: old.fx.params() != new.fx.params(),
        restart: restarts(old, new, have),
    }
}

/// What only a restart can change.
fn restarts(old: &SetFile, new: &SetFile, have: &EngineSettings) -> Vec<Restart> {
    let need = engine_settings(new, have.sample_rate);
    let (o, n) = (&old.master, &new.master);
    let mut out = Vec::new();
    if need.pads > have.pads {
        out.push(Restart::LargerGrid {
            pads: need.pads,
            now: have.pads,
        });
    }
    if n.voices != o.voices {
        out.push(Restart::Voices(n.voices));
    }
    if n.sample_rate != o.sample_rate || n.buffer_size != o.buffer_size {
        out.push(Restart::AudioFormat);
    }
    if n.device != o.device {
        out.push(Restart::Device);
    }
    if n.stretcher != o.stretcher || n.table_stretcher != o.table_stretcher {
        out.push(Restart::Stretcher);
    }
    if need.sample_slots > have.sample_slots {
        out.push(Restart::MoreSamples {
            slots: need.sample_slots,
            now: have.sample_slots,
        });
    }
    out
}
