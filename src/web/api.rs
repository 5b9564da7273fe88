//! The JSON API and its guard (docs/web.md lists every route). Not real-time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::WebContext;
use super::guard::{COOKIE, changes_state, host_allowed, same_origin, session_token};
use super::live::{self, ClientMsg};
use crate::control::live::log_ring;

/// Largest request body the API takes.
pub const MAX_BODY: usize = 64 * 1024;

type Ctx = State<Arc<WebContext>>;

/// A JSON error reply: `{"error": "..."}`.
pub fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": msg.into() }))).into_response()
}

fn ok() -> Response {
    axum::Json(json!({ "ok": true })).into_response()
}

/// The API and the page.
pub fn router(ctx: Arc<WebContext>) -> Router {
    Router::new()
        .route("/api/session", get(session))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/state", get(state))
        .route("/api/layout", get(layout))
        .route("/api/log", get(log_lines))
        .route("/api/sets", get(super::sets::list))
        .route("/api/sets/text", get(super::sets::text))
        .route("/api/sets/save", post(super::sets::save))
        .route("/api/sets/apply", post(super::sets::apply))
        .route(
            "/api/sets/archive",
            get(super::archive::download)
                .post(super::archive::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/sets/last-good", get(super::sets::last_good))
        .route("/api/sets/restore", post(super::sets::restore))
        .route("/api/state/reset", post(super::sets::reset_state))
        .route("/api/system", get(super::sets::system))
        .route("/api/system/restart", post(super::sets::restart))
        .route("/api/library", get(super::library::list))
        .route(
            "/api/library/upload",
            post(super::library::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/library/rename", post(super::library::rename))
        .route("/api/library/analysis", get(super::library::analysis))
        .route("/api/library/delete", post(super::library::delete))
        .route("/api/pads/{id}", get(super::pads::get_pad))
        .route("/api/pads/{id}/peaks", get(super::pads::get_peaks))
        .route("/api/pads/{id}/grid", get(super::pads::get_grid))
        .route("/api/pads/{id}/settings", post(super::pads::post_settings))
        .route("/api/pads/{id}/preview", post(super::preview::post_preview))
        .route("/api/pads/{id}/live", post(super::preview::post_live))
        .route("/api/pads/{id}/{action}", post(pad_action))
        .route("/api/bank", post(bank))
        .route("/api/transport", post(transport))
        .route("/api/master", post(master))
        .route("/api/ws", get(ws))
        .route("/api/{*rest}", axum::routing::any(no_route))
        .fallback(super::assets::serve)
        .method_not_allowed_fallback(not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(ctx.clone(), guard))
        .with_state(ctx)
}

/// Host, origin and login checks on every request; security headers on every reply.
async fn guard(State(ctx): Ctx, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let path = req.uri().path().to_string();
    let mut resp = if !host_allowed(host, &ctx.hosts) {
        error(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers to its own address only (an IP address, localhost or its host name)",
        )
    } else if (changes_state(req.method()) || path == "/api/ws") && !same_origin(headers) {
        error(
            StatusCode::FORBIDDEN,
            "cross-site request refused: use the page this server serves",
        )
    } else if ctx.needs_login()
        && path.starts_with("/api/")
        && path != "/api/login"
        && path != "/api/session"
        && !session_token(headers).is_some_and(|t| ctx.sessions.valid(t))
    {
        error(StatusCode::UNAUTHORIZED, "log in first (POST /api/login)")
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(
        h,
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    if path.starts_with("/api/") {
        set(h, "cache-control", "no-store");
    }
    resp
}

/// 400: the body is not what the call takes.
fn bad_body(e: serde_json::Error) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        format!("the request body is not what this call takes ({e}); see docs/web.md"),
    )
}

/// Runs `f` on the JSON body as `T`, or answers 400 saying what is wrong with it.
fn with_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    f: impl FnOnce(T) -> Response,
) -> Response {
    serde_json::from_slice(body).map_or_else(bad_body, f)
}

async fn not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "this call takes another method (GET reads, POST acts); see docs/web.md",
    )
}

async fn no_route() -> Response {
    error(StatusCode::NOT_FOUND, "no such API call; see docs/web.md")
}

async fn session(State(ctx): Ctx, headers: HeaderMap) -> Response {
    let logged_in =
        !ctx.needs_login() || session_token(&headers).is_some_and(|t| ctx.sessions.valid(t));
    axum::Json(json!({ "login_required": ctx.needs_login(), "logged_in": logged_in }))
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    password: String,
}

/// Only one password check runs at a time (argon2 takes ~50 ms of a core on purpose).
static CHECKING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

async fn login(
    State(ctx): Ctx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let Some(hash) = ctx.password.clone() else {
        return error(
            StatusCode::BAD_REQUEST,
            "no password is set: no login needed",
        );
    };
    let l: Login = match serde_json::from_slice(&body) {
        Ok(l) => l,
        Err(e) => return bad_body(e),
    };
    if let Err(wait) = ctx.limit.check(peer.ip()) {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many wrong passwords; try again in {wait} s"),
        );
    }
    let Ok(_permit) = CHECKING.acquire().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let good = tokio::task::spawn_blocking(move || super::auth::verify(&hash, &l.password))
        .await
        .unwrap_or(false);
    if !good {
        ctx.limit.failed(peer.ip());
        log::warn!("web surface: a wrong password from {}", peer.ip());
        return error(StatusCode::UNAUTHORIZED, "wrong password");
    }
    let Some(token) = ctx.sessions.open() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a session",
        );
    };
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000");
    let mut r = ok();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(ctx): Ctx, headers: HeaderMap) -> Response {
    if let Some(t) = session_token(&headers) {
        ctx.sessions.close(t);
    }
    let mut r = ok();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "padlooper_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    r
}

async fn state(State(ctx): Ctx) -> Response {
    let s = ctx.state.borrow().clone();
    ([(header::CONTENT_TYPE, "application/json")], s.to_string()).into_response()
}

async fn layout(State(ctx): Ctx) -> Response {
    axum::Json(&*ctx.layout()).into_response()
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn log_lines(Query(q): Query<Since>) -> Response {
    axum::Json(json!({ "lines": log_ring::since(q.since.unwrap_or(0)) })).into_response()
}

fn acted(ctx: &WebContext, m: ClientMsg) -> Response {
    match live::act(ctx, &m) {
        Ok(()) => ok(),
        Err(live::ActError::NotReady(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn pad_action(State(ctx): Ctx, Path((id, action)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse::<usize>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a pad number"),
        );
    };
    match action.as_str() {
        "press" => acted(&ctx, ClientMsg::Press(id)),
        "release" => acted(&ctx, ClientMsg::Release(id)),
        "record" => acted(&ctx, ClientMsg::Record(id)),
        "resample" => acted(&ctx, ClientMsg::Resample(id)),
        "overdub" => acted(&ctx, ClientMsg::Overdub(id)),
        "undo" => acted(&ctx, ClientMsg::Undo(id)),
        "redo" => acted(&ctx, ClientMsg::Redo(id)),
        "clear" => acted(&ctx, ClientMsg::Clear(id)),
        _ => error(
            StatusCode::NOT_FOUND,
            format!(
                "unknown pad action {action:?}: use press, release, record, resample, overdub, undo, redo or clear"
            ),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BankBody {
    bank: usize,
}

async fn bank(State(ctx): Ctx, body: Bytes) -> Response {
    with_body(&body, |b: BankBody| acted(&ctx, ClientMsg::Bank(b.bank)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransportBody {
    action: String,
}

async fn transport(State(ctx): Ctx, body: Bytes) -> Response {
    with_body(&body, |t: TransportBody| {
        acted(&ctx, ClientMsg::Transport(t.action))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MasterBody {
    volume: f32,
}

async fn master(State(ctx): Ctx, body: Bytes) -> Response {
    with_body(&body, |m: MasterBody| {
        acted(&ctx, ClientMsg::Volume(m.volume))
    })
}

async fn ws(State(ctx): Ctx, up: WebSocketUpgrade) -> Response {
    let n = ctx.clients.fetch_add(1, Ordering::Relaxed);
    if n >= live::MAX_CLIENTS {
        ctx.clients.fetch_sub(1, Ordering::Relaxed);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} pages are open already; close one", live::MAX_CLIENTS),
        );
    }
    up.max_message_size(live::MAX_MESSAGE)
        .max_frame_size(live::MAX_MESSAGE)
        .on_failed_upgrade({
            let ctx = ctx.clone();
            move |_| {
                ctx.clients.fetch_sub(1, Ordering::Relaxed);
            }
        })
        .on_upgrade(move |socket| live::client(socket, ctx))
}
