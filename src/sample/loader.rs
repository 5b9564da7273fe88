//! Loading a set's samples: decode, convert to stereo, resample, store; deduplicated and in
//! parallel on all cores. Not real-time safe.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::buffer::SampleBuffer;
use super::decode::Pcm;
use super::error::SampleError;

/// Where a sample's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SampleSource {
    /// An audio file on disk.
    File(PathBuf),
    /// A sound synthesised in code (the demo set's sounds), by name.
    Builtin(String),
    /// A full mix with its stems, held as one bundle (see `stems`).
    Stems(super::stems::StemSource),
}

impl std::fmt::Display for SampleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleSource::File(p) => write!(f, "{}", p.display()),
            SampleSource::Builtin(n) => write!(f, "builtin:{n}"),
            SampleSource::Stems(s) => write!(f, "{s}"),
        }
    }
}

/// A loaded sample and what is worth telling about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The buffer, ready to publish.
    pub buffer: Arc<SampleBuffer>,
    /// Problems that did not stop it from loading (cut-short file, skipped packets, NaN
    /// samples replaced by silence), one message each naming the file.
    pub warnings: Vec<String>,
}

/// Result of loading a batch of sources.
pub struct LoadReport {
    /// Every requested source with its buffer or error.
    pub results: HashMap<SampleSource, Result<Loaded, SampleError>>,
    /// Wall time of the whole batch.
    pub elapsed: Duration,
}

/// Name of the sample loader threads (a panic there is reported as the file's error, so the
/// CLI's panic hook keeps quiet about it).
pub const LOADER_THREAD: &str = "padlooper-loader";

/// Something that loads one source (the real pipeline, or a stand-in in tests).
pub type LoadFn = dyn Fn(&SampleSource, u32) -> Result<Loaded, SampleError> + Sync;

/// Loads one source at `rate` Hz, with warnings. A panic in a decoder becomes this file's
/// error and never affects another file.
pub fn load_checked(source: &SampleSource, rate: u32) -> Result<Loaded, SampleError> {
    isolated(source, rate, &load_one)
}

/// Runs `load` for one source under `catch_unwind`: a panic becomes that source's error.
fn isolated(source: &SampleSource, rate: u32, load: &LoadFn) -> Result<Loaded, SampleError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(source, rate))) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(SampleError::DecoderCrash {
                path: PathBuf::from(source.to_string()),
                message,
            })
        }
    }
}

/// The real pipeline for one source: decode, convert, resample, store; with warnings.
pub fn load_one(source: &SampleSource, rate: u32) -> Result<Loaded, SampleError> {
    {
        let mut warnings = Vec::new();
        let buffer = match source {
            SampleSource::File(path) => {
                let (buffer, w) = load_file_with_warnings(path, rate)?;
                warnings.extend(w);
                buffer
            }
            SampleSource::Stems(s) => {
                let (buffer, w) = super::stems::load_stems(s, rate)?;
                warnings.extend(w);
                buffer
            }
            other => load_source(other, rate)?,
        };
        if buffer.nonfinite > 0 {
            warnings.push(format!(
                "{source}: {} samples were NaN or infinite; they play as silence",
                buffer.nonfinite
            ));
        }
        Ok(Loaded {
            buffer: Arc::new(buffer),
            warnings,
        })
    }
}

/// Loads one source at `rate` Hz.
pub fn load_source(source: &SampleSource, rate: u32) -> Result<SampleBuffer, SampleError> {
    match source {
        SampleSource::Builtin(name) => {
            let data = crate::sample::builtin::render(name, rate).ok_or_else(|| {
                SampleError::Unsupported {
                    path: PathBuf::from(format!("builtin:{name}")),
                    reason: format!(
                        "no built-in sound named {name:?}; known: {}",
                        crate::sample::builtin::NAMES.join(", ")
                    ),
                }
            })?;
            Ok(SampleBuffer::from_f32(source.to_string(), rate, data))
        }
        SampleSource::File(path) => load_file(path, rate),
        SampleSource::Stems(s) => super::stems::load_stems(s, rate).map(|(b, _)| b),
    }
}

/// Decodes, converts and resamples one file to interleaved stereo at `rate` Hz, a packet at a
/// time (see [`super::pipeline`]). 16-bit sources are stored as 16-bit (rounding error after
/// resampling at most half an LSB, −96 dBFS).
pub fn load_file(path: &std::path::Path, rate: u32) -> Result<SampleBuffer, SampleError> {
    load_file_with_warnings(path, rate).map(|(b, _)| b)
}

/// [`load_file`] with the decoder's warnings.
pub fn load_file_with_warnings(
    path: &std::path::Path,
    rate: u32,
) -> Result<(SampleBuffer, Vec<String>), SampleError> {
    let mut sink = super::pipeline::VecSink::default();
    let (made, warnings) = convert_file(path, rate, &mut sink)?;
    let name = path.display().to_string();
    let mut b = match sink.into_stored(made.sixteen_bit) {
        Stored::I16(d) => SampleBuffer::from_i16(name, rate, d),
        Stored::F32(d) => SampleBuffer::from_f32(name, rate, d),
    };
    b.nonfinite += made.nonfinite;
    b.end_frac = made.end_frac;
    Ok((b, warnings))
}

/// Decodes `path` and converts it into `sink` (stereo at `rate` Hz, see
/// [`super::pipeline`]): what was made, and the decoder's warnings.
pub fn convert_file(
    path: &std::path::Path,
    rate: u32,
    sink: &mut dyn super::pipeline::Sink,
) -> Result<(super::pipeline::Converted, Vec<String>), SampleError> {
    let mut stream = super::decode::DecodeStream::open(path)?;
    let mut conv: Option<super::pipeline::Converter> = None;
    let failed = |e: super::pipeline::ConvertError, from: u32| match e {
        super::pipeline::ConvertError::Resample(reason) => SampleError::Resample {
            path: path.into(),
            from,
            to: rate,
            reason,
        },
        super::pipeline::ConvertError::Io(e) => SampleError::Write {
            path: path.into(),
            error: e,
        },
    };
    while let Some((chunk, channels, from)) = stream.next_packet() {
        let channels = channels.max(1);
        let c = match conv.as_mut() {
            Some(c) => c,
            None => {
                let sixteen = matches!(chunk, super::decode::Chunk::I16(_));
                if from == 0 {
                    return Err(SampleError::Corrupt {
                        path: path.into(),
                        reason: "missing sample rate".into(),
                    });
                }
                conv.insert(
                    super::pipeline::Converter::new(channels, from, rate, sixteen, sink)
                        .map_err(|e| failed(e, from))?,
                )
            }
        };
        c.push(chunk, sink).map_err(|e| failed(e, from))?;
    }
    let from = stream.rate();
    let warnings = stream.finish()?;
    let conv = conv.ok_or_else(|| SampleError::Empty { path: path.into() })?;
    let made = conv.finish(sink).map_err(|e| failed(e, from))?;
    if made.frames == 0 {
        return Err(SampleError::Empty { path: path.into() });
    }
    Ok((made, warnings))
}

/// Stored audio: stereo at the output rate, 16-bit or float.
#[derive(Debug, Clone)]
pub enum Stored {
    /// 16-bit (the source was 16-bit or narrower).
    I16(Vec<i16>),
    /// Float.
    F32(Vec<f32>),
}

impl Stored {
    /// Stereo frames held.
    pub fn frames(&self) -> usize {
        match self {
            Stored::I16(d) => d.len() / 2,
            Stored::F32(d) => d.len() / 2,
        }
    }
}

/// Decoded audio as stereo at `rate` Hz, 16-bit where lossless, with the number of non-finite
/// samples replaced by silence (the same conversion as [`load_file`], for audio decoded whole:
/// the tracks of a stem file).
pub fn store(
    path: &std::path::Path,
    decoded: super::decode::Decoded,
    rate: u32,
) -> Result<(Stored, usize), SampleError> {
    let (channels, from) = (decoded.channels.max(1), decoded.rate);
    let failed = |e: super::pipeline::ConvertError| match e {
        super::pipeline::ConvertError::Resample(reason) => SampleError::Resample {
            path: path.into(),
            from,
            to: rate,
            reason,
        },
        super::pipeline::ConvertError::Io(e) => SampleError::Write {
            path: path.into(),
            error: e,
        },
    };
    let sixteen = matches!(decoded.samples, Pcm::I16(_));
    let mut sink = super::pipeline::VecSink::default();
    let mut conv = super::pipeline::Converter::new(channels, from, rate, sixteen, &mut sink)
        .map_err(failed)?;
    let step = 8192 * channels;
    match &decoded.samples {
        Pcm::I16(v) => {
            for c in v.chunks(step) {
                conv.push(super::decode::Chunk::I16(c), &mut sink)
                    .map_err(failed)?;
            }
        }
        Pcm::F32(v) => {
            for c in v.chunks(step) {
                conv.push(super::decode::Chunk::F32(c), &mut sink)
                    .map_err(failed)?;
            }
        }
    }
    let made = conv.finish(&mut sink).map_err(failed)?;
    if made.frames == 0 {
        return Err(SampleError::Empty { path: path.into() });
    }
    Ok((sink.into_stored(sixteen), made.nonfinite))
}

/// Rounds a float sample to 16 bits (to nearest, saturating); branch-free, no libm call.
#[inline]
pub fn to_i16(s: f32) -> i16 {
    let v = s * 32768.0;
    (v + 0.5f32.copysign(v)).clamp(-32768.0, 32767.0) as i16
}

/// Loads every distinct source once, on up to `threads` worker threads (0 = all cores), each
/// under `catch_unwind` (see [`load_checked`]). `progress` is called with (done, total) after
/// each file, from the worker threads.
pub fn load_all(
    sources: &[SampleSource],
    rate: u32,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> LoadReport {
    load_all_with(sources, rate, threads, progress, &load_one)
}

/// [`load_all`] with the loading of one source given (tests inject failures with it).
pub fn load_all_with(
    sources: &[SampleSource],
    rate: u32,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    load: &LoadFn,
) -> LoadReport {
    let start = Instant::now();
    let mut unique: Vec<SampleSource> = sources.to_vec();
    unique.sort();
    unique.dedup();
    let total = unique.len();
    let mut done = 0;
    let mut results = HashMap::new();
    load_in_order(&unique, rate, threads, load, &mut |r| {
        if let Some((src, r)) = r {
            results.insert(src, r);
            done += 1;
            progress(done, total);
        }
    });
    LoadReport {
        results,
        elapsed: start.elapsed(),
    }
}

/// One source's load result, as [`load_in_order`] hands it over.
pub type Arrival = (SampleSource, Result<Loaded, SampleError>);

/// How often [`load_in_order`] calls back while nothing arrives.
pub const IDLE_TICK: Duration = Duration::from_millis(20);

/// Loads `sources` (distinct) on up to `threads` worker threads (0 = all cores), starting them
/// in the order given, each under `catch_unwind`. Every result is handed to `on_event` on the
/// calling thread as soon as it is ready (`Some`), and `on_event(None)` comes every
/// [`IDLE_TICK`] while the workers are busy, so the caller can publish samples and keep its
/// controllers alive meanwhile.
pub fn load_in_order(
    sources: &[SampleSource],
    rate: u32,
    threads: usize,
    load: &LoadFn,
    on_event: &mut dyn FnMut(Option<Arrival>),
) {
    let workers = if threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        threads
    }
    .clamp(1, sources.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let mut started = 0;
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            let spawned = std::thread::Builder::new()
                .name(LOADER_THREAD.into())
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(src) = sources.get(i) else { break };
                        let r = isolated(src, rate, load);
                        if tx.send((src.clone(), r)).is_err() {
                            break;
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(_) => log::error!("cannot start a sample loader thread"),
            }
        }
        drop(tx);
        if started == 0 {
            // No thread at all: load here, in order.
            for src in sources {
                on_event(Some((src.clone(), isolated(src, rate, load))));
            }
            return;
        }
        loop {
            match rx.recv_timeout(IDLE_TICK) {
                Ok(r) => on_event(Some(r)),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => on_event(None),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
}
