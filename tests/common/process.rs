//! Running `padlooper` as a child process the way systemd does: listening on a notify socket,
//! stopping it with a signal.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What padlooper tells systemd on `sock`, message by message, from a thread that ends after
/// `STOPPING=1` (or 60 s, for slow emulated runs).
pub fn listen_notify(sock: UnixDatagram) -> mpsc::Receiver<String> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut buf = [0u8; 512];
        while t0.elapsed() < Duration::from_secs(60) {
            if let Ok(k) = sock.recv(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..k]).into_owned();
                let last = m == "STOPPING=1";
                if tx.send(m).is_err() || last {
                    break;
                }
            }
        }
    });
    rx
}

/// Messages from [`listen_notify`] until one satisfies `done` (included) or 60 s pass.
pub fn notify_until(rx: &mpsc::Receiver<String>, done: impl Fn(&str) -> bool) -> Vec<String> {
    let t0 = Instant::now();
    let mut got = Vec::new();
    while let Some(left) = Duration::from_secs(60).checked_sub(t0.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(m) => {
                let end = done(&m);
                got.push(m);
                if end {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    got
}

/// Sends `signal` and waits (at most 20 s) for the child to exit; returns its status and what
/// it wrote to stderr (which must be piped).
pub fn stop(mut child: Child, signal: libc::c_int) -> (ExitStatus, String) {
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "padlooper did not stop on signal {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    (status, err)
}
