//! The disk writer: every take streamed to a 32-bit float WAV in the recordings folder while it
//! is recorded (never held only in memory), its header brought up to date every second, so a
//! power cut loses at most the last second (the decoder reads a half-written file through
//! `sample::wav_repair`). Live it runs on a thread of its own; an offline render calls it after
//! every block. Not real-time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer};

use crate::control::offline::wav_out::WavOut;
use crate::engine::command::{PadId, SlotId};
use crate::engine::record::{DiskMark, RecordSource, RecordStream};
use crate::sample::buffer::SampleData;

/// How often the header of a file being recorded is brought up to date.
pub const CHECKPOINT: Duration = Duration::from_secs(1);

/// A take written to disk.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeFile {
    /// Take number (this run).
    pub take: u32,
    /// The pad recorded into.
    pub pad: PadId,
    /// The slot the pad plays it from.
    pub slot: SlotId,
    /// The file.
    pub path: PathBuf,
    /// Frames of the loop.
    pub frames: u32,
    /// Its tempo.
    pub bpm: f32,
    /// What was recorded.
    pub source: RecordSource,
    /// Frames the file misses (they did not reach the writer in time).
    pub lost_frames: u64,
}

/// What the writer did.
#[derive(Debug, Clone, PartialEq)]
pub enum WriterNews {
    /// A take is complete on disk.
    Written(TakeFile),
    /// A take could not be written (the pad still plays it from memory).
    Failed {
        /// Take number.
        take: u32,
        /// The pad.
        pad: PadId,
        /// What went wrong, naming the file.
        error: String,
    },
}

struct Current {
    take: u32,
    pad: PadId,
    slot: SlotId,
    source: RecordSource,
    out: Option<WavOut>,
    path: PathBuf,
    error: Option<String>,
    /// Samples taken from the ring for it.
    taken: u64,
    /// The end mark once seen: samples in all, lost, frames, bpm.
    end: Option<(u64, u64, u32, f32)>,
    cancelled: bool,
    last_sync: Instant,
}

/// Moves recorded samples from the engine's ring to files.
pub struct DiskWriter {
    stream: RecordStream,
    dir: PathBuf,
    pads_per_bank: usize,
    rate: u32,
    cur: Option<Current>,
    buf: Vec<f32>,
}

impl DiskWriter {
    /// Writes the takes of `stream` (at `rate` Hz) into `dir` (created when needed), named
    /// after their bank and pad. Not real-time.
    pub fn new(stream: RecordStream, dir: &Path, pads_per_bank: usize, rate: u32) -> Self {
        Self {
            stream,
            dir: dir.to_path_buf(),
            pads_per_bank: pads_per_bank.max(1),
            rate,
            cur: None,
            buf: vec![0.0; 1 << 15],
        }
    }

    /// The folder takes are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a take is being written.
    pub fn busy(&self) -> bool {
        self.cur.is_some()
    }

    /// Writes everything the engine has recorded so far; returns the takes finished.
    pub fn pump(&mut self) -> Vec<WriterNews> {
        let mut news = Vec::new();
        loop {
            if self.cur.is_none() {
                match self.stream.marks.try_pop() {
                    Some(DiskMark::Begin {
                        take,
                        pad,
                        slot,
                        source,
                    }) => self.open(take, pad, slot, source),
                    Some(DiskMark::Whole {
                        take,
                        pad,
                        slot,
                        frames,
                        bpm,
                    }) => news.push(self.whole(take, pad, slot, frames, bpm)),
                    // An end or cancel without its begin (the writer started late): nothing to do.
                    Some(_) => continue,
                    None => break,
                }
                continue;
            }
            let moved = self.move_samples();
            self.read_end_mark();
            let Some(cur) = self.cur.as_mut() else {
                break;
            };
            match cur.end {
                Some((total, ..)) if cur.taken >= total => {
                    if let Some(n) = self.cur.take().and_then(|cur| self.close(cur)) {
                        news.push(n);
                    }
                }
                _ if moved == 0 => break,
                _ => {}
            }
        }
        // What came in goes to the system at once (a kill loses nothing that reached the
        // writer); the header and the disk follow every second.
        if let Some(cur) = self.cur.as_mut()
            && let Some(out) = cur.out.as_mut()
            && let Err(e) = out.flush()
        {
            cur.error = Some(e.to_string());
            cur.out = None;
        }
        if let Some(cur) = self.cur.as_mut()
            && cur.last_sync.elapsed() >= CHECKPOINT
        {
            cur.last_sync = Instant::now();
            if let Some(out) = cur.out.as_mut()
                && let Err(e) = out.checkpoint()
            {
                cur.error = Some(e.to_string());
                cur.out = None;
            }
        }
        news
    }

    fn open(&mut self, take: u32, pad: PadId, slot: SlotId, source: RecordSource) {
        let (path, out, error) = match self.create(pad) {
            Ok(out) => (out.path().to_path_buf(), Some(out), None),
            Err((path, e)) => (path, None, Some(e)),
        };
        self.cur = Some(Current {
            take,
            pad,
            slot,
            source,
            out,
            path,
            error,
            taken: 0,
            end: None,
            cancelled: false,
            last_sync: Instant::now(),
        });
    }

    /// Writes an overdub pass whole from its tape (which comes on its own queue, in the order
    /// of the marks).
    fn whole(&mut self, take: u32, pad: PadId, slot: SlotId, frames: u32, bpm: f32) -> WriterNews {
        let failed = |error: String| WriterNews::Failed { take, pad, error };
        let tape = loop {
            match self.stream.wholes.try_pop() {
                Some(t) if t.slot == slot => break t,
                Some(_) => continue,
                None => return failed("the overdub's tape did not reach the disk writer".into()),
            }
        };
        let samples = match tape.buffer.data() {
            SampleData::F32(d) => &d[..(2 * frames as usize).min(d.len())],
            _ => return failed("the overdub's tape is not float32".into()),
        };
        let mut out = match self.create(pad) {
            Ok(out) => out,
            Err((_, e)) => return failed(e),
        };
        let path = out.path().to_path_buf();
        let written = samples
            .chunks(1 << 16)
            .try_for_each(|c| out.write(c))
            .and_then(|_| out.finish().map(|_| ()));
        match written {
            Ok(()) => WriterNews::Written(TakeFile {
                take,
                pad,
                slot,
                path,
                frames,
                bpm,
                source: RecordSource::Input,
                lost_frames: 0,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                failed(e.to_string())
            }
        }
    }

    /// A new file for pad `pad`: `b<bank>-p<pad>-take<n>.wav`, the first `n` not taken.
    fn create(&self, pad: PadId) -> Result<WavOut, (PathBuf, String)> {
        let (bank, p) = (
            pad as usize / self.pads_per_bank,
            pad as usize % self.pads_per_bank,
        );
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            return Err((
                self.dir.clone(),
                format!(
                    "{}: cannot create the recordings folder ({}); check its permissions",
                    self.dir.display(),
                    crate::sample::error::os_error(&e)
                ),
            ));
        }
        let mut n = 1;
        let path = loop {
            let path = self.dir.join(format!("b{bank}-p{p}-take{n}.wav"));
            if !path.exists() {
                break path;
            }
            n += 1;
        };
        WavOut::create(&path, self.rate).map_err(|e| (path, e.to_string()))
    }

    /// Moves the current take's samples from the ring into its file; returns how many.
    fn move_samples(&mut self) -> usize {
        let Some(cur) = self.cur.as_mut() else {
            return 0;
        };
        let mut moved = 0;
        loop {
            let limit = match cur.end {
                Some((total, ..)) => (total - cur.taken.min(total)) as usize,
                None => usize::MAX,
            };
            let n = self
                .stream
                .samples
                .occupied_len()
                .min(limit)
                .min(self.buf.len());
            if n == 0 {
                return moved;
            }
            let got = self.stream.samples.pop_slice(&mut self.buf[..n]);
            cur.taken += got as u64;
            moved += got;
            if !cur.cancelled
                && let Some(out) = cur.out.as_mut()
                && let Err(e) = out.write(&self.buf[..got])
            {
                cur.error = Some(e.to_string());
                cur.out = None;
            }
        }
    }

    /// Takes the current take's end (or cancel) mark when it has come.
    fn read_end_mark(&mut self) {
        let Some(cur) = self.cur.as_mut() else {
            return;
        };
        if cur.end.is_some() {
            return;
        }
        match self.stream.marks.try_peek() {
            Some(&DiskMark::End {
                take,
                samples,
                lost,
                frames,
                bpm,
            }) if take == cur.take => {
                cur.end = Some((samples, lost, frames, bpm));
                self.stream.marks.try_pop();
            }
            Some(&DiskMark::Cancel { take, samples }) if take == cur.take => {
                cur.end = Some((samples, 0, 0, 0.0));
                cur.cancelled = true;
                self.stream.marks.try_pop();
            }
            _ => {}
        }
    }

    /// Finishes a take's file (or removes it when the take was abandoned).
    fn close(&mut self, cur: Current) -> Option<WriterNews> {
        let (_, lost, frames, bpm) = cur.end.unwrap_or_default();
        if cur.cancelled {
            drop(cur.out);
            let _ = std::fs::remove_file(&cur.path);
            return None;
        }
        let finished = match cur.out {
            Some(out) => out.finish().map(|_| ()).map_err(|e| e.to_string()),
            None => Err(cur.error.clone().unwrap_or_default()),
        };
        Some(match finished.and(cur.error.map_or(Ok(()), Err)) {
            Ok(()) => WriterNews::Written(TakeFile {
                take: cur.take,
                pad: cur.pad,
                slot: cur.slot,
                path: cur.path,
                frames,
                bpm,
                source: cur.source,
                lost_frames: lost / 2,
            }),
            Err(error) => WriterNews::Failed {
                take: cur.take,
                pad: cur.pad,
                error,
            },
        })
    }
}
