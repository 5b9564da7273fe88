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
        phone
            .find(Locator::Css(".pad[data-id='0']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
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
        laptop
            .find(Locator::Css("#banks button[data-bank='1']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_css(&phone, "#banks button.current[data-bank='1']").await;
        wait_css(&phone, ".pad.loaded[data-id='8']").await;
        // The log panel shows the messages.
        let log = laptop
            .find(Locator::Css("#log"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
        c.find(Locator::Css("#login-form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let t0 = Instant::now();
        loop {
            let e = c
                .find(Locator::Id("login-error"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
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
        c.find(Locator::Css("#login-form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_css(&c, "#login[hidden]").await;
        wait_css(&c, ".pad.loaded[data-id='0']").await;
        // The session cookie is out of the page's reach (HttpOnly).
        let cookies = c.execute("return document.cookie", vec![]).await.unwrap();
        assert_eq!(cookies, json!(""));
        c.close().await.unwrap();
    });
    run.stop();
}
