//! The web page in a real browser (Debian's chromium driven through chromedriver, both
//! installed by `make test`) against a real padlooper: log in, see the grid, tap a pad and see
//! the engine start it, hold a gate pad, switch banks, two browsers seeing each other's
//! changes. Screenshots at phone and laptop widths go to `target/web-shots/` (and to
//! `$PADLOOPER_SCREENSHOTS`, e.g. `docs/img`, when set: that is how the guide's are made).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, PointerAction, TouchActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::web::{SET, WebRun};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port; killed on drop.
struct Driver {
    child: Child,
    url: String,
    profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Driver {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "the browser tests need Debian's chromium and chromium-driver: `make test` installs them (apt-get install chromium chromium-driver)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        profiles: tempfile::tempdir().unwrap(),
    }
}

/// A headless browser window `w` × `h`, with the flags a closed network needs.
async fn browser(d: &Driver, name: &str, w: u32, h: u32) -> Client {
    let profile = d.profiles.path().join(name);
    // A phone-sized window is a phone (touch, its viewport); a wide one a laptop.
    let mobile = if w < 600 {
        json!({"deviceMetrics": {"width": w, "height": h, "pixelRatio": 1.0, "touch": true, "mobile": true}})
    } else {
        json!(null)
    };
    let mut caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
                format!("--window-size={w},{h}"),
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    if !mobile.is_null() {
        caps["goog:chromeOptions"]["mobileEmulation"] = mobile;
    }
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("chromium did not start under chromedriver")
}

/// Waits (10 s at most) until `css` matches an element.
async fn wait_css(c: &Client, css: &str) {
    let t0 = Instant::now();
    while c.find(Locator::Css(css)).await.is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "nothing matched {css} in {}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Clicks the element `css` matches.
async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The text of the element `css` matches.
async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../web-shots")];
    if let Some(d) = std::env::var_os("PADLOOPER_SCREENSHOTS") {
        dirs.push(PathBuf::from(d));
    }
    for d in dirs {
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{name}.png")), &png).unwrap();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn web_page_in_a_real_browser_plays_pads_and_shows_everyone_the_same() {
    let mut run = WebRun::start(SET, "127.0.0.1:0", |_| {});
    let d = driver();
    block_on(async {
        let phone = browser(&d, "phone", 390, 844).await;
        let laptop = browser(&d, "laptop", 1280, 800).await;
        for c in [&phone, &laptop] {
            c.goto(&run.url()).await.unwrap();
            wait_css(c, "#conn:not(.off)").await;
            wait_css(c, ".pad.loaded[data-id='0']").await;
        }
        let ready = phone
            .execute("return window.padlooperReady", vec![])
            .await
            .unwrap();
        eprintln!(
            "web page: usable grid {:.0} ms after navigation (phone, loopback)",
            ready.as_f64().unwrap_or(0.0)
        );
        // The grid as the set has it: 2 × 4, two pads on bank 1, two banks.
        let pads = phone.find_all(Locator::Css("#grid .pad")).await.unwrap();
        assert_eq!(pads.len(), 8);
        assert_eq!(
            phone
                .find_all(Locator::Css("#banks button"))
                .await
                .unwrap()
                .len(),
            2
        );
        let name = phone
            .find(Locator::Css(".pad[data-id='0'] .name"))
            .await
            .unwrap();
        assert_eq!(name.text().await.unwrap(), "builtin:drums");

        // A tap on the phone starts the toggle pad in the engine; the laptop sees it.
        click(&phone, ".pad[data-id='0']").await;
        run.wait_log("PadStarted(0)", Duration::from_secs(10));
        wait_css(&phone, ".pad.playing[data-id='0']").await;
        wait_css(&laptop, ".pad.playing[data-id='0']").await;
        // Its meter moves (the engine meters while a page watches).
        let t0 = Instant::now();
        loop {
            let w = laptop
                .execute(
                    "return document.querySelector(\".pad[data-id='0'] .lvl\").style.width",
                    vec![],
                )
                .await
                .unwrap();
            if w.as_str().is_some_and(|w| w != "0%" && !w.is_empty()) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the pad meter never moved: {w}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        run.call(
            "POST",
            "/api/transport",
            Some(r#"{"action":"start"}"#),
            None,
        );
        wait_css(&laptop, "#play.on").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        shot(&phone, "web-phone").await;
        shot(&laptop, "web-laptop").await;

        // Holding the gate pad plays it while held (touch down, 1.5 s, touch up), as the
        // laptop and the engine see it meanwhile.
        let gate = phone.find(Locator::Css(".pad[data-id='1']")).await.unwrap();
        let finger = TouchActions::new("finger".into())
            .then(PointerAction::MoveToElement {
                element: gate.clone(),
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down { button: 0 })
            .pause(Duration::from_millis(1500))
            .then(PointerAction::Up { button: 0 });
        let watch = async {
            wait_css(&laptop, ".pad.playing[data-id='1']").await;
            run.state_until(None, |v| v["cells"][1]["look"] == "playing");
        };
        let (done, ()) = tokio::join!(phone.perform_actions(finger), watch);
        done.unwrap();
        wait_css(&laptop, ".pad.loaded[data-id='1']").await;
        wait_css(&phone, ".pad.loaded[data-id='1']:not(.held)").await;

        // A bank switch on the laptop shows on the phone.
        click(&laptop, "#banks button[data-bank='1']").await;
        wait_css(&phone, "#banks button.current[data-bank='1']").await;
        wait_css(&phone, ".pad.loaded[data-id='8']").await;
        // The log panel shows the messages.
        let log = text(&laptop, "#log").await;
        assert!(log.contains("web surface on http://"), "{log}");

        phone.close().await.unwrap();
        laptop.close().await.unwrap();
    });
    let log = run.stop();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn web_page_asks_for_the_password_first() {
    let mut run = WebRun::start(SET, "127.0.0.1:0", |state| {
        padlooper::web::auth::set_password(state, "stage secret 42").unwrap();
    });
    let d = driver();
    block_on(async {
        let c = browser(&d, "login", 390, 844).await;
        c.goto(&run.url()).await.unwrap();
        wait_css(&c, "#login:not([hidden])").await;
        shot(&c, "web-login").await;
        let pw = c.find(Locator::Id("password")).await.unwrap();
        pw.send_keys("not it").await.unwrap();
        click(&c, "#login-form button").await;
        let t0 = Instant::now();
        loop {
            let e = text(&c, "#login-error").await;
            if e.contains("wrong password") {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no error shown: {e:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        pw.clear().await.unwrap();
        pw.send_keys("stage secret 42").await.unwrap();
        click(&c, "#login-form button").await;
        wait_css(&c, "#login[hidden]").await;
        wait_css(&c, ".pad.loaded[data-id='0']").await;
        // The session cookie is out of the page's reach (HttpOnly).
        let cookies = c.execute("return document.cookie", vec![]).await.unwrap();
        assert_eq!(cookies, json!(""));
        c.close().await.unwrap();
    });
    run.stop();
}

/// The pad editor: open a pad, play it, drag its loop end on the waveform (snapped to a bar):
/// heard at once (the silent half no longer plays), then save: the set file changes (its
/// comments kept) and a render loops at the new length; a broken value is refused with its
/// line shown at the field.
#[test]
fn web_editor_drags_a_loop_end_into_the_set_file() {
    use fantoccini::actions::MouseActions;
    // An 8-second loop at 120 BPM (bars of 2 s), its second half silent, with a comment that
    // must survive.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    crate::common::write_wav16(&dir.join("loop.wav"), 48_000, 8.0, |t| {
        let x = if t < 4.0 {
            0.4 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
        } else {
            0.0
        };
        (x, x)
    });
    let set = "# the editor keeps this\n[master]\nquantize = \"off\"\n\n[[pad]]\npad = 0\nfile = \"loop.wav\" # eight seconds\nbpm = 120\n";
    let mut run = WebRun::start_in(dir.clone(), set, "127.0.0.1:0");
    let d = driver();
    block_on(async {
        let c = browser(&d, "editor", 1280, 900).await;
        c.goto(&run.url()).await.unwrap();
        wait_css(&c, ".pad.loaded[data-id='0']").await;
        click(&c, "#edit-mode").await;
        click(&c, ".pad[data-id='0']").await;
        wait_css(&c, "#editor:not([hidden])").await;
        let times = c.find(Locator::Id("ed-times")).await.unwrap();
        let t0 = Instant::now();
        while !times.text().await.unwrap().contains("0.000–8.000") {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{}",
                times.text().await.unwrap()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // Play it, then drag the end handle (right edge) to the middle: 4.0 s, on a bar line.
        click(&c, "#ed-audition").await;
        let wave = c.find(Locator::Id("wave")).await.unwrap();
        let w = c
            .execute(
                "return document.getElementById('wave').getBoundingClientRect().width",
                vec![],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap();
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: wave.clone(),
                duration: None,
                x: (w / 2.0 - 3.0).floor(),
                y: 0.0,
            })
            .then(PointerAction::Down { button: 0 })
            .then(PointerAction::MoveToElement {
                element: wave.clone(),
                duration: Some(Duration::from_millis(200)),
                x: 7.0,
                y: 0.0,
            })
            .then(PointerAction::Up { button: 0 });
        c.perform_actions(drag).await.unwrap();
        let shown = times.text().await.unwrap();
        assert!(shown.contains("0.000–4.000"), "{shown}");
        assert!(shown.contains("8.00 beats at 120.00 BPM"), "{shown}");
        // Heard before saving: for 5 s the pad's meter never falls into the silent half (it
        // would fall 24 dB a second there).
        let t0 = Instant::now();
        let mut lowest = 0f64;
        while t0.elapsed() < Duration::from_secs(5) {
            let db = c
                .execute("return meterDb.get(0) ?? -120", vec![])
                .await
                .unwrap()
                .as_f64()
                .unwrap();
            lowest = lowest.min(db);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(lowest > -20.0, "the meter fell to {lowest} dB");
        assert!(
            !std::fs::read_to_string(dir.join("set.toml"))
                .unwrap()
                .contains("loop_end"),
            "a preview must not touch the set file"
        );
        shot(&c, "web-editor").await;
        click(&c, "#ed-save").await;
        let t0 = Instant::now();
        loop {
            let f = std::fs::read_to_string(dir.join("set.toml")).unwrap();
            if f.contains("loop_end = 4.0") {
                assert!(
                    f.contains("# the editor keeps this") && f.contains("# eight seconds"),
                    "{f}"
                );
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the set file did not change:\n{f}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        run.wait_log("reloaded", Duration::from_secs(10));

        // A gain out of range: refused, the field marked, the file untouched.
        let gain = c.find(Locator::Css("[data-key='gain_db']")).await.unwrap();
        gain.clear().await.unwrap();
        gain.send_keys("99\t").await.unwrap();
        click(&c, "#ed-save").await;
        wait_css(&c, "label.bad [data-key='gain_db']").await;
        let err = text(&c, "#ed-error").await;
        assert!(
            err.contains("set.toml:") && err.contains("gain_db"),
            "{err}"
        );
        let f = std::fs::read_to_string(dir.join("set.toml")).unwrap();
        assert!(!f.contains("99"), "{f}");

        // Upload a WAV with the file input (it streams in with a progress bar) and assign it
        // to the empty pad next to the loop.
        let src = tempfile::tempdir().unwrap();
        let up = src.path().join("fresh take.wav");
        crate::common::write_wav16(&up, 48_000, 1.0, |t| {
            let x = 0.3 * (2.0 * std::f64::consts::PI * 330.0 * t).sin();
            (x, x)
        });
        click(&c, "#library-open").await;
        wait_css(&c, "#library:not([hidden])").await;
        c.find(Locator::Id("upload"))
            .await
            .unwrap()
            .send_keys(&up.display().to_string())
            .await
            .unwrap();
        wait_css(&c, "#uploads li.done").await;
        wait_css(&c, "#lib-table tr[data-name='fresh take.wav']").await;
        assert!(dir.join("fresh take.wav").is_file());
        shot(&c, "web-library").await;
        click(&c, "#lib-close").await;
        click(&c, "#ed-close").await;
        click(&c, ".pad[data-cell='1']").await;
        wait_css(&c, "#editor:not([hidden])").await;
        wait_css(&c, "#ed-file option[value='fresh take.wav']").await;
        click(&c, "#ed-file option[value='fresh take.wav']").await;
        click(&c, "#ed-save").await;
        click(&c, "#edit-mode").await;
        wait_css(&c, ".pad.loaded[data-id='1']").await;
        let f = std::fs::read_to_string(dir.join("set.toml")).unwrap();
        assert!(f.contains("file = \"fresh take.wav\""), "{f}");
        c.close().await.unwrap();
    });
    run.stop();
    // The saved loop plays 4 s long: wraps at 4 s and 8 s.
    let set = padlooper::config::SetFile::load(&dir.join("set.toml")).unwrap();
    let (out, report) = crate::common::render_set(&set, "0 press 0 0\n", 10.0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let wraps = crate::common::frames_of(&out.events, |k| {
        *k == padlooper::engine::event::EventKind::PadLooped(0)
    });
    assert_eq!(wraps.len(), 2, "{wraps:?}");
    let period = (wraps[1] - wraps[0]) as f64 / 48_000.0;
    assert!((period - 4.0).abs() < 0.01, "the loop is {period} s long");
}

/// The sets panel: a set with a mistake is refused on Save & apply, the problem listed at its
/// line and that line selected; fixed, it saves and applies.
#[test]
fn web_sets_panel_shows_a_broken_set_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut run = WebRun::start_in(dir.clone(), SET, "127.0.0.1:0");
    let d = driver();
    block_on(async {
        let c = browser(&d, "sets", 1280, 900).await;
        c.goto(&run.url()).await.unwrap();
        wait_css(&c, ".pad.loaded[data-id='0']").await;
        click(&c, "#sets-open").await;
        wait_css(&c, "#set-name option[value='set.toml']").await;
        let ta = c.find(Locator::Id("set-text")).await.unwrap();
        let t0 = Instant::now();
        while !ta
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("[grid]")
        {
            assert!(t0.elapsed() < Duration::from_secs(10));
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // A typo on the line after `[grid]`'s `rows = 2` (line 6 of the set).
        c.execute(
            "const t = document.getElementById('set-text'); t.value = t.value.replace('rows = 2', 'rowz = 2');",
            vec![],
        )
        .await
        .unwrap();
        click(&c, "#set-apply").await;
        wait_css(&c, "#set-problems li[data-line='6']").await;
        let p = text(&c, "#set-problems li").await;
        assert!(p.contains("line 6") && p.contains("rowz"), "{p}");
        let sel = c
            .execute("const t = document.getElementById('set-text'); return t.value.substring(t.selectionStart, t.selectionEnd)", vec![])
            .await
            .unwrap();
        assert_eq!(sel, json!("rowz = 2"));
        shot(&c, "web-sets").await;
        assert!(
            !std::fs::read_to_string(dir.join("set.toml"))
                .unwrap()
                .contains("rowz")
        );
        c.execute(
            "const t = document.getElementById('set-text'); t.value = t.value.replace('rowz = 2', 'rows = 2').replace('builtin = \"bass\"', 'builtin = \"chords\"');",
            vec![],
        )
        .await
        .unwrap();
        click(&c, "#set-apply").await;
        wait_css(&c, "#set-msg.ok").await;
        c.close().await.unwrap();
    });
    run.wait_log("reloaded", Duration::from_secs(10));
    assert!(
        std::fs::read_to_string(dir.join("set.toml"))
            .unwrap()
            .contains("chords")
    );
    run.stop();
}

#[test]
fn web_rec_then_a_pad_resamples_a_take_into_it() {
    // The page's Resample button, then an empty pad: it blinks while armed, shows it records
    // once the bar begins, and a second tap ends the take, which the pad then plays and the
    // set keeps. Then Dub over it (framed orange while it overdubs, tapped again it ends): the
    // set keeps the pass; Undo, then the pad: the set is back on the take; Clear: the pad is
    // gone from the set, and Undo brings it back.
    let set = SET.replace(
        "quantize = \"off\"",
        "quantize = \"off\"\nrecord_seconds = 8",
    );
    assert!(set.contains("record_seconds"));
    let mut run = WebRun::start(&set, "127.0.0.1:0", |_| {});
    let d = driver();
    let set_file = run.dir.path().join("set.toml");
    // The set file says `want` and not `not` (bounded wait: the writer and the set keeper
    // run on their own time).
    let set_says = |want: &'static str, not: &'static str| {
        let (set_file, run) = (&set_file, &run);
        async move {
            let t0 = std::time::Instant::now();
            loop {
                let text = std::fs::read_to_string(set_file).unwrap();
                if text.contains(want) && (not.is_empty() || !text.contains(not)) {
                    return;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(15),
                    "want {want:?}, not {not:?}:\n{text}\n{}",
                    run.log_text()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    block_on(async {
        let c = browser(&d, "rec", 1280, 800).await;
        c.goto(&run.url()).await.unwrap();
        wait_css(&c, ".pad.loaded[data-id='0']").await;
        click(&c, ".pad[data-id='0']").await;
        wait_css(&c, ".pad.playing[data-id='0']").await;
        click(&c, "#resample").await;
        wait_css(&c, "#resample.on").await;
        click(&c, ".pad[data-cell='2']").await;
        wait_css(&c, "#resample:not(.on)").await;
        wait_css(&c, ".pad.rec[data-cell='2']").await;
        shot(&c, "recording").await;
        click(&c, ".pad[data-cell='2']").await;
        wait_css(&c, ".pad.playing[data-id='2']:not(.rec)").await;
        set_says("recordings/b0-p2-take1.wav", "").await;
        // Dub over it: framed orange while it overdubs; tapped again, the pass ends.
        click(&c, "#overdub").await;
        wait_css(&c, "#overdub.on").await;
        click(&c, ".pad[data-id='2']").await;
        wait_css(&c, ".pad.rec.dub[data-id='2']").await;
        shot(&c, "overdubbing").await;
        click(&c, ".pad[data-id='2']").await;
        wait_css(&c, ".pad.playing[data-id='2']:not(.rec)").await;
        set_says("recordings/b0-p2-take2.wav", "take1.wav").await;
        // Undo, then the pad: back on the take.
        click(&c, "#undo").await;
        click(&c, ".pad[data-id='2']").await;
        set_says("recordings/b0-p2-take1.wav", "take2.wav").await;
        wait_css(&c, ".pad.playing[data-id='2']").await;
        // Clear: the pad is empty and gone from the set; undo brings it back.
        click(&c, "#clear").await;
        click(&c, ".pad[data-id='2']").await;
        wait_css(&c, ".pad.empty[data-cell='2']").await;
        set_says("[[pad]]", "take1.wav").await;
        click(&c, "#undo").await;
        click(&c, ".pad[data-cell='2']").await;
        wait_css(&c, ".pad.loaded[data-id='2']").await;
        set_says("recordings/b0-p2-take1.wav", "").await;
        c.close().await.unwrap();
    });
    run.stop();
}
