//! Writes a small Native Instruments stem file for the tests: an MP4 with one 16-bit PCM
//! (`sowt`) stereo track per part (track 1 the master, then the stems) and, optionally, the
//! `moov/udta/stem` JSON box. Real stem files carry AAC or ALAC; the container, the track
//! layout and the metadata box are the same, which is what the reader has to get right.

use std::path::Path;

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

fn full(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend_from_slice(body);
    boxed(kind, &b)
}

const MATRIX: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn trak(id: u32, rate: u32, frames: u32, offset: u32) -> Vec<u8> {
    let mut tkhd = Vec::new();
    be32(&mut tkhd, 0);
    be32(&mut tkhd, 0);
    be32(&mut tkhd, id);
    be32(&mut tkhd, 0);
    be32(&mut tkhd, frames);
    tkhd.extend_from_slice(&[0; 8]);
    be16(&mut tkhd, 0);
    be16(&mut tkhd, 0);
    be16(&mut tkhd, 0x0100);
    be16(&mut tkhd, 0);
    for m in MATRIX {
        be32(&mut tkhd, m);
    }
    be32(&mut tkhd, 0);
    be32(&mut tkhd, 0);
    // Only the master track is enabled (what two-channel players play).
    let flags = if id == 1 { 7u8 } else { 6 };
    let mut tkhd_box = vec![0, 0, 0, flags];
    tkhd_box.extend_from_slice(&tkhd);
    let tkhd = boxed(b"tkhd", &tkhd_box);

    let mut mdhd = Vec::new();
    be32(&mut mdhd, 0);
    be32(&mut mdhd, 0);
    be32(&mut mdhd, rate);
    be32(&mut mdhd, frames);
    be16(&mut mdhd, 0x55c4);
    be16(&mut mdhd, 0);
    let mdhd = full(b"mdhd", &mdhd);
    let mut hdlr = vec![0u8; 4];
    hdlr.extend_from_slice(b"soun");
    hdlr.extend_from_slice(&[0; 12]);
    hdlr.extend_from_slice(b"SoundHandler\0");
    let hdlr = full(b"hdlr", &hdlr);

    let smhd = full(b"smhd", &[0; 4]);
    let url = boxed(b"url ", &[0, 0, 0, 1]);
    let mut dref = Vec::new();
    be32(&mut dref, 1);
    dref.extend_from_slice(&url);
    let dinf = boxed(b"dinf", &full(b"dref", &dref));

    let mut entry = vec![0u8; 6];
    be16(&mut entry, 1);
    be16(&mut entry, 0);
    be16(&mut entry, 0);
    be32(&mut entry, 0);
    be16(&mut entry, 2);
    be16(&mut entry, 16);
    be16(&mut entry, 0);
    be16(&mut entry, 0);
    be32(&mut entry, rate << 16);
    let mut stsd = Vec::new();
    be32(&mut stsd, 1);
    stsd.extend_from_slice(&boxed(b"sowt", &entry));
    let stsd = full(b"stsd", &stsd);
    let mut stts = Vec::new();
    be32(&mut stts, 1);
    be32(&mut stts, frames);
    be32(&mut stts, 1);
    let stts = full(b"stts", &stts);
    let mut stsc = Vec::new();
    be32(&mut stsc, 1);
    be32(&mut stsc, 1);
    be32(&mut stsc, frames);
    be32(&mut stsc, 1);
    let stsc = full(b"stsc", &stsc);
    let mut stsz = Vec::new();
    be32(&mut stsz, 4);
    be32(&mut stsz, frames);
    let stsz = full(b"stsz", &stsz);
    let mut stco = Vec::new();
    be32(&mut stco, 1);
    be32(&mut stco, offset);
    let stco = full(b"stco", &stco);
    let stbl = boxed(b"stbl", &[stsd, stts, stsc, stsz, stco].concat());
    let minf = boxed(b"minf", &[smhd, dinf, stbl].concat());
    let mdia = boxed(b"mdia", &[mdhd, hdlr, minf].concat());
    boxed(b"trak", &[tkhd, mdia].concat())
}

/// Writes `tracks` (interleaved 16-bit stereo, equal lengths; the first is the master) as a
/// stem file at `rate`, with `meta` as the `stem` box's JSON when given.
pub fn write_stem_mp4(path: &Path, rate: u32, tracks: &[Vec<i16>], meta: Option<&str>) {
    let frames = (tracks[0].len() / 2) as u32;
    let mut ftyp = b"M4A ".to_vec();
    be32(&mut ftyp, 0);
    ftyp.extend_from_slice(b"M4A mp42isom");
    let ftyp = boxed(b"ftyp", &ftyp);
    let build = |first_offset: u32| {
        let mut mvhd = Vec::new();
        be32(&mut mvhd, 0);
        be32(&mut mvhd, 0);
        be32(&mut mvhd, rate);
        be32(&mut mvhd, frames);
        be32(&mut mvhd, 0x10000);
        be16(&mut mvhd, 0x0100);
        mvhd.extend_from_slice(&[0; 10]);
        for m in MATRIX {
            be32(&mut mvhd, m);
        }
        mvhd.extend_from_slice(&[0; 24]);
        be32(&mut mvhd, tracks.len() as u32 + 1);
        let mut body = full(b"mvhd", &mvhd);
        for (i, t) in tracks.iter().enumerate() {
            let off = first_offset + (i * t.len() * 2) as u32;
            body.extend_from_slice(&trak(i as u32 + 1, rate, frames, off));
        }
        if let Some(m) = meta {
            body.extend_from_slice(&boxed(b"udta", &boxed(b"stem", m.as_bytes())));
        }
        boxed(b"moov", &body)
    };
    // Offsets depend on the moov's size, which does not depend on the offsets' values.
    let moov_len = build(0).len();
    let data_start = (ftyp.len() + moov_len + 8) as u32;
    let moov = build(data_start);
    let mut mdat = Vec::new();
    for t in tracks {
        for s in t {
            mdat.extend_from_slice(&s.to_le_bytes());
        }
    }
    let file = [ftyp, moov, boxed(b"mdat", &mdat)].concat();
    std::fs::write(path, file).unwrap();
}
