//! Encoder delay and padding that decoders do not remove by themselves, as players trim them
//! for gapless playback (a loop must not start late nor pause at its wrap):
//! - AAC in MP4/M4A: Apple's `iTunSMPB` tag (delay, padding, original length) or, failing that,
//!   the track's edit list (`edts/elst`: where the presentation starts in the media and how
//!   long it lasts), as ffmpeg and Apple write them;
//! - MPEG-1/2 Layer II (MP2): the decoder's own 481-frame delay (its filter bank); the file
//!   does not say how much padding its last frame holds.
//!
//! MP3 (LAME/Xing tags), Vorbis and FLAC are trimmed by symphonia already. Not real-time.

use std::path::Path;

use super::mp4box::{find_all, find_box, read_payload};

/// What to drop from a decoded track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trim {
    /// Frames to drop at the start (encoder delay, "priming").
    pub start: u64,
    /// The audio's length after that, when the file says (the rest is padding).
    pub frames: Option<u64>,
}

/// Decoder delay of MPEG audio Layer II, in frames (512-tap synthesis filter bank minus 31).
pub const MP2_DELAY: u64 = 481;

/// The trim of an MP4 file's first audio track, if it declares one.
pub fn mp4_trim(path: &Path) -> Option<Trim> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let moov = find_box(&mut f, 0, len, b"moov")?;
    if let Some(t) = itunsmpb(&mut f, moov) {
        return Some(t);
    }
    let mvhd = find_box(&mut f, moov.0, moov.1, b"mvhd")?;
    let movie_scale = timescale(&mut f, mvhd)?;
    for trak in find_all(&mut f, moov.0, moov.1, b"trak") {
        let mdia = find_box(&mut f, trak.0, trak.1, b"mdia")?;
        let hdlr = find_box(&mut f, mdia.0, mdia.1, b"hdlr")?;
        let hdlr = read_payload(&mut f, hdlr, 4096)?;
        if hdlr.get(8..12) != Some(b"soun") {
            continue;
        }
        let mdhd = find_box(&mut f, mdia.0, mdia.1, b"mdhd")?;
        let media_scale = timescale(&mut f, mdhd)?;
        let edts = find_box(&mut f, trak.0, trak.1, b"edts")?;
        let elst = find_box(&mut f, edts.0, edts.1, b"elst")?;
        let elst = read_payload(&mut f, elst, 1 << 16)?;
        return edit_list(&elst, movie_scale, media_scale);
    }
    None
}

/// A movie or media header's timescale (units per second).
fn timescale(f: &mut std::fs::File, header: (u64, u64)) -> Option<u64> {
    let b = read_payload(f, header, 4096)?;
    // Version 0: 4 bytes each for creation and modification; version 1: 8.
    let at = if *b.first()? == 1 { 20 } else { 12 };
    let scale = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64;
    (scale > 0).then_some(scale)
}

/// The first edit that shows media: its media time is the delay, its duration the length.
fn edit_list(b: &[u8], movie_scale: u64, media_scale: u64) -> Option<Trim> {
    let v1 = *b.first()? == 1;
    let count = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    let entry = if v1 { 20 } else { 12 };
    for i in 0..count.min(64) {
        let e = b.get(8 + i * entry..8 + (i + 1) * entry)?;
        let (duration, media_time) = if v1 {
            (
                u64::from_be_bytes(e[0..8].try_into().ok()?),
                i64::from_be_bytes(e[8..16].try_into().ok()?),
            )
        } else {
            (
                u32::from_be_bytes(e[0..4].try_into().ok()?) as u64,
                i32::from_be_bytes(e[4..8].try_into().ok()?) as i64,
            )
        };
        if media_time < 0 {
            continue; // an empty edit (a pause before the media)
        }
        let frames = (duration as u128 * media_scale as u128 / movie_scale as u128) as u64;
        return Some(Trim {
            start: media_time as u64,
            frames: (frames > 0).then_some(frames),
        });
    }
    None
}

/// Apple's gapless tag: `moov/udta/meta/ilst/----` named `iTunSMPB`, whose text holds hex
/// fields: reserved, delay, padding, original length.
fn itunsmpb(f: &mut std::fs::File, moov: (u64, u64)) -> Option<Trim> {
    let udta = find_box(f, moov.0, moov.1, b"udta")?;
    let meta = find_box(f, udta.0, udta.1, b"meta")?;
    // `meta` is a full box: 4 bytes of version and flags before its children.
    let ilst = find_box(f, meta.0 + 4, meta.1, b"ilst")?;
    for item in find_all(f, ilst.0, ilst.1, b"----") {
        let name = find_box(f, item.0, item.1, b"name")?;
        let name = read_payload(f, name, 256)?;
        if name.get(4..) != Some(b"iTunSMPB") {
            continue;
        }
        let data = find_box(f, item.0, item.1, b"data")?;
        let data = read_payload(f, data, 1024)?;
        let text = String::from_utf8_lossy(data.get(8..)?).to_string();
        return parse_itunsmpb(&text);
    }
    None
}

/// Parses the text of an `iTunSMPB` tag.
pub fn parse_itunsmpb(text: &str) -> Option<Trim> {
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|w| u64::from_str_radix(w, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let (&delay, &length) = (fields.get(1)?, fields.get(3)?);
    Some(Trim {
        start: delay,
        frames: (length > 0).then_some(length),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_lists_and_itunsmpb_parse() {
        // ffmpeg's: version 0, one edit of 2000 movie units (timescale 1000), media time 1024.
        let elst = hex("0000000000000001000007d00000040000010000");
        assert_eq!(
            edit_list(&elst, 1000, 44_100),
            Some(Trim {
                start: 1024,
                frames: Some(88_200)
            })
        );
        // An empty edit first.
        let elst = hex("000000000000000200000064ffffffff00010000000007d00000040000010000");
        assert_eq!(edit_list(&elst, 1000, 44_100).unwrap().start, 1024);
        assert_eq!(
            parse_itunsmpb(" 00000000 00000840 000001CA 00000000003F31F6 00000000 00000000"),
            Some(Trim {
                start: 0x840,
                frames: Some(0x3F31F6)
            })
        );
        assert_eq!(parse_itunsmpb("garbage"), None);
        assert_eq!(edit_list(&[1, 0], 1000, 44_100), None);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
