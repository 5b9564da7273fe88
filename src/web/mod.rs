//! The web surface: an HTTP + WebSocket server (axum on a tokio runtime of its own thread)
//! serving the page compiled into the binary and the JSON API it uses (`docs/web.md`).
//!
//! Not real-time. It reaches the engine only as a controller does: commands over a command
//! lane of its own, state read from the atomics the engine publishes ([`SharedControl`]).
//! A slow or hostile client can never hold up audio or controllers: each client gets the
//! newest state (never a queue), a client that does not read for [`live::SEND_TIMEOUT`] is
//! dropped. Secure by default: without a password it answers on loopback only; with one,
//! every request needs a login; every state-changing request and the WebSocket upgrade must
//! come from the page's own origin ([`guard`]).

pub mod api;
pub mod archive;
pub mod assets;
pub mod auth;
pub mod guard;
pub mod library;
pub mod live;
pub mod pads;
pub mod preview;
pub mod sets;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::SetFile;
use crate::engine::CommandLane;
use crate::midi::state::SharedControl;

/// The address `--web` serves when none is given.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// What can go wrong with the web surface.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address could not be bound.
    #[error(
        "web surface: cannot listen on {0}: {1} (is another program using the port? choose another with --web ADDR:PORT)"
    )]
    Bind(SocketAddr, String),
    /// The password file cannot be read or written.
    #[error("web password {path}: {msg}; set it again with `padlooper web-password`", path = .0.display(), msg = .1)]
    Password(PathBuf, String),
    /// A password too short.
    #[error("the web password must have at least {0} characters")]
    WeakPassword(usize),
    /// No command lane left for the web surface.
    #[error("web surface: no command lane free (too many controllers connected)")]
    NoLane,
    /// The server's runtime could not start.
    #[error("web surface: cannot start its runtime: {0}")]
    Runtime(String),
}

/// One pad as the page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PadInfo {
    /// Global pad id (what press/release take).
    pub id: usize,
    /// Bank, row and column.
    pub bank: usize,
    pub row: usize,
    pub col: usize,
    /// What it plays (file name, `builtin:NAME` or the stems).
    pub name: String,
    /// Launch mode: toggle, gate, one_shot or retrigger.
    pub mode: &'static str,
}

/// The set as the page shows it (changes on reload).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Layout {
    /// Bumped on every change.
    pub version: u64,
    pub set: String,
    pub banks: usize,
    pub rows: usize,
    pub cols: usize,
    pub pads: Vec<PadInfo>,
}

impl Layout {
    /// The layout of `set`, numbered `version`.
    pub fn of(set: &SetFile, version: u64) -> Self {
        use crate::engine::command::LaunchMode;
        let g = &set.grid;
        let pads = set
            .pads
            .iter()
            .map(|p| {
                let name = match &p.source {
                    crate::sample::loader::SampleSource::File(f) => f
                        .file_name()
                        .map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into()),
                    other => other.to_string(),
                };
                PadInfo {
                    id: p.id,
                    bank: p.bank,
                    row: p.index / g.cols.max(1),
                    col: p.index % g.cols.max(1),
                    name,
                    mode: match p.mode {
                        LaunchMode::Toggle => "toggle",
                        LaunchMode::Gate => "gate",
                        LaunchMode::OneShot => "one_shot",
                        LaunchMode::Retrigger => "retrigger",
                    },
                }
            })
            .collect();
        Self {
            version,
            set: set.path.display().to_string(),
            banks: g.banks,
            rows: g.rows,
            cols: g.cols,
            pads,
        }
    }
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Where to listen (only loopback unless a password is set).
    pub addr: SocketAddr,
    /// The state folder holding the password hash (None: no password can exist).
    pub state_dir: Option<PathBuf>,
    /// Largest upload, in bytes.
    pub upload_max: u64,
}

/// Largest upload by default (2 GB).
pub const UPLOAD_MAX: u64 = 2 << 30;

/// What the handlers share. Not real-time.
pub struct WebContext {
    /// Controller-side state and the engine's published state.
    pub shared: Arc<SharedControl>,
    /// The web surface's command lane (locked briefly by handlers; the engine end is
    /// lock-free).
    lane: Mutex<Option<CommandLane>>,
    /// The set as shown.
    layout: RwLock<Arc<Layout>>,
    /// The password hash (None: no login; loopback only).
    pub(crate) password: Option<String>,
    /// Logins.
    pub sessions: auth::Sessions,
    /// Failed logins.
    pub limit: auth::LoginLimit,
    /// Host names the page may be reached by (besides IP addresses).
    pub hosts: Vec<String>,
    /// Connected live clients.
    pub clients: AtomicUsize,
    /// The newest state (JSON), sampled by [`live::sampler`].
    pub state: tokio::sync::watch::Sender<Arc<String>>,
    /// The engine's voice limit.
    pub voice_limit: usize,
    /// The set that plays.
    set: RwLock<Arc<SetFile>>,
    /// The set file reloads read, when there is one (edits are saved into it).
    source: RwLock<Option<PathBuf>>,
    /// Waveform peaks recently shown: (sample, its file's modification time, peaks).
    pub peaks: Mutex<PeaksCache>,
    /// One edit of the set file at a time.
    pub edit: tokio::sync::Mutex<()>,
    /// Largest upload, in bytes.
    pub upload_max: u64,
    /// A set the page asked to play instead (the control loop takes it).
    pub open: Mutex<Option<PathBuf>>,
    /// A region the pad editor wants heard (the control loop takes it).
    pub preview: Mutex<Option<preview::Preview>>,
    /// The memory plan of the set that plays (one line per table, then the totals) and the
    /// sample memory held (bytes, and as float32).
    pub memory: Mutex<(Vec<String>, (usize, usize))>,
}

/// Recently shown waveform peaks.
pub type PeaksCache = Vec<(
    crate::sample::SampleSource,
    Option<std::time::SystemTime>,
    Arc<crate::sample::peaks::Peaks>,
)>;

impl WebContext {
    /// Sends a command, effective one block from now (as a controller's). False when the lane
    /// is full (counted by the engine).
    pub fn send(&self, cmd: crate::engine::command::Command) -> bool {
        let block = self
            .shared
            .engine
            .clock
            .read()
            .map_or(256, |r| r.block.max(1));
        let at = self.shared.frame_now() + block;
        self.lane.lock().is_ok_and(|mut l| {
            l.as_mut()
                .is_some_and(|l| l.send(crate::engine::command::Timed { at, cmd }))
        })
    }

    /// The set as shown.
    pub fn layout(&self) -> Arc<Layout> {
        self.layout
            .read()
            .map_or_else(|_| Arc::new(Layout::default()), |l| l.clone())
    }

    /// The set that plays.
    pub fn set(&self) -> Arc<SetFile> {
        self.set
            .read()
            .map_or_else(|_| Arc::new(crate::demo::demo_set()), |s| s.clone())
    }

    /// The set file edits are saved into (None: the demo or nothing to reload).
    pub fn source(&self) -> Option<PathBuf> {
        self.source.read().ok()?.clone().filter(|p| p.is_file())
    }

    /// Whether a login is needed.
    pub fn needs_login(&self) -> bool {
        self.password.is_some()
    }
}

/// A running web surface; dropping it stops the server.
pub struct WebServer {
    /// Where it listens.
    pub addr: SocketAddr,
    ctx: Arc<WebContext>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The names this machine answers to: `localhost`, its host name and `NAME.local` (mDNS).
fn host_names() -> Vec<String> {
    let mut v = vec!["localhost".to_string()];
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim().to_ascii_lowercase();
        if !h.is_empty() {
            v.push(format!("{h}.local"));
            v.push(h);
        }
    }
    v
}

/// The address to listen on: `want`, or its port on loopback when `want` is not loopback and
/// no password is set (with a warning saying how to set one).
pub fn effective_addr(want: SocketAddr, has_password: bool) -> SocketAddr {
    if want.ip().is_loopback() || has_password {
        return want;
    }
    log::warn!(
        "web surface: no password is set, so it answers on this machine only (127.0.0.1:{}); set one with `padlooper web-password` to serve {want}",
        want.port()
    );
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), want.port())
}

/// Threads the web surface's blocking work (decoding, analysis, file writes) may use.
pub const BLOCKING_THREADS: usize = 2;
/// The web threads' niceness: below audio, MIDI and the control loop.
pub const NICE: i32 = 10;

/// Lowers the calling thread's priority to [`NICE`] (best effort).
fn be_nice() {
    crate::audio::priority::nice_current_thread(NICE);
}

impl WebServer {
    /// Starts serving `set` on its own thread with a command lane taken from `handle`.
    pub fn start(
        opts: &WebOptions,
        set: &SetFile,
        shared: Arc<SharedControl>,
        handle: &mut crate::engine::EngineHandle,
    ) -> Result<WebServer, WebError> {
        let password = match &opts.state_dir {
            Some(d) => auth::load_hash(d)?,
            None => None,
        };
        let addr = effective_addr(opts.addr, password.is_some());
        let listener =
            std::net::TcpListener::bind(addr).map_err(|e| WebError::Bind(addr, e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| WebError::Bind(addr, e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| WebError::Bind(addr, e.to_string()))?;
        let lane = handle.take_lane().ok_or(WebError::NoLane)?;
        let ctx = Arc::new(WebContext {
            shared,
            lane: Mutex::new(Some(lane)),
            layout: RwLock::new(Arc::new(Layout::of(set, 1))),
            password,
            sessions: auth::Sessions::default(),
            limit: auth::LoginLimit::default(),
            hosts: host_names(),
            clients: AtomicUsize::new(0),
            state: tokio::sync::watch::Sender::new(Arc::new("{}".to_string())),
            voice_limit: handle.settings().voices,
            set: RwLock::new(Arc::new(set.clone())),
            // The file the set was read from (the control loop confirms it when it starts).
            source: RwLock::new(Some(set.path.clone())),
            peaks: Mutex::new(Vec::new()),
            edit: tokio::sync::Mutex::new(()),
            upload_max: opts.upload_max,
            open: Mutex::new(None),
            preview: Mutex::new(None),
            memory: Mutex::new((Vec::new(), (0, 0))),
        });
        // The web surface yields to everything else: its threads run at nice 10, and its
        // blocking work (decoding waveforms, analysis, uploads) on at most two threads.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(BLOCKING_THREADS)
            .thread_name("padlooper-web-io")
            .on_thread_start(be_nice)
            .build()
            .map_err(|e| WebError::Runtime(e.to_string()))?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let app = api::router(ctx.clone());
        let sampler = ctx.clone();
        let thread = std::thread::Builder::new()
            .name("padlooper-web".into())
            .spawn(move || {
                be_nice();
                rt.block_on(async move {
                    tokio::spawn(live::sampler(sampler));
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => return log::error!("web surface: {e}"),
                    };
                    let serve = axum::serve(
                        listener,
                        app.into_make_service_with_connect_info::<SocketAddr>(),
                    );
                    // A stop does not wait for requests in flight (an upload can take
                    // minutes): they are cut off, their temporary files removed.
                    tokio::select! {
                        r = serve => if let Err(e) = r {
                            log::error!("web surface stopped: {e}");
                        },
                        _ = stopped => {}
                    }
                });
                rt.shutdown_timeout(std::time::Duration::from_secs(1));
            })
            .map_err(|e| WebError::Runtime(e.to_string()))?;
        let login = if ctx.needs_login() {
            "login with the web password"
        } else {
            "no login: this machine only"
        };
        log::info!("web surface on http://{addr}/ ({login})");
        Ok(WebServer {
            addr,
            ctx,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Shows `set` (after a reload).
    pub fn set_layout(&self, set: &SetFile) {
        if let Ok(mut s) = self.ctx.set.write() {
            *s = Arc::new(set.clone());
        }
        if let Ok(mut l) = self.ctx.layout.write() {
            let v = l.version + 1;
            *l = Arc::new(Layout::of(set, v));
        }
    }

    /// Shows the memory plan of the set that plays (`plan`: its lines) and the sample memory
    /// held (bytes, and as float32).
    pub fn set_memory(&self, plan: Vec<String>, held: (usize, usize)) {
        if let Ok(mut m) = self.ctx.memory.lock() {
            *m = (plan, held);
        }
    }

    /// A set file the page asked to switch to, if it did since the last call.
    pub fn take_open(&self) -> Option<PathBuf> {
        self.ctx.open.lock().ok()?.take()
    }

    /// A region the pad editor wants heard, if it asked since the last call (answer it).
    pub fn take_preview(&self) -> Option<preview::Preview> {
        self.ctx.preview.lock().ok()?.take()
    }

    /// The set file that reloads read and edits are saved into (None: none).
    pub fn set_source(&self, path: Option<&Path>) {
        if let Ok(mut s) = self.ctx.source.write() {
            *s = path.map(Path::to_path_buf);
        }
    }

    /// Stops the server; returns the command lane to `handle` (releasing what its pages held).
    pub fn stop(mut self, handle: &mut crate::engine::EngineHandle) {
        self.shutdown();
        if let Some(lane) = self.ctx.lane.lock().ok().and_then(|mut l| l.take()) {
            handle.return_lane(lane);
        }
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.ctx.shared.engine.meters.watch(false);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Password file of `state_dir` (for the CLI).
pub fn password_file(state_dir: &Path) -> PathBuf {
    auth::password_path(state_dir)
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
