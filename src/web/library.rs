//! The sample library: the audio files in the set's folder. Listing (with each file's length,
//! format and rate), uploads streamed to disk (never held in memory: size limit, free-space
//! check, a temporary name renamed when complete and readable), rename and delete (refused
//! while a pad uses the file). Every path is confined to the set's folder. Not real-time.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::WebContext;
use super::api::error;
use crate::sample::SampleSource;

type Ctx = State<Arc<WebContext>>;

/// Audio files the library lists and takes.
pub const AUDIO: &[&str] = &[
    "wav", "flac", "mp3", "ogg", "m4a", "mp4", "aif", "aiff", "w64", "caf", "opus",
];
/// Space left free on the disk after an upload.
pub const FREE_MARGIN: u64 = 64 << 20;
/// Fastest an upload is written to disk, in bytes per second (faster than a Pi's network and
/// SD card; it keeps a flood of uploads from starving the audio thread of the machine's I/O).
pub const WRITE_RATE: u64 = 40 << 20;

/// Checks that `name` (relative, as a set writes it) is a file inside the set's folder: no
/// absolute path, no `..`, no symlink leading out. Returns its full path.
pub fn confined(set_path: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = set_path.parent().unwrap_or(Path::new("."));
    let rel = Path::new(name);
    if name.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "{name:?}: give a file inside the set's folder, as a relative path without `..`"
        ));
    }
    let full = dir.join(rel);
    let (Ok(real), Ok(root)) = (full.canonicalize(), dir.canonicalize()) else {
        return Err(format!(
            "{name}: no such file in the set's folder ({})",
            dir.display()
        ));
    };
    if !real.starts_with(&root) || !real.is_file() {
        return Err(format!(
            "{name}: not a file inside the set's folder ({})",
            dir.display()
        ));
    }
    Ok(full)
}

/// As [`confined`], for a file or a folder (a stems folder).
pub fn confined_any(set_path: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = set_path.parent().unwrap_or(Path::new("."));
    if Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        && !name.is_empty()
        && let (Ok(real), Ok(root)) = (dir.join(name).canonicalize(), dir.canonicalize())
        && real.is_dir()
    {
        return if real.starts_with(&root) {
            Ok(dir.join(name))
        } else {
            Err(format!(
                "{name}: not inside the set's folder ({})",
                dir.display()
            ))
        };
    }
    confined(set_path, name)
}

/// A safe file name for an upload: its last path part, with anything but letters, digits,
/// `.`, `-`, `_` and spaces turned into `_`, no leading dot, and an audio extension.
pub fn sanitize(name: &str) -> Result<String, String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    let ext = Path::new(&clean)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if clean.is_empty() || clean.len() > 200 {
        return Err(format!("{name:?} is not a usable file name"));
    }
    match ext {
        Some(e) if AUDIO.contains(&e.as_str()) => Ok(clean),
        _ => Err(format!(
            "{name:?}: padlooper takes audio files ({})",
            AUDIO.join(", ")
        )),
    }
}

/// A safe relative path for an upload: at most two folders (a stems folder, e.g.
/// `track/vocals.wav` from a folder upload) and a file, each part made safe as in
/// [`sanitize`] (folders need no extension).
pub fn sanitize_path(name: &str) -> Result<PathBuf, String> {
    let parts: Vec<&str> = name.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let Some((file, folders)) = parts.split_last() else {
        return Err(format!("{name:?} is not a usable file name"));
    };
    if folders.len() > 2 {
        return Err(format!("{name:?}: at most two folders deep"));
    }
    let mut out = PathBuf::new();
    for f in folders {
        let clean: String = f
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = clean.trim().trim_start_matches('.').to_string();
        if clean.is_empty() || clean.len() > 100 {
            return Err(format!("{name:?}: {f:?} is not a usable folder name"));
        }
        out.push(clean);
    }
    out.push(sanitize(file)?);
    Ok(out)
}

/// The set file and its folder (None: the demo, no folder).
pub fn folder(ctx: &WebContext) -> Option<(PathBuf, PathBuf)> {
    let set = ctx.source()?;
    let dir = set.parent().unwrap_or(Path::new(".")).to_path_buf();
    Some((set, dir))
}

/// 409: no folder to keep samples in.
pub fn no_folder() -> Response {
    error(
        StatusCode::CONFLICT,
        "this set has no folder (the built-in demo): run padlooper with --set FILE",
    )
}

/// Pads of the playing set that use the file at `full` (bank:pad, 1-based as on the page).
fn users(ctx: &WebContext, full: &Path) -> Vec<String> {
    let real = full.canonicalize().unwrap_or_else(|_| full.to_path_buf());
    let set = ctx.set();
    let per_bank = set.grid.rows * set.grid.cols;
    set.pads
        .iter()
        .filter(|p| match &p.source {
            SampleSource::File(f) => f.canonicalize().is_ok_and(|r| r == real),
            SampleSource::Stems(s) => s
                .paths()
                .is_ok_and(|v| v.iter().any(|f| f.canonicalize().is_ok_and(|r| r == real))),
            SampleSource::Builtin(_) => false,
        })
        .map(|p| format!("bank {} pad {}", p.id / per_bank + 1, p.id % per_bank + 1))
        .collect()
}

/// `GET /api/library`: the audio files in the set's folder (two levels deep; no hidden files,
/// no symlinks): `name` (as the set writes it), `bytes`, `seconds`, `rate`, `format`, `used_by`.
pub async fn list(State(ctx): Ctx) -> Response {
    let Some((_, dir)) = folder(&ctx) else {
        return axum::Json(json!({"files": [], "folder": null})).into_response();
    };
    let ctx2 = ctx.clone();
    let d2 = dir.clone();
    let files = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut stack = vec![(d2.clone(), 0)];
        while let Some((d, depth)) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                let Ok(meta) = std::fs::symlink_metadata(&p) else {
                    continue;
                };
                if hidden || meta.file_type().is_symlink() {
                    continue;
                }
                let ext = p
                    .extension()
                    .and_then(|x| x.to_str())
                    .map(|x| x.to_ascii_lowercase());
                if meta.is_dir() && depth < 2 {
                    stack.push((p, depth + 1));
                } else if meta.is_file()
                    && let Some(ext) = ext.filter(|x| AUDIO.contains(&x.as_str()))
                    && let Ok(rel) = p.strip_prefix(&d2)
                {
                    let probe = crate::sample::open::probe_file(&p).ok();
                    out.push(json!({
                        "name": rel.to_string_lossy(),
                        "bytes": meta.len(),
                        "format": ext,
                        "rate": probe.map(|p| p.rate),
                        "seconds": probe.and_then(|p| p.frames.map(|f| f as f64 / p.rate.max(1) as f64)),
                        "used_by": users(&ctx2, &p),
                    }));
                }
            }
        }
        out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        out
    })
    .await
    .unwrap_or_default();
    axum::Json(json!({"files": files, "folder": dir.display().to_string()})).into_response()
}

#[derive(Deserialize)]
pub struct NameQuery {
    name: String,
}

/// `GET /api/library/analysis?name=FILE`: the file's analysed tempo and key when analysis has
/// them cached (a set that plays it analyses it in the background; `padlooper analyze` too).
/// Nothing is analysed here: `analysis` is null until then.
pub async fn analysis(State(ctx): Ctx, Query(q): Query<NameQuery>) -> Response {
    let Some((set_file, _)) = folder(&ctx) else {
        return no_folder();
    };
    let full = match confined(&set_file, &q.name) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let prefs = crate::control::set::analyse::prefs(&ctx.set());
    let found = tokio::task::spawn_blocking(move || {
        let content = crate::sample::stream::prepare::content_hash(&full).ok()?;
        let key = crate::sample::analysis::cache::AnalysisKey { content, prefs };
        let dir = crate::sample::stream::prepare::default_cache_dir();
        crate::sample::analysis::cache::AnalysisCache::under(&dir).get(&key)
    })
    .await
    .ok()
    .flatten();
    let v = found.map(|a| {
        json!({
            "bpm": a.tempo.map(|t| t.bpm),
            "key": a.key.map(|k| k.name()),
            "camelot": a.key.map(|k| k.camelot()),
            "summary": crate::sample::analysis::summary(&a),
        })
    });
    axum::Json(json!({"name": q.name, "analysis": v})).into_response()
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: String,
}

/// `POST /api/library/upload?name=FILE` with the file as the body: streamed to a temporary
/// file in the set's folder, checked as audio padlooper can read, then renamed to `FILE`.
pub async fn upload(
    State(ctx): Ctx,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((_, dir)) = folder(&ctx) else {
        return no_folder();
    };
    let rel = match sanitize_path(&q.name) {
        Ok(n) => n,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let name = rel.to_string_lossy().into_owned();
    let target = dir.join(&rel);
    // Its folder (a stems folder) inside the set's, made if new; never through a symlink.
    if let Some(parent) = target.parent().filter(|p| *p != dir) {
        if let Err(e) = std::fs::create_dir_all(parent) {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}: {e}", parent.display()),
            );
        }
        let inside = parent
            .canonicalize()
            .ok()
            .zip(dir.canonicalize().ok())
            .is_some_and(|(p, d)| p.starts_with(d));
        if !inside {
            return error(
                StatusCode::BAD_REQUEST,
                format!("{name}: its folder leads out of the set's folder"),
            );
        }
    }
    if std::fs::symlink_metadata(&target).is_ok() {
        return error(
            StatusCode::CONFLICT,
            format!("{name} is already in the library: rename or delete it first"),
        );
    }
    let max = ctx.upload_max;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{name} is larger than the {} MB an upload may be",
                max >> 20
            ),
        );
    }
    let free = crate::control::offline::wav_out::free_bytes(&target);
    if let (Some(n), Some(free)) = (declared, free)
        && n + FREE_MARGIN > free
    {
        return error(
            StatusCode::INSUFFICIENT_STORAGE,
            format!(
                "not enough space for {name}: {} MB free, {} MB needed",
                free >> 20,
                (n + FREE_MARGIN) >> 20
            ),
        );
    }
    let tmp = part_path(target.parent().unwrap_or(&dir), "upload");
    let guard = PartFile::new(tmp.clone());
    let written = stream_to(&tmp, body, max).await;
    let fail = |status, msg: String| {
        let _ = std::fs::remove_file(&tmp);
        error(status, msg)
    };
    match written {
        Ok(_) => {}
        Err(Stream::TooLarge) => {
            return fail(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "{name} is larger than the {} MB an upload may be",
                    max >> 20
                ),
            );
        }
        Err(Stream::Failed(e)) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("{name}: upload failed ({e})"),
            );
        }
    }
    let t2 = tmp.clone();
    let probe = tokio::task::spawn_blocking(move || crate::sample::open::probe_file(&t2)).await;
    match probe {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name} is not audio padlooper can read: {e}"),
            );
        }
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    if std::fs::symlink_metadata(&target).is_ok() {
        return fail(
            StatusCode::CONFLICT,
            format!("{name} appeared in the library meanwhile"),
        );
    }
    if let Err(e) = std::fs::rename(&tmp, &target) {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    guard.keep();
    log::info!("web surface: {name} uploaded into {}", dir.display());
    axum::Json(json!({"ok": true, "name": name})).into_response()
}

/// A hidden temporary name for `what` in `dir` (`.upload-1a2b3c4d5e6f.part`).
pub fn part_path(dir: &Path, what: &str) -> PathBuf {
    let tag = super::auth::random_hex(6).unwrap_or_else(|| std::process::id().to_string());
    dir.join(format!(".{what}-{tag}.part"))
}

/// A temporary file removed when dropped (a request cut off, an error), unless forgotten once
/// it has been renamed into place.
pub struct PartFile(Option<PathBuf>);

impl PartFile {
    /// Removes `path` when dropped.
    pub fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }

    /// The file stays (it was renamed into place).
    pub fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Why a streamed body was not stored.
pub enum Stream {
    /// Over the limit.
    TooLarge,
    /// The connection or the disk failed.
    Failed(String),
}

impl Stream {
    /// The reply for it (`max`: the limit in bytes).
    pub fn into_response(self, max: u64) -> Response {
        match self {
            Stream::TooLarge => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("larger than the {} MB an upload may be", max >> 20),
            ),
            Stream::Failed(e) => error(StatusCode::BAD_REQUEST, format!("upload failed ({e})")),
        }
    }
}

/// Streams a request body to a new file at `path` (see [`stream_to`]).
pub async fn stream_body(path: &Path, body: Body, max: u64) -> Result<u64, Stream> {
    stream_to(path, body, max).await
}

/// Writes the body to `path` chunk by chunk, at most `max` bytes; synced to disk at the end.
async fn stream_to(path: &Path, body: Body, max: u64) -> Result<u64, Stream> {
    use futures_util_lite::next;
    let mut f = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(|e| Stream::Failed(e.to_string()))?;
    let mut stream = body.into_data_stream();
    let mut n = 0u64;
    let t0 = tokio::time::Instant::now();
    while let Some(chunk) = next(&mut stream).await {
        // At most WRITE_RATE: wait until the bytes written so far are due.
        let due = t0 + Duration::from_secs_f64(n as f64 / WRITE_RATE as f64);
        tokio::time::sleep_until(due).await;
        let chunk: Bytes = chunk.map_err(|e| Stream::Failed(e.to_string()))?;
        n += chunk.len() as u64;
        if n > max {
            return Err(Stream::TooLarge);
        }
        f.write_all(&chunk)
            .await
            .map_err(|e| Stream::Failed(e.to_string()))?;
    }
    f.sync_all()
        .await
        .map_err(|e| Stream::Failed(e.to_string()))?;
    Ok(n)
}

/// The next item of a stream (without a futures dependency).
mod futures_util_lite {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub async fn next<S: futures_core::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
        std::future::poll_fn(|cx: &mut Context<'_>| -> Poll<Option<S::Item>> {
            Pin::new(&mut *s).poll_next(cx)
        })
        .await
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    from: String,
    to: String,
}

/// `POST /api/library/rename {"from": "a.wav", "to": "b.wav"}` (refused while a pad uses it).
pub async fn rename(State(ctx): Ctx, body: Bytes) -> Response {
    let r: Rename = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("send {{\"from\", \"to\"}} ({e})"),
            );
        }
    };
    let Some((set, dir)) = folder(&ctx) else {
        return no_folder();
    };
    let from = match confined(&set, &r.from) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let to_name = match sanitize(&r.to) {
        Ok(n) => n,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let to = from.parent().unwrap_or(&dir).join(&to_name);
    let used = users(&ctx, &from);
    if !used.is_empty() {
        return error(
            StatusCode::CONFLICT,
            format!(
                "{} is used by {}: change those pads first",
                r.from,
                used.join(", ")
            ),
        );
    }
    if std::fs::symlink_metadata(&to).is_ok() {
        return error(StatusCode::CONFLICT, format!("{to_name} exists already"));
    }
    match std::fs::rename(&from, &to) {
        Ok(()) => axum::Json(json!({"ok": true, "name": to_name})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    name: String,
}

/// `POST /api/library/delete {"name": "a.wav"}` (refused while a pad uses it).
pub async fn delete(State(ctx): Ctx, body: Bytes) -> Response {
    let d: Delete = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("send {{\"name\"}} ({e})")),
    };
    let Some((set, _)) = folder(&ctx) else {
        return no_folder();
    };
    let full = match confined(&set, &d.name) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let used = users(&ctx, &full);
    if !used.is_empty() {
        return error(
            StatusCode::CONFLICT,
            format!(
                "{} is used by {}: change those pads first",
                d.name,
                used.join(", ")
            ),
        );
    }
    match std::fs::remove_file(&full) {
        Ok(()) => {
            log::info!("web surface: {} deleted from the library", d.name);
            axum::Json(json!({"ok": true})).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_made_safe() {
        assert_eq!(sanitize("loop.wav").unwrap(), "loop.wav");
        assert_eq!(sanitize("../../etc/x.wav").unwrap(), "x.wav");
        assert_eq!(sanitize("C:\\\\a\\\\b.FLAC").unwrap(), "b.FLAC");
        assert_eq!(sanitize(".hidden.mp3").unwrap(), "hidden.mp3");
        assert_eq!(sanitize("a;rm -rf $(x).wav").unwrap(), "a_rm -rf __x_.wav");
        assert!(sanitize("notes.txt").is_err());
        assert!(sanitize("..").is_err());
        assert!(sanitize("").is_err());
        assert_eq!(
            sanitize_path("track one/vocals.wav").unwrap(),
            PathBuf::from("track one/vocals.wav")
        );
        assert_eq!(sanitize_path(".y/z.wav").unwrap(), PathBuf::from("y/z.wav"));
        assert!(sanitize_path("a/b/c/d.wav").is_err());
        assert!(sanitize_path("../x.wav").is_err());
        assert!(sanitize_path("a/../../x.wav").is_err());
    }
}
