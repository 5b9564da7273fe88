//! `padlooper check`: validate a set, its samples and a script.

use std::path::PathBuf;

use crate::config::profile::Profile;
use crate::config::script::Script;
use crate::control::set::loader::load_set;
use crate::engine::Engine;

pub fn check(
    set: Option<&PathBuf>,
    script: Option<&PathBuf>,
    profiles: &[PathBuf],
    plan: bool,
) -> anyhow::Result<i32> {
    let mut profile_errors = 0;
    for (name, text) in crate::config::profile::BUILTIN {
        match Profile::parse(std::path::Path::new(&format!("mappings/{name}.toml")), text) {
            Ok(prof) => prof.warnings.iter().for_each(|w| eprintln!("warning: {w}")),
            Err(e) => {
                eprintln!("{e}");
                profile_errors += e.0.len();
            }
        }
    }
    for p in profiles {
        match Profile::load(p) {
            Ok(prof) => {
                for w in &prof.warnings {
                    eprintln!("warning: {w}");
                }
                let warned = if prof.warnings.is_empty() {
                    String::new()
                } else {
                    format!(", {} warning(s)", prof.warnings.len())
                };
                println!("{}: OK ({}{warned})", p.display(), prof.name)
            }
            Err(e) => {
                eprintln!("{e}");
                profile_errors += e.0.len();
            }
        }
    }
    let set = match super::load_set_or_demo(set) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    let mut errors = profile_errors;
    if let Some(c) = &set.master.controller
        && let Err(e) = Profile::find(c)
    {
        eprintln!("{e}");
        errors += e.0.len();
    }
    if let Some(path) = script
        && let Err(e) = Script::load(path, &set.grid)
            .and_then(|mut s| s.resolve_stems(path, |pad| set.stem_names(pad as usize)))
    {
        eprintln!("{e}");
        errors += e.0.len();
    }
    if plan {
        // From the files' headers alone, before anything is decoded.
        let opts = crate::control::set::stream_load::StreamOptions::default();
        match crate::control::set::stream_load::plan_set(&set, set.master.sample_rate, &opts) {
            Ok(p) => {
                println!("memory plan for {}:", set.path.display());
                for l in crate::control::set::stream_load::describe(&p) {
                    println!("  {l}");
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", set.path.display());
                return Ok(1);
            }
        }
    }
    let settings = crate::control::set::loader::engine_settings(&set, set.master.sample_rate);
    let (_engine, mut handle) = Engine::new(settings)?;
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    for e in &report.errors {
        eprintln!("{e}");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for e in &report.estimates {
        println!("tempo: {e}");
    }
    for a in &report.applied {
        println!("{a}");
    }
    print_unused_analyses(&set);
    errors += report.errors.len();
    if errors > 0 {
        eprintln!("check: {errors} problem(s) found");
        return Ok(1);
    }
    println!(
        "{}: OK ({} pads, {} samples, {} of sample memory)",
        set.path.display(),
        report.pads_ready(),
        report.samples_loaded,
        crate::control::live::status::mb(report.memory.0)
    );
    Ok(0)
}

/// What analysis finds for every looping pad whose set gives no tempo (shown, not applied).
fn print_unused_analyses(set: &crate::config::SetFile) {
    use crate::config::set::PadTempo;
    let prefs = crate::control::set::analyse::prefs(set);
    let mut cache = crate::sample::analysis::cache::AnalysisCache::under(
        &crate::sample::stream::prepare::default_cache_dir(),
    );
    for spec in set
        .pads
        .iter()
        .filter(|p| p.looping && p.tempo == PadTempo::Unknown && p.grid_loop.is_none())
    {
        let Some(path) = crate::control::set::analyse::audio_file(&spec.source) else {
            continue;
        };
        let at = crate::control::set::pad_config::where_(set, spec);
        match cache.file(path, &prefs) {
            Ok((a, _)) => println!(
                "{at}: analysis: {} (not applied; write `bpm = \"auto\"` to use it, or `bpm = N` and `grid_offset = S` to correct it)",
                crate::sample::analysis::summary(&a)
            ),
            Err(e) => println!("{at}: analysis: {e}"),
        }
    }
}
