//! Bad files and bad configuration: one clear message each, and everything else keeps playing.

use crate::common::*;
use padlooper::config::SetFile;
use padlooper::config::script::Script;
use std::path::Path;

fn set_errors(body: &str) -> Vec<String> {
    let err = SetFile::parse(Path::new("/sets/live.toml"), body).expect_err("should fail");
    err.0.iter().map(|e| e.to_string()).collect()
}

#[test]
fn corrupt_missing_and_empty_files_are_reported_and_the_rest_plays() {
    let dir = tmp();
    write_wav16(&path(&dir, "good.wav"), RATE, 1.0, sine(440.0, 0.5));
    std::fs::write(
        path(&dir, "corrupt.wav"),
        b"RIFF\x10\x00\x00\x00WAVEfmt garbage garbage garbage",
    )
    .unwrap();
    std::fs::write(path(&dir, "noise.mp3"), vec![0x5Au8; 4000]).unwrap();
    write_wav16(&path(&dir, "empty.wav"), RATE, 0.0, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"good.wav\"\n\
         [[pad]]\npad = 1\nfile = \"corrupt.wav\"\n\
         [[pad]]\npad = 2\nfile = \"missing.wav\"\n\
         [[pad]]\npad = 3\nfile = \"empty.wav\"\n\
         [[pad]]\npad = 4\nfile = \"noise.mp3\"\n",
    );
    let (out, report) = render_set(
        &set,
        "0.0 press 0 0\n0.0 press 0 1\n0.0 press 0 2\n0.0 press 0 3\n",
        1.0,
    );
    assert_eq!(report.pads_ready(), 1);
    assert_eq!(report.errors.len(), 4, "{:#?}", report.errors);
    let all = report.error_text();
    let d = dir.path().display();
    assert!(all.contains(&format!("{d}/corrupt.wav: ")), "{all}");
    assert!(
        all.contains(&format!("{d}/missing.wav: cannot open file")),
        "{all}"
    );
    assert!(
        all.contains(&format!("{d}/empty.wav: file contains no audio frames")),
        "{all}"
    );
    assert!(all.contains(&format!("{d}/noise.mp3: ")), "{all}");
    // Each names the set line of the pad using it.
    assert!(
        all.contains(&format!(
            "(used by {d}/set.toml:4: bank 0 pad 1); those pads stay empty"
        )),
        "{all}"
    );
    // The good pad plays.
    assert!(peak(&left(&out.samples, 0.1, 0.9)) > 0.45);
}

#[test]
fn unknown_key_names_file_line_and_allowed_keys() {
    let e =
        set_errors("[master]\nvolume = 0.5\n\n[[pad]]\npad = 1\nfile = \"a.wav\"\ngian_db = 3\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("/sets/live.toml:7:1: unknown field `gian_db`, expected one of"),
        "{}",
        e[0]
    );
    assert!(e[0].contains("`gain_db`"), "{}", e[0]);
}

#[test]
fn out_of_range_values_name_the_key_and_the_range() {
    let e = set_errors("[master]\nvolume = 5\n");
    assert_eq!(
        e,
        vec!["/sets/live.toml:2:10: `volume` = 5 is out of range; allowed 0 to 2".to_string()]
    );
    let e = set_errors("[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = 3.5\n");
    assert_eq!(
        e,
        vec!["/sets/live.toml:4:9: `speed` = 3.5 is out of range; allowed 0.5 to 2".to_string()]
    );
    let e = set_errors("[[pad]]\npad = 0\nfile = \"a.wav\"\nmode = \"hold\"\n");
    assert!(e[0].starts_with("/sets/live.toml:4:8: unknown variant `hold`, expected one of `toggle`, `gate`, `oneshot`, `retrigger`"), "{}", e[0]);
    let e = set_errors("[master]\nbuffer_size = 4\n");
    assert_eq!(
        e,
        vec![
            "/sets/live.toml:2:15: `buffer_size` = 4 is out of range; allowed 16 to 8192"
                .to_string()
        ]
    );
}

#[test]
fn semantic_errors_are_all_reported_with_lines() {
    let body = "[grid]\nbanks = 2\n\
                [[pad]]\nbank = 3\npad = 0\nfile = \"a.wav\"\n\
                [[pad]]\npad = 64\nfile = \"a.wav\"\n\
                [[pad]]\npad = 1\n\
                [[pad]]\npad = 2\nfile = \"a.wav\"\nloop_start = 2.0\nloop_end = 1.0\n\
                [[pad]]\npad = 3\nfile = \"a.wav\"\n\
                [[pad]]\npad = 3\nfile = \"b.wav\"\n";
    let e = set_errors(body);
    assert_eq!(
        e,
        vec![
            "/sets/live.toml:3:1: `bank` = 3 but the grid has 2 banks; allowed 0 to 1",
            "/sets/live.toml:7:1: `pad` = 64 but a bank has 64 pads; allowed 0 to 63",
            "/sets/live.toml:10:1: a [[pad]] needs exactly one of `file` or `builtin` (or `stems`)",
            "/sets/live.toml:16:1: `loop_end` = 1 must be after `loop_start` = 2",
            "/sets/live.toml:20:1: bank 0 pad 3 is already assigned on line 17",
        ]
    );
}

#[test]
fn syntax_errors_point_at_the_line() {
    let e = set_errors("[master]\nvolume = = 1\n");
    assert!(e[0].starts_with("/sets/live.toml:2:"), "{}", e[0]);
}

#[test]
fn region_beyond_the_sample_is_reported_and_other_pads_play() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\nloop_end = 2.0\n[[pad]]\npad = 1\nfile = \"s.wav\"\n",
    );
    let (out, report) = render_set(&set, "0.0 press 0 0\n0.0 press 0 1\n", 0.5);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .contains("set.toml:4: bank 0 pad 0: `loop_end` = 2 s is beyond the end of"),
        "{}",
        report.errors[0]
    );
    assert!(peak(&left(&out.samples, 0.1, 0.5)) > 0.45);
}

#[test]
fn script_errors_name_every_bad_line() {
    let grid = Default::default();
    let text = "0.0 press 0 0\n1.0 presss 0 0\nx stop 0 0\n2.0 press 0 99\n3.0 master 7\n";
    let e = Script::parse(Path::new("perf.txt"), text, &grid).unwrap_err();
    let lines: Vec<String> = e.0.iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("perf.txt:2:1: unknown command \"presss\"; known: press|trigger"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("perf.txt:3:1: time \"x\" is not a number of seconds"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("perf.txt:4:1: pad 99 does not exist; allowed 0 to 63"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("perf.txt:5:1: `volume` = 7 is out of range; allowed 0 to 2"),
        "{}",
        lines[3]
    );
}

/// Thousands of bad pads are reported in linear time (the text is scanned for lines once, not
/// once per error), and the message shows the first hundred and counts the rest.
#[test]
fn many_errors_cost_one_scan_and_show_a_hundred() {
    let text: String = (0..20_000)
        .map(|_| "[[pad]]\npad = 0\nbuiltin = \"drums\"\n")
        .collect();
    let before = padlooper::config::error::line_scans();
    let e =
        padlooper::config::SetFile::parse(std::path::Path::new("many.toml"), &text).unwrap_err();
    let scans = padlooper::config::error::line_scans() - before;
    assert_eq!(e.0.len(), 19_999);
    assert!(
        scans <= 2,
        "{scans} scans of the text for {} errors",
        e.0.len()
    );
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 101);
    assert!(shown.starts_with("many.toml:4:1: bank 0 pad 0 is already assigned on line 1"));
    assert!(
        shown.ends_with("... and 19899 more errors (fix these first)"),
        "{shown}"
    );
}

/// Messages that read right: the key that is wrong, what it got and what is allowed, at the
/// line it is on; never a whole huge value; a file name that differs only in case or accents.
#[test]
fn messages_name_the_key_the_range_and_the_line() {
    let one = |body: &str| {
        let e = set_errors(body);
        assert_eq!(e.len(), 1, "{e:?}");
        e[0].clone()
    };
    assert_eq!(
        one("[[pad]]\npad = 0\nrow = 1\ncol = 2\nbuiltin = \"drums\"\n"),
        "/sets/live.toml:1:1: a [[pad]] has both `pad` and `row`/`col`; give only one: `pad = N`, or `row` and `col`"
    );
    assert_eq!(
        one("[[pad]]\npad = -3\nbuiltin = \"drums\"\n"),
        "/sets/live.toml:2:7: `pad` = integer `-3`: expected a whole number (0 or more); allowed 0 to 255"
    );
    assert_eq!(
        one("[[pad]]\npad = 0\nbuiltin = \"drums\"\nspeed = \"fast\"\n"),
        "/sets/live.toml:4:9: `speed` = string \"fast\": expected a number; allowed 0.5 to 2"
    );
    assert_eq!(
        one("[grid]\nbanks = 2\nrows = 40\n"),
        "/sets/live.toml:3:8: `rows` = 40 is out of range; allowed 1 to 16"
    );
    assert_eq!(
        one("[[pad]]\npad = 0\nbuiltin = \"drums\"\nloop_start = 1.5\nloop_end = 1.0\n"),
        "/sets/live.toml:5:1: `loop_end` = 1 must be after `loop_start` = 1.5"
    );
    assert_eq!(
        one("[[pad]]\npad = 0\nfile = \"\"\n"),
        "/sets/live.toml:3:1: `file` is empty; give the sample's path (relative to the set's folder)"
    );
    let huge = format!(
        "[[pad]]\npad = 0\nbuiltin = \"{}\"\n",
        "x".repeat(5_000_000)
    );
    let e = one(&huge);
    assert!(e.len() < 400, "{} bytes", e.len());
    assert!(e.contains("... (4999960 more characters)"), "{}", &e[..200]);
}

#[test]
fn load_time_messages_point_at_the_key_and_hint_at_near_names() {
    use unicode_normalization::UnicodeNormalization;
    let dir = tmp();
    write_wav16(&path(&dir, "Kick.wav"), RATE, 0.5, sine(440.0, 0.5));
    let nfd: String = "café.wav".nfd().collect();
    write_wav16(&dir.path().join(&nfd), RATE, 0.5, sine(440.0, 0.5));
    write_wav16(&path(&dir, "short.wav"), RATE, 1.0, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"kick.wav\"\n\
         [[pad]]\npad = 1\nfile = \"café.wav\"\n\
         [[pad]]\npad = 2\nfile = \"short.wav\"\nspeed = 1.0\nloop_end = 99\n",
    );
    let (_, report) = render_set(&set, "", 0.1);
    let all = report.error_text();
    let d = dir.path().display();
    assert!(
        all.contains(&format!(
            "{d}/kick.wav: no such file, but \"Kick.wav\" is there (the name differs in letter case"
        )),
        "{all}"
    );
    assert!(
        all.contains("café.wav: no such file, but \"cafe\\u{301}.wav\" is there"),
        "{all}"
    );
    // `loop_end` is on line 11 of the set, the pad's entry on line 7.
    assert!(
        all.contains(&format!(
            "{d}/set.toml:11: bank 0 pad 2: `loop_end` = 99 s is beyond the end"
        )),
        "{all}"
    );
}
