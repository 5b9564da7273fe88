//! Editing a set file in place: a value changed, a pad added or removed, and everything else
//! — comments, blank lines, key order, number formats — left exactly as the user wrote it
//! (`toml_edit`). What a front-end that edits sets (the web surface, recording into pads)
//! saves through. Not real-time.

use std::path::Path;

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// Why a set file cannot be edited.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The text is not TOML.
    #[error("{file}: not a TOML file any more ({message}); fix it by hand first")]
    Parse {
        /// The set file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A section or `pad` is there but of the wrong kind (`pad = 3` instead of `[[pad]]`).
    #[error("{file}: `{key}` is not a table; fix it by hand first")]
    NotATable {
        /// The set file.
        file: String,
        /// The key.
        key: String,
    },
    /// Writing the file failed.
    #[error("cannot write {file}: {error}")]
    Io {
        /// The set file.
        file: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// A set file being edited.
pub struct SetWriter {
    doc: DocumentMut,
    file: String,
}

/// Where a pad sits: its bank and its index in the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PadPlace {
    /// Bank (0-based).
    pub bank: usize,
    /// Index in the bank, row-major from the top left.
    pub index: usize,
}

impl SetWriter {
    /// Parses `text` (the contents of `file`, named in messages).
    pub fn parse(file: &str, text: &str) -> Result<Self, WriteError> {
        let doc = text.parse::<DocumentMut>().map_err(|e| WriteError::Parse {
            file: file.into(),
            message: e.message().to_string(),
        })?;
        Ok(Self {
            doc,
            file: file.into(),
        })
    }

    /// The edited text.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the edited text to `path` atomically (a power cut leaves the old file or the
    /// new one, never half of each).
    pub fn save(&self, path: &Path) -> Result<(), WriteError> {
        crate::atomic_file::write_atomic(path, self.text().as_bytes()).map_err(|error| {
            WriteError::Io {
                file: path.display().to_string(),
                error,
            }
        })
    }

    /// Sets `key` in `[section]` (`master`, `grid`, `fx`), adding the section at the end when
    /// the file has none. A value already there keeps its comment.
    pub fn set(
        &mut self,
        section: &str,
        key: &str,
        value: impl Into<Value>,
    ) -> Result<(), WriteError> {
        let file = self.file.clone();
        let item = self
            .doc
            .entry(section)
            .or_insert_with(|| Item::Table(Table::new()));
        let table = item.as_table_like_mut().ok_or(WriteError::NotATable {
            file,
            key: section.into(),
        })?;
        put(table, key, value.into());
        Ok(())
    }

    /// Sets `key` of the pad at `place` (in a grid `cols` wide, for pads written with `row` and
    /// `col`), adding a `[[pad]]` entry at the end when the set has none for it.
    pub fn set_pad(
        &mut self,
        place: PadPlace,
        cols: usize,
        key: &str,
        value: impl Into<Value>,
    ) -> Result<(), WriteError> {
        let pads = self.pads_mut()?;
        let i = match find(pads, place, cols) {
            Some(i) => i,
            None => {
                let mut t = Table::new();
                if place.bank > 0 {
                    t.insert("bank", Item::Value((place.bank as i64).into()));
                }
                t.insert("pad", Item::Value((place.index as i64).into()));
                pads.push(t);
                pads.len() - 1
            }
        };
        // Cannot fail: `i` is an index of `pads`.
        if let Some(t) = pads.get_mut(i) {
            put(t, key, value.into());
        }
        Ok(())
    }

    /// Removes `key` from the pad at `place`. Returns whether it was there.
    pub fn remove_pad_key(&mut self, place: PadPlace, cols: usize, key: &str) -> bool {
        let Ok(pads) = self.pads_mut() else {
            return false;
        };
        match find(pads, place, cols).and_then(|i| pads.get_mut(i)) {
            Some(t) => t.remove(key).is_some(),
            None => false,
        }
    }

    /// Removes the pad at `place` (its `[[pad]]` entry). Returns whether it was there.
    pub fn remove_pad(&mut self, place: PadPlace, cols: usize) -> bool {
        let Ok(pads) = self.pads_mut() else {
            return false;
        };
        match find(pads, place, cols) {
            Some(i) => {
                pads.remove(i);
                true
            }
            None => false,
        }
    }

    /// The `[[pad]]` entry of the pad at `place`, as it is now (None: the set has none).
    pub fn pad_entry(&self, place: PadPlace, cols: usize) -> Option<Table> {
        let pads = self.doc.get("pad")?.as_array_of_tables()?;
        find(pads, place, cols).and_then(|i| pads.get(i)).cloned()
    }

    /// Puts back an entry [`pad_entry`](Self::pad_entry) returned for the pad at `place`
    /// (None: removes the pad's entry).
    pub fn put_pad_entry(
        &mut self,
        place: PadPlace,
        cols: usize,
        entry: Option<Table>,
    ) -> Result<(), WriteError> {
        let pads = self.pads_mut()?;
        match (find(pads, place, cols), entry) {
            (Some(i), Some(t)) => {
                if let Some(old) = pads.get_mut(i) {
                    *old = t;
                }
            }
            (Some(i), None) => {
                pads.remove(i);
            }
            (None, Some(t)) => {
                pads.push(t);
            }
            (None, None) => {}
        }
        Ok(())
    }

    fn pads_mut(&mut self) -> Result<&mut ArrayOfTables, WriteError> {
        let file = self.file.clone();
        self.doc
            .entry("pad")
            .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .ok_or(WriteError::NotATable {
                file,
                key: "pad".into(),
            })
    }
}

/// Sets `key` to `value`, keeping the comment and spacing around a value already there.
fn put(table: &mut dyn toml_edit::TableLike, key: &str, mut value: Value) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// The index of the `[[pad]]` entry for `place`.
fn find(pads: &ArrayOfTables, place: PadPlace, cols: usize) -> Option<usize> {
    let int = |t: &Table, k: &str| t.get(k).and_then(Item::as_integer);
    pads.iter().position(|t| {
        let bank = int(t, "bank").unwrap_or(0);
        let index = match (int(t, "pad"), int(t, "row"), int(t, "col")) {
            (Some(p), _, _) => Some(p),
            (None, Some(r), Some(c)) => Some(r * cols as i64 + c),
            _ => None,
        };
        bank == place.bank as i64 && index == Some(place.index as i64)
    })
}
