//! Live controllers: the port interface (midir in `midir_backend`, a fake in tests), and the
//! manager that matches ports to profiles, connects them, sends init SysEx and LEDs, and
//! handles hot-plug. Not real-time: the manager runs on the control thread, inputs on their
//! MIDI threads.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::controller::{Controller, DeviceState};
use super::leds::{LedSender, desired};
use super::state::SharedControl;
use crate::config::profile::Profile;
use crate::config::profile_leds::MODE_QUERY_SECONDS;
use crate::engine::shared::mono_nanos;
use crate::engine::{CommandLane, EngineHandle};

/// A MIDI port as the system lists it: a display name and an id that changes when the device
/// is re-created (for ALSA, `client:port`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortInfo {
    /// Display name (what profiles match against).
    pub name: String,
    /// System id; a device that comes back under another id is a new device.
    pub id: String,
}

impl PortInfo {
    /// A port whose id is its name (for backends without separate ids).
    pub fn named(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            id: name.clone(),
            name,
        }
    }
}

/// What an input connection needs on its MIDI thread: the mapper and a command lane.
pub struct InputState {
    controller: Controller,
    lane: Option<CommandLane>,
    shared: Arc<SharedControl>,
    /// Maps midir's timestamps onto our clock.
    arrival: ArrivalClock,
}

/// Maps a MIDI backend's message timestamps onto [`mono_nanos`]' clock. Never blocks.
#[derive(Debug, Default)]
pub struct ArrivalClock {
    /// Our clock minus the backend's, in ns: the smallest delivery delay seen so far.
    offset: Option<i128>,
}

impl ArrivalClock {
    /// When a message the backend stamped `ts_us` (µs on its clock) and we received at `now`
    /// (ns on [`mono_nanos`]' clock) happened on our clock. The fastest delivery observed is
    /// the best estimate of the clock offset; it may drift back up slowly (1 µs per message)
    /// so clock drift does not accumulate.
    pub fn happened(&mut self, now: u64, ts_us: u64) -> u64 {
        let now = now as i128;
        let ts = ts_us as i128 * 1000;
        let offset = match self.offset {
            Some(o) => (o + 1000).min(now - ts),
            None => now - ts,
        };
        self.offset = Some(offset);
        (ts + offset).clamp(0, now) as u64
    }
}

impl InputState {
    /// Handles raw bytes stamped by midir with `ts_us` (microseconds on midir's clock). The
    /// time the message really arrived is mapped to the engine frame it happened at, plus one
    /// audio block, so commands land inside the next block at their true relative position,
    /// even when this thread was woken late. While audio is down the engine clock is stale and
    /// commands are stamped at the last frame reached: they play as soon as audio returns.
    pub fn on_message(&mut self, ts_us: u64, bytes: &[u8]) {
        self.on_message_at(mono_nanos(), ts_us, bytes)
    }

    /// [`on_message`](Self::on_message) with the current time given (`now` on
    /// [`mono_nanos`]' clock), so tests need no wall clock.
    pub fn on_message_at(&mut self, now: u64, ts_us: u64, bytes: &[u8]) {
        let happened = self.arrival.happened(now, ts_us);
        let latency = self
            .shared
            .engine
            .clock
            .read()
            .map_or(256, |r| r.block.max(1));
        let at = self.shared.frame_at(happened) + latency;
        let lane = &mut self.lane;
        self.controller.feed(bytes, at, &mut |t| {
            if let Some(l) = lane.as_mut() {
                l.send(t);
            }
        });
    }

    /// Releases everything the device holds (at once), before it goes away.
    fn release_all(&mut self) {
        let at = self.shared.frame_now();
        let lane = &mut self.lane;
        self.controller.release_all(at, &mut |t| {
            if let Some(l) = lane.as_mut() {
                l.send(t);
            }
        });
    }
}

/// Shared handle to an input's state (locked only by its MIDI thread while connected).
pub type SharedInput = Arc<Mutex<InputState>>;

/// Releases what the device held, takes its command lane and returns it to the engine handle.
fn give_back_lane(state: &SharedInput, handle: &mut EngineHandle) {
    if let Ok(mut s) = state.lock() {
        s.release_all();
        if let Some(lane) = s.lane.take() {
            handle.return_lane(lane);
        }
    }
}

/// Where a raw input's messages go.
pub type RawHandler = Box<dyn FnMut(u64, &[u8]) + Send>;

/// An open input; dropping it disconnects.
pub trait InputConnection: Send {
    /// Whether the connection still receives from the device (false once the system reported
    /// the port gone, even if a port of the same name exists again).
    fn alive(&self) -> bool {
        true
    }
}

/// An open output.
pub trait OutputConnection: Send {
    /// Sends one message.
    fn send(&mut self, bytes: &[u8]) -> Result<(), String>;
}

/// Where MIDI ports come from.
pub trait MidiBackend: Send {
    /// Input ports present now.
    fn input_ports(&mut self) -> Result<Vec<PortInfo>, String>;
    /// Output ports present now.
    fn output_ports(&mut self) -> Result<Vec<PortInfo>, String>;
    /// Connects an input port; its messages go to `state.on_message`.
    fn connect_input(
        &mut self,
        port: &PortInfo,
        state: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String>;
    /// Connects an input port whose raw messages go to `handler` (timestamp in µs on the
    /// backend's clock, bytes), e.g. a MIDI clock input.
    fn connect_raw(
        &mut self,
        port: &PortInfo,
        handler: RawHandler,
    ) -> Result<Box<dyn InputConnection>, String>;
    /// Opens an output port.
    fn connect_output(&mut self, port: &PortInfo) -> Result<Box<dyn OutputConnection>, String>;
    /// Whether ports appeared or disappeared since the last call (a hint to poll now instead of
    /// waiting for the next periodic poll).
    fn ports_changed(&mut self) -> bool {
        false
    }
}

/// The MIDI inputs present now, each with the built-in profile it would use (None: no profile
/// matches), or why MIDI is unavailable. Opens a MIDI client for the call; not real-time.
pub fn describe_inputs() -> Result<Vec<(String, Option<String>)>, String> {
    let mut b = super::midir_backend::MidirBackend::new().map_err(|e| e.to_string())?;
    let profiles: Vec<Arc<Profile>> = Profile::builtins().into_iter().map(Arc::new).collect();
    Ok(b.input_ports()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let prof = profile_for(&p.name, &profiles).map(|x| x.name.clone());
            (p.name, prof)
        })
        .collect())
}

/// Bytes as hex (`F0 00 20 ...`), for log lines.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The profile for a port: the built-in whose matching substring is longest.
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
    port: PortInfo,
    profile: Arc<Profile>,
    state: SharedInput,
    input: Box<dyn InputConnection>,
    output: Option<Box<dyn OutputConnection>>,
    /// Whether a failed or missing LED output has been reported (once per device).
    output_reported: bool,
    leds: LedSender,
    device: Arc<DeviceState>,
    seen_version: u64,
    /// Keeping the device in its mode: when to ask next, and recent re-inits.
    mode: ModeKeeper,
}

/// Keeps a device in the mode its `init` puts it in: asks for its mode every
/// [`MODE_QUERY_SECONDS`] when the profile has a `mode_query`, and gives up (with one warning)
/// when the device keeps reporting another mode right after being put back.
#[derive(Debug, Default)]
struct ModeKeeper {
    next_query: Option<Instant>,
    reinits: Vec<Instant>,
    gave_up: bool,
}

/// Re-inits within this window that make padlooper stop fighting the device.
const REINIT_LIMIT: usize = 4;
const REINIT_WINDOW: Duration = Duration::from_secs(20);

/// Keeps the connected controllers in step with the ports that exist.
pub struct MidiManager {
    backend: Box<dyn MidiBackend>,
    profiles: Vec<Arc<Profile>>,
    forced: Option<Arc<Profile>>,
    shared: Arc<SharedControl>,
    devices: Vec<Device>,
    unavailable: Option<String>,
    clock_in: Option<super::clock_in::ClockInput>,
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
    ) -> Self {
        Self {
            backend,
            profiles,
            forced,
            shared,
            devices: Vec::new(),
            unavailable: None,
            clock_in: None,
            log: Vec::new(),
        }
    }

    /// Follows the MIDI clock of the input port whose name contains `name` (`[master]
    /// clock_in`); that port is then not used as a controller.
    pub fn follow_clock(&mut self, name: &str, handle: &mut EngineHandle) {
        match handle.take_lane() {
            Some(lane) => {
                self.clock_in = Some(super::clock_in::ClockInput::new(
                    name,
                    self.shared.clone(),
                    lane,
                ))
            }
            None => self.note(format!(
                "{name}: cannot follow its MIDI clock: no free command lane"
            )),
        }
    }

    fn note(&mut self, msg: String) {
        log::info!("{msg}");
        self.log.push(msg);
    }

    /// The followed clock input, if `[master] clock_in` names one.
    pub fn clock_input(&self) -> Option<&super::clock_in::ClockInput> {
        self.clock_in.as_ref()
    }

    /// Names of connected ports.
    pub fn connected(&self) -> Vec<String> {
        self.devices.iter().map(|d| d.port.name.clone()).collect()
    }

    /// Connects new matching ports, drops vanished or dead ones, and retries failed LED outputs
    /// (call about once a second, and whenever the backend reports a change).
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
        // Unplugged devices (port gone, id changed, or the connection reported dead):
        // disconnect, release what they held and take their command lane back.
        let mut kept = Vec::new();
        for d in std::mem::take(&mut self.devices) {
            if ports.contains(&d.port) && d.input.alive() {
                kept.push(d);
            } else {
                self.release(d, handle);
            }
        }
        self.devices = kept;
        if let Some(c) = self.clock_in.as_mut() {
            for m in c.poll(&mut *self.backend, &ports) {
                log::info!("{m}");
                self.log.push(m);
            }
        }
        for port in ports {
            if self.devices.iter().any(|d| d.port == port)
                || self.clock_in.as_ref().is_some_and(|c| c.wants(&port))
            {
                continue;
            }
            let profile = match &self.forced {
                Some(p) => p.clone(),
                None => match profile_for(&port.name, &self.profiles) {
                    Some(p) => p.clone(),
                    None => continue,
                },
            };
            self.connect(port, profile, handle);
        }
        self.retry_outputs();
    }

    fn release(&mut self, d: Device, handle: &mut EngineHandle) {
        let Device {
            port, state, input, ..
        } = d;
        drop(input);
        give_back_lane(&state, handle);
        self.note(format!(
            "{}: controller unplugged; everything else keeps playing",
            port.name
        ));
    }

    /// The output port for an input: the one with the same name, else one the profile matches.
    fn find_output(&mut self, port: &PortInfo, profile: &Profile) -> Option<PortInfo> {
        let outputs = self.backend.output_ports().unwrap_or_default();
        outputs
            .iter()
            .find(|o| o.name == port.name)
            .or_else(|| outputs.iter().find(|o| profile.matches_port(&o.name)))
            .cloned()
    }

    fn open_output(
        &mut self,
        port: &PortInfo,
        profile: &Profile,
    ) -> Option<Box<dyn OutputConnection>> {
        let out_port = self.find_output(port, profile)?;
        let mut out = self.backend.connect_output(&out_port).ok()?;
        for m in &profile.init {
            if out.send(m).is_err() {
                return None;
            }
        }
        Some(out)
    }

    fn connect(&mut self, port: PortInfo, profile: Arc<Profile>, handle: &mut EngineHandle) {
        let Some(lane) = handle.take_lane() else {
            if !self.log.iter().any(|l| l.contains("no free command lane")) {
                self.note(format!(
                    "{}: not connected: no free command lane (too many controllers)",
                    port.name
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
            arrival: ArrivalClock::default(),
        }));
        let input = match self.backend.connect_input(&port, state.clone()) {
            Ok(c) => c,
            Err(e) => {
                give_back_lane(&state, handle);
                self.note(format!("{}: cannot connect ({e}); will retry", port.name));
                return;
            }
        };
        let output = self.open_output(&port, &profile);
        let leds = if output.is_some() {
            "LEDs on"
        } else {
            "no LED output yet; retrying every second"
        };
        self.note(format!(
            "{}: connected as {} ({leds})",
            port.name, profile.name
        ));
        self.devices.push(Device {
            port,
            profile,
            state,
            input,
            output_reported: output.is_none(),
            output,
            leds: LedSender::new(),
            device,
            seen_version: u64::MAX,
            mode: ModeKeeper::default(),
        });
    }

    /// Puts devices that reported leaving their mode back into it (init again, every LED
    /// redrawn, one log line), and asks devices that report only when asked.
    fn keep_modes(&mut self) {
        let now = Instant::now();
        let mut notes = Vec::new();
        for d in self.devices.iter_mut() {
            let Some(watch) = &d.profile.device.mode else {
                continue;
            };
            if d.mode.gave_up {
                continue;
            }
            if let Some(report) = d.device.take_left_mode() {
                d.mode
                    .reinits
                    .retain(|t| now.duration_since(*t) < REINIT_WINDOW);
                d.mode.reinits.push(now);
                if d.mode.reinits.len() > REINIT_LIMIT {
                    d.mode.gave_up = true;
                    notes.push(format!(
                        "{}: the device keeps reporting another mode ({}) right after padlooper puts it back; no longer correcting it (check the profile's [device] mode_report/mode_expect)",
                        d.port.name,
                        hex(&report)
                    ));
                    continue;
                }
                if let Some(out) = d.output.as_mut() {
                    for m in &d.profile.init {
                        let _ = out.send(m);
                    }
                }
                d.leds.refresh();
                d.seen_version = u64::MAX;
                notes.push(format!(
                    "{}: the device left padlooper's mode (it reported {}); put it back and redrew its LEDs",
                    d.port.name,
                    hex(&report)
                ));
            }
            if let (Some(q), Some(out)) = (&watch.query, d.output.as_mut()) {
                let due = d.mode.next_query.is_none_or(|t| now >= t);
                if due {
                    let _ = out.send(q);
                    d.mode.next_query = Some(now + Duration::from_secs_f64(MODE_QUERY_SECONDS));
                }
            }
        }
        for n in notes {
            log::warn!("{n}");
            self.log.push(n);
        }
    }

    /// Reopens LED outputs that failed (or were missing) on devices still connected.
    fn retry_outputs(&mut self) {
        for i in 0..self.devices.len() {
            if self.devices[i].output.is_some() || self.devices[i].profile.leds.is_none() {
                continue;
            }
            let (port, profile) = (
                self.devices[i].port.clone(),
                self.devices[i].profile.clone(),
            );
            if let Some(out) = self.open_output(&port, &profile) {
                let d = &mut self.devices[i];
                d.output = Some(out);
                d.output_reported = false;
                d.leds.refresh();
                d.seen_version = u64::MAX;
                self.note(format!("{}: LED output reconnected", port.name));
            }
        }
    }

    /// Sends LED changes (call every control tick, ~10 ms). A failed LED output is reported
    /// once and retried at the next port poll. Polls at once when the backend saw ports change.
    pub fn tick(&mut self, handle: &mut EngineHandle) {
        if self.backend.ports_changed() {
            self.poll_ports(handle);
        }
        if let Some(m) = self.clock_in.as_mut().and_then(|c| c.check()) {
            log::warn!("{m}");
            self.log.push(m);
        }
        self.keep_modes();
        let version = self.shared.led_version();
        let mut failed = Vec::new();
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
            let mut ok = true;
            for m in msgs {
                if out.send(&m).is_err() {
                    ok = false;
                    break;
                }
            }
            if !ok {
                d.output = None;
                if !d.output_reported {
                    d.output_reported = true;
                    failed.push(d.port.name.clone());
                }
                continue;
            }
            if complete {
                d.seen_version = version;
            }
        }
        for name in failed {
            self.note(format!(
                "{name}: LED output failed; pads still work, LEDs are retried every second"
            ));
        }
    }

    /// Darkens every device's LEDs, sends its exit SysEx and disconnects everything.
    pub fn shutdown(&mut self, handle: &mut EngineHandle) {
        for mut d in std::mem::take(&mut self.devices) {
            if let Some(out) = d.output.as_mut() {
                let dark = super::leds::dark(&desired(&d.profile, &self.shared, &d.device));
                loop {
                    let msgs = d.leds.update(&dark);
                    if msgs.is_empty() {
                        break;
                    }
                    for m in msgs {
                        let _ = out.send(&m);
                    }
                }
                for m in &d.profile.exit {
                    let _ = out.send(m);
                }
            }
            give_back_lane(&d.state, handle);
        }
    }
}
