//! `padlooper soak`: the randomised offline soak (see `control::soak`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::control::offline::soak::{default_dir, soak};

/// Options of `padlooper soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Minutes of audio to render.
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Random seed (the same seed gives the same soak).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder for the generated sample files (default: a folder in the temp directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Memory growth the soak tolerates between its start and its end.
pub const RSS_SLACK: u64 = 8_000_000;

pub fn soak_cmd(a: SoakArgs) -> anyhow::Result<i32> {
    if !(a.minutes > 0.0 && a.minutes <= 24.0 * 60.0) {
        anyhow::bail!(
            "--minutes {} is out of range; allowed more than 0 up to 1440",
            a.minutes
        );
    }
    let dir = a.dir.unwrap_or_else(|| default_dir(a.seed));
    let tty = std::io::stderr().is_terminal();
    let r = soak(&dir, a.minutes * 60.0, a.seed, &|done, total| {
        if tty {
            eprint!("\rsoak: {:.0} of {:.0} s of audio", done, total);
            let _ = std::io::stderr().flush();
        }
    });
    if tty {
        eprintln!();
    }
    println!(
        "soak seed {}: {:.1} min of audio in {:.1} s ({:.0}x real time), {} sets, {} actions, {} load errors (bad files on purpose)",
        a.seed,
        r.audio_seconds / 60.0,
        r.wall_seconds,
        r.audio_seconds / r.wall_seconds.max(1e-9),
        r.sets,
        r.actions,
        r.load_errors
    );
    println!(
        "voices {:.1} on average | non-finite blocks {} | blocks over the ceiling {} | peak {:.3} | stuck pads {} | voices after stop-all {}",
        r.mean_voices,
        r.nonfinite_blocks,
        r.over_ceiling_blocks,
        r.peak,
        r.stuck_pads.len(),
        r.voices_after_stop
    );
    println!(
        "pad starts {}, stops {}, presses on empty pads {}",
        r.starts, r.stops, r.empty_presses
    );
    if let Some((a, b)) = r.rss {
        println!(
            "resident memory {:.1} MB at the start, {:.1} MB at the end; stretched tables {} ({:.1} MB of a {:.1} MB budget)",
            a as f64 / 1e6,
            b as f64 / 1e6,
            r.tables_held.1,
            r.tables_held.0 as f64 / 1e6,
            r.table_budget as f64 / 1e6
        );
    }
    let counters: Vec<String> = r
        .counters
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(l, v)| format!("{l} {v}"))
        .collect();
    println!("counters: {}", counters.join(", "));
    let problems = r.problems(RSS_SLACK);
    if problems.is_empty() {
        println!("soak passed");
        Ok(0)
    } else {
        for p in &problems {
            eprintln!("soak FAILED: {p}");
        }
        Ok(1)
    }
}
