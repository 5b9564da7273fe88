//! `padlooper latency`: the round-trip self-test (see `control::latency`) on the set's output
//! and input, with the devices' own figures beside it and the pad-to-sound budget; the result
//! is kept in the state folder, where recording finds it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::audio::input::{Input, InputRequest};
use crate::audio::output::{Output, resolve};
use crate::audio::paced::Loopback;
use crate::control::latency::{Kept, keep, measure};
use crate::control::set::loader::engine_settings;
use crate::engine::Engine;

/// Arguments of `padlooper latency`.
#[derive(Debug, clap::Args)]
pub struct LatencyArgs {
    /// The set whose `[master]` output (`device`), input (`input`, `input_channels`), rate
    /// and buffer are measured; without it, the demo set's (which names no input).
    #[arg(long)]
    pub set: Option<PathBuf>,
    /// Measurements to make (their mean and spread are printed; the median is kept).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Measure a simulated loopback instead of the devices: no sound card, the output fed
    /// back to the input this many frames later (checks the test itself: it should find this
    /// plus one buffer).
    #[arg(long, value_name = "FRAMES")]
    pub simulate: Option<usize>,
    /// Print the result without keeping it for recording.
    #[arg(long)]
    pub no_save: bool,
}

/// Runs the self-test.
pub fn latency_cmd(a: LatencyArgs) -> anyhow::Result<i32> {
    let set = super::load_set_or_demo(a.set.as_ref())?;
    let req = super::live::request(&set);
    let m = &set.master;
    if a.simulate.is_none() && m.input.is_empty() {
        bail!(
            "no audio input to measure: name it in [master] input of the set (`padlooper devices` lists the inputs), connect it to an output with a cable (or switch on the interface's loopback), and run `padlooper latency --set SET`"
        );
    }
    let resolved = match a.simulate {
        Some(_) => None,
        None => Some(resolve(&req).context("the output")?),
    };
    let rate = resolved
        .as_ref()
        .map_or(req.sample_rate, |r| r.config.sample_rate);
    let (engine, mut handle) = Engine::new(engine_settings(&set, rate))?;
    let stats = engine.stats().clone();
    let lookahead = engine.latency();
    let feed = handle
        .take_input_feed()
        .context("the engine's input is taken")?;
    let (out, input) = match (resolved, a.simulate) {
        (Some(r), _) => {
            let out = Output::start(engine, r, req.clone()).map_err(|e| e.error)?;
            let in_req = InputRequest {
                device: m.input.clone(),
                channels: m.input_channels.clone(),
                sample_rate: rate,
                buffer_size: m.buffer_size,
            };
            let input = Input::start(&in_req, feed, stats.clone()).map_err(|(e, _)| e)?;
            (out, Some(input))
        }
        (None, delay) => {
            let delay = delay.unwrap_or(0);
            let out = Output::paced(engine, req.clone(), Some(Loopback { feed, delay }))
                .map_err(|e| e.error)?;
            (out, None)
        }
    };
    let out_buffer = crate::audio::buffer_frames(out.config(), req.buffer_size);
    let (in_name, in_buffer) = match &input {
        Some(i) => (
            i.device_name().to_string(),
            crate::audio::buffer_frames(i.config(), m.buffer_size),
        ),
        None => (
            format!("simulated loopback, {} frames", a.simulate.unwrap_or(0)),
            0,
        ),
    };
    println!(
        "measuring the round trip {} → {} at {rate} Hz ({} runs)...",
        out.device_name(),
        in_name,
        a.runs.max(1)
    );
    // Both streams running before the first burst.
    let t0 = Instant::now();
    while stats.frames() < rate as u64 / 5 {
        if t0.elapsed() > Duration::from_secs(5) {
            bail!("the output does not run (no frames in 5 s)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let result = measure(&mut handle, rate, a.runs);
    let out_delay = stats.clock.read().map_or(0, |r| r.out_delay);
    let out_name = out.device_name().to_string();
    drop(input);
    drop(out.stop());
    let r = result?;
    let ms = |f: f64| f * 1000.0 / rate as f64;
    println!(
        "round trip: {} frames = {:.2} ms (median of {}; mean {:.1}, spread ±{:.1} frames, {} to {}; match {:.2})",
        r.frames(),
        ms(r.frames() as f64),
        r.runs.len(),
        r.mean(),
        r.spread(),
        r.runs.iter().min().unwrap_or(&0),
        r.runs.iter().max().unwrap_or(&0),
        r.score
    );
    let reported = out_buffer + in_buffer;
    println!(
        "the devices say: output buffer {out_buffer} frames ({:.2} ms), input buffer {in_buffer} frames ({:.2} ms), {reported} frames in all; the output reports {:.2} ms from its callback to the speakers; the rest of the round trip is the converters, the USB transfer and the drivers' safety buffers",
        ms(out_buffer as f64),
        ms(in_buffer as f64),
        out_delay as f64 / 1e6
    );
    let block = ms(out_buffer as f64);
    let out_part = if out_delay > 0 {
        out_delay as f64 / 1e6
    } else {
        ms(r.frames() as f64) / 2.0
    };
    println!(
        "pad to sound: about 1 ms over USB MIDI + up to {block:.2} ms waiting for the next block + {:.2} ms the limiter's look-ahead + {out_part:.2} ms to the speakers = {:.1} ms at most",
        ms(lookahead as f64),
        1.0 + block + ms(lookahead as f64) + out_part
    );
    if a.no_save {
        return Ok(0);
    }
    let Some(dir) = crate::control::set::last_set::copy_dir() else {
        println!("not kept: no state folder (set PADLOOPER_STATE_DIR or HOME)");
        return Ok(0);
    };
    let path = keep(
        &dir,
        Kept {
            output: out_name,
            input: in_name,
            rate,
            buffers: [out_buffer, in_buffer],
            frames: r.frames(),
            spread: r.spread(),
        },
    )
    .with_context(|| format!("cannot keep the result in {}", dir.display()))?;
    println!(
        "kept in {}: recordings on these devices at these settings are aligned by it",
        path.display()
    );
    Ok(0)
}
