//! `padlooper link`: joins the Ableton Link session on this network and shows it (peers,
//! tempo, bar and beat, playing), and can change its tempo or start and stop it. To check
//! before a show that the appliance sees the other Link apps, and for the Link tests (an
//! independent peer). Not real-time.

use std::time::{Duration, Instant};

use crate::engine::link::LinkSession;

/// Arguments of `padlooper link`.
#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Print a line every this many milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub every: u64,
    /// Print JSON lines (Link time in µs, peers, tempo, beat, playing) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Beats per bar (Link's quantum) for the bar and beat shown.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub quantum: u32,
    /// Set the session's tempo (BPM), `--after` seconds after joining.
    #[arg(long)]
    pub tempo: Option<f64>,
    /// Start the session's transport (start/stop sync), `--after` seconds after joining.
    #[arg(long, conflicts_with = "stop")]
    pub start: bool,
    /// Stop the session's transport (start/stop sync), `--after` seconds after joining.
    #[arg(long)]
    pub stop: bool,
    /// When to make the changes asked for, in seconds after joining.
    #[arg(long, default_value_t = 0.0)]
    pub after: f64,
}

/// Runs `padlooper link`.
pub fn link_cmd(args: LinkArgs) -> anyhow::Result<i32> {
    if let Some(t) = args.tempo
        && !(crate::engine::transport::MIN_BPM..=crate::engine::transport::MAX_BPM).contains(&t)
    {
        anyhow::bail!(
            "--tempo {t}: a tempo is {}..{} BPM",
            crate::engine::transport::MIN_BPM,
            crate::engine::transport::MAX_BPM
        );
    }
    let session = LinkSession::new(args.tempo.unwrap_or(120.0));
    session.set_start_stop_sync(true);
    session.set_enabled(true);
    let q = args.quantum as f64;
    let t0 = Instant::now();
    let mut changed = args.tempo.is_none() && !args.start && !args.stop;
    if !args.json {
        println!(
            "joined the Ableton Link session on this network (Ctrl-C to leave); start/stop is shared"
        );
    }
    loop {
        let elapsed = t0.elapsed().as_secs_f64();
        if !changed && elapsed >= args.after {
            changed = true;
            let playing = (args.start || args.stop).then_some(args.start);
            session.app_commit(args.tempo, playing, q);
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"changed": {"tempo": args.tempo, "playing": playing},
                        "micros": session.clock_micros()})
                );
            }
        }
        let v = session.app_view(q);
        let peers = session.peers();
        if args.json {
            println!(
                "{}",
                serde_json::json!({"micros": v.micros, "peers": peers, "tempo": v.tempo,
                    "beat": v.beat, "bar_micros": v.bar_micros, "playing": v.playing})
            );
        } else {
            let bar = (v.beat / q).floor();
            println!(
                "{} peer{} | {:.2} BPM | bar {} beat {:.2} | {}",
                peers,
                if peers == 1 { "" } else { "s" },
                v.tempo,
                bar as i64 + 1,
                v.beat - bar * q + 1.0,
                if v.playing { "playing" } else { "stopped" }
            );
        }
        if args.seconds.is_some_and(|s| elapsed >= s) {
            break;
        }
        std::thread::sleep(Duration::from_millis(args.every));
    }
    session.set_enabled(false);
    Ok(0)
}
