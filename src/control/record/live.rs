//! Recording while playing live: a blank tape kept ready in the engine, the disk writer on a
//! thread of its own (nice 10, like the web threads: the disk never competes with the audio),
//! and each finished take saved into the set file (`file = "recordings/..."`) so it is the
//! pad's sample after a restart. Not real-time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{DiskWriter, TakeFile, TapeSupply, WriterNews};
use crate::config::set::SetFile;
use crate::config::set::writer::{PadPlace, SetWriter, WriteError};
use crate::engine::EngineHandle;

/// How often the disk writer looks at the ring (it holds seconds: this is for latency of the
/// file, not to keep up).
const POLL: Duration = Duration::from_millis(50);

/// Live recording: tapes, the disk writer's thread, takes saved into the set.
pub struct LiveRecording {
    supply: TapeSupply,
    news: Option<mpsc::Receiver<WriterNews>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The set file takes are saved into (None: the demo, or a set given on no file).
    set_path: Option<PathBuf>,
    said: Option<String>,
}

impl LiveRecording {
    /// Starts recording for `set` (nothing when `record_seconds` is 0): takes are written to
    /// `recordings/` beside the set file. Not real-time.
    pub fn start(handle: &mut EngineHandle, set: &SetFile, rate: u32) -> Self {
        let supply = TapeSupply::new(set.master.record_seconds, rate);
        let set_path = (set.path.is_file()).then(|| set.path.clone());
        let dir = recordings_dir(&set.path);
        let stop = Arc::new(AtomicBool::new(false));
        let mut me = Self {
            supply,
            news: None,
            stop: stop.clone(),
            thread: None,
            set_path,
            said: None,
        };
        if !me.supply.enabled() {
            return me;
        }
        // The first tape before anything can press record.
        me.supply.keep(handle);
        let Some(stream) = handle.take_record_stream() else {
            return me;
        };
        let (tx, rx) = mpsc::channel();
        let mut writer = DiskWriter::new(stream, &dir, set.grid.pads_per_bank(), rate);
        let spawned = std::thread::Builder::new()
            .name("padlooper-rec-disk".into())
            .spawn(move || {
                crate::audio::priority::nice_current_thread(10);
                loop {
                    let done = stop.load(Ordering::Acquire);
                    for n in writer.pump() {
                        let _ = tx.send(n);
                    }
                    if done && !writer.busy() {
                        return;
                    }
                    std::thread::sleep(POLL);
                }
            });
        match spawned {
            Ok(t) => {
                me.thread = Some(t);
                me.news = Some(rx);
                log::info!(
                    "recording: takes of up to {:.0} s go to {} ({:.0} MB tape kept ready)",
                    set.master.record_seconds,
                    dir.display(),
                    me.supply.tape_bytes() as f64 / 1e6
                );
            }
            Err(e) => log::error!(
                "recording: cannot start the disk writer ({e}); takes will only be kept in memory"
            ),
        }
        me
    }

    /// Keeps a tape ready and reports what the disk writer finished; a take on disk is saved
    /// into the set file. Returns lines to log. Not real-time.
    pub fn tick(&mut self, handle: &mut EngineHandle, set: &SetFile) -> Vec<String> {
        let mut lines = Vec::new();
        self.supply.keep(handle);
        if let Some(e) = self.supply.last_error.clone()
            && self.said.as_deref() != Some(e.as_str())
        {
            lines.push(format!("recording: no blank tape for the next take: {e}"));
            self.said = Some(e);
        }
        let news: Vec<WriterNews> = self
            .news
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        let per_bank = set.grid.pads_per_bank().max(1);
        for n in news {
            match n {
                WriterNews::Written(t) => {
                    let (bank, pad) = (t.pad as usize / per_bank, t.pad as usize % per_bank);
                    lines.push(format!(
                        "recorded bank {bank} pad {pad}: {} ({:.2} s at {:.2} BPM{})",
                        t.path.display(),
                        t.frames as f64 / set.master.sample_rate.max(1) as f64,
                        t.bpm,
                        if t.lost_frames > 0 {
                            format!(", {} frames lost on the way to disk", t.lost_frames)
                        } else {
                            String::new()
                        }
                    ));
                    if let Some(path) = &self.set_path {
                        match save_take(path, set, &t) {
                            Ok(()) => lines.push(format!(
                                "{}: bank {bank} pad {pad} now plays {}",
                                path.display(),
                                t.path.display()
                            )),
                            Err(e) => lines.push(format!(
                                "the take is on disk but not in the set: {e}; add `file = \"{}\"` to the pad by hand",
                                t.path.display()
                            )),
                        }
                    }
                }
                WriterNews::Failed { pad, error, .. } => lines.push(format!(
                    "the take of bank {} pad {} was not written: {error}; the pad plays it until the next restart",
                    pad as usize / per_bank,
                    pad as usize % per_bank
                )),
            }
        }
        lines
    }

    /// Lets the disk writer finish the take it writes and stops it. Not real-time.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LiveRecording {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where a set's takes go: `recordings/` beside the set file.
pub fn recordings_dir(set_path: &Path) -> PathBuf {
    set_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("recordings")
}

/// Saves a take as its pad's sample in the set file: `file` (relative to the set), the tempo,
/// synced and looping over the whole file; the pad's other settings stay.
pub fn save_take(set_path: &Path, set: &SetFile, t: &TakeFile) -> Result<(), WriteError> {
    let name = set_path.display().to_string();
    let text = std::fs::read_to_string(set_path).map_err(|error| WriteError::Io {
        file: name.clone(),
        error,
    })?;
    let mut w = SetWriter::parse(&name, &text)?;
    let g = &set.grid;
    let per_bank = g.pads_per_bank().max(1);
    let place = PadPlace {
        bank: t.pad as usize / per_bank,
        index: t.pad as usize % per_bank,
    };
    let dir = set_path.parent().unwrap_or(Path::new("."));
    let file = t
        .path
        .strip_prefix(dir)
        .unwrap_or(&t.path)
        .to_string_lossy()
        .to_string();
    for key in [
        "builtin",
        "stems",
        "start",
        "loop_start",
        "loop_end",
        "speed",
        "transpose",
    ] {
        w.remove_pad_key(place, g.cols, key);
    }
    w.set_pad(place, g.cols, "file", file)?;
    w.set_pad(place, g.cols, "bpm", t.bpm as f64)?;
    w.set_pad(place, g.cols, "sync", true)?;
    w.set_pad(place, g.cols, "loop", true)?;
    w.save(set_path)
}
