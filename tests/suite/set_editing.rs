//! Set files edited in place (comments and layout kept, round trip byte for byte) and what
//! changes between two sets (`control::set::diff`).

use std::path::Path;

use padlooper::config::SetFile;
use padlooper::config::set::writer::{PadPlace, SetWriter};
use padlooper::control::set::diff::{PadChange, Restart, diff};
use padlooper::control::set::loader::engine_settings;

const COMMENTED: &str = r#"# My set for Friday.
[master]
volume = 0.8   # not too loud
bpm    = 124.0 # the drummer's tempo
quantize = "bar"

[grid]
rows = 4
cols = 4

# Drums first.
[[pad]]
row = 0
col = 1
builtin = "drums"
beats = 8

[[pad]]
pad = 5        # the bass
builtin = "bass"
beats = 8
gain_db = -3.0

[[pad]]
bank = 1
pad = 0
builtin = "stab"
mode = "oneshot"

[fx]
delay_wet = 0.5
"#;

fn parse(text: &str) -> SetFile {
    SetFile::parse(Path::new("/sets/friday.toml"), text).expect("a valid set")
}

fn sets() -> Vec<String> {
    let deploy = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/set.toml"))
        .expect("deploy/set.toml");
    vec![
        COMMENTED.to_string(),
        deploy,
        String::new(),
        "[master]\n".into(),
    ]
}

#[test]
fn an_untouched_set_round_trips_byte_for_byte() {
    for text in sets() {
        let w = SetWriter::parse("set.toml", &text).unwrap();
        assert_eq!(w.text(), text);
    }
}

#[test]
fn edits_change_only_their_lines_and_keep_the_comments() {
    let mut w = SetWriter::parse("friday.toml", COMMENTED).unwrap();
    w.set("master", "bpm", 128.0).unwrap();
    // Pad 1 of bank 0 is written as row 0, col 1 in a 4-wide grid.
    let drums = PadPlace { bank: 0, index: 1 };
    w.set_pad(drums, 4, "gain_db", -6.0).unwrap();
    w.set_pad(PadPlace { bank: 0, index: 5 }, 4, "gain_db", 0.0)
        .unwrap();
    assert!(w.remove_pad(PadPlace { bank: 1, index: 0 }, 4));
    assert!(!w.remove_pad(PadPlace { bank: 3, index: 3 }, 4));
    w.set_pad(PadPlace { bank: 0, index: 9 }, 4, "builtin", "clap")
        .unwrap();
    let text = w.text();
    for kept in [
        "# My set for Friday.",
        "volume = 0.8   # not too loud",
        "bpm    = 128.0 # the drummer's tempo",
        "# Drums first.",
        "pad = 5        # the bass",
        "gain_db = 0.0",
        "delay_wet = 0.5",
    ] {
        assert!(text.contains(kept), "lost {kept:?} in:\n{text}");
    }
    assert!(!text.contains("stab"), "{text}");
    let set = parse(&text);
    assert_eq!(set.master.bpm, 128.0);
    let pad = |id: usize| set.pads.iter().find(|p| p.id == id).expect("pad");
    assert_eq!(pad(1).gain_db, -6.0);
    assert_eq!(pad(5).gain_db, 0.0);
    assert!(pad(9).source.to_string().contains("clap"));
    assert!(!set.pads.iter().any(|p| p.bank == 1));
    // Every line of the original that was not edited is still there, in order.
    let edited: Vec<&str> = text.lines().collect();
    let mut at = 0;
    for line in COMMENTED.lines() {
        if line.contains("bpm") || line.contains("gain_db") || line.contains("stab") {
            continue;
        }
        if line.starts_with("bank = 1") || line == "pad = 0" || line.starts_with("mode = ") {
            continue;
        }
        match edited[at..].iter().position(|l| *l == line) {
            Some(i) => at += i + 1,
            None => panic!("line {line:?} moved or went missing:\n{text}"),
        }
    }
}

#[test]
fn a_broken_file_is_refused_with_its_name() {
    let e = SetWriter::parse("friday.toml", "[master\nbpm = 1")
        .err()
        .expect("refused");
    assert!(
        e.to_string().starts_with("friday.toml: not a TOML file"),
        "{e}"
    );
    let mut w = SetWriter::parse("friday.toml", "pad = 3\n").unwrap();
    let e = w
        .set_pad(PadPlace { bank: 0, index: 0 }, 8, "gain_db", 1.0)
        .unwrap_err();
    assert!(e.to_string().contains("`pad` is not a table"), "{e}");
}

#[test]
fn the_change_between_two_sets_is_typed_per_pad() {
    let old = parse(COMMENTED);
    let mut w = SetWriter::parse("friday.toml", COMMENTED).unwrap();
    w.set_pad(PadPlace { bank: 0, index: 5 }, 4, "gain_db", -9.0)
        .unwrap();
    w.set_pad(PadPlace { bank: 0, index: 1 }, 4, "builtin", "hats")
        .unwrap();
    w.remove_pad(PadPlace { bank: 1, index: 0 }, 4);
    w.set_pad(PadPlace { bank: 0, index: 2 }, 4, "builtin", "clap")
        .unwrap();
    let new = parse(&w.text());
    let have = engine_settings(&old, 48000);
    let change = diff(&old, &new, &have);
    assert_eq!(
        change.pads,
        vec![
            (1, PadChange::Sample),
            (2, PadChange::Added),
            (5, PadChange::Settings),
            (16, PadChange::Removed),
        ]
    );
    assert!(!change.master && !change.fx && change.restart.is_empty());
    assert!(diff(&old, &old, &have).is_empty());

    // Master and effect changes, and what waits for a restart.
    w.set("master", "bpm", 100.0).unwrap();
    w.set("fx", "delay_wet", 0.25).unwrap();
    w.set("master", "voices", 24).unwrap();
    let new = parse(&w.text());
    let change = diff(&old, &new, &have);
    assert!(change.master && change.fx);
    assert_eq!(change.restart, vec![Restart::Voices(24)]);
    assert!(!change.blocked(), "voices change at the next start");
    // A larger grid than the engine was made with cannot be applied before a restart.
    w.set("grid", "rows", 8).unwrap();
    let change = diff(&old, &parse(&w.text()), &have);
    assert!(change.blocked());
    assert!(
        change
            .restart_list()
            .contains("a larger grid (256 pads, 128 now)"),
        "{}",
        change.restart_list()
    );
}
