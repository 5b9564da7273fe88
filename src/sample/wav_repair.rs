//! Reading WAV files whose header promises more than the file holds (a recorder that crashed
//! or was unplugged mid-take leaves the RIFF and data sizes at their final or placeholder
//! values). sox, ffmpeg and libsndfile load what is there; so does padlooper: the decoder reads
//! the file through a view whose size fields are corrected to the bytes present. Not
//! real-time.

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

/// A file with some header bytes replaced, seen by the decoder as a normal file.
pub struct PatchedFile {
    file: File,
    len: u64,
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
            let start = off as u64 + 8;
            let available = len.saturating_sub(start);
            let riff_ok = le32(&head[4..8]) as u64 == len - 8;
            if size <= available && riff_ok {
                return None;
            }
            if block_align == 0 {
                return None;
            }
            let present = available / block_align * block_align;
            let data = size.min(present);
            let patches = vec![
                Patch {
                    offset: 4,
                    value: ((len - 8).min(u32::MAX as u64) as u32).to_le_bytes(),
                },
                Patch {
                    offset: off as u64 + 4,
                    value: (data as u32).to_le_bytes(),
                },
            ];
            let repair = Repair {
                declared_frames: size / block_align,
                present_frames: data / block_align,
            };
            return Some((patches, repair));
        }
        // Chunks are padded to an even size.
        off = off.checked_add(8 + size as usize + (size as usize & 1))?;
    }
    None
}

impl PatchedFile {
    /// Opens `file` for decoding: with corrected sizes if it is a cut-short WAV (and what was
    /// declared), as it is otherwise.
    pub fn open(mut file: File) -> std::io::Result<(PatchedFile, Option<Repair>)> {
        let len = file.metadata()?.len();
        let (patches, repair) = match plan(&mut file, len) {
            Some((p, r)) => (p, Some(r)),
            None => (Vec::new(), None),
        };
        file.seek(SeekFrom::Start(0))?;
        Ok((
            PatchedFile {
                file,
                len,
                pos: 0,
                patches,
            },
            repair,
        ))
    }
}

impl Read for PatchedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        for p in &self.patches {
            for (i, &b) in p.value.iter().enumerate() {
                let at = p.offset + i as u64;
                if at >= self.pos && at < self.pos + n as u64 {
                    buf[(at - self.pos) as usize] = b;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PatchedFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl symphonia::core::io::MediaSource for PatchedFile {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
