//! `padlooper learn`: writes a profile for a device by walking through its controls.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::Context;

use crate::config::profile::Profile;
use crate::midi::learn::{LearnInput, learn};
use crate::midi::parser::MidiParser;
use crate::midi::ports::MidiBackend;

pub fn learn_cmd(out: &Path, port: Option<&str>) -> anyhow::Result<i32> {
    let verbose = log::log_enabled!(log::Level::Debug);
    let mut backend =
        crate::audio::quiet::without_stderr(verbose, crate::midi::midir_backend::MidirBackend::new)
            .map_err(|e| anyhow::anyhow!("MIDI is unavailable: {e}"))?;
    let ports: Vec<String> = backend
        .input_ports()
        .map_err(|e| anyhow::anyhow!("cannot list MIDI ports: {e}"))?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let profiles: Vec<Arc<Profile>> = Profile::builtins().into_iter().map(Arc::new).collect();
    let candidates: Vec<&String> = match port {
        Some(p) => ports
            .iter()
            .filter(|n| n.to_lowercase().contains(&p.to_lowercase()))
            .collect(),
        None => ports
            .iter()
            .filter(|n| {
                crate::midi::ports::profile_for(n, &profiles).is_none()
                    && !n.contains("Midi Through")
            })
            .collect(),
    };
    let name = match candidates.as_slice() {
        [one] => (*one).clone(),
        [] => anyhow::bail!(
            "no matching MIDI input port; plug the device in and check `padlooper devices` (ports: {})",
            if ports.is_empty() {
                "none".into()
            } else {
                ports.join(", ")
            }
        ),
        many => anyhow::bail!(
            "several ports match; choose one with --port: {}",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let (tx, rx) = mpsc::channel::<LearnInput>();
    // Device messages: a tiny input state that forwards parsed messages.
    let input = midir::MidiInput::new("padlooper-learn")?;
    let p = input
        .ports()
        .into_iter()
        .find(|p| input.port_name(p).is_ok_and(|n| n == name))
        .context("the port vanished")?;
    let midi_tx = tx.clone();
    let _conn = input
        .connect(
            &p,
            "padlooper-learn",
            move |_, bytes, parser: &mut MidiParser| {
                parser.feed(bytes, |m| {
                    let _ = midi_tx.send(LearnInput::Midi(m));
                })
            },
            MidiParser::new(),
        )
        .map_err(|e| anyhow::anyhow!("cannot open {name}: {e}"))?;
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            if tx.send(LearnInput::Line(line.trim().to_string())).is_err() {
                break;
            }
            line.clear();
        }
    });
    let text = learn(&name, rx.into_iter(), &mut std::io::stdout())?;
    Profile::parse(out, &text).map_err(|e| {
        anyhow::anyhow!("the learned profile is invalid (please report this):\n{e}")
    })?;
    std::fs::write(out, &text).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {}: check it with `padlooper check --profile {0}`, use it with `padlooper run --controller {0}`",
        out.display()
    );
    Ok(0)
}
