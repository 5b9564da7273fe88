//! Sets and the system from the page: the set files in the set's folder, one opened as text,
//! checked (each problem at its line), saved, applied in place (as SIGHUP) or switched to; the
//! last good copy shown and restored; the saved live state reset; what padlooper runs on and a
//! restart. Not real-time: the control loop does the reloads, asked through flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::WebContext;
use super::api::error;
use super::library::{folder, no_folder};
use crate::config::SetFile;

type Ctx = State<Arc<WebContext>>;

/// A set file name in the set's folder: a plain `NAME.toml`, nothing else.
pub fn set_in(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let ok = name.ends_with(".toml")
        && !name.starts_with('.')
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '));
    if !ok {
        return Err(format!(
            "{name:?}: a set is a NAME.toml in the set's folder (letters, digits, spaces, . - _)"
        ));
    }
    let p = dir.join(name);
    if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!("{name} is a symlink: not opened"));
    }
    Ok(p)
}

/// An existing set file `name` in `dir`, or the reply saying why not (400 or 404).
pub fn existing_set(dir: &Path, name: &str) -> Result<PathBuf, (StatusCode, String)> {
    match set_in(dir, name) {
        Ok(p) if p.is_file() => Ok(p),
        Ok(p) => Err((
            StatusCode::NOT_FOUND,
            format!("{} does not exist", p.display()),
        )),
        Err(m) => Err((StatusCode::BAD_REQUEST, m)),
    }
}

/// Each problem of `text` (as the set file at `path`) with its line, or nothing.
fn problems(path: &Path, text: &str) -> Vec<Value> {
    match SetFile::parse(path, text) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .0
            .iter()
            .map(|e| json!({"line": e.line, "column": e.column, "message": e.message, "text": e.to_string()}))
            .collect(),
    }
}

/// `GET /api/sets`: the set files in the set's folder, the one playing, and its last good copy.
pub async fn list(State(ctx): Ctx) -> Response {
    let Some((set, dir)) = folder(&ctx) else {
        return axum::Json(json!({"sets": [], "playing": null})).into_response();
    };
    let mut sets: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| set_in(&dir, n).is_ok() && dir.join(n).is_file())
                .collect()
        })
        .unwrap_or_default();
    sets.sort();
    let copy = crate::control::set::last_set::copy_dir()
        .and_then(|d| crate::control::set::last_set::recall(&d, &set))
        .is_some();
    axum::Json(json!({
        "folder": dir.display().to_string(),
        "sets": sets,
        "playing": set.file_name().map(|n| n.to_string_lossy().into_owned()),
        "last_good_copy": copy,
    }))
    .into_response()
}

#[derive(Deserialize)]
pub struct NameQuery {
    name: String,
}

/// `GET /api/sets/text?name=NAME.toml`: the set's text and its problems (if any).
pub async fn text(State(ctx): Ctx, Query(q): Query<NameQuery>) -> Response {
    let Some((_, dir)) = folder(&ctx) else {
        return no_folder();
    };
    let path = match set_in(&dir, &q.name) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    match crate::config::input::read_text(&path, "set", crate::config::input::SET_MAX) {
        Ok(t) => axum::Json(json!({"name": q.name, "problems": problems(&path, &t), "text": t}))
            .into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Save {
    name: String,
    text: String,
    /// Also play it (apply in place when it is the set playing, else switch to it).
    #[serde(default)]
    apply: bool,
    /// Only check: nothing is written.
    #[serde(default)]
    check: bool,
}

/// `POST /api/sets/save {"name", "text", "apply", "check"}`: saves (atomically) a set that
/// loads; one that would not is refused with its problems and nothing is written.
pub async fn save(State(ctx): Ctx, body: Bytes) -> Response {
    let s: Save = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("send {{\"name\", \"text\"}} ({e})"),
            );
        }
    };
    let Some((playing, dir)) = folder(&ctx) else {
        return no_folder();
    };
    let path = match set_in(&dir, &s.name) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let _edit = ctx.edit.lock().await;
    let found = problems(&path, &s.text);
    if !found.is_empty() {
        let first = found[0]["text"].as_str().unwrap_or("").to_string();
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": format!("the set would not load, so nothing was saved: {first}"), "problems": found})),
        )
            .into_response();
    }
    if s.check {
        return axum::Json(json!({"ok": true, "problems": []})).into_response();
    }
    if let Err(e) = crate::atomic_file::write_atomic(&path, s.text.as_bytes()) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write {}: {e}", path.display()),
        );
    }
    log::info!("web surface: {} saved", path.display());
    if s.apply {
        play(&ctx, &playing, &path);
    }
    axum::Json(json!({"ok": true, "applied": s.apply})).into_response()
}

/// Plays `path`: a reload when it is the set playing, else a switch to it.
fn play(ctx: &WebContext, playing: &Path, path: &Path) {
    if same(playing, path) {
        crate::control::live::shutdown::request_reload();
    } else if let Ok(mut o) = ctx.open.lock() {
        *o = Some(path.to_path_buf());
    }
}

fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// `POST /api/sets/apply {"name"}`: plays a saved set (in place when it is the one playing).
pub async fn apply(State(ctx): Ctx, body: Bytes) -> Response {
    let q: NameQuery = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("send {{\"name\"}} ({e})")),
    };
    let Some((playing, dir)) = folder(&ctx) else {
        return no_folder();
    };
    let path = match existing_set(&dir, &q.name) {
        Ok(p) => p,
        Err((status, m)) => return error(status, m),
    };
    let text = crate::config::input::read_text(&path, "set", crate::config::input::SET_MAX)
        .unwrap_or_default();
    let found = problems(&path, &text);
    if !found.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "the set has problems and was not applied; the set that plays is kept", "problems": found})),
        )
            .into_response();
    }
    play(&ctx, &playing, &path);
    axum::Json(json!({"ok": true})).into_response()
}

/// `GET /api/sets/last-good`: the last copy of the playing set that loaded (its text).
pub async fn last_good(State(ctx): Ctx) -> Response {
    let Some((playing, _)) = folder(&ctx) else {
        return no_folder();
    };
    match last_good_text(&playing) {
        Some(t) => axum::Json(json!({"text": t})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no last good copy is kept for this set (it is kept when a set loads as a service or after a reload)",
        ),
    }
}

/// The text of the playing set's last good copy (it loaded when it was kept).
fn last_good_text(playing: &Path) -> Option<String> {
    let dir = crate::control::set::last_set::copy_dir()?;
    crate::control::set::last_set::recall_text(&dir, playing).map(|(text, _)| text)
}

/// `POST /api/sets/restore`: the playing set's file replaced by its last good copy, applied.
pub async fn restore(State(ctx): Ctx) -> Response {
    let Some((playing, _)) = folder(&ctx) else {
        return no_folder();
    };
    let Some(text) = last_good_text(&playing) else {
        return error(
            StatusCode::NOT_FOUND,
            "no last good copy is kept for this set",
        );
    };
    let _edit = ctx.edit.lock().await;
    if let Err(e) = crate::atomic_file::write_atomic(&playing, text.as_bytes()) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    log::info!(
        "web surface: {} restored from its last good copy",
        playing.display()
    );
    crate::control::live::shutdown::request_reload();
    axum::Json(json!({"ok": true})).into_response()
}

/// `POST /api/state/reset`: forgets the saved live changes (as a controller's `reset_state`).
pub async fn reset_state(State(ctx): Ctx) -> Response {
    ctx.shared
        .reset_requested
        .store(true, std::sync::atomic::Ordering::Relaxed);
    axum::Json(json!({"ok": true})).into_response()
}

/// `GET /api/system`: versions, audio outputs, MIDI inputs with the profile each would use,
/// sample memory, the engine's settings.
pub async fn system(State(ctx): Ctx) -> Response {
    let info = tokio::task::spawn_blocking(|| {
        let outputs =
            crate::audio::quiet::without_stderr(false, crate::audio::output::list_outputs);
        let inputs =
            crate::audio::quiet::without_stderr(false, crate::midi::ports::describe_inputs)
                .unwrap_or_default();
        (outputs, inputs)
    })
    .await
    .unwrap_or_default();
    let st = &ctx.shared.engine;
    let (plan, held) = ctx.memory.lock().map(|m| m.clone()).unwrap_or_default();
    axum::Json(json!({
        "memory_plan": plan,
        "sample_memory": {"bytes": held.0, "float32_bytes": held.1},
        "version": env!("CARGO_PKG_VERSION"),
        "rate": ctx.shared.rate,
        "voices": ctx.voice_limit,
        "pads": st.pads.len(),
        "audio_outputs": info.0,
        "midi_inputs": info.1,
        "set": ctx.source().map(|p| p.display().to_string()),
        "service": std::env::var_os("NOTIFY_SOCKET").is_some(),
    }))
    .into_response()
}

/// `POST /api/system/restart`: padlooper stops cleanly; as a service, systemd starts it again.
pub async fn restart() -> Response {
    log::info!("web surface: restart asked for");
    crate::control::live::shutdown::request_stop();
    axum::Json(json!({"ok": true, "service": std::env::var_os("NOTIFY_SOCKET").is_some()}))
        .into_response()
}
