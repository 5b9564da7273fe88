//! Command-line front-end. The only place that uses `anyhow`.

mod analyze;
mod bench;
mod bench_keylock;
mod bench_link;
mod bench_record;
mod bench_stems;
mod bench_stream;
mod bench_web;
mod check;
mod latency;
mod learn;
mod link;
mod live;
mod live_loop;
mod live_reload;
mod render;
mod service_mode;
mod soak;
mod web_password;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::SetFile;

/// padlooper: a live looper/sampler for pad controllers.
#[derive(Debug, Parser)]
#[command(name = "padlooper", version, about)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Load a set and play it on the audio output (default command).
    Run {
        /// Set file (TOML); without it, the built-in demo set.
        #[arg(long)]
        set: Option<PathBuf>,
        /// Use this controller profile for every MIDI input (built-in name or file) instead of
        /// matching profiles by port name.
        #[arg(long)]
        controller: Option<String>,
        /// Run as an appliance service: never exit because audio is missing (wait for a
        /// device), play the last good set (or the demo) when the set file is broken. On by
        /// itself under systemd (`NOTIFY_SOCKET` set).
        #[arg(long)]
        service: bool,
        /// Run without a sound card: the engine paced by the clock at the set's rate and
        /// buffer size, the sound discarded (controllers, MIDI clock and the status line work).
        #[arg(long)]
        no_audio: bool,
        /// Serve the web surface (default 127.0.0.1:8080). Another address than loopback
        /// needs a password (`padlooper web-password`); without one it serves loopback only.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
        web: Option<std::net::SocketAddr>,
        /// Largest sample the web surface takes as an upload, in MB.
        #[arg(long, value_name = "MB", default_value_t = 2048)]
        web_upload_max: u64,
        /// Forget the saved live changes (gains, EQ, tempo, bank...) and start from the set
        /// as written.
        #[arg(long)]
        reset_state: bool,
    },
    /// Play the built-in demo set with its automatic performance.
    Demo {
        /// Repeat the performance until interrupted.
        #[arg(long = "loop")]
        repeat: bool,
        /// Where to write the demo if there is no audio output.
        #[arg(long, default_value = "padlooper-demo.wav")]
        fallback: PathBuf,
        /// Controller profile to force (see `run --controller`).
        #[arg(long)]
        controller: Option<String>,
        /// Play without a sound card, paced by the clock (see `run --no-audio`).
        #[arg(long)]
        no_audio: bool,
    },
    /// Render a set and a script offline to a WAV file (faster than real time, deterministic).
    Render(Box<render::RenderArgs>),
    /// Validate a set (and its samples), a script and controller profiles; exit 1 on errors.
    Check {
        /// Set file; without it, the built-in demo set.
        #[arg(long)]
        set: Option<PathBuf>,
        /// Script file to validate against the set's grid.
        #[arg(long)]
        script: Option<PathBuf>,
        /// Controller profile files to validate (built-in profiles are always checked).
        #[arg(long)]
        profile: Vec<PathBuf>,
        /// Print the memory plan: per sample, in RAM or streamed, bytes held, disk rate needed.
        #[arg(long)]
        plan: bool,
    },
    /// List audio outputs, and MIDI inputs with the profile each would use.
    Devices,
    /// Write a controller profile for a device without one, by pressing its controls.
    Learn {
        /// Where to write the profile (e.g. mappings/my-device.toml).
        #[arg(long)]
        out: PathBuf,
        /// Part of the MIDI input port name (default: the only port without a profile).
        #[arg(long)]
        port: Option<String>,
    },
    /// Measure the round trip from the output to the input through a loopback cable (the
    /// delay recordings are aligned by), with the devices' figures and the pad-to-sound budget.
    Latency(latency::LatencyArgs),
    /// Analyse audio files: tempo, confidence, first downbeat, beats per bar, key.
    Analyze(analyze::AnalyzeArgs),
    /// Join the Ableton Link session on this network and show it (peers, tempo, bar, beat);
    /// optionally change its tempo or start and stop it.
    Link(link::LinkArgs),
    /// Measure rendering speed and memory on the standard 50-voice scene.
    Bench(bench::BenchArgs),
    /// Randomised offline soak: random sets, presses, knob sweeps, bad files; checks the output
    /// stays finite and under the ceiling, nothing sticks and memory stays flat.
    Soak(soak::SoakArgs),
    /// Set the web surface's password (stored as an argon2 hash in the state folder). Reads
    /// it from the terminal (asked twice, not shown) or one line of standard input.
    WebPassword(web_password::WebPasswordArgs),
}

/// Loads a set file, or the demo set when none is given.
pub fn load_set_or_demo(set: Option<&PathBuf>) -> anyhow::Result<SetFile> {
    match set {
        Some(p) => Ok(SetFile::load(p)?),
        None => Ok(crate::demo::demo_set()),
    }
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let mut logger = env_logger::Builder::new();
    logger.parse_filters(level).format_timestamp(None);
    if cli.verbose < 2 {
        // Decoder libraries log their own view of a bad file; ours names the file and pad.
        logger.filter_module("symphonia_core", log::LevelFilter::Off);
        logger.filter_module("symphonia", log::LevelFilter::Off);
    }
    if let Ok(spec) = std::env::var("RUST_LOG") {
        logger.parse_filters(&spec);
    }
    let logger = logger.build();
    let max = logger.filter();
    // Printed as before, and the last messages kept for the web surface's log panel.
    if log::set_boxed_logger(Box::new(
        crate::control::live::log_ring::KeepingLogger::new(logger),
    ))
    .is_ok()
    {
        log::set_max_level(max);
    }
    // A decoder panicking on a damaged file is caught and reported as that file's error (one
    // clear line); don't also print a backtrace for it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(crate::sample::loader::LOADER_THREAD) {
            log::debug!("decoder panic (reported as the file's error): {info}");
        } else {
            default_hook(info);
        }
    }));
    let result = match cli.command.unwrap_or(Cmd::Run {
        set: None,
        controller: None,
        service: false,
        no_audio: false,
        web: None,
        web_upload_max: 2048,
        reset_state: false,
    }) {
        Cmd::Run {
            set,
            controller,
            service,
            no_audio,
            web,
            web_upload_max,
            reset_state,
        } => live::run(
            set.as_ref(),
            controller.as_deref(),
            service || std::env::var_os("NOTIFY_SOCKET").is_some(),
            reset_state,
            no_audio,
            web.map(|addr| crate::web::WebOptions {
                addr,
                state_dir: crate::control::set::last_set::copy_dir(),
                upload_max: web_upload_max.saturating_mul(1 << 20),
            }),
        ),
        Cmd::Demo {
            repeat,
            fallback,
            controller,
            no_audio,
        } => live::demo(repeat, &fallback, controller.as_deref(), no_audio),
        Cmd::Render(args) => render::render_cmd(*args),
        Cmd::Bench(args) => bench::bench(args),
        Cmd::Analyze(args) => analyze::analyze_cmd(args),
        Cmd::Latency(args) => latency::latency_cmd(args),
        Cmd::Link(args) => link::link_cmd(args),
        Cmd::Soak(args) => soak::soak_cmd(args),
        Cmd::Check {
            set,
            script,
            profile,
            plan,
        } => check::check(set.as_ref(), script.as_ref(), &profile, plan),
        Cmd::Devices => devices(),
        Cmd::Learn { out, port } => learn::learn_cmd(&out, port.as_deref()),
        Cmd::WebPassword(args) => web_password::web_password_cmd(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// `padlooper devices`.
fn devices() -> anyhow::Result<i32> {
    let verbose = log::log_enabled!(log::Level::Debug);
    let outs = crate::audio::quiet::without_stderr(verbose, crate::audio::output::list_outputs);
    if outs.is_empty() {
        println!("audio outputs: none found");
    } else {
        println!("audio outputs:");
        for o in outs {
            println!("  {o}");
        }
    }
    let ins = crate::audio::quiet::without_stderr(verbose, crate::audio::input::list_inputs);
    if ins.is_empty() {
        println!("audio inputs: none found");
    } else {
        println!("audio inputs (`input` in [master], for recording):");
        for i in ins {
            println!("  {i}");
        }
    }
    match crate::audio::quiet::without_stderr(verbose, crate::midi::ports::describe_inputs) {
        Err(e) => println!("MIDI: unavailable ({e})"),
        Ok(ports) => {
            if ports.is_empty() {
                println!("MIDI inputs: none found");
            } else {
                println!("MIDI inputs:");
            }
            for (p, prof) in ports {
                match prof {
                    Some(name) => println!("  {p}  -> {name}"),
                    None => println!("  {p}  -> no profile (write one with `padlooper learn`)"),
                }
            }
        }
    }
    Ok(0)
}
