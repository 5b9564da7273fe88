//! Arguments and files at the edges a careless user reaches: each gives a clear message (or
//! works), never a panic or an abort.

use crate::common::*;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_padlooper"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// No panic message, no abort signal.
fn no_panic(o: &Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "{e}");
    assert!(o.status.code().is_some(), "killed by a signal: {e}");
}

#[test]
fn bench_with_a_tiny_duration_renders_one_block() {
    let o = bin()
        .args(["bench", "--voices", "2", "--seconds", "0.001", "--json"])
        .output()
        .unwrap();
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passes"][0]["blocks"], 1);
    // The machine and the verdict a Pi owner reads.
    assert!(
        v["machine"]["cores"].as_u64().unwrap() >= 1,
        "{}",
        v["machine"]
    );
    assert!(!v["machine"]["model"].as_str().unwrap().is_empty());
    let fit = v["verdict"]["voices_fit"].as_u64().unwrap();
    assert!(fit >= 1, "{}", v["verdict"]);
    assert!(["cpu", "memory"].contains(&v["verdict"]["limited_by"].as_str().unwrap()));
    // The key-lock passes ran on what they claim (figures are bench's business, not a test's).
    let names: Vec<&str> = v["passes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"keylock"), "{names:?}");
    let k = &v["key_lock"];
    assert_eq!(k["tables"], 2, "one stretched table per pad: {k}");
    assert!(k["table_bytes"].as_u64().unwrap() > 0, "{k}");
    assert!(!k["rt_runs"].as_array().unwrap().is_empty(), "{k}");
    assert!(k["rt_voices_per_core"].as_u64().unwrap() >= 1, "{k}");
    let m = &k["tempo_move"];
    assert!(m["pass"]["blocks"].as_u64().unwrap() > 0, "{m}");
    assert!(
        m["max_rt_voices"].as_u64().unwrap() >= 1,
        "the move used stretchers: {m}"
    );
    assert_eq!(
        m["voices_on_tables_at_end"], 2,
        "after the move every pad is back on a table: {m}"
    );
    // The web-surface pass ran with its pages connected (figures are bench's business).
    let w = &v["web"];
    assert_eq!(w["clients"], 5, "{w}");
    assert!(w["busy_p999_us"].as_f64().unwrap() > 0.0, "{w}");
    assert!(w["quiet_p999_us"].as_f64().unwrap() > 0.0, "{w}");
}

#[test]
fn bench_without_key_lock_leaves_its_passes_out() {
    let o = bin()
        .args([
            "bench",
            "--voices",
            "2",
            "--seconds",
            "0.001",
            "--json",
            "--no-keylock",
        ])
        .output()
        .unwrap();
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["key_lock"].is_null(), "{}", v["key_lock"]);
    assert_eq!(v["passes"].as_array().unwrap().len(), 4);
}

#[test]
fn render_rejects_a_bad_rate_naming_the_option() {
    let dir = tmp();
    let o = bin()
        .args(["render", "--rate", "500", "-o"])
        .arg(path(&dir, "x.wav"))
        .output()
        .unwrap();
    no_panic(&o);
    // A command-line usage error: exit status 2, as every clap-parsed option.
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("500 is out of range; allowed 8000 to 192000 Hz"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn empty_scripts_and_midi_files_render_or_say_why() {
    let dir = tmp();
    std::fs::write(
        path(&dir, "set.toml"),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
    )
    .unwrap();
    std::fs::write(path(&dir, "empty.txt"), "# nothing\n").unwrap();
    std::fs::write(path(&dir, "empty.mid"), b"").unwrap();
    let sysex_only =
        padlooper::midi::smf::write_smf(&[(0.25, vec![0xF0, 0x7E, 0x01, 0xF7])]).unwrap();
    std::fs::write(path(&dir, "sysex.mid"), sysex_only).unwrap();
    // An empty script renders 3 s of silence.
    let o = bin()
        .arg("render")
        .arg("--set")
        .arg(path(&dir, "set.toml"))
        .arg("--script")
        .arg(path(&dir, "empty.txt"))
        .arg("-o")
        .arg(path(&dir, "a.wav"))
        .output()
        .unwrap();
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    // A 0-byte MIDI file is an error naming the file.
    let o = bin()
        .arg("render")
        .arg("--set")
        .arg(path(&dir, "set.toml"))
        .arg("--midi")
        .arg(path(&dir, "empty.mid"))
        .args(["--profile", "launchpad-x", "-o"])
        .arg(path(&dir, "b.wav"))
        .output()
        .unwrap();
    no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty.mid: not a valid Standard MIDI File"));
    // A MIDI file holding only SysEx renders (the SysEx maps to nothing).
    let o = bin()
        .arg("render")
        .arg("--set")
        .arg(path(&dir, "set.toml"))
        .arg("--midi")
        .arg(path(&dir, "sysex.mid"))
        .args(["--profile", "launchpad-x", "-o"])
        .arg(path(&dir, "c.wav"))
        .output()
        .unwrap();
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Resident memory of a process in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_day_long_render_streams_to_disk_instead_of_filling_memory() {
    let dir = tmp();
    let out = path(&dir, "day.wav");
    let mut child = bin()
        .args(["render", "--seconds", "86400", "-o"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Either it refuses up front for lack of disk space (a clear message), or it streams: the
    // file grows while the process stays small.
    let mut samples = Vec::new();
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if let (Some(rss), Ok(m)) = (rss_kb(child.id()), std::fs::metadata(&out)) {
            samples.push((rss, m.len()));
        }
    }
    if let Ok(Some(status)) = child.try_wait() {
        let o = child.wait_with_output().unwrap();
        no_panic(&o);
        assert!(!status.success());
        assert!(stderr(&o).contains("GB are free there"), "{}", stderr(&o));
        return;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let (rss, size) = *samples.last().expect("the render ran");
    assert!(
        size > 20_000_000,
        "the file grows as it renders ({size} bytes)"
    );
    assert!(
        rss < 200_000,
        "memory stays small while {size} bytes were written ({rss} kB)"
    );
}
