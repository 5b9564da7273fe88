//! The pad editor's calls: a pad's settings as the set file has them, its sample's waveform
//! peaks and beat grid, and edits saved into the set file through the set writer (comments and
//! layout kept), checked as the set loader would before the file is replaced, then applied in
//! place like `systemctl reload`. Not real-time: decoding and analysis run on blocking threads.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::WebContext;
use super::api::error;
use crate::config::SetFile;
use crate::config::set::PadTempo;
use crate::config::set::writer::{PadPlace, SetWriter};
use crate::sample::SampleSource;
use crate::sample::peaks::Peaks;

type Ctx = State<Arc<WebContext>>;

/// Peaks kept in memory (the most recently used).
pub const PEAKS_KEPT: usize = 4;

/// The keys the editor may change, with the JSON kind each takes.
const EDITABLE: &[(&str, Kind)] = &[
    ("file", Kind::Text),
    ("mode", Kind::Text),
    ("gain_db", Kind::Number),
    ("speed", Kind::Number),
    ("loop", Kind::Bool),
    ("start", Kind::Number),
    ("loop_start", Kind::Number),
    ("loop_end", Kind::Number),
    ("sync", Kind::Bool),
    ("bpm", Kind::NumberOrAuto),
    ("beats", Kind::Number),
    ("key_lock", Kind::Bool),
    ("transpose", Kind::Number),
    ("choke", Kind::Integer),
    ("quantize", Kind::Text),
    ("eq_low", Kind::Number),
    ("eq_mid", Kind::Number),
    ("eq_high", Kind::Number),
    ("eq", Kind::Text),
    ("filter", Kind::Number),
    ("resonance", Kind::Number),
    ("delay_send", Kind::Number),
    ("reverb_send", Kind::Number),
    ("fine", Kind::Number),
    ("stems", Kind::Text),
    ("stems_on", Kind::Bool),
    ("stem_mute", Kind::TextList),
    ("stem_gain_db", Kind::NameNumbers),
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Number,
    Integer,
    Bool,
    NumberOrAuto,
    TextList,
    NameNumbers,
}

/// A pad number of `set`'s grid, from a URL.
fn pad_id(set: &SetFile, id: &str) -> Option<usize> {
    id.parse::<usize>()
        .ok()
        .filter(|&i| i < set.grid.total_pads())
}

fn pad_of(set: &SetFile, id: usize) -> Option<&crate::config::set::PadSpec> {
    set.pads.iter().find(|p| p.id == id)
}

/// A pad number from a URL whose pad has a sample in `set` (else the 404 to answer).
pub(super) fn pad_with_sample(set: &SetFile, id: &str) -> Result<usize, Refusal> {
    pad_id(set, id)
        .filter(|&i| pad_of(set, i).is_some())
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no pad {id} with a sample")))
}

/// A request body that must be a JSON object of settings (else the 400 to answer).
pub(super) fn settings_object(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "send a JSON object of settings",
        )),
        Err(e) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("not JSON ({e})"),
        )),
    }
}

fn mode_name(m: crate::engine::command::LaunchMode) -> &'static str {
    use crate::engine::command::LaunchMode as L;
    match m {
        L::Toggle => "toggle",
        L::Gate => "gate",
        L::OneShot => "oneshot",
        L::Retrigger => "retrigger",
    }
}

/// `GET /api/pads/{id}`: the pad's settings, where it sits, and whether it can be edited.
pub async fn get_pad(State(ctx): Ctx, UrlPath(id): UrlPath<String>) -> Response {
    let set = ctx.set();
    let Some(id) = pad_id(&set, &id) else {
        return error(StatusCode::NOT_FOUND, format!("no pad {id}"));
    };
    let g = &set.grid;
    let per_bank = g.rows * g.cols;
    let (bank, index) = (id / per_bank, id % per_bank);
    let mut v = json!({
        "id": id,
        "bank": bank,
        "row": index / g.cols,
        "col": index % g.cols,
        "editable": ctx.source().is_some(),
        "settings": Value::Null,
    });
    if let Some(p) = pad_of(&set, id) {
        let (bpm, beats) = match p.tempo {
            PadTempo::Bpm(b) => (json!(b), Value::Null),
            PadTempo::Beats(n) => (Value::Null, json!(n)),
            PadTempo::Auto => (json!("auto"), Value::Null),
            _ => (Value::Null, Value::Null),
        };
        let (kind, name) = match &p.source {
            SampleSource::File(f) => ("file", f.display().to_string()),
            SampleSource::Builtin(n) => ("builtin", n.clone()),
            SampleSource::Stems(s) => ("stems", s.to_string()),
        };
        v["source"] = json!({"kind": kind, "name": name});
        v["line"] = json!(p.line);
        v["settings"] = json!({
            "mode": mode_name(p.mode),
            "gain_db": p.gain_db,
            "speed": p.speed,
            "loop": p.looping,
            "start": p.start,
            "loop_start": p.loop_start,
            "loop_end": p.loop_end,
            "sync": p.sync,
            "bpm": bpm,
            "beats": beats,
            "key_lock": p.key_lock,
            "transpose": p.transpose,
            "choke": p.choke,
            "quantize": p.quantize.map(crate::engine::command::Quantize::name),
            "grid_offset": p.grid_offset,
            "eq_low": p.fx.eq[0],
            "eq_mid": p.fx.eq[1],
            "eq_high": p.fx.eq[2],
            "eq": match p.fx.eq_mode {
                crate::engine::command::EqMode::Shelf => "shelf",
                crate::engine::command::EqMode::Isolator => "isolator",
            },
            "filter": p.fx.filter,
            "resonance": p.fx.resonance,
            "delay_send": p.fx.sends[0],
            "reverb_send": p.fx.sends[1],
            "stems_on": p.stems.on,
            "stem_mute": p.stems.mute,
            "stem_gain_db": p
                .stems
                .gain_db
                .iter()
                .map(|(k, g)| (k.clone(), json!(g)))
                .collect::<Map<String, Value>>(),
        });
        if let Some(names) = set.stem_names(id) {
            v["stems"] = json!(names);
        }
    }
    axum::Json(v).into_response()
}

/// The pad's sample as a source of peaks: a file (made absolute) or a built-in sound.
fn peaks_source(set: &SetFile, id: usize) -> Option<SampleSource> {
    match &pad_of(set, id)?.source {
        s @ (SampleSource::File(_) | SampleSource::Builtin(_)) => Some(s.clone()),
        // A stem file's own mix track, or a stems folder's first stem.
        SampleSource::Stems(s) => s.paths().ok()?.first().cloned().map(SampleSource::File),
    }
}

/// The peaks of `src`, from memory or made now (on a blocking thread).
async fn peaks_of(ctx: &Arc<WebContext>, src: SampleSource) -> Result<Arc<Peaks>, String> {
    let stamp = match &src {
        SampleSource::File(p) => std::fs::metadata(p)
            .and_then(|m| m.modified())
            .map_err(|e| format!("{}: {e}", p.display()))
            .ok(),
        _ => None,
    };
    if let Ok(cache) = ctx.peaks.lock()
        && let Some((_, _, p)) = cache.iter().find(|(s, t, _)| *s == src && *t == stamp)
    {
        return Ok(p.clone());
    }
    let s2 = src.clone();
    let made = tokio::task::spawn_blocking(move || match &s2 {
        SampleSource::File(p) => Peaks::of_file(p).map_err(|e| e.to_string()),
        SampleSource::Builtin(n) => crate::sample::builtin::render(n, 48_000)
            .map(|v| Peaks::of_samples(&v, 2, 48_000))
            .ok_or_else(|| format!("no built-in sound {n:?}")),
        SampleSource::Stems(_) => Err("stems have no single waveform".into()),
    })
    .await
    .map_err(|e| e.to_string())??;
    let made = Arc::new(made);
    if let Ok(mut cache) = ctx.peaks.lock() {
        cache.retain(|(s, _, _)| *s != src);
        if cache.len() >= PEAKS_KEPT {
            cache.remove(0);
        }
        cache.push((src, stamp, made.clone()));
    }
    Ok(made)
}

#[derive(Deserialize)]
pub struct PeaksQuery {
    from: Option<f64>,
    to: Option<f64>,
    columns: Option<usize>,
}

/// `GET /api/pads/{id}/peaks?from=S&to=S&columns=N`: per channel `[min, max]` of each column.
pub async fn get_peaks(
    State(ctx): Ctx,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<PeaksQuery>,
) -> Response {
    let set = ctx.set();
    let Some(src) = id.parse::<usize>().ok().and_then(|i| peaks_source(&set, i)) else {
        return error(StatusCode::NOT_FOUND, format!("pad {id} has no sample"));
    };
    let peaks = match peaks_of(&ctx, src).await {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("cannot read the sample: {e}"),
            );
        }
    };
    let from = q.from.filter(|f| f.is_finite()).unwrap_or(0.0).max(0.0);
    let to =
        q.to.filter(|t| t.is_finite() && *t > from)
            .unwrap_or(peaks.seconds().max(from + 0.001));
    let columns = q.columns.unwrap_or(800).clamp(1, 4096);
    let channels: Vec<Vec<[f32; 2]>> = peaks
        .range(from, to, columns)
        .into_iter()
        .map(|c| c.into_iter().map(|(lo, hi)| [lo, hi]).collect())
        .collect();
    axum::Json(json!({
        "seconds": peaks.seconds(),
        "rate": peaks.rate,
        "channels": peaks.channels,
        "from": from,
        "to": to,
        "columns": columns,
        "peaks": channels,
    }))
    .into_response()
}

/// `GET /api/pads/{id}/grid`: the sample's analysed tempo, beats and downbeats (analysed now
/// when the cache has none: may take a few seconds).
pub async fn get_grid(State(ctx): Ctx, UrlPath(id): UrlPath<String>) -> Response {
    let set = ctx.set();
    let Some(SampleSource::File(path)) =
        id.parse::<usize>().ok().and_then(|i| peaks_source(&set, i))
    else {
        return axum::Json(json!({"grid": null, "why": "only files are analysed"})).into_response();
    };
    let prefs = crate::control::set::analyse::prefs(&set);
    let made = tokio::task::spawn_blocking(move || {
        let dir = crate::sample::stream::prepare::default_cache_dir();
        crate::sample::analysis::cache::AnalysisCache::under(&dir)
            .file(&path, &prefs)
            .map(|(a, _)| a)
            .map_err(|e| e.to_string())
    })
    .await;
    match made {
        Ok(Ok(a)) => axum::Json(json!({
            "grid": a.grid().map(|g| json!({"bpm": g.bpm, "offset": g.offset, "beats_per_bar": g.beats_per_bar})),
            "beats": a.beats,
            "downbeats": a.downbeats,
        }))
        .into_response(),
        Ok(Err(e)) => axum::Json(json!({"grid": null, "why": e})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// A JSON value as the TOML value `key` takes, or why not.
fn toml_value(key: &str, kind: Kind, v: &Value) -> Result<toml_edit::Value, String> {
    let bad = |what: &str| Err(format!("`{key}` takes {what}, not {v}"));
    match (kind, v) {
        (Kind::Text, Value::String(s)) => Ok(s.as_str().into()),
        (Kind::Bool, Value::Bool(b)) => Ok((*b).into()),
        (Kind::Integer, Value::Number(n)) => {
            n.as_i64().map(Into::into).map_or(bad("a whole number"), Ok)
        }
        (Kind::Number | Kind::NumberOrAuto, Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(f.into()),
            _ => bad("a number"),
        },
        (Kind::NumberOrAuto, Value::String(s)) if s == "auto" => Ok("auto".into()),
        (Kind::TextList, Value::Array(items)) => {
            let mut a = toml_edit::Array::new();
            for i in items {
                match i.as_str() {
                    Some(s) => a.push(s),
                    None => return bad("a list of names"),
                }
            }
            Ok(toml_edit::Value::Array(a))
        }
        (Kind::TextList, _) => bad("a list of names"),
        (Kind::NameNumbers, Value::Object(m)) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, n) in m {
                match n.as_f64().filter(|f| f.is_finite()) {
                    Some(f) => {
                        t.insert(k, f.into());
                    }
                    None => return bad("names with numbers ({\"drums\": -3})"),
                }
            }
            Ok(toml_edit::Value::InlineTable(t))
        }
        (Kind::NameNumbers, _) => bad("names with numbers ({\"drums\": -3})"),
        (Kind::Text, _) => bad("text"),
        (Kind::Bool, _) => bad("true or false"),
        (Kind::Integer, _) => bad("a whole number"),
        (Kind::Number, _) => bad("a number"),
        (Kind::NumberOrAuto, _) => bad("a number or \"auto\""),
    }
}

/// The key written on line `line` (1-based) of `text`, if the line is `key = ...`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    let k = k.trim();
    (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| k.to_string())
}

/// `POST /api/pads/{id}/settings` `{"loop_end": 4.0, "bpm": null, ...}`: changes (null
/// removes the key) saved into the set file and applied. A change that would break the set is
/// refused with each problem's line and key; the file is left as it was.
pub async fn post_settings(State(ctx): Ctx, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    let changes = match settings_object(&body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let set = ctx.set();
    let Some(id) = pad_id(&set, &id) else {
        return error(StatusCode::NOT_FOUND, format!("no pad {id}"));
    };
    let Some(path) = ctx.source() else {
        return error(
            StatusCode::CONFLICT,
            "this set has no file to save into (the built-in demo, or a fallback copy): run padlooper with --set FILE",
        );
    };
    let _edit = ctx.edit.lock().await;
    match edit_pad(&set, &path, id, &changes) {
        Ok(()) => {
            crate::control::live::shutdown::request_reload();
            log::info!(
                "web surface: pad {id} edited in {} ({} setting(s)); applying",
                path.display(),
                changes.len()
            );
            axum::Json(json!({"ok": true})).into_response()
        }
        Err(r) => r.into_response(),
    }
}

/// Writes `changes` into pad `id` of the set file at `path`, if the result loads.
fn edit_pad(
    set: &SetFile,
    path: &Path,
    id: usize,
    changes: &Map<String, Value>,
) -> Result<(), Refusal> {
    if changes.is_empty() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "no settings given"));
    }
    let g = &set.grid;
    let per_bank = g.rows * g.cols;
    let place = PadPlace {
        bank: id / per_bank,
        index: id % per_bank,
    };
    let text = crate::config::input::read_text(path, "set", crate::config::input::SET_MAX)
        .map_err(|e| Refusal::new(StatusCode::CONFLICT, e.to_string()))?;
    let name = path.display().to_string();
    let mut w = SetWriter::parse(&name, &text)
        .map_err(|e| Refusal::new(StatusCode::CONFLICT, e.to_string()))?;
    for (key, v) in changes {
        let Some(&(_, kind)) = EDITABLE.iter().find(|(k, _)| k == key) else {
            let keys: Vec<&str> = EDITABLE.iter().map(|(k, _)| *k).collect();
            return Err(Refusal::problems(
                format!("`{key}` cannot be edited here"),
                vec![json!({"key": key, "message": format!("editable: {}", keys.join(", "))})],
            ));
        };
        if v.is_null() {
            w.remove_pad_key(place, g.cols, key);
            continue;
        }
        if matches!(key.as_str(), "eq_low" | "eq_mid" | "eq_high") {
            // The knob replaces the same band given in dB.
            w.remove_pad_key(place, g.cols, &format!("{key}_db"));
        }
        let tv = toml_value(key, kind, v)
            .map_err(|m| Refusal::problems(m.clone(), vec![json!({"key": key, "message": m})]))?;
        if (key == "file" || key == "stems")
            && let Some(f) = v.as_str()
            && let Err(m) = super::library::confined_any(path, f)
        {
            return Err(Refusal::problems(
                m.clone(),
                vec![json!({"key": "file", "message": m})],
            ));
        }
        w.set_pad(place, g.cols, key, tv)
            .map_err(|e| Refusal::new(StatusCode::CONFLICT, e.to_string()))?;
    }
    let new = w.text();
    if let Err(errors) = SetFile::parse(path, &new) {
        let list: Vec<Value> = errors
            .0
            .iter()
            .map(
                |e| json!({"line": e.line, "key": key_on_line(&new, e.line), "message": e.message}),
            )
            .collect();
        return Err(Refusal::problems(
            format!(
                "the set would not load, so nothing was saved: {}",
                errors.0.first().map_or(String::new(), |e| e.to_string())
            ),
            list,
        ));
    }
    w.save(path)
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// Why an edit was refused: a status, a message, and each problem's line and key.
pub struct Refusal(StatusCode, String, Vec<Value>);

impl Refusal {
    pub(super) fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        Self(status, msg.into(), Vec::new())
    }

    /// 400 with the problems listed: `{"error": ..., "problems": [{"line", "key", "message"}]}`.
    fn problems(msg: String, list: Vec<Value>) -> Self {
        Self(StatusCode::BAD_REQUEST, msg, list)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({"error": self.1, "problems": self.2})),
        )
            .into_response()
    }
}
