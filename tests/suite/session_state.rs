//! Saved state: live changes made while playing are captured from what the engine publishes,
//! written as TOML, and brought back on a fresh engine (the audio shows it), and a damaged or
//! foreign state file is ignored. End to end through `padlooper run --service` too.

use crate::common::*;

use std::process::{Command as Proc, Stdio};
use std::time::Duration;

use padlooper::config::SetFile;
use padlooper::control::live::session_state::{self, SessionState};
use padlooper::control::set::loader::{SetLoadReport, engine_settings, load_set};
use padlooper::engine::command::PadCmd;
use padlooper::engine::command::{Command, FxParam, TransportCmd};
use padlooper::engine::{Engine, EngineHandle};

const SET: &str = "[master]\nbpm = 120\n[[pad]]\npad = 0\nbuiltin = \"sine440\"\n[[pad]]\npad = 1\nbuiltin = \"drums\"\n";

fn engine(set: &SetFile) -> (Engine, EngineHandle, SetLoadReport) {
    let (mut e, mut h) = Engine::new(engine_settings(set, 48_000)).unwrap();
    let report = load_set(set, &mut h, 0, &|_, _| {});
    let mut buf = vec![0.0f32; 512];
    e.process(&mut buf);
    (e, h, report)
}

/// Level of pad 0's sine over half a second after pressing it.
fn level(e: &mut Engine, h: &mut EngineHandle) -> f32 {
    h.command(Command::Pad(0, PadCmd::Press)).unwrap();
    let mut buf = vec![0.0f32; 48_000];
    e.process(&mut buf);
    rms(&buf[9_600..])
}

#[test]
fn live_changes_come_back_on_a_fresh_engine() {
    let dir = tmp();
    let set = set_in(dir.path(), SET);
    let (mut e, mut h, report) = engine(&set);
    let plain = level(&mut e, &mut h);
    let nothing = SessionState::capture(&h.stats().live, &set, &report.configs, 0);
    assert!(nothing.pad.is_empty(), "nothing changed yet: {nothing:?}");
    // Live changes, as a controller would make them.
    for c in [
        Command::Pad(0, PadCmd::Gain(0.5)),
        Command::Pad(1, PadCmd::Eq(0, 0.0)),
        Command::Pad(1, PadCmd::Filter(0.3)),
        Command::Pad(1, PadCmd::KeyLock(None)),
        Command::Pad(1, PadCmd::Transpose(-3.0)),
        Command::MasterVolume(0.8),
        Command::Transport(TransportCmd::Tempo(126.0)),
        Command::Fx(FxParam::DelayWet, 0.25),
    ] {
        h.command(c).unwrap();
    }
    let mut buf = vec![0.0f32; 512];
    e.process(&mut buf);
    let st = SessionState::capture(&h.stats().live, &set, &report.configs, 2);
    assert_eq!(st.pad.len(), 2, "{st:?}");
    assert_eq!(st.bank, 2);
    assert_eq!(st.master.bpm, 126.0);
    assert_eq!(st.master.fx.get("delay_wet"), Some(&0.25));
    let p1 = st.pad.iter().find(|p| p.id == 1).unwrap();
    assert_eq!(
        (p1.eq[0], p1.filter, p1.key_lock, p1.transpose),
        (0.0, 0.3, true, -3.0)
    );
    // Written and read back through a file.
    let path = session_state::state_path(&set, Some(dir.path())).unwrap();
    std::fs::write(&path, st.to_toml()).unwrap();
    let back = session_state::read(&path, &set).expect("the state reads back");
    assert_eq!(back, st);
    // A fresh engine with the set as written, then the saved state.
    let (mut e2, mut h2, report2) = engine(&set);
    for c in back.commands(&report2.configs) {
        h2.command(c).unwrap();
    }
    e2.process(&mut buf);
    let again = SessionState::capture(&h2.stats().live, &set, &report2.configs, 2);
    assert_eq!(again, st, "the restored engine publishes the same state");
    // The audio shows it: pad 0 at half the gain, under a master of 0.8.
    let restored = level(&mut e2, &mut h2);
    let want = plain * 0.5 * 0.8;
    assert!((restored / want - 1.0).abs() < 0.02, "{restored} vs {want}");
}

#[test]
fn a_damaged_or_foreign_state_is_ignored() {
    let dir = tmp();
    let set = set_in(dir.path(), SET);
    let (_e, h, report) = engine(&set);
    let path = dir.path().join("state.toml");
    std::fs::write(&path, "set = \"x\"\ngrid = [1, 2\n").unwrap();
    assert!(session_state::read(&path, &set).is_none());
    std::fs::write(&path, "").unwrap();
    assert!(session_state::read(&path, &set).is_none());
    // Saved for another set: not applied.
    let mut st = SessionState::capture(&h.stats().live, &set, &report.configs, 0);
    st.set = "/elsewhere/other.toml".into();
    std::fs::write(&path, st.to_toml()).unwrap();
    assert!(session_state::read(&path, &set).is_none());
    // A missing file is simply no state.
    assert!(session_state::read(&dir.path().join("none.toml"), &set).is_none());
}

fn run_service(dir: &tempfile::TempDir, extra: &[&str], secs: f64) -> String {
    let conf = path(dir, "asound.conf");
    std::fs::write(
        &conf,
        "pcm.nullout { type null }\npcm.!default { type file slave.pcm \"nullout\" file \"/dev/null\" format \"raw\" }\n",
    )
    .unwrap();
    let child = Proc::new(env!("CARGO_BIN_EXE_padlooper"))
        .env("ALSA_CONFIG_PATH", &conf)
        .env("PADLOOPER_STATE_DIR", path(dir, "state"))
        .env_remove("NOTIFY_SOCKET")
        .args(["run", "--service", "--set"])
        .arg(path(dir, "set.toml"))
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs_f64(secs));
    crate::common::process::stop(child, libc::SIGTERM).1
}

/// `set.toml` in `dir`, and a state saved for it earlier: pad 0 at a quarter of its gain,
/// 100 BPM.
fn saved_earlier(dir: &tempfile::TempDir) -> (SetFile, SessionState) {
    std::fs::write(path(dir, "set.toml"), SET).unwrap();
    let set = SetFile::load(&path(dir, "set.toml")).unwrap();
    let (mut e, mut h, report) = engine(&set);
    h.command(Command::Pad(0, PadCmd::Gain(0.25))).unwrap();
    h.command(Command::Transport(TransportCmd::Tempo(100.0)))
        .unwrap();
    e.process(&mut vec![0.0f32; 512]);
    let st = SessionState::capture(&h.stats().live, &set, &report.configs, 0);
    (set, st)
}

#[test]
fn the_service_restores_saves_and_forgets_its_state() {
    let dir = tmp();
    let (set, st) = saved_earlier(&dir);
    let file = path(&dir, "state").join("session-state.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, st.to_toml()).unwrap();
    // Restored at start, and written back on SIGTERM.
    let err = run_service(&dir, &[], 1.5);
    assert!(err.contains("restored the saved state"), "{err}");
    // Banks are numbered as the set file numbers them (the state holds bank 0).
    assert!(err.contains("bank 0)"), "{err}");
    let saved = session_state::read(&file, &set).expect("saved on stop");
    assert_eq!(saved.master.bpm, 100.0, "{saved:?}");
    assert_eq!(saved.pad.len(), 1);
    assert_eq!(saved.pad[0].gain, 0.25);
    // A damaged file: one line, and the service plays the set as written.
    std::fs::write(&file, "bank = [\n").unwrap();
    let err = run_service(&dir, &[], 1.0);
    assert!(err.contains("the saved state is damaged"), "{err}");
    assert!(err.contains("playing as a service"), "{err}");
    // Binary garbage (a torn write on an SD card): said too, not silently ignored.
    std::fs::write(&file, [0x8Bu8, 0x00, 0xFF, 0x13, 0x37, 0x00, 0xFE]).unwrap();
    let err = run_service(&dir, &[], 1.0);
    assert!(
        err.contains("session-state.toml: this is not a text file (binary data at byte 1)")
            && err.contains("starting from the set as written"),
        "{err}"
    );
    // --reset-state forgets it.
    std::fs::write(&file, st.to_toml()).unwrap();
    let err = run_service(&dir, &["--reset-state"], 1.0);
    assert!(err.contains("forgot the saved state"), "{err}");
    assert!(!err.contains("restored the saved state"), "{err}");
}

#[test]
fn the_keeper_restores_then_a_reset_brings_back_the_set() {
    use padlooper::control::live::state_keeper::StateKeeper;
    use padlooper::midi::state::SharedControl;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let dir = tmp();
    let (set, saved) = saved_earlier(&dir);
    let file = set.path.with_file_name("set.state.toml");
    std::fs::write(&file, saved.to_toml()).unwrap();
    // A fresh start: the keeper finds it next to the set and restores it.
    let (mut e, mut h, report) = engine(&set);
    let shared = Arc::new(SharedControl::new(&set, 48_000, e.stats().clone()));
    let mut keeper = StateKeeper::open(&set, &report, &h, &shared, false).unwrap();
    let mut buf = vec![0.0f32; 512];
    for _ in 0..4 {
        keeper.tick(&mut h, &shared);
        e.process(&mut buf);
    }
    let now = SessionState::capture(&h.stats().live, &set, &report.configs, 0);
    assert_eq!(now, saved);
    // A controller's reset: everything back to the set, the file gone.
    shared.reset_requested.store(true, Ordering::Relaxed);
    for _ in 0..4 {
        keeper.tick(&mut h, &shared);
        e.process(&mut buf);
    }
    let back = SessionState::capture(&h.stats().live, &set, &report.configs, 0);
    assert!(back.pad.is_empty(), "no pad differs from the set: {back:?}");
    assert_eq!(back.master.bpm, 120.0);
    assert!(!file.exists(), "the saved state is forgotten");
    // Stopping writes what is current (nothing differs from the set now).
    keeper.flush(&h, &shared);
    let written = session_state::read(&file, &set).unwrap();
    assert!(written.pad.is_empty(), "{written:?}");
}

#[test]
fn link_switched_by_a_controller_is_kept_and_a_reset_gives_the_sets_back() {
    use padlooper::control::live::state_keeper::StateKeeper;
    use padlooper::midi::state::SharedControl;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let dir = tmp();
    let (set, _) = saved_earlier(&dir);
    assert!(!set.master.link);
    let file = set.path.with_file_name("set.state.toml");
    let _ = std::fs::remove_file(&file);
    let (_e, h, report) = engine(&set);
    let shared = Arc::new(SharedControl::new(&set, 48_000, h.stats().clone()));
    let mut keeper = StateKeeper::open(&set, &report, &h, &shared, false).unwrap();
    assert_eq!(keeper.link(), None, "nothing saved: the set's");
    // Switched on with the controller (the control loop sets `on`): saved on stop.
    shared.link.on.store(true, Ordering::Relaxed);
    keeper.flush(&h, &shared);
    let written = session_state::read(&file, &set).expect("saved");
    assert_eq!(written.link, Some(true));
    // The next start finds it on.
    let keeper = StateKeeper::open(&set, &report, &h, &shared, false).unwrap();
    assert_eq!(keeper.link(), Some(true));
    // A reset asks the control loop to switch it back to the set's (off).
    let mut keeper = keeper;
    let mut h = h;
    shared.reset_requested.store(true, Ordering::Relaxed);
    keeper.tick(&mut h, &shared);
    assert!(shared.link.toggle_requested.load(Ordering::Relaxed));
}

#[test]
fn a_set_named_by_a_bare_file_name_keeps_its_state_beside_it() {
    // `padlooper run --set set.toml` from the set's folder: the state file goes beside it
    // (its parent folder is "", which once failed to open).
    let dir = tmp();
    std::fs::write(path(&dir, "set.toml"), SET).unwrap();
    let child = Proc::new(env!("CARGO_BIN_EXE_padlooper"))
        .current_dir(dir.path())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("PADLOOPER_STATE_DIR")
        .args(["run", "--no-audio", "--set", "set.toml"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Saved once the loaded set's values settle (a debounced save): waited for, bounded.
    let t0 = std::time::Instant::now();
    while !path(&dir, "set.state.toml").exists() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = crate::common::process::stop(child, libc::SIGINT).1;
    assert!(!err.contains("cannot save"), "{err}");
    assert!(path(&dir, "set.state.toml").exists(), "{err}");
}
