//! Sets on USB sticks: a stick carrying `padlooper/set.toml` (the folder name is fixed and
//! documented) is found at start and whenever one is plugged in (mount points are polled every
//! two seconds: a few directory reads). Not real-time.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The folder a stick carries its set in: `<stick>/padlooper/set.toml`.
pub const USB_FOLDER: &str = "padlooper";
/// The set file in that folder.
pub const USB_SET: &str = "set.toml";

/// Where removable media are mounted: `/media/<label>` (deploy's udev rule, usbmount),
/// `/media/<user>/<label>` and `/run/media/<user>/<label>` (desktop automounters), `/mnt/*`.
/// `PADLOOPER_USB_ROOTS` (colon-separated) replaces them (tests, unusual setups).
pub fn roots() -> Vec<PathBuf> {
    match std::env::var_os("PADLOOPER_USB_ROOTS") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
        _ => ["/media", "/run/media", "/mnt"]
            .iter()
            .map(PathBuf::from)
            .collect(),
    }
}

/// The folders in `p` (none when it cannot be read): where sticks are mounted below a root.
pub fn subdirs(p: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Every `padlooper/set.toml` on a mounted stick, sorted (one or two levels below a root).
pub fn find_sets(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dirs = subdirs;
    for root in roots {
        for one in dirs(root) {
            let set = one.join(USB_FOLDER).join(USB_SET);
            if set.is_file() {
                out.push(set);
                continue;
            }
            for two in dirs(&one) {
                let set = two.join(USB_FOLDER).join(USB_SET);
                if set.is_file() {
                    out.push(set);
                }
            }
        }
    }
    out.sort();
    out
}

/// Watches for sticks with a set being plugged in.
pub struct UsbWatch {
    roots: Vec<PathBuf>,
    known: HashSet<PathBuf>,
    last: Instant,
}

/// How often the mount points are looked at.
pub const POLL: Duration = Duration::from_secs(2);

impl UsbWatch {
    /// A watch that knows the sets present now (they are not "new").
    pub fn new() -> Self {
        let roots = roots();
        let known = find_sets(&roots).into_iter().collect();
        Self {
            roots,
            known,
            last: Instant::now(),
        }
    }

    /// A set that appeared since the last call (at most every [`POLL`]); sets that went away
    /// are forgotten, so plugging the same stick in again counts as new.
    pub fn poll(&mut self) -> Option<PathBuf> {
        if self.last.elapsed() < POLL {
            return None;
        }
        self.last = Instant::now();
        let now: HashSet<PathBuf> = find_sets(&self.roots).into_iter().collect();
        let mut new: Vec<&PathBuf> = now.difference(&self.known).collect();
        new.sort();
        let first = new.first().map(|p| (*p).clone());
        self.known = now;
        first
    }
}

impl Default for UsbWatch {
    fn default() -> Self {
        Self::new()
    }
}
