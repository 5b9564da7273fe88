//! systemd integration through the `sd_notify` protocol: readiness (`READY=1`), a status line
//! (`STATUS=`), watchdog keep-alives (`WATCHDOG=1`, only while audio advances) and `STOPPING=1`,
//! sent as datagrams to `$NOTIFY_SOCKET`. Outside systemd (no socket) every call does nothing.
//! Not real-time: called from the control thread.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// A connection to the service manager, if padlooper runs under one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
    last_ping: Instant,
    last_frames: u64,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket) and `$WATCHDOG_USEC`
    /// (honoured when `$WATCHDOG_PID` is unset or this process). Not real-time.
    pub fn from_env() -> Self {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|p| {
            let p = p.to_string_lossy().into_owned();
            let addr = socket_addr(&p)?;
            let sock = UnixDatagram::unbound().ok()?;
            // Never wait on the service manager: a full queue drops a message instead of
            // stalling the control loop.
            sock.set_nonblocking(true).ok()?;
            Some((sock, addr))
        });
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|p| p == std::process::id());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&u| u > 0 && for_us)
            .map(Duration::from_micros);
        Self {
            target,
            watchdog,
            last_ping: Instant::now(),
            last_frames: 0,
        }
    }

    /// Whether a service manager is listening.
    pub fn active(&self) -> bool {
        self.target.is_some()
    }

    /// The watchdog interval systemd asked for (None: no watchdog).
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    fn send(&self, msg: &str) {
        if let Some((sock, addr)) = &self.target
            && let Err(e) = sock.send_to_addr(msg.as_bytes(), addr)
        {
            log::debug!("sd_notify: {e}");
        }
    }

    /// Start-up is done: audio runs and the set is loaded.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// A status line for `systemctl status`.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    /// Shutting down.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// Reloading the set (followed by [`ready`](Self::ready) when done).
    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }

    /// Sends a keep-alive when half the watchdog interval has passed and padlooper is alive:
    /// the audio clock (`frames`) moved since the last one, or `waiting` (audio is down and
    /// padlooper knows it, e.g. retrying a vanished device). A hung callback stops the pings,
    /// and systemd restarts the service.
    pub fn keep_alive(&mut self, frames: u64, waiting: bool) {
        let Some(interval) = self.watchdog else {
            return;
        };
        if self.last_ping.elapsed() < interval / 2 {
            return;
        }
        if frames != self.last_frames || waiting {
            self.send("WATCHDOG=1");
            self.last_ping = Instant::now();
            self.last_frames = frames;
        }
    }
}

/// A `$NOTIFY_SOCKET` value as a socket address.
fn socket_addr(p: &str) -> Option<SocketAddr> {
    if let Some(name) = p.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(name.as_bytes()).ok();
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return None;
        }
    }
    SocketAddr::from_pathname(p).ok()
}

/// Status text on one line (the protocol separates fields with newlines).
fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_the_socket_and_the_watchdog_needs_progress() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut n = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                socket_addr(path.to_str().unwrap()).unwrap(),
            )),
            watchdog: Some(Duration::from_millis(2)),
            last_ping: Instant::now(),
            last_frames: 0,
        };
        let mut buf = [0u8; 256];
        let mut recv = || {
            let k = listener.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..k]).into_owned()
        };
        n.ready("USB Audio\n48 kHz");
        assert_eq!(recv(), "READY=1\nSTATUS=USB Audio 48 kHz");
        std::thread::sleep(Duration::from_millis(3));
        // No progress, not waiting: no keep-alive.
        n.keep_alive(0, false);
        n.keep_alive(512, false);
        assert_eq!(recv(), "WATCHDOG=1");
        std::thread::sleep(Duration::from_millis(3));
        n.keep_alive(512, true);
        assert_eq!(recv(), "WATCHDOG=1");
        n.stopping();
        assert_eq!(recv(), "STOPPING=1");
    }
}
