//! `padlooper bench`, the web surface: the standard scene rendered again while a web surface in
//! this process is as busy as a hostile LAN can make it (5 live pages taking the state 25
//! times a second, waveform requests back to back, 20-MB uploads back to back), so its p99.9
//! can be compared with the quiet pass. The engine renders on this thread as fast as it can;
//! the web threads (nice 10, two blocking threads) compete with it for the machine. Not
//! real-time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::bench::{BenchArgs, render_pass};
use crate::bench::measure::Pass;
use crate::config::SetFile;
use crate::midi::state::SharedControl;
use crate::web::{WebOptions, WebServer};

/// Live pages connected during the pass.
pub const CLIENTS: usize = 5;
/// Seconds of the upload used (a 48-kHz stereo 16-bit WAV: about 20 MB).
const UPLOAD_SECONDS: f64 = 104.0;

/// The busy pass and what the web surface served meanwhile.
#[derive(Debug)]
pub struct WebBench {
    /// The scene with the web surface busy.
    pub pass: Pass,
    /// The same scene, quiet, rendered the same way (on a thread of the audio thread's
    /// priority when the system allows it).
    pub quiet: Pass,
    /// Whether both passes ran at real-time priority (as the audio thread does).
    pub realtime: bool,
    /// States received per second per page.
    pub states_per_s: f64,
    /// Waveform requests served per second.
    pub peaks_per_s: f64,
    /// Uploads stored per second.
    pub uploads_per_s: f64,
    /// Web threads' CPU over the pass, in % of one core.
    pub web_cpu_pct: f64,
}

fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> u16 {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return 0;
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(req.as_bytes());
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out[..out.len().min(12)])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// CPU ticks (user + system) of this process's threads named `padlooper-web*`.
fn web_ticks() -> u64 {
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    rd.flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("padlooper-web"))
        })
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let rest = stat.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split(' ').collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// The load: pages, waveform requests and uploads, until `stop`.
fn load(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<[AtomicU64; 3]>,
    upload: Arc<Vec<u8>>,
    pads: usize,
) -> Vec<std::thread::JoinHandle<()>> {
    use tungstenite::client::IntoClientRequest;
    let mut hs = Vec::new();
    for _ in 0..CLIENTS {
        let (stop, counts) = (stop.clone(), counts.clone());
        hs.push(std::thread::spawn(move || {
            let Ok(mut r) = format!("ws://{addr}/api/ws").into_client_request() else {
                return;
            };
            if let Ok(o) = format!("http://{addr}").parse() {
                r.headers_mut().insert("Origin", o);
            }
            let Ok((mut ws, _)) = tungstenite::connect(r) else {
                return;
            };
            while !stop.load(Ordering::Relaxed) {
                match ws.read() {
                    Ok(tungstenite::Message::Text(t)) if t.contains("\"type\":\"state\"") => {
                        counts[0].fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    let (s2, c2) = (stop.clone(), counts.clone());
    hs.push(std::thread::spawn(move || {
        let mut k = 0usize;
        while !s2.load(Ordering::Relaxed) {
            let from = (k % 20) as f64;
            let path = format!(
                "/api/pads/{}/peaks?from={from}&to={}&columns=1500",
                k % pads.max(1),
                from + 4.0
            );
            if http(addr, "GET", &path, b"") == 200 {
                c2[1].fetch_add(1, Ordering::Relaxed);
            }
            k += 1;
        }
    }));
    hs.push(std::thread::spawn(move || {
        let mut k = 0;
        while !stop.load(Ordering::Relaxed) {
            let name = format!("bench-upload-{k}.wav");
            if http(
                addr,
                "POST",
                &format!("/api/library/upload?name={name}"),
                &upload,
            ) == 200
            {
                counts[2].fetch_add(1, Ordering::Relaxed);
            }
            http(
                addr,
                "POST",
                "/api/library/delete",
                format!("{{\"name\":\"{name}\"}}").as_bytes(),
            );
            k += 1;
        }
    }));
    hs
}

/// A WAV of `seconds` of a quiet tone, 48 kHz stereo 16-bit, in memory.
fn upload_body(seconds: f64) -> Vec<u8> {
    let frames = (seconds * 48_000.0) as u32;
    let data = frames * 4;
    let mut v = Vec::with_capacity(44 + data as usize);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&48_000u32.to_le_bytes());
    v.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data.to_le_bytes());
    for i in 0..frames {
        let x = ((i as f32 * 0.05).sin() * 3000.0) as i16;
        v.extend_from_slice(&x.to_le_bytes());
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

/// Runs `f` on a thread at the audio thread's real-time priority (40, SCHED_FIFO) when the
/// system allows it; returns its result and whether the priority was granted.
pub(super) fn on_rt_thread<T: Send>(f: impl FnOnce() -> T + Send) -> (T, bool) {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = crate::audio::priority::promote_current_thread(40).is_ok();
            (f(), rt)
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Renders the scene `set` (its file at `set_file`, whose folder takes the uploads) quiet and
/// with the web surface busy, both on a thread like the audio thread.
pub fn run(
    set: &SetFile,
    set_file: &std::path::Path,
    args: &BenchArgs,
) -> anyhow::Result<WebBench> {
    let load = &crate::sample::loader::load_one;
    let (quiet, rt_quiet) =
        on_rt_thread(|| render_pass("scene, quiet", set, |_| {}, args, None, load));
    let quiet = quiet?.pass;
    let (busy, rt_busy) = on_rt_thread(|| busy(set, set_file, args));
    let mut busy = busy?;
    busy.quiet = quiet;
    busy.realtime = rt_quiet && rt_busy;
    Ok(busy)
}

fn busy(set: &SetFile, set_file: &std::path::Path, args: &BenchArgs) -> anyhow::Result<WebBench> {
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
    let upload = Arc::new(upload_body(UPLOAD_SECONDS));
    let server: std::cell::RefCell<Option<WebServer>> = Default::default();
    let threads: std::cell::RefCell<Vec<std::thread::JoinHandle<()>>> = Default::default();
    let started: std::cell::Cell<Option<(Instant, u64)>> = Default::default();
    let result = render_pass(
        "scene, web surface busy",
        set,
        |h| {
            let shared = Arc::new(SharedControl::new(
                set,
                crate::bench::scene::RATE,
                h.stats().clone(),
            ));
            let opts = WebOptions {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                state_dir: None,
                upload_max: 1 << 30,
            };
            match WebServer::start(&opts, set, shared, h) {
                Ok(s) => {
                    s.set_source(Some(set_file));
                    *threads.borrow_mut() = load(
                        s.addr,
                        stop.clone(),
                        counts.clone(),
                        upload.clone(),
                        set.pads.len(),
                    );
                    *server.borrow_mut() = Some(s);
                    // Let the pages connect and the first waveforms decode.
                    std::thread::sleep(Duration::from_millis(500));
                    for c in counts.iter() {
                        c.store(0, Ordering::Relaxed);
                    }
                    started.set(Some((Instant::now(), web_ticks())));
                }
                Err(e) => log::warn!("bench: {e}"),
            }
        },
        args,
        None,
        &crate::sample::loader::load_one,
    );
    let (t0, ticks0) = started.get().unwrap_or((Instant::now(), 0));
    let elapsed = t0.elapsed().as_secs_f64().max(1e-9);
    let ticks = web_ticks().saturating_sub(ticks0);
    stop.store(true, Ordering::Relaxed);
    if let Some(s) = server.borrow_mut().take() {
        drop(s);
    }
    for t in threads.borrow_mut().drain(..) {
        let _ = t.join();
    }
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let pass = result?.pass;
    let per = |i: usize| counts[i].load(Ordering::Relaxed) as f64 / elapsed;
    Ok(WebBench {
        quiet: pass.clone(),
        realtime: false,
        pass,
        states_per_s: per(0) / CLIENTS as f64,
        peaks_per_s: per(1),
        uploads_per_s: per(2),
        web_cpu_pct: 100.0 * ticks as f64 / hz / elapsed,
    })
}

/// As JSON.
pub fn json(w: &WebBench) -> serde_json::Value {
    let quiet = &w.quiet;
    serde_json::json!({
        "realtime_priority": w.realtime,
        "clients": CLIENTS,
        "states_per_s_per_client": w.states_per_s,
        "peaks_requests_per_s": w.peaks_per_s,
        "uploads_per_s": w.uploads_per_s,
        "upload_mb": (UPLOAD_SECONDS * 48_000.0 * 4.0 / 1e6),
        "web_cpu_pct_of_a_core": w.web_cpu_pct,
        "busy_p50_us": w.pass.p50, "busy_p99_us": w.pass.p99, "busy_p999_us": w.pass.p999,
        "busy_max_us": w.pass.max, "busy_over_budget": w.pass.over_budget,
        "quiet_p50_us": quiet.p50, "quiet_p99_us": quiet.p99, "quiet_p999_us": quiet.p999,
        "quiet_max_us": quiet.max,
    })
}

/// As a line of text.
pub fn describe(w: &WebBench) -> String {
    let quiet = &w.quiet;
    format!(
        "web surface busy ({CLIENTS} pages at {:.1} states/s each, {:.1} waveforms/s, {:.2} uploads of 20 MB/s; web threads {:.0}% of a core; render thread {}): scene block p99.9 {:.1} us ({:.1}% of budget) vs {:.1} us quiet, p99 {:.1} vs {:.1} us, max {:.1} vs {:.1} us, {} over budget",
        w.states_per_s,
        w.peaks_per_s,
        w.uploads_per_s,
        w.web_cpu_pct,
        if w.realtime {
            "at real-time priority 40, as the audio thread"
        } else {
            "at normal priority (real-time priority refused here)"
        },
        w.pass.p999,
        w.pass.pct(w.pass.p999),
        quiet.p999,
        w.pass.p99,
        quiet.p99,
        w.pass.max,
        quiet.max,
        w.pass.over_budget
    )
}
