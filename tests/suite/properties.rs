//! Property tests (proptest, deterministic seeds, run in `make test`): every parser and the
//! engine's command stream survive arbitrary input without a panic, the engine never outputs
//! a non-finite sample or anything above the limiter's ceiling, and parse errors point into the
//! input.

use std::path::Path;

use proptest::prelude::*;

use padlooper::config::SetFile;
use padlooper::config::profile::Profile;
use padlooper::config::script::Script;
use padlooper::engine::command::PadCmd;
use padlooper::engine::command::{
    Command, FxParam, LaunchMode, PadConfig, PadFx, PlayMode, Quantize, SendBus, StemCmd, Timed,
    TransportCmd,
};
use padlooper::engine::{Engine, EngineSettings};
use padlooper::midi::parser::{MidiMessage, MidiParser};
use padlooper::sample::SampleBuffer;
use padlooper::sample::buffer::{Bundle, StemInfo};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_midi_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut p = MidiParser::new();
        p.feed(&bytes, |m| match m {
            MidiMessage::NoteOn { channel, note, velocity } => {
                assert!(channel < 16 && note < 128 && (1..128).contains(&velocity))
            }
            MidiMessage::NoteOff { channel, note } => assert!(channel < 16 && note < 128),
            MidiMessage::Control { channel, cc, value } => {
                assert!(channel < 16 && cc < 128 && value < 128)
            }
            MidiMessage::PitchBend { value, .. } => assert!(value < 16384),
            MidiMessage::SysEx(v) => {
                assert_eq!(v.first(), Some(&0xF0));
                assert_eq!(v.last(), Some(&0xF7));
            }
            _ => {}
        });
    }

    #[test]
    fn the_midi_file_reader_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = padlooper::midi::smf::parse_smf(&bytes);
        // A valid header with a garbage track.
        let mut f = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xE0MTrk".to_vec();
        f.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        f.extend_from_slice(&bytes);
        if let Ok(events) = padlooper::midi::smf::parse_smf(&f) {
            for (t, b) in events {
                assert!(t.is_finite() && t >= 0.0 && !b.is_empty());
            }
        }
    }

    #[test]
    fn the_set_parser_takes_any_text(text in "(\\[\\[?(master|pad|grid|fx)\\]\\]?\n|[a-z_]{1,12} = (-?[0-9.e+inf]{1,8}|\"[a-z/0-9.]{0,8}\"|true|\\[[0-9, ]{0,8}\\])\n|[^\\x00]{0,20}\n){0,24}") {
        check_located(SetFile::parse(Path::new("s.toml"), &text).err().map(|e| e.0), &text, "s.toml");
    }

    #[test]
    fn the_profile_parser_takes_any_text(text in "(\\[\\[?(grid|leds|button|control)\\]\\]?\n|(name|ports|action|note|cc|channel|rows|cols|top_left|row_step|col_step|row|col|bank|led|relative|init) = (-?[0-9]{1,4}|\"[a-z_ ]{0,12}\"|true|\\[\"[A-F0-9 ]{0,12}\"\\])\n){0,24}") {
        check_located(Profile::parse(Path::new("p.toml"), &text).err().map(|e| e.0), &text, "p.toml");
    }

    #[test]
    fn the_script_parser_takes_any_text(text in "([0-9.x-]{0,6} (press|release|stop|stopall|master|speed|gain|padspeed|mode|eq|eqdb|filter|resonance|send|fx|bpm|x)( [-a-z0-9./]{0,6}){0,4}\n){0,20}") {
        let r = Script::parse(Path::new("x.txt"), &text, &Default::default());
        match r {
            Ok(s) => {
                for (t, _) in s.events {
                    assert!(t.is_finite() && t >= 0.0);
                }
            }
            Err(e) => check_located(Some(e.0), &text, "x.txt"),
        }
    }

    #[test]
    fn the_engine_takes_any_command_stream(cmds in proptest::collection::vec(command(), 1..120)) {
        let (mut engine, mut handle) = Engine::new(EngineSettings {
            voices: 4,
            pads: 16,
            sample_slots: 4,
            ..EngineSettings::default()
        })
        .unwrap();
        let data: Vec<f32> = (0..4800).map(|i| (i as f32 * 0.07).sin() * 0.9).collect();
        handle.load(std::sync::Arc::new(SampleBuffer::from_f32("s", 48_000, data))).unwrap();
        // Slot 1: a stem bundle (mix and three stems).
        let bundle: Vec<f32> = (0..4800 * 8).map(|i| ((i % 8) as f32 * 0.1 + i as f32 * 0.013).sin() * 0.5).collect();
        let stems = ["drums", "bass", "vocals"]
            .map(|n| StemInfo { name: n.into(), color: [1, 2, 3] })
            .to_vec();
        handle.load(std::sync::Arc::new(SampleBuffer::bundle("b", 48_000, Bundle::F32(bundle), stems, 0))).unwrap();
        let mut buf = vec![0.0f32; 2 * 200];
        let ceiling = 10f32.powf(-0.3 / 20.0);
        for (k, (at, cmd)) in cmds.iter().enumerate() {
            let _ = handle.send(Timed { at: *at, cmd: *cmd });
            if k % 7 == 0 {
                engine.process(&mut buf);
                assert!(buf.iter().all(|s| s.is_finite() && s.abs() <= ceiling));
            }
        }
        for _ in 0..20 {
            engine.process(&mut buf);
            assert!(buf.iter().all(|s| s.is_finite() && s.abs() <= ceiling));
        }
    }
}

/// Every error is inside the file: its line exists (or is 0, the whole file).
fn check_located(errors: Option<Vec<padlooper::config::ConfigError>>, text: &str, file: &str) {
    let lines = text.lines().count().max(1);
    for e in errors.into_iter().flatten() {
        assert_eq!(e.file, Path::new(file));
        assert!(e.line <= lines + 1, "line {} of {lines}: {e}", e.line);
        assert!(!e.message.is_empty());
    }
}

fn number() -> impl Strategy<Value = f32> {
    prop_oneof![
        -2.0f32..3.0,
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(1e30),
        Just(-1e30),
        Just(0.0),
    ]
}

fn command() -> impl Strategy<Value = (u64, Command)> {
    let pad = 0u16..20;
    let cmd = prop_oneof![
        pad.clone().prop_map(|p| Command::Pad(p, PadCmd::Press)),
        pad.clone().prop_map(|p| Command::Pad(p, PadCmd::Release)),
        pad.clone().prop_map(|p| Command::Pad(p, PadCmd::Stop)),
        Just(Command::StopAll),
        (
            pad.clone(),
            0u16..6,
            0u32..6000,
            0u32..6000,
            number(),
            number(),
            0u8..4,
            any::<bool>()
        )
            .prop_map(|(p, slot, a, b, gain, speed, mode, looping)| {
                Command::Pad(
                    p,
                    PadCmd::Assign(PadConfig {
                        slot,
                        start: a.min(b),
                        loop_start: a.min(b),
                        loop_end: a.max(b),
                        end_frac: 0.0,
                        looping,
                        gain,
                        speed,
                        bpm: speed * 100.0,
                        sync: looping,
                        in_phase: true,
                        key_lock: false,
                        transpose: 0.0,
                        mode: [
                            LaunchMode::Toggle,
                            LaunchMode::Gate,
                            LaunchMode::OneShot,
                            LaunchMode::Retrigger,
                        ][mode as usize],
                        choke: mode,
                        quantize: None,
                        fx: PadFx {
                            eq: [gain, speed, 0.5],
                            ..PadFx::default()
                        },
                        stems: Default::default(),
                    }),
                )
            }),
        pad.clone().prop_map(|p| Command::Pad(p, PadCmd::Clear)),
        (0u16..8).prop_map(Command::Unload),
        number().prop_map(Command::MasterVolume),
        number().prop_map(Command::GlobalSpeed),
        (pad.clone(), number()).prop_map(|(p, v)| Command::Pad(p, PadCmd::Gain(v))),
        (pad.clone(), number()).prop_map(|(p, v)| Command::Pad(p, PadCmd::Speed(v))),
        (pad.clone(), 0u8..4, number()).prop_map(|(p, b, v)| Command::Pad(p, PadCmd::Eq(b, v))),
        (pad.clone(), number()).prop_map(|(p, v)| Command::Pad(p, PadCmd::Filter(v))),
        (pad.clone(), number()).prop_map(|(p, v)| Command::Pad(p, PadCmd::Resonance(v))),
        (pad.clone(), any::<bool>(), number()).prop_map(|(p, d, v)| Command::Pad(
            p,
            PadCmd::Send(if d { SendBus::Delay } else { SendBus::Reverb }, v)
        )),
        (0usize..11, number()).prop_map(|(i, v)| Command::Fx(FxParam::ALL[i.min(9)], v)),
        any::<bool>().prop_map(|e| Command::PlayMode(if e {
            PlayMode::Exclusive
        } else {
            PlayMode::Multi
        })),
        (0usize..11, number()).prop_map(|(i, v)| Command::Transport(match i {
            0 => TransportCmd::Start,
            1 => TransportCmd::Stop,
            2 => TransportCmd::Continue,
            3 => TransportCmd::Toggle,
            4 => TransportCmd::Tempo(v as f64 * 100.0),
            5 => TransportCmd::TempoNow(v as f64 * 100.0),
            6 => TransportCmd::Glide(v * 1000.0),
            7 => TransportCmd::Nudge(v),
            8 => TransportCmd::Locate(v as f64 * 10.0),
            9 => TransportCmd::Tap,
            _ => TransportCmd::LatePress(v * 100.0),
        })),
        (pad.clone(), proptest::option::of(any::<bool>()))
            .prop_map(|(p, s)| Command::Pad(p, PadCmd::Sync(s))),
        (
            pad.clone(),
            0usize..7,
            0u8..9,
            proptest::option::of(any::<bool>()),
            number()
        )
            .prop_map(|(p, k, s, on, v)| Command::Pad(
                p,
                PadCmd::Stem(match k {
                    0 => StemCmd::Stems(on),
                    1 => StemCmd::Mute(s, on),
                    2 => StemCmd::Solo(s, on),
                    3 => StemCmd::SoloOnly(s),
                    4 => StemCmd::Gain(s, v),
                    5 => StemCmd::Gain(s, v * 1e3),
                    _ => StemCmd::Reset,
                })
            )),
        (0usize..5).prop_map(|i| Command::Quantize(
            [
                Quantize::Off,
                Quantize::Beat,
                Quantize::Bar,
                Quantize::TwoBars,
                Quantize::FourBars
            ][i]
        )),
    ];
    (
        prop_oneof![Just(0u64), 0u64..20_000, Just(u64::MAX / 2)],
        cmd,
    )
}
