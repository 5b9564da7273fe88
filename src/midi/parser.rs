//! A raw MIDI byte-stream parser: running status, note-on with velocity 0 as note-off, real-time
//! bytes interleaved anywhere (even inside SysEx), SysEx collected in a fixed buffer, and
//! truncated or stray bytes dropped without disturbing what follows. Never panics. No
//! allocation.

/// Longest SysEx message kept (longer ones are reported as truncated).
pub const SYSEX_MAX: usize = 512;

/// A parsed MIDI message. Channels are 0-based (0 = MIDI channel 1).
// SysEx is kept inline so the parser never allocates; messages are handled one at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MidiMessage {
    /// Note on with velocity > 0.
    NoteOn {
        /// Channel 0..=15.
        channel: u8,
        /// Note number.
        note: u8,
        /// Velocity 1..=127.
        velocity: u8,
    },
    /// Note off (also note on with velocity 0).
    NoteOff {
        /// Channel.
        channel: u8,
        /// Note number.
        note: u8,
    },
    /// Control change.
    Control {
        /// Channel.
        channel: u8,
        /// Controller number.
        cc: u8,
        /// Value 0..=127.
        value: u8,
    },
    /// Polyphonic aftertouch.
    PolyPressure {
        /// Channel.
        channel: u8,
        /// Note.
        note: u8,
        /// Pressure.
        value: u8,
    },
    /// Program change.
    Program {
        /// Channel.
        channel: u8,
        /// Program.
        program: u8,
    },
    /// Channel aftertouch.
    ChannelPressure {
        /// Channel.
        channel: u8,
        /// Pressure.
        value: u8,
    },
    /// Pitch bend, 0..=16383 (8192 = centre).
    PitchBend {
        /// Channel.
        channel: u8,
        /// Value.
        value: u16,
    },
    /// A complete SysEx message including `F0` and `F7`.
    SysEx(heapless::Vec<u8, SYSEX_MAX>),
    /// A real-time byte (clock, start, stop, ...).
    Realtime(u8),
    /// Another system common message (status byte only is kept).
    System(u8),
}

/// Incremental parser state.
#[derive(Debug, Default)]
pub struct MidiParser {
    running: Option<u8>,
    data: [u8; 2],
    have: usize,
    sysex: Option<heapless::Vec<u8, SYSEX_MAX>>,
    sysex_overflow: bool,
    /// Messages dropped because they were cut off or malformed.
    pub dropped: u64,
}

/// Data bytes a channel or system-common status needs.
fn data_len(status: u8) -> usize {
    match status & 0xF0 {
        0xC0 | 0xD0 => 1,
        0x80..=0xE0 => 2,
        _ => match status {
            0xF1 | 0xF3 => 1,
            0xF2 => 2,
            _ => 0,
        },
    }
}

impl MidiParser {
    /// A parser with no state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; calls `out` for every complete message.
    pub fn feed(&mut self, bytes: &[u8], mut out: impl FnMut(MidiMessage)) {
        for &b in bytes {
            if let Some(m) = self.byte(b) {
                out(m);
            }
        }
    }

    /// Feeds one byte; returns a message when one completes.
    pub fn byte(&mut self, b: u8) -> Option<MidiMessage> {
        if b >= 0xF8 {
            // Real-time: may appear anywhere, changes nothing.
            return Some(MidiMessage::Realtime(b));
        }
        if b == 0xF0 {
            self.abort_partial();
            self.running = None;
            let mut v = heapless::Vec::new();
            let _ = v.push(0xF0);
            self.sysex = Some(v);
            self.sysex_overflow = false;
            return None;
        }
        if b == 0xF7 {
            return match self.sysex.take() {
                Some(mut v) if !self.sysex_overflow => {
                    if v.push(0xF7).is_err() {
                        self.dropped += 1;
                        return None;
                    }
                    Some(MidiMessage::SysEx(v))
                }
                Some(_) => {
                    self.dropped += 1;
                    None
                }
                None => None,
            };
        }
        if b & 0x80 != 0 {
            // Any other status byte ends an unfinished SysEx or message.
            if self.sysex.take().is_some() {
                self.dropped += 1;
            }
            self.abort_partial();
            if b >= 0xF0 {
                // System common: cancels running status.
                self.running = None;
                if data_len(b) == 0 {
                    return Some(MidiMessage::System(b));
                }
                self.running = Some(b);
                return None;
            }
            self.running = Some(b);
            return None;
        }
        // A data byte.
        if let Some(v) = self.sysex.as_mut() {
            if v.push(b).is_err() {
                self.sysex_overflow = true;
            }
            return None;
        }
        let status = self.running?;
        self.data[self.have] = b;
        self.have += 1;
        if self.have < data_len(status) {
            return None;
        }
        self.have = 0;
        if status >= 0xF0 {
            self.running = None;
            return Some(MidiMessage::System(status));
        }
        let channel = status & 0x0F;
        let [d0, d1] = self.data;
        Some(match status & 0xF0 {
            0x80 => MidiMessage::NoteOff { channel, note: d0 },
            0x90 if d1 == 0 => MidiMessage::NoteOff { channel, note: d0 },
            0x90 => MidiMessage::NoteOn {
                channel,
                note: d0,
                velocity: d1,
            },
            0xA0 => MidiMessage::PolyPressure {
                channel,
                note: d0,
                value: d1,
            },
            0xB0 => MidiMessage::Control {
                channel,
                cc: d0,
                value: d1,
            },
            0xC0 => MidiMessage::Program {
                channel,
                program: d0,
            },
            0xD0 => MidiMessage::ChannelPressure { channel, value: d0 },
            _ => MidiMessage::PitchBend {
                channel,
                value: (d1 as u16) << 7 | d0 as u16,
            },
        })
    }

    fn abort_partial(&mut self) {
        if self.have > 0 {
            self.have = 0;
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<MidiMessage> {
        let mut p = MidiParser::new();
        let mut v = Vec::new();
        p.feed(bytes, |m| v.push(m));
        v
    }

    #[test]
    fn running_status_and_zero_velocity() {
        let m = all(&[0x90, 60, 100, 62, 90, 60, 0]);
        assert_eq!(
            m,
            vec![
                MidiMessage::NoteOn {
                    channel: 0,
                    note: 60,
                    velocity: 100
                },
                MidiMessage::NoteOn {
                    channel: 0,
                    note: 62,
                    velocity: 90
                },
                MidiMessage::NoteOff {
                    channel: 0,
                    note: 60
                },
            ]
        );
    }

    #[test]
    fn realtime_inside_messages_and_sysex() {
        let m = all(&[0xB2, 0xF8, 7, 0xFE, 100, 0xF0, 1, 0xF8, 2, 0xF7]);
        assert_eq!(m[0], MidiMessage::Realtime(0xF8));
        assert_eq!(m[1], MidiMessage::Realtime(0xFE));
        assert_eq!(
            m[2],
            MidiMessage::Control {
                channel: 2,
                cc: 7,
                value: 100
            }
        );
        assert_eq!(m[3], MidiMessage::Realtime(0xF8));
        assert!(matches!(&m[4], MidiMessage::SysEx(v) if v.as_slice() == [0xF0, 1, 2, 0xF7]));
    }

    #[test]
    fn truncated_messages_are_dropped_and_the_next_one_parses() {
        let mut p = MidiParser::new();
        let mut v = Vec::new();
        p.feed(&[0x90, 60, 0xF0, 1, 2, 0x80, 61, 0, 0x23], |m| v.push(m));
        assert_eq!(
            v,
            vec![MidiMessage::NoteOff {
                channel: 0,
                note: 61
            }]
        );
        assert_eq!(p.dropped, 2);
    }
}
