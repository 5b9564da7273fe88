//! A deterministic analysis corpus: drum loops and synthetic tracks with known beats,
//! downbeats and keys (kick, snare, hats, a bass line and chords in a key, one chord per bar),
//! plus silence, a sine, noise and a very short file. Every piece is rendered the same way on
//! every machine (its own noise generator, no randomness from outside).

#![allow(dead_code)]

/// One piece of the corpus and the truth about it.
pub struct Piece {
    /// Name (for the table of results).
    pub name: String,
    /// Sample rate.
    pub rate: u32,
    /// Interleaved stereo samples.
    pub samples: Vec<f32>,
    /// True tempo (the start tempo of a ramp), None for pieces without a beat.
    pub bpm: Option<f64>,
    /// Whether the tempo is steady.
    pub steady: bool,
    /// True beat times.
    pub beats: Vec<f64>,
    /// True downbeat times.
    pub downbeats: Vec<f64>,
    /// True key (tonic pitch class, minor), None without pitched sound.
    pub key: Option<(u8, bool)>,
}

/// How a piece is made.
#[derive(Clone)]
pub struct Recipe {
    pub name: &'static str,
    pub rate: u32,
    pub bpm: f64,
    /// Tempo at the end (a ramp when it differs from `bpm`).
    pub end_bpm: f64,
    pub bars: usize,
    /// Bars of chords only before the drums come in.
    pub intro_bars: usize,
    /// Silence before the first downbeat, seconds.
    pub lead_in: f64,
    /// Offbeat eighths late by this fraction of a beat (0: straight; 1/6: triplet swing).
    pub swing: f64,
    /// Tonic pitch class and minor.
    pub key: (u8, bool),
    pub seed: u32,
    /// The drum pattern.
    pub pattern: Pattern,
    /// White noise under everything, dB below the drums' peak (None: no noise).
    pub noise_db: Option<f32>,
    /// The piece starts on this beat of its first bar (0: on the downbeat), as a loop cut
    /// from the middle of a bar does.
    pub start_beat: usize,
}

/// Drum patterns of the corpus.
#[derive(Clone, Copy, PartialEq)]
pub enum Pattern {
    /// Kick on 1 and 3, snare on 2 and 4, closed hats on eighths, a crash on each bar.
    Rock,
    /// Four on the floor, clap on 2 and 4, open hats on the offbeats.
    House,
    /// A breakbeat: kick on 1 and the "and" of 2, snare on 2 and 4, ghost snares, hats.
    Break,
}

impl Recipe {
    pub fn new(name: &'static str, bpm: f64, bars: usize, key: (u8, bool)) -> Self {
        Self {
            name,
            rate: 44100,
            bpm,
            end_bpm: bpm,
            bars,
            intro_bars: 0,
            lead_in: 0.0,
            swing: 0.0,
            key,
            seed: 1,
            pattern: Pattern::Rock,
            noise_db: None,
            start_beat: 0,
        }
    }
}

struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1664525).wrapping_add(1013904223);
        (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// The time of beat `k` (fractional) for a tempo going linearly from `a` to `b` BPM over
/// `beats` beats: the tempo is linear in beats, so time is a logarithm.
fn beat_time(k: f64, a: f64, b: f64, beats: f64) -> f64 {
    if (a - b).abs() < 1e-9 {
        return k * 60.0 / a;
    }
    // dt/dk = 60 / T(k), T(k) = a + (b - a) k / beats.
    let slope = (b - a) / beats;
    60.0 / slope * ((a + slope * k) / a).ln()
}

fn add(buf: &mut [f32], rate: f64, at: f64, gain: f32, sound: &[f32]) {
    let start = (at * rate).round() as usize;
    for (i, s) in sound.iter().enumerate() {
        if let Some(x) = buf.get_mut(start + i) {
            *x += gain * s;
        }
    }
}

fn kick(rate: f64) -> Vec<f32> {
    let n = (0.25 * rate) as usize;
    let mut ph = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let f = 50.0 + 90.0 * (-t * 30.0).exp();
            ph += std::f64::consts::TAU * f / rate;
            (ph.sin() * (-t * 14.0).exp()) as f32
        })
        .collect()
}

fn snare(rate: f64, noise: &mut Noise) -> Vec<f32> {
    let n = (0.18 * rate) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let body = (std::f64::consts::TAU * 190.0 * t).sin() * (-t * 30.0).exp();
            (0.5 * body as f32 + 0.6 * noise.next() * (-t * 22.0).exp() as f32) * 0.8
        })
        .collect()
}

fn hat(rate: f64, noise: &mut Noise, len: f64) -> Vec<f32> {
    let n = (len * rate) as usize;
    let mut last = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let x = noise.next();
            let hp = x - last;
            last = x;
            hp * 0.25 * (-t * 60.0 / len.max(0.01) * 0.03).exp() as f32
        })
        .collect()
}

/// A tone of `secs` with a few harmonics and soft edges.
fn note(rate: f64, midi: f64, secs: f64, harmonics: usize) -> Vec<f32> {
    let f = 440.0 * 2f64.powf((midi - 69.0) / 12.0);
    let n = (secs * rate) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let env = (t / 0.01).min(1.0) * ((secs - t) / 0.03).clamp(0.0, 1.0);
            let mut v = 0.0;
            for h in 1..=harmonics {
                v += (std::f64::consts::TAU * f * h as f64 * t).sin() / h as f64;
            }
            (v * env) as f32
        })
        .collect()
}

/// The chord of bar `bar` in the key: I–IV–V–I in major, i–iv–V–i in minor (harmonic minor,
/// as MIDI notes: a triad around middle C and a bass root).
fn chord(key: (u8, bool), bar: usize) -> ([f64; 3], f64) {
    let (tonic, minor) = key;
    // Degrees as (semitones from the tonic, minor triad).
    let prog: [(i32, bool); 4] = if minor {
        [(0, true), (5, true), (7, false), (0, true)]
    } else {
        [(0, false), (5, false), (7, false), (0, false)]
    };
    let (deg, m) = prog[bar % 4];
    let root = 60 + ((tonic as i32 + deg) % 12);
    let third = if m { 3 } else { 4 };
    (
        [root as f64, (root + third) as f64, (root + 7) as f64],
        (root - 24) as f64,
    )
}

/// The drums of beat `beat` (0..4) of the bar at absolute beat `k`.
#[allow(clippy::too_many_arguments)]
fn drum_hits(
    mono: &mut [f32],
    rate: f64,
    r: &Recipe,
    t_of: &dyn Fn(f64) -> f64,
    k: f64,
    beat: usize,
    kick: &[f32],
    noise: &mut Noise,
) {
    let t = t_of(k);
    let off = t_of(k + 0.5 + r.swing);
    match r.pattern {
        Pattern::Rock => {
            match beat {
                0 => {
                    add(mono, rate, t, 0.9, kick);
                    add(mono, rate, t, 0.5, &hat(rate, noise, 0.6));
                }
                2 => add(mono, rate, t, 0.75, kick),
                _ => add(mono, rate, t, 0.7, &snare(rate, noise)),
            }
            add(mono, rate, t, 0.6, &hat(rate, noise, 0.04));
            add(mono, rate, off, 0.4, &hat(rate, noise, 0.04));
        }
        Pattern::House => {
            add(mono, rate, t, if beat == 0 { 0.95 } else { 0.8 }, kick);
            if beat % 2 == 1 {
                add(mono, rate, t, 0.6, &snare(rate, noise));
            }
            add(mono, rate, off, 0.5, &hat(rate, noise, 0.15));
        }
        Pattern::Break => {
            match beat {
                0 => add(mono, rate, t, 0.9, kick),
                1 | 3 => add(mono, rate, t, 0.75, &snare(rate, noise)),
                _ => add(mono, rate, t_of(k + 0.75), 0.2, &snare(rate, noise)),
            }
            if beat == 1 {
                add(mono, rate, off, 0.7, kick);
            }
            add(mono, rate, t, 0.45, &hat(rate, noise, 0.04));
            add(mono, rate, off, 0.3, &hat(rate, noise, 0.04));
        }
    }
}

/// Renders a recipe.
pub fn make(r: &Recipe) -> Piece {
    let rate = r.rate as f64;
    let bpb = 4.0;
    let beats_total = (r.bars * 4) as f64;
    let t_of = |k: f64| r.lead_in + beat_time(k, r.bpm, r.end_bpm, beats_total);
    let seconds = t_of(beats_total);
    let n = (seconds * rate).round() as usize;
    let _ = bpb;
    let mut mono = vec![0.0f32; n];
    let mut noise = Noise(r.seed);
    let kick = kick(rate);
    let mut beats: Vec<f64> = Vec::new();
    let mut downbeats = Vec::new();
    for bar in 0..r.bars {
        let b0 = (bar * 4) as f64;
        let (triad, bass) = chord(r.key, bar);
        let bar_len = t_of(b0 + bpb) - t_of(b0);
        for m in triad {
            add(&mut mono, rate, t_of(b0), 0.09, &note(rate, m, bar_len, 3));
        }
        downbeats.push(t_of(b0));
        let drums = bar >= r.intro_bars;
        for beat in 0..4 {
            let k = b0 + beat as f64;
            let t = t_of(k);
            beats.push(t);
            // Bass on every beat, the bar's root.
            add(
                &mut mono,
                rate,
                t,
                0.12,
                &note(rate, bass, 0.9 * (t_of(k + 1.0) - t), 2),
            );
            if !drums {
                continue;
            }
            drum_hits(&mut mono, rate, r, &t_of, k, beat, &kick, &mut noise);
        }
    }
    if let Some(db) = r.noise_db {
        let peak = mono.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let g = peak * 10f32.powf(-db / 20.0) * 1.7;
        for v in mono.iter_mut() {
            *v += g * noise.next();
        }
    }
    // A piece that starts mid-bar: cut its first beats off.
    let cut = t_of(r.start_beat as f64) - r.lead_in;
    let skip = (cut * rate).round() as usize;
    let mono = mono.split_off(skip.min(mono.len()));
    let shift = |v: Vec<f64>| -> Vec<f64> {
        v.into_iter()
            .map(|t| t - cut)
            .filter(|t| *t >= -1e-9)
            .map(|t| t.max(0.0))
            .collect()
    };
    let (beats, downbeats) = (shift(beats), shift(downbeats));
    let peak = mono.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-9);
    let samples = mono
        .iter()
        .flat_map(|v| {
            let x = v / peak * 0.7;
            [x, x]
        })
        .collect();
    Piece {
        name: r.name.to_string(),
        rate: r.rate,
        samples,
        bpm: Some(r.bpm),
        steady: (r.bpm - r.end_bpm).abs() < 1e-9,
        beats,
        downbeats,
        key: Some(r.key),
    }
}

/// The steady drum loops (4 bars, or 8 at slow tempi) at the tempi DJs meet.
pub fn loops() -> Vec<Recipe> {
    vec![
        Recipe::new("loop 87.5", 87.5, 4, (9, true)),
        Recipe::new("loop 93.0", 93.0, 4, (0, false)),
        Recipe {
            rate: 48000,
            ..Recipe::new("loop 120.0", 120.0, 4, (6, true))
        },
        Recipe::new("loop 127.3", 127.3, 8, (3, false)),
        Recipe::new("loop 140.0", 140.0, 8, (2, true)),
        Recipe::new("loop 174.0", 174.0, 8, (7, false)),
    ]
}

/// Longer synthetic tracks: an intro without drums, swing, a lead-in, a tempo ramp.
pub fn tracks() -> Vec<Recipe> {
    vec![
        Recipe {
            intro_bars: 8,
            ..Recipe::new("track 124 intro", 124.0, 96, (4, true))
        },
        Recipe {
            swing: 1.0 / 6.0,
            ..Recipe::new("track 100 swing", 100.0, 24, (10, false))
        },
        Recipe {
            lead_in: 0.37,
            rate: 48000,
            ..Recipe::new("track 128 lead-in", 128.0, 32, (5, true))
        },
        Recipe {
            end_bpm: 128.0,
            ..Recipe::new("track ramp 118-128", 118.0, 32, (11, false))
        },
    ]
}

/// A set of pieces no setting of the analysis was tuned on (made after it was written):
/// other drum patterns, noise, loops cut from the middle of a bar, a 6-minute track.
pub fn held_out() -> Vec<Recipe> {
    vec![
        Recipe {
            pattern: Pattern::House,
            noise_db: Some(30.0),
            seed: 11,
            ..Recipe::new("house 124 noise", 124.0, 8, (1, true))
        },
        Recipe {
            pattern: Pattern::Break,
            start_beat: 1,
            seed: 12,
            ..Recipe::new("break 96 from beat 2", 96.0, 5, (5, false))
        },
        Recipe {
            pattern: Pattern::House,
            start_beat: 2,
            rate: 48000,
            seed: 13,
            ..Recipe::new("house 122 from beat 3", 122.0, 9, (8, false))
        },
        Recipe {
            noise_db: Some(20.0),
            seed: 14,
            ..Recipe::new("rock 110 noise -20", 110.0, 8, (4, false))
        },
        Recipe {
            pattern: Pattern::Break,
            seed: 15,
            ..Recipe::new("break 170", 170.0, 8, (11, true))
        },
        Recipe {
            pattern: Pattern::House,
            intro_bars: 16,
            seed: 16,
            ..Recipe::new("house 126 6 min", 126.0, 189, (8, true))
        },
    ]
}

/// Pieces without a beat or too short to have one.
pub fn odd() -> Vec<Piece> {
    let rate = 44100u32;
    let piece = |name: &str, samples: Vec<f32>| Piece {
        name: name.into(),
        rate,
        samples,
        bpm: None,
        steady: true,
        beats: Vec::new(),
        downbeats: Vec::new(),
        key: None,
    };
    let n = 5 * rate as usize;
    let mut noise = Noise(7);
    vec![
        piece("silence", vec![0.0; 2 * n]),
        piece(
            "sine 440",
            (0..n)
                .flat_map(|i| {
                    let v = 0.5 * (std::f64::consts::TAU * 440.0 * i as f64 / rate as f64).sin();
                    [v as f32, v as f32]
                })
                .collect(),
        ),
        piece(
            "white noise",
            (0..n)
                .flat_map(|_| {
                    let v = 0.3 * noise.next();
                    [v, v]
                })
                .collect(),
        ),
        piece("0.5 s click", {
            let mut v = vec![0.0; rate as usize];
            v[0] = 0.9;
            v[1] = 0.9;
            v
        }),
    ]
}
