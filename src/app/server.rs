//! The room server: wires the store, the rooms and the HTTP routes together, serves them, and
//! shuts down in order (stop accepting, let tracker connections flush and acknowledge what they
//! accepted, close sockets, then close the embedded store).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::access_log;
use super::listener::Listener;
use super::routes::{AssetOrigin, BadAssetOrigin, metrics_router, router};
use super::web::WebRoot;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::oidc::{Oidc, OidcConfig};
use crate::auth::proxy::ProxyAuth;
use crate::auth::token_file::{self, TokenFileError};
use crate::auth::tokens::{AgentTokens, StaticToken};
use crate::auth::{AgentGate, Projects, SessionTokens, is_strong_secret};
use crate::call::CallServices;
use crate::call::config::CallConfig;
use crate::codes::{CodeConfig, HelpCodes};
use crate::directory::reconcile::reconcile;
use crate::directory::{Directory, DirectoryConfig};
use crate::metrics::Metrics;
use crate::protocol::{Limits, Role};
use crate::session::limits::{IngressLimits, SessionAdmission};
use crate::session::orphans;
use crate::session::room::RoomSettings;
use crate::session::rooms::Rooms;
use crate::signal::SignalBus;
use crate::state::AppState;
use crate::store::counted::Counted;
use crate::store::embedded::{EmbeddedEngine, EmbeddedError};
use crate::store::lite::LiteBackend;
use crate::store::location::{Bucket, StoreLocation};
use crate::store::sdk::{SdkBackend, SdkConfig};
use crate::store::stream::{Store, StoreError, session_settings};
use crate::store::{Backend, BackendError};

/// How often a node tells the directory it is alive, at most: a node silent for three times as
/// long is gone, and the sessions it held are no longer listed as live.
const DIRECTORY_HEARTBEAT: Duration = Duration::from_secs(5);

/// Everything a server needs; `cobrowse serve` builds it from flags, tests build it directly.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// With neither an endpoint nor a token, the server runs the embedded s2-lite; a token alone
    /// means S2 cloud.
    pub s2_endpoint: Option<String>,
    pub s2_token: Option<String>,
    pub basin: String,
    /// Where the embedded store keeps its data; `None` keeps it in memory.
    pub data_dir: Option<PathBuf>,
    /// An S3-compatible bucket for the embedded store's data instead (it wins over `data_dir`).
    pub bucket: Option<Bucket>,
    /// Serve `/metrics` on this address instead of `listen` (a private port).
    pub metrics_listen: Option<SocketAddr>,
    pub retention: Duration,
    /// How long the audit stream keeps who read which recording: longer than the recordings.
    pub audit_retention: Duration,
    /// Static agent tokens, each with its role and projects.
    pub agent_tokens: Vec<StaticToken>,
    /// More of them in a file, re-read when it changes (`--agent-tokens-file`).
    pub agent_tokens_file: Option<PathBuf>,
    /// Agents a trusted proxy signed in (`--agent-header`).
    pub agent_proxy: Option<ProxyAuth>,
    /// Agents an OpenID Connect provider signed in (`--oidc-issuer`).
    pub oidc: Option<OidcConfig>,
    pub project_keys: Vec<String>,
    /// Empty allows every origin: on a loopback `listen` always, elsewhere only with
    /// `allow_any_origin`.
    pub allowed_origins: Vec<String>,
    /// The operator's word that any web page may record into a server reachable beyond loopback.
    pub allow_any_origin: bool,
    /// Signs session tokens, agents' tickets and the records of `cluster/signals`; every node of
    /// a deployment needs the same one.
    pub secret: String,
    pub session_token_ttl: Duration,
    /// How long a help code is valid, and how many wrong codes lock agents out.
    pub codes: CodeConfig,
    /// A unique name for this node, written into fencing tokens and `page` records.
    pub node_id: String,
    pub idle_timeout: Duration,
    pub heartbeat: Duration,
    pub limits: Limits,
    /// What a tracker may cost before the server pushes back (rates, caps, timeouts).
    pub ingress: IngressLimits,
    pub max_agents_per_room: usize,
    pub agent_send_timeout: Duration,
    /// Where the web parts come from: the binary itself, or a checkout (`--web-root`).
    pub web_root: WebRoot,
    /// Serve the demo page at `/demo/`; off unless asked for, as it records whoever opens it.
    pub demo: bool,
    /// Origins besides those allowed to record that the console may load a replayed page's
    /// images, fonts, styles and media from (a site's CDN); see `routes::console_csp`.
    pub asset_origins: Vec<String>,
    pub calls: CallConfig,
}

impl ServerConfig {
    /// Where the console may load a replayed page's assets from: the `asset_origins`, and the
    /// origins allowed to record (the recorded sites' own images and fonts).
    fn console_asset_origins(&self) -> Result<Vec<AssetOrigin>, BadAssetOrigin> {
        let mut origins = self
            .asset_origins
            .iter()
            .map(|o| o.parse())
            .collect::<Result<Vec<AssetOrigin>, _>>()?;
        // An allowed origin that is not an origin matches no page, so it adds nothing here.
        origins.extend(self.allowed_origins.iter().filter_map(|o| o.parse().ok()));
        origins.dedup();
        Ok(origins)
    }

    /// Defaults for a server on `listen` with the embedded store and one agent token, an admin's.
    pub fn new(listen: SocketAddr, agent: (&str, &str)) -> Self {
        Self {
            listen,
            s2_endpoint: None,
            s2_token: None,
            basin: "cobrowse".into(),
            data_dir: None,
            bucket: None,
            metrics_listen: None,
            retention: Duration::from_secs(30 * 24 * 3600),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
            agent_tokens: vec![StaticToken::new(agent.0, agent.1, Role::Admin)],
            agent_tokens_file: None,
            agent_proxy: None,
            oidc: None,
            project_keys: vec!["demo".into()],
            allowed_origins: Vec::new(),
            allow_any_origin: false,
            secret: random_secret(),
            session_token_ttl: Duration::from_secs(24 * 3600),
            codes: CodeConfig::default(),
            node_id: random_node_id(),
            idle_timeout: Duration::from_secs(120),
            heartbeat: Duration::from_secs(30),
            limits: Limits {
                max_frame_bytes: 16 * 1024 * 1024,
                max_event_bytes: 10 * 1024 * 1024,
                events_per_sec: 500,
                bytes_per_sec: IngressLimits::default().bytes_per_sec,
            },
            ingress: IngressLimits::default(),
            max_agents_per_room: 32,
            agent_send_timeout: Duration::from_secs(10),
            web_root: WebRoot::Embedded,
            demo: false,
            asset_origins: Vec::new(),
            calls: CallConfig::default(),
        }
    }
}

/// 256 random bits, base64url: strong by [`is_strong_secret`]'s rule on any `listen`.
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn random_node_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("cannot start help codes: {0}")]
    Codes(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "no way for agents to sign in: give --agent-token NAME:SECRET:ROLE or --agent-tokens-file"
    )]
    NoAgentTokens,
    #[error(transparent)]
    TokenFile(#[from] TokenFileError),
    #[error("--asset-origin: {0}")]
    AssetOrigin(#[from] BadAssetOrigin),
    #[error(
        "--listen {0} is reachable beyond this machine and no --allowed-origin is given, so any web \
         page could record into this server: give --allowed-origin https://your.site (repeatable), \
         or --allow-any-origin to accept every origin on purpose"
    )]
    AnyOrigin(SocketAddr),
    #[error(
        "{what} is too weak for --listen {listen}, which is reachable beyond this machine: give at \
         least 128 random bits (32 hex digits or 22 base64url characters; `openssl rand -hex 32`)"
    )]
    WeakSecret { what: String, listen: SocketAddr },
}

impl ServerConfig {
    /// Refuses what is safe on loopback only (scripts, tests and benchmarks run there) when the
    /// server is reachable from elsewhere: recording from any origin unless the operator said so,
    /// and agent tokens or a `secret` under 128 bits.
    pub fn check_exposure(&self) -> Result<(), ServerError> {
        let listen = self.listen;
        if listen.ip().is_loopback() {
            return Ok(());
        }
        if self.allowed_origins.is_empty() && !self.allow_any_origin {
            return Err(ServerError::AnyOrigin(listen));
        }
        self.check_token_strength(&self.agent_tokens)?;
        if !is_strong_secret(&self.secret) {
            return Err(ServerError::WeakSecret {
                what: "--secret".into(),
                listen,
            });
        }
        Ok(())
    }

    /// Refuses tokens under 128 bits on a server reachable beyond loopback.
    fn check_token_strength(&self, tokens: &[StaticToken]) -> Result<(), ServerError> {
        let listen = self.listen;
        if listen.ip().is_loopback() {
            return Ok(());
        }
        if let Some(token) = tokens.iter().find(|t| !is_strong_secret(&t.secret)) {
            return Err(ServerError::WeakSecret {
                what: format!("the agent token of '{}'", token.name),
                listen,
            });
        }
        Ok(())
    }
}

/// A server that is up; `stop` shuts it down gracefully.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when it has a listener of its own (`metrics_listen`).
    pub metrics_addr: Option<SocketAddr>,
    state: Arc<AppState>,
    http: JoinHandle<()>,
    embedded: Option<EmbeddedEngine>,
    /// Stops the directory's writer (which then says the node stops) and follower.
    directory_stop: CancellationToken,
    directory_tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Resolves when something asked the server to stop.
    pub async fn stopped(&self) {
        self.state.shutdown.cancelled().await;
    }

    /// Stops accepting, lets tracker connections flush and acknowledge what they accepted,
    /// closes every socket, then closes the embedded store.
    pub async fn stop(self) {
        info!("shutting down");
        self.state.shutdown.cancel();
        self.state.tasks.close();
        if tokio::time::timeout(Duration::from_secs(15), self.state.tasks.wait())
            .await
            .is_err()
        {
            warn!("connections did not finish within 15 s");
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.http).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.state.signals.close()).await;
        self.directory_stop.cancel();
        for task in self.directory_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        if let Some(embedded) = self.embedded {
            embedded.close().await;
        }
        info!("stopped");
    }
}

/// Once the directory is loaded, adds the sessions it lacks (written before it existed, or whose
/// `started` was lost with a node).
async fn reconcile_when_loaded(store: Store, directory: Directory) {
    if !directory.wait_ready(Duration::from_secs(600)).await {
        return;
    }
    match reconcile(&store, &directory).await {
        Ok(0) => {}
        Ok(added) => info!(
            sessions = added,
            "sessions added to the directory from their streams"
        ),
        Err(e) => warn!(error = %e, "could not look for sessions the directory lacks"),
    }
}

/// Starts a server (and the embedded store unless an S2 endpoint is configured).
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let file_tokens = match &config.agent_tokens_file {
        Some(path) => token_file::read(path)?,
        None => Vec::new(),
    };
    if config.agent_tokens.is_empty()
        && config.agent_tokens_file.is_none()
        && config.agent_proxy.is_none()
        && config.oidc.is_none()
    {
        return Err(ServerError::NoAgentTokens);
    }
    config.check_exposure()?;
    config.check_token_strength(&file_tokens)?;
    // Session streams' own settings; the basin gets them as its default too.
    let settings = session_settings(config.retention);
    let (backend, embedded, s2): (Arc<dyn Backend>, _, _) =
        match (&config.s2_endpoint, &config.s2_token) {
            (None, None) => {
                let engine = EmbeddedEngine::open(&StoreLocation::new(
                    config.data_dir.clone(),
                    config.bucket.clone(),
                ))
                .await?;
                let lite = LiteBackend::open(engine.backend(), &config.basin, settings).await?;
                (Arc::new(lite), Some(engine), "embedded".to_string())
            }
            (endpoint, token) => {
                let sdk = SdkConfig {
                    endpoint: endpoint.clone(),
                    // s2-lite ignores the token, but the client wants one.
                    token: token.clone().unwrap_or_else(|| "s2-lite".to_string()),
                    basin: config.basin.clone(),
                };
                let s2 = endpoint.clone().unwrap_or_else(|| "cloud".to_string());
                let sdk = SdkBackend::connect(&sdk, settings).await?;
                (Arc::new(sdk), None, s2)
            }
        };
    let metrics = Arc::new(Metrics::new());
    let backend = Arc::new(Counted::new(backend, metrics.clone()));
    let store =
        Store::new(backend, config.retention).with_max_event_bytes(config.limits.max_event_bytes);
    let audit = store.audit_stream(config.audit_retention).await?;
    let shutdown = CancellationToken::new();
    let (signals, incoming) = SignalBus::start(
        &store,
        config.node_id.clone(),
        config.secret.as_bytes(),
        metrics.clone(),
        shutdown.clone(),
    )
    .await?;
    // Stopped after the connections, so that what they say as they close reaches the directory.
    let directory_stop = CancellationToken::new();
    let (directory, directory_tasks) = Directory::start(
        store.streams().clone(),
        DirectoryConfig {
            node_id: config.node_id.clone(),
            retention: config.retention,
            heartbeat: config.heartbeat.min(DIRECTORY_HEARTBEAT),
        },
        config.secret.as_bytes(),
        metrics.clone(),
        directory_stop.clone(),
    );
    tokio::spawn(reconcile_when_loaded(store.clone(), directory.clone()));
    let rooms = Rooms::new(
        store.clone(),
        RoomSettings {
            node_id: config.node_id.clone(),
            heartbeat: config.heartbeat,
            idle_timeout: config.idle_timeout,
            events_per_sec: config.limits.events_per_sec,
            events_burst: config
                .limits
                .events_per_sec
                .saturating_mul(4)
                .max(u32::try_from(config.ingress.max_batch_events).unwrap_or(u32::MAX)),
            bytes_per_sec: config.ingress.bytes_per_sec,
            bytes_burst: config
                .ingress
                .bytes_per_sec
                .saturating_mul(4)
                .max(config.limits.max_frame_bytes as u64),
            max_tabs: config.ingress.max_tabs_per_session,
        },
        metrics.clone(),
        shutdown.clone(),
        CallServices::new(config.calls.clone(), metrics.clone()),
        signals.clone(),
        directory.writer().clone(),
    );
    rooms.follow_signals(incoming);
    let (codes, _following_codes) = HelpCodes::start(
        store.streams().clone(),
        config.codes,
        config.secret.as_bytes(),
        &config.node_id,
        metrics.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(|e| ServerError::Codes(e.to_string()))?;
    crate::tracker::help::record_uses(&codes, rooms.clone(), shutdown.clone());
    orphans::spawn(
        rooms.clone(),
        directory.clone(),
        config.idle_timeout,
        config.heartbeat,
        shutdown.clone(),
    );
    let agents = Arc::new(
        AgentGate::new(
            AgentTokens::new(config.agent_tokens.iter().cloned().chain(file_tokens)),
            config.secret.as_bytes(),
            config.agent_proxy.clone(),
        )
        .with_oidc(config.oidc.clone().map(Oidc::new)),
    );
    if let Some(path) = &config.agent_tokens_file {
        token_file::follow(
            path.clone(),
            config.agent_tokens.clone(),
            agents.clone(),
            shutdown.clone(),
        );
    }
    let state = Arc::new(AppState {
        signals,
        rooms,
        store,
        audit,
        agents: agents.clone(),
        projects: Projects::new(config.project_keys.clone(), config.allowed_origins.clone()),
        session_tokens: SessionTokens::new(
            config.secret.as_bytes(),
            config.session_token_ttl.as_millis() as u64,
        ),
        // What a tracker is told is what the session is charged by.
        limits: Limits {
            bytes_per_sec: config.ingress.bytes_per_sec,
            ..config.limits
        },
        ingress: config.ingress.clone(),
        admission: std::sync::Mutex::new(SessionAdmission::new(
            &config.ingress,
            std::time::Instant::now(),
        )),
        metrics,
        shutdown: shutdown.clone(),
        tasks: TaskTracker::new(),
        directory,
        codes,
        max_agents_per_room: config.max_agents_per_room,
        agent_send_timeout: config.agent_send_timeout,
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Listen {
            addr: config.listen,
            source,
        })?;
    let listener = Listener {
        tcp: listener,
        router: access_log::around(router(
            state.clone(),
            &config.web_root,
            config.demo,
            config.metrics_listen.is_none(),
            &config.console_asset_origins()?,
        )),
        max_connections_per_address: config.ingress.max_connections_per_address,
        header_read_timeout: config.ingress.header_read_timeout,
        send_timeout: config.ingress.send_timeout,
        shutdown,
    };
    let metrics_addr = match config.metrics_listen {
        Some(at) => Some(serve_metrics(at, state.clone()).await?),
        None => None,
    };
    let http = tokio::spawn(listener.run());
    info!(%addr, node = %config.node_id, %s2, "cobrowse listening");
    Ok(RunningServer {
        addr,
        metrics_addr,
        state,
        http,
        embedded,
        directory_stop,
        directory_tasks,
    })
}

/// Serves `/metrics` on a listener of its own until the server shuts down; returns its address.
async fn serve_metrics(at: SocketAddr, state: Arc<AppState>) -> Result<SocketAddr, ServerError> {
    let listen = |source| ServerError::Listen { addr: at, source };
    let listener = tokio::net::TcpListener::bind(at).await.map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    let stop = state.shutdown.clone();
    let app = metrics_router(state);
    tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = serve.await {
            warn!(error = %e, "the metrics listener stopped");
        }
    });
    info!(%addr, "metrics listening");
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(listen: &str) -> ServerConfig {
        let mut config = ServerConfig::new(listen.parse().unwrap(), ("alice", &random_secret()));
        config.allowed_origins = vec!["https://shop.example".into()];
        config
    }

    #[test]
    fn a_server_beyond_loopback_names_its_origins_or_says_any_on_purpose() {
        let mut config = on("0.0.0.0:7070");
        assert!(config.check_exposure().is_ok());
        config.allowed_origins.clear();
        let refused = config.check_exposure().unwrap_err().to_string();
        assert!(
            refused.contains("--allowed-origin") && refused.contains("--allow-any-origin"),
            "{refused}"
        );
        config.allow_any_origin = true;
        assert!(config.check_exposure().is_ok());

        let mut local = on("127.0.0.1:7070");
        local.allowed_origins.clear();
        assert!(local.check_exposure().is_ok(), "loopback stays permissive");
        let mut local = on("[::1]:7070");
        local.allowed_origins.clear();
        assert!(local.check_exposure().is_ok());
    }

    #[test]
    fn weak_secrets_are_refused_beyond_loopback_only() {
        let mut config = on("10.0.0.5:7070");
        config
            .agent_tokens
            .push(StaticToken::new("bench", "bench", Role::Viewer));
        let refused = config.check_exposure().unwrap_err().to_string();
        assert!(refused.contains("'bench'"), "{refused}");
        config.agent_tokens.pop();
        config.secret = "shared-test-secret".into();
        assert!(matches!(
            config.check_exposure(),
            Err(ServerError::WeakSecret { .. })
        ));

        let mut local = on("127.0.0.1:0");
        local
            .agent_tokens
            .push(StaticToken::new("bench", "bench", Role::Viewer));
        local.secret = "s".into();
        assert!(local.check_exposure().is_ok());
    }

    #[test]
    fn generated_secrets_are_strong() {
        assert!(is_strong_secret(&random_secret()));
        assert_ne!(random_secret(), random_secret());
    }
}
