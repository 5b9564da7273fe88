//! The metadata of a Native Instruments stem file: a JSON document in the MP4 box
//! `moov/udta/stem` (`{"stems":[{"name":"Drums","color":"#009E73"}, ...], ...}`), which
//! symphonia does not expose. A small box walker finds it. Not real-time.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::sample::buffer::StemInfo;
use crate::sample::mp4box::find_box;

/// Largest `stem` box read (the real ones are a few hundred bytes).
const MAX_META: u64 = 64 * 1024;

/// The stems' names and colours from a stem file's `stem` box; None when it has none (the
/// caller then uses Drums, Bass, Other, Vocals) or it cannot be read.
pub fn read_stem_meta(path: &Path) -> Option<Vec<StemInfo>> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let moov = find_box(&mut f, 0, len, b"moov")?;
    let udta = find_box(&mut f, moov.0, moov.1, b"udta")?;
    let stem = find_box(&mut f, udta.0, udta.1, b"stem")?;
    let size = stem.1 - stem.0;
    if size > MAX_META {
        return None;
    }
    f.seek(SeekFrom::Start(stem.0)).ok()?;
    let mut json = vec![0u8; size as usize];
    f.read_exact(&mut json).ok()?;
    parse_meta(&json)
}

/// Names and colours from the JSON document.
fn parse_meta(json: &[u8]) -> Option<Vec<StemInfo>> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let stems = v.get("stems")?.as_array()?;
    let infos: Vec<StemInfo> = stems
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = s
                .get("name")
                .and_then(|n| n.as_str())
                .filter(|n| !n.trim().is_empty())
                .map_or_else(|| format!("stem{}", i + 1), |n| n.trim().to_string());
            let color = s
                .get("color")
                .and_then(|c| c.as_str())
                .and_then(parse_rgb)
                .unwrap_or_else(|| super::default_color(&name, i));
            StemInfo { name, color }
        })
        .collect();
    (!infos.is_empty()).then_some(infos)
}

/// `#RRGGBB` as RGB.
pub fn parse_rgb(s: &str) -> Option<[u8; 3]> {
    let h = s.trim().strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let b = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
    Some([b(0)?, b(2)?, b(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_colours() {
        let j = br##"{"stems":[{"name":"Kick","color":"#FF0000"},{"name":"","color":"bad"}],"version":1}"##;
        let m = parse_meta(j).unwrap();
        assert_eq!(m[0].name, "Kick");
        assert_eq!(m[0].color, [255, 0, 0]);
        assert_eq!(m[1].name, "stem2");
        assert_eq!(parse_rgb("#56B4E9"), Some([0x56, 0xB4, 0xE9]));
        assert!(parse_meta(b"{}").is_none());
    }
}
