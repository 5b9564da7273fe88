//! Prepared PCM: what the disk service streams. A WAV file already in the storage format at the
//! output rate (16-bit or 32-bit float, stereo) streams straight from the file; anything else
//! is decoded and resampled once, by the same code as in-RAM tables, into a cache file keyed
//! by the source's content, so streamed samples are bit-identical to in-RAM ones and seeks are
//! exact. Not real-time.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::chunk::Format;
use crate::sample::buffer::{SampleBuffer, SampleData};

/// Bumped whenever decoding, resampling or the cache file layout changes the bytes.
pub const CACHE_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"PLPCM\0\0\x01";
/// Bytes before frame 0 in a cache file.
pub const HEADER: u64 = 32;

/// A file the disk service can stream, with where its frames are.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The prepared file at `path` if it exists and is whole.
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
    // Byte 9: stereo pairs per frame (0 in files written before stem bundles: one).
    let groups = (h[9] as usize).max(1);
    let frames = u64::from_le_bytes(h[16..24].try_into().ok()?) as usize;
    let len = f.metadata().ok()?.len();
    (len == HEADER + (frames * format.bytes_per_frame(groups)) as u64).then(|| Prepared {
        path: path.to_path_buf(),
        data_offset: HEADER,
        frames,
        format,
        groups,
    })
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
    let (frames, groups) = (buf.frames(), buf.groups());
    crate::atomic_file::write_atomic_with(path, |w: &mut dyn Write| {
        let mut h = [0u8; HEADER as usize];
        h[..8].copy_from_slice(MAGIC);
        h[8] = if format == Format::I16 { 0 } else { 1 };
        h[9] = groups as u8;
        h[12..16].copy_from_slice(&buf.rate.to_le_bytes());
        h[16..24].copy_from_slice(&(frames as u64).to_le_bytes());
        w.write_all(&h)?;
        for s in ints.chunks(8192) {
            let bytes: Vec<u8> = s.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
        for s in floats.chunks(8192) {
            let bytes: Vec<u8> = s.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
        Ok(())
    })?;
    Ok(Prepared {
        path: path.to_path_buf(),
        data_offset: HEADER,
        frames,
        format,
        groups,
    })
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
