//! The pad editor's live preview through a real padlooper (`run --no-audio --web`): a loop
//! moved on the page is heard at once (the pad's meter follows the region it plays), the pad
//! keeps playing, a knob's setting changed from the page is heard, the set file is untouched,
//! and bad regions or values get the loader's or the parameter table's message.

use std::time::Instant;

use crate::common::web::WebRun;
use serde_json::Value;
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

/// The pad meters (dBFS) of pad 0 over `secs` seconds of states, its look each time.
fn listen(
    ws: &mut tungstenite::WebSocket<impl std::io::Read + std::io::Write>,
    secs: f64,
) -> Vec<(f64, String)> {
    let t0 = Instant::now();
    let mut v = Vec::new();
    while t0.elapsed().as_secs_f64() < secs {
        if let Message::Text(t) = ws.read().unwrap() {
            let m: Value = serde_json::from_str(&t).unwrap();
            if m["type"] == "state" {
                let c = &m["cells"][0];
                v.push((
                    c["level_db"].as_f64().unwrap_or(-120.0),
                    c["look"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    v
}

#[test]
fn a_loop_moved_in_the_editor_is_heard_at_once_without_saving() {
    let dir = tempfile::tempdir().unwrap();
    // Two seconds of a loud tone, then two of silence.
    crate::common::write_wav16(&dir.path().join("halves.wav"), 48_000, 4.0, |t| {
        let v = if t < 2.0 {
            0.5 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
        } else {
            0.0
        };
        (v, v)
    });
    let set = "[master]\nquantize = \"off\"\n\n[[pad]]\npad = 0\nfile = \"halves.wav\"\n";
    let run = WebRun::start_in(dir.path().to_path_buf(), set, "127.0.0.1:0");
    run.state_until(None, |v| v["cells"][0]["look"] == "loaded");
    let mut req = format!("ws://{}/api/ws", run.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Origin", run.url().parse().unwrap());
    let (mut ws, _) = tungstenite::connect(req).unwrap();
    ws.send(Message::text(r#"{"press":0}"#)).unwrap();
    let preview = |body: &str| run.call("POST", "/api/pads/0/preview", Some(body), None);

    // Only the silent half: the meter drops to nothing while the pad plays on.
    let r = preview(r#"{"loop_start": 2.0}"#);
    assert_eq!(r.status, 200, "{r:?}");
    listen(&mut ws, 0.3);
    let quiet = listen(&mut ws, 1.5);
    assert!(quiet.len() >= 20, "{quiet:?}");
    assert!(
        quiet
            .iter()
            .all(|(db, look)| *db < -60.0 && look == "playing"),
        "{quiet:?}"
    );
    // Only the loud half.
    let r = preview(r#"{"loop_start": 0, "loop_end": 2.0}"#);
    assert_eq!(r.status, 200, "{r:?}");
    listen(&mut ws, 0.3);
    let loud = listen(&mut ws, 1.5);
    assert!(
        loud.iter()
            .all(|(db, look)| *db > -12.0 && look == "playing"),
        "{loud:?}"
    );

    // Bad regions: the loader's words, nothing changes.
    let r = preview(r#"{"loop_start": 5.0}"#);
    assert_eq!(r.status, 422, "{r:?}");
    assert!(
        r.body.contains("loop_start") && r.body.contains("halves.wav"),
        "{r:?}"
    );
    for bad in [
        r#"{"loop_start": -1}"#,
        r#"{"loop_start": "x"}"#,
        r#"{"loop": 1}"#,
        "[]",
    ] {
        assert_eq!(preview(bad).status, 400, "{bad}");
    }
    assert_eq!(
        run.call("POST", "/api/pads/7/preview", Some("{}"), None)
            .status,
        404
    );
    let host = run.addr.to_string();
    let h = vec![
        ("Host", host),
        ("Origin", "http://evil.example".to_string()),
    ];
    let r = crate::common::web::request(run.addr, "POST", "/api/pads/0/preview", &h, b"{}");
    assert_eq!(r.status, 403, "{r:?}");
    let still = listen(&mut ws, 0.5);
    assert!(still.iter().all(|(db, _)| *db > -12.0), "{still:?}");

    // Settings a knob changes are heard at once too: 40 dB down, then back.
    let live = |body: &str| run.call("POST", "/api/pads/0/live", Some(body), None);
    let before = listen(&mut ws, 0.5);
    let level = |v: &[(f64, String)]| v.iter().map(|x| x.0).sum::<f64>() / v.len() as f64;
    let r = live(r#"{"gain_db": -40, "filter": 0.5}"#);
    assert_eq!(r.status, 200, "{r:?}");
    listen(&mut ws, 0.4);
    let down = listen(&mut ws, 0.6);
    let drop = level(&before) - level(&down);
    assert!((drop - 40.0).abs() < 1.5, "{drop} dB: {before:?} {down:?}");
    for (bad, words) in [
        (r#"{"gain_db": 99}"#, "out of range"),
        (r#"{"gain_db": -3, "mode": "gate"}"#, "cannot change live"),
        (r#"{"sync": 1}"#, "true or false"),
        (r#"{"eq": "loud"}"#, "isolator"),
        ("{}", "JSON object"),
    ] {
        let r = live(bad);
        assert_eq!(r.status, 400, "{bad}: {r:?}");
        assert!(r.body.contains(words), "{bad}: {r:?}");
    }
    // Refused as a whole: the -3 dB above was not applied.
    let still_down = listen(&mut ws, 0.5);
    assert!(
        (level(&still_down) - level(&down)).abs() < 1.0,
        "{still_down:?}"
    );
    assert_eq!(live(r#"{"gain_db": 0}"#).status, 200);
    listen(&mut ws, 0.4);
    let back = listen(&mut ws, 0.5);
    assert!((level(&back) - level(&before)).abs() < 1.0, "{back:?}");

    // The set file is as it was.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("set.toml")).unwrap(),
        set
    );
}
