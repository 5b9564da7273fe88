//! Live controllers: a MIDI backend (midir, or a fake in tests), and the manager that matches
//! ports to profiles, connects them, sends init SysEx and LEDs, and handles hot-plug. Not
//! real-time: the manager runs on the control thread, inputs on their MIDI threads.

use std::sync::{Arc, Mutex};

use super::controller::{Controller, DeviceState};
use super::leds::{LedSender, desired};
use super::state::SharedControl;
use crate::config::profile::Profile;
use crate::engine::{CommandLane, EngineHandle};

/// What an input connection needs on its MIDI thread: the mapper and a command lane.
pub struct InputState {
    controller: Controller,
    lane: Option<CommandLane>,
    shared: Arc<SharedControl>,
    latency: u64,
    /// Commands that did not fit the lane.
    pub dropped: u64,
    /// Our clock minus midir's, in ns: the smallest delivery delay seen so far.
    offset: Option<i128>,
}

impl InputState {
    /// Handles raw bytes stamped by midir with `ts_us` (microseconds on midir's clock). The
    /// time the message really arrived is mapped to the engine frame it happened at, plus a
    /// fixed `latency`, so commands land inside the next audio block at their true relative
    /// position, even when this thread was woken late.
    pub fn on_message(&mut self, ts_us: u64, bytes: &[u8]) {
        let now = self.shared.now_nanos() as i128;
        let ts = ts_us as i128 * 1000;
        // The fastest delivery observed is the best estimate of the clock offset; it is allowed
        // to drift back up slowly (1 µs per message) so clock drift does not accumulate.
        let offset = match self.offset {
            Some(o) => (o + 1000).min(now - ts),
            None => now - ts,
        };
        self.offset = Some(offset);
        let happened = (ts + offset).clamp(0, now) as u64;
        let at = self.shared.frame_at(happened) + self.latency;
        let (lane, dropped) = (&mut self.lane, &mut self.dropped);
        self.controller.feed(bytes, at, &mut |t| {
            if !lane.as_mut().is_some_and(|l| l.send(t)) {
                *dropped += 1;
            }
        });
    }
}

/// Shared handle to an input's state (locked only by its MIDI thread while connected).
pub type SharedInput = Arc<Mutex<InputState>>;

/// Takes an input's command lane (if it still has one) and returns it to the engine handle.
fn give_back_lane(state: &SharedInput, handle: &mut EngineHandle) {
    if let Ok(mut s) = state.lock()
        && let Some(lane) = s.lane.take()
    {
        handle.return_lane(lane);
    }
}

/// An open input; dropping it disconnects.
pub trait InputConnection: Send {}

/// An open output.
pub trait OutputConnection: Send {
    /// Sends one message.
    fn send(&mut self, bytes: &[u8]) -> Result<(), String>;
}

/// Where MIDI ports come from.
pub trait MidiBackend: Send {
    /// Names of the input ports present now.
    fn input_ports(&mut self) -> Result<Vec<String>, String>;
    /// Names of the output ports present now.
    fn output_ports(&mut self) -> Result<Vec<String>, String>;
    /// Connects an input port; its messages go to `state.on_message`.
    fn connect_input(
        &mut self,
        port: &str,
        state: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String>;
    /// Opens an output port.
    fn connect_output(&mut self, port: &str) -> Result<Box<dyn OutputConnection>, String>;
}

/// The profile for a port: the forced one, or the built-in whose matching substring is longest.
pub fn profile_for<'a>(port: &str, profiles: &'a [Arc<Profile>]) -> Option<&'a Arc<Profile>> {
    let p = port.to_lowercase();
    profiles
        .iter()
        .filter_map(|prof| {
            let best = prof
                .ports
                .iter()
                .filter(|s| p.contains(&s.to_lowercase()))
                .map(|s| s.len())
                .max()?;
            Some((best, prof))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, prof)| prof)
}

struct Device {
    port: String,
    profile: Arc<Profile>,
    state: SharedInput,
    _input: Box<dyn InputConnection>,
    output: Option<Box<dyn OutputConnection>>,
    leds: LedSender,
    device: Arc<DeviceState>,
    seen_version: u64,
}

/// Keeps the connected controllers in step with the ports that exist.
pub struct MidiManager {
    backend: Box<dyn MidiBackend>,
    profiles: Vec<Arc<Profile>>,
    forced: Option<Arc<Profile>>,
    shared: Arc<SharedControl>,
    devices: Vec<Device>,
    latency: u64,
    unavailable: Option<String>,
    /// One line per thing that happened (connected, unplugged, ...), for the log and tests.
    pub log: Vec<String>,
}

impl MidiManager {
    /// A manager using `backend`; `forced` makes every input use one profile.
    pub fn new(
        backend: Box<dyn MidiBackend>,
        profiles: Vec<Arc<Profile>>,
        forced: Option<Arc<Profile>>,
        shared: Arc<SharedControl>,
        latency: u64,
    ) -> Self {
        Self {
            backend,
            profiles,
            forced,
            shared,
            devices: Vec::new(),
            latency,
            unavailable: None,
            log: Vec::new(),
        }
    }

    fn note(&mut self, msg: String) {
        log::info!("{msg}");
        self.log.push(msg);
    }

    /// Names of connected ports.
    pub fn connected(&self) -> Vec<String> {
        self.devices.iter().map(|d| d.port.clone()).collect()
    }

    /// Connects new matching ports and drops vanished ones (call about once a second).
    pub fn poll_ports(&mut self, handle: &mut EngineHandle) {
        let ports = match self.backend.input_ports() {
            Ok(p) => {
                self.unavailable = None;
                p
            }
            Err(e) => {
                if self.unavailable.is_none() {
                    let msg = format!("MIDI is unavailable ({e}); playing without controllers");
                    log::warn!("{msg}");
                    self.log.push(msg);
                    self.unavailable = Some(e);
                }
                return;
            }
        };
        // Unplugged devices: disconnect and take their command lane back.
        let mut kept = Vec::new();
        for d in std::mem::take(&mut self.devices) {
            if ports.contains(&d.port) {
                kept.push(d);
            } else {
                self.release(d, handle);
            }
        }
        self.devices = kept;
        for port in ports {
            if self.devices.iter().any(|d| d.port == port) {
                continue;
            }
            let profile = match &self.forced {
                Some(p) => p.clone(),
                None => match profile_for(&port, &self.profiles) {
                    Some(p) => p.clone(),
                    None => continue,
                },
            };
            self.connect(port, profile, handle);
        }
    }

    fn release(&mut self, d: Device, handle: &mut EngineHandle) {
        let Device {
            port,
            state,
            _input,
            ..
        } = d;
        drop(_input);
        give_back_lane(&state, handle);
        self.note(format!(
            "{port}: controller unplugged; everything else keeps playing"
        ));
    }

    fn connect(&mut self, port: String, profile: Arc<Profile>, handle: &mut EngineHandle) {
        let Some(lane) = handle.take_lane() else {
            if !self.log.iter().any(|l| l.contains("no free command lane")) {
                self.note(format!(
                    "{port}: not connected: no free command lane (too many controllers)"
                ));
            }
            return;
        };
        let device = Arc::new(DeviceState::default());
        let controller = Controller::new(profile.clone(), self.shared.clone(), device.clone());
        let state = Arc::new(Mutex::new(InputState {
            controller,
            lane: Some(lane),
            shared: self.shared.clone(),
            latency: self.latency,
            dropped: 0,
            offset: None,
        }));
        let input = match self.backend.connect_input(&port, state.clone()) {
            Ok(c) => c,
            Err(e) => {
                give_back_lane(&state, handle);
                self.note(format!("{port}: cannot connect ({e}); will retry"));
                return;
            }
        };
        // The output port with the same name, else one the profile matches.
        let outputs = self.backend.output_ports().unwrap_or_default();
        let out_name = outputs
            .iter()
            .find(|o| **o == port)
            .or_else(|| outputs.iter().find(|o| profile.matches_port(o)))
            .cloned();
        let mut output = out_name.and_then(|o| self.backend.connect_output(&o).ok());
        if let Some(out) = output.as_mut() {
            for m in &profile.init {
                let _ = out.send(m);
            }
        }
        let leds = if output.is_some() {
            "LEDs on"
        } else {
            "no LED output"
        };
        self.note(format!("{port}: connected as {} ({leds})", profile.name));
        self.devices.push(Device {
            port,
            profile,
            state,
            _input: input,
            output,
            leds: LedSender::new(),
            device,
            seen_version: u64::MAX,
        });
    }

    /// Sends LED changes (call every control tick, ~10 ms). A device whose output fails is
    /// dropped at the next port poll.
    pub fn tick(&mut self) {
        let version = self
            .shared
            .version
            .load(std::sync::atomic::Ordering::Acquire);
        for d in self.devices.iter_mut() {
            let Some(out) = d.output.as_mut() else {
                continue;
            };
            if d.seen_version == version {
                continue;
            }
            let want = desired(&d.profile, &self.shared, &d.device);
            let msgs = d.leds.update(&want);
            let complete = msgs.len() < super::leds::MAX_PER_TICK;
            for m in msgs {
                if out.send(&m).is_err() {
                    d.output = None;
                    break;
                }
            }
            if complete {
                d.seen_version = version;
            }
        }
    }

    /// Darkens every device's LEDs, sends its exit SysEx and disconnects everything.
    pub fn shutdown(&mut self, handle: &mut EngineHandle) {
        for mut d in std::mem::take(&mut self.devices) {
            if let Some(out) = d.output.as_mut() {
                let dark: Vec<_> = desired(&d.profile, &self.shared, &d.device)
                    .into_iter()
                    .map(|(k, mut m)| {
                        m[0] &= 0xF0;
                        m[2] = 0;
                        (k, m)
                    })
                    .collect();
                for m in d.leds.update(&dark) {
                    let _ = out.send(&m);
                }
                for m in &d.profile.exit {
                    let _ = out.send(m);
                }
            }
            give_back_lane(&d.state, handle);
        }
    }
}

/// The midir (ALSA sequencer) backend.
pub struct MidirBackend {
    lister_in: midir::MidiInput,
    lister_out: midir::MidiOutput,
}

impl MidirBackend {
    /// A backend; fails when there is no MIDI subsystem.
    pub fn new() -> Result<Self, String> {
        let lister_in = midir::MidiInput::new("padlooper").map_err(|e| {
            format!("{e}; is the ALSA sequencer loaded? try `sudo modprobe snd-seq`")
        })?;
        let lister_out = midir::MidiOutput::new("padlooper").map_err(|e| e.to_string())?;
        Ok(Self {
            lister_in,
            lister_out,
        })
    }
}

struct MidirInput(#[allow(dead_code)] midir::MidiInputConnection<SharedInput>);
impl InputConnection for MidirInput {}

struct MidirOutput(midir::MidiOutputConnection);
impl OutputConnection for MidirOutput {
    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.0.send(bytes).map_err(|e| e.to_string())
    }
}

impl MidiBackend for MidirBackend {
    fn input_ports(&mut self) -> Result<Vec<String>, String> {
        let m = &self.lister_in;
        Ok(m.ports()
            .iter()
            .filter_map(|p| m.port_name(p).ok())
            .filter(|n| !n.starts_with("padlooper"))
            .collect())
    }

    fn output_ports(&mut self) -> Result<Vec<String>, String> {
        let m = &self.lister_out;
        Ok(m.ports()
            .iter()
            .filter_map(|p| m.port_name(p).ok())
            .collect())
    }

    fn connect_input(
        &mut self,
        port: &str,
        state: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String> {
        let mut input = midir::MidiInput::new("padlooper").map_err(|e| e.to_string())?;
        input.ignore(midir::Ignore::None);
        let p = input
            .ports()
            .into_iter()
            .find(|p| input.port_name(p).is_ok_and(|n| n == port))
            .ok_or_else(|| "port vanished".to_string())?;
        let conn = input
            .connect(
                &p,
                "padlooper-in",
                |ts, bytes, state: &mut SharedInput| {
                    if let Ok(mut s) = state.lock() {
                        s.on_message(ts, bytes);
                    }
                },
                state,
            )
            .map_err(|e| e.to_string())?;
        Ok(Box::new(MidirInput(conn)))
    }

    fn connect_output(&mut self, port: &str) -> Result<Box<dyn OutputConnection>, String> {
        let out = midir::MidiOutput::new("padlooper").map_err(|e| e.to_string())?;
        let p = out
            .ports()
            .into_iter()
            .find(|p| out.port_name(p).is_ok_and(|n| n == port))
            .ok_or_else(|| "port vanished".to_string())?;
        let conn = out
            .connect(&p, "padlooper-out")
            .map_err(|e| e.to_string())?;
        Ok(Box::new(MidirOutput(conn)))
    }
}
