//! `padlooper analyze FILE...`: tempo, confidence, first downbeat, beats per bar and key of
//! each file (with `--json`, the beat and downbeat times too). Not real-time.

use std::path::PathBuf;

use crate::sample::analysis::cache::AnalysisCache;
use std::sync::Arc;

use crate::sample::analysis::{Analysis, AnalysisError, Prefs, analyze_file};

/// Arguments of `padlooper analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Audio files to analyse.
    #[arg(required_unless_present = "set")]
    pub files: Vec<PathBuf>,
    /// Analyse the samples of this set's pads instead (with its meter and tempo range).
    #[arg(long, conflicts_with = "files")]
    pub set: Option<PathBuf>,
    /// With `--set`: write the analysed tempo and first downbeat into the set (`bpm`,
    /// `grid_offset`) for the pads that use analysis, so they can be corrected by hand.
    #[arg(long, requires = "set")]
    pub write: bool,
    /// Print JSON (one object per file, with beat and downbeat times).
    #[arg(long)]
    pub json: bool,
    /// Beats in a bar (downbeats are every this many beats).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub beats_per_bar: u32,
    /// Slowest tempo to report (a slower one is doubled), BPM.
    #[arg(long, default_value_t = 70.0)]
    pub min_bpm: f64,
    /// Fastest tempo to report (a faster one is halved), BPM.
    #[arg(long, default_value_t = 180.0)]
    pub max_bpm: f64,
    /// Analyse again even where the cache has the file (and do not write the cache).
    #[arg(long)]
    pub no_cache: bool,
    /// Files analysed at once (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
}

/// Runs `padlooper analyze`; exit code 1 when any file could not be analysed.
pub fn analyze_cmd(args: AnalyzeArgs) -> anyhow::Result<i32> {
    if let Some(set) = &args.set {
        return analyze_set(set, args.write, args.no_cache);
    }
    let prefs = Prefs {
        beats_per_bar: args.beats_per_bar,
        min_bpm: args.min_bpm,
        max_bpm: args.max_bpm,
    };
    if let Err(e) = crate::config::set::check_tempo_range(prefs.min_bpm, prefs.max_bpm) {
        eprintln!("error: --min-bpm/--max-bpm: {e}");
        return Ok(2);
    }
    let dir = (!args.no_cache)
        .then(|| AnalysisCache::dir_in(&crate::sample::stream::prepare::default_cache_dir()));
    let jobs = args.jobs.map_or(0, |j| j as usize);
    let results = analyse_all(&args.files, &prefs, dir.as_deref(), jobs);
    let mut failed = 0;
    let mut out = Vec::new();
    for (path, result) in args.files.iter().zip(results) {
        match result {
            Ok(a) if args.json => out.push(json(path, &a)),
            Ok(a) => println!("{}", line(path, &a)),
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// `analyze --set`: each pad's sample analysed with the set's preferences; with `write`, the
/// tempo and first downbeat written into the pads that use analysis.
fn analyze_set(path: &std::path::Path, write: bool, no_cache: bool) -> anyhow::Result<i32> {
    use crate::config::set::writer::{PadPlace, SetWriter};
    let set = crate::config::SetFile::load(path)?;
    let prefs = crate::control::set::analyse::prefs(&set);
    let mut cache = if no_cache {
        AnalysisCache::default()
    } else {
        AnalysisCache::under(&crate::sample::stream::prepare::default_cache_dir())
    };
    let text = crate::config::input::read_text(path, "set", crate::config::input::SET_MAX)?;
    let mut writer = SetWriter::parse(&path.display().to_string(), &text)?;
    let (mut failed, mut written) = (0, 0);
    for spec in &set.pads {
        let at = crate::control::set::pad_config::where_(&set, spec);
        let Some(file) = crate::control::set::analyse::audio_file(&spec.source) else {
            continue;
        };
        let a = match cache.file(file, &prefs) {
            Ok((a, _)) => a,
            Err(e) => {
                eprintln!("{at}: {e}");
                failed += 1;
                continue;
            }
        };
        println!("{at}: {}", crate::sample::analysis::summary(&a));
        if !(write && spec.needs_analysis()) {
            continue;
        }
        let (Some(t), Some(offset)) = (a.tempo, a.first_downbeat()) else {
            eprintln!("{at}: no beat found: nothing written; give `bpm` and `grid_offset` by hand");
            failed += 1;
            continue;
        };
        let place = PadPlace {
            bank: spec.bank,
            index: spec.index,
        };
        let cols = set.grid.cols;
        writer.set_pad(place, cols, "bpm", (t.bpm * 1000.0).round() / 1000.0)?;
        writer.set_pad(
            place,
            cols,
            "grid_offset",
            (offset * 10000.0).round() / 10000.0,
        )?;
        written += 1;
    }
    if written > 0 {
        // Checked before it replaces the file: a set that would not load is not written.
        crate::config::SetFile::parse(path, &writer.text())?;
        writer.save(path)?;
        println!(
            "{}: wrote `bpm` and `grid_offset` for {written} pad(s); edit them there to correct the grid",
            path.display()
        );
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Each file's analysis (in order), `jobs` files at a time (0: one per core), through the
/// cache in `dir`.
fn analyse_all(
    files: &[PathBuf],
    prefs: &Prefs,
    dir: Option<&std::path::Path>,
    jobs: usize,
) -> Vec<Result<Arc<Analysis>, AnalysisError>> {
    let made = crate::sample::analysis::in_parallel(files, jobs, |f| match dir {
        Some(d) => AnalysisCache::in_dir(d).file(f, prefs).map(|(a, _)| a),
        None => analyze_file(f, prefs).map(Arc::new),
    });
    made.into_iter()
        .zip(files)
        .map(|(r, f)| {
            r.unwrap_or_else(|| {
                Err(AnalysisError::Failed {
                    name: f.display().to_string(),
                })
            })
        })
        .collect()
}

/// One file's result on a line.
pub fn line(path: &std::path::Path, a: &Analysis) -> String {
    format!(
        "{}: {}",
        path.display(),
        crate::sample::analysis::summary(a)
    )
}

fn json(path: &std::path::Path, a: &Analysis) -> serde_json::Value {
    let round = |v: f64| (v * 10000.0).round() / 10000.0;
    serde_json::json!({
        "file": path.display().to_string(),
        "seconds": round(a.seconds),
        "bpm": a.tempo.map(|t| round(t.bpm)),
        "confidence": a.tempo.map(|t| round(t.confidence)),
        "steady": a.tempo.map(|t| t.steady),
        "first_downbeat": a.first_downbeat().map(round),
        "beats_per_bar": a.beats_per_bar,
        "downbeat_confidence": round(a.downbeat_confidence),
        "key": a.key.map(|k| k.name()),
        "camelot": a.key.map(|k| k.camelot()),
        "key_confidence": round(a.key_confidence),
        "beats": a.beats.iter().map(|v| round(*v)).collect::<Vec<_>>(),
        "downbeats": a.downbeats.iter().map(|v| round(*v)).collect::<Vec<_>>(),
    })
}
