//! The last set that loaded, kept by the service so a broken edit never leaves the stage
//! silent: when the set file fails to load, the service plays its last good copy (parsed as if
//! it were still at its own path, so its samples are found), else (the caller's choice) the
//! built-in demo. Not real-time.

use std::path::{Path, PathBuf};

use crate::config::SetFile;

const HEADER: &str = "# padlooper: the last good copy of ";
const FILE: &str = "last-good-set.toml";

/// The service's state folder: systemd's `$STATE_DIRECTORY` (the first, when several), or
/// `$PADLOOPER_STATE_DIR`. None outside a service.
pub fn state_dir() -> Option<PathBuf> {
    std::env::var_os("PADLOOPER_STATE_DIR")
        .or_else(|| std::env::var_os("STATE_DIRECTORY"))
        .and_then(|d| {
            let d = d.to_string_lossy().into_owned();
            let first = d.split(':').next().unwrap_or("").to_string();
            (!first.is_empty()).then(|| PathBuf::from(first))
        })
}

/// Keeps a copy of the set at `path` (text `text`, which just loaded) in `dir`.
pub fn remember(dir: &Path, path: &Path, text: &str) -> std::io::Result<()> {
    let body = format!("{HEADER}{}\n{text}", path.display());
    crate::atomic_file::write_atomic(&dir.join(FILE), body.as_bytes())
}

/// The last good copy in `dir`, parsed at its original path, and that path.
pub fn recall(dir: &Path) -> Option<(SetFile, PathBuf)> {
    let body = std::fs::read_to_string(dir.join(FILE)).ok()?;
    let (first, text) = body.split_once('\n')?;
    let path = PathBuf::from(first.strip_prefix(HEADER)?);
    SetFile::parse(&path, text).ok().map(|s| (s, path))
}

/// The set to play as a service: the file at `path` when it loads (remembered in `state`),
/// else its last good copy; errors and the fallback are logged with what to do. None when
/// neither loads (the caller plays the demo). Not real-time.
pub fn load_for_service(path: &Path, state: Option<&Path>) -> Option<SetFile> {
    let text = std::fs::read_to_string(path);
    let loaded = match &text {
        Ok(t) => SetFile::parse(path, t),
        Err(_) => SetFile::load(path),
    };
    match loaded {
        Ok(set) => {
            if let (Some(dir), Ok(t)) = (state, &text)
                && let Err(e) = remember(dir, path, t)
            {
                log::warn!(
                    "cannot keep a copy of the set in {} ({e}); a broken edit will fall back to the demo",
                    dir.display()
                );
            }
            Some(set)
        }
        Err(errors) => {
            log::error!("{errors}");
            if let Some((set, from)) = state.and_then(recall) {
                log::warn!(
                    "playing the last set that loaded ({}) instead; fix the file above and restart padlooper (systemctl restart padlooper)",
                    from.display()
                );
                Some(set)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_set_falls_back_to_the_last_good_one_then_the_demo() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let set = dir.path().join("set.toml");
        std::fs::write(
            &set,
            "[master]\nbpm = 93\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
        )
        .unwrap();
        // No copy yet and a broken file: the demo.
        std::fs::write(&set, "[master\n").unwrap();
        assert!(load_for_service(&set, Some(&state)).is_none());
        // A good file is played and remembered...
        std::fs::write(
            &set,
            "[master]\nbpm = 93\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
        )
        .unwrap();
        let s = load_for_service(&set, Some(&state)).unwrap();
        assert_eq!(s.master.bpm, 93.0);
        // ...and comes back, at its own path, when the file breaks.
        std::fs::write(&set, "[master]\nbmp = 1\n").unwrap();
        let s = load_for_service(&set, Some(&state)).unwrap();
        assert_eq!(s.master.bpm, 93.0);
        assert_eq!(s.path, set);
        // A missing file too.
        std::fs::remove_file(&set).unwrap();
        let s = load_for_service(&set, Some(&state)).unwrap();
        assert_eq!(s.master.bpm, 93.0);
    }
}
