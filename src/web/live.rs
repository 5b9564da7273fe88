//! The live view: one sampler task builds the state 25 times a second (the only reader of the
//! pad meters), every WebSocket client gets the newest one (a `watch` channel: no queue can
//! grow), and a client's presses go to the engine like a controller's. Not real-time.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use serde::Deserialize;
use serde_json::{Value, json};

use super::WebContext;
use crate::control::live::log_ring;
use crate::engine::command::{Command, PadCmd, PadId, TransportCmd};
use crate::engine::record::{RecordCmd, RecordSource};
use crate::midi::leds::{PadLook, pad_look};
use crate::midi::state::NONE;

/// How often the state is sampled and sent (25 per second).
pub const PERIOD: Duration = Duration::from_millis(40);
/// A client that has not taken a message for this long is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// A client is pinged every second; one that answers no ping for this long is dropped (it does
/// not read: a page in the background, a phone that lost its network).
pub const PONG_TIMEOUT: Duration = Duration::from_secs(5);
/// Live clients at once (more are refused with 503).
pub const MAX_CLIENTS: usize = 16;
/// Largest message a client may send.
pub const MAX_MESSAGE: usize = 4096;

fn look_name(l: PadLook) -> &'static str {
    match l {
        PadLook::Empty => "empty",
        PadLook::Loaded => "loaded",
        PadLook::Playing => "playing",
        PadLook::QueuedStart => "queued_start",
        PadLook::QueuedStop => "queued_stop",
        PadLook::Selected => "selected",
        PadLook::Error => "error",
    }
}

/// dBFS of a linear level (-120 for silence), rounded to 0.1 dB.
fn db(x: f32) -> f64 {
    let d = if x > 1e-6 {
        20.0 * (x as f64).log10()
    } else {
        -120.0
    };
    (d * 10.0).round() / 10.0
}

/// The state as the page shows it; takes the pad meters when `meters` (the sampler only).
pub fn snapshot(ctx: &WebContext, meters: bool) -> Value {
    let sh = &ctx.shared;
    let st = &sh.engine;
    let layout = ctx.layout();
    let bank = sh.bank.load(Ordering::Relaxed);
    let selected = sh.selected.load(Ordering::Relaxed);
    let g = &sh.grid;
    let mut cells = Vec::with_capacity(g.rows * g.cols);
    for row in 0..g.rows {
        for col in 0..g.cols {
            cells.push(match sh.pad_at(bank, row, col) {
                Some(p) => {
                    let level = if meters { st.meters.take(p) } else { 0.0 };
                    let flags = st.pads.flags(p);
                    json!({
                        "id": p,
                        "look": look_name(pad_look(sh.status(p), selected == p)),
                        "level_db": db(level),
                        "key_lock": flags.has(crate::engine::shared::PadFlags::KEY_LOCK),
                        "sync": flags.has(crate::engine::shared::PadFlags::SYNC),
                        "stems": sh.stems(p).len(),
                    })
                }
                None => Value::Null,
            });
        }
    }
    let (peak, limiter) = if meters {
        st.meters.take_master()
    } else {
        (0.0, 1.0)
    };
    let t = &st.transport;
    let bpb = t.beats_per_bar().max(1) as f64;
    let beat = t.beat().max(0.0);
    let drops: Vec<Value> = crate::engine::shared::COUNTERS
        .iter()
        .filter_map(|c| {
            let n = st.counters.get(c.counter);
            (n > 0).then(|| json!({"label": c.label, "count": n, "advice": c.advice}))
        })
        .collect();
    json!({
        "type": "state",
        "layout": layout.version,
        "bank": bank,
        "banks": g.banks,
        "rows": g.rows,
        "cols": g.cols,
        "selected": (selected != NONE).then_some(selected),
        "cells": cells,
        "master": {"peak_db": db(peak), "limiter_db": db(limiter)},
        "transport": {
            "bpm": (t.bpm() as f64 * 100.0).round() / 100.0,
            "running": t.running(),
            "bar": (beat / bpb).floor() as u64 + 1,
            "beat": (beat % bpb).floor() as u64 + 1,
            "beats_per_bar": bpb as u32,
        },
        "load": st.load_permille.load(Ordering::Relaxed) as f64 / 10.0,
        "load_max": st.load_max_permille.load(Ordering::Relaxed) as f64 / 10.0,
        "xruns": st.xruns.load(Ordering::Relaxed),
        "overloads": st.overloads.load(Ordering::Relaxed),
        "voices": st.active_voices.load(Ordering::Relaxed),
        "voice_limit": ctx.voice_limit,
        "drops": drops,
        "link": {"on": sh.link.on.load(Ordering::Relaxed), "peers": sh.link.peers.load(Ordering::Relaxed)},
        "record": record_state(&st.record),
        "input_db": (st.record.input_level() > 0.0).then(|| st.record.input_db().max(-99.0)),
        "log": log_ring::last_seq(),
    })
}

/// What recording does: `{"state": "idle" | "armed" | "recording" | "finishing" |
/// "overdubbing", "pad": ID}`.
fn record_state(r: &crate::engine::record::RecordView) -> Value {
    use crate::engine::record::RecordState as S;
    let (state, pad) = match r.state() {
        S::Idle => ("idle", None),
        S::Armed(p) => ("armed", Some(p)),
        S::Recording(p) => ("recording", Some(p)),
        S::Finishing(p) => ("finishing", Some(p)),
        S::Overdubbing(p) => ("overdubbing", Some(p)),
    };
    json!({"state": state, "pad": pad})
}

/// Samples the state every [`PERIOD`] into `ctx`'s channel, metering pads while clients watch.
pub async fn sampler(ctx: Arc<WebContext>) {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let watching = ctx.clients.load(Ordering::Relaxed) > 0;
        let meters = &ctx.shared.engine.meters;
        if watching != meters.wanted() {
            meters.watch(watching);
        }
        let s = snapshot(&ctx, watching).to_string();
        ctx.state.send_replace(Arc::new(s));
    }
}

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ClientMsg {
    /// Touch down on a pad (global id).
    Press(usize),
    /// Touch up.
    Release(usize),
    /// Show bank N (0-based), as a controller's bank button.
    Bank(usize),
    /// start, stop, toggle or tap.
    Transport(String),
    /// Master volume 0..1.
    Volume(f32),
    /// The record button on a pad: arm a take of the audio input (or end the one it records).
    Record(usize),
    /// The same, recording the master output.
    Resample(usize),
    /// The overdub button on a pad: sum the input into its loop (or end the pass).
    Overdub(usize),
    /// Undo the pad's last take, overdub pass or clear.
    Undo(usize),
    /// Redo what undo took back.
    Redo(usize),
    /// Clear the pad's loop (undo brings it back).
    Clear(usize),
}

/// Pads a client holds; released when the client goes (its task ends or is dropped), so a gate
/// pad never stays on because a phone lost its Wi-Fi.
struct Held {
    ctx: Arc<WebContext>,
    pads: Vec<usize>,
}

impl Drop for Held {
    fn drop(&mut self) {
        for p in self.pads.drain(..) {
            self.ctx.send(Command::Pad(p as PadId, PadCmd::Release));
        }
        self.ctx.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a client action was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActError {
    /// The action is wrong (a pad or bank that is not there, an unknown word).
    #[error("{0}")]
    Bad(String),
    /// Not yet: the set is still loading (try again in a moment).
    #[error("{0}")]
    NotReady(String),
}

impl From<String> for ActError {
    fn from(s: String) -> Self {
        ActError::Bad(s)
    }
}

/// Carries out one client action; Err says what was wrong with it.
pub fn act(ctx: &WebContext, msg: &ClientMsg) -> Result<(), ActError> {
    let pads = ctx.shared.engine.pads.len();
    let pad = |p: usize| {
        if p < pads {
            Ok(p as PadId)
        } else {
            Err(format!(
                "no pad {p}: pads are 0 to {}",
                pads.saturating_sub(1)
            ))
        }
    };
    let ready = ctx.shared.ready.load(Ordering::Acquire);
    let not_ready = |what: String| {
        ActError::NotReady(format!(
            "{what}: the set is still loading; try again in a moment"
        ))
    };
    let sent = match *msg {
        ClientMsg::Press(p)
            if !ready
                && ctx.shared.assigned(p)
                && ctx.shared.engine.pads.get(p) == crate::engine::shared::PadState::Empty =>
        {
            return Err(not_ready(format!("pad {p}'s sample is not loaded yet")));
        }
        ClientMsg::Record(p)
        | ClientMsg::Resample(p)
        | ClientMsg::Overdub(p)
        | ClientMsg::Undo(p)
        | ClientMsg::Redo(p)
        | ClientMsg::Clear(p)
            if !ready =>
        {
            pad(p)?;
            return Err(not_ready("recording is not set up yet".into()));
        }
        ClientMsg::Press(p) => ctx.send(Command::Pad(pad(p)?, PadCmd::Press)),
        ClientMsg::Release(p) => ctx.send(Command::Pad(pad(p)?, PadCmd::Release)),
        ClientMsg::Record(p) => ctx.send(Command::Record(
            pad(p)?,
            RecordCmd::Press(RecordSource::Input),
        )),
        ClientMsg::Resample(p) => ctx.send(Command::Record(
            pad(p)?,
            RecordCmd::Press(RecordSource::Master),
        )),
        ClientMsg::Overdub(p) => ctx.send(Command::Record(pad(p)?, RecordCmd::Overdub)),
        ClientMsg::Undo(p) => ctx.send(Command::Record(pad(p)?, RecordCmd::Undo)),
        ClientMsg::Redo(p) => ctx.send(Command::Record(pad(p)?, RecordCmd::Redo)),
        ClientMsg::Clear(p) => ctx.send(Command::Record(pad(p)?, RecordCmd::Clear)),
        ClientMsg::Bank(b) => {
            let banks = ctx.shared.grid.banks;
            if b >= banks {
                return Err(format!("no bank {b}: banks are 0 to {}", banks - 1).into());
            }
            ctx.shared.bank.store(b, Ordering::Relaxed);
            ctx.shared.touch();
            true
        }
        ClientMsg::Transport(ref a) => {
            let cmd = match a.as_str() {
                "start" => TransportCmd::Start,
                "stop" => TransportCmd::Stop,
                "toggle" => TransportCmd::Toggle,
                "tap" => TransportCmd::Tap,
                _ => {
                    return Err(format!(
                        "unknown transport action {a:?}: use start, stop, toggle or tap"
                    )
                    .into());
                }
            };
            ctx.send(Command::Transport(cmd))
        }
        ClientMsg::Volume(v) => {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("volume {v} is outside 0 to 1").into());
            }
            ctx.send(Command::MasterVolume(v))
        }
    };
    if sent {
        Ok(())
    } else {
        Err(ActError::NotReady(
            "the engine's command queue is full; try again".into(),
        ))
    }
}

/// Sends one message; false when the client is gone or has not read for [`SEND_TIMEOUT`]
/// (then it is dropped, said in the log).
async fn send(ws: &mut WebSocket, text: String) -> bool {
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            log::info!(
                "web client dropped: it took nothing for {} s (a page in the background or a lost network)",
                SEND_TIMEOUT.as_secs()
            );
            false
        }
    }
}

/// One live client: the layout and log when they change, the state at every sample, its
/// presses to the engine. Ends when the client goes or stops reading.
pub async fn client(mut ws: WebSocket, ctx: Arc<WebContext>) {
    let mut held = Held {
        ctx: ctx.clone(),
        pads: Vec::new(),
    };
    let mut state = ctx.state.subscribe();
    let mut layout_sent = 0;
    let mut log_sent = log_ring::last_seq().saturating_sub(50);
    let mut ping = tokio::time::interval(Duration::from_secs(1));
    let mut last_pong = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if last_pong.elapsed() > PONG_TIMEOUT {
                    log::info!(
                        "web client dropped: it answered nothing for {} s (a page in the background or a lost network)",
                        PONG_TIMEOUT.as_secs()
                    );
                    break;
                }
                let sent = tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Ping(Default::default()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                let layout = ctx.layout();
                if layout.version != layout_sent {
                    layout_sent = layout.version;
                    let mut v = serde_json::to_value(&*layout).unwrap_or(Value::Null);
                    v["type"] = "layout".into();
                    v["login"] = ctx.needs_login().into();
                    if !send(&mut ws, v.to_string()).await {
                        break;
                    }
                }
                if log_ring::last_seq() > log_sent {
                    let lines = log_ring::since(log_sent);
                    log_sent = lines.last().map_or(log_sent, |l| l.seq);
                    if !send(&mut ws, json!({"type": "log", "lines": lines}).to_string()).await {
                        break;
                    }
                }
                let s = state.borrow_and_update().clone();
                if !send(&mut ws, s.to_string()).await {
                    break;
                }
            }
            msg = ws.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Pong(_))) => {
                        last_pong = tokio::time::Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Ping(_))) => continue,
                    _ => break,
                };
                let reply = match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(m) => {
                        match m {
                            ClientMsg::Press(p) if !held.pads.contains(&p) => held.pads.push(p),
                            ClientMsg::Release(p) => held.pads.retain(|&q| q != p),
                            _ => {}
                        }
                        act(&ctx, &m).err().map(|e| e.to_string())
                    }
                    Err(e) => Some(format!("not a message padlooper knows ({e}); see docs/web.md")),
                };
                if let Some(e) = reply
                    && !send(&mut ws, json!({"type": "error", "error": e}).to_string()).await
                {
                    break;
                }
            }
        }
    }
}
