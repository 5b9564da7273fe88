//! The documentation says what the code does: README's first set plays, every set key, script
//! command, controller action, command-line command and parameter range is in `docs/`, and
//! every link between the pages leads somewhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut out = vec![(root().join("README.md"), String::new())];
    let mut dirs = vec![root().join("docs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push((p, String::new()));
            }
        }
    }
    for (p, text) in out.iter_mut() {
        *text = std::fs::read_to_string(&*p).unwrap();
    }
    out
}

/// Everything under docs/ as one text.
fn guide() -> String {
    pages()
        .into_iter()
        .filter(|(p, _)| p.starts_with(root().join("docs")))
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

fn page(name: &str) -> String {
    std::fs::read_to_string(root().join("docs").join(name)).unwrap()
}

/// The names in a "expected one of `a`, `b`, ..." message.
fn expected_names(message: &str) -> Vec<String> {
    let tail = message
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no list of names in: {message}"));
    tail.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_parameter_table_is_the_codes() {
    let docs = guide();
    for p in padlooper::engine::params::ALL {
        let row = p.doc_row();
        assert!(docs.contains(&row), "docs/ lack the row:\n{row}");
    }
    for r in padlooper::engine::params::INT_ALL {
        let row = r.doc_row();
        assert!(docs.contains(&row), "docs/ lack the row:\n{row}");
    }
}

#[test]
fn the_readme_is_short_and_its_first_set_plays_a_wav_on_the_top_left_pad() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines <= 200, "README.md has {lines} lines");
    assert!(readme.starts_with("# padlooper\n\n```sh\nmake demo"));
    // The set and the script exactly as a reader copies them.
    let set_text = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|t| t.split("```").next())
        .expect("a TOML block");
    let script = readme
        .lines()
        .find_map(|l| l.trim().strip_prefix("echo \""))
        .and_then(|l| l.split('"').next())
        .expect("the echo line of the render example");
    let dir = tmp();
    // A 4-s loop of 8 beats (120 BPM) at 44.1 kHz: the reader's own file.
    write_wav16(
        &dir.path().join("my-loop.wav"),
        44_100,
        4.0,
        sine(220.0, 0.5),
    );
    let set = set_in(dir.path(), set_text);
    assert_eq!(set.pads.len(), 1);
    assert_eq!((set.pads[0].bank, set.pads[0].index), (0, 0));
    let (out, report) = render_set(&set, script, 3.0);
    assert!(report.errors.is_empty(), "{}", report.error_text());
    let l = left(&out.samples, 0.5, 2.5);
    assert!(rms(&l) > 0.2, "the pad plays: rms {}", rms(&l));
    let f = freq(&l);
    assert!(
        (f - 220.0).abs() < 1.0,
        "at its own pitch (synced at 120 BPM): {f} Hz"
    );
}

#[test]
fn every_set_key_is_documented() {
    let sets = page("sets.md");
    let dir = tmp();
    for section in ["[master]", "[grid]", "[fx]", "[[pad]]"] {
        let p = dir.path().join("set.toml");
        std::fs::write(&p, format!("{section}\nno_such_key = 1\n")).unwrap();
        let e = padlooper::config::SetFile::load(&p)
            .unwrap_err()
            .to_string();
        for key in expected_names(&e) {
            assert!(
                sets.contains(&format!("{key} ="))
                    || sets.contains(&format!("`{key}`"))
                    || sets.contains(&format!("# {key} =")),
                "docs/sets.md does not document {section} `{key}`"
            );
        }
    }
}

#[test]
fn every_script_command_is_documented() {
    let scripts = page("pads-and-scripts.md");
    for part in padlooper::config::script::SCRIPT_COMMANDS.split(", ") {
        for verb in part.split_whitespace().next().unwrap().split('|') {
            // In the example script: a time, then the command.
            let shown = scripts.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next().is_some_and(|t| t.parse::<f64>().is_ok()) && w.next() == Some(verb)
            });
            assert!(
                shown || scripts.contains(&format!("alias: {verb}")),
                "docs/pads-and-scripts.md does not document the script command `{verb}`"
            );
        }
    }
}

#[test]
fn every_controller_action_is_documented() {
    let controllers = page("controllers.md");
    for (table, key) in [("button", "note = 1"), ("control", "cc = 1")] {
        let text = format!(
            "name = \"x\"\nports = [\"x\"]\n[[{table}]]\naction = \"no_such_action\"\n{key}\n"
        );
        let e = padlooper::config::profile::Profile::parse(Path::new("p.toml"), &text)
            .unwrap_err()
            .to_string();
        for action in expected_names(&e) {
            assert!(
                controllers.contains(&format!("`{action}`")),
                "docs/controllers.md does not document the {table} action `{action}`"
            );
        }
    }
}

#[test]
fn every_command_is_documented() {
    let commands = page("commands.md");
    let help = Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let names: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .collect();
    assert!(names.len() >= 8, "{help}");
    for n in names {
        assert!(
            commands.contains(&format!("`padlooper {n}")),
            "docs/commands.md does not document `padlooper {n}`"
        );
    }
}

/// GitHub's anchor for a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fence = false;
    let mut out = BTreeSet::new();
    for l in text.lines() {
        if l.starts_with("```") {
            fence = !fence;
        }
        if !fence && l.starts_with('#') {
            out.insert(anchor(l.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_link_between_the_pages_leads_somewhere() {
    let mut checked = 0;
    for (page, text) in pages() {
        let dir = page.parent().unwrap();
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap();
            if target.starts_with("http") || target.contains(' ') {
                continue;
            }
            let (file, frag) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target, None),
            };
            let file = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            assert!(
                file.exists(),
                "{}: the link to {target} leads nowhere",
                page.display()
            );
            if let Some(a) = frag {
                let there = std::fs::read_to_string(&file).unwrap();
                assert!(
                    anchors(&there).contains(a),
                    "{}: {target}: {} has no heading #{a}",
                    page.display(),
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} links found");
}

#[test]
fn the_test_files_the_docs_name_exist() {
    let tests = page("dev/tests.md");
    let mut named = 0;
    for part in tests.split("`tests/").skip(1) {
        let path = part.split('`').next().unwrap();
        if path.ends_with(".rs") {
            assert!(
                root().join("tests").join(path).exists(),
                "docs/dev/tests.md names tests/{path}, which does not exist"
            );
            named += 1;
        }
    }
    assert!(named > 20, "{named}");
}

/// Colours of the Launchpad palette values the shipped Launchpad profiles use, as Novation's
/// programmer's reference shows them (the picture fails to draw a value missing here).
const LAUNCHPAD_RGB: &[(u8, &str)] = &[
    (0, "#202020"),
    (3, "#FFFFFF"),
    (5, "#FF2020"),
    (13, "#FFFF00"),
    (15, "#7A7A10"),
    (21, "#20FF20"),
];

/// The picture of a Launchpad's grid in every pad state, drawn from the launchpad-x profile's
/// LED looks: a look's colour is its first message's palette value; channel 2 flashes between
/// the look's two colours (drawn split), channel 3 pulses (drawn with a dim ring).
fn pad_state_picture() -> String {
    use padlooper::config::profile::Profile;
    let profile = Profile::find("launchpad-x").unwrap();
    let looks = profile.leds.as_ref().unwrap().pad_looks();
    let names = [
        "empty",
        "loaded",
        "playing",
        "queued to start",
        "queued to stop",
        "selected",
        "error",
    ];
    let rgb = |v: u8| {
        LAUNCHPAD_RGB
            .iter()
            .find(|(x, _)| *x == v)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("palette value {v} has no colour in LAUNCHPAD_RGB"))
    };
    // A moment of a performance on an 8x8 bank: the state of each cell (index into `names`).
    let scene: [[usize; 8]; 8] = [
        [2, 2, 1, 1, 0, 0, 0, 0],
        [1, 2, 1, 3, 0, 0, 0, 0],
        [1, 1, 4, 1, 0, 0, 0, 0],
        [5, 1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 6, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ];
    let cell = |x: usize, y: usize, state: usize, size: usize| -> String {
        let look = looks[state].expect("every pad state has a look");
        let specs = look.specs();
        let first = rgb(specs[0].value);
        let (px, py) = (x, y);
        let mut s = format!(
            r##"<rect x="{px}" y="{py}" width="{size}" height="{size}" rx="6" fill="{first}" stroke="#444" stroke-width="2"/>"##
        );
        if let Some(second) = specs.get(1) {
            // Flashing between two colours: the second as the lower-right half.
            let c = rgb(second.value);
            let (x2, y2) = (px + size, py + size);
            s += &format!(
                r#"<path d="M{x2} {py} L{x2} {y2} L{px} {y2} Z" fill="{c}" opacity="0.95"/>"#
            );
        } else if specs[0].channel == 3 {
            // Pulsing: a dim ring around the bright centre.
            let (cx, cy, r) = (px + size / 2, py + size / 2, size / 2 - 6);
            s += &format!(
                r##"<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#0A4A0A" stroke-width="6"/>"##
            );
        }
        s
    };
    let mut svg = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="430" viewBox="0 0 640 430" font-family="sans-serif" font-size="15">
<rect width="640" height="430" fill="#111"/>
<text x="16" y="26" fill="#EEE" font-size="17">Launchpad pad LEDs (from mappings/launchpad-x.toml)</text>
"##,
    );
    for (r, row) in scene.iter().enumerate() {
        for (c, &state) in row.iter().enumerate() {
            svg += &cell(16 + c * 46, 44 + r * 46, state, 40);
            svg += "\n";
        }
    }
    for (i, name) in names.iter().enumerate() {
        let y = 52 + i * 50;
        svg += &cell(420, y, i, 34);
        let look = looks[i].unwrap();
        let how = match (look.specs().len(), look.specs()[0].channel) {
            (2, _) => "flashing",
            (_, 3) => "pulsing",
            _ => "steady",
        };
        svg += &format!(
            "<text x=\"466\" y=\"{}\" fill=\"#EEE\">{name} ({how})</text>\n",
            y + 23
        );
    }
    svg += "</svg>\n";
    svg
}

#[test]
fn the_pad_state_picture_is_the_profiles() {
    let path = root().join("docs/img/pad-states-launchpad.svg");
    let svg = pad_state_picture();
    if std::env::var_os("PADLOOPER_WRITE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &svg).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == svg,
        "{} is not the picture of the profile's LED looks; run `PADLOOPER_WRITE_DOCS=1 cargo test --test suite docs::the_pad_state_picture` and commit it",
        path.display()
    );
    assert!(page("controllers.md").contains("img/pad-states-launchpad.svg"));
}
