//! A set with its samples as one archive (tar): downloaded streamed (never built in memory),
//! and uploaded into the set's folder with the upload rules and the archive ones: only plain
//! files and folders, every path a relative one inside the folder (no `..`, no absolute
//! paths, no links: no "zip slip"), at most [`MAX_ENTRIES`] entries and the upload limit in
//! all (no "zip bomb"), nothing overwritten. Not real-time.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::WebContext;
use super::api::error;
use crate::config::SetFile;
use crate::sample::SampleSource;

type Ctx = State<Arc<WebContext>>;

/// Entries an uploaded archive may hold.
pub const MAX_ENTRIES: usize = 2000;

#[derive(Deserialize)]
pub struct NameQuery {
    name: String,
}

/// The files a set plays that lie inside `dir`, as paths relative to it (sorted), and those
/// outside it.
fn set_files(set: &SetFile, dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut add = |p: &Path| match p.canonicalize() {
        Ok(real) if real.starts_with(&root) => {
            if let Ok(rel) = real.strip_prefix(&root) {
                inside.push(rel.to_path_buf());
            }
        }
        _ => outside.push(p.to_path_buf()),
    };
    for p in &set.pads {
        match &p.source {
            SampleSource::File(f) => add(f),
            SampleSource::Stems(s) => s.paths().unwrap_or_default().iter().for_each(|f| add(f)),
            SampleSource::Builtin(_) => {}
        }
    }
    inside.sort();
    inside.dedup();
    (inside, outside)
}

/// Sends written bytes to the response as chunks (a blocking writer feeding an async body).
struct ChunkWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct ChunkStream(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ChunkStream {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// `GET /api/sets/archive?name=NAME.toml`: the set file and every sample it plays from its
/// folder, as one tar archive (streamed). Samples outside the folder are named in
/// `NOT-INCLUDED.txt` inside the archive.
pub async fn download(State(ctx): Ctx, Query(q): Query<NameQuery>) -> Response {
    let Some(playing) = ctx.source() else {
        return error(
            StatusCode::CONFLICT,
            "this set has no file (the built-in demo)",
        );
    };
    let dir = playing.parent().unwrap_or(Path::new(".")).to_path_buf();
    let path = match super::sets::existing_set(&dir, &q.name) {
        Ok(p) => p,
        Err((status, m)) => return error(status, m),
    };
    let set = match SetFile::load(&path) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("{} has problems; fix it first: {e}", q.name),
            );
        }
    };
    let (files, outside) = set_files(&set, &dir);
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let name = q.name.clone();
    tokio::task::spawn_blocking(move || {
        let mut b = tar::Builder::new(ChunkWriter(tx.clone()));
        b.mode(tar::HeaderMode::Deterministic);
        let mut result = b.append_path_with_name(&path, &name);
        for f in &files {
            if result.is_err() {
                break;
            }
            result = b.append_path_with_name(dir.join(f), f);
        }
        if result.is_ok() && !outside.is_empty() {
            let text: String = outside
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            result = b.append_data(&mut h, "NOT-INCLUDED.txt", text.as_bytes());
        }
        if let Err(e) = result.and_then(|_| b.finish()) {
            // The client sees a cut-off archive; the log says why.
            log::warn!("web surface: the archive of {name} was cut off: {e}");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let file = q.name.trim_end_matches(".toml").to_string();
    (
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.tar\"", file.replace('"', "_")),
            ),
        ],
        Body::from_stream(ChunkStream(rx)),
    )
        .into_response()
}

/// A path from an archive, if it is a plain relative one (`a/b.wav`), at most four deep.
fn entry_path(p: &Path) -> Option<PathBuf> {
    let parts: Vec<_> = p.components().collect();
    (!parts.is_empty()
        && parts.len() <= 4
        && parts.iter().all(|c| match c {
            Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
            _ => false,
        }))
    .then(|| p.to_path_buf())
}

/// Why an archive was refused.
fn refuse(status: StatusCode, msg: String) -> Result<Vec<String>, (StatusCode, String)> {
    Err((status, msg))
}

/// Checks every entry of the tar at `tmp`, then unpacks its files into `dir`. Returns the
/// files written.
fn unpack(tmp: &Path, dir: &Path, max: u64) -> Result<Vec<String>, (StatusCode, String)> {
    let open = || std::fs::File::open(tmp).map(tar::Archive::new);
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    // First pass: the rules, before anything is written.
    let mut a = open().map_err(|e| bad(e.to_string()))?;
    let mut list = Vec::new();
    let mut total = 0u64;
    for e in a
        .entries()
        .map_err(|e| bad(format!("not a tar archive ({e})")))?
    {
        let e = e.map_err(|e| bad(format!("a damaged archive ({e})")))?;
        let t = e.header().entry_type();
        let raw = e.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let Some(p) = entry_path(&raw) else {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}: an archive may hold plain relative paths only (no `..`, no absolute or hidden paths)",
                    raw.display()
                ),
            );
        };
        if t.is_dir() {
            continue;
        }
        if !t.is_file() {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}: an archive may hold files and folders only (no links or devices)",
                    p.display()
                ),
            );
        }
        total += e.header().size().unwrap_or(u64::MAX);
        if list.len() >= MAX_ENTRIES || total > max {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the archive holds more than {MAX_ENTRIES} files or {} MB",
                    max >> 20
                ),
            );
        }
        if std::fs::symlink_metadata(dir.join(&p)).is_ok() {
            return refuse(
                StatusCode::CONFLICT,
                format!(
                    "{} is in the set's folder already: nothing was unpacked",
                    p.display()
                ),
            );
        }
        list.push(p);
    }
    // Second pass: write each file under a temporary name, then rename.
    let mut a = open().map_err(|e| bad(e.to_string()))?;
    let mut written = Vec::new();
    let root = dir.canonicalize().map_err(|e| bad(e.to_string()))?;
    for e in a.entries().map_err(|e| bad(e.to_string()))? {
        let mut e = e.map_err(|e| bad(e.to_string()))?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let Some(p) = e.path().ok().and_then(|p| entry_path(&p)) else {
            continue;
        };
        let target = dir.join(&p);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| bad(e.to_string()))?;
            if !parent.canonicalize().is_ok_and(|r| r.starts_with(&root)) {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("{}: leads out of the set's folder", p.display()),
                );
            }
        }
        let part = target.with_extension("unpack.part");
        let mut f =
            std::fs::File::create_new(&part).map_err(|e| bad(format!("{}: {e}", p.display())))?;
        let copied = std::io::copy(&mut (&mut e).take(max), &mut f);
        if let Err(err) = copied
            .and_then(|_| f.sync_all())
            .and_then(|_| std::fs::rename(&part, &target))
        {
            let _ = std::fs::remove_file(&part);
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}: {err}", p.display()),
            );
        }
        written.push(p.display().to_string());
    }
    Ok(written)
}

use std::io::Read;

/// `POST /api/sets/archive` with a tar as the body: unpacked into the set's folder (see the
/// module's rules). Then the archive's set is in the sets list.
pub async fn upload(State(ctx): Ctx, headers: HeaderMap, body: Body) -> Response {
    let Some(playing) = ctx.source() else {
        return error(
            StatusCode::CONFLICT,
            "this set has no folder (the built-in demo)",
        );
    };
    let dir = playing.parent().unwrap_or(Path::new(".")).to_path_buf();
    let max = ctx.upload_max;
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max)
    {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the archive is larger than {} MB", max >> 20),
        );
    }
    let tmp = super::library::part_path(&dir, "archive");
    let _guard = super::library::PartFile::new(tmp.clone());
    if let Err(e) = super::library::stream_body(&tmp, body, max).await {
        return e.into_response(max);
    }
    let (t2, d2) = (tmp.clone(), dir.clone());
    let result = tokio::task::spawn_blocking(move || unpack(&t2, &d2, max)).await;
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(Ok(files)) => {
            log::info!(
                "web surface: an archive of {} files unpacked into {}",
                files.len(),
                dir.display()
            );
            axum::Json(json!({"ok": true, "files": files})).into_response()
        }
        Ok(Err((status, msg))) => error(status, msg),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
