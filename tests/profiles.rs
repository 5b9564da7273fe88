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
