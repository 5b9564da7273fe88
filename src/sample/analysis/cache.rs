//! Analyses kept by content: in RAM for the program's life and on disk (one small JSON file
//! per sample and preference, beside the prepared streaming files), so a reload or a restart
//! never analyses the same audio twice. Not real-time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ANALYSIS_VERSION, Analysis, AnalysisError, Prefs};

/// What an analysis is of: the source's content (xxh3-128, as the table cache keys it) and
/// the preferences it was made with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysisKey {
    /// xxh3-128 of the source's bytes.
    pub content: u128,
    /// Beats per bar and tempo range.
    pub prefs: Prefs,
}

impl AnalysisKey {
    fn file_name(&self) -> String {
        format!(
            "{:032x}-b{}-{}-{}-v{}.json",
            self.content,
            self.prefs.beats_per_bar,
            self.prefs.min_bpm,
            self.prefs.max_bpm,
            ANALYSIS_VERSION
        )
    }
}

/// The cache: RAM first, then the folder (None: RAM only).
#[derive(Default)]
pub struct AnalysisCache {
    dir: Option<PathBuf>,
    ram: HashMap<String, Arc<Analysis>>,
    /// Analyses made (not found in the cache), for tests and logs.
    pub made: usize,
    /// Analyses found in the cache.
    pub hits: usize,
}

impl AnalysisCache {
    /// The folder analyses are kept in under a cache folder (beside the prepared files).
    pub fn dir_in(cache_dir: &Path) -> PathBuf {
        cache_dir.join("analysis")
    }

    /// A cache keeping its files under `cache_dir` (see [`Self::dir_in`]; created when the
    /// first file is written).
    pub fn under(cache_dir: &Path) -> Self {
        Self::in_dir(&Self::dir_in(cache_dir))
    }

    /// A cache keeping its files in `dir` (created when the first file is written).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: Some(dir.to_path_buf()),
            ..Self::default()
        }
    }

    /// Sets the folder the cache keeps its files in.
    pub fn set_dir(&mut self, dir: &Path) {
        self.dir = Some(dir.to_path_buf());
    }

    /// The analysis of `key` if it was made before (in this run or, on disk, an earlier one).
    pub fn get(&mut self, key: &AnalysisKey) -> Option<Arc<Analysis>> {
        let name = key.file_name();
        if let Some(a) = self.ram.get(&name) {
            self.hits += 1;
            return Some(a.clone());
        }
        let path = self.dir.as_ref()?.join(&name);
        // A small regular file of ours; anything else (or damaged) is made again.
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > 64 << 20 {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let a: Analysis = serde_json::from_str(&text).ok()?;
        if a.version != ANALYSIS_VERSION {
            return None;
        }
        let a = Arc::new(a);
        self.ram.insert(name, a.clone());
        self.hits += 1;
        Some(a)
    }

    /// Keeps an analysis just made (a file that cannot be written is only kept in RAM).
    pub fn insert(&mut self, key: &AnalysisKey, a: Arc<Analysis>) {
        self.made += 1;
        let name = key.file_name();
        if let Some(dir) = &self.dir
            && std::fs::create_dir_all(dir).is_ok()
            && let Ok(text) = serde_json::to_string(a.as_ref())
        {
            let _ = crate::atomic_file::write_atomic(&dir.join(&name), text.as_bytes());
        }
        self.ram.insert(name, a);
    }
}

impl AnalysisCache {
    /// The analysis of the file at `path` (its content hashed), from the cache or made now
    /// (then cached); `true` with it when it came from the cache. Not real-time.
    pub fn file(
        &mut self,
        path: &Path,
        prefs: &Prefs,
    ) -> Result<(Arc<Analysis>, bool), AnalysisError> {
        let content = crate::sample::stream::prepare::content_hash(path).map_err(|source| {
            AnalysisError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let key = AnalysisKey {
            content,
            prefs: *prefs,
        };
        if let Some(a) = self.get(&key) {
            return Ok((a, true));
        }
        let a = Arc::new(super::analyze_file(path, prefs)?);
        self.insert(&key, a.clone());
        Ok((a, false))
    }
}
