//! Standard MIDI Files through `midly`: reading a recorded controller session (formats 0, 1
//! and 2, ticks-per-beat or SMPTE timing, tempo maps, SysEx, escaped real-time bytes such as
//! clock) as timed raw messages, and writing them back. Not real-time.

use std::path::Path;

use midly::live::LiveEvent;
use midly::{Format, Header, MetaMessage, Smf, Timing, TrackEvent, TrackEventKind};

/// One timed event: seconds from the start, and its complete raw bytes (status included).
pub type SmfEvent = (f64, Vec<u8>);

/// Why a MIDI file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SmfError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads every channel, SysEx and escaped (e.g. clock) event of a MIDI file with its time in
/// seconds, in time order (ties keep file order). Meta events other than tempo are skipped.
pub fn read_smf(path: &Path) -> Result<Vec<SmfEvent>, SmfError> {
    read_smf_checked(path).map(|(events, _)| events)
}

/// [`read_smf`], with what is wrong with the file though it parses (cut short, a division
/// or tempo of 0, no events), one line each naming the file.
pub fn read_smf_checked(path: &Path) -> Result<(Vec<SmfEvent>, Vec<String>), SmfError> {
    let err = |reason: String| SmfError {
        path: path.display().to_string(),
        reason,
    };
    let data = crate::config::input::read_bytes(path, "MIDI", crate::config::input::MIDI_MAX)
        .map_err(|e| err(e.to_string()))?;
    let events = parse_smf(&data).map_err(err)?;
    let mut warnings: Vec<String> = check_smf(&data)
        .into_iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    if events.is_empty() {
        warnings.push(format!(
            "{}: the MIDI file holds no events to play",
            path.display()
        ));
    }
    Ok((events, warnings))
}

/// What is wrong with MIDI file bytes that parse anyway (the parser is lenient, as players
/// are): chunks cut short, fewer tracks than the header says, a track without its end
/// marker, a division or a tempo of 0.
pub fn check_smf(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if data.len() < 14 || &data[0..4] != b"MThd" {
        return out;
    }
    let declared = u16::from_be_bytes([data[10], data[11]]) as usize;
    if u16::from_be_bytes([data[12], data[13]]) == 0 {
        out.push(
            "its division is 0 ticks per beat, so its times mean nothing; it was written wrong"
                .into(),
        );
    }
    let mut at = 8 + be32(&data[4..8]);
    let mut tracks = 0;
    while at + 8 <= data.len() {
        let size = be32(&data[at + 4..at + 8]);
        let have = data.len() - at - 8;
        if &data[at..at + 4] == b"MTrk" {
            tracks += 1;
            if size > have {
                out.push(format!(
                    "the file is cut short: track {tracks} should hold {size} bytes, {have} are there; played what is there"
                ));
                break;
            }
            let body = &data[at + 8..at + 8 + size];
            if !body.ends_with(&[0xFF, 0x2F, 0x00]) {
                out.push(format!(
                    "track {tracks} has no end-of-track marker (cut short?); played what is there"
                ));
            }
        }
        at += 8 + size.min(have);
    }
    if tracks < declared && !out.iter().any(|w| w.contains("cut short")) {
        out.push(format!(
            "the header says {declared} tracks, the file holds {tracks} (cut short?)"
        ));
    }
    if let Ok(smf) = Smf::parse(data) {
        let zero = smf.tracks.iter().flatten().any(
            |e| matches!(e.kind, TrackEventKind::Meta(MetaMessage::Tempo(t)) if t.as_int() == 0),
        );
        if zero {
            out.push("it sets a tempo of 0 µs per beat; that tempo change is ignored".into());
        }
    }
    out
}

/// Seconds per tick for a tempo (µs per beat) under a timing.
fn tick_seconds(timing: Timing, tempo_us: u32) -> f64 {
    match timing {
        Timing::Metrical(tpq) => tempo_us as f64 / 1e6 / tpq.as_int().max(1) as f64,
        Timing::Timecode(fps, sub) => 1.0 / (fps.as_f32() as f64 * sub.max(1) as f64),
    }
}

/// A track's events as (absolute tick, order, bytes), and its tempo changes (tick, µs/beat).
type TrackTimes = (Vec<(u64, usize, Vec<u8>)>, Vec<(u64, u32)>, u64);

fn track_times(track: &[TrackEvent], order: &mut usize) -> TrackTimes {
    let mut tick = 0u64;
    let mut events = Vec::new();
    let mut tempos = Vec::new();
    for ev in track {
        tick += ev.delta.as_int() as u64;
        let bytes = match ev.kind {
            TrackEventKind::Midi { channel, message } => {
                let mut b = Vec::with_capacity(3);
                // Writing into a Vec cannot fail.
                let _ = LiveEvent::Midi { channel, message }.write_std(&mut b);
                b
            }
            TrackEventKind::SysEx(data) => {
                let mut b = Vec::with_capacity(data.len() + 1);
                b.push(0xF0);
                b.extend_from_slice(data);
                b
            }
            TrackEventKind::Escape(data) => data.to_vec(),
            // A tempo of 0 would put everything after it at one instant: ignored (warned).
            TrackEventKind::Meta(MetaMessage::Tempo(t)) if t.as_int() > 0 => {
                tempos.push((tick, t.as_int()));
                continue;
            }
            TrackEventKind::Meta(_) => continue,
        };
        if !bytes.is_empty() {
            events.push((tick, *order, bytes));
            *order += 1;
        }
    }
    (events, tempos, tick)
}

/// Converts ticks to seconds under a sorted tempo map (one pass over events sorted by tick).
fn to_seconds(
    timing: Timing,
    tempos: &[(u64, u32)],
    events: Vec<(u64, usize, Vec<u8>)>,
    offset: f64,
) -> Vec<(f64, usize, Vec<u8>)> {
    let (mut sec, mut last, mut us, mut next) = (offset, 0u64, 500_000u32, 0usize);
    let mut out = Vec::with_capacity(events.len());
    for (tick, order, bytes) in events {
        while let Some(&(tt, tempo)) = tempos.get(next) {
            if tt > tick {
                break;
            }
            sec += (tt - last) as f64 * tick_seconds(timing, us);
            last = tt;
            us = tempo;
            next += 1;
        }
        out.push((
            sec + (tick - last) as f64 * tick_seconds(timing, us),
            order,
            bytes,
        ));
    }
    out
}

/// Seconds a track with this tempo map lasts up to `end` ticks.
fn seconds_at(timing: Timing, tempos: &[(u64, u32)], end: u64) -> f64 {
    to_seconds(timing, tempos, vec![(end, 0, Vec::new())], 0.0)
        .first()
        .map_or(0.0, |e| e.0)
}

/// Parses MIDI file bytes (see [`read_smf`]). Formats 0 and 1 play their tracks together
/// (tempo changes anywhere apply to all); format 2 plays its tracks one after another, each
/// with its own tempo map.
pub fn parse_smf(data: &[u8]) -> Result<Vec<SmfEvent>, String> {
    let smf = Smf::parse(data).map_err(|e| format!("not a valid Standard MIDI File ({e})"))?;
    let timing = smf.header.timing;
    let mut order = 0;
    let mut timed: Vec<(f64, usize, Vec<u8>)> = Vec::new();
    match smf.header.format {
        Format::Sequential => {
            let mut offset = 0.0;
            for track in &smf.tracks {
                let (events, mut tempos, end) = track_times(track, &mut order);
                tempos.sort_by_key(|t| t.0);
                timed.extend(to_seconds(timing, &tempos, events, offset));
                offset += seconds_at(timing, &tempos, end);
            }
        }
        Format::SingleTrack | Format::Parallel => {
            let mut all = Vec::new();
            let mut tempos = Vec::new();
            for track in &smf.tracks {
                let (events, t, _) = track_times(track, &mut order);
                all.extend(events);
                tempos.extend(t);
            }
            tempos.sort_by_key(|t| t.0);
            all.sort_by_key(|e| (e.0, e.1));
            timed = to_seconds(timing, &tempos, all, 0.0);
        }
    }
    timed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(timed.into_iter().map(|(t, _, b)| (t, b)).collect())
}

/// Writes a format-0 MIDI file (120 BPM, 480 ticks per beat) of timed raw messages (channel
/// messages, SysEx, and anything else such as clock bytes as escapes); used by `render
/// --midi-out`, tests and `learn` examples. Empty messages are skipped.
pub fn write_smf(events: &[(f64, Vec<u8>)]) -> Result<Vec<u8>, String> {
    const TPQ: u16 = 480;
    let tick_of = |t: f64| (t.max(0.0) * 2.0 * TPQ as f64).round() as u64;
    let mut track: Vec<TrackEvent> = Vec::with_capacity(events.len() + 1);
    let mut last = 0u64;
    for (t, bytes) in events {
        let Some(&first) = bytes.first() else {
            continue;
        };
        let kind = if first == 0xF0 {
            TrackEventKind::SysEx(&bytes[1..])
        } else if (0x80..0xF0).contains(&first) {
            match LiveEvent::parse(bytes) {
                Ok(LiveEvent::Midi { channel, message }) => {
                    TrackEventKind::Midi { channel, message }
                }
                _ => return Err(format!("not a complete MIDI message: {bytes:02X?}")),
            }
        } else {
            TrackEventKind::Escape(bytes)
        };
        let tick = tick_of(*t).max(last);
        let delta = u32::try_from(tick - last).map_err(|_| "time too large for a MIDI file")?;
        if delta >= 1 << 28 {
            return Err("time too large for a MIDI file".into());
        }
        track.push(TrackEvent {
            delta: delta.into(),
            kind,
        });
        last = tick;
    }
    track.push(TrackEvent {
        delta: 0.into(),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(TPQ.into())),
        tracks: vec![track],
    };
    let mut out = Vec::new();
    smf.write_std(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_sysex_and_clock() {
        let ev = vec![
            (0.0, vec![0xF0, 0x00, 0x20, 0x29, 0xF7]),
            (0.5, vec![0x90, 81, 127]),
            (0.5, vec![0xF8]),
            (0.75, vec![0x90, 81, 0]),
            (1.0, vec![0xB0, 56, 64]),
        ];
        let back = parse_smf(&write_smf(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn garbage_and_empty_messages_are_errors_or_skipped_not_panics() {
        assert!(parse_smf(b"MThd\x00\x00").is_err());
        assert!(parse_smf(b"RIFF").is_err());
        assert!(parse_smf(b"").is_err());
        let mut f = write_smf(&[(0.0, vec![0x90, 1, 2])]).unwrap();
        f.truncate(f.len() - 5);
        let _ = parse_smf(&f);
        assert_eq!(
            parse_smf(&write_smf(&[(0.0, vec![])]).unwrap()).unwrap(),
            vec![]
        );
        assert!(write_smf(&[(0.0, vec![0x90, 1])]).is_err());
    }

    /// Builds a file by hand: header, then tracks of (delta, raw event bytes).
    fn file(format: u16, division: [u8; 2], tracks: &[&[u8]]) -> Vec<u8> {
        let mut f = b"MThd\x00\x00\x00\x06".to_vec();
        f.extend_from_slice(&format.to_be_bytes());
        f.extend_from_slice(&(tracks.len() as u16).to_be_bytes());
        f.extend_from_slice(&division);
        for t in tracks {
            f.extend_from_slice(b"MTrk");
            f.extend_from_slice(&(t.len() as u32).to_be_bytes());
            f.extend_from_slice(t);
        }
        f
    }

    #[test]
    fn smpte_timing_and_format_2_are_read() {
        // SMPTE 25 fps, 40 ticks per frame: 1000 ticks per second. Note at tick 500 = 0.5 s.
        let t: &[u8] = &[0x83, 0x74, 0x90, 60, 100, 0x00, 0xFF, 0x2F, 0x00];
        let f = file(0, [0xE7, 40], &[t]);
        assert_eq!(parse_smf(&f).unwrap(), vec![(0.5, vec![0x90, 60, 100])]);
        // Format 2: the second track starts when the first one ends (480 ticks = 0.5 s at
        // the default 120 BPM with 480 ticks per beat).
        let a: &[u8] = &[0x00, 0x90, 60, 100, 0x83, 0x60, 0xFF, 0x2F, 0x00];
        let b: &[u8] = &[0x00, 0x90, 62, 100, 0x00, 0xFF, 0x2F, 0x00];
        let f = file(2, [0x01, 0xE0], &[a, b]);
        assert_eq!(
            parse_smf(&f).unwrap(),
            vec![(0.0, vec![0x90, 60, 100]), (0.5, vec![0x90, 62, 100])]
        );
    }
}
