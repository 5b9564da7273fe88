//! WAV files the decoder would refuse, read through a view it accepts:
//! - a header that promises more than the file holds (a recorder that crashed or was unplugged
//!   mid-take leaves the RIFF and data sizes at their final or placeholder values): sox, ffmpeg
//!   and libsndfile load what is there; so does padlooper, through corrected size fields;
//! - RF64 / BW64 (WAV past 4 GiB, as `render` writes it) and Sony Wave64: seen as a plain WAV,
//!   a RIFF header made from theirs followed by their data bytes.
//!
//! Not real-time.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// A corrected header field: `value` replaces the 4 bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Patch {
    offset: u64,
    value: [u8; 4],
}

/// What was wrong with a WAV header and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Frames the header declared.
    pub declared_frames: u64,
    /// Frames actually present.
    pub present_frames: u64,
}

/// A file seen by the decoder through a view: `prefix` bytes (a made-up header), then the
/// file's bytes `from..to`, with some bytes replaced (`patches`, at view offsets).
pub struct PatchedFile {
    file: File,
    prefix: Vec<u8>,
    from: u64,
    to: u64,
    pos: u64,
    patches: Vec<Patch>,
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Looks at a RIFF/WAVE file's chunk sizes; when the data chunk runs past the end of the file
/// (or the RIFF size disagrees with the file), returns the patches that make it consistent
/// with what is there, and what the header had declared. None for anything else.
fn plan(file: &mut File, len: u64) -> Option<(Vec<Patch>, Repair)> {
    let d = data_chunk(file, len)?;
    let available = len.saturating_sub(d.start);
    if d.size <= available && d.riff == len - 8 {
        return None;
    }
    let present = available / d.block_align * d.block_align;
    let data = d.size.min(present);
    let patches = vec![
        Patch {
            offset: 4,
            value: ((len - 8).min(u32::MAX as u64) as u32).to_le_bytes(),
        },
        Patch {
            offset: d.start - 4,
            value: (data as u32).to_le_bytes(),
        },
    ];
    let repair = Repair {
        declared_frames: d.size / d.block_align,
        present_frames: data / d.block_align,
    };
    Some((patches, repair))
}

/// Where a RIFF/WAVE file's data chunk is and what its header says.
struct DataChunk {
    /// Offset of the first data byte.
    start: u64,
    /// The data chunk's declared size.
    size: u64,
    /// The RIFF size field.
    riff: u64,
    block_align: u64,
}

fn data_chunk(file: &mut File, len: u64) -> Option<DataChunk> {
    let mut head = vec![0u8; (len.min(1 << 16)) as usize];
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_exact(&mut head).ok()?;
    if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let mut block_align = 0u64;
    let mut off = 12usize;
    while off + 8 <= head.len() {
        let id = &head[off..off + 4];
        let size = le32(&head[off + 4..off + 8]) as u64;
        if id == b"fmt " && off + 8 + 14 <= head.len() {
            block_align = u16::from_le_bytes([head[off + 20], head[off + 21]]) as u64;
        }
        if id == b"data" {
            return (block_align > 0).then(|| DataChunk {
                start: off as u64 + 8,
                size,
                riff: le32(&head[4..8]) as u64,
                block_align,
            });
        }
        // Chunks are padded to an even size.
        off = off.checked_add(8 + size as usize + (size as usize & 1))?;
    }
    None
}

/// Repairs in place a WAV whose writer stopped before its header was brought up to date (a
/// take recorded when padlooper was killed or the power went): every whole frame after the
/// header is data (nothing follows a recording's data chunk), a partial last frame is cut,
/// and the sizes say so. Returns what was declared and what is kept; None when the file is
/// whole (or not a WAV this can mend: RF64 past 4 GiB reads as it is). Not real-time.
pub fn repair_in_place(path: &std::path::Path) -> std::io::Result<Option<Repair>> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let Some(d) = data_chunk(&mut file, len) else {
        return Ok(None);
    };
    let present = len.saturating_sub(d.start) / d.block_align * d.block_align;
    let whole = d.start + present;
    if (d.size == present && d.riff == whole - 8) || whole - 8 > u32::MAX as u64 {
        return Ok(None);
    }
    if whole < len {
        file.set_len(whole)?;
    }
    file.seek(SeekFrom::Start(4))?;
    file.write_all(&((whole - 8) as u32).to_le_bytes())?;
    file.seek(SeekFrom::Start(d.start - 4))?;
    file.write_all(&(present as u32).to_le_bytes())?;
    file.sync_all()?;
    Ok(Some(Repair {
        declared_frames: d.size / d.block_align,
        present_frames: present / d.block_align,
    }))
}

impl PatchedFile {
    /// Opens `file` for decoding: an RF64 or Wave64 file as a plain WAV, a cut-short WAV with
    /// corrected sizes (and what was declared), anything else as it is.
    pub fn open(mut file: File) -> std::io::Result<(PatchedFile, Option<Repair>)> {
        let len = file.metadata()?.len();
        let view = |file, prefix, from, to, patches| PatchedFile {
            file,
            prefix,
            from,
            to,
            pos: 0,
            patches,
        };
        if let Some((prefix, from, to)) = wav64(&mut file, len) {
            return Ok((view(file, prefix, from, to, Vec::new()), None));
        }
        let (patches, repair) = match plan(&mut file, len) {
            Some((p, r)) => (p, Some(r)),
            None => (Vec::new(), None),
        };
        Ok((view(file, Vec::new(), 0, len, patches), repair))
    }

    fn len(&self) -> u64 {
        self.prefix.len() as u64 + (self.to - self.from)
    }
}

impl Read for PatchedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = self.pos;
        let p = self.prefix.len() as u64;
        let n = if start < p {
            let n = buf.len().min((p - start) as usize);
            buf[..n].copy_from_slice(&self.prefix[start as usize..start as usize + n]);
            n
        } else {
            let at = self.from + (start - p);
            if at >= self.to {
                return Ok(0);
            }
            let want = buf.len().min((self.to - at) as usize);
            self.file.seek(SeekFrom::Start(at))?;
            self.file.read(&mut buf[..want])?
        };
        for p in &self.patches {
            for (i, &b) in p.value.iter().enumerate() {
                let at = p.offset + i as u64;
                if at >= start && at < start + n as u64 {
                    buf[(at - start) as usize] = b;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PatchedFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
            SeekFrom::End(d) => self.len() as i128 + d as i128,
        };
        if pos < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        }
        self.pos = pos as u64;
        Ok(self.pos)
    }
}

impl symphonia::core::io::MediaSource for PatchedFile {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len())
    }
}

/// Sony Wave64's chunk GUIDs end with these 12 bytes after the chunk's 4-letter name (its
/// `riff` GUID is the exception).
const W64_TAIL: [u8; 12] = [
    0xF3, 0xAC, 0xD3, 0x11, 0x8C, 0xD1, 0x00, 0xC0, 0x4F, 0x8E, 0xDB, 0x8A,
];
const W64_RIFF: [u8; 16] = [
    b'r', b'i', b'f', b'f', 0x2E, 0x91, 0xCF, 0x11, 0xA5, 0xD6, 0x28, 0xDB, 0x04, 0xC1, 0x00, 0x00,
];

/// An RF64/BW64 or Wave64 file as a plain WAV: the RIFF header to show (its `fmt ` chunk
/// copied) and where its audio bytes are.
fn wav64(file: &mut File, len: u64) -> Option<(Vec<u8>, u64, u64)> {
    let mut head = vec![0u8; (len.min(1 << 16)) as usize];
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_exact(&mut head).ok()?;
    let le64 = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let (fmt, data_at, data_len) = if head.len() >= 12
        && (&head[0..4] == b"RF64" || &head[0..4] == b"BW64")
        && &head[8..12] == b"WAVE"
    {
        // RIFF-style chunks; `ds64` holds the 64-bit data size the `data` chunk cannot.
        let (mut off, mut big, mut fmt) = (12usize, None, None);
        loop {
            let h = head.get(off..off + 8)?;
            let size = le32(&h[4..8]) as u64;
            let body = off + 8;
            match &h[0..4] {
                b"ds64" => big = Some(le64(head.get(body + 8..body + 16)?)),
                b"fmt " => fmt = Some(head.get(body..body + size as usize)?.to_vec()),
                b"data" => {
                    let n = if size == u32::MAX as u64 { big? } else { size };
                    break (fmt?, body as u64, n);
                }
                _ => {}
            }
            off = body.checked_add(size as usize + (size as usize & 1))?;
        }
    } else if head.get(0..16) == Some(&W64_RIFF[..]) && head.get(28..40) == Some(&W64_TAIL[..]) {
        // GUID chunks: 16-byte id, 64-bit size counting the 24-byte header, 8-byte aligned.
        let (mut off, mut fmt) = (40usize, None);
        loop {
            let h = head.get(off..off + 24)?;
            let size = le64(&h[16..24]);
            if size < 24 || h[4..16] != W64_TAIL {
                return None;
            }
            let body = off + 24;
            match &h[0..4] {
                b"fmt " => fmt = Some(head.get(body..body + size as usize - 24)?.to_vec()),
                b"data" => break (fmt?, body as u64, size - 24),
                _ => {}
            }
            off = off.checked_add((size as usize).div_ceil(8) * 8)?;
        }
    } else {
        return None;
    };
    let data_len = data_len.min(len.saturating_sub(data_at));
    let mut prefix = Vec::with_capacity(44 + fmt.len());
    let data32 = u32::try_from(data_len).unwrap_or(u32::MAX);
    let riff = 4 + 8 + fmt.len() as u64 + (fmt.len() & 1) as u64 + 8 + data_len;
    prefix.extend_from_slice(b"RIFF");
    prefix.extend_from_slice(&u32::try_from(riff).unwrap_or(u32::MAX).to_le_bytes());
    prefix.extend_from_slice(b"WAVE");
    prefix.extend_from_slice(b"fmt ");
    prefix.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    prefix.extend_from_slice(&fmt);
    if fmt.len() & 1 == 1 {
        prefix.push(0);
    }
    prefix.extend_from_slice(b"data");
    prefix.extend_from_slice(&data32.to_le_bytes());
    Some((prefix, data_at, data_at + data_len))
}
