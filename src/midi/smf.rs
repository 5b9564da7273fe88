//! Standard MIDI File reading (formats 0 and 1, tempo changes, running status, SysEx), for
//! replaying a recorded controller session. Not real-time.

use std::path::Path;

/// One timed event: seconds from the start, and its complete raw bytes (status included).
pub type SmfEvent = (f64, Vec<u8>);

/// Why a MIDI file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SmfError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

struct Reader<'a> {
    d: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.d.get(self.i)?;
        self.i += 1;
        Some(b)
    }
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.d.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }
    fn be(&mut self, n: usize) -> Option<u32> {
        Some(self.take(n)?.iter().fold(0u32, |a, &b| a << 8 | b as u32))
    }
    fn var(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.u8()?;
            v = v << 7 | (b & 0x7F) as u32;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

/// Reads every channel and SysEx event of a MIDI file with its time in seconds, in time order
/// (ties keep file order). Meta events other than tempo are skipped.
pub fn read_smf(path: &Path) -> Result<Vec<SmfEvent>, SmfError> {
    let err = |reason: String| SmfError {
        path: path.display().to_string(),
        reason,
    };
    let data = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    parse_smf(&data).map_err(err)
}

/// Parses MIDI file bytes (see [`read_smf`]).
pub fn parse_smf(data: &[u8]) -> Result<Vec<SmfEvent>, String> {
    let mut r = Reader { d: data, i: 0 };
    if r.take(4) != Some(b"MThd") {
        return Err("not a Standard MIDI File (no MThd header)".into());
    }
    let hlen = r.be(4).ok_or("truncated header")? as usize;
    let _format = r.be(2).ok_or("truncated header")?;
    let ntracks = r.be(2).ok_or("truncated header")?;
    let division = r.be(2).ok_or("truncated header")?;
    r.take(hlen.saturating_sub(6)).ok_or("truncated header")?;
    if division & 0x8000 != 0 {
        return Err(
            "SMPTE time division is not supported; save the file with ticks per beat".into(),
        );
    }
    let tpq = division.max(1) as f64;
    // (tick, track, order, bytes) and tempo changes (tick, microseconds per beat).
    let mut events: Vec<(u64, usize, usize, Vec<u8>)> = Vec::new();
    let mut tempos: Vec<(u64, u32)> = Vec::new();
    for t in 0..ntracks as usize {
        if r.take(4) != Some(b"MTrk") {
            return Err(format!("track {t}: missing MTrk chunk"));
        }
        let len = r.be(4).ok_or(format!("track {t}: truncated"))? as usize;
        let chunk = r.take(len).ok_or(format!("track {t}: truncated"))?;
        let mut tr = Reader { d: chunk, i: 0 };
        let (mut tick, mut running) = (0u64, None::<u8>);
        while tr.i < chunk.len() {
            tick += tr.var().ok_or(format!("track {t}: bad delta time"))? as u64;
            let first = tr.u8().ok_or(format!("track {t}: truncated event"))?;
            match first {
                0xFF => {
                    let kind = tr.u8().ok_or(format!("track {t}: truncated meta event"))?;
                    let n = tr.var().ok_or(format!("track {t}: bad meta length"))? as usize;
                    let body = tr
                        .take(n)
                        .ok_or(format!("track {t}: truncated meta event"))?;
                    if kind == 0x51 && n == 3 {
                        tempos.push((tick, body.iter().fold(0u32, |a, &b| a << 8 | b as u32)));
                    }
                    if kind == 0x2F {
                        break;
                    }
                }
                0xF0 | 0xF7 => {
                    let n = tr.var().ok_or(format!("track {t}: bad SysEx length"))? as usize;
                    let body = tr.take(n).ok_or(format!("track {t}: truncated SysEx"))?;
                    let mut bytes = Vec::with_capacity(n + 1);
                    if first == 0xF0 {
                        bytes.push(0xF0);
                    }
                    bytes.extend_from_slice(body);
                    events.push((tick, t, events.len(), bytes));
                    running = None;
                }
                _ => {
                    let (status, d0) = if first & 0x80 != 0 {
                        (first, tr.u8().ok_or(format!("track {t}: truncated event"))?)
                    } else {
                        (
                            running.ok_or(format!("track {t}: data byte without a status"))?,
                            first,
                        )
                    };
                    running = Some(status);
                    let mut bytes = vec![status, d0];
                    if !matches!(status & 0xF0, 0xC0 | 0xD0) {
                        bytes.push(tr.u8().ok_or(format!("track {t}: truncated event"))?);
                    }
                    events.push((tick, t, events.len(), bytes));
                }
            }
        }
    }
    tempos.sort_by_key(|x| x.0);
    events.sort_by_key(|e| (e.0, e.2));
    let seconds = |tick: u64| {
        let (mut sec, mut last_tick, mut us) = (0.0f64, 0u64, 500_000u32);
        for &(tt, tempo) in &tempos {
            if tt >= tick {
                break;
            }
            sec += (tt - last_tick) as f64 / tpq * us as f64 / 1e6;
            last_tick = tt;
            us = tempo;
        }
        sec + (tick - last_tick) as f64 / tpq * us as f64 / 1e6
    };
    Ok(events
        .into_iter()
        .map(|(tick, _, _, b)| (seconds(tick), b))
        .collect())
}

/// Writes a format-0 MIDI file (120 BPM, 480 ticks per beat) of timed raw messages; used by
/// tests and `learn` examples. Running status is used where possible.
pub fn write_smf(events: &[(f64, Vec<u8>)]) -> Vec<u8> {
    let tpq = 480.0;
    let mut track = Vec::new();
    let mut last_tick = 0u64;
    let mut running = None;
    let var = |mut v: u64, out: &mut Vec<u8>| {
        let mut stack = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            stack.push((v & 0x7F) as u8 | 0x80);
            v >>= 7;
        }
        out.extend(stack.iter().rev());
    };
    for (t, bytes) in events {
        let tick = (t * 2.0 * tpq).round() as u64;
        var(tick.saturating_sub(last_tick), &mut track);
        last_tick = tick.max(last_tick);
        if bytes.first() == Some(&0xF0) {
            track.push(0xF0);
            var(bytes.len() as u64 - 1, &mut track);
            track.extend_from_slice(&bytes[1..]);
            running = None;
        } else {
            if running != bytes.first().copied() {
                track.push(bytes[0]);
                running = Some(bytes[0]);
            }
            track.extend_from_slice(&bytes[1..]);
        }
    }
    track.extend_from_slice(&[0x00, 0xFF, 0x2F, 0x00]);
    let mut out = b"MThd".to_vec();
    out.extend_from_slice(&[0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0]);
    out.extend_from_slice(b"MTrk");
    out.extend_from_slice(&(track.len() as u32).to_be_bytes());
    out.extend_from_slice(&track);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_with_running_status_and_sysex() {
        let ev = vec![
            (0.0, vec![0xF0, 0x00, 0x20, 0x29, 0xF7]),
            (0.5, vec![0x90, 81, 127]),
            (0.75, vec![0x90, 81, 0]),
            (1.0, vec![0xB0, 56, 64]),
        ];
        let back = super::parse_smf(&super::write_smf(&ev)).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(super::parse_smf(b"MThd\x00\x00").is_err());
        assert!(super::parse_smf(b"RIFF").is_err());
        let mut f = super::write_smf(&[(0.0, vec![0x90, 1, 2])]);
        f.truncate(f.len() - 5);
        assert!(super::parse_smf(&f).is_err());
    }
}
