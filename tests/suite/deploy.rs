//! `deploy/`: the example set is valid, `install.sh` stages the same tree twice (idempotent),
//! the systemd unit verifies without a word from `systemd-analyze` (which exits 0 even on
//! settings it ignores, so its output is what counts) and keeps its security score, every
//! shell script passes shellcheck, and `build-deb.sh` makes a package `dpkg-deb` reads.
//! `make test` installs shellcheck; a tool that is missing is reported and its check skipped.

use crate::common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("{tool} is not installed: its check is skipped (make test installs it)");
    }
    found
}

/// Every file under `root` with its mode and contents, sorted.
fn tree(root: &Path) -> Vec<(String, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, m.permissions().mode(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn stage(dest: &Path) -> String {
    let out = Command::new(repo().join("deploy/install.sh"))
        .arg("--destdir")
        .arg(dest)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_padlooper"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_example_set_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .args(["check", "--set"])
        .arg(repo().join("deploy/set.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn install_stages_the_same_tree_twice() {
    let dir = tmp();
    let dest = dir.path().join("root");
    let first = stage(&dest);
    assert!(
        first.contains("lib/systemd/system/padlooper.service"),
        "{first}"
    );
    let a = tree(&dest);
    let second = stage(&dest);
    assert_eq!(second, "", "a second run changes nothing");
    assert_eq!(a, tree(&dest));
    let names: Vec<&str> = a.iter().map(|(n, _, _)| n.as_str()).collect();
    for want in [
        "usr/bin/padlooper",
        "lib/systemd/system/padlooper.service",
        "lib/systemd/system/padlooper-cpu-performance.service",
        "etc/padlooper/set.toml",
        "etc/security/limits.d/95-padlooper.conf",
        "etc/modules-load.d/padlooper.conf",
        "usr/share/doc/padlooper/COPYING",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    // The performer's set is never replaced.
    std::fs::write(dest.join("etc/padlooper/set.toml"), "# mine\n").unwrap();
    stage(&dest);
    assert_eq!(
        std::fs::read_to_string(dest.join("etc/padlooper/set.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn the_unit_verifies_silently_and_keeps_its_security_score() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = tmp();
    let root = dir.path().join("root");
    stage(&root);
    // systemd-analyze resolves the unit's dependencies (targets) and commands inside --root.
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/sh", root.join("bin/sh")).unwrap();
    let units = root.join("lib/systemd/system");
    for e in std::fs::read_dir("/lib/systemd/system").unwrap().flatten() {
        let dst = units.join(e.file_name());
        if !dst.exists() && e.path().is_file() {
            let _ = std::fs::copy(e.path(), dst);
        }
    }
    for unit in ["padlooper.service", "padlooper-cpu-performance.service"] {
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", root.display()))
            .arg(unit)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.trim().is_empty(), "{unit}: {said}");
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(format!("--root={}", root.display()))
        .arg("padlooper.service")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for padlooper.service: ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no score in: {text}"));
    println!("systemd-analyze security: exposure {score}");
    assert!(score <= 2.0, "the unit's exposure rose to {score}");
}

#[test]
fn every_script_passes_shellcheck() {
    if !have("shellcheck") {
        return;
    }
    let r = repo();
    let out = Command::new("shellcheck")
        .arg(r.join("deploy/install.sh"))
        .arg(r.join("deploy/build-deb.sh"))
        .arg(r.join("deploy/pi/cross-build.sh"))
        .arg(r.join("deploy/pi/read-only.sh"))
        .arg(r.join(".ci/run"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn build_deb_makes_a_package_dpkg_reads() {
    if !have("dpkg-deb") {
        return;
    }
    let dir = tmp();
    let out = Command::new(repo().join("deploy/build-deb.sh"))
        .arg("amd64")
        .arg(env!("CARGO_BIN_EXE_padlooper"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(deb.ends_with("_amd64.deb"), "{deb}");
    let dpkg = |what: &str| {
        let out = Command::new("dpkg-deb")
            .arg(what)
            .arg(&deb)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let info = dpkg("--info");
    assert!(info.contains("Package: padlooper"), "{info}");
    assert!(info.contains("Architecture: amd64"), "{info}");
    assert!(info.contains("postinst"), "{info}");
    let contents = dpkg("--contents");
    for want in [
        "./usr/bin/padlooper",
        "./lib/systemd/system/padlooper.service",
        "./etc/padlooper/set.toml",
        "./lib/udev/rules.d/99-padlooper-usb.rules",
    ] {
        assert!(contents.contains(want), "{want} missing:\n{contents}");
    }
    assert!(
        contents.contains("root/root"),
        "files owned by root:\n{contents}"
    );
}
