//! The web surface's API against a real padlooper (`run --no-audio --web`): pads, banks,
//! transport, the live WebSocket, and every guard (host, origin, login, limits, bad input).

use std::time::Duration;

use crate::common::web::{Reply, SET, WebRun, request};
use serde_json::Value;

fn cell(v: &Value, i: usize) -> &Value {
    &v["cells"][i]
}

fn look(v: &Value, i: usize) -> String {
    cell(v, i)["look"].as_str().unwrap_or("").to_string()
}

fn is_error(r: &Reply, status: u16, words: &str) {
    assert_eq!(r.status, status, "{r:?}");
    let e = r.json()["error"].as_str().unwrap_or("").to_string();
    assert!(e.contains(words), "{e:?} should say {words:?}");
}

#[test]
fn web_api_plays_pads_and_refuses_what_it_must() {
    let mut run = WebRun::start(SET, "127.0.0.1:0", |_| {});
    // The page itself, with its guards.
    let page = run.call("GET", "/", None, None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<title>padlooper</title>"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        run.call("GET", "/app.js", None, None)
            .header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(run.call("GET", "/../../etc/passwd", None, None).status, 404);

    let s = run.state_until(None, |v| look(v, 0) == "loaded" && look(v, 1) == "loaded");
    assert_eq!(
        (s["rows"].as_u64(), s["cols"].as_u64(), s["banks"].as_u64()),
        (Some(2), Some(4), Some(2))
    );
    assert_eq!(look(&s, 2), "empty");
    let layout = run.call("GET", "/api/layout", None, None).json();
    assert_eq!(layout["pads"][1]["mode"], "gate");
    assert_eq!(layout["pads"][0]["name"], "builtin:drums");

    // A toggle pad starts; the engine says so.
    assert_eq!(
        run.call("POST", "/api/pads/0/press", None, None).status,
        200
    );
    run.call("POST", "/api/pads/0/release", None, None);
    run.state_until(None, |v| look(v, 0) == "playing");
    run.wait_log("PadStarted(0)", Duration::from_secs(10));
    // A gate pad plays while held.
    run.call("POST", "/api/pads/1/press", None, None);
    run.state_until(None, |v| look(v, 1) == "playing");
    run.call("POST", "/api/pads/1/release", None, None);
    run.state_until(None, |v| look(v, 1) == "loaded");
    // Banks and the transport, as a controller's buttons.
    assert_eq!(
        run.call("POST", "/api/bank", Some(r#"{"bank":1}"#), None)
            .status,
        200
    );
    let s = run.state_until(None, |v| v["bank"] == 1);
    assert_eq!(cell(&s, 0)["id"], 8);
    run.call(
        "POST",
        "/api/transport",
        Some(r#"{"action":"start"}"#),
        None,
    );
    run.state_until(None, |v| v["transport"]["running"] == true);
    run.call("POST", "/api/transport", Some(r#"{"action":"stop"}"#), None);
    run.state_until(None, |v| v["transport"]["running"] == false);
    assert_eq!(
        run.call("POST", "/api/master", Some(r#"{"volume":0.5}"#), None)
            .status,
        200
    );

    // Bad input: a clear 4xx each, nothing changes.
    is_error(
        &run.call("POST", "/api/master", Some(r#"{"volume":2}"#), None),
        400,
        "outside 0 to 1",
    );
    is_error(
        &run.call("POST", "/api/bank", Some(r#"{"bank":7}"#), None),
        400,
        "no bank 7",
    );
    is_error(
        &run.call("POST", "/api/bank", Some("garbage"), None),
        400,
        "not what this call takes",
    );
    is_error(
        &run.call("POST", "/api/bank", Some(r#"{"bank":0,"x":1}"#), None),
        400,
        "unknown field",
    );
    is_error(
        &run.call("POST", "/api/pads/999/press", None, None),
        400,
        "no pad 999",
    );
    is_error(
        &run.call("POST", "/api/pads/x/press", None, None),
        400,
        "not a pad number",
    );
    is_error(
        &run.call("POST", "/api/pads/0/explode", None, None),
        404,
        "press, release, record, resample, overdub, undo, redo or clear",
    );
    is_error(
        &run.call("GET", "/api/nothing", None, None),
        404,
        "no such API call",
    );
    is_error(
        &run.call(
            "POST",
            "/api/transport",
            Some(r#"{"action":"rewind"}"#),
            None,
        ),
        400,
        "unknown transport action",
    );
    let big = format!(r#"{{"action":"{}"}}"#, "x".repeat(100_000));
    assert_eq!(
        run.call("POST", "/api/transport", Some(&big), None).status,
        413
    );

    // Another site's page (cross-site request forgery) and a rebinding name are refused.
    let host = run.addr.to_string();
    let evil = request(
        run.addr,
        "POST",
        "/api/pads/1/press",
        &[
            ("Host", host.clone()),
            ("Origin", "http://evil.example".into()),
        ],
        b"",
    );
    is_error(&evil, 403, "cross-site");
    let fetch = request(
        run.addr,
        "POST",
        "/api/pads/1/press",
        &[
            ("Host", host.clone()),
            ("Sec-Fetch-Site", "cross-site".into()),
        ],
        b"",
    );
    is_error(&fetch, 403, "cross-site");
    let rebound = request(
        run.addr,
        "GET",
        "/api/state",
        &[("Host", "evil.example:8080".into())],
        b"",
    );
    is_error(&rebound, 421, "its own address");
    let s = run.state_until(None, |_| true);
    assert_eq!(s["bank"], 1, "{s}");
    run.call("POST", "/api/bank", Some(r#"{"bank":0}"#), None);
    let s = run.state_until(None, |v| v["bank"] == 0);
    assert_eq!(look(&s, 1), "loaded", "a refused press must not play: {s}");

    let log = run.stop();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("stopping"), "{log}");
}

/// The password: stored hashed; off loopback only with one; login, logout and the limit.
#[test]
fn web_login_guards_everything_once_a_password_is_set() {
    // No password: a LAN address falls back to loopback, with the way out in the log.
    let mut open = WebRun::start(SET, "0.0.0.0:0", |_| {});
    assert!(open.addr.ip().is_loopback(), "{}", open.addr);
    open.wait_log("no password is set", Duration::from_secs(5));
    open.stop();

    let mut run = WebRun::start(SET, "0.0.0.0:0", |state| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_padlooper"))
            .args(["web-password", "--state-dir"])
            .arg(state)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin
            .take()
            .unwrap()
            .write_all(b"stage secret 42\n")
            .unwrap();
        assert!(c.wait().unwrap().success());
        let stored = std::fs::read_to_string(state.join("web-password")).unwrap();
        assert!(stored.starts_with("$argon2id$") && !stored.contains("secret"));
    });
    assert!(
        run.addr.ip().is_unspecified(),
        "with a password it serves the LAN: {}",
        run.addr
    );
    run.addr = format!("127.0.0.1:{}", run.addr.port()).parse().unwrap();
    is_error(&run.call("GET", "/api/state", None, None), 401, "log in");
    is_error(
        &run.call("POST", "/api/pads/0/press", None, None),
        401,
        "log in",
    );
    assert_eq!(
        run.call("GET", "/api/session", None, None).json()["login_required"],
        true
    );
    // The page loads (it shows the login form).
    assert_eq!(run.call("GET", "/", None, None).status, 200);
    is_error(
        &run.call("POST", "/api/login", Some(r#"{"password":"wrong"}"#), None),
        401,
        "wrong password",
    );
    let ok = run.call(
        "POST",
        "/api/login",
        Some(r#"{"password":"stage secret 42"}"#),
        None,
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    let set_cookie = ok.header("set-cookie").unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert_eq!(
        run.call("GET", "/api/state", None, Some(&cookie)).status,
        200
    );
    assert_eq!(
        run.call("POST", "/api/pads/0/press", None, Some(&cookie))
            .status,
        200
    );
    run.state_until(Some(&cookie), |v| look(v, 0) == "playing");
    assert_eq!(
        run.call("POST", "/api/logout", Some("{}"), Some(&cookie))
            .status,
        200
    );
    is_error(
        &run.call("GET", "/api/state", None, Some(&cookie)),
        401,
        "log in",
    );
    // Guessing is limited per address.
    let mut limited = false;
    for _ in 0..8 {
        let r = run.call("POST", "/api/login", Some(r#"{"password":"guess"}"#), None);
        if r.status == 429 {
            limited = true;
            assert!(r.json()["error"].as_str().unwrap().contains("try again in"));
            break;
        }
    }
    assert!(limited, "wrong passwords must be limited");
    let log = run.stop();
    assert!(log.contains("a wrong password from 127.0.0.1"), "{log}");
}

/// The live WebSocket: state at ~25 per second, presses, held pads released when the page
/// goes, a page that stops reading dropped without slowing the others.
#[test]
fn web_socket_streams_state_and_lets_go_of_what_a_page_held() {
    use tungstenite::Message;
    use tungstenite::client::IntoClientRequest;
    let mut run = WebRun::start(SET, "127.0.0.1:0", |_| {});
    let url = format!("ws://{}/api/ws", run.addr);
    let with_origin = |origin: &str| {
        let mut r = url.as_str().into_client_request().unwrap();
        r.headers_mut().insert("Origin", origin.parse().unwrap());
        r
    };
    // Another site's page cannot open it.
    let refused = tungstenite::connect(with_origin("http://evil.example"));
    assert!(
        matches!(&refused, Err(tungstenite::Error::Http(r)) if r.status() == 403),
        "{refused:?}"
    );
    let (mut ws, _) = tungstenite::connect(with_origin(&run.url())).unwrap();
    let next = |ws: &mut tungstenite::WebSocket<_>| -> Value {
        loop {
            if let Message::Text(t) = ws.read().unwrap() {
                return serde_json::from_str(&t).unwrap();
            }
        }
    };
    let first = next(&mut ws);
    assert_eq!(first["type"], "layout", "{first}");
    let t0 = std::time::Instant::now();
    let mut states = 0;
    while states < 25 {
        if next(&mut ws)["type"] == "state" {
            states += 1;
        }
    }
    let rate = states as f64 / t0.elapsed().as_secs_f64();
    eprintln!("web socket: {rate:.1} states per second");
    assert!(rate >= 15.0, "{rate:.1} states per second");
    let pressed = std::time::Instant::now();
    ws.send(Message::text(r#"{"press":1}"#)).unwrap();
    loop {
        let m = next(&mut ws);
        if m["type"] == "state" && look(&m, 1) == "playing" {
            break;
        }
    }
    eprintln!(
        "web socket: press to the engine's playing state in {:.1} ms (one block, the 40-ms sampling)",
        pressed.elapsed().as_secs_f64() * 1e3
    );
    ws.send(Message::text(r#"{"launch":1}"#)).unwrap();
    loop {
        let m = next(&mut ws);
        if m["type"] == "error" {
            assert!(
                m["error"]
                    .as_str()
                    .unwrap()
                    .contains("not a message padlooper knows"),
                "{m}"
            );
            break;
        }
    }
    // The page goes without releasing the gate pad: padlooper releases it.
    drop(ws);
    run.state_until(None, |v| look(v, 1) == "loaded");

    // A page that never reads is dropped; the state keeps flowing meanwhile.
    let addr = run.addr;
    let sock = socket2_small_buffer(addr);
    let (stuck, _) = tungstenite::client::client(with_origin(&run.url()), sock).unwrap();
    let (mut ok, _) = tungstenite::connect(with_origin(&run.url())).unwrap();
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(4) {
        let _ = next(&mut ok);
    }
    run.wait_log("web client dropped", Duration::from_secs(20));
    drop(stuck);
    let log = run.stop();
    assert!(!log.contains("panicked"), "{log}");
}

/// A TCP connection whose receive buffer is as small as the system allows.
fn socket2_small_buffer(addr: std::net::SocketAddr) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: a fresh socket, configured and connected before being wrapped.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 1024;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as u32,
        );
        let std::net::SocketAddr::V4(v4) = addr else {
            panic!("IPv4 only")
        };
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(v4.ip().octets()),
            },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            &sa as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        );
        assert_eq!(r, 0);
        std::net::TcpStream::from_raw_fd(fd)
    }
}

/// Random paths, methods and bodies: never a 5xx, never a panic, always an answer.
#[test]
fn web_api_answers_garbage_with_clear_4xx() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut run = WebRun::start(SET, "127.0.0.1:0", |_| {});
    let mut runner = TestRunner::new(Config {
        cases: 150,
        failure_persistence: None,
        ..Config::default()
    });
    let paths = prop_oneof![
        Just("/api/bank".to_string()),
        Just("/api/master".to_string()),
        Just("/api/transport".to_string()),
        Just("/api/login".to_string()),
        "/api/pads/[0-9a-z%.]{0,6}/[a-z]{0,8}",
        "/[ -~]{0,40}".prop_map(|p| p.replace([' ', '#', '?'], "_")),
    ];
    let bodies = prop_oneof![
        "[ -~]{0,60}",
        Just(r#"{"bank":-1}"#.to_string()),
        Just(r#"{"volume":"loud"}"#.to_string()),
        Just(r#"{"volume":1e400}"#.to_string()),
        Just(r#"{"action":null}"#.to_string()),
        Just("[1,2,3]".to_string()),
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let methods = prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")];
    runner
        .run(&(methods, paths, bodies), |(m, p, b)| {
            let r = run.call(m, &p, Some(&b), None);
            prop_assert!(r.status >= 200 && r.status < 500, "{m} {p} {b:?}: {r:?}");
            if r.status >= 400 && p.starts_with("/api/") {
                prop_assert!(r.json()["error"].is_string(), "{m} {p}: {r:?}");
            }
            Ok(())
        })
        .unwrap();
    let log = run.stop();
    assert!(!log.contains("panicked"), "{log}");
}

/// Pad meters: measured only while watched, the sound the same within float rounding, each
/// playing pad's peak where its sound is.
#[test]
fn pad_meters_measure_each_pad_without_changing_the_sound() {
    use padlooper::engine::Engine;
    use padlooper::engine::command::{Command, PadCmd};
    let render = |watch: bool| {
        let set = padlooper::demo::demo_set();
        let settings = padlooper::control::set::loader::engine_settings(&set, 48_000);
        let (mut engine, mut handle) = Engine::new(settings).unwrap();
        let report = padlooper::control::set::loader::load_set(&set, &mut handle, 0, &|_, _| {});
        assert!(report.errors.is_empty());
        for p in [0u16, 1, 2] {
            handle.command(Command::Pad(p, PadCmd::Press)).unwrap();
        }
        engine.stats().meters.watch(watch);
        let mut out = Vec::new();
        let mut peaks = [0f32; 4];
        let mut master = 0f32;
        let mut buf = vec![0.0f32; 512];
        for _ in 0..400 {
            engine.process(&mut buf);
            out.extend_from_slice(&buf);
            for (p, k) in peaks.iter_mut().enumerate() {
                *k = k.max(engine.stats().meters.take(p));
            }
            master = master.max(engine.stats().meters.take_master().0);
        }
        (out, peaks, master)
    };
    let (plain, unmetered, m0) = render(false);
    let (metered, peaks, master) = render(true);
    assert_eq!(unmetered, [0.0; 4], "nothing is measured unless watched");
    assert_eq!(m0, 0.0);
    let worst = plain
        .iter()
        .zip(&metered)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "metering changed the sound by {worst}");
    let out_peak = metered.iter().fold(0f32, |m, x| m.max(x.abs()));
    for (p, &k) in peaks.iter().enumerate().take(3) {
        assert!(
            k > 0.01 && k <= out_peak * 4.0,
            "pad {p}: peak {k}, output {out_peak}"
        );
    }
    assert_eq!(peaks[3], 0.0, "a silent pad reads silence");
    assert!(
        (master - out_peak).abs() < 1e-6,
        "master {master} vs {out_peak}"
    );
}

/// The pad editor's calls: settings read, peaks, edits confined to the set's folder, every
/// refusal leaving the file as it was.
#[test]
fn web_pad_edits_stay_inside_the_set_and_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    crate::common::write_wav16(&dir.join("a.wav"), 48_000, 2.0, |t| {
        let x = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
        (x, -x)
    });
    std::fs::create_dir_all(dir.join("more")).unwrap();
    crate::common::write_wav16(&dir.join("more/b.wav"), 48_000, 1.0, |_| (0.0, 0.0));
    std::os::unix::fs::symlink("/etc/hostname", dir.join("out.wav")).unwrap();
    let set = "[[pad]]\npad = 0\nfile = \"a.wav\" # keep me\neq_mid_db = -6.0\n";
    let mut run = WebRun::start_in(dir.clone(), set, "127.0.0.1:0");
    let pad = run.call("GET", "/api/pads/0", None, None).json();
    assert_eq!(pad["settings"]["mode"], "toggle");
    assert_eq!(pad["editable"], true);
    assert_eq!(
        run.call("GET", "/api/pads/5", None, None).json()["settings"],
        Value::Null
    );
    let p = run
        .call("GET", "/api/pads/0/peaks?columns=4&from=nan", None, None)
        .json();
    assert_eq!(p["channels"], 2);
    assert!((p["seconds"].as_f64().unwrap() - 2.0).abs() < 1e-3);
    let left = p["peaks"][0][1].as_array().unwrap();
    assert!((left[1].as_f64().unwrap() - 0.5).abs() < 0.01, "{p}");
    let lib = run.call("GET", "/api/library", None, None).json();
    let names: Vec<&str> = lib["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["a.wav", "more/b.wav"],
        "symlinks and other files are not listed"
    );
    let before = std::fs::read_to_string(dir.join("set.toml")).unwrap();
    let post = |body: &str| run.call("POST", "/api/pads/0/settings", Some(body), None);
    for (body, says) in [
        (r#"{"file":"../a.wav"}"#, "without `..`"),
        (r#"{"file":"/etc/passwd"}"#, "relative path"),
        (
            r#"{"file":"out.wav"}"#,
            "not a file inside the set's folder",
        ),
        (r#"{"file":"nothere.wav"}"#, "no such file"),
        (r#"{"gain_db":"loud"}"#, "takes a number"),
        (r#"{"speed":-1}"#, "speed"),
        (
            r#"{"quantize":"sometimes"}"#,
            "expected one of `off`, `beat`",
        ),
        (r#"{"line":3}"#, "cannot be edited"),
        (r#"{}"#, "no settings"),
        ("[1]", "JSON object"),
    ] {
        let r = post(body);
        is_error(&r, 400, says);
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("set.toml")).unwrap(),
        before
    );
    let ok = post(r#"{"file":"more/b.wav","mode":"gate","gain_db":-6,"quantize":"beat"}"#);
    assert_eq!(ok.status, 200, "{ok:?}");
    run.wait_log("reloaded", Duration::from_secs(10));
    let after = std::fs::read_to_string(dir.join("set.toml")).unwrap();
    assert!(
        after.contains("file = \"more/b.wav\" # keep me")
            && after.contains("mode = \"gate\"")
            && after.contains("quantize = \"beat\""),
        "{after}"
    );
    assert_eq!(
        run.call("GET", "/api/pads/0", None, None).json()["settings"]["quantize"],
        "beat"
    );
    run.state_until(None, |_| true);
    assert_eq!(
        run.call("GET", "/api/layout", None, None).json()["pads"][0]["mode"],
        "gate"
    );
    // EQ, filter and sends; a knob replaces the band's dB value.
    let fx = post(r#"{"eq_mid":0.25,"filter":0.7,"delay_send":0.3,"eq":"shelf"}"#);
    assert_eq!(fx.status, 200, "{fx:?}");
    let after = std::fs::read_to_string(dir.join("set.toml")).unwrap();
    assert!(
        after.contains("eq_mid = 0.25") && !after.contains("eq_mid_db"),
        "{after}"
    );
    let t0 = std::time::Instant::now();
    while run.call("GET", "/api/pads/0", None, None).json()["settings"]["eq"] != "shelf" {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", run.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = run.call("GET", "/api/pads/0", None, None).json()["settings"].clone();
    assert!((s["filter"].as_f64().unwrap() - 0.7).abs() < 1e-6, "{s}");
    assert!(
        (s["delay_send"].as_f64().unwrap() - 0.3).abs() < 1e-6,
        "{s}"
    );
    is_error(&post(r#"{"stem_mute":"vocals"}"#), 400, "a list of names");
    run.stop();

    // The demo has no file: nothing to save into.
    let mut demo = WebRun::start(SET, "127.0.0.1:0", |_| {});
    std::fs::remove_file(demo.dir.path().join("set.toml")).unwrap();
    is_error(
        &demo.call(
            "POST",
            "/api/pads/0/settings",
            Some(r#"{"gain_db":-1}"#),
            None,
        ),
        409,
        "--set FILE",
    );
    demo.stop();
}

/// The library: uploads streamed in, checked, named safely, size-limited; rename and delete
/// refused while a pad uses the file; nothing half-written left behind.
#[test]
fn web_library_takes_uploads_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let wav = |p: &std::path::Path, secs: f64| {
        crate::common::write_wav16(p, 48_000, secs, |t| {
            let x = 0.3 * (2.0 * std::f64::consts::PI * 330.0 * t).sin();
            (x, x)
        })
    };
    wav(&dir.join("used.wav"), 1.0);
    let src = tempfile::tempdir().unwrap();
    wav(&src.path().join("up.wav"), 2.0);
    let up = std::fs::read(src.path().join("up.wav")).unwrap();
    wav(&src.path().join("big.wav"), 12.0);
    let big = std::fs::read(src.path().join("big.wav")).unwrap();
    assert!(big.len() > 1 << 20);
    let set = "[[pad]]\npad = 0\nfile = \"used.wav\"\n";
    let mut run =
        WebRun::start_in_with(dir.clone(), set, "127.0.0.1:0", &["--web-upload-max", "1"]);
    is_error(
        &run.send_bytes("/api/library/upload?name=..%2F..%2Fup.wav", &up),
        400,
        "not a usable folder name",
    );
    let ok = run.send_bytes("/api/library/upload?name=up.wav", &up);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json()["name"], "up.wav");
    assert_eq!(std::fs::read(dir.join("up.wav")).unwrap(), up);
    is_error(
        &run.send_bytes("/api/library/upload?name=up.wav", &up),
        409,
        "already in the library",
    );
    is_error(
        &run.send_bytes("/api/library/upload?name=notes.txt", b"hello"),
        400,
        "takes audio files",
    );
    is_error(
        &run.send_bytes(
            "/api/library/upload?name=fake.wav",
            b"this is not a wav file at all",
        ),
        422,
        "not audio padlooper can read",
    );
    is_error(
        &run.send_bytes("/api/library/upload?name=big.wav", &big),
        413,
        "larger than the 1 MB",
    );
    // Without a length up front: cut off at the limit while streaming.
    let host = run.addr.to_string();
    let mut s = std::net::TcpStream::connect(run.addr).unwrap();
    use std::io::{Read, Write};
    write!(s, "POST /api/library/upload?name=chunked.wav HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").unwrap();
    for part in big.chunks(64 * 1024) {
        if write!(s, "{:x}\r\n", part.len()).is_err()
            || s.write_all(part).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.contains(".part") || n.contains("fake") || n.contains("big") || n.contains("chunked")
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The list shows what each file is and who uses it.
    let lib = run.call("GET", "/api/library", None, None).json();
    let used = lib["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "used.wav")
        .unwrap()
        .clone();
    assert_eq!(used["used_by"][0], "bank 1 pad 1");
    assert_eq!(used["rate"], 48_000);
    assert!(
        (used["seconds"].as_f64().unwrap() - 1.0).abs() < 1e-3,
        "{used}"
    );
    // The analysed tempo, once analysis has cached it (nothing is analysed by the listing).
    // (Written straight into the folder: it is larger than this run's 1-MB upload limit.)
    crate::common::write_wav16(&dir.join("beat.wav"), 48_000, 8.0, |t| {
        let x = if (t * 2.0).fract() < 0.01 { 0.8 } else { 0.0 };
        (x, x)
    });
    let a = run
        .call("GET", "/api/library/analysis?name=beat.wav", None, None)
        .json();
    assert!(a["analysis"].is_null(), "{a}");
    let cache = run.dir.path().join("state").join("cache");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .arg("analyze")
        .arg(dir.join("beat.wav"))
        .env("CACHE_DIRECTORY", &cache)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let a = run
        .call("GET", "/api/library/analysis?name=beat.wav", None, None)
        .json();
    let bpm = a["analysis"]["bpm"].as_f64().unwrap_or(0.0);
    assert!((bpm - 120.0).abs() < 0.5, "{a}");
    is_error(
        &run.call("GET", "/api/library/analysis?name=..%2Fx.wav", None, None),
        400,
        "without `..`",
    );
    let sys = run.call("GET", "/api/system", None, None).json();
    assert!(
        sys["memory_plan"].as_array().is_some_and(|p| !p.is_empty()),
        "{sys}"
    );
    assert!(sys["sample_memory"]["bytes"].as_u64().unwrap() > 0, "{sys}");
    // Rename and delete: never a file a pad uses, never outside the folder.
    let post = |path: &str, body: &str| run.call("POST", path, Some(body), None);
    is_error(
        &post("/api/library/delete", r#"{"name":"used.wav"}"#),
        409,
        "bank 1 pad 1",
    );
    is_error(
        &post("/api/library/rename", r#"{"from":"used.wav","to":"x.wav"}"#),
        409,
        "used by",
    );
    is_error(
        &post("/api/library/delete", r#"{"name":"../set.toml"}"#),
        400,
        "without `..`",
    );
    is_error(
        &post("/api/library/rename", r#"{"from":"up.wav","to":"x.txt"}"#),
        400,
        "audio files",
    );
    assert_eq!(
        post(
            "/api/library/rename",
            r#"{"from":"up.wav","to":"../renamed.wav"}"#
        )
        .status,
        200
    );
    assert!(dir.join("renamed.wav").is_file() && !dir.join("up.wav").exists());
    assert_eq!(
        post("/api/library/delete", r#"{"name":"renamed.wav"}"#).status,
        200
    );
    assert!(!dir.join("renamed.wav").exists());
    // A stems folder, uploaded file by file with its folder's name, then given to a pad.
    for stem in ["drums", "bass", "vocals"] {
        let r = run.send_bytes(
            &format!("/api/library/upload?name=my%20track%2F{stem}.wav"),
            &up,
        );
        assert_eq!(r.status, 200, "{r:?}");
    }
    is_error(
        &run.send_bytes("/api/library/upload?name=a%2Fb%2Fc%2Fd.wav", &up),
        400,
        "two folders",
    );
    is_error(
        &run.send_bytes("/api/library/upload?name=..%2Fx%2Fd.wav", &up),
        400,
        "folder name",
    );
    assert!(dir.join("my track/vocals.wav").is_file());
    let r = post(
        "/api/pads/1/settings",
        r#"{"stems":"my track","stems_on":true,"stem_gain_db":{"drums":-3}}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    run.wait_log("reloaded", Duration::from_secs(10));
    let t0 = std::time::Instant::now();
    let want = serde_json::json!(["bass", "drums", "vocals"]);
    loop {
        let p = run.call("GET", "/api/pads/1", None, None).json();
        if p["stems"].as_array().is_some_and(|a| {
            let mut v: Vec<_> = a.iter().filter_map(|x| x.as_str()).collect();
            v.sort();
            serde_json::json!(v) == want
        }) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{p}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let p = run.call("GET", "/api/pads/1", None, None).json();
    assert_eq!(p["settings"]["stem_gain_db"]["drums"], -3.0, "{p}");
    is_error(
        &post(
            "/api/pads/1/settings",
            r#"{"stem_gain_db":{"drums":"loud"}}"#,
        ),
        400,
        "names with numbers",
    );
    assert!(dir.join("used.wav").is_file());
    run.stop();
}

/// Sets from the page: listed, opened, a broken one refused with its lines (nothing written),
/// saved, saved as, switched to, the last good copy restored, the saved state reset; the
/// system described; a restart stops padlooper cleanly.
#[test]
fn web_sets_are_checked_saved_switched_and_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let first = "# first\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n";
    let mut run = WebRun::start_in(dir.clone(), first, "127.0.0.1:0");
    let l = run.call("GET", "/api/sets", None, None).json();
    assert_eq!(l["sets"], serde_json::json!(["set.toml"]));
    assert_eq!(l["playing"], "set.toml");
    let t = run
        .call("GET", "/api/sets/text?name=set.toml", None, None)
        .json();
    assert_eq!(t["text"], first);
    is_error(
        &run.call("GET", "/api/sets/text?name=..%2Fx.toml", None, None),
        400,
        "NAME.toml",
    );
    let save =
        |body: serde_json::Value| run.call("POST", "/api/sets/save", Some(&body.to_string()), None);
    let broken = "# first\n[[pad]]\npad = 0\nbuiltin = \"drums\"\ngain_db = 99\n";
    let r = save(serde_json::json!({"name": "set.toml", "text": broken, "apply": true}));
    is_error(&r, 400, "nothing was saved");
    assert_eq!(r.json()["problems"][0]["line"], 5);
    assert_eq!(
        std::fs::read_to_string(dir.join("set.toml")).unwrap(),
        first
    );
    is_error(
        &save(serde_json::json!({"name": "../up.toml", "text": first})),
        400,
        "NAME.toml",
    );
    // Save and apply in place: the reload keeps a last good copy.
    let second = "# first\n[[pad]]\npad = 0\nbuiltin = \"drums\"\ngain_db = -3\n";
    assert_eq!(
        save(serde_json::json!({"name": "set.toml", "text": second, "apply": true})).status,
        200
    );
    run.wait_log("reloaded", Duration::from_secs(10));
    // Save as another set and switch to it.
    let other = "[[pad]]\npad = 1\nbuiltin = \"bass\"\nmode = \"gate\"\n";
    assert_eq!(
        save(serde_json::json!({"name": "other set.toml", "text": other})).status,
        200
    );
    let r = run.call(
        "POST",
        "/api/sets/apply",
        Some(r#"{"name":"other set.toml"}"#),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let t0 = std::time::Instant::now();
    while !run.call("GET", "/api/layout", None, None).json()["set"]
        .as_str()
        .unwrap()
        .ends_with("other set.toml")
    {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", run.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        run.call("GET", "/api/sets", None, None).json()["playing"],
        "other set.toml"
    );
    // Back to the first, then break its file by hand: restore the last good copy.
    assert_eq!(
        run.call(
            "POST",
            "/api/sets/apply",
            Some(r#"{"name":"set.toml"}"#),
            None
        )
        .status,
        200
    );
    let t0 = std::time::Instant::now();
    while run.call("GET", "/api/sets", None, None).json()["playing"] != "set.toml" {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", run.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(dir.join("set.toml"), "[[pad]\nbroken").unwrap();
    is_error(
        &run.call(
            "POST",
            "/api/sets/apply",
            Some(r#"{"name":"set.toml"}"#),
            None,
        ),
        400,
        "not applied",
    );
    let lg = run.call("GET", "/api/sets/last-good", None, None);
    assert_eq!(lg.status, 200, "{lg:?}");
    assert!(lg.json()["text"].as_str().unwrap().contains("gain_db = -3"));
    assert_eq!(
        run.call("POST", "/api/sets/restore", Some("{}"), None)
            .status,
        200
    );
    assert!(
        std::fs::read_to_string(dir.join("set.toml"))
            .unwrap()
            .contains("gain_db = -3")
    );
    assert_eq!(
        run.call("POST", "/api/state/reset", Some("{}"), None)
            .status,
        200
    );
    let sys = run.call("GET", "/api/system", None, None).json();
    assert_eq!(sys["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        sys["audio_outputs"].is_array() && sys["midi_inputs"].is_array(),
        "{sys}"
    );
    // Restart: padlooper stops cleanly (systemd would start it again).
    assert_eq!(
        run.call("POST", "/api/system/restart", Some("{}"), None)
            .status,
        200
    );
    let mut child = run.child.take().unwrap();
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "padlooper did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(run.log_text().contains("stopping"));
}

/// A tar with these (path, contents) entries, paths written raw (even hostile ones).
fn raw_tar(entries: &[(&str, &[u8], tar::EntryType)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data, kind) in entries {
        let mut h = tar::Header::new_old();
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_size(data.len() as u64);
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A set and its samples as one archive: downloaded from one padlooper, uploaded into another's
/// folder, where it loads; hostile archives refused with nothing written.
#[test]
fn web_set_archives_travel_and_hostile_ones_are_refused() {
    let a = tempfile::tempdir().unwrap();
    crate::common::write_wav16(&a.path().join("loop.wav"), 48_000, 1.0, |t| {
        let x = 0.3 * (2.0 * std::f64::consts::PI * 220.0 * t).sin();
        (x, x)
    });
    std::fs::create_dir_all(a.path().join("stems/song")).unwrap();
    for s in ["drums", "bass"] {
        crate::common::write_wav16(
            &a.path().join(format!("stems/song/{s}.wav")),
            48_000,
            1.0,
            |_| (0.1, 0.1),
        );
    }
    let set = "# travelling set\n[grid]\nrows = 2\ncols = 4\nbanks = 2\n\n[[pad]]\npad = 0\nfile = \"loop.wav\"\n\n[[pad]]\npad = 1\nstems = \"stems/song\"\n";
    let mut one = WebRun::start_in(a.path().to_path_buf(), set, "127.0.0.1:0");
    let r = one.call("GET", "/api/sets/archive?name=set.toml", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-tar"));
    assert!(r.header("content-disposition").unwrap().contains("set.tar"));
    // The body as bytes (the helper's String is lossy): fetch it raw.
    let host = one.addr.to_string();
    let raw = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(one.addr).unwrap();
        write!(
            s,
            "GET /api/sets/archive?name=set.toml HTTP/1.0\r\nHost: {host}\r\n\r\n"
        )
        .unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        let at = v.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        v.split_off(at)
    };
    let mut names: Vec<String> = tar::Archive::new(&raw[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "loop.wav",
            "set.toml",
            "stems/song/bass.wav",
            "stems/song/drums.wav"
        ]
    );
    one.stop();

    // Into another padlooper's folder (its own set renamed so the travelling one fits).
    let b = tempfile::tempdir().unwrap();
    let mut two = WebRun::start_in_with(
        b.path().to_path_buf(),
        SET,
        "127.0.0.1:0",
        &["--web-upload-max", "1"],
    );
    let conflict = two.send_bytes("/api/sets/archive", &raw);
    is_error(&conflict, 409, "set.toml is in the set's folder already");
    assert!(!b.path().join("loop.wav").exists(), "nothing unpacked");
    let renamed = {
        let mut out = tar::Builder::new(Vec::new());
        for e in tar::Archive::new(&raw[..]).entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().display().to_string();
            let p = if p == "set.toml" {
                "travelling.toml".to_string()
            } else {
                p
            };
            let mut h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            out.append_data(&mut h, p, &data[..]).unwrap();
        }
        out.into_inner().unwrap()
    };
    let ok = two.send_bytes("/api/sets/archive", &renamed);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(b.path().join("stems/song/bass.wav").is_file());
    let l = two.call("GET", "/api/sets", None, None).json();
    assert!(
        l["sets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "travelling.toml"),
        "{l}"
    );
    let r = two.call(
        "POST",
        "/api/sets/apply",
        Some(r#"{"name":"travelling.toml"}"#),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let t0 = std::time::Instant::now();
    while two.call("GET", "/api/sets", None, None).json()["playing"] != "travelling.toml" {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", two.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Hostile archives: nothing written.
    let file = tar::EntryType::Regular;
    for (entries, status, says) in [
        (
            vec![("../evil.wav", &b"x"[..], file)],
            400,
            "plain relative paths",
        ),
        (
            vec![("/tmp/evil.wav", &b"x"[..], file)],
            400,
            "plain relative paths",
        ),
        (
            vec![(".hidden.wav", &b"x"[..], file)],
            400,
            "plain relative paths",
        ),
        (
            vec![
                ("ok.wav", &b"x"[..], file),
                ("link.wav", &b""[..], tar::EntryType::Symlink),
            ],
            400,
            "files and folders only",
        ),
        (vec![("big.wav", &[0u8; 1_100_000][..], file)], 413, "1 MB"),
    ] {
        let r = two.send_bytes("/api/sets/archive", &raw_tar(&entries));
        is_error(&r, status, says);
        assert!(!b.path().join("ok.wav").exists() && !b.path().join("big.wav").exists());
    }
    let many: Vec<(String, Vec<u8>)> = (0..2001)
        .map(|i| (format!("f{i}.wav"), Vec::new()))
        .collect();
    let many: Vec<(&str, &[u8], tar::EntryType)> = many
        .iter()
        .map(|(n, d)| (n.as_str(), &d[..], file))
        .collect();
    is_error(
        &two.send_bytes("/api/sets/archive", &raw_tar(&many)),
        413,
        "more than 2000 files",
    );
    is_error(
        &two.send_bytes("/api/sets/archive", b"not a tar at all, just words"),
        400,
        "archive",
    );
    assert!(!b.path().join("f0.wav").exists());
    let left: Vec<_> = std::fs::read_dir(b.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(".part"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    two.stop();
}

#[test]
fn pad_actions_before_the_set_has_loaded_are_answered_not_yet() {
    // The web surface starts before the samples load (a page can play the first pads while
    // the rest come): a press on a pad whose sample is not there yet, or a record action
    // before recording is set up, is answered 503 "try again", not lost; once ready, taken.
    use crate::common::web::request;
    use padlooper::midi::state::SharedControl;
    use std::sync::Arc;
    let dir = crate::common::tmp();
    let set = crate::common::set_in(
        dir.path(),
        "[master]\nrecord_seconds = 4\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
    );
    let (engine, mut handle) = padlooper::engine::Engine::new(
        padlooper::control::set::loader::engine_settings(&set, 48_000),
    )
    .unwrap();
    let shared = Arc::new(SharedControl::new(&set, 48_000, engine.stats().clone()));
    let opts = padlooper::web::WebOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        state_dir: None,
        upload_max: 1 << 20,
    };
    let web = padlooper::web::WebServer::start(&opts, &set, shared.clone(), &mut handle).unwrap();
    let host = web.addr.to_string();
    let call = |path: &str| {
        request(
            web.addr,
            "POST",
            path,
            &[("Host", host.clone()), ("Origin", format!("http://{host}"))],
            b"",
        )
    };
    let r = call("/api/pads/0/press");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body.contains("not loaded yet") && r.body.contains("try again"),
        "{}",
        r.body
    );
    let r = call("/api/pads/1/record");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("recording is not set up yet"), "{}", r.body);
    // A pad the set leaves empty is pressed as it is (nothing to wait for); a pad that is not
    // there is still a bad request.
    assert_eq!(call("/api/pads/3/press").status, 200);
    assert_eq!(call("/api/pads/999/record").status, 400);
    shared
        .ready
        .store(true, std::sync::atomic::Ordering::Release);
    assert_eq!(call("/api/pads/0/press").status, 200);
    assert_eq!(call("/api/pads/1/record").status, 200);
    web.stop(&mut handle);
}
