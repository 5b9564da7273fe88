//! A small MP4 (ISO base media) box walker for what symphonia does not expose: a stem file's
//! metadata, and the encoder delay and padding of AAC files (edit lists, iTunSMPB). Reads only
//! the boxes asked for; never trusts a size past its parent. Not real-time.

use std::io::{Read, Seek, SeekFrom};

/// The payload range `(start, end)` of the first box of type `kind` among the boxes in
/// `from..to`.
pub fn find_box(f: &mut std::fs::File, from: u64, to: u64, kind: &[u8; 4]) -> Option<(u64, u64)> {
    let mut at = from;
    while at + 8 <= to {
        f.seek(SeekFrom::Start(at)).ok()?;
        let mut h = [0u8; 8];
        f.read_exact(&mut h).ok()?;
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let (header, size) = match size32 {
            0 => (8, to - at),
            1 => {
                let mut l = [0u8; 8];
                f.read_exact(&mut l).ok()?;
                (16, u64::from_be_bytes(l))
            }
            n => (8, n),
        };
        if size < header || at + size > to {
            return None;
        }
        if &h[4..8] == kind {
            return Some((at + header, at + size));
        }
        at += size;
    }
    None
}

/// The payload ranges of every box of type `kind` among the boxes in `from..to`.
pub fn find_all(f: &mut std::fs::File, from: u64, to: u64, kind: &[u8; 4]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = from;
    while let Some((start, end)) = find_box(f, at, to, kind) {
        out.push((start, end));
        at = end;
    }
    out
}

/// Up to `max` bytes of a payload.
pub fn read_payload(f: &mut std::fs::File, (start, end): (u64, u64), max: u64) -> Option<Vec<u8>> {
    let size = end.checked_sub(start)?;
    if size > max {
        return None;
    }
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut b = vec![0u8; size as usize];
    f.read_exact(&mut b).ok()?;
    Some(b)
}
