//! Random bytes, cut SysEx and running-status streams through the parser and a controller:
//! no panic, no stuck note, and valid messages around the garbage still map.

use std::sync::Arc;

use padlooper::config::SetFile;
use padlooper::config::profile::Profile;
use padlooper::engine::command::PadCmd;
use padlooper::engine::command::{Command, Timed};
use padlooper::midi::controller::{Controller, DeviceState};
use padlooper::midi::parser::{MidiMessage, MidiParser};
use padlooper::midi::state::SharedControl;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Garbage that never contains a complete channel message for the grid: random data bytes,
/// real-time bytes, cut SysEx, lone status bytes.
fn garbage(rng: &mut Rng) -> Vec<u8> {
    let mut g = Vec::new();
    for _ in 0..(rng.next() % 40) {
        match rng.next() % 6 {
            0 => g.push(0xF8 + (rng.byte() % 8)),
            1 => g.extend_from_slice(&[0xF0, rng.byte() & 0x7F, rng.byte() & 0x7F]), // cut SysEx
            2 => g.push(0xF0),
            3 => g.push(0xF7),
            4 => g.push(0x80 | (rng.byte() % 0x70)), // a status byte with no data
            _ => g.push(rng.byte() & 0x7F),
        }
    }
    g
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut p = MidiParser::new();
    let mut n = 0usize;
    for _ in 0..200_000 {
        let chunk: Vec<u8> = (0..(rng.next() % 64)).map(|_| rng.byte()).collect();
        p.feed(&chunk, |m| {
            n += 1;
            if let MidiMessage::SysEx(v) = m {
                assert!(v.first() == Some(&0xF0) && v.last() == Some(&0xF7));
            }
        });
    }
    assert!(n > 0);
}

#[test]
fn valid_messages_around_garbage_still_map_and_no_note_sticks() {
    let set = SetFile::parse(
        std::path::Path::new("s.toml"),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n",
    )
    .unwrap();
    let stats = Arc::new(padlooper::engine::shared::EngineStats::new(
        set.grid.total_pads(),
    ));
    stats
        .pads
        .set(0, padlooper::engine::shared::PadState::Loaded);
    let shared = Arc::new(SharedControl::new(&set, 48_000, stats));
    let profile = Arc::new(Profile::find("launchpad-x").unwrap());
    let mut c = Controller::new(profile, shared, Arc::new(DeviceState::default()));
    let mut rng = Rng(42);
    for round in 0..5_000 {
        let mut out: Vec<Timed> = Vec::new();
        let mut bytes = garbage(&mut rng);
        // Press, garbage (possibly ending in a cut message), release with running status.
        bytes.extend_from_slice(&[0x90, 81, 100]);
        bytes.extend(garbage(&mut rng));
        bytes.extend_from_slice(&[0x90, 81, 0]);
        if round % 2 == 0 {
            // Running status: a second press and release without repeating the status byte.
            bytes.extend_from_slice(&[0x90, 81, 90, 81, 0]);
        }
        c.feed(&bytes, 0, &mut |t| out.push(t));
        let presses = out
            .iter()
            .filter(|t| t.cmd == Command::Pad(0, PadCmd::Press))
            .count();
        let last = out.iter().rev().find(|t| {
            matches!(
                t.cmd,
                Command::Pad(0, PadCmd::Press) | Command::Pad(0, PadCmd::Release)
            )
        });
        assert!(
            presses >= 1,
            "round {round}: the press after garbage maps ({bytes:02X?})"
        );
        // Garbage may itself hold valid notes (running status makes `51 42` a note-on), but the
        // final note-off always maps last, so the gate pad is released.
        assert_eq!(
            last.map(|t| t.cmd),
            Some(Command::Pad(0, PadCmd::Release)),
            "round {round}: {bytes:02X?}"
        );
        if round < 200 {
            assert!(engine_ends_silent(&out), "round {round}: pad left playing");
        }
    }
}

/// Plays the commands into a real engine (gate pad 0) and checks it ends silent.
fn engine_ends_silent(cmds: &[Timed]) -> bool {
    use padlooper::engine::Engine;
    let set = SetFile::parse(
        std::path::Path::new("s.toml"),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n",
    )
    .unwrap();
    let (mut engine, mut handle) = Engine::new(padlooper::control::set::loader::engine_settings(
        &set, 48_000,
    ))
    .unwrap();
    padlooper::control::set::loader::load_set(&set, &mut handle, 0, &|_, _| {});
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    for t in cmds {
        handle.send(*t).unwrap();
    }
    for _ in 0..10 {
        engine.process(&mut buf);
    }
    buf.iter().all(|v| *v == 0.0)
}
