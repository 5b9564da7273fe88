//! The built-in demo: a set of synthesised sounds ([`crate::sample::builtin`]) and an automatic
//! performance.

use std::path::PathBuf;

use crate::config::script::Script;
use crate::config::set::{FxSection, GridSection, MasterSection, PadSpec, PadTempo, SetFile};
use crate::engine::command::{LaunchMode, PadFx};
use crate::sample::SampleSource;

/// The demo performance, in the render-script format (bank 0; see `demo_set` for the pads).
pub const DEMO_SCRIPT: &str = "\
# padlooper demo performance: 120 BPM, loops are 2 bars (4 s)
0.0   press 0 0     # drums
4.0   press 0 1     # bass
8.0   press 0 2     # chords
12.0  press 0 3     # arp
14.0  press 0 8     # stab
15.0  press 0 8
16.0  press 0 10    # crash
19.5  press 0 9     # clap
20.0  stop 0 0      # drums out...
20.0  press 0 11    # ...sweep up
20.0  press 0 4     # hats keep time
24.0  stop 0 4
24.0  press 0 0     # drums back
24.0  press 0 10
26.0  eq 0 1 low 0.0  # bass kill...
27.5  eq 0 1 low 0.5  # ...and back
28.0  gain 0 2 -8   # chords down
28.0  filter 0 0 0.4   # low-pass sweep down on the drums
28.5  filter 0 0 0.3
29.0  filter 0 0 0.2
29.5  filter 0 0 0.12
31.9  filter 0 0 0.5   # open again on the downbeat
30.0  press 0 8
31.0  press 0 8
32.0  stop 0 3
36.0  stop 0 2
38.0  stop 0 1
40.0  stop 0 0
40.0  press 0 10
";

/// Length of the demo performance in seconds (including the last crash's tail).
pub const DEMO_SECONDS: f64 = 43.0;

/// The built-in demo set (sounds synthesised at load time).
pub fn demo_set() -> SetFile {
    let pads = [
        (0, "drums", LaunchMode::Toggle),
        (1, "bass", LaunchMode::Toggle),
        (2, "chords", LaunchMode::Toggle),
        (3, "arp", LaunchMode::Toggle),
        (4, "hats", LaunchMode::Toggle),
        (8, "stab", LaunchMode::OneShot),
        (9, "clap", LaunchMode::OneShot),
        (10, "crash", LaunchMode::OneShot),
        (11, "sweep", LaunchMode::OneShot),
        (16, "sine440", LaunchMode::Gate),
    ];
    let grid = GridSection::default();
    SetFile {
        path: PathBuf::from("<demo>"),
        master: MasterSection {
            volume: 0.8,
            ..MasterSection::default()
        },
        grid,
        fx: FxSection::default(),
        pads: pads
            .iter()
            .map(|&(index, name, mode)| PadSpec {
                id: grid.pad_id(0, index),
                bank: 0,
                index,
                source: SampleSource::Builtin(name.into()),
                mode,
                gain_db: if name == "sweep" { -4.0 } else { 0.0 },
                speed: 1.0,
                looping: mode != LaunchMode::OneShot,
                start: None,
                loop_start: 0.0,
                loop_end: None,
                choke: 0,
                quantize: None,
                // Every built-in loop is 2 bars of 4/4 (not synced: the demo plays them as
                // they are).
                tempo: if mode == LaunchMode::OneShot || name == "sine440" {
                    PadTempo::Unknown
                } else {
                    PadTempo::Beats(crate::sample::builtin::LOOP_BEATS)
                },
                sync: false,
                in_phase: true,
                key_lock: false,
                transpose: 0.0,
                fx: PadFx {
                    sends: sends(name),
                    ..PadFx::default()
                },
                stems: Default::default(),
                line: 0,
                grid_loop: None,
                loop_from_bar: 1,
                grid_offset: None,
                key_lines: Vec::new(),
            })
            .collect(),
    }
}

/// Delay and reverb sends of the demo's sounds.
fn sends(name: &str) -> [f32; 2] {
    match name {
        "chords" => [0.0, 0.35],
        "arp" => [0.3, 0.2],
        "stab" => [0.5, 0.3],
        "clap" => [0.0, 0.3],
        _ => [0.0, 0.0],
    }
}

/// The demo performance parsed against the demo grid.
pub fn demo_script() -> Script {
    // The script is a constant checked by a unit test, so parsing cannot fail at run time.
    Script::parse(
        std::path::Path::new("<demo-script>"),
        DEMO_SCRIPT,
        &GridSection::default(),
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_script_parses() {
        let s = crate::config::script::Script::parse(
            std::path::Path::new("x"),
            super::DEMO_SCRIPT,
            &Default::default(),
        )
        .unwrap();
        assert!(s.events.len() > 15);
        assert!(super::DEMO_SECONDS > s.duration());
    }
}
