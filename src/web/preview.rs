//! The pad editor's live preview: a loop being dragged, or a knob turned, is heard at once,
//! before it is saved (settings go straight to the engine's command lane, as a controller's).
//! The page posts the region; the control loop (which holds the loaded samples and the pads'
//! configurations) checks it as the set loader would and sends the engine a
//! [`PadCmd::Reshape`](crate::engine::command::PadCmd::Reshape), then answers. The set file is
//! not touched: closing the editor without saving puts the saved region back. Not real-time.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::WebContext;
use super::api::error;
use super::pads::{Refusal, pad_with_sample, settings_object};
use crate::engine::command::{Command, EqMode, PadCmd, SendBus};

/// How long a preview waits for the control loop before the page is told it was not heard.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// A region to hear on a pad (seconds into its sample), waiting for the control loop.
#[derive(Debug)]
pub struct Preview {
    /// The pad (global id).
    pub pad: usize,
    /// Where it starts playing (None: at the loop start).
    pub start: Option<f64>,
    /// The loop's start.
    pub loop_start: f64,
    /// The loop's end (None: the sample's end).
    pub loop_end: Option<f64>,
    reply: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

impl Preview {
    /// Tells the page whether the region is heard (Err: why not, as the set loader says it).
    pub fn answer(mut self, r: Result<(), String>) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(r);
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    start: Option<f64>,
    #[serde(default)]
    loop_start: Option<f64>,
    #[serde(default)]
    loop_end: Option<f64>,
}

/// A time in seconds from the page: finite, not negative, below a day.
fn seconds(v: Option<f64>, key: &str) -> Result<Option<f64>, String> {
    match v {
        Some(t) if !(t.is_finite() && (0.0..86_400.0).contains(&t)) => Err(format!(
            "`{key}` must be a number of seconds from 0, not {t}"
        )),
        _ => Ok(v),
    }
}

/// `POST /api/pads/{id}/preview` `{"start": null, "loop_start": 2.0, "loop_end": 4.0}`: the pad
/// plays this region from now on (a playing pad keeps playing, cross-faded into it), the set
/// file unchanged. 200 once the engine has it; 422 with the loader's message when the region
/// does not fit the sample; 503 when nothing answered (no control loop).
pub async fn post_preview(
    State(ctx): State<Arc<WebContext>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let b = match settings_object(&body).and_then(|m| {
        serde_json::from_value::<Body>(serde_json::Value::Object(m)).map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("send {{\"start\", \"loop_start\", \"loop_end\"}} in seconds ({e})"),
            )
        })
    }) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let pad = match pad_with_sample(&ctx.set(), &id) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let checked = (|| {
        Ok::<_, String>((
            seconds(b.start, "start")?,
            seconds(b.loop_start, "loop_start")?.unwrap_or(0.0),
            seconds(b.loop_end, "loop_end")?,
        ))
    })();
    let (start, loop_start, loop_end) = match checked {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let p = Preview {
        pad,
        start,
        loop_start,
        loop_end,
        reply: Some(tx),
    };
    // The newest region wins: one still waiting is answered as superseded.
    let old = match ctx.preview.lock() {
        Ok(mut slot) => slot.replace(p),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "preview unavailable"),
    };
    if let Some(o) = old {
        o.answer(Ok(()));
    }
    match tokio::time::timeout(ANSWER_WITHIN, rx).await {
        Ok(Ok(Ok(()))) => axum::Json(json!({"ok": true})).into_response(),
        Ok(Ok(Err(msg))) => error(StatusCode::UNPROCESSABLE_ENTITY, msg),
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the preview was not heard: the player did not answer (is a set loading?); try again",
        ),
    }
}

/// The command a live setting becomes, after checking it against the parameter table.
fn live_command(key: &str, v: &serde_json::Value) -> Result<PadCmd, String> {
    use crate::engine::params::{self, ParamSpec};
    let number = |spec: &ParamSpec| -> Result<f32, String> {
        let x = v
            .as_f64()
            .ok_or_else(|| format!("`{key}` takes a number, not {v}"))?;
        if spec.contains(x) {
            Ok(x as f32)
        } else {
            Err(spec.out_of_range(x))
        }
    };
    let flag = || {
        v.as_bool()
            .ok_or_else(|| format!("`{key}` takes true or false, not {v}"))
    };
    Ok(match key {
        "gain_db" => PadCmd::Gain(crate::dsp::db_to_gain(number(&params::GAIN_DB)?)),
        "speed" => PadCmd::Speed(number(&params::SPEED)?),
        "transpose" => PadCmd::Transpose(number(&params::TRANSPOSE)?),
        "eq_low" => PadCmd::Eq(0, number(&params::EQ_KNOB)?),
        "eq_mid" => PadCmd::Eq(1, number(&params::EQ_KNOB)?),
        "eq_high" => PadCmd::Eq(2, number(&params::EQ_KNOB)?),
        "filter" => PadCmd::Filter(number(&params::FILTER)?),
        "resonance" => PadCmd::Resonance(number(&params::RESONANCE)?),
        "delay_send" => PadCmd::Send(SendBus::Delay, number(&params::DELAY_SEND)?),
        "reverb_send" => PadCmd::Send(SendBus::Reverb, number(&params::REVERB_SEND)?),
        "eq" => PadCmd::EqMode(match v.as_str() {
            Some("isolator") => EqMode::Isolator,
            Some("shelf") => EqMode::Shelf,
            _ => return Err(format!("`eq` is \"isolator\" or \"shelf\", not {v}")),
        }),
        "sync" => PadCmd::Sync(Some(flag()?)),
        "key_lock" => PadCmd::KeyLock(Some(flag()?)),
        _ => {
            return Err(format!(
                "`{key}` cannot change live (only {}); save it instead",
                LIVE_KEYS.join(", ")
            ));
        }
    })
}

/// The settings [`post_live`] changes.
pub const LIVE_KEYS: &[&str] = &[
    "gain_db",
    "speed",
    "transpose",
    "eq",
    "eq_low",
    "eq_mid",
    "eq_high",
    "filter",
    "resonance",
    "delay_send",
    "reverb_send",
    "sync",
    "key_lock",
];

/// `POST /api/pads/{id}/live` `{"gain_db": -3, "filter": 0.3}`: these settings change at once,
/// as a controller's knobs change them (gliding where the engine glides), the set file
/// unchanged. Keys: [`LIVE_KEYS`] (the EQ and filter as knobs 0..1, transpose in semitones
/// with cents as hundredths). Every value is checked against the parameter table first: one
/// out of range is refused (400, saying its range) and nothing changes.
pub async fn post_live(
    State(ctx): State<Arc<WebContext>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let map = match settings_object(&body) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "send a JSON object of settings"),
        Err(r) => return r.into_response(),
    };
    let pad = match pad_with_sample(&ctx.set(), &id) {
        Ok(p) => p as u16,
        Err(r) => return r.into_response(),
    };
    let cmds: Result<Vec<PadCmd>, String> = map.iter().map(|(k, v)| live_command(k, v)).collect();
    let cmds = match cmds {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    for c in cmds {
        if !ctx.send(Command::Pad(pad, c)) {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the player's command queue is full; try again",
            );
        }
    }
    axum::Json(json!({"ok": true})).into_response()
}
