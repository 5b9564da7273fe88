//! `padlooper web-password`: sets the web surface's password (an argon2 hash in the state
//! folder; the password itself is never stored).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// `padlooper web-password` options.
#[derive(Debug, clap::Args)]
pub struct WebPasswordArgs {
    /// The state folder the service reads (default: as root, the appliance's
    /// `/var/lib/padlooper` when it exists; else `$PADLOOPER_STATE_DIR`, systemd's
    /// `$STATE_DIRECTORY`, else `~/.local/state/padlooper`).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Remove the password (the web surface then answers on this machine only).
    #[arg(long)]
    remove: bool,
}

/// Reads a line from the terminal without showing it.
fn read_hidden(prompt: &str) -> std::io::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal on fd.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is stdin and old points to a termios.
    let is_tty = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if is_tty {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: as above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if is_tty {
        // SAFETY: as above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
        eprintln!();
    }
    r.map(|_| line.trim_end_matches(['\n', '\r']).to_string())
}

/// Runs `padlooper web-password`.
pub fn web_password_cmd(args: WebPasswordArgs) -> anyhow::Result<i32> {
    // As root on the appliance, the service's state folder.
    let appliance = PathBuf::from("/var/lib/padlooper");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let Some(dir) = args
        .state_dir
        .or_else(|| (root && appliance.is_dir()).then_some(appliance))
        .or_else(crate::control::set::last_set::copy_dir)
    else {
        anyhow::bail!("no state folder: give one with --state-dir DIR");
    };
    let path = crate::web::password_file(&dir);
    if args.remove {
        match std::fs::remove_file(&path) {
            Ok(()) => println!(
                "removed {}: the web surface now answers on this machine only (restart padlooper)",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("no web password was set ({})", path.display())
            }
            Err(e) => anyhow::bail!("cannot remove {}: {e}", path.display()),
        }
        return Ok(0);
    }
    let password = if std::io::stdin().is_terminal() {
        let a = read_hidden("new web password: ")?;
        let b = read_hidden("again: ")?;
        if a != b {
            anyhow::bail!("the two passwords differ; nothing changed");
        }
        a
    } else {
        read_hidden("")?
    };
    let path = crate::web::auth::set_password(&dir, &password)?;
    println!(
        "web password stored (argon2 hash) in {}; restart padlooper to use it (systemctl restart padlooper)",
        path.display()
    );
    Ok(0)
}
