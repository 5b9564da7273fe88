//! Profile validation: a deliberately broken example with the exact errors it must produce.

use padlooper::config::profile::Profile;
use std::path::Path;

#[test]
fn the_broken_example_profile_reports_every_problem() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/broken-profile.toml");
    let errs: Vec<String> = Profile::load(&path)
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.to_string())
        .collect();
    let p = path.display();
    let expected = vec![
        format!("{p}: `init` entry \"F0 00 20 GG F7\": \"GG\" is not a hex byte"),
        format!(
            "{p}: `init` entry \"90 3C 7F\" is not a SysEx message (F0 ... F7, data bytes below 80)"
        ),
        format!("{p}:6:1: `channel` = 17 is out of range; allowed 1 to 16"),
        format!("{p}:6:1: grid cell row 1, col 0 gives note 130; notes must be 0 to 127"),
        format!("{p}:6:1: grid cell row 1, col 1 gives note 131; notes must be 0 to 127"),
        format!("{p}:18:1: action `bank` needs `bank` = 0 to 15"),
        format!("{p}:22:1: note 121 on channel 1 is already used on line 6"),
        format!("{p}:26:1: column actions need `col` = 0 to 15"),
        format!("{p}:30:1: cc 10 on channel 1 is already used on line 18"),
        format!(
            "{p}: [leds] of a profile with a [grid] needs every pad state: empty, loaded, playing, queued_start, queued_stop, selected, error"
        ),
    ];
    assert_eq!(errs, expected, "\ngot:\n{}", errs.join("\n"));
}

#[test]
fn unknown_actions_and_keys_list_what_is_allowed() {
    let e = Profile::parse(
        Path::new("p.toml"),
        "name = \"x\"\nports = [\"x\"]\n[[button]]\naction = \"stop_everything\"\ncc = 1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("p.toml:4:10: unknown variant `stop_everything`, expected one of `bank_prev`, `bank_next`"), "{e}");
    let e = Profile::parse(Path::new("p.toml"), "name = \"x\"\nports = [\"x\"]\n[[control]]\naction = \"master_volume\"\ncc = 1\nchanel = 2\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("p.toml:6:1: unknown field `chanel`, expected one of"),
        "{e}"
    );
    let e = Profile::parse(Path::new("p.toml"), "name = \"x\"\nports = []\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`ports` needs at least one non-empty port-name substring"),
        "{e}"
    );
}

#[test]
fn led_looks_device_facts_and_rings_are_validated_with_their_line() {
    let base = "name = \"x\"\nports = [\"x\"]\n";
    let err = |body: &str| {
        Profile::parse(Path::new("p.toml"), &format!("{base}{body}"))
            .unwrap_err()
            .to_string()
    };
    let e = err(
        "[leds]\nbutton_on = []\nbutton_off = { channel = 1, value = 0 }\n[[button]]\naction = \"stop_all\"\ncc = 1\n",
    );
    assert!(
        e.starts_with("p.toml:4:13: an LED look needs at least one"),
        "{e}"
    );
    let e = err(
        "[leds]\nbutton_on = [{ channel = 17, value = 1 }, { channel = 1, value = 1 }]\nbutton_off = { channel = 1, value = 0 }\n[[button]]\naction = \"stop_all\"\ncc = 1\n",
    );
    assert!(
        e.contains("[leds] `button_on`: channel or value out of range"),
        "{e}"
    );
    let e = err("[device]\nunlit = [\"pad 3\"]\n[[button]]\naction = \"stop_all\"\ncc = 1\n");
    assert!(
        e.starts_with(
            "p.toml:3:1: [device] `unlit`: \"pad 3\" is not a control; write \"note N\" or \"cc N\""
        ),
        "{e}"
    );
    let e = err("[device]\nmode_query = \"F0 01 F7\"\n[[button]]\naction = \"stop_all\"\ncc = 1\n");
    assert!(
        e.contains("`mode_query`, `mode_report` and `mode_expect` go together"),
        "{e}"
    );
    let e = err(
        "[device]\nmode_report = \"F0 01\"\nmode_expect = \"F0 02 00 F7\"\n[[button]]\naction = \"stop_all\"\ncc = 1\n",
    );
    assert!(
        e.contains("`mode_expect` must start with `mode_report`"),
        "{e}"
    );
    let e = err(
        "[[control]]\naction = \"bpm\"\ncc = 13\nrelative = true\nring = { cc = 21, style = 1 }\n",
    );
    assert!(
        e.starts_with("p.toml:3:1: a relative (endless) control has no position to show"),
        "{e}"
    );
    // A light on a control without an LED parses, with a warning at its line.
    let p = Profile::parse(
        Path::new("p.toml"),
        &format!("{base}[device]\nunlit = [\"cc 1\"]\n[leds]\nbutton_on = {{ channel = 1, value = 1 }}\nbutton_off = {{ channel = 1, value = 0 }}\n[[button]]\naction = \"tap_tempo\"\ncc = 1\nled = true\n"),
    )
    .unwrap();
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.warnings[0]
            .to_string()
            .starts_with("p.toml:8:1: button `tap_tempo` (cc 1) asks for a light, but [device] `unlit` says this control has no LED"),
        "{}",
        p.warnings[0]
    );
}
