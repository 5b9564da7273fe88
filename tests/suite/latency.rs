//! `padlooper latency`, the round-trip self-test, against a simulated loopback with a known
//! round trip (the paced output fed back to the engine's input a set number of frames later):
//! it finds it to the frame, keeps it for recording, and says clearly when there is nothing to
//! measure or the signal does not come back.

use std::process::{Command, Output};

use crate::common::tmp;

fn latency(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .arg("latency")
        .args(args)
        .env("PADLOOPER_STATE_DIR", dir.join("state"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The frames `round trip: N frames` reports.
fn round_trip(o: &Output) -> i64 {
    let t = text(o);
    let line = t
        .lines()
        .find(|l| l.starts_with("round trip: "))
        .unwrap_or_else(|| panic!("{t}"));
    line["round trip: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_round_trip_of_a_simulated_loopback_is_found_to_the_frame_and_kept() {
    let dir = tmp();
    let set = dir.path().join("set.toml");
    for (buffer, delay) in [(256usize, 300usize), (128, 1_000)] {
        std::fs::write(&set, format!("[master]\nbuffer_size = {buffer}\n")).unwrap();
        let d = delay.to_string();
        let o = latency(
            dir.path(),
            &[
                "--set",
                set.to_str().unwrap(),
                "--simulate",
                &d,
                "--runs",
                "3",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        // The loop is the delay plus the block the output renders before it is heard.
        let want = (delay + buffer) as i64;
        let got = round_trip(&o);
        assert!((got - want).abs() <= 1, "{got} vs {want}:\n{}", text(&o));
        let t = text(&o);
        assert!(t.contains("spread ±0.0 frames"), "{t}");
        assert!(t.contains("pad to sound:"), "{t}");
        // Kept for recording on these devices, at this rate and these buffers.
        let kept = padlooper::control::latency::lookup(
            &dir.path().join("state"),
            padlooper::audio::output::PACED_NAME,
            &format!("simulated loopback, {delay} frames"),
            48_000,
            [buffer as u32, 0],
        )
        .unwrap_or_else(|| panic!("not kept:\n{t}"));
        assert_eq!(kept.frames as i64, got);
    }
    // Both measurements are kept, side by side.
    assert_eq!(
        padlooper::control::latency::kept(&dir.path().join("state")).len(),
        2
    );
}

#[test]
fn without_an_input_or_a_returning_signal_it_says_what_to_do() {
    let dir = tmp();
    let set = dir.path().join("set.toml");
    std::fs::write(&set, "[master]\nbuffer_size = 256\n").unwrap();
    let o = latency(dir.path(), &["--set", set.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no audio input to measure"),
        "{}",
        text(&o)
    );
    // A loop longer than the test looks (a second): the burst does not come back.
    let o = latency(
        dir.path(),
        &[
            "--set",
            set.to_str().unwrap(),
            "--simulate",
            "60000",
            "--runs",
            "1",
        ],
    );
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("did not come back") && t.contains("cable"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");
    assert!(!dir.path().join("state/latency.toml").exists());
}
