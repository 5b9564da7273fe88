//! The last set that loaded, kept by the service so a broken edit never leaves the stage
//! silent: when the set file fails to load, the service plays its last good copy (parsed as if
//! it were still at its own path, so its samples are found), else (the caller's choice) the
//! built-in demo. Not real-time.

use std::path::{Path, PathBuf};

use crate::config::SetFile;

const HEADER: &str = "# padlooper: the last good copy of ";
/// The single copy earlier versions kept (read when it is the set asked for).
const LEGACY: &str = "last-good-set.toml";

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

/// Where the service keeps last good copies: [`state_dir`], else `$XDG_STATE_HOME/padlooper`,
/// else `~/.local/state/padlooper` (a service started without systemd). None without any.
pub fn copy_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    state_dir()
        .or_else(|| nonempty("XDG_STATE_HOME").map(|d| d.join("padlooper")))
        .or_else(|| nonempty("HOME").map(|h| h.join(".local/state/padlooper")))
}

/// `path` made absolute (resolved when it exists), so a copy plays from any folder.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

/// The file holding the last good copy of the set at (absolute) `path`: one per set.
fn copy_file(dir: &Path, path: &Path) -> PathBuf {
    let key = xxhash_rust::xxh3::xxh3_64(path.as_os_str().as_encoded_bytes());
    dir.join(format!("last-good-{key:016x}.toml"))
}

/// Keeps a copy of the set at `path` (text `text`, which just loaded) in `dir`, under its
/// absolute path (its samples are found from there whatever the folder padlooper starts in).
pub fn remember(dir: &Path, path: &Path, text: &str) -> std::io::Result<()> {
    let path = absolute(path);
    let body = format!("{HEADER}{}\n{text}", path.display());
    crate::atomic_file::write_atomic(&copy_file(dir, &path), body.as_bytes())
}

/// The last good copy of the set at `path` kept in `dir`, parsed at its original (absolute)
/// path, and that path.
pub fn recall(dir: &Path, path: &Path) -> Option<(SetFile, PathBuf)> {
    let (text, from) = recall_text(dir, path)?;
    SetFile::parse(&from, &text).ok().map(|s| (s, from))
}

/// The text of the last good copy of the set at `path` kept in `dir` (not checked), and the
/// set's original (absolute) path.
pub fn recall_text(dir: &Path, path: &Path) -> Option<(String, PathBuf)> {
    let path = absolute(path);
    [copy_file(dir, &path), dir.join(LEGACY)]
        .iter()
        .find_map(|f| {
            let body =
                crate::config::input::read_text(f, "set", crate::config::input::SET_MAX).ok()?;
            let (first, text) = body.split_once('\n')?;
            let from = PathBuf::from(first.strip_prefix(HEADER)?);
            (absolute(&from) == path).then(|| (text.to_string(), from))
        })
}

/// The set to play as a service: the file at `path` when it loads (remembered in `state`),
/// else its last good copy; errors and the fallback are logged with what to do. None when
/// neither loads (the caller plays the demo). Not real-time.
pub fn load_for_service(path: &Path, state: Option<&Path>) -> Option<SetFile> {
    let text = crate::config::input::read_text(path, "set", crate::config::input::SET_MAX);
    let loaded = match &text {
        Ok(t) => SetFile::parse(path, t),
        Err(_) => SetFile::load(path),
    };
    match loaded {
        Ok(set) => {
            match (state, &text) {
                (Some(dir), Ok(t)) => {
                    if let Err(e) = remember(dir, path, t) {
                        log::warn!(
                            "cannot keep a copy of the set in {} ({e}); a broken edit will fall back to the demo",
                            dir.display()
                        );
                    }
                }
                (None, _) => log::warn!(
                    "no state folder (no STATE_DIRECTORY, XDG_STATE_HOME or HOME): no copy of the set is kept, so a broken edit will fall back to the demo"
                ),
                _ => {}
            }
            Some(set)
        }
        Err(errors) => {
            log::error!("{errors}");
            if let Some((set, from)) = state.and_then(|d| recall(d, path)) {
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
