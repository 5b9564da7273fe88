//! A padlooper with its web surface, run as a child process, and a plain HTTP/1.1 client that
//! can send anything (hostile headers included).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `padlooper run --no-audio --web`.
pub struct WebRun {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub log: Arc<Mutex<Vec<String>>>,
    /// The set's folder when it is not `dir`.
    pub set_dir: Option<PathBuf>,
}

/// A set with a toggle pad (0: drums), a gate pad (1: a sine) and a second bank.
pub const SET: &str = r#"
[master]
quantize = "off"

[grid]
rows = 2
cols = 4
banks = 2

[[pad]]
pad = 0
builtin = "drums"

[[pad]]
pad = 1
builtin = "sine440"
mode = "gate"

[[pad]]
bank = 1
pad = 0
builtin = "bass"
"#;

impl WebRun {
    /// Starts padlooper on `set` (written into a fresh folder that is also its state folder),
    /// with `--web ADDR` (port 0: any free port), after `setup` ran on the folder.
    pub fn start(set: &str, addr: &str, setup: impl FnOnce(&Path)) -> WebRun {
        Self::start_with(tempfile::tempdir().unwrap(), set, addr, setup)
    }

    /// [`start`](Self::start) in the folder `dir` (kept), with no setup.
    pub fn start_in(dir: PathBuf, set: &str, addr: &str) -> WebRun {
        Self::start_in_with(dir, set, addr, &[])
    }

    /// [`start_in`](Self::start_in) with more arguments for `run`.
    pub fn start_in_with(dir: PathBuf, set: &str, addr: &str, extra: &[&str]) -> WebRun {
        let kept = tempfile::Builder::new()
            .prefix(".state")
            .tempdir_in(&dir)
            .unwrap();
        // The folder the set lives in is `dir`; `kept` only holds the state.
        let mut run = Self::start_with_set(kept, &dir.join("set.toml"), set, addr, extra, &[]);
        run.set_dir = Some(dir);
        run
    }

    fn start_with(
        dir: tempfile::TempDir,
        set: &str,
        addr: &str,
        setup: impl FnOnce(&Path),
    ) -> WebRun {
        let set_path = dir.path().join("set.toml");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        setup(&state);
        Self::start_with_set(dir, &set_path, set, addr, &[], &[])
    }

    /// [`start`](Self::start) with these environment variables for the child.
    pub fn start_env(set: &str, addr: &str, envs: &[(&str, &std::ffi::OsStr)]) -> WebRun {
        Self::start_env_with(set, addr, envs, |_| {})
    }

    /// [`start_env`](Self::start_env), after `setup` ran on the state folder.
    pub fn start_env_with(
        set: &str,
        addr: &str,
        envs: &[(&str, &std::ffi::OsStr)],
        setup: impl FnOnce(&Path),
    ) -> WebRun {
        let dir = tempfile::tempdir().unwrap();
        let set_path = dir.path().join("set.toml");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        setup(&state);
        Self::start_with_set(dir, &set_path, set, addr, &[], envs)
    }

    fn start_with_set(
        dir: tempfile::TempDir,
        set_path: &Path,
        set: &str,
        addr: &str,
        extra: &[&str],
        envs: &[(&str, &std::ffi::OsStr)],
    ) -> WebRun {
        std::fs::write(set_path, set).unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_padlooper"))
            .args(["-v", "run", "--no-audio", "--set"])
            .arg(set_path)
            .args(["--web", addr])
            .args(extra)
            .env("PADLOOPER_STATE_DIR", &state)
            .env("CACHE_DIRECTORY", state.join("cache"))
            .env_remove("NOTIFY_SOCKET")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let l2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                l2.lock().unwrap().push(line);
            }
        });
        let mut run = WebRun {
            child: Some(child),
            addr: "127.0.0.1:1".parse().unwrap(),
            dir,
            log,
            set_dir: None,
        };
        let line = run.wait_log("web surface on http://", Duration::from_secs(60));
        let a = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap();
        run.addr = a.parse().unwrap();
        run
    }

    /// The first log line containing `needle`, waiting up to `limit` for it.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> String {
        let t0 = Instant::now();
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            assert!(
                t0.elapsed() < limit,
                "no log line with {needle:?}:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The page's base address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A request with raw bytes as its body, as a same-origin page sends it.
    pub fn send_bytes(&self, path: &str, body: &[u8]) -> Reply {
        let host = self.addr.to_string();
        let h = vec![("Host", host.clone()), ("Origin", format!("http://{host}"))];
        request(self.addr, "POST", path, &h, body)
    }

    /// A request with the headers a same-origin page sends.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        cookie: Option<&str>,
    ) -> Reply {
        let host = self.addr.to_string();
        let mut h = vec![("Host", host.clone())];
        if let Some(c) = cookie {
            h.push(("Cookie", c.to_string()));
        }
        if method != "GET" {
            h.push(("Origin", format!("http://{host}")));
        }
        request(self.addr, method, path, &h, body.unwrap_or("").as_bytes())
    }

    /// The published state (JSON), polled until `ok` holds (at most 10 s).
    pub fn state_until(
        &self,
        cookie: Option<&str>,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            let r = self.call("GET", "/api/state", None, cookie);
            assert_eq!(r.status, 200, "{}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            if ok(&v) {
                return v;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "state never matched: {v}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it with SIGTERM; returns the log.
    pub fn stop(&mut self) -> String {
        if let Some(mut c) = self.child.take() {
            // SAFETY: a signal to our own child.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            let t0 = Instant::now();
            while c.try_wait().unwrap().is_none() {
                if t0.elapsed() > Duration::from_secs(20) {
                    let _ = c.kill();
                    panic!("padlooper did not stop within 20 s:\n{}", self.log_text());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.log_text()
    }

    /// The state folder.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }
}

impl Drop for WebRun {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one HTTP/1.1 request with exactly these headers (plus Content-Length and
/// Connection: close) and reads the whole reply.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += &format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer (413) and close before the whole body went: read its reply anyway.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => (raw, &raw[raw.len()..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..i]);
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let rest = &s[i + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        s = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}
