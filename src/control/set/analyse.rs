//! Analysis at set load: the samples of pads that ask for it (`bpm = "auto"`, a grid loop
//! without `grid_offset`) are analysed after they decode, on the loader threads, from the
//! cache where it has them; everything else is left alone. Not real-time.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::set::SetFile;
use crate::control::set::table_store::TableStore;
use crate::sample::analysis::cache::{AnalysisCache, AnalysisKey};
use crate::sample::analysis::{Analysis, AnalysisError, Prefs};
use crate::sample::{SampleBuffer, SampleSource};

/// What the set asks of analysis: its meter and tempo range.
pub fn prefs(set: &SetFile) -> Prefs {
    Prefs {
        beats_per_bar: set.master.beats_per_bar as u32,
        min_bpm: set.master.tempo_range[0],
        max_bpm: set.master.tempo_range[1],
    }
}

/// Each source's analysis, or why it could not be made.
pub type Analyses = HashMap<SampleSource, Result<Arc<Analysis>, String>>;

/// Analyses the sources of the pads that need it (`buffers`: what each source loaded as),
/// from the cache or on up to `threads` threads; made ones are cached.
pub fn analyse_needed(
    set: &SetFile,
    buffers: &HashMap<SampleSource, Arc<SampleBuffer>>,
    store: &mut TableStore,
    threads: usize,
) -> Analyses {
    let prefs = prefs(set);
    let mut out = Analyses::new();
    let mut jobs: Vec<(SampleSource, Option<AnalysisKey>, Arc<SampleBuffer>)> = Vec::new();
    for spec in set.pads.iter().filter(|p| p.needs_analysis()) {
        let src = &spec.source;
        if out.contains_key(src) || jobs.iter().any(|j| j.0 == *src) {
            continue;
        }
        let Some(buf) = buffers.get(src) else {
            continue;
        };
        let key = store.key(src, buf.rate).map(|k| AnalysisKey {
            content: k.content,
            prefs,
        });
        match key.and_then(|k| store.analyses.get(&k)) {
            Some(a) => {
                out.insert(src.clone(), Ok(a));
            }
            None => jobs.push((src.clone(), key, buf.clone())),
        }
    }
    if jobs.is_empty() {
        return out;
    }
    let made = crate::sample::analysis::in_parallel(&jobs, threads, |(src, _, buf)| {
        analyse_one(src, buf, &prefs)
    });
    for ((src, key, buf), r) in jobs.iter().zip(made) {
        let r = match r {
            Some(r) => r.map(Arc::new).map_err(|e| e.to_string()),
            None => Err(AnalysisError::Failed {
                name: buf.name.clone(),
            }
            .to_string()),
        };
        if let (Ok(a), Some(k)) = (&r, key) {
            store.analyses.insert(k, a.clone());
        }
        out.insert(src.clone(), r);
    }
    out
}

/// One source's analysis: a sample in RAM from its buffer, a streamed one from its file.
fn analyse_one(
    src: &SampleSource,
    buf: &SampleBuffer,
    prefs: &Prefs,
) -> Result<Analysis, AnalysisError> {
    use crate::sample::analysis::{analyze_buffer, analyze_file};
    if buf.stream().is_none() {
        return analyze_buffer(buf, prefs);
    }
    // Streamed: only its heads are in RAM; decode the file again, in pieces.
    match src {
        SampleSource::File(path) => analyze_file(path, prefs),
        SampleSource::Stems(s) => match (&s.mix, s.paths()) {
            (Some(mix), _) => analyze_file(mix, prefs),
            (None, Ok(parts)) if parts.len() == 1 => analyze_file(&parts[0], prefs),
            _ => Err(AnalysisError::Streamed {
                name: buf.name.clone(),
            }),
        },
        SampleSource::Builtin(_) => analyze_buffer(buf, prefs),
    }
}

/// The file whose audio a source's analysis is of: the file itself, a stem bundle's mix
/// (None for built-in sounds and stems without a mix file).
pub fn audio_file(src: &SampleSource) -> Option<&std::path::Path> {
    match src {
        SampleSource::File(f) => Some(f),
        SampleSource::Stems(s) => s.mix.as_deref(),
        SampleSource::Builtin(_) => None,
    }
}

/// Analyses, on one low-priority background thread, the samples of every looping pad that
/// did not ask for analysis, so that their tempo, grid and key are cached for later (a pad
/// switched to `bpm = "auto"`, `check`, the editor). Stops at SIGTERM between files; results
/// go to the cache folder only. Returns the thread (None: nothing to do).
pub fn analyse_in_background(
    set: &SetFile,
    cache_dir: &std::path::Path,
) -> Option<std::thread::JoinHandle<usize>> {
    let prefs = prefs(set);
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for spec in set.pads.iter().filter(|p| p.looping && !p.needs_analysis()) {
        if let Some(file) = audio_file(&spec.source)
            && !files.iter().any(|f| f == file)
        {
            files.push(file.to_path_buf());
        }
    }
    if files.is_empty() {
        return None;
    }
    let dir = AnalysisCache::dir_in(cache_dir);
    std::thread::Builder::new()
        .name(crate::sample::loader::LOADER_THREAD.into())
        .spawn(move || {
            // Below everything else: the audio thread and the loaders come first.
            // SAFETY: setpriority on the calling thread (who = 0) only changes its nice value.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, 0, 15);
            }
            let mut cache = AnalysisCache::in_dir(&dir);
            let mut done = 0;
            for f in files {
                if crate::sample::cancel::requested() {
                    break;
                }
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    cache.file(&f, &prefs).is_ok()
                }));
                if matches!(r, Ok(true)) {
                    done += 1;
                }
            }
            log::debug!(
                "analysed {done} samples in the background (cache: {})",
                dir.display()
            );
            done
        })
        .ok()
}
