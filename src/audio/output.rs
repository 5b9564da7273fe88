//! cpal output: opens a device, runs the engine in its callback, rebuilds the stream after
//! device errors. The callback is the only real-time code here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{Device, ErrorKind, FromSample, SampleFormat, SizedSample, Stream, StreamConfig};

use super::block::{SCRATCH_FRAMES, render_block};
use super::priority::{RtOutcome, RtStatus, promote_current_thread};
use crate::engine::Engine;
use crate::engine::shared::EngineStats;

/// Errors of the audio output.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The device came back at another sample rate than the engine runs at.
    #[error("audio device {device:?} is now at {now} Hz instead of {was} Hz")]
    RateChanged {
        /// Its name.
        device: String,
        /// Its rate now.
        now: u32,
        /// The engine's rate.
        was: u32,
    },
    /// None of the devices in the preference list is present.
    #[error(
        "none of the audio output devices {0:?} is present; `padlooper devices` lists the available ones"
    )]
    NoneOf(Vec<String>),
    /// No output device at all.
    #[error(
        "no audio output device found; connect a sound card (or check `padlooper devices`), or use `padlooper render` to write a WAV file instead"
    )]
    NoDevice,
    /// The named device does not exist.
    #[error("audio device {0:?} not found; `padlooper devices` lists the available ones")]
    DeviceNotFound(String),
    /// The device refused every configuration we can use.
    #[error("audio device {device:?} has no usable configuration: {reason}")]
    NoConfig {
        /// Device name.
        device: String,
        /// Why.
        reason: String,
    },
    /// cpal failed to build or start the stream.
    #[error("cannot start audio on {device:?}: {reason}")]
    Stream {
        /// Device name.
        device: String,
        /// Why.
        reason: String,
    },
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRequest {
    /// Devices in order of preference: names, parts of names, ids or "default" (empty: the
    /// system default). The first one present with a usable configuration wins.
    pub device: Vec<String>,
    /// Desired sample rate.
    pub sample_rate: u32,
    /// Desired callback size in frames.
    pub buffer_size: u32,
    /// SCHED_FIFO priority the audio thread asks for (0: normal scheduling); see
    /// [`super::priority`].
    pub rt_priority: u8,
}

/// A device and the stream configuration chosen for it.
pub struct ResolvedOutput {
    /// The device.
    pub device: Device,
    /// Its display name.
    pub name: String,
    /// Channels, rate and buffer size.
    pub config: StreamConfig,
    /// Sample format the device takes.
    pub format: SampleFormat,
    /// Its place in the request's preference list (0: the preferred one).
    pub choice: usize,
}

/// Lists output devices as `(name, id, default config)` lines.
pub fn list_outputs() -> Vec<String> {
    let host = cpal::default_host();
    let default_name = host.default_output_device().map(|d| d.to_string());
    let Ok(devices) = host.output_devices() else {
        return Vec::new();
    };
    devices
        .map(|d| {
            let mark = if Some(&d.to_string()) == default_name.as_ref() {
                " (default)"
            } else {
                ""
            };
            describe(&d, mark, d.default_output_config())
        })
        .collect()
}

/// A device's line for `padlooper devices`: name (and `mark`), id, default configuration (or
/// why it is unusable). Inputs and outputs alike. Not real-time.
pub(super) fn describe(
    d: &Device,
    mark: &str,
    config: Result<cpal::SupportedStreamConfig, cpal::Error>,
) -> String {
    let id = d.id().map(|i| i.to_string()).unwrap_or_default();
    let cfg = config
        .map(|c| {
            format!(
                "{} ch, {} Hz, {}",
                c.channels(),
                c.sample_rate(),
                c.sample_format()
            )
        })
        .unwrap_or_else(|e| format!("unusable: {e}"));
    format!("{d}{mark}  [{id}]  {cfg}")
}

fn find_device(host: &cpal::Host, wanted: Option<&str>) -> Result<Device, AudioError> {
    match wanted {
        None | Some("default") | Some("") => {
            host.default_output_device().ok_or(AudioError::NoDevice)
        }
        Some(w) => {
            let devices: Vec<Device> = host
                .output_devices()
                .map(|d| d.collect())
                .unwrap_or_default();
            pick(&devices, w).ok_or_else(|| AudioError::DeviceNotFound(w.to_string()))
        }
    }
}

/// The device `wanted` names among `devices`: its id or whole name, else the first whose name
/// contains it (case-insensitive). Inputs and outputs are named alike. Not real-time.
pub(super) fn pick(devices: &[Device], wanted: &str) -> Option<Device> {
    let lw = wanted.to_lowercase();
    devices
        .iter()
        .find(|d| d.id().is_ok_and(|i| i.to_string() == wanted) || d.to_string() == wanted)
        .or_else(|| {
            devices
                .iter()
                .find(|d| d.to_string().to_lowercase().contains(&lw))
        })
        .cloned()
}

/// Picks the first device of the preference list that is present and usable, and a
/// configuration close to the request (see [`resolve_one`]). Not real-time.
pub fn resolve(req: &OutputRequest) -> Result<ResolvedOutput, AudioError> {
    if req.device.len() <= 1 {
        return resolve_one(req, req.device.first().map(String::as_str), 0);
    }
    for (i, name) in req.device.iter().enumerate() {
        match resolve_one(req, Some(name), i) {
            Ok(r) => return Ok(r),
            Err(e) => log::debug!("audio device {name:?}: {e}"),
        }
    }
    Err(AudioError::NoneOf(req.device.clone()))
}

/// Whether a device the list prefers to `current` (its index) is present and usable now.
/// Not real-time (enumerates devices).
pub fn preferred_available(req: &OutputRequest, current: usize) -> Option<ResolvedOutput> {
    (0..current.min(req.device.len())).find_map(|i| resolve_one(req, Some(&req.device[i]), i).ok())
}

/// One device (`wanted`: a name, part of one, an id, "default" or None for the default) and a
/// configuration close to the request: the requested rate when supported (else the device's
/// default rate), stereo when available, float32 preferred. `choice` is its place in the
/// preference list.
fn resolve_one(
    req: &OutputRequest,
    wanted: Option<&str>,
    choice: usize,
) -> Result<ResolvedOutput, AudioError> {
    let host = cpal::default_host();
    let device = find_device(&host, wanted)?;
    let name = device.to_string();
    let no_config = |reason: String| AudioError::NoConfig {
        device: name.clone(),
        reason,
    };
    let ranges: Vec<_> = match device.supported_output_configs() {
        Ok(r) => r.collect(),
        // The default device exists in name only when there is no sound card.
        Err(_) if matches!(wanted, None | Some("default") | Some("")) => {
            return Err(AudioError::NoDevice);
        }
        Err(e) => return Err(no_config(e.to_string())),
    };
    let usable =
        |f: SampleFormat| matches!(f, SampleFormat::F32 | SampleFormat::I16 | SampleFormat::I32);
    let score = |r: &cpal::SupportedStreamConfigRange| {
        let rate_ok = (r.min_sample_rate()..=r.max_sample_rate()).contains(&req.sample_rate);
        (
            rate_ok as u8,
            (r.channels() == 2) as u8,
            (r.sample_format() == SampleFormat::F32) as u8,
        )
    };
    let best = ranges
        .iter()
        .filter(|r| usable(r.sample_format()) && r.channels() >= 1)
        .max_by_key(|r| score(r))
        .cloned()
        .ok_or_else(|| no_config("no f32/i16/i32 output format".into()))?;
    let rate = if (best.min_sample_rate()..=best.max_sample_rate()).contains(&req.sample_rate) {
        req.sample_rate
    } else {
        let fallback = device
            .default_output_config()
            .map(|c| c.sample_rate())
            .unwrap_or(best.max_sample_rate())
            .clamp(best.min_sample_rate(), best.max_sample_rate());
        log::warn!(
            "{name}: {} Hz not supported, using {fallback} Hz",
            req.sample_rate
        );
        fallback
    };
    let format = best.sample_format();
    let buffer_size = super::fixed_buffer(best.buffer_size(), req.buffer_size);
    let config = StreamConfig {
        channels: best.channels(),
        sample_rate: rate,
        buffer_size,
    };
    Ok(ResolvedOutput {
        device,
        name,
        config,
        format,
        choice,
    })
}

/// A stream that failed to start, with the engine handed back.
pub struct StartError {
    /// Why it failed.
    pub error: AudioError,
    /// The engine, unchanged (always present in practice).
    pub engine: Option<Box<Engine>>,
}

/// Owns the engine inside the callback; hands it back when the stream is torn down.
struct EngineSlot {
    engine: Option<Box<Engine>>,
    back: mpsc::Sender<Box<Engine>>,
}

impl Drop for EngineSlot {
    fn drop(&mut self) {
        if let Some(e) = self.engine.take() {
            let _ = self.back.send(e);
        }
    }
}

/// The name an output without a sound card goes by.
pub const PACED_NAME: &str = "no audio (paced by the clock)";

/// A running output stream. Dropping it stops audio.
pub struct Output {
    stream: Option<Stream>,
    /// The paced thread, for an output without a sound card (then `resolved` is None).
    paced: Option<super::paced::Paced>,
    resolved: Option<ResolvedOutput>,
    name: String,
    config: StreamConfig,
    request: OutputRequest,
    failed: Arc<AtomicBool>,
    returned: mpsc::Receiver<Box<Engine>>,
    back: mpsc::Sender<Box<Engine>>,
    stats: Arc<EngineStats>,
    engine: Option<Box<Engine>>,
    rt: Arc<RtStatus>,
}

impl Output {
    /// Starts `engine` on the resolved device.
    pub fn start(
        engine: Engine,
        resolved: ResolvedOutput,
        request: OutputRequest,
    ) -> Result<Output, StartError> {
        let (back, returned) = mpsc::channel();
        let stats = engine.stats().clone();
        let mut out = Output {
            stream: None,
            paced: None,
            name: resolved.name.clone(),
            config: resolved.config,
            resolved: Some(resolved),
            request,
            failed: Arc::new(AtomicBool::new(false)),
            returned,
            back,
            stats,
            engine: Some(Box::new(engine)),
            rt: Arc::new(RtStatus::default()),
        };
        match out.build() {
            Ok(()) => Ok(out),
            Err(e) => {
                // The engine is either still held or was handed back by the dropped callback.
                let engine = out.engine.take().or_else(|| out.returned.try_recv().ok());
                Err(StartError { error: e, engine })
            }
        }
    }

    /// Runs `engine` without a sound card: paced by the wall clock at the request's rate and
    /// buffer size (see [`super::paced`]); the sound is discarded, or fed back to the engine's
    /// input through a simulated `loopback` cable. Not real-time.
    pub fn paced(
        engine: Engine,
        request: OutputRequest,
        loopback: Option<super::paced::Loopback>,
    ) -> Result<Output, StartError> {
        let (back, returned) = mpsc::channel();
        let stats = engine.stats().clone();
        let rt = Arc::new(RtStatus::default());
        let config = StreamConfig {
            channels: 2,
            sample_rate: request.sample_rate,
            buffer_size: cpal::BufferSize::Fixed(request.buffer_size),
        };
        let paced = super::paced::Paced::start(
            Box::new(engine),
            request.sample_rate,
            request.buffer_size,
            request.rt_priority,
            rt.clone(),
            loopback,
        )
        .map_err(|e| StartError {
            error: AudioError::Stream {
                device: PACED_NAME.into(),
                reason: e.to_string(),
            },
            engine: None,
        })?;
        Ok(Output {
            stream: None,
            paced: Some(paced),
            resolved: None,
            name: PACED_NAME.into(),
            config,
            request,
            failed: Arc::new(AtomicBool::new(false)),
            returned,
            back,
            stats,
            engine: None,
            rt,
        })
    }

    /// Device name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// Stream configuration in use.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Whether the audio thread got real-time priority (known after its first callback).
    /// Never blocks.
    pub fn rt_outcome(&self) -> RtOutcome {
        self.rt.get()
    }

    fn build(&mut self) -> Result<(), AudioError> {
        let engine = match self.engine.take() {
            Some(e) => e,
            None => self.returned.try_recv().map_err(|_| AudioError::Stream {
                device: self.name.clone(),
                reason: "engine not available".into(),
            })?,
        };
        let Some(r) = self.resolved.as_ref() else {
            // Paced: no stream to build.
            self.engine = Some(engine);
            return Ok(());
        };
        let slot = EngineSlot {
            engine: Some(engine),
            back: self.back.clone(),
        };
        let result = match r.format {
            SampleFormat::F32 => self.build_typed::<f32>(r, slot),
            SampleFormat::I16 => self.build_typed::<i16>(r, slot),
            SampleFormat::I32 => self.build_typed::<i32>(r, slot),
            other => Err(AudioError::NoConfig {
                device: r.name.clone(),
                reason: format!("sample format {other}"),
            }),
        };
        match result {
            Ok(stream) => {
                self.stream = Some(stream);
                self.failed.store(false, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                // The callback (and the engine inside it) was dropped: take the engine back.
                self.engine = self.returned.try_recv().ok();
                Err(e)
            }
        }
    }

    fn build_typed<T>(&self, r: &ResolvedOutput, mut slot: EngineSlot) -> Result<Stream, AudioError>
    where
        T: OutSample,
    {
        let channels = r.config.channels as usize;
        let rate = r.config.sample_rate as f64;
        let stats = self.stats.clone();
        let err_stats = self.stats.clone();
        let failed = self.failed.clone();
        let mut scratch = vec![0.0f32; SCRATCH_FRAMES * 2];
        let rt = self.rt.clone();
        rt.clear();
        let priority = self.request.rt_priority;
        let mut promoted = false;
        let data_cb = move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            // Real-time section: no allocation, locks, logging or I/O below. Debug builds prove
            // it (every allocation in here is counted and reported by the control thread).
            #[cfg(debug_assertions)]
            let _rt = crate::engine::rt::RtSection::enter();
            // Once per stream (each stream has its own thread): one system call, no allocation.
            if !promoted {
                promoted = true;
                if priority > 0 {
                    rt.store(promote_current_thread(priority));
                }
            }
            let Some(engine) = slot.engine.as_deref_mut() else {
                return;
            };
            let ts = info.timestamp();
            let out_delay = ts.playback.duration_since(ts.callback).as_nanos() as u64;
            if let (2, Some(floats)) = (channels, T::as_f32(data)) {
                render_block(engine, floats, &stats, rate, out_delay as i64);
            } else {
                let frames = data.len() / channels.max(1);
                let mut done = 0;
                while done < frames {
                    let n = (frames - done).min(SCRATCH_FRAMES);
                    let buf = &mut scratch[..n * 2];
                    render_block(engine, buf, &stats, rate, out_delay as i64);
                    let dst = &mut data[done * channels..(done + n) * channels];
                    for (o, s) in dst.chunks_exact_mut(channels).zip(buf.chunks_exact(2)) {
                        if channels == 1 {
                            o[0] = T::from_sample(0.5 * (s[0] + s[1]));
                        } else {
                            o[0] = T::from_sample(s[0]);
                            o[1] = T::from_sample(s[1]);
                            for extra in o[2..].iter_mut() {
                                *extra = T::from_sample(0.0f32);
                            }
                        }
                    }
                    done += n;
                }
            }
        };
        let err_cb = move |e: cpal::Error| {
            // May run on the audio thread: atomics only.
            match e.kind() {
                ErrorKind::Xrun => {
                    err_stats.xruns.fetch_add(1, Ordering::Relaxed);
                }
                ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => {}
                _ => {
                    failed.store(true, Ordering::Release);
                }
            }
        };
        let stream_err = |e: cpal::Error| AudioError::Stream {
            device: r.name.clone(),
            reason: e.to_string(),
        };
        let stream = r
            .device
            .build_output_stream::<T, _, _>(r.config, data_cb, err_cb, None)
            .map_err(stream_err)?;
        stream.play().map_err(stream_err)?;
        Ok(stream)
    }

    /// Whether the stream reported a fatal error (device gone, stream invalidated).
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Tears the failed stream down and tries to open the device again (same request). Returns
    /// Ok(true) when audio runs again. Not real-time; call from the control thread.
    pub fn try_rebuild(&mut self) -> Result<bool, AudioError> {
        if self.paced.is_some() {
            return Ok(true);
        }
        let resolved = resolve(&self.request)?;
        self.reopen(resolved)?;
        Ok(true)
    }

    /// Moves the running engine to another device (e.g. the preferred one of the list came
    /// back). Not real-time; call from the control thread.
    pub fn switch_to(&mut self, resolved: ResolvedOutput) -> Result<(), AudioError> {
        self.reopen(resolved)
    }

    /// Where in the preference list the device in use is (0: the preferred one).
    pub fn choice(&self) -> usize {
        self.resolved.as_ref().map_or(0, |r| r.choice)
    }

    /// The request this output was opened for.
    pub fn request(&self) -> &OutputRequest {
        &self.request
    }

    fn reopen(&mut self, resolved: ResolvedOutput) -> Result<(), AudioError> {
        if self.paced.is_some() {
            // Paced on purpose (`--no-audio`): devices are not used.
            return Ok(());
        }
        if resolved.config.sample_rate != self.config.sample_rate {
            return Err(AudioError::RateChanged {
                device: resolved.name,
                now: resolved.config.sample_rate,
                was: self.config.sample_rate,
            });
        }
        if let Some(stream) = self.stream.take() {
            drop(stream);
        }
        if self.engine.is_none() {
            self.engine = self.returned.try_recv().ok();
        }
        self.name = resolved.name.clone();
        self.config = resolved.config;
        self.resolved = Some(resolved);
        if let Err(e) = self.build() {
            // No stream now: the control loop's rebuild retries.
            self.failed.store(true, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    /// Stops the stream and returns the engine (for tests and clean shutdown).
    pub fn stop(mut self) -> Option<Engine> {
        if let Some(p) = self.paced.take() {
            return p.stop();
        }
        drop(self.stream.take());
        self.engine
            .take()
            .or_else(|| self.returned.try_recv().ok())
            .map(|b| *b)
    }
}

/// Output sample types; `f32` stereo is rendered straight into the device buffer.
pub trait OutSample: SizedSample + FromSample<f32> + Send + 'static {
    /// The buffer as floats when the type is `f32`. Real-time safe.
    fn as_f32(_data: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

impl OutSample for f32 {
    fn as_f32(data: &mut [f32]) -> Option<&mut [f32]> {
        Some(data)
    }
}
impl OutSample for i16 {}
impl OutSample for i32 {}
