//! Files that survive a power cut: written to a temporary file in the same folder, flushed to
//! disk, renamed over the old one, and the folder flushed, so a reader finds the old file or
//! the new one, never half of one. Not real-time.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (see the module docs). Not real-time.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes what `write` produces to `path` atomically (see the module docs), through a buffer,
/// so large files need not be held in memory. Not real-time.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_atomic_seekable(path, |f| write(f))
}

/// [`write_atomic_with`] for writers that go back to fill in what they learn last (a header,
/// the first frames): the buffered file can seek. Not real-time.
pub fn write_atomic_seekable(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // A bare file name lives in the current folder (its parent is "", which cannot be opened).
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    remove_stale(dir, &name);
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the folder is flushed.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes temporary files of `name` left by writers that died mid-write (their process is
/// gone), so a power cut or a kill does not leave them behind for ever.
fn remove_stale(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.toml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // A temporary left by a writer that died is cleaned up by the next write.
        let dead = dir.path().join(".state.toml.tmp999999999");
        std::fs::write(&dead, b"half").unwrap();
        write_atomic(&p, b"three").unwrap();
        assert!(!dead.exists());
        // A folder that cannot be written is an error, not a panic.
        assert!(write_atomic(Path::new("/proc/padlooper/x"), b"x").is_err());
    }
}
