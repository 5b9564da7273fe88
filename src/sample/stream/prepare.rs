//! Prepared PCM: what the disk service streams. A WAV file already in the storage format at the
//! output rate (16-bit or 32-bit float, stereo) streams straight from the file; anything else
//! is decoded and resampled once, by the same code as in-RAM tables, into a cache file keyed
//! by the source's content, so streamed samples are bit-identical to in-RAM ones and seeks are
//! exact. Not real-time.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::sample::pipeline::{Frames, Sink};

use super::chunk::Format;
use crate::sample::buffer::{SampleBuffer, SampleData};

/// Bumped whenever decoding, resampling or the cache file layout changes the bytes.
pub const CACHE_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"PLPCM\0\0\x02";
/// Bytes before frame 0 in a cache file.
pub const HEADER: u64 = 64;
/// Frames per checksum block (a power of two no larger than any disk-service chunk in use).
pub const CHECK_FRAMES: usize = 1024;

/// The checksums of a prepared file: the low 32 bits of xxh3 over each block of
/// `block_frames` frames' bytes (the last block may be shorter). The disk thread checks every
/// block it reads whole, so a file that rotted on an SD card is found, not played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksums {
    /// Frames per block.
    pub block_frames: usize,
    /// One checksum per block.
    pub sums: Box<[u32]>,
}

impl Checksums {
    /// The checksum of one block's bytes.
    pub fn of(bytes: &[u8]) -> u32 {
        xxhash_rust::xxh3::xxh3_64(bytes) as u32
    }
}

/// A file the disk service can stream, with where its frames are.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The file.
    pub path: PathBuf,
    /// Byte offset of frame 0.
    pub data_offset: u64,
    /// Stereo frames.
    pub frames: usize,
    /// Storage format.
    pub format: Format,
    /// Stereo pairs per frame (1; a stem bundle: 1 + its stems).
    pub groups: usize,
    /// Where the audio ends in its last frame (see `SampleBuffer::end_frac`).
    pub end_frac: f32,
    /// Block checksums (prepared files; None for a WAV that streams as it is).
    pub checks: Option<std::sync::Arc<Checksums>>,
}

/// The storage format and frame count of `path` if it is a WAV that can stream as it is at
/// `rate` Hz (stereo, 16-bit integer or 32-bit float, at that rate), with its data offset.
pub fn straight_wav(path: &Path, rate: u32) -> Option<Prepared> {
    // Regular files only: opening a FIFO would wait for a writer.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let reader = hound::WavReader::new(std::io::BufReader::new(file)).ok()?;
    let spec = reader.spec();
    let format = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => Format::I16,
        (hound::SampleFormat::Float, 32) => Format::F32,
        _ => return None,
    };
    if spec.channels != 2 || spec.sample_rate != rate {
        return None;
    }
    let frames = reader.duration() as usize;
    let mut inner = reader.into_inner();
    use std::io::Seek;
    // The buffered reader stands at the first data byte once the header is read.
    let data_offset = inner.stream_position().ok()?;
    let len = std::fs::metadata(path).ok()?.len();
    if frames < 4 || data_offset + (frames * format.frame_bytes()) as u64 > len {
        return None;
    }
    Some(Prepared {
        path: path.to_path_buf(),
        data_offset,
        frames,
        format,
        groups: 1,
        end_frac: 0.0,
        checks: None,
    })
}

/// A 128-bit hash of a file's bytes (xxh3), read in 1 MiB pieces.
pub fn content_hash(path: &Path) -> std::io::Result<u128> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut f = std::fs::File::open(path)?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.digest128())
}

/// Where the prepared table of content `hash` at `rate` Hz lives in `dir`.
pub fn cache_path(dir: &Path, hash: u128, rate: u32) -> PathBuf {
    dir.join(format!("{hash:032x}-{rate}-v{CACHE_VERSION}.pcm"))
}

/// The prepared file at `path` if it exists, is whole and of this version (its checksums
/// read; the blocks themselves are checked as they are read).
pub fn read_cached(path: &Path) -> Option<Prepared> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = [0u8; HEADER as usize];
    f.read_exact(&mut h).ok()?;
    if &h[..8] != MAGIC {
        return None;
    }
    let format = match h[8] {
        0 => Format::I16,
        1 => Format::F32,
        _ => return None,
    };
    let groups = h[9] as usize;
    let frames = u64::from_le_bytes(h[16..24].try_into().ok()?) as usize;
    let end_frac = f32::from_le_bytes(h[24..28].try_into().ok()?);
    let block = u32::from_le_bytes(h[28..32].try_into().ok()?) as usize;
    if groups == 0 || block == 0 || !(0.0..1.0).contains(&end_frac) {
        return None;
    }
    let blocks = frames.div_ceil(block);
    let data = (frames * format.bytes_per_frame(groups)) as u64;
    let len = f.metadata().ok()?.len();
    if len != HEADER + data + 4 * blocks as u64 {
        return None;
    }
    let mut raw = vec![0u8; 4 * blocks];
    f.seek(std::io::SeekFrom::Start(HEADER + data)).ok()?;
    f.read_exact(&mut raw).ok()?;
    let sums = raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(Prepared {
        path: path.to_path_buf(),
        data_offset: HEADER,
        frames,
        format,
        groups,
        end_frac,
        checks: Some(std::sync::Arc::new(Checksums {
            block_frames: block,
            sums,
        })),
    })
}

/// Writes a prepared file's header and checksums around frames written by `data` (which gets
/// a seekable writer standing at frame 0 and returns the frame count, the storage format and
/// the end fraction), atomically. The checksums are computed from the file as written.
fn write_prepared(
    path: &Path,
    groups: usize,
    rate: u32,
    data: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<(usize, Format, f32)>,
) -> std::io::Result<Prepared> {
    let mut made = None;
    crate::atomic_file::write_atomic_seekable(path, |w| {
        w.write_all(&[0u8; HEADER as usize])?;
        let (frames, format, end_frac) = data(w)?;
        let fb = format.bytes_per_frame(groups);
        // Checksums from the bytes on disk (what the disk thread will read back).
        w.flush()?;
        let file = w.get_mut();
        let mut sums = Vec::with_capacity(frames.div_ceil(CHECK_FRAMES));
        let mut buf = vec![0u8; CHECK_FRAMES * fb];
        let mut at = 0;
        while at < frames {
            let n = (frames - at).min(CHECK_FRAMES);
            file.seek(std::io::SeekFrom::Start(HEADER + (at * fb) as u64))?;
            file.read_exact(&mut buf[..n * fb])?;
            sums.push(Checksums::of(&buf[..n * fb]));
            at += n;
        }
        file.seek(std::io::SeekFrom::Start(HEADER + (frames * fb) as u64))?;
        let table: Vec<u8> = sums.iter().flat_map(|s| s.to_le_bytes()).collect();
        file.write_all(&table)?;
        file.set_len(HEADER + (frames * fb + table.len()) as u64)?;
        let mut h = [0u8; HEADER as usize];
        h[..8].copy_from_slice(MAGIC);
        h[8] = if format == Format::I16 { 0 } else { 1 };
        h[9] = groups as u8;
        h[12..16].copy_from_slice(&rate.to_le_bytes());
        h[16..24].copy_from_slice(&(frames as u64).to_le_bytes());
        h[24..28].copy_from_slice(&end_frac.to_le_bytes());
        h[28..32].copy_from_slice(&(CHECK_FRAMES as u32).to_le_bytes());
        file.seek(std::io::SeekFrom::Start(0))?;
        file.write_all(&h)?;
        made = Some(Prepared {
            path: path.to_path_buf(),
            data_offset: HEADER,
            frames,
            format,
            groups,
            end_frac,
            checks: Some(std::sync::Arc::new(Checksums {
                block_frames: CHECK_FRAMES,
                sums: sums.into_boxed_slice(),
            })),
        });
        Ok(())
    })?;
    made.ok_or_else(|| std::io::Error::other("nothing written"))
}

/// Writes `buf` (an in-RAM table or stem bundle) as a prepared file at `path`, atomically.
pub fn write_cached(path: &Path, buf: &SampleBuffer) -> std::io::Result<Prepared> {
    let (format, ints, floats): (Format, &[i16], &[f32]) = match buf.data() {
        SampleData::I16(d) | SampleData::BundleI16 { data: d, .. } => (Format::I16, d, &[]),
        SampleData::F32(d) | SampleData::BundleF32 { data: d, .. } => (Format::F32, &[], d),
        SampleData::Streamed(_) => {
            return Err(std::io::Error::other(
                "a streamed table cannot be cached again",
            ));
        }
    };
    write_prepared(path, buf.groups(), buf.rate, |w| {
        for s in ints.chunks(8192) {
            w.write_all(&le_i16(s))?;
        }
        for s in floats.chunks(8192) {
            w.write_all(&le_f32(s))?;
        }
        Ok((buf.frames(), format, buf.end_frac))
    })
}

fn le_i16(s: &[i16]) -> Vec<u8> {
    s.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn le_f32(s: &[f32]) -> Vec<u8> {
    s.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes and converts an audio file straight into a prepared file at `path` (a packet at a
/// time: memory stays bounded whatever the file's length), atomically; with the decoder's
/// warnings.
pub fn prepare_file(
    source: &Path,
    rate: u32,
    path: &Path,
) -> Result<(Prepared, Vec<String>), crate::sample::error::SampleError> {
    let mut result = None;
    let written = write_prepared(path, 1, rate, |w| {
        let mut sink = FileSink {
            w,
            head_frames: 0,
            head_at: HEADER,
            format: None,
            body: 0,
            head: 0,
        };
        let (made, warnings) = crate::sample::loader::convert_file(source, rate, &mut sink)
            .map_err(|e| std::io::Error::other(ErrorBox(e)))?;
        let format = if made.sixteen_bit {
            Format::I16
        } else {
            Format::F32
        };
        result = Some(warnings);
        Ok((made.frames as usize, format, made.end_frac))
    });
    match written {
        Ok(p) => Ok((p, result.unwrap_or_default())),
        // The decoder's own error, carried through the writer...
        Err(e) if e.get_ref().is_some_and(|i| i.is::<ErrorBox>()) => {
            let inner = e.into_inner().map(|b| b.downcast::<ErrorBox>());
            Err(match inner {
                Some(Ok(b)) => b.0,
                _ => crate::sample::error::SampleError::Write {
                    path: path.into(),
                    error: std::io::Error::other("the decoder failed"),
                },
            })
        }
        // ...or the prepared file's (a full disk, a folder that cannot be written).
        Err(error) => Err(crate::sample::error::SampleError::Write {
            path: path.into(),
            error,
        }),
    }
}

/// A sample error carried through an io::Error.
#[derive(Debug)]
struct ErrorBox(crate::sample::error::SampleError);

impl std::fmt::Display for ErrorBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ErrorBox {}

/// Stored frames written into a prepared file: the head's room reserved first and filled last.
struct FileSink<'a> {
    w: &'a mut BufWriter<File>,
    head_frames: usize,
    head_at: u64,
    format: Option<Format>,
    body: usize,
    head: usize,
}

impl FileSink<'_> {
    fn bytes(&mut self, f: Frames<'_>) -> Vec<u8> {
        match f {
            Frames::I16(v) => {
                self.format.get_or_insert(Format::I16);
                le_i16(v)
            }
            Frames::F32(v) => {
                self.format.get_or_insert(Format::F32);
                le_f32(v)
            }
        }
    }
}

impl Sink for FileSink<'_> {
    fn reserve_head(&mut self, frames: usize) -> std::io::Result<()> {
        self.head_frames = frames;
        Ok(())
    }

    fn body(&mut self, f: Frames<'_>) -> std::io::Result<()> {
        let bytes = self.bytes(f);
        if self.body == 0 {
            // The head's room, now that the frame size is known.
            let fb = self.format.map_or(4, |f| f.frame_bytes());
            self.w.write_all(&vec![0u8; self.head_frames * fb])?;
        }
        self.body += 1;
        self.w.write_all(&bytes)
    }

    fn head(&mut self, f: Frames<'_>) -> std::io::Result<()> {
        let bytes = self.bytes(f);
        self.head += 1;
        if self.body == 0 {
            return self.w.write_all(&bytes);
        }
        let end = self.w.stream_position()?;
        self.w.seek(std::io::SeekFrom::Start(self.head_at))?;
        self.w.write_all(&bytes)?;
        self.w.seek(std::io::SeekFrom::Start(end))?;
        Ok(())
    }
}

/// The default folder for prepared files: `$CACHE_DIRECTORY` (systemd's `CacheDirectory=`),
/// else `$XDG_CACHE_HOME/padlooper`, else `~/.cache/padlooper`, else the system's temporary
/// folder.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CACHE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may give several, separated by colons: the first is ours.
        let d = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or("")
            .to_string();
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("padlooper");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".cache").join("padlooper");
    }
    std::env::temp_dir().join("padlooper-cache")
}
