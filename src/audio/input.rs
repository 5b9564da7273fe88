//! cpal input: the audio input recordings take, as a capture stream of its own (cpal has no
//! duplex streams on ALSA). Its callback only copies the chosen channels, as interleaved stereo
//! floats, into the engine's input ring; what does not fit is dropped and counted
//! (`input overrun`). The engine takes a block's worth per block. The callback is the only
//! real-time code here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{Device, ErrorKind, FromSample, SampleFormat, SizedSample, Stream, StreamConfig};
use ringbuf::traits::Producer;

use super::output::AudioError;
use crate::engine::input::InputFeed;
use crate::engine::shared::{Counter, EngineStats};

/// Frames converted per pass of the callback's scratch buffer.
const SCRATCH_FRAMES: usize = 1024;

/// What the set asks of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    /// Devices in order of preference (names, parts of names, ids, "default").
    pub device: Vec<String>,
    /// The channels recorded, counted from 1: two are a stereo pair (left, right), one is a
    /// mono input heard on both sides.
    pub channels: Vec<u16>,
    /// The engine's sample rate (the input must run at it).
    pub sample_rate: u32,
    /// Callback size in frames.
    pub buffer_size: u32,
}

/// A running capture stream. Dropping it stops the input; [`Input::stop`] gives the ring back.
pub struct Input {
    stream: Option<Stream>,
    name: String,
    config: StreamConfig,
    format: SampleFormat,
    failed: Arc<AtomicBool>,
    back: mpsc::Receiver<InputFeed>,
}

/// Lists input devices as `name [id] default config` lines.
pub fn list_inputs() -> Vec<String> {
    let host = cpal::default_host();
    let Ok(devices) = host.input_devices() else {
        return Vec::new();
    };
    devices
        .map(|d| super::output::describe(&d, "", d.default_input_config()))
        .collect()
}

fn find(host: &cpal::Host, wanted: &str) -> Result<Device, AudioError> {
    if matches!(wanted, "" | "default") {
        return host
            .default_input_device()
            .ok_or_else(|| AudioError::DeviceNotFound("default input".into()));
    }
    let devices: Vec<Device> = host
        .input_devices()
        .map(|d| d.collect())
        .unwrap_or_default();
    super::output::pick(&devices, wanted)
        .ok_or_else(|| AudioError::DeviceNotFound(wanted.to_string()))
}

/// The first device of the list with a configuration at the engine's rate holding the channels
/// asked for (float32 preferred).
fn resolve(req: &InputRequest) -> Result<(Device, String, StreamConfig, SampleFormat), AudioError> {
    let host = cpal::default_host();
    let wanted: Vec<&str> = if req.device.is_empty() {
        vec!["default"]
    } else {
        req.device.iter().map(String::as_str).collect()
    };
    let need = req.channels.iter().copied().max().unwrap_or(2).max(1);
    let mut last = AudioError::NoneOf(req.device.clone());
    for w in wanted {
        let device = match find(&host, w) {
            Ok(d) => d,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let name = device.to_string();
        let ranges: Vec<_> = match device.supported_input_configs() {
            Ok(r) => r.collect(),
            Err(e) => {
                last = AudioError::NoConfig {
                    device: name,
                    reason: e.to_string(),
                };
                continue;
            }
        };
        let best = ranges
            .iter()
            .filter(|r| {
                matches!(
                    r.sample_format(),
                    SampleFormat::F32 | SampleFormat::I16 | SampleFormat::I32
                ) && r.channels() >= need
                    && (r.min_sample_rate()..=r.max_sample_rate()).contains(&req.sample_rate)
            })
            .max_by_key(|r| {
                (
                    (r.sample_format() == SampleFormat::F32) as u8,
                    u16::MAX - r.channels(),
                )
            });
        let Some(best) = best else {
            last = AudioError::NoConfig {
                device: name,
                reason: format!(
                    "no capture configuration with {need} channels at {} Hz (the engine's rate; an input at another rate is not resampled yet)",
                    req.sample_rate
                ),
            };
            continue;
        };
        let buffer_size = super::fixed_buffer(best.buffer_size(), req.buffer_size);
        let config = StreamConfig {
            channels: best.channels(),
            sample_rate: req.sample_rate,
            buffer_size,
        };
        return Ok((device, name, config, best.sample_format()));
    }
    Err(last)
}

/// Gives the ring back to the control side when the stream's callback goes.
struct FeedSlot {
    feed: Option<InputFeed>,
    back: mpsc::Sender<InputFeed>,
}

impl Drop for FeedSlot {
    fn drop(&mut self) {
        if let Some(f) = self.feed.take() {
            let _ = self.back.send(f);
        }
    }
}

impl Input {
    /// Opens the input `req` names and starts feeding `feed` (given back on failure). Not
    /// real-time.
    pub fn start(
        req: &InputRequest,
        feed: InputFeed,
        stats: Arc<EngineStats>,
    ) -> Result<Input, (AudioError, InputFeed)> {
        let (tx, rx) = mpsc::channel();
        let (device, name, config, format) = match resolve(req) {
            Ok(r) => r,
            Err(e) => return Err((e, feed)),
        };
        let slot = FeedSlot {
            feed: Some(feed),
            back: tx,
        };
        let failed = Arc::new(AtomicBool::new(false));
        let picks = picks(&req.channels);
        let built = match format {
            SampleFormat::I16 => build::<i16>(&device, &config, slot, picks, stats, failed.clone()),
            SampleFormat::I32 => build::<i32>(&device, &config, slot, picks, stats, failed.clone()),
            _ => build::<f32>(&device, &config, slot, picks, stats, failed.clone()),
        };
        match built {
            Ok(stream) => Ok(Input {
                stream: Some(stream),
                name,
                config,
                format,
                failed,
                back: rx,
            }),
            Err(e) => {
                // The callback went with the failed stream, handing the ring back.
                let err = AudioError::Stream {
                    device: name.clone(),
                    reason: e.to_string(),
                };
                let feed = rx.try_recv().unwrap_or_else(|_| {
                    log::error!(
                        "audio input {name:?}: the input ring was lost with the failed stream; recording from the input is off until a restart"
                    );
                    ringbuf::traits::Split::split(ringbuf::HeapRb::<f32>::new(2)).0
                });
                Err((err, feed))
            }
        }
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// Channels, rate and buffer size of the capture stream.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// The sample format the device delivers.
    pub fn format(&self) -> SampleFormat {
        self.format
    }

    /// Whether the stream reported a fatal error (device gone).
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Stops the stream and gives the ring back (to open the input again). Not real-time.
    pub fn stop(mut self) -> Option<InputFeed> {
        drop(self.stream.take());
        self.back.try_recv().ok()
    }
}

/// The device channels (0-based) a frame's left and right come from.
fn picks(channels: &[u16]) -> (usize, usize) {
    match channels {
        [l, r, ..] => (l.saturating_sub(1) as usize, r.saturating_sub(1) as usize),
        [m] => (m.saturating_sub(1) as usize, m.saturating_sub(1) as usize),
        [] => (0, 1),
    }
}

/// The capture stream: the callback converts the picked channels into interleaved stereo
/// floats and pushes them into the ring.
fn build<T>(
    device: &Device,
    config: &StreamConfig,
    mut slot: FeedSlot,
    (left, right): (usize, usize),
    stats: Arc<EngineStats>,
    failed: Arc<AtomicBool>,
) -> Result<Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = config.channels as usize;
    let right = if right < channels {
        right
    } else {
        left.min(channels.saturating_sub(1))
    };
    let left = left.min(channels.saturating_sub(1));
    let mut scratch = vec![0.0f32; 2 * SCRATCH_FRAMES];
    let err_stats = stats.clone();
    let data_cb = move |data: &[T], _: &cpal::InputCallbackInfo| {
        // Real-time section: no allocation, locks, logging or I/O below.
        #[cfg(debug_assertions)]
        let _rt = crate::engine::rt::RtSection::enter();
        let Some(feed) = slot.feed.as_mut() else {
            return;
        };
        for frames in data.chunks(SCRATCH_FRAMES * channels.max(1)) {
            let n = frames.len() / channels.max(1);
            for (k, f) in frames.chunks_exact(channels.max(1)).enumerate() {
                scratch[2 * k] = f[left].to_sample::<f32>();
                scratch[2 * k + 1] = f[right].to_sample::<f32>();
            }
            let pushed = feed.push_slice(&scratch[..2 * n]);
            if pushed < 2 * n {
                stats
                    .counters
                    .add(Counter::InputOverrun, ((2 * n - pushed) / 2) as u64);
            }
        }
        // When it came: drift correction follows what the device holds between callbacks.
        stats
            .record
            .note_input_push(crate::engine::shared::mono_nanos());
    };
    let err_cb = move |e: cpal::Error| match e.kind() {
        ErrorKind::Xrun => {
            err_stats.counters.bump(Counter::InputOverrun);
        }
        ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => {}
        _ => failed.store(true, Ordering::Release),
    };
    let stream = device.build_input_stream::<T, _, _>(*config, data_cb, err_cb, None)?;
    if let Err(e) = stream.play() {
        log::warn!("audio input: {e}");
    }
    Ok(stream)
}
