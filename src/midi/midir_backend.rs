//! The midir (ALSA sequencer) backend, with a watcher on the sequencer's announce port so a
//! device unplugged and plugged back within the poll interval (same name, same client number)
//! is still seen as gone and reconnected. Not real-time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::ports::{InputConnection, MidiBackend, OutputConnection, PortInfo, SharedInput};

/// How often the ALSA sequencer announced each port (or client) gone, filled by a watcher
/// thread. A connection remembers the count at connect time: if it changed, the port it
/// subscribed to went away, even if a port with the same address exists again.
#[derive(Default)]
struct Announcements {
    /// Exits per `(client, port)`; port -1 counts exits of the whole client.
    exits: Mutex<HashMap<(i32, i32), u64>>,
    /// Bumped on every port or client start or exit.
    changes: AtomicU64,
}

impl Announcements {
    /// Exits so far of a port and its client.
    fn exits_of(&self, client: i32, port: i32) -> u64 {
        self.exits
            .lock()
            .map(|e| {
                e.get(&(client, port)).copied().unwrap_or(0)
                    + e.get(&(client, -1)).copied().unwrap_or(0)
            })
            .unwrap_or(0)
    }

    fn exited(&self, client: i32, port: i32) {
        if let Ok(mut e) = self.exits.lock() {
            *e.entry((client, port)).or_insert(0) += 1;
        }
    }
}

/// Listens to `System:Announce` on its own sequencer client. Returns None where the sequencer
/// cannot be opened (then only periodic polling detects changes).
fn watch_announcements() -> Option<Arc<Announcements>> {
    use alsa::seq::{Addr, EventType, PortCap, PortSubscribe, PortType, Seq};
    let seq = Seq::open(None, Some(alsa::Direction::Capture), false).ok()?;
    seq.set_client_name(c"padlooper-watch").ok()?;
    let port = seq
        .create_simple_port(
            c"announce",
            PortCap::WRITE | PortCap::SUBS_WRITE,
            PortType::APPLICATION,
        )
        .ok()?;
    let sub = PortSubscribe::empty().ok()?;
    sub.set_sender(Addr::system_announce());
    sub.set_dest(Addr {
        client: seq.client_id().ok()?,
        port,
    });
    seq.subscribe_port(&sub).ok()?;
    let ann = Arc::new(Announcements::default());
    let shared = ann.clone();
    let spawned = std::thread::Builder::new()
        .name("padlooper-midi-watch".into())
        .spawn(move || {
            let mut input = seq.input();
            loop {
                let Ok(ev) = input.event_input() else {
                    continue;
                };
                let Some(addr) = ev.get_data::<Addr>() else {
                    continue;
                };
                match ev.get_type() {
                    EventType::PortExit => shared.exited(addr.client, addr.port),
                    EventType::ClientExit => shared.exited(addr.client, -1),
                    EventType::PortStart | EventType::ClientStart => {}
                    _ => continue,
                }
                shared.changes.fetch_add(1, Ordering::Release);
            }
        });
    spawned.ok().map(|_| ann)
}

/// The midir (ALSA sequencer) backend.
pub struct MidirBackend {
    lister_in: midir::MidiInput,
    lister_out: midir::MidiOutput,
    announcements: Option<Arc<Announcements>>,
    seen_changes: u64,
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
            announcements: watch_announcements(),
            seen_changes: 0,
        })
    }

    /// The port's address and its exit count now, read before connecting so an exit during
    /// the connection is noticed.
    fn watched(&self, port: &PortInfo) -> Option<(i32, i32, u64)> {
        match (&self.announcements, parse_addr(&port.id)) {
            (Some(a), Some((c, pt))) => Some((c, pt, a.exits_of(c, pt))),
            _ => None,
        }
    }

    /// Wraps an input connection with what tells whether its port went away since.
    fn wrap<T: Send + 'static>(
        &self,
        conn: midir::MidiInputConnection<T>,
        watched: Option<(i32, i32, u64)>,
    ) -> Box<dyn InputConnection> {
        Box::new(MidirInput {
            _conn: conn,
            watched,
            announcements: self.announcements.clone(),
        })
    }
}

/// A new midir input (every message kind passed through) and `port` on it.
fn open_input(port: &PortInfo) -> Result<(midir::MidiInput, midir::MidiInputPort), String> {
    let mut input = midir::MidiInput::new("padlooper").map_err(|e| e.to_string())?;
    input.ignore(midir::Ignore::None);
    let p = input
        .find_port_by_id(&port.id)
        .ok_or_else(|| "port vanished".to_string())?;
    Ok((input, p))
}

/// `client:port` of a midir port id, for matching announcements.
fn parse_addr(id: &str) -> Option<(i32, i32)> {
    let (c, p) = id.split_once(':')?;
    Some((c.trim().parse().ok()?, p.trim().parse().ok()?))
}

/// An open input connection (controller or raw clock input), alive while its port has not
/// gone away since we connected.
struct MidirInput<T: 'static> {
    _conn: midir::MidiInputConnection<T>,
    /// The port's address and its exit count when we connected.
    watched: Option<(i32, i32, u64)>,
    announcements: Option<Arc<Announcements>>,
}

impl<T: Send + 'static> InputConnection for MidirInput<T> {
    fn alive(&self) -> bool {
        match (&self.announcements, self.watched) {
            (Some(a), Some((c, p, exits))) => a.exits_of(c, p) == exits,
            _ => true,
        }
    }
}

struct MidirOutput(midir::MidiOutputConnection);
impl OutputConnection for MidirOutput {
    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.0.send(bytes).map_err(|e| e.to_string())
    }
}

impl MidiBackend for MidirBackend {
    fn input_ports(&mut self) -> Result<Vec<PortInfo>, String> {
        let m = &self.lister_in;
        Ok(m.ports()
            .iter()
            .filter_map(|p| {
                Some(PortInfo {
                    name: m.port_name(p).ok()?,
                    id: p.id(),
                })
            })
            .filter(|p| !p.name.starts_with("padlooper"))
            .collect())
    }

    fn output_ports(&mut self) -> Result<Vec<PortInfo>, String> {
        let m = &self.lister_out;
        Ok(m.ports()
            .iter()
            .filter_map(|p| {
                Some(PortInfo {
                    name: m.port_name(p).ok()?,
                    id: p.id(),
                })
            })
            .collect())
    }

    fn connect_input(
        &mut self,
        port: &PortInfo,
        state: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String> {
        let (input, p) = open_input(port)?;
        let watched = self.watched(port);
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
        Ok(self.wrap(conn, watched))
    }

    fn connect_raw(
        &mut self,
        port: &PortInfo,
        handler: super::ports::RawHandler,
    ) -> Result<Box<dyn InputConnection>, String> {
        let (input, p) = open_input(port)?;
        let watched = self.watched(port);
        let conn = input
            .connect(
                &p,
                "padlooper-clock-in",
                |ts, bytes, h: &mut super::ports::RawHandler| h(ts, bytes),
                handler,
            )
            .map_err(|e| e.to_string())?;
        Ok(self.wrap(conn, watched))
    }

    fn connect_output(&mut self, port: &PortInfo) -> Result<Box<dyn OutputConnection>, String> {
        let out = midir::MidiOutput::new("padlooper").map_err(|e| e.to_string())?;
        let p = out
            .find_port_by_id(&port.id)
            .ok_or_else(|| "port vanished".to_string())?;
        let conn = out
            .connect(&p, "padlooper-out")
            .map_err(|e| e.to_string())?;
        Ok(Box::new(MidirOutput(conn)))
    }

    fn ports_changed(&mut self) -> bool {
        let Some(a) = &self.announcements else {
            return false;
        };
        let now = a.changes.load(Ordering::Acquire);
        let changed = now != self.seen_changes;
        self.seen_changes = now;
        changed
    }
}
