//! `padlooper run` as an appliance service, through the real cpal/ALSA path with ALSA's
//! `null` and `file` plugins: it waits for an audio device instead of exiting, starts playing
//! when one appears, falls back to the last good set (or the demo) when the set file is broken,
//! keeps systemd's watchdog fed while it waits, and stops cleanly on SIGTERM.

use crate::common::*;

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_padlooper"))
}

const NULL_DEVICE: &str = "pcm.nullout { type null }\npcm.!default { type file slave.pcm \"nullout\" file \"/dev/null\" format \"raw\" }\n";

/// The text of the last good copy kept in `state` (the one `last-good-*.toml`), or "".
fn kept_copy(state: &std::path::Path) -> String {
    std::fs::read_dir(state)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("last-good-"))
        })
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// Sends SIGTERM and waits for a clean exit; returns the status and the log.
fn terminate(child: Child) -> (std::process::ExitStatus, String) {
    crate::common::process::stop(child, libc::SIGTERM)
}

#[test]
fn the_service_waits_for_an_audio_device_and_plays_when_it_appears() {
    let dir = tmp();
    let conf = path(&dir, "asound.conf");
    // No device at all, as when the USB interface has not enumerated yet.
    std::fs::write(&conf, "# no devices\n").unwrap();
    let sock_path = path(&dir, "notify");
    let messages = crate::common::process::listen_notify(UnixDatagram::bind(&sock_path).unwrap());
    // A set whose file is broken: the service plays the demo instead of giving up.
    std::fs::write(path(&dir, "set.toml"), "[master]\nvolume = \"loud\"\n").unwrap();
    let child = bin()
        .env("ALSA_CONFIG_PATH", &conf)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "200000")
        .env("PADLOOPER_STATE_DIR", path(&dir, "state"))
        .args(["run", "--service", "--set"])
        .arg(path(&dir, "set.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Up and waiting, then three seconds without a device: still running, said once.
    let mut got = crate::common::process::notify_until(&messages, |m| m.starts_with("READY=1"));
    std::thread::sleep(Duration::from_millis(3000));
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "the service exited");
    // The device appears (ALSA re-reads a changed configuration file): it plays.
    std::fs::write(&conf, NULL_DEVICE).unwrap();
    got.extend(crate::common::process::notify_until(&messages, |m| {
        m.starts_with("READY=1\nSTATUS=Default Audio Device 48000 Hz")
    }));
    assert!(child.try_wait().unwrap().is_none(), "the service exited");
    let (status, err) = terminate(child);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("set.toml:2:"),
        "the set's error names file and line: {err}"
    );
    assert!(
        err.contains("playing the built-in demo set instead"),
        "{err}"
    );
    assert_eq!(
        err.matches("waiting for one").count(),
        1,
        "one line for the wait, not one per second: {err}"
    );
    assert!(err.contains("an audio device is here"), "{err}");
    assert!(err.contains("playing as a service"), "{err}");
    assert!(!err.contains("ALSA lib"), "libasound noise leaked: {err}");
    got.extend(crate::common::process::notify_until(&messages, |m| {
        m == "STOPPING=1"
    }));
    assert_eq!(
        got.first().map(String::as_str),
        Some("READY=1\nSTATUS=waiting for an audio device"),
        "{got:?}"
    );
    // The watchdog was fed while waiting (every 100 ms) and while playing.
    let pings = got.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(pings >= 20, "{pings} keep-alives: {got:?}");
    assert!(
        got.iter()
            .any(|m| m.starts_with("READY=1\nSTATUS=Default Audio Device 48000 Hz")),
        "{got:?}"
    );
    assert_eq!(got.last().map(String::as_str), Some("STOPPING=1"));
}

#[test]
fn without_service_mode_a_missing_device_is_an_error() {
    let dir = tmp();
    std::fs::write(path(&dir, "empty.conf"), "# no devices\n").unwrap();
    let out = bin()
        .env("ALSA_CONFIG_PATH", path(&dir, "empty.conf"))
        .env_remove("NOTIFY_SOCKET")
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no audio output device found"), "{err}");
}

#[test]
fn a_device_list_takes_the_first_that_is_present() {
    let dir = tmp();
    let conf = path(&dir, "asound.conf");
    std::fs::write(&conf, NULL_DEVICE).unwrap();
    std::fs::write(
        path(&dir, "set.toml"),
        "[master]\ndevice = [\"No Such Interface\", \"default\"]\n[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
    )
    .unwrap();
    let child = bin()
        .env("ALSA_CONFIG_PATH", &conf)
        .env_remove("NOTIFY_SOCKET")
        .args(["run", "--set"])
        .arg(path(&dir, "set.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (status, err) = terminate(child);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("audio: Default Audio Device at 48000 Hz"),
        "{err}"
    );
    // A wrong type is a clear error.
    std::fs::write(path(&dir, "bad.toml"), "[master]\ndevice = 3\n").unwrap();
    let out = bin()
        .args(["check", "--set"])
        .arg(path(&dir, "bad.toml"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("`device` must be a name or a list of names"),
        "{text}"
    );
}

#[test]
fn sighup_reloads_the_set_in_place_and_rejects_a_broken_one() {
    let dir = tmp();
    let conf = path(&dir, "asound.conf");
    std::fs::write(&conf, NULL_DEVICE).unwrap();
    let sock_path = path(&dir, "notify");
    let messages = crate::common::process::listen_notify(UnixDatagram::bind(&sock_path).unwrap());
    let set = path(&dir, "set.toml");
    let body = |gain: f32| {
        format!(
            "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n[[pad]]\npad = 1\nbuiltin = \"sine440\"\ngain_db = {gain}\n"
        )
    };
    std::fs::write(&set, body(0.0)).unwrap();
    let child = bin()
        .env("ALSA_CONFIG_PATH", &conf)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("PADLOOPER_STATE_DIR", path(&dir, "state"))
        .args(["run", "--service", "--set"])
        .arg(&set)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let hup = |pid: u32| unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    let mut got = crate::common::process::notify_until(&messages, |m| {
        m.starts_with("READY=1\nSTATUS=Default Audio Device")
    });
    // One pad changed: applied, the other untouched.
    std::fs::write(&set, body(-6.0)).unwrap();
    assert_eq!(hup(child.id()), 0);
    got.extend(crate::common::process::notify_until(&messages, |m| {
        m == "RELOADING=1"
    }));
    got.extend(crate::common::process::notify_until(&messages, |m| {
        m.starts_with("READY=1")
    }));
    // A broken set: rejected, the old one plays on.
    std::fs::write(&set, "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nspeed = 9\n").unwrap();
    assert_eq!(hup(child.id()), 0);
    got.extend(crate::common::process::notify_until(&messages, |m| {
        m == "RELOADING=1"
    }));
    got.extend(crate::common::process::notify_until(&messages, |m| {
        m.starts_with("READY=1")
    }));
    let (status, err) = terminate(child);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("1 pad(s) changed, 1 unchanged (still playing), 0 removed"),
        "{err}"
    );
    assert!(
        err.contains("set.toml:4:"),
        "the broken set's error names file and line: {err}"
    );
    assert!(
        err.contains("was not loaded; the set that plays is kept"),
        "{err}"
    );
    // The last good copy is the reloaded set, not the broken one.
    let kept = kept_copy(&path(&dir, "state"));
    assert!(kept.contains("gain_db = -6"), "{kept}");
}

#[test]
fn a_set_on_a_usb_stick_plays_at_start_and_when_plugged_in() {
    let dir = tmp();
    let conf = path(&dir, "asound.conf");
    std::fs::write(&conf, NULL_DEVICE).unwrap();
    let media = path(&dir, "media");
    std::fs::create_dir_all(&media).unwrap();
    let set = path(&dir, "set.toml");
    std::fs::write(&set, "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n").unwrap();
    let stick_set =
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n[[pad]]\npad = 1\nbuiltin = \"sine440\"\n";
    let start = |sock: &std::path::Path| {
        bin()
            .env("ALSA_CONFIG_PATH", &conf)
            .env("NOTIFY_SOCKET", sock)
            .env("PADLOOPER_STATE_DIR", path(&dir, "state"))
            .env("PADLOOPER_USB_ROOTS", &media)
            .args(["run", "--service", "--set"])
            .arg(&set)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // No stick: the configured set; then a stick is plugged in (mounted as media/STICK).
    let sock = path(&dir, "notify1");
    let messages = crate::common::process::listen_notify(UnixDatagram::bind(&sock).unwrap());
    let child = start(&sock);
    crate::common::process::notify_until(&messages, |m| m.starts_with("READY=1\nSTATUS=Default"));
    let folder = media.join("STICK").join("padlooper");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("set.toml"), stick_set).unwrap();
    crate::common::process::notify_until(&messages, |m| m == "RELOADING=1");
    crate::common::process::notify_until(&messages, |m| m.starts_with("READY=1"));
    let (status, err) = terminate(child);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("a USB stick with a set was plugged in"),
        "{err}"
    );
    assert!(
        err.contains("1 pad(s) changed, 1 unchanged (still playing)"),
        "{err}"
    );
    // Started with the stick in: its set plays from the start.
    let sock = path(&dir, "notify2");
    let messages = crate::common::process::listen_notify(UnixDatagram::bind(&sock).unwrap());
    let child = start(&sock);
    crate::common::process::notify_until(&messages, |m| m.starts_with("READY=1\nSTATUS=Default"));
    let (status, err) = terminate(child);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(err.contains("playing the set on the USB stick"), "{err}");
    assert!(err.contains("2 pads ready"), "{err}");
    // The stick's set is not remembered as the configured set's last good copy.
    let kept = kept_copy(&path(&dir, "state"));
    assert!(!kept.contains("pad = 1"), "{kept}");
}

#[test]
fn without_systemd_the_last_good_copy_is_kept_per_set_and_plays_from_any_folder() {
    let dir = tmp();
    let conf = path(&dir, "asound.conf");
    std::fs::write(&conf, NULL_DEVICE).unwrap();
    let sets = path(&dir, "sets");
    std::fs::create_dir_all(&sets).unwrap();
    write_wav16(&sets.join("tone.wav"), RATE, 1.0, sine(440.0, 0.3));
    std::fs::write(
        sets.join("a.toml"),
        "[[pad]]\npad = 0\nfile = \"tone.wav\"\n",
    )
    .unwrap();
    std::fs::write(
        sets.join("b.toml"),
        "[[pad]]\npad = 3\nbuiltin = \"drums\"\n",
    )
    .unwrap();
    let xdg = path(&dir, "xdg");
    let run = |cwd: &std::path::Path, set: &str| {
        let sock = path(&dir, &format!("notify-{}", set.replace('/', "-")));
        let _ = std::fs::remove_file(&sock);
        let messages = crate::common::process::listen_notify(UnixDatagram::bind(&sock).unwrap());
        let child = bin()
            .current_dir(cwd)
            .env("ALSA_CONFIG_PATH", &conf)
            .env("NOTIFY_SOCKET", &sock)
            .env_remove("STATE_DIRECTORY")
            .env_remove("PADLOOPER_STATE_DIR")
            .env("XDG_STATE_HOME", &xdg)
            .args(["run", "--service", "--set", set])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        crate::common::process::notify_until(&messages, |m| {
            m.starts_with("READY=1\nSTATUS=Default")
        });
        terminate(child)
    };
    // Two sets, started by relative paths: each keeps its own copy, under its absolute path.
    let (status, err) = run(dir.path(), "sets/a.toml");
    assert!(status.success(), "{err}");
    let (status, err) = run(&sets, "b.toml");
    assert!(status.success(), "{err}");
    let state = xdg.join("padlooper");
    let copies: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(copies.len(), 2, "one copy per set: {copies:?}");
    let a = copies.iter().find(|c| c.contains("tone.wav")).unwrap();
    let abs = std::fs::canonicalize(sets.join("a.toml")).unwrap();
    assert!(
        a.starts_with(&format!(
            "# padlooper: the last good copy of {}\n",
            abs.display()
        )),
        "{a}"
    );
    // Set a breaks; started from another folder, its own last good copy plays, samples found.
    std::fs::write(
        sets.join("a.toml"),
        "[[pad]]\npad = 0\nfile = \"tone.wav\"\nspeed = 9\n",
    )
    .unwrap();
    let (status, err) = run(std::path::Path::new("/"), abs.to_str().unwrap());
    assert!(status.success(), "{err}");
    assert!(err.contains("playing the last set that loaded"), "{err}");
    assert!(
        err.contains("1 pads ready") && !err.contains("cannot open"),
        "{err}"
    );
}

#[test]
fn a_reload_that_finds_a_fifo_is_refused_and_sigterm_still_stops_the_service() {
    let dir = tmp();
    let conf = path(&dir, "asound.conf");
    std::fs::write(&conf, NULL_DEVICE).unwrap();
    let sock = path(&dir, "notify");
    let messages = crate::common::process::listen_notify(UnixDatagram::bind(&sock).unwrap());
    let set = path(&dir, "set.toml");
    std::fs::write(&set, "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n").unwrap();
    let child = bin()
        .env("ALSA_CONFIG_PATH", &conf)
        .env("NOTIFY_SOCKET", &sock)
        .env("PADLOOPER_STATE_DIR", path(&dir, "state"))
        .args(["run", "--service", "--set"])
        .arg(&set)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::common::process::notify_until(&messages, |m| m.starts_with("READY=1\nSTATUS=Default"));
    std::fs::remove_file(&set).unwrap();
    let c = std::ffi::CString::new(set.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGHUP) }, 0);
    crate::common::process::notify_until(&messages, |m| m == "RELOADING=1");
    crate::common::process::notify_until(&messages, |m| m.starts_with("READY=1"));
    let (status, err) = terminate(child);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("set.toml: this is a FIFO (named pipe), not a set file"),
        "{err}"
    );
    assert!(err.contains("the set that plays is kept"), "{err}");
}

#[test]
fn no_audio_runs_the_engine_paced_by_the_clock_without_a_sound_card() {
    let dir = tmp();
    std::fs::write(path(&dir, "empty.conf"), "# no devices\n").unwrap();
    let child = bin()
        .env("ALSA_CONFIG_PATH", path(&dir, "empty.conf"))
        .env("XDG_CACHE_HOME", path(&dir, "cache"))
        .env_remove("NOTIFY_SOCKET")
        .env_remove("RUST_LOG")
        .args(["-v", "demo", "--no-audio"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let (status, err) = crate::common::process::stop(child, libc::SIGTERM);
    let wall = t0.elapsed().as_secs_f64();
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("audio: no audio (paced by the clock) at 48000 Hz"),
        "{err}"
    );
    // The demo played (its pads started and bars went by) at the pace of the clock: the last
    // engine event is no later than the time that passed (a free-running engine would be
    // minutes ahead), and bars came about every 2 s (120 BPM).
    let frames: Vec<u64> = err
        .lines()
        .filter_map(|l| l.split("frame: ").nth(1))
        .filter_map(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    assert!(err.contains("PadStarted"), "{err}");
    let last = *frames.iter().max().expect("engine events");
    assert!(
        last as f64 <= (wall + 0.5) * 48_000.0,
        "{last} frames in {wall:.1} s"
    );
    let bars = err.lines().filter(|l| l.contains("kind: Bar(")).count();
    assert!((1..=3).contains(&bars), "{bars} bars in {wall:.1} s\n{err}");
}
