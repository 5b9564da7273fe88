//! The table cache: in-RAM tables keyed by their source's content and the decode settings, so
//! the same audio under two names or on many pads is held once, and loading a set again (or
//! switching back to one) reuses the tables that did not change instead of decoding them again.
//! Tables no set uses any more are dropped least recently used first when memory is needed,
//! always off the audio thread. Not real-time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::sample::stream::prepare::{CACHE_VERSION, content_hash};
use crate::sample::{SampleBuffer, SampleSource};

/// What a table is: its source's content and how it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableKey {
    /// xxh3-128 of the source file's bytes (of the name, for a built-in sound).
    pub content: u128,
    /// Output rate it was resampled to.
    pub rate: u32,
    /// Decoder/resampler/storage version.
    pub version: u32,
}

struct Entry {
    buffer: Arc<SampleBuffer>,
    last_used: u64,
}

/// What a streamed table is: the prepared file (and its state on disk) and the heads it keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The prepared file, where its frames start, how many, in what format.
    pub file: (PathBuf, u64, usize, crate::sample::stream::Format),
    /// Its size and modification time (a rewritten file is another table).
    pub stamp: (u64, Option<SystemTime>),
    /// The frame ranges kept in RAM.
    pub heads: Vec<(usize, usize)>,
    /// Output rate.
    pub rate: u32,
}

impl StreamKey {
    /// The key of a table of `frames` frames in `format` streamed from `path` at `offset`,
    /// with `heads` resident, at `rate` Hz (None when the file cannot be read).
    pub fn new(
        path: &Path,
        offset: u64,
        frames: usize,
        format: crate::sample::stream::Format,
        heads: &[std::ops::Range<usize>],
        rate: u32,
    ) -> Option<Self> {
        let st = stamp(path)?;
        Some(Self {
            file: (path.to_path_buf(), offset, frames, format),
            stamp: (st.len, st.modified),
            heads: heads.iter().map(|r| (r.start, r.end)).collect(),
            rate,
        })
    }
}

/// File identity that lets an unchanged file skip rehashing (as git's index does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    if !m.is_file() {
        return None;
    }
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

/// The cache. Lives as long as the program (or the soak) and is handed to every set load.
#[derive(Default)]
pub struct TableStore {
    entries: HashMap<TableKey, Entry>,
    /// Streamed tables (their disk service keeps serving them while they are used).
    streamed: HashMap<StreamKey, Arc<SampleBuffer>>,
    memo: HashMap<PathBuf, (Stamp, u128)>,
    clock: u64,
    /// Files hashed so far (memo misses), for tests and logs.
    pub hashed: usize,
    /// Tables found in the cache instead of being decoded.
    pub hits: usize,
    /// Analyses of samples by content (tempo, grid, key), in RAM and on disk.
    pub analyses: crate::sample::analysis::cache::AnalysisCache,
}

impl TableStore {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key of `source` at `rate` (None for a file that cannot be read: its load will say
    /// why). Hashes the file unless it is unchanged since it was last hashed.
    pub fn key(&mut self, source: &SampleSource, rate: u32) -> Option<TableKey> {
        let content = match source {
            SampleSource::Builtin(name) => {
                xxhash_rust::xxh3::xxh3_128(format!("builtin:{name}").as_bytes())
            }
            SampleSource::File(path) => self.file_hash(path)?,
            SampleSource::Stems(s) => {
                // Every part's content and name (stem names come from file names), and which
                // part is the mix.
                let mut text = format!("stems:{}:", s.mix.is_some());
                for p in s.paths().ok()? {
                    let h = self.file_hash(&p)?;
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                    text.push_str(&format!("{h:032x}/{};", name.unwrap_or_default()));
                }
                xxhash_rust::xxh3::xxh3_128(text.as_bytes())
            }
        };
        Some(TableKey {
            content,
            rate,
            version: CACHE_VERSION,
        })
    }

    /// The content hash of a file, from the memo while its size and mtime are unchanged.
    fn file_hash(&mut self, path: &std::path::Path) -> Option<u128> {
        let st = stamp(path)?;
        Some(match self.memo.get(path) {
            Some((s, h)) if *s == st => *h,
            _ => {
                let h = content_hash(path).ok()?;
                self.hashed += 1;
                self.memo.insert(path.to_path_buf(), (st, h));
                h
            }
        })
    }

    /// The cached table of `key`, marked as used now.
    pub fn get(&mut self, key: &TableKey) -> Option<Arc<SampleBuffer>> {
        self.clock += 1;
        let clock = self.clock;
        let e = self.entries.get_mut(key)?;
        e.last_used = clock;
        self.hits += 1;
        Some(e.buffer.clone())
    }

    /// Keeps `buffer` as the table of `key`.
    pub fn insert(&mut self, key: TableKey, buffer: Arc<SampleBuffer>) {
        self.clock += 1;
        self.entries.insert(
            key,
            Entry {
                buffer,
                last_used: self.clock,
            },
        );
    }

    /// The streamed table of `key` made by an earlier load, if still kept.
    pub fn get_streamed(&mut self, key: &StreamKey) -> Option<Arc<SampleBuffer>> {
        let b = self.streamed.get(key)?.clone();
        self.hits += 1;
        Some(b)
    }

    /// Keeps a streamed table for later loads (a reload finds it and its pads play on).
    pub fn insert_streamed(&mut self, key: StreamKey, buffer: Arc<SampleBuffer>) {
        self.streamed.insert(key, buffer);
    }

    /// Bytes of the tables held only by the cache (no set uses them).
    pub fn idle_bytes(&self) -> usize {
        self.entries
            .values()
            .filter(|e| Arc::strong_count(&e.buffer) == 1)
            .map(|e| e.buffer.memory_bytes())
            .sum()
    }

    /// Tables held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops tables no set uses, least recently used first, until those left take at most
    /// `keep` bytes. Returns how many were dropped. Frees memory: never call it on the audio
    /// thread (the engine hands its tables back over a queue; this runs on the control thread).
    pub fn trim(&mut self, keep: usize) -> usize {
        // Streamed tables no set uses are cheap to make again: they go first, all of them.
        let before = self.streamed.len();
        self.streamed.retain(|_, b| Arc::strong_count(b) > 1);
        let mut dropped = before - self.streamed.len();
        let mut idle: Vec<(u64, TableKey, usize)> = self
            .entries
            .iter()
            .filter(|(_, e)| Arc::strong_count(&e.buffer) == 1)
            .map(|(k, e)| (e.last_used, *k, e.buffer.memory_bytes()))
            .collect();
        idle.sort_by_key(|(used, _, _)| *used);
        let mut total: usize = idle.iter().map(|(_, _, b)| b).sum();
        for (_, key, bytes) in idle {
            if total <= keep {
                break;
            }
            self.entries.remove(&key);
            total -= bytes;
            dropped += 1;
        }
        if dropped > 0 {
            crate::sample::memory::give_back_free_memory();
        }
        dropped
    }
}
