//! Built-in sounds synthesised in code (the demo set's, and test tones): the demo set needs no
//! audio files. Not real-time.
//!
//! All loops are 2 bars of 4/4 at [`BPM`] in A minor (Am–F–C–G), so they play in time together.

/// Tempo of every built-in loop.
pub const BPM: f64 = 120.0;
/// Length of every built-in loop in beats.
pub const LOOP_BEATS: f64 = 8.0;

/// The longest built-in sound, in seconds (the loops and the sweep), for planning memory
/// without rendering them.
pub const MAX_SECONDS: f64 = 4.0;

/// Names of the built-in sounds.
pub const NAMES: &[&str] = &[
    "drums", "bass", "chords", "arp", "hats", "stab", "clap", "crash", "sweep", "sine440",
];

/// Renders built-in sound `name` as interleaved stereo at `rate` Hz, or `None` if unknown.
pub fn render(name: &str, rate: u32) -> Option<Vec<f32>> {
    let mut s = Synth::new(
        rate,
        if ONE_SHOTS.contains(&name) {
            0.0
        } else {
            LOOP_BEATS
        },
    );
    match name {
        "drums" => drums(&mut s, true),
        "hats" => drums(&mut s, false),
        "bass" => bass(&mut s),
        "chords" => chords(&mut s),
        "arp" => arp(&mut s),
        "stab" => {
            s.resize(0.8);
            for (i, n) in [57, 60, 64, 69].into_iter().enumerate() {
                s.note(
                    0.0,
                    0.7,
                    n,
                    0.16,
                    Wave::Saw,
                    0.002,
                    0.25,
                    (i as f32 - 1.5) * 0.3,
                );
            }
        }
        "clap" => {
            s.resize(0.5);
            for k in 0..3 {
                s.noise(k as f64 * 0.012, 0.25, 0.5, 0.06, 0.9, 0.0);
            }
        }
        "crash" => {
            s.resize(2.5);
            s.noise(0.0, 2.4, 0.35, 0.7, 0.95, 0.0);
        }
        "sweep" => {
            s.resize(4.0);
            sweep(&mut s);
        }
        "sine440" => {
            s.resize(1.0);
            let n = s.buf.len() / 2;
            for i in 0..n {
                let v = 0.5
                    * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin() as f32;
                s.buf[2 * i] = v;
                s.buf[2 * i + 1] = v;
            }
        }
        _ => return None,
    }
    let target = PEAKS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0.5, |(_, p)| *p);
    let peak = s.buf.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if peak > 0.0 {
        let g = target / peak;
        s.buf.iter_mut().for_each(|x| *x *= g);
    }
    Some(s.buf)
}

/// Peak level of each sound after synthesis (a balanced mix when all play at unity gain).
const PEAKS: &[(&str, f32)] = &[
    ("drums", 0.5),
    ("hats", 0.25),
    ("bass", 0.35),
    ("chords", 0.25),
    ("arp", 0.2),
    ("stab", 0.35),
    ("clap", 0.35),
    ("crash", 0.3),
    ("sweep", 0.3),
    ("sine440", 0.5),
];

const ONE_SHOTS: &[&str] = &["stab", "clap", "crash", "sweep", "sine440"];

#[derive(Clone, Copy)]
enum Wave {
    Sine,
    Saw,
    Square,
}

struct Synth {
    rate: f64,
    buf: Vec<f32>,
    seed: u32,
}

fn hz(midi: i32) -> f64 {
    440.0 * 2f64.powf((midi - 69) as f64 / 12.0)
}

fn beat(b: f64) -> f64 {
    b * 60.0 / BPM
}

impl Synth {
    fn new(rate: u32, beats: f64) -> Self {
        let mut s = Self {
            rate: rate as f64,
            buf: Vec::new(),
            seed: 0x1234_5678,
        };
        s.resize(beat(beats));
        s
    }

    fn resize(&mut self, seconds: f64) {
        let frames = (seconds * self.rate).round() as usize;
        self.buf = vec![0.0; frames * 2];
    }

    fn frames(&self) -> usize {
        self.buf.len() / 2
    }

    fn rand(&mut self) -> f32 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 17;
        self.seed ^= self.seed << 5;
        (self.seed as f32 / u32::MAX as f32) * 2.0 - 1.0
    }

    fn add(&mut self, i: usize, v: f32, pan: f32) {
        // Loops wrap their tails to the start so the loop point is seamless.
        let n = self.frames();
        let i = i % n;
        let (l, r) = (((1.0 - pan) * 0.5).sqrt(), ((1.0 + pan) * 0.5).sqrt());
        self.buf[2 * i] += v * l * std::f32::consts::SQRT_2;
        self.buf[2 * i + 1] += v * r * std::f32::consts::SQRT_2;
    }

    /// A note with attack/exponential decay through a gentle one-pole low-pass.
    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        at: f64,
        len: f64,
        midi: i32,
        amp: f32,
        wave: Wave,
        attack: f64,
        decay: f64,
        pan: f32,
    ) {
        let (f, start, n) = (
            hz(midi),
            (at * self.rate) as usize,
            (len * self.rate) as usize,
        );
        let mut phase = 0.0f64;
        let mut lp = 0.0f32;
        let release = (0.01 * self.rate) as usize;
        for k in 0..n {
            let t = k as f64 / self.rate;
            let env = (t / attack).min(1.0) * (-t / decay).exp();
            let tail = if k + release > n {
                (n - k) as f64 / release as f64
            } else {
                1.0
            };
            phase = (phase + f / self.rate).fract();
            let raw = match wave {
                Wave::Sine => (2.0 * std::f64::consts::PI * phase).sin(),
                Wave::Saw => 2.0 * phase - 1.0,
                Wave::Square => {
                    if phase < 0.5 {
                        1.0
                    } else {
                        -1.0
                    }
                }
            } as f32;
            lp += 0.25 * (raw - lp);
            self.add(start + k, lp * amp * (env * tail) as f32, pan);
        }
    }

    /// A noise burst; `bright` 0..1 selects how much of the high-passed part is kept.
    fn noise(&mut self, at: f64, len: f64, amp: f32, decay: f64, bright: f32, pan: f32) {
        let (start, n) = ((at * self.rate) as usize, (len * self.rate) as usize);
        let mut prev = 0.0;
        for k in 0..n {
            let t = k as f64 / self.rate;
            let x = self.rand();
            let hp = x - prev;
            prev = x;
            let v = (x * (1.0 - bright) + hp * bright * 0.7) * amp * (-t / decay).exp() as f32;
            let fade = if k + 64 > n {
                (n - k) as f32 / 64.0
            } else {
                1.0
            };
            self.add(start + k, v * fade, pan);
        }
    }

    fn kick(&mut self, at: f64) {
        let start = (at * self.rate) as usize;
        let n = (0.35 * self.rate) as usize;
        let mut phase = 0.0f64;
        for k in 0..n {
            let t = k as f64 / self.rate;
            let f = 50.0 + 110.0 * (-t / 0.03).exp();
            phase += f / self.rate;
            let fade = if k + 64 > n {
                (n - k) as f64 / 64.0
            } else {
                1.0
            };
            let v = (2.0 * std::f64::consts::PI * phase).sin() * (-t / 0.12).exp() * 0.9 * fade;
            self.add(start + k, v as f32, 0.0);
        }
    }
}

fn drums(s: &mut Synth, full: bool) {
    for b in 0..8 {
        let t = beat(b as f64);
        if full {
            s.kick(t);
            if b % 2 == 1 {
                s.noise(t, 0.2, 0.35, 0.06, 0.6, 0.05);
                s.note(t, 0.15, 54, 0.2, Wave::Sine, 0.001, 0.05, 0.0);
            }
        }
        for e in 0..2 {
            let off = e == 1;
            let at = beat(b as f64 + e as f64 * 0.5);
            let (len, amp) = if off && !full {
                (0.18, 0.28)
            } else {
                (0.05, 0.16)
            };
            s.noise(
                at,
                len,
                amp,
                if off && !full { 0.06 } else { 0.015 },
                1.0,
                0.3,
            );
        }
    }
}

const ROOTS: [i32; 4] = [45, 41, 48, 43]; // A2 F2 C3 G2
const CHORDS: [[i32; 3]; 4] = [[57, 60, 64], [57, 60, 65], [55, 60, 64], [55, 59, 62]];

fn bass(s: &mut Synth) {
    let pattern = [0, 0, 12, 0, 0, 12, 0, 7];
    for (c, root) in ROOTS.iter().enumerate() {
        for (k, iv) in pattern.iter().enumerate().take(4) {
            let at = beat(c as f64 * 2.0 + k as f64 * 0.5);
            s.note(
                at,
                beat(0.45),
                root - 12 + iv,
                0.45,
                Wave::Square,
                0.004,
                0.25,
                0.0,
            );
        }
    }
}

fn chords(s: &mut Synth) {
    for (c, chord) in CHORDS.iter().enumerate() {
        for (i, &n) in chord.iter().enumerate() {
            let pan = (i as f32 - 1.0) * 0.5;
            s.note(
                beat(c as f64 * 2.0),
                beat(2.0),
                n,
                0.09,
                Wave::Saw,
                0.05,
                2.5,
                pan,
            );
            s.note(
                beat(c as f64 * 2.0),
                beat(2.0),
                n + 12,
                0.03,
                Wave::Saw,
                0.08,
                2.0,
                -pan,
            );
        }
    }
}

fn arp(s: &mut Synth) {
    for (c, chord) in CHORDS.iter().enumerate() {
        for k in 0..8 {
            let n = chord[k % 3] + if k >= 4 { 12 } else { 0 };
            let at = beat(c as f64 * 2.0 + k as f64 * 0.25);
            let pan = if k % 2 == 0 { -0.4 } else { 0.4 };
            s.note(at, beat(0.24), n + 12, 0.12, Wave::Square, 0.002, 0.08, pan);
        }
    }
}

fn sweep(s: &mut Synth) {
    let n = s.frames();
    let mut lp = 0.0f32;
    for k in 0..n {
        let t = k as f32 / n as f32;
        let x = s.rand();
        let coeff = 0.01 + 0.5 * t * t;
        lp += coeff * (x - lp);
        let env = t * (1.0 - t).max(0.0).powf(0.1);
        s.add(k, lp * env * 0.5, (t * 12.0).sin() * 0.5);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_named_sound_renders_and_stays_in_range() {
        for name in super::NAMES {
            let buf = super::render(name, 48_000).unwrap();
            assert!(!buf.is_empty(), "{name}");
            let peak = buf.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(peak > 0.15 && peak <= 0.5 + 1e-6, "{name} peak {peak}");
            // The memory plan counts MAX_SECONDS for each without rendering it.
            assert!(
                buf.len() / 2 <= (super::MAX_SECONDS * 48_000.0) as usize,
                "{name}"
            );
        }
        assert!(super::render("nope", 48_000).is_none());
    }

    #[test]
    fn loops_are_exactly_two_bars() {
        let buf = super::render("drums", 48_000).unwrap();
        assert_eq!(buf.len() / 2, 4 * 48_000);
    }
}
