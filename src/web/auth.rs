//! The web surface's password (an argon2 hash in the state folder, never kept in clear),
//! login sessions and the login rate limit. Not real-time: runs on the web threads and the CLI.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::WebError;

/// The hash's file name in the state folder.
pub const PASSWORD_FILE: &str = "web-password";
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Logins kept at once (the oldest goes).
pub const MAX_SESSIONS: usize = 64;
/// Failed logins allowed from one address per [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: u32 = 5;
/// The window of [`LOGIN_FAILURES`].
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// Where the hash lives in `state_dir`.
pub fn password_path(state_dir: &Path) -> PathBuf {
    state_dir.join(PASSWORD_FILE)
}

/// The stored hash, if a password was set. A file that is not an argon2 hash is an error
/// that says how to set the password again.
pub fn load_hash(state_dir: &Path) -> Result<Option<String>, WebError> {
    let path = password_path(state_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WebError::Password(path, e.to_string())),
    };
    let hash = text.trim().to_string();
    PasswordHash::new(&hash)
        .map_err(|e| WebError::Password(path.clone(), format!("not a password hash ({e})")))?;
    Ok(Some(hash))
}

/// Hashes `password` (argon2id, a random salt) and stores it in `state_dir` (created if
/// missing; the file readable by its owner only, replaced atomically). Returns the file.
pub fn set_password(state_dir: &Path, password: &str) -> Result<PathBuf, WebError> {
    let password = password.trim_end_matches(['\n', '\r']);
    if password.chars().count() < MIN_PASSWORD {
        return Err(WebError::WeakPassword(MIN_PASSWORD));
    }
    let path = password_path(state_dir);
    let io = |e: std::io::Error| WebError::Password(path.clone(), e.to_string());
    std::fs::create_dir_all(state_dir).map_err(io)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebError::Password(path.clone(), e.to_string()))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| WebError::Password(path.clone(), e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| WebError::Password(path.clone(), e.to_string()))?
        .to_string();
    crate::atomic_file::write_atomic(&path, format!("{hash}\n").as_bytes()).map_err(io)?;
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        // Set by root for the service: the file belongs to the state folder's owner (the
        // service's user), who must read it.
        let dir = std::fs::metadata(state_dir).map_err(io)?;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 && dir.uid() != 0 {
            std::os::unix::fs::chown(&path, Some(dir.uid()), Some(dir.gid())).map_err(io)?;
        }
    }
    Ok(path)
}

/// The first-run file on a USB stick: `padlooper/web-password.txt`.
pub const STICK_FILE: &str = "padlooper/web-password.txt";

/// A screenless appliance's first password: the first `padlooper/web-password.txt` under
/// `roots` (USB sticks' mount points) is hashed into `state_dir` and deleted from the stick.
/// None when there is no such file.
pub fn take_from_stick(roots: &[PathBuf], state_dir: &Path) -> Option<Result<PathBuf, WebError>> {
    let dirs = crate::control::set::usb_sets::subdirs;
    // Sticks are mounted at ROOT/NAME or ROOT/USER/NAME (as for sets on sticks).
    let file = roots
        .iter()
        .flat_map(|r| dirs(r))
        .flat_map(|one| {
            let mut v = vec![one.join(STICK_FILE)];
            v.extend(dirs(&one).into_iter().map(|two| two.join(STICK_FILE)));
            v
        })
        .find(|f| f.is_file())?;
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => return Some(Err(WebError::Password(file, e.to_string()))),
    };
    let first = text.lines().next().unwrap_or("").to_string();
    let stored = set_password(state_dir, &first);
    if stored.is_ok() && std::fs::remove_file(&file).is_err() {
        log::warn!(
            "web password taken from {}, but the file cannot be deleted (read-only stick?): delete it by hand",
            file.display()
        );
    }
    Some(stored.inspect(|p| {
        log::info!(
            "web password taken from {} (now deleted from the stick) and stored hashed in {}",
            file.display(),
            p.display()
        );
    }))
}

/// Whether `password` matches `hash` (constant time inside argon2; ~50 ms of CPU on purpose).
pub fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// `n` random bytes as hex (None only if the system has no randomness).
pub fn random_hex(n: usize) -> Option<String> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A fresh random session token (256 bits, hex).
fn token() -> Option<String> {
    random_hex(32)
}

/// Logged-in browsers: token → when it ends. Kept in memory (a restart logs everyone out).
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// A new login; None only if the system has no randomness.
    pub fn open(&self) -> Option<String> {
        let t = token()?;
        let mut m = self.map.lock().ok()?;
        let now = Instant::now();
        m.retain(|_, end| *end > now);
        if m.len() >= MAX_SESSIONS
            && let Some(oldest) = m.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
        m.insert(t.clone(), now + SESSION_LIFETIME);
        Some(t)
    }

    /// Whether `token` is a current login.
    pub fn valid(&self, token: &str) -> bool {
        self.map
            .lock()
            .is_ok_and(|m| m.get(token).is_some_and(|end| *end > Instant::now()))
    }

    /// Ends a login.
    pub fn close(&self, token: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(token);
        }
    }
}

/// Failed logins per address: [`LOGIN_FAILURES`] per [`LOGIN_WINDOW`], then refused until the
/// window ends.
#[derive(Default)]
pub struct LoginLimit {
    map: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginLimit {
    /// Ok when `ip` may try now; else the seconds to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let Ok(mut m) = self.map.lock() else {
            return Err(LOGIN_WINDOW.as_secs());
        };
        let now = Instant::now();
        m.retain(|_, (_, start)| now.duration_since(*start) < LOGIN_WINDOW);
        match m.get(&ip) {
            Some((n, start)) if *n >= LOGIN_FAILURES => {
                Err((LOGIN_WINDOW - now.duration_since(*start)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed login from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        if let Ok(mut m) = self.map.lock() {
            m.entry(ip).or_insert((0, Instant::now())).0 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_stored_hashed_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_hash(dir.path()).unwrap().is_none());
        assert!(matches!(
            set_password(dir.path(), "short"),
            Err(WebError::WeakPassword(_))
        ));
        let p = set_password(dir.path(), "correct horse\n").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("correct horse") && text.starts_with("$argon2id$"));
        let h = load_hash(dir.path()).unwrap().unwrap();
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "correct horsf"));
        std::fs::write(&p, "plain text").unwrap();
        let e = load_hash(dir.path()).unwrap_err().to_string();
        assert!(e.contains("web-password"), "{e}");
    }

    #[test]
    fn a_stick_gives_the_first_password_once() {
        let media = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let roots = vec![media.path().to_path_buf()];
        assert!(take_from_stick(&roots, state.path()).is_none());
        let f = media.path().join("STICK").join(STICK_FILE);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "from the stick 1\n").unwrap();
        take_from_stick(&roots, state.path()).unwrap().unwrap();
        assert!(!f.exists(), "the clear password must leave the stick");
        let h = load_hash(state.path()).unwrap().unwrap();
        assert!(verify(&h, "from the stick 1"));
        std::fs::write(&f, "short\n").unwrap();
        assert!(take_from_stick(&roots, state.path()).unwrap().is_err());
    }

    #[test]
    fn sessions_open_and_close() {
        let s = Sessions::default();
        let t = s.open().unwrap();
        assert_eq!(t.len(), 64);
        assert!(s.valid(&t) && !s.valid("nope"));
        s.close(&t);
        assert!(!s.valid(&t));
        for _ in 0..(MAX_SESSIONS + 3) {
            s.open().unwrap();
        }
        assert!(s.map.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn failed_logins_are_limited_per_address() {
        let l = LoginLimit::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..LOGIN_FAILURES {
            assert!(l.check(a).is_ok());
            l.failed(a);
        }
        assert!(l.check(a).unwrap_err() >= 1);
        assert!(l.check(b).is_ok());
    }
}
