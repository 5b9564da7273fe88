//! Ableton Link between real processes: two `padlooper run --no-audio` and `padlooper link`
//! peers (Link's own implementation on both sides), in a private network namespace the test
//! makes itself (`unshare -rn`, loopback up, a multicast route on it): discovery traffic never
//! reaches a real network. The script refuses to run when it sees any interface but `lo`.

use std::path::Path;
use std::process::Command;

use crate::common::{path, tmp};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_padlooper")
}

/// Runs `script` (sh) in a new user and network namespace with only loopback, multicast
/// routed on it. Panics with the script's output when it fails.
fn in_namespace(dir: &Path, script: &str) {
    let full = format!(
        "set -e\n\
         ip link set lo up\n\
         ip route add 224.0.0.0/4 dev lo\n\
         if [ \"$(ip -o link show | wc -l)\" != 1 ]; then\n\
           echo 'refusing to run: this is not a private network namespace'; exit 3\n\
         fi\n\
         cd '{}'\n{script}",
        dir.display()
    );
    let out = Command::new("unshare")
        .args(["-rn", "sh", "-c", &full])
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        out.status.success(),
        "the namespace script failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A set that plays nothing, with Link on at `bpm`.
fn link_set(dir: &Path, name: &str, bpm: f64) {
    std::fs::write(
        dir.join(name),
        format!("[master]\nbpm = {bpm}\nlink = true\nlink_start_stop = true\ntempo_glide_ms = 0\n"),
    )
    .unwrap();
}

/// The Link time (µs) a log line gives: `(at N µs)` or `heard at N µs`.
fn micros(line: &str) -> Option<f64> {
    let tail = line
        .split("(at ")
        .nth(1)
        .or_else(|| line.split("heard at ").nth(1))?;
    tail.split(' ').next()?.parse().ok()
}

/// Times of the log lines containing `what`.
fn times(log: &str, what: &str) -> Vec<f64> {
    log.lines()
        .filter(|l| l.contains(what))
        .filter_map(micros)
        .collect()
}

/// Bar lines of the session as the probe saw them (Link time, µs): the bar line before each
/// reading, from the probe's own Link timeline.
fn probe_bars(json: &str) -> Vec<f64> {
    json.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["bar_micros"].as_f64())
        .collect()
}

/// Distance from `t` to the nearest of `others`.
fn nearest(t: f64, others: &[f64]) -> f64 {
    others
        .iter()
        .map(|o| (o - t).abs())
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn two_padloopers_and_a_link_app_share_tempo_phase_and_start_stop() {
    let dir = tmp();
    let d = dir.path();
    link_set(d, "a.toml", 120.0);
    link_set(d, "b.toml", 100.0);
    let pl = bin();
    // A founds the session; B (another tempo) and the probe join it three seconds later (in
    // Link the older session wins when two meet, if it is more than half a second older; the
    // margin is for a loaded machine, where Link's own thread may start late). The probe starts the transport; A's tempo
    // changes by a reload; one short-lived app stops the session, another starts it again; B
    // quits and comes back.
    let script = format!(
        r#"
run() {{ XDG_CACHE_HOME="$PWD/cache-$1" XDG_STATE_HOME="$PWD/state-$1" exec "{pl}" -v run --no-audio --set "$PWD/$1.toml" >"$2" 2>&1; }}
run a a.log & A=$!
sleep 3
run b b1.log & B=$!
"{pl}" link --json --every 25 --seconds 66 --start --after 2 > probe.json 2>probe.err & P=$!
sleep 5
ls -l /proc/$A/fd | grep -c 'socket:' > a.sockets || true
sleep 9
sed -i 's/bpm = 120/bpm = 130/' a.toml
kill -HUP $A
sleep 9
kill -TERM $B; wait $B || true
sleep 2
run b b2.log & B=$!
sleep 6
"{pl}" link --stop --after 1.5 --seconds 2 > stop.out 2>&1
sleep 3
"{pl}" link --start --after 1.5 --seconds 2 > start.out 2>&1
wait $P
kill -TERM $A $B || true
wait $A || true
wait $B || true
"#
    );
    in_namespace(d, &script);
    let read = |n: &str| std::fs::read_to_string(path(&dir, n)).unwrap_or_default();
    let (a, b1, b2, probe) = (
        read("a.log"),
        read("b1.log"),
        read("b2.log"),
        read("probe.json"),
    );
    let all = format!("--- a\n{a}\n--- b1\n{b1}\n--- b2\n{b2}");

    // Link is on with its sockets open (the check below for Link off is meaningful).
    assert!(
        read("a.sockets").trim().parse::<u32>().unwrap_or(0) > 0,
        "{all}"
    );

    // Discovery within 2 s of switching Link on, both times B joined.
    let mut discovery = 0f64;
    for log in [&b1, &b2] {
        let on = times(log, "Ableton Link on")[0];
        let found = times(log, "link: 1 peer")
            .into_iter()
            .chain(times(log, "link: 2 peers"))
            .fold(f64::INFINITY, f64::min);
        assert!(
            found - on < 2e6,
            "peers found {} ms after Link went on\n{all}",
            (found - on) / 1e3
        );
        discovery = discovery.max(found - on);
    }

    // B took the session's tempo (A's 120, not its own 100), and A's reload to 130 reached B
    // within 100 ms.
    assert!(b1.contains("tempo 120.00 BPM from the session"), "{all}");
    let sent = times(&a, "tempo 130.00 BPM sent to the session");
    let got = times(&b1, "tempo 130.00 BPM from the session");
    assert_eq!((sent.len(), got.len()), (1, 1), "{all}");
    let delay = got[0] - sent[0];
    assert!(
        (0.0..100e3).contains(&delay),
        "the tempo reached B {:.1} ms after A sent it\n{all}",
        delay / 1e3
    );

    // Start and stop went round: the probe's start, then (B back in the session, stopped: a
    // joining app keeps its own start/stop state until someone presses start or stop) a
    // second app's stop and a third one's start.
    let count = |log: &str, what: &str| times(log, what).len();
    let (started, stopped) = (
        "the session started the transport",
        "the session stopped the transport",
    );
    assert_eq!((count(&a, started), count(&a, stopped)), (2, 1), "{all}");
    assert_eq!((count(&b1, started), count(&b1, stopped)), (1, 0), "{all}");
    assert_eq!(count(&b2, started), 1, "{all}");

    // Bar lines: every bar B heard (settled: from its second bar after each start) is within
    // 1 ms of one of A's and of the session's bar lines as the probe saw them. That is the
    // beat agreement at the same host time, over a minute, through a tempo change, a stop and
    // start, and B leaving and coming back.
    let bars_a = times(&a, "link: bar ");
    let session = probe_bars(&probe);
    assert!(bars_a.len() > 20 && session.len() > 100, "{all}");
    let (mut checked, mut worst_a, mut worst_s) = (0, 0f64, 0f64);
    for log in [&b1, &b2] {
        let bars: Vec<f64> = times(log, "link: bar ");
        let starts = times(log, "the session started the transport");
        for &t in &bars {
            if starts.iter().any(|&s| t >= s && t < s + 2.5e6) {
                continue;
            }
            let (da, ds) = (nearest(t, &bars_a), nearest(t, &session));
            assert!(
                da < 1e3 && ds < 1e3,
                "B's bar at {t} µs is {:.3} ms from A's and {:.3} ms from the session's\n{all}",
                da / 1e3,
                ds / 1e3
            );
            checked += 1;
            (worst_a, worst_s) = (worst_a.max(da), worst_s.max(ds));
        }
    }
    assert!(checked >= 20, "{checked} bars compared\n{all}");
    eprintln!(
        "link: peers found within {:.0} ms; tempo A→B in {:.1} ms; {checked} bars of B within {:.0} µs of A's and {:.0} µs of the session's",
        discovery / 1e3,
        delay / 1e3,
        worst_a,
        worst_s
    );

    // A never jumped, B leaving and coming back included: settled bars are 2 s apart at
    // 120 BPM and 60/130*4 s at 130; one bar holds the tempo change, and a stop leaves a gap.
    let starts_a = times(&a, "the session started the transport");
    let mut odd = 0;
    for w in bars_a.windows(2) {
        let gap = w[1] - w[0];
        if starts_a.iter().any(|&s| w[0] >= s && w[0] < s + 2.5e6) || gap > 2.1e6 {
            continue;
        }
        if ![2e6, 240e6 / 130.0].iter().any(|g| (gap - g).abs() < 1e3) {
            odd += 1;
        }
    }
    assert!(odd <= 1, "{odd} of A's bars were off the grid\n{all}");
}

#[test]
fn with_link_off_no_socket_is_opened() {
    let dir = tmp();
    std::fs::write(path(&dir, "off.toml"), "[master]\nbpm = 120\n").unwrap();
    std::fs::write(path(&dir, "empty.conf"), "# no devices\n").unwrap();
    let child = std::process::Command::new(bin())
        .env("ALSA_CONFIG_PATH", path(&dir, "empty.conf"))
        .env("XDG_CACHE_HOME", path(&dir, "cache"))
        .env("XDG_STATE_HOME", path(&dir, "state"))
        .env_remove("NOTIFY_SOCKET")
        .args(["run", "--no-audio", "--set"])
        .arg(path(&dir, "off.toml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let fds = std::fs::read_dir(format!("/proc/{}/fd", child.id())).unwrap();
    let sockets: Vec<String> = fds
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with("socket:"))
        .collect();
    let (status, err) = crate::common::process::stop(child, libc::SIGTERM);
    assert!(status.success(), "{err}");
    assert!(
        sockets.is_empty(),
        "sockets open with Link off: {sockets:?}\n{err}"
    );
    assert!(!err.contains("Link"), "{err}");
}

/// A Link session at 120 BPM that the engine follows without the network (this process is the
/// whole session), attached to the engine of `handle`.
fn offline_session(
    handle: &mut padlooper::engine::EngineHandle,
) -> std::sync::Arc<padlooper::engine::link::LinkSession> {
    use padlooper::engine::link::{LinkPart, LinkSession};
    let session = LinkSession::new(120.0);
    session.follow_offline(true);
    handle
        .attach_link(LinkPart::new(session.clone(), 48_000))
        .ok()
        .unwrap();
    session
}

/// A one-bar loop at 120 BPM with a click on every beat.
fn click_bar() -> std::sync::Arc<padlooper::sample::SampleBuffer> {
    let frames = 96_000usize;
    let data: Vec<f32> = (0..frames)
        .flat_map(|i| {
            let v = if i % 24_000 < 24 { 0.5 } else { 0.0 };
            [v, v]
        })
        .collect();
    std::sync::Arc::new(padlooper::sample::SampleBuffer::from_f32(
        "clicks", 48_000, data,
    ))
}

#[test]
fn a_synced_loop_clicks_on_the_link_sessions_beats_through_a_tempo_change() {
    // The engine follows Link's own timeline (no network: `follow_offline`), paced by the
    // clock like a sound card. A synced one-bar click loop plays; the session's tempo changes
    // from 120 to 96 BPM from another thread. Every click heard (after a beat to settle) lands
    // within 1 ms of one of the session's beats.
    use padlooper::engine::command::{
        Command, LaunchMode, PadCmd, PadConfig, Quantize, Timed, TransportCmd,
    };
    use padlooper::engine::{Engine, EngineSettings};
    let (mut engine, mut handle) = Engine::new(EngineSettings::default()).unwrap();
    let slot = handle.load(click_bar()).unwrap();
    let cfg = PadConfig {
        slot,
        start: 0,
        loop_start: 0,
        loop_end: 96_000,
        end_frac: 0.0,
        looping: true,
        gain: 1.0,
        speed: 1.0,
        bpm: 120.0,
        sync: true,
        in_phase: true,
        key_lock: false,
        transpose: 0.0,
        mode: LaunchMode::Toggle,
        choke: 0,
        quantize: None,
        fx: Default::default(),
        stems: Default::default(),
    };
    for cmd in [
        Command::Quantize(Quantize::Off),
        Command::Pad(0, PadCmd::Assign(cfg)),
        Command::Transport(TransportCmd::Start),
    ] {
        handle.send(Timed { at: 0, cmd }).unwrap();
    }
    let session = offline_session(&mut handle);
    let latency = engine.latency() as u64;
    let block = 256usize;
    let mut out = Vec::new();
    let mut buf = vec![0.0f32; 2 * block];
    // Per block: its first engine frame, and the session's beat and tempo when it is heard,
    // read at the time (Link keeps only the timeline's current tempo segment).
    let mut heard_beats: Vec<(u64, f64, f64)> = Vec::new();
    // Blocks of the last two seconds with the tempo trimmed (not steady).
    let mut trimmed = 0;
    let t0 = std::time::Instant::now();
    let mut change_at = None;
    for b in 0..(5 * 48_000 / block) as u64 {
        if b == 20 {
            let cmd = Command::Pad(0, PadCmd::Press);
            handle
                .send(Timed {
                    at: b * block as u64,
                    cmd,
                })
                .unwrap();
        }
        if b == (2 * 48_000 / block) as u64 {
            session.app_commit(Some(96.0), None, 4.0);
            change_at = Some(session.clock_micros() as f64);
        }
        let frame = engine.frame();
        // As the paced output does: the block is heard at its deadline, however late it runs.
        let deadline = std::time::Duration::from_secs_f64(b as f64 * block as f64 / 48_000.0);
        let late = t0.elapsed().saturating_sub(deadline).as_nanos() as i64;
        engine.set_output_delay(-late);
        engine.process(&mut buf);
        out.extend(buf.iter().step_by(2).copied());
        let t = engine.transport();
        if b >= (3 * 48_000 / block) as u64 && t.effective_bpm() != t.bpm() {
            trimmed += 1;
        }
        if let Some(h) = session.heard_at(frame, 48_000) {
            let tempo = session.app_view(4.0).tempo;
            heard_beats.push((frame, session.beat_at(h as i64, 4.0), tempo));
        }
        // Paced like a device: block b+1 is asked for when it is due.
        let due = std::time::Duration::from_secs_f64((b + 1) as f64 * block as f64 / 48_000.0);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    assert!((engine.transport().bpm() - 96.0).abs() < 0.01);
    let change_at = change_at.unwrap();
    let quiet = |x: &[f32]| x.iter().all(|s| s.abs() < 0.05);
    let clicks: Vec<usize> = (2000..out.len())
        .filter(|&i| out[i].abs() > 0.05 && quiet(&out[i - 2000..i]))
        .collect();
    let (mut checked, mut worst) = (0, 0f64);
    for &i in &clicks {
        // The engine frame this output sample was rendered for, and the session's beat when
        // it is heard.
        let f = (i as u64).saturating_sub(latency);
        let Some(&(bf, beat0, tempo)) = heard_beats.iter().rev().find(|r| r.0 <= f) else {
            continue;
        };
        let heard = session.heard_at(f, 48_000).unwrap();
        if (heard - change_at).abs() < 0.5e6 {
            continue;
        }
        let beat = beat0 + (f - bf) as f64 / 48_000.0 * tempo / 60.0;
        let off_ms = (beat - beat.round()).abs() * 60e3 / tempo;
        assert!(
            off_ms < 1.0,
            "a click {off_ms:.3} ms off the session's beat ({beat:.4})"
        );
        worst = worst.max(off_ms);
        checked += 1;
    }
    assert!(checked >= 6, "{checked} clicks checked of {}", clicks.len());
    // Settled, the tempo is steady (key-locked pads can stay on their stretched tables).
    let last = 2 * 48_000 / block;
    assert!(
        trimmed * 4 < last,
        "{trimmed} of the last {last} blocks trimmed"
    );
    eprintln!("link engine: {trimmed} of the last {last} blocks trimmed");
    eprintln!(
        "link engine: {checked} clicks within {:.3} ms of the session's beats",
        worst
    );
}

#[test]
fn local_tempo_changes_and_a_held_nudge_go_to_the_session_and_its_changes_come_back() {
    use padlooper::engine::command::{Command, Timed, TransportCmd};
    use padlooper::engine::{Engine, EngineSettings};
    let (mut engine, mut handle) = Engine::new(EngineSettings::default()).unwrap();
    let session = offline_session(&mut handle);
    let mut buf = vec![0.0f32; 512];
    let mut send = |engine: &mut Engine, cmd: TransportCmd| {
        let at = engine.frame();
        handle
            .send(Timed {
                at,
                cmd: Command::Transport(cmd),
            })
            .unwrap();
        for _ in 0..2 {
            engine.process(&mut buf);
        }
    };
    // The session's tempo as an app sees it, once Link's thread has taken the commit.
    let session_tempo = |engine: &mut Engine, want: f64| {
        let mut buf = vec![0.0f32; 512];
        for _ in 0..400 {
            if (session.app_view(4.0).tempo - want).abs() < 0.01 {
                return true;
            }
            engine.process(&mut buf);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        false
    };
    send(&mut engine, TransportCmd::Start);
    send(&mut engine, TransportCmd::TempoNow(128.0));
    assert!(
        session_tempo(&mut engine, 128.0),
        "a tempo set here reaches the session"
    );
    send(&mut engine, TransportCmd::Nudge(1.04));
    assert!(
        session_tempo(&mut engine, 128.0 * 1.04),
        "a held nudge moves the session"
    );
    send(&mut engine, TransportCmd::Nudge(1.0));
    assert!(
        session_tempo(&mut engine, 128.0),
        "released, the session is back"
    );
    // The session's own change comes back to the transport.
    session.app_commit(Some(100.0), None, 4.0);
    for _ in 0..200 {
        engine.process(&mut buf);
        if (engine.transport().bpm() - 100.0).abs() < 0.01 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        (engine.transport().bpm() - 100.0).abs() < 0.01,
        "{}",
        engine.transport().bpm()
    );
}
