//! What recording changes, kept in the set file: a take or overdub pass on disk becomes its
//! pad's sample (`file = "recordings/..."`), undo and redo put back the file (or the pad's
//! entry as the set had it before this run recorded into it), clear removes the pad's entry.
//! So a restart plays what was playing. Not real-time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml_edit::Table;

use super::TakeFile;
use crate::config::set::SetFile;
use crate::config::set::writer::{PadPlace, SetWriter, WriteError};
use crate::engine::command::{PadId, SlotId};
use crate::engine::event::{EngineEvent, EventKind};

/// Keeps the set file in step with the pads recording changed.
pub struct SetKeeper {
    /// The set file (None: the demo, or a set given on no file).
    path: Option<PathBuf>,
    /// Takes and passes on disk, by the slot the pad plays them from.
    files: HashMap<SlotId, TakeFile>,
    /// Each pad's entry as the set had it before this run first changed it.
    originals: HashMap<PadId, Option<Table>>,
    /// Pads an undo, redo or clear left on a slot (None: no sample), until their next take.
    moved: HashMap<PadId, Option<SlotId>>,
    /// Slots a take or pass moved to when compacted, and the tape's slot it came from.
    aliases: HashMap<SlotId, SlotId>,
}

impl SetKeeper {
    /// Keeps `path` (None: nothing is saved).
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            files: HashMap::new(),
            originals: HashMap::new(),
            moved: HashMap::new(),
            aliases: HashMap::new(),
        }
    }

    /// The take or pass in slot `from` is now played from slot `to` (compacted).
    pub fn alias(&mut self, from: SlotId, to: SlotId) {
        self.aliases.insert(to, from);
    }

    /// The tape's slot a take or pass played from `slot` was recorded into (itself unless
    /// compacted).
    fn tape_of(&self, slot: SlotId) -> SlotId {
        self.aliases.get(&slot).copied().unwrap_or(slot)
    }

    /// A take or pass reached the disk: the pad plays it (unless an undo has moved it on
    /// since). Returns a line to log.
    pub fn written(&mut self, set: &SetFile, t: &TakeFile) -> Option<String> {
        self.files.insert(t.slot, t.clone());
        // Moved on by an undo, redo or clear since, to another take (or none).
        if self
            .moved
            .get(&t.pad)
            .is_some_and(|&s| s.map(|s| self.tape_of(s)) != Some(t.slot))
        {
            return None;
        }
        let path = self.path.clone()?;
        let (bank, pad) = place_of(set, t.pad);
        Some(
            match self.edit(&path, set, t.pad, |w, place, cols| {
                take_keys(w, place, cols, &path, t)
            }) {
                Ok(()) => format!(
                    "{}: bank {bank} pad {pad} now plays {}",
                    path.display(),
                    t.path.display()
                ),
                Err(e) => format!(
                    "the take is on disk but not in the set: {e}; add `file = \"{}\"` to the pad by hand",
                    t.path.display()
                ),
            },
        )
    }

    /// An engine event: undo, redo and clear are saved; a new take forgets the pad's undo.
    /// Returns a line to log.
    pub fn event(&mut self, set: &SetFile, ev: &EngineEvent) -> Option<String> {
        let (p, to) = match ev.kind {
            EventKind::RecordUndone(p, to, _) => (p, to),
            EventKind::RecordCleared(p) => (p, None),
            EventKind::RecordStarted(p) | EventKind::OverdubStarted(p) => {
                self.moved.remove(&p);
                return None;
            }
            _ => return None,
        };
        self.moved.insert(p, to);
        let path = self.path.clone()?;
        let (bank, pad) = place_of(set, p);
        let file = to.and_then(|s| self.files.get(&self.tape_of(s))).cloned();
        let (what, r) = match (&file, to) {
            (Some(t), _) => (
                format!("now plays {}", t.path.display()),
                self.edit(&path, set, p, |w, place, cols| {
                    take_keys(w, place, cols, &path, t)
                }),
            ),
            (None, None) => (
                "has no sample".to_string(),
                self.edit(&path, set, p, |w, place, cols| {
                    w.put_pad_entry(place, cols, None)
                }),
            ),
            (None, Some(_)) => {
                // Back to what the set had before this run recorded into the pad.
                let entry = self.originals.get(&p).cloned()?;
                (
                    "is back to what the set had".to_string(),
                    self.edit(&path, set, p, |w, place, cols| {
                        w.put_pad_entry(place, cols, entry)
                    }),
                )
            }
        };
        Some(match r {
            Ok(()) => format!("{}: bank {bank} pad {pad} {what}", path.display()),
            Err(e) => {
                format!("bank {bank} pad {pad} {what}, but the set file was not changed: {e}")
            }
        })
    }

    /// Edits pad `p`'s entry in the set file at `path` with `f`, first noting what it was.
    fn edit(
        &mut self,
        path: &Path,
        set: &SetFile,
        p: PadId,
        f: impl FnOnce(&mut SetWriter, PadPlace, usize) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| WriteError::Io {
            file: name.clone(),
            error,
        })?;
        let mut w = SetWriter::parse(&name, &text)?;
        let (bank, index) = place_of(set, p);
        let place = PadPlace { bank, index };
        let cols = set.grid.cols;
        self.originals
            .entry(p)
            .or_insert_with(|| w.pad_entry(place, cols));
        f(&mut w, place, cols)?;
        w.save(path)
    }
}

/// Bank and index in the bank of pad `p`.
fn place_of(set: &SetFile, p: PadId) -> (usize, usize) {
    let per_bank = set.grid.pads_per_bank().max(1);
    (p as usize / per_bank, p as usize % per_bank)
}

/// A take as its pad's sample: `file` (relative to the set), the tempo, synced and looping
/// over the whole file; the pad's other settings stay.
fn take_keys(
    w: &mut SetWriter,
    place: PadPlace,
    cols: usize,
    set_path: &Path,
    t: &TakeFile,
) -> Result<(), WriteError> {
    let dir = set_path.parent().unwrap_or(Path::new("."));
    let file = t
        .path
        .strip_prefix(dir)
        .unwrap_or(&t.path)
        .to_string_lossy()
        .to_string();
    for key in [
        "builtin",
        "stems",
        "start",
        "loop_start",
        "loop_end",
        "speed",
        "transpose",
    ] {
        w.remove_pad_key(place, cols, key);
    }
    w.set_pad(place, cols, "file", file)?;
    w.set_pad(place, cols, "bpm", t.bpm as f64)?;
    w.set_pad(place, cols, "sync", true)?;
    w.set_pad(place, cols, "loop", true)
}
