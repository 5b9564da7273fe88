//! Recording while playing live: a blank tape kept ready in the engine, the disk writer on a
//! thread of its own (nice 10, like the web threads: the disk never competes with the audio),
//! and each finished take saved into the set file (`file = "recordings/..."`) so it is the
//! pad's sample after a restart. Not real-time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::persist::SetKeeper;
use super::{DiskWriter, TapeSupply, WriterNews};
use crate::audio::input::{Input, InputRequest};
use crate::config::set::InputClock;
use crate::config::set::SetFile;
use crate::engine::EngineHandle;
use crate::engine::command::Command;
use crate::engine::event::EngineEvent;
use crate::engine::input::InputFeed;
use crate::engine::record::InputCmd;

/// How often the disk writer looks at the ring (it holds seconds: this is for latency of the
/// file, not to keep up).
const POLL: Duration = Duration::from_millis(50);

/// Live recording: the audio input, tapes, the disk writer's thread, takes saved into the set.
pub struct LiveRecording {
    supply: TapeSupply,
    input: InputState,
    news: Option<mpsc::Receiver<WriterNews>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The set file, kept in step with what recording changes.
    keeper: SetKeeper,
    said: Option<String>,
}

impl LiveRecording {
    /// Starts recording for `set` (nothing when `record_seconds` is 0): the audio input the
    /// set names, takes written to `recordings/` beside the set file. `out` is the output's
    /// name and buffer, for the latency compensation. Not real-time.
    pub fn start(handle: &mut EngineHandle, set: &SetFile, rate: u32, out: (&str, u32)) -> Self {
        let supply = TapeSupply::new(set.master.record_seconds, rate);
        let input = InputState::start(handle, set, rate, out);
        let keeper = SetKeeper::new(set.path.is_file().then(|| set.path.clone()));
        let dir = recordings_dir(&set.path);
        let stop = Arc::new(AtomicBool::new(false));
        let mut me = Self {
            supply,
            input,
            news: None,
            stop: stop.clone(),
            thread: None,
            keeper,
            said: None,
        };
        if !me.supply.enabled() {
            return me;
        }
        for line in repair_cut_takes(&dir, rate) {
            log::warn!("{line}");
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
    pub fn tick(
        &mut self,
        handle: &mut EngineHandle,
        set: &SetFile,
        events: &[EngineEvent],
    ) -> Vec<String> {
        let mut lines = self.input.tick(handle);
        if std::mem::take(&mut self.input.reopened) {
            // The input came back (or came at last): aligned and followed afresh.
            lines.extend(self.input.configure(handle));
        }
        for (from, to) in self.supply.keep(handle) {
            self.keeper.alias(from, to);
        }
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
                    lines.extend(self.keeper.written(set, &t));
                }
                WriterNews::Failed { pad, error, .. } => lines.push(format!(
                    "the take of bank {} pad {} was not written: {error}; the pad plays it until the next restart",
                    pad as usize / per_bank,
                    pad as usize % per_bank
                )),
            }
        }
        for ev in events {
            lines.extend(self.keeper.event(set, ev));
        }
        lines
    }

    /// Stops the input; lets the disk writer finish the take it writes and stops it. Not
    /// real-time.
    pub fn stop(&mut self) {
        self.input.stop();
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

/// The audio input while playing live: opened at start, opened again after it failed (every
/// two seconds, one log line per change).
struct InputState {
    req: Option<InputRequest>,
    input: Option<Input>,
    feed: Option<InputFeed>,
    last_try: Instant,
    said: Option<String>,
    /// The output's name and buffer, the set's default buffer and input clock, the rate.
    out: (String, u32),
    buffer: u32,
    clock: InputClock,
    rate: u32,
    /// The input opened again since the engine was last told about it.
    reopened: bool,
}

impl InputState {
    fn start(handle: &mut EngineHandle, set: &SetFile, rate: u32, out: (&str, u32)) -> Self {
        let m = &set.master;
        let req = (!m.input.is_empty()).then(|| InputRequest {
            device: m.input.clone(),
            channels: m.input_channels.clone(),
            sample_rate: rate,
            buffer_size: m.buffer_size,
        });
        let mut me = Self {
            feed: req.as_ref().and_then(|_| handle.take_input_feed()),
            req,
            input: None,
            last_try: Instant::now(),
            said: None,
            out: (out.0.to_string(), out.1),
            buffer: m.buffer_size,
            clock: m.input_clock,
            rate,
            reopened: false,
        };
        for l in me.open(handle) {
            log::info!("{l}");
        }
        for l in me.configure(handle) {
            log::info!("{l}");
        }
        me
    }

    /// Tells the engine how the input that just opened is aligned (the round trip `padlooper
    /// latency` measured on these devices, else their buffers, an estimate) and whether its
    /// clock is followed (drift correction, learnt afresh). Returns lines to log.
    fn configure(&mut self, handle: &mut EngineHandle) -> Vec<String> {
        let Some(i) = &self.input else {
            return Vec::new();
        };
        let (out_name, out_frames) = (self.out.0.as_str(), self.out.1);
        let rate = self.rate;
        let in_frames = crate::audio::buffer_frames(i.config(), self.buffer);
        let ms = |f: u32| f as f64 * 1000.0 / rate.max(1) as f64;
        let kept = crate::control::set::last_set::copy_dir().and_then(|d| {
            let buffers = [out_frames, in_frames];
            crate::control::latency::lookup(&d, out_name, i.device_name(), rate, buffers)
        });
        let (frames, aligned) = match kept {
            Some(k) => (
                k.frames,
                format!(
                    "recording: takes are aligned by the round trip `padlooper latency` measured on these devices: {} frames ({:.2} ms)",
                    k.frames,
                    ms(k.frames)
                ),
            ),
            None => (
                out_frames + in_frames,
                format!(
                    "recording: takes are aligned by the devices' buffers (output {out_frames} + input {in_frames} frames, {:.2} ms), an estimate: run `padlooper latency` with a cable from an output to the input to measure the round trip",
                    ms(out_frames + in_frames)
                ),
            ),
        };
        let drift = match self.clock {
            InputClock::Auto => !same_card(out_name, i.device_name()),
            InputClock::Follow => true,
            InputClock::Output => false,
        };
        let clock = if drift {
            "audio input: its clock is followed (drift correction: another card than the output), so nothing is lost or repeated over long sets"
        } else {
            "audio input: on the output's clock (the same card, or `input_clock = \"output\"`): no drift correction"
        };
        for cmd in [
            InputCmd::Latency(frames),
            InputCmd::Drift(false),
            InputCmd::Drift(drift),
        ] {
            let _ = handle.command(Command::Input(cmd));
        }
        vec![aligned, clock.to_string()]
    }

    fn open(&mut self, handle: &EngineHandle) -> Vec<String> {
        let (Some(req), Some(feed)) = (self.req.as_ref(), self.feed.take()) else {
            return Vec::new();
        };
        self.last_try = Instant::now();
        match Input::start(req, feed, handle.stats().clone()) {
            Ok(i) => {
                let line = format!(
                    "audio input: {} (channels {:?}, {} Hz, {})",
                    i.device_name(),
                    req.channels,
                    i.config().sample_rate,
                    i.format()
                );
                self.input = Some(i);
                self.said = None;
                vec![line]
            }
            Err((e, feed)) => {
                self.feed = Some(feed);
                let msg = format!(
                    "audio input: {e}; recording from the input is silent until it is there (`padlooper devices` lists inputs)"
                );
                if self.said.as_deref() == Some(msg.as_str()) {
                    return Vec::new();
                }
                self.said = Some(msg.clone());
                vec![msg]
            }
        }
    }

    fn tick(&mut self, handle: &EngineHandle) -> Vec<String> {
        let mut lines = Vec::new();
        if self.input.as_ref().is_some_and(Input::has_failed)
            && let Some(i) = self.input.take()
        {
            lines.push(format!(
                "audio input {} stopped (unplugged?); trying to open it again",
                i.device_name()
            ));
            self.feed = i.stop();
        }
        if self.input.is_none() && self.last_try.elapsed() >= Duration::from_secs(2) {
            lines.extend(self.open(handle));
            self.reopened = self.input.is_some();
        }
        lines
    }

    fn stop(&mut self) {
        if let Some(i) = self.input.take() {
            self.feed = i.stop();
        }
    }
}

/// Repairs the takes in `dir` a kill or a power cut left with an old header (the writer
/// brings it up to date every second): each keeps every whole frame on disk. Returns a line
/// per file to log. Not real-time.
pub fn repair_cut_takes(dir: &Path, rate: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| match crate::sample::wav_repair::repair_in_place(p) {
            Ok(None) => None,
            Ok(Some(r)) => Some(format!(
                "{}: a take cut off (padlooper was stopped or the power went while it recorded): repaired, {:.2} s kept (the header said {:.2} s); it is not in the set: give it to a pad to play it",
                p.display(),
                r.present_frames as f64 / rate.max(1) as f64,
                r.declared_frames as f64 / rate.max(1) as f64
            )),
            Err(e) => Some(format!(
                "{}: cannot repair this cut-off take ({}); padlooper still reads what it holds",
                p.display(),
                crate::sample::error::os_error(&e)
            )),
        })
        .collect()
}

/// Whether an output and an input named so are on the same card (one clock): the same name,
/// or the same ALSA `CARD=` (`hw:CARD=USB,DEV=0` and `plughw:CARD=USB,DEV=0`).
pub fn same_card(output: &str, input: &str) -> bool {
    let card = |n: &str| {
        n.split("CARD=")
            .nth(1)
            .map(|r| r.split([',', ' ', ')']).next().unwrap_or("").to_string())
    };
    output == input || matches!((card(output), card(input)), (Some(a), Some(b)) if a == b)
}

/// Where a set's takes go: `recordings/` beside the set file.
pub fn recordings_dir(set_path: &Path) -> PathBuf {
    set_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("recordings")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cards_are_told_apart_by_name() {
        use super::same_card;
        assert!(same_card("hw:CARD=USB,DEV=0", "plughw:CARD=USB,DEV=0"));
        assert!(same_card("default", "default"));
        assert!(!same_card("hw:CARD=PCH,DEV=0", "hw:CARD=USB,DEV=0"));
        assert!(!same_card(
            "no audio (paced by the clock)",
            "hw:CARD=USB,DEV=0"
        ));
        assert!(!same_card("default", "hw:CARD=USB,DEV=0"));
    }
}
