//! The master transport: tempo, meter, running state and a sample-exact musical position.
//!
//! The position is never accumulated sample by sample. It is anchored: at engine frame
//! `anchor_frame` the transport was at beat `anchor_beat`, and since then the tempo has been
//! constant, so the beat at any frame (and the frame of any beat) is one multiplication away.
//! A tempo change re-anchors at the frame where it happens. Eight hours at a constant tempo
//! therefore land every bar on the same frame an exact rational computation gives.

/// Lowest tempo.
pub const MIN_BPM: f64 = 20.0;
/// Highest tempo.
pub const MAX_BPM: f64 = 300.0;

/// Guard against rounding when a boundary falls exactly on a frame: a beat whose exact time is
/// within this many frames after a frame boundary counts as on it. (With a tempo given to a
/// few decimals, a beat that is not on a frame is at least ~1/10000 frame away from one.)
const EPS_FRAMES: f64 = 1e-6;

/// The transport's state. Real-time safe throughout (plain arithmetic).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transport {
    rate: f64,
    bpm: f64,
    beats_per_bar: u32,
    running: bool,
    anchor_frame: u64,
    anchor_beat: f64,
}

impl Transport {
    /// A stopped transport at 120 BPM in 4/4.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: rate as f64,
            bpm: 120.0,
            beats_per_bar: 4,
            running: false,
            anchor_frame: 0,
            anchor_beat: 0.0,
        }
    }

    /// Tempo in BPM.
    pub fn bpm(&self) -> f64 {
        self.bpm
    }

    /// Beats per bar.
    pub fn beats_per_bar(&self) -> u32 {
        self.beats_per_bar
    }

    /// Whether the transport runs.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Frames per beat at the current tempo.
    pub fn frames_per_beat(&self) -> f64 {
        60.0 * self.rate / self.bpm
    }

    /// The musical position (in beats) at engine frame `frame` (while stopped: where it
    /// stopped).
    pub fn beat_at(&self, frame: u64) -> f64 {
        if !self.running {
            return self.anchor_beat;
        }
        let df = frame as f64 - self.anchor_frame as f64;
        self.anchor_beat + df * self.bpm / (60.0 * self.rate)
    }

    /// The first engine frame at or after the moment the transport reaches `beat` (at the
    /// current tempo). Only meaningful while running.
    pub fn frame_of_beat(&self, beat: f64) -> u64 {
        let df = (beat - self.anchor_beat) * 60.0 * self.rate / self.bpm;
        let f = self.anchor_frame as f64 + df;
        (f - EPS_FRAMES).ceil().max(0.0) as u64
    }

    /// The first frame at or after `frame` that lies on a multiple of `unit` beats, with that
    /// grid line's beat.
    pub fn next_boundary(&self, frame: u64, unit: f64) -> (u64, f64) {
        let beat = self.beat_at(frame);
        let mut k = (beat / unit).floor();
        let mut f = self.frame_of_beat(k * unit);
        while f < frame {
            k += 1.0;
            f = self.frame_of_beat(k * unit);
        }
        (f, k * unit)
    }

    /// The last grid line of `unit` beats at or before `frame`, with its beat.
    pub fn prev_boundary(&self, frame: u64, unit: f64) -> (u64, f64) {
        let (f, b) = self.next_boundary(frame, unit);
        if f == frame {
            return (f, b);
        }
        let b = b - unit;
        (self.frame_of_beat(b), b)
    }

    /// Starts the transport at `frame` from `beat` (0 = the top of bar 1).
    pub fn start(&mut self, frame: u64, beat: f64) {
        self.running = true;
        self.anchor_frame = frame;
        self.anchor_beat = beat;
    }

    /// Stops the transport at `frame`, keeping its position.
    pub fn stop(&mut self, frame: u64) {
        if self.running {
            self.anchor_beat = self.beat_at(frame);
            self.anchor_frame = frame;
            self.running = false;
        }
    }

    /// Changes the tempo at `frame`, keeping the musical position (and so the bar phase).
    pub fn set_bpm(&mut self, frame: u64, bpm: f64) {
        let bpm = if bpm.is_finite() {
            bpm.clamp(MIN_BPM, MAX_BPM)
        } else {
            self.bpm
        };
        if bpm == self.bpm {
            return;
        }
        if self.running {
            self.anchor_beat = self.beat_at(frame);
            self.anchor_frame = frame;
        }
        self.bpm = bpm;
    }

    /// Sets the meter (beats per bar, 1..=32).
    pub fn set_beats_per_bar(&mut self, n: u32) {
        self.beats_per_bar = n.clamp(1, 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_on_the_grid() {
        let mut t = Transport::new(48_000);
        t.start(1000, 0.0);
        // 120 BPM: 24000 frames per beat.
        assert_eq!(t.next_boundary(1000, 4.0), (1000, 0.0));
        assert_eq!(t.next_boundary(1001, 4.0), (1000 + 96_000, 4.0));
        assert_eq!(t.next_boundary(1001, 1.0), (25_000, 1.0));
        assert_eq!(t.prev_boundary(30_000, 1.0), (25_000, 1.0));
        // A tempo change keeps the beat where it is.
        let b = t.beat_at(49_000);
        t.set_bpm(49_000, 60.0);
        assert!((t.beat_at(49_000) - b).abs() < 1e-12);
        assert_eq!(t.next_boundary(49_001, 1.0), (49_000 + 48_000, 3.0));
    }
}
