//! The `padlooper` binary end to end.

use crate::common::*;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_padlooper"))
}

fn read_wav(p: &std::path::Path) -> (hound::WavSpec, Vec<f32>) {
    let mut r = hound::WavReader::open(p).unwrap();
    let spec = r.spec();
    (spec, r.samples::<f32>().map(|s| s.unwrap()).collect())
}

/// Every line of a JSON-lines file.
fn json_lines(p: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An event line as `render --events` writes it.
fn event(frame: u64, time: f64, name: &str, pad: usize) -> serde_json::Value {
    serde_json::json!({"frame": frame, "time": time, "event": name, "bank": 0, "pad": pad})
}

#[test]
fn render_of_the_demo_performance_has_the_expected_content() {
    let dir = tmp();
    let wav = path(&dir, "demo.wav");
    let ev = path(&dir, "demo.jsonl");
    let st = bin()
        .args(["render", "-o"])
        .arg(&wav)
        .arg("--events")
        .arg(&ev)
        .status()
        .unwrap();
    assert!(st.success());
    let (spec, s) = read_wav(&wav);
    assert_eq!((spec.channels, spec.sample_rate), (2, 48_000));
    assert_eq!(s.len(), 2 * 43 * 48_000);
    // Every 4-second section of the performance has sound; nothing clips.
    for k in 0..10 {
        let x = left(&s, k as f64 * 4.0, k as f64 * 4.0 + 4.0);
        assert!(rms(&x) > 0.02, "section {k} rms {}", rms(&x));
    }
    assert!(peak(&s) < 1.0, "peak {}", peak(&s));
    // Drums alone in the first 4 s; the 440 Hz test pad never plays.
    assert!(tone(&left(&s, 0.0, 4.0), 440.0) < 0.01);
    let lines = json_lines(&ev);
    assert_eq!(lines[0], event(0, 0.0, "pad_started", 0));
    assert!(lines.contains(&event(192_000, 4.0, "pad_started", 1)));
    assert!(lines.contains(&event(192_000, 4.0, "pad_looped", 0)));
    assert!(lines.contains(&event(960_000, 20.0, "pad_stopped", 0)));
    // Deterministic: a second render is bit-identical.
    let wav2 = path(&dir, "demo2.wav");
    assert!(
        bin()
            .args(["render", "-o"])
            .arg(&wav2)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(std::fs::read(&wav).unwrap(), std::fs::read(&wav2).unwrap());
}

#[test]
fn render_with_a_set_and_a_script() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), 44_100, 1.0, sine(440.0, 0.5));
    std::fs::write(
        path(&dir, "set.toml"),
        "[[pad]]\nbank = 1\nrow = 2\ncol = 3\nfile = \"s.wav\"\n",
    )
    .unwrap();
    std::fs::write(
        path(&dir, "perf.txt"),
        "# test\n0.5 press 1 19\n1.5 stop 1 19\n",
    )
    .unwrap();
    let wav = path(&dir, "o.wav");
    let st = bin()
        .args(["render", "--set"])
        .arg(path(&dir, "set.toml"))
        .arg("--script")
        .arg(path(&dir, "perf.txt"))
        .args(["--seconds", "2", "-o"])
        .arg(&wav)
        .status()
        .unwrap();
    assert!(st.success());
    let (_, s) = read_wav(&wav);
    assert_eq!(peak(&left(&s, 0.0, 0.5)), 0.0);
    let x = left(&s, 0.6, 1.4);
    assert!((freq(&x) - 440.0).abs() < 1.0 && (peak(&x) - 0.5).abs() < 0.01);
    assert_eq!(peak(&left(&s, 1.51, 2.0)), 0.0);
}

#[test]
fn check_reports_errors_and_exits_non_zero() {
    let dir = tmp();
    std::fs::write(
        path(&dir, "set.toml"),
        "[master]\nvolume = 0.5\nvolme = 1\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--set"])
        .arg(path(&dir, "set.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("set.toml:3:1: unknown field `volme`, expected one of `volume`"),
        "{err}"
    );

    std::fs::write(
        path(&dir, "ok.toml"),
        "[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
    )
    .unwrap();
    std::fs::write(path(&dir, "bad.txt"), "0 press 0 0\n1 jump\n").unwrap();
    let out = bin()
        .args(["check", "--set"])
        .arg(path(&dir, "ok.toml"))
        .arg("--script")
        .arg(path(&dir, "bad.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.txt:2:1: unknown command \"jump\""));

    let out = bin().args(["check"]).output().unwrap();
    assert!(out.status.success(), "the demo set is valid");
}

#[test]
fn demo_without_an_audio_device_says_so_and_renders_instead() {
    let dir = tmp();
    // An ALSA configuration with no default device: like a machine without a sound card.
    std::fs::write(path(&dir, "empty.conf"), "# no devices\n").unwrap();
    let wav = path(&dir, "fallback.wav");
    let out = bin()
        .env("ALSA_CONFIG_PATH", path(&dir, "empty.conf"))
        .args(["demo", "--fallback"])
        .arg(&wav)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: no audio output device found;"),
        "{err}"
    );
    assert!(first.contains("padlooper render"), "{err}");
    assert!(!err.contains("ALSA lib"), "libasound noise leaked: {err}");
    let (_, s) = read_wav(&wav);
    assert_eq!(s.len(), 2 * 43 * 48_000);
}

#[test]
fn render_replays_a_midi_file_through_a_profile_and_records_leds() {
    let dir = tmp();
    std::fs::write(
        path(&dir, "set.toml"),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
    )
    .unwrap();
    // Launchpad X session: pad 0 (top-left, note 81) pressed at 0.5 s and again at 1.5 s.
    let smf = padlooper::midi::smf::write_smf(&[
        (0.5, vec![0x90, 81, 127]),
        (0.6, vec![0x90, 81, 0]),
        (1.5, vec![0x90, 81, 127]),
        (1.6, vec![0x90, 81, 0]),
    ])
    .unwrap();
    std::fs::write(path(&dir, "session.mid"), smf).unwrap();
    let (wav, ev, leds) = (
        path(&dir, "o.wav"),
        path(&dir, "e.jsonl"),
        path(&dir, "leds.jsonl"),
    );
    let st = bin()
        .args(["render", "--set"])
        .arg(path(&dir, "set.toml"))
        .arg("--midi")
        .arg(path(&dir, "session.mid"))
        .args(["--profile", "launchpad-x", "-o"])
        .arg(&wav)
        .arg("--events")
        .arg(&ev)
        .arg("--leds")
        .arg(&leds)
        .status()
        .unwrap();
    assert!(st.success());
    let (_, s) = read_wav(&wav);
    assert_eq!(
        s.len(),
        2 * (4.6f64 * 48_000.0).round() as usize,
        "MIDI length + 3 s"
    );
    assert_eq!(peak(&left(&s, 0.0, 0.49)), 0.0);
    assert!((peak(&left(&s, 0.6, 1.4)) - 0.5).abs() < 0.01);
    assert_eq!(peak(&left(&s, 1.51, 2.0)), 0.0);
    let events = json_lines(&ev);
    assert!(
        events.contains(&event(24_000, 0.5, "pad_started", 0)),
        "{events:?}"
    );
    assert!(
        events.contains(&event(72_000, 1.5, "pad_stopped", 0)),
        "{events:?}"
    );
    let lines = json_lines(&leds);
    let bytes = |l: &serde_json::Value| l["bytes"].clone();
    assert_eq!(lines[0]["time"], 0.0);
    assert_eq!(
        bytes(&lines[0]),
        serde_json::json!(["F0", "00", "20", "29", "02", "0C", "0E", "01", "F7"])
    );
    let loaded = serde_json::json!(["90", "51", "0F"]);
    assert!(
        lines.iter().any(|l| bytes(l) == loaded),
        "pad 0 loaded (dim yellow)"
    );
    let playing = lines
        .iter()
        .position(|l| bytes(l) == serde_json::json!(["92", "51", "15"]))
        .expect("playing LED");
    let stopped = lines.iter().rposition(|l| bytes(l) == loaded).unwrap();
    assert!(stopped > playing, "back to loaded after the stop");
    let t = lines[playing]["time"].as_f64().unwrap();
    assert!((0.5..0.52).contains(&t), "{t}");
}

#[test]
fn devices_runs_without_sound_card_or_midi() {
    let out = bin().arg("devices").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("audio outputs") && text.contains("MIDI"),
        "{text}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ALSA lib"));
}

#[test]
fn run_plays_through_alsa_and_stops_cleanly_on_ctrl_c() {
    let dir = tmp();
    std::fs::write(
        path(&dir, "asound.conf"),
        "pcm.nullout { type null }\npcm.!default { type file slave.pcm \"nullout\" file \"/dev/null\" format \"raw\" }\n",
    )
    .unwrap();
    // Under systemd: readiness, status, watchdog keep-alives and stopping reach the socket.
    let notify_path = path(&dir, "notify");
    let rx = crate::common::process::listen_notify(
        std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap(),
    );
    let child = bin()
        .env("ALSA_CONFIG_PATH", path(&dir, "asound.conf"))
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "200000")
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut got = crate::common::process::notify_until(&rx, |m| m.starts_with("READY=1"));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, err) = crate::common::process::stop(child, libc::SIGINT);
    got.extend(crate::common::process::notify_until(&rx, |m| {
        m == "STOPPING=1"
    }));
    assert!(status.success(), "{status:?}\n{err}");
    // Under systemd, `run` is a service by itself.
    assert!(err.contains("playing as a service"), "{err}");
    assert!(err.contains("stopping"), "{err}");
    assert!(err.contains("milestone: audio up"), "{err}");
    // The audio thread's priority is reported once, granted or with what to do.
    assert_eq!(err.matches("audio thread: ").count(), 1, "{err}");
    let ready = got.iter().position(|m| m.starts_with("READY=1")).unwrap();
    assert!(got[ready].contains(" Hz | load "), "{got:?}");
    let pings = got[ready..].iter().filter(|m| *m == "WATCHDOG=1").count();
    // 1.5 s after READY with a 200 ms watchdog: a keep-alive every 100 ms while audio advances.
    assert!(pings >= 5, "{pings} keep-alives: {got:?}");
    assert_eq!(
        got.last().map(String::as_str),
        Some("STOPPING=1"),
        "{got:?}"
    );
}

#[test]
fn check_warns_about_a_light_on_a_control_without_an_led() {
    let out = bin()
        .args(["check", "--profile"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/nanokontrol2-unlit.toml"
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings are not errors: {err}");
    assert!(
        stdout.contains("OK (Korg nanoKONTROL2, 3 warning(s))"),
        "{stdout}"
    );
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 3, "{err}");
    assert!(
        warnings[0].contains("nanokontrol2-unlit.toml:")
            && warnings[0].contains("button `transport_toggle` (cc 60) asks for a light"),
        "{err}"
    );
}

#[test]
fn damaged_midi_files_are_warned_about_or_refused() {
    let dir = tmp();
    let good = padlooper::midi::smf::write_smf(&[
        (0.1, vec![0x90, 81, 127]),
        (0.2, vec![0x80, 81, 0]),
        (0.5, vec![0x90, 82, 127]),
        (0.6, vec![0x80, 82, 0]),
    ])
    .unwrap();
    let run = |bytes: &[u8]| {
        let p = path(&dir, "m.mid");
        std::fs::write(&p, bytes).unwrap();
        let out = bin()
            .args([
                "render",
                "--seconds",
                "1",
                "--profile",
                "launchpad-x",
                "--midi",
            ])
            .arg(&p)
            .arg("-o")
            .arg(path(&dir, "o.wav"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run(&good);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("WARN"), "{err}");
    // Cut to 40 bytes: what is there plays, with one warning naming the file.
    let (code, err) = run(&good[..40]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("m.mid: the file is cut short"), "{err}");
    // Division 0.
    let mut zero = good.clone();
    zero[12] = 0;
    zero[13] = 0;
    let (_, err) = run(&zero);
    assert!(
        err.contains("m.mid: its division is 0 ticks per beat"),
        "{err}"
    );
    // A tempo of 0 µs per beat (FF 51 03 00 00 00) at the start of the track.
    let mut t = good[..22].to_vec();
    t.extend_from_slice(&[0x00, 0xFF, 0x51, 0x03, 0x00, 0x00, 0x00]);
    t.extend_from_slice(&good[22..]);
    let len = u32::from_be_bytes([t[18], t[19], t[20], t[21]]) + 7;
    t[18..22].copy_from_slice(&len.to_be_bytes());
    let (code, err) = run(&t);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("m.mid: it sets a tempo of 0"), "{err}");
    // Random bytes: refused, naming the file.
    let noise: Vec<u8> = (0..500u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (code, err) = run(&noise);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("m.mid") && err.contains("not a valid Standard MIDI File"),
        "{err}"
    );
}

/// Runs padlooper with `args`; kills it (and fails) if it has not finished within `secs`.
fn run_bounded(args: &[&std::ffi::OsStr], secs: u64) -> (Option<i32>, String) {
    let mut child = bin()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (s.code(), err);
        }
        if t0.elapsed().as_secs() > secs {
            let _ = child.kill();
            panic!("padlooper {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn fifos_and_endless_files_as_inputs_are_refused_at_once() {
    let dir = tmp();
    let fifo = path(&dir, "pipe.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = path(&dir, "o.wav");
    let zero = std::path::Path::new("/dev/zero");
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec!["check".as_ref(), "--set".as_ref(), fifo.as_os_str()],
            "pipe.toml: this is a FIFO (named pipe), not a set file",
        ),
        (
            vec!["check".as_ref(), "--profile".as_ref(), fifo.as_os_str()],
            "pipe.toml: this is a FIFO (named pipe), not a profile file",
        ),
        (
            vec![
                "render".as_ref(),
                "--script".as_ref(),
                fifo.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
            "pipe.toml: this is a FIFO (named pipe), not a script file",
        ),
        (
            vec!["check".as_ref(), "--set".as_ref(), zero.as_os_str()],
            "/dev/zero: this is a device, not a set file",
        ),
        (
            vec![
                "render".as_ref(),
                "--script".as_ref(),
                zero.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
            "/dev/zero: this is a device, not a script file",
        ),
    ];
    for (args, want) in cases {
        let (code, err) = run_bounded(&args, 20);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A regular file that is far too big for a set: refused before it is read.
    let big = path(&dir, "big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(64 << 20).unwrap();
    let (code, err) = run_bounded(&["check".as_ref(), "--set".as_ref(), big.as_os_str()], 20);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("big.toml: 64.0 MB is more than a set file can be (16.0 MB)"),
        "{err}"
    );
    // A WAV given as a set is named as one.
    let wav = path(&dir, "x.wav");
    write_wav16(&wav, RATE, 0.1, sine(440.0, 0.1));
    let (code, err) = run_bounded(&["check".as_ref(), "--set".as_ref(), wav.as_os_str()], 20);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("x.wav: this is a WAV audio file, not a set file"),
        "{err}"
    );
}

#[test]
fn render_never_overwrites_its_own_inputs() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(440.0, 0.3));
    std::fs::write(
        path(&dir, "set.toml"),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\n",
    )
    .unwrap();
    std::fs::write(path(&dir, "script.txt"), "0.0 press 0 0\n").unwrap();
    let before: Vec<Vec<u8>> = ["s.wav", "set.toml", "script.txt"]
        .iter()
        .map(|f| std::fs::read(path(&dir, f)).unwrap())
        .collect();
    // The sample through another name (a hard link): still refused.
    std::fs::hard_link(path(&dir, "s.wav"), path(&dir, "alias.wav")).unwrap();
    for (flag, target, what) in [
        ("-o", "set.toml", "-o would overwrite the set"),
        ("-o", "script.txt", "-o would overwrite the script"),
        ("-o", "alias.wav", "-o would overwrite a sample"),
        ("--events", "s.wav", "--events would overwrite a sample"),
    ] {
        let mut cmd = bin();
        cmd.args(["render", "--seconds", "0.5", "--set"])
            .arg(path(&dir, "set.toml"))
            .arg("--script")
            .arg(path(&dir, "script.txt"));
        if flag == "-o" {
            cmd.arg("-o").arg(path(&dir, target));
        } else {
            cmd.arg("-o")
                .arg(path(&dir, "out.wav"))
                .arg(flag)
                .arg(path(&dir, target));
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag} {target}: {err}");
        assert!(
            err.contains(what) && err.contains("render to another file"),
            "{err}"
        );
    }
    let after: Vec<Vec<u8>> = ["s.wav", "set.toml", "script.txt"]
        .iter()
        .map(|f| std::fs::read(path(&dir, f)).unwrap())
        .collect();
    assert!(before == after, "an input changed");
}
