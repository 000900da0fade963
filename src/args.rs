//! Command-line flags and their `COBROWSE_*` environment variables, and the turning of `serve`'s
//! into the library's [`ServerConfig`]: the library takes a finished configuration, the binary
//! owns how people spell it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use cobrowse::app::secret::{self, SecretError};
use cobrowse::app::server::{ServerConfig, random_node_id};
use cobrowse::app::web::WebRoot;
use cobrowse::call::config::{CallConfig, CallConfigError, parse_ice_server, parse_ports};
use cobrowse::protocol::Limits;
use cobrowse::protocol::tracker_frame::MAX_ELEMENTS;
use cobrowse::session::limits::IngressLimits;

use crate::load::{Sending, StepPlan};

mod sign_in;
use sign_in::{SignInArgs, SignInError};

#[derive(Debug, Parser)]
#[command(name = "cobrowse", version, about = "Live co-browsing server on S2")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: text or json.
    #[arg(
        long,
        global = true,
        env = "COBROWSE_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the room server (with an embedded s2-lite unless --s2-endpoint or --s2-token is given).
    Serve(Box<ServeArgs>),
    /// Run only an s2-lite store, for several `serve` processes to share.
    Store(crate::store_command::StoreArgs),
    /// Inspect sessions on a running server.
    Sessions(SessionsArgs),
    /// Drive simulated trackers and agents against a server and report what it sustains.
    Load(Box<LoadArgs>),
    /// Run the load tool's storage-free baseline relay (`load --baseline` starts one itself).
    #[command(hide = true)]
    Relay(RelayArgs),
    /// Check a server's health for a container health check (the slim image has no curl): exits
    /// 0 if URL answers 2xx within the timeout, 1 otherwise.
    Probe(crate::probe::ProbeArgs),
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The cobrowse server to load.
    #[arg(long, env = "COBROWSE_SERVER", default_value = "http://127.0.0.1:7070")]
    pub server: String,
    /// Run the same traffic through a storage-free relay instead (the baseline), started as a
    /// separate process.
    #[arg(long)]
    pub baseline: bool,
    /// Concurrent live sessions (one tracker each).
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// Agents following each watched session live.
    #[arg(long, default_value_t = 1)]
    pub agents_per_session: usize,
    /// Share of the sessions that are watched (have agents), from 0 to 1; latency is measured
    /// over these.
    #[arg(long, default_value_t = 1.0, value_parser = parse_fraction)]
    pub watched: f64,
    /// Extra agents that join random live sessions, spread over the run, each timed from its
    /// connect to the first full snapshot it receives.
    #[arg(long, default_value_t = 0)]
    pub joins: usize,
    /// Step mode, START:INCREMENT:MAX sessions: one run per count, raised until a target
    /// (--max-ack-p99, --min-ingested, --max-e2e-p99, or a failed connection) breaks; reports
    /// the knee. Replaces --sessions.
    #[arg(long, value_name = "START:INCREMENT:MAX")]
    pub step: Option<StepPlan>,
    /// Step target: acknowledgement p99 at most this many milliseconds.
    #[arg(long, value_name = "MS", requires = "step")]
    pub max_ack_p99: Option<f64>,
    /// Step target: at least this share of the events sent is stored (acknowledged).
    #[arg(long, value_name = "FRACTION", requires = "step", value_parser = parse_fraction)]
    pub min_ingested: Option<f64>,
    /// Step target: tracker → agent p99 at most this many milliseconds.
    #[arg(long, value_name = "MS", requires = "step")]
    pub max_e2e_p99: Option<f64>,
    /// How long to measure, once every session is connected.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Incremental events each tracker sends per second (sent in 100 ms batches).
    #[arg(long, default_value_t = 20)]
    pub events_per_sec: u32,
    /// When trackers send while watched: `burst` (events made and sent together every 100 ms:
    /// the server's latency alone), `timer` (a steady trickle, sent 100 ms after the first event
    /// waiting, as the tracker does), `on-ack` (a steady trickle, sent at once when nothing is in
    /// flight, else on the acknowledgement). The last two include the batching delay.
    #[arg(long, value_enum, default_value_t = Sending::Burst)]
    pub sending: Sending,
    /// A JSON array of rrweb events to replay (e.g. from `sessions export`); default: a recording
    /// of the demo site.
    #[arg(long)]
    pub event_mix: Option<PathBuf>,
    /// Agent token (the SECRET of NAME:SECRET).
    #[arg(
        long,
        env = "COBROWSE_TOKEN",
        hide_env_values = true,
        default_value = ""
    )]
    pub token: String,
    /// Project key the simulated trackers present.
    #[arg(long, default_value = "demo")]
    pub project_key: String,
    /// The server's pid, for RSS and CPU (found from the port when the server runs here).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The pid of a separate `cobrowse store` the server uses, to report its RSS and CPU apart.
    #[arg(long)]
    pub store_pid: Option<u32>,
    /// The endpoint of a separate `cobrowse store` (its pid is found from the port).
    #[arg(long, conflicts_with = "store_pid")]
    pub store_endpoint: Option<String>,
    /// Measure calls instead of events: each call is one session whose user and this many
    /// agents are all in a video call through the server's SFU (start the server with
    /// `--rtc-bind` reachable from here). `--sessions`, `--agents-per-session`,
    /// `--events-per-sec` and `--baseline` do not apply.
    #[arg(long, conflicts_with_all = ["baseline", "step"])]
    pub call_agents: Option<usize>,
    /// Calls at once, with `--call-agents`.
    #[arg(long, default_value_t = 1, requires = "call_agents")]
    pub call_sessions: usize,
    /// Fill the server's session directory instead: create this many sessions, each with its
    /// own user id (`user-00042@example.com`) and metadata (`plan`, `account`), a few events
    /// acknowledged, and then ended, except `--seed-live` of them, which stay connected for
    /// `--duration` (or until interrupted). The report is printed once all are created.
    #[arg(long, value_name = "N", conflicts_with_all = ["baseline", "step", "call_agents"])]
    pub seed_sessions: Option<usize>,
    /// Of the seeded sessions, how many stay live.
    #[arg(long, default_value_t = 0, requires = "seed_sessions")]
    pub seed_live: usize,
    /// Incremental events each seeded tracker sends (after the page's Meta event).
    #[arg(long, default_value_t = 3, requires = "seed_sessions")]
    pub seed_events: usize,
    /// Time the session list and its search instead (`--requests` each, one at a time and
    /// `--concurrency` at once), on a server already seeded; with `--peer`, also how long a
    /// session started and ended here takes to show on the peer.
    #[arg(long, conflicts_with_all = ["baseline", "step", "call_agents", "seed_sessions"])]
    pub directory_bench: bool,
    /// A list query to time, NAME:PARAMS (e.g. `live:status=live&limit=50`; repeatable);
    /// default: the live list, the whole list, a search matching ten, one matching nothing, a
    /// user prefix matching ten.
    #[arg(
        long = "query",
        value_name = "NAME:PARAMS",
        requires = "directory_bench"
    )]
    pub queries: Vec<String>,
    /// Requests per query with `--directory-bench`.
    #[arg(long, default_value_t = 1000, requires = "directory_bench")]
    pub requests: usize,
    /// Requests in flight at once for the concurrent rows of `--directory-bench`.
    #[arg(long, default_value_t = 8, requires = "directory_bench")]
    pub concurrency: usize,
    /// Another node sharing the server's store: `--directory-bench` times how long sessions
    /// started and ended on `--server` take to show in this node's list.
    #[arg(long, requires = "directory_bench")]
    pub peer: Option<String>,
    /// Sessions started and ended, one at a time, for the `--peer` measurement.
    #[arg(long, default_value_t = 50, requires = "peer")]
    pub propagation: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A share from 0 to 1.
fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("'{text}' is not a fraction from 0 to 1")),
    }
}

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Address to listen on; port 0 picks one. The URL is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "COBROWSE_LISTEN", default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// S2 endpoint (an s2-lite URL such as http://127.0.0.1:7071); default: embedded s2-lite.
    #[arg(long, env = "COBROWSE_S2_ENDPOINT")]
    pub s2_endpoint: Option<String>,
    /// S2 access token; alone (no --s2-endpoint) it selects S2 cloud.
    #[arg(long, env = "COBROWSE_S2_TOKEN", hide_env_values = true)]
    pub s2_token: Option<String>,
    /// S2 basin holding the session streams (8-48 of [a-z0-9-]).
    #[arg(long, env = "COBROWSE_BASIN", default_value = "cobrowse")]
    pub basin: String,
    /// Keep the embedded store's data durably in this directory (default: in memory).
    #[arg(long, env = "COBROWSE_DATA_DIR", conflicts_with = "bucket")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub bucket: crate::store_command::BucketArgs,
    /// Serve /metrics on this address (a private port) instead of on --listen.
    #[arg(long, env = "COBROWSE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How long sessions are kept, e.g. 30d, 12h.
    #[arg(long, env = "COBROWSE_RETENTION", default_value = "30d", value_parser = humantime::parse_duration)]
    pub retention: Duration,
    /// How long the audit stream keeps who read which recording, e.g. 365d.
    #[arg(long, env = "COBROWSE_AUDIT_RETENTION", default_value = "365d", value_parser = humantime::parse_duration)]
    pub audit_retention: Duration,
    /// How agents sign in (src/args/sign_in.rs).
    #[command(flatten)]
    pub sign_in: SignInArgs,
    /// Project keys trackers may use (repeatable).
    #[arg(
        long = "project-key",
        env = "COBROWSE_PROJECT_KEYS",
        value_delimiter = ',',
        default_value = "demo"
    )]
    pub project_keys: Vec<String>,
    /// Origins allowed to record (repeatable). None: any origin, which a --listen beyond
    /// loopback refuses unless --allow-any-origin is given.
    #[arg(
        long = "allowed-origin",
        env = "COBROWSE_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Origins besides the allowed ones the console may load a replayed page's images, fonts,
    /// styles and media from, e.g. the site's CDN (repeatable). Nothing else is fetched.
    #[arg(
        long = "asset-origin",
        env = "COBROWSE_ASSET_ORIGINS",
        value_delimiter = ','
    )]
    pub asset_origins: Vec<String>,
    /// Let pages of any origin record into a server listening beyond loopback.
    #[arg(
        long,
        env = "COBROWSE_ALLOW_ANY_ORIGIN",
        conflicts_with = "allowed_origins"
    )]
    pub allow_any_origin: bool,
    /// Secret that signs session tokens, agents' tickets, signals between nodes and the session
    /// directory; give every node the same one. Default: kept in --data-dir's cobrowse-secret
    /// file, else random (with --bucket it is required).
    #[arg(long, env = "COBROWSE_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// This node's name (at most 16 characters). Default: random.
    #[arg(long, env = "COBROWSE_NODE_ID")]
    pub node_id: Option<String>,
    /// End a session when no tracker was connected for this long.
    #[arg(long, env = "COBROWSE_IDLE_TIMEOUT", default_value = "2m", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,
    /// How long a session with no writes waits before its writer records a heartbeat.
    #[arg(long, env = "COBROWSE_HEARTBEAT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub heartbeat: Duration,
    /// How long a session token lets a tracker resume its session.
    #[arg(long, env = "COBROWSE_SESSION_TOKEN_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub session_token_ttl: Duration,
    /// How long a help code (what a user reads out to an agent) is valid, up to 1h.
    #[arg(long, env = "COBROWSE_HELP_CODE_TTL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub help_code_ttl: Duration,
    /// Disconnect an agent whose socket accepts nothing for this long.
    #[arg(long, env = "COBROWSE_AGENT_SEND_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub agent_send_timeout: Duration,
    /// Largest WebSocket frame a tracker may send, in bytes.
    #[arg(long, env = "COBROWSE_MAX_FRAME_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_frame_bytes: usize,
    /// Largest single event, in bytes.
    #[arg(long, env = "COBROWSE_MAX_EVENT_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_event_bytes: usize,
    /// Events per second a session may write on average (bursts of 4x are allowed).
    #[arg(long, env = "COBROWSE_EVENTS_PER_SEC", default_value_t = 500)]
    pub events_per_sec: u32,
    /// Events one tracker batch may hold; a larger batch closes the connection (1009).
    #[arg(long, env = "COBROWSE_MAX_BATCH_EVENTS", default_value_t = 1000)]
    pub max_batch_events: usize,
    /// Bytes of event data per second a session may write on average (bursts of 4x, and never
    /// less than one --max-frame-bytes).
    #[arg(long, env = "COBROWSE_BYTES_PER_SEC", default_value_t = 4 * 1024 * 1024)]
    pub bytes_per_sec: u64,
    /// New sessions one client address may start per minute (the socket's peer address).
    #[arg(
        long,
        env = "COBROWSE_SESSIONS_PER_MINUTE_PER_ADDRESS",
        default_value_t = 60
    )]
    pub sessions_per_minute_per_address: u32,
    /// New sessions one project key may start per minute.
    #[arg(
        long,
        env = "COBROWSE_SESSIONS_PER_MINUTE_PER_PROJECT",
        default_value_t = 3000
    )]
    pub sessions_per_minute_per_project: u32,
    /// New sessions this node starts per minute, in all.
    #[arg(long, env = "COBROWSE_SESSIONS_PER_MINUTE", default_value_t = 6000)]
    pub sessions_per_minute: u32,
    /// Tracker connections (tabs) one session may have on this node.
    #[arg(long, env = "COBROWSE_MAX_TABS_PER_SESSION", default_value_t = 32)]
    pub max_tabs_per_session: usize,
    /// TCP connections one client address may hold open.
    #[arg(
        long,
        env = "COBROWSE_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's headers.
    #[arg(long, env = "COBROWSE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// Close a tracker that sends nothing, not even a pong to the server's pings, for this long.
    #[arg(long, env = "COBROWSE_TRACKER_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub tracker_idle_timeout: Duration,
    /// Drop a tracker whose socket takes no message for this long.
    #[arg(long, env = "COBROWSE_TRACKER_SEND_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub tracker_send_timeout: Duration,
    /// Drop any connection (response, SSE stream, WebSocket) whose socket takes no bytes for
    /// this long.
    #[arg(long, env = "COBROWSE_SEND_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub send_timeout: Duration,
    /// Bytes of batches one tracker socket may have awaiting their acks before the server stops
    /// reading it.
    #[arg(long, env = "COBROWSE_MAX_IN_FLIGHT_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_in_flight_bytes: usize,
    /// Messages other than event batches one tracker connection may send per second (bursts of
    /// 10x).
    #[arg(long, env = "COBROWSE_CONTROL_MESSAGES_PER_SEC", default_value_t = 20)]
    pub control_messages_per_sec: u32,
    /// Serve the web parts from this checkout (agent-console/dist, tracker-plugin/dist and
    /// demo/) instead of those built into the binary: for working on them without rebuilding.
    #[arg(long, env = "COBROWSE_WEB_ROOT")]
    pub web_root: Option<PathBuf>,
    /// Serve the demo page at /demo/ (off by default: it records whoever opens it).
    #[arg(long, env = "COBROWSE_DEMO")]
    pub demo: bool,
    /// Agents that may watch one session at once.
    #[arg(long, env = "COBROWSE_MAX_AGENTS_PER_ROOM", default_value_t = 32)]
    pub max_agents_per_room: usize,
    /// STUN or TURN server for calls (repeatable): `stun:HOST:PORT`, or
    /// `turn:HOST:PORT?transport=udp|USERNAME|CREDENTIAL`. Given to browsers with every offer.
    #[arg(
        long = "ice-server",
        env = "COBROWSE_ICE_SERVERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub ice_servers: Vec<String>,
    /// Address the call media sockets bind (0.0.0.0: every interface but loopback). Default: the
    /// address of --listen, so a server on loopback keeps its media on loopback too.
    #[arg(long, env = "COBROWSE_RTC_BIND")]
    pub rtc_bind: Option<IpAddr>,
    /// UDP ports for call media, FIRST-LAST: one per participant connection.
    #[arg(long, env = "COBROWSE_RTC_PORTS", default_value = "50000-50199")]
    pub rtc_ports: String,
    /// Address(es) browsers reach the media ports at, announced instead of the bound ones
    /// (behind 1:1 NAT, or a container's host address).
    #[arg(
        long = "rtc-announce-ip",
        env = "COBROWSE_RTC_ANNOUNCE_IPS",
        value_delimiter = ','
    )]
    pub rtc_announce_ips: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("--node-id must be 1-16 characters of [A-Za-z0-9-]")]
    NodeId,
    #[error("{0} must be at least {1:?}")]
    TooShort(&'static str, Duration),
    #[error("--help-code-ttl must be at most 1h: a code lives only while the user waits")]
    HelpCodeTtl,
    #[error("--max-batch-events must be from 1 to {0}")]
    BatchEvents(usize),
    #[error(transparent)]
    Call(#[from] CallConfigError),
}

/// The longest a help code may be valid: longer, and more codes are live to be guessed.
const MAX_HELP_CODE_TTL: Duration = Duration::from_secs(3600);

impl ServeArgs {
    /// The server configuration, and the agent token generated when none was given.
    pub fn into_config(self) -> Result<(ServerConfig, Option<String>), ConfigError> {
        let mut config = ServerConfig::new(self.listen, ("agent", ""));
        let generated = self.sign_in.apply(&mut config)?;
        for (flag, value, min) in [
            ("--heartbeat", self.heartbeat, Duration::from_secs(1)),
            (
                "--agent-send-timeout",
                self.agent_send_timeout,
                Duration::from_millis(100),
            ),
            ("--idle-timeout", self.idle_timeout, Duration::from_secs(1)),
            (
                "--session-token-ttl",
                self.session_token_ttl,
                Duration::from_secs(60),
            ),
            (
                "--header-read-timeout",
                self.header_read_timeout,
                Duration::from_secs(1),
            ),
            (
                "--tracker-idle-timeout",
                self.tracker_idle_timeout,
                Duration::from_secs(3),
            ),
            (
                "--tracker-send-timeout",
                self.tracker_send_timeout,
                Duration::from_millis(100),
            ),
            ("--send-timeout", self.send_timeout, Duration::from_secs(1)),
            (
                "--help-code-ttl",
                self.help_code_ttl,
                Duration::from_secs(1),
            ),
        ] {
            if value < min {
                return Err(ConfigError::TooShort(flag, min));
            }
        }
        if !(1..=MAX_ELEMENTS).contains(&self.max_batch_events) {
            return Err(ConfigError::BatchEvents(MAX_ELEMENTS));
        }
        let node_id = self.node_id.unwrap_or_else(random_node_id);
        if node_id.is_empty()
            || node_id.len() > 16
            || !node_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ConfigError::NodeId);
        }
        config.s2_endpoint = self.s2_endpoint;
        config.s2_token = self.s2_token;
        config.basin = self.basin;
        config.bucket = self.bucket.into_bucket();
        config.secret = secret::resolve(
            self.secret,
            self.data_dir.as_deref(),
            config.bucket.is_some(),
        )?;
        config.data_dir = self.data_dir;
        config.metrics_listen = self.metrics_listen;
        config.retention = self.retention;
        config.audit_retention = self.audit_retention;
        config.project_keys = self.project_keys;
        config.allowed_origins = self.allowed_origins;
        config.allow_any_origin = self.allow_any_origin;
        config.asset_origins = self.asset_origins;
        config.node_id = node_id;
        config.idle_timeout = self.idle_timeout;
        config.heartbeat = self.heartbeat;
        config.session_token_ttl = self.session_token_ttl;
        if self.help_code_ttl > MAX_HELP_CODE_TTL {
            return Err(ConfigError::HelpCodeTtl);
        }
        config.codes.ttl = self.help_code_ttl;
        config.agent_send_timeout = self.agent_send_timeout;
        config.limits = Limits {
            max_frame_bytes: self.max_frame_bytes,
            max_event_bytes: self.max_event_bytes,
            events_per_sec: self.events_per_sec,
            bytes_per_sec: self.bytes_per_sec,
        };
        config.ingress = IngressLimits {
            max_batch_events: self.max_batch_events,
            bytes_per_sec: self.bytes_per_sec,
            sessions_per_minute_per_address: self.sessions_per_minute_per_address,
            sessions_per_minute_per_project: self.sessions_per_minute_per_project,
            sessions_per_minute: self.sessions_per_minute,
            max_tabs_per_session: self.max_tabs_per_session,
            max_connections_per_address: self.max_connections_per_address,
            header_read_timeout: self.header_read_timeout,
            tracker_idle_timeout: self.tracker_idle_timeout,
            tracker_send_timeout: self.tracker_send_timeout,
            send_timeout: self.send_timeout,
            max_in_flight_bytes: self.max_in_flight_bytes,
            control_messages_per_sec: self.control_messages_per_sec,
        };
        config.max_agents_per_room = self.max_agents_per_room;
        config.web_root = self.web_root.map_or(WebRoot::Embedded, WebRoot::Folder);
        config.demo = self.demo;
        config.calls = CallConfig {
            ice_servers: self
                .ice_servers
                .iter()
                .map(|s| parse_ice_server(s))
                .collect::<Result<_, _>>()?,
            bind_ip: self.rtc_bind.unwrap_or(self.listen.ip()),
            ports: parse_ports(&self.rtc_ports)?,
            announce_ips: self.rtc_announce_ips,
        };
        Ok((config, generated))
    }
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// The cobrowse server.
    #[arg(long, env = "COBROWSE_SERVER", default_value = "http://127.0.0.1:7070")]
    pub server: String,
    /// Agent token (the SECRET part of NAME:SECRET).
    #[arg(long, env = "COBROWSE_TOKEN", hide_env_values = true)]
    pub token: String,
    #[command(subcommand)]
    pub command: SessionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions, newest first.
    List {
        /// Only live sessions (as --status live).
        #[arg(long)]
        live: bool,
        /// live, ended or any.
        #[arg(long)]
        status: Option<String>,
        /// Case-insensitive substring of the user id, a metadata value, a visited URL or the id.
        #[arg(long)]
        search: Option<String>,
        /// Case-insensitive prefix of the user id.
        #[arg(long)]
        user: Option<String>,
        /// Case-insensitive substring of a visited URL.
        #[arg(long)]
        url: Option<String>,
        /// chrome, edge, firefox, safari, opera or other.
        #[arg(long)]
        browser: Option<String>,
        /// Only sessions whose page logged a console error.
        #[arg(long)]
        errors: bool,
        /// Only sessions of this project key.
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this session (the `next_cursor` of a previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Follow a session's events as JSON lines.
    Tail {
        id: String,
        /// beginning or live.
        #[arg(long, default_value = "beginning")]
        from: String,
    },
    /// Print a session as a JSON array of rrweb events.
    Export { id: String },
    /// Erase an ended session: its stream, its recordings and its directory entries (an admin
    /// token).
    Erase { id: String },
    /// Print the audit of reads (who read which recording), oldest first, as JSON lines.
    Audit {
        /// Only reads of this session.
        #[arg(long)]
        session: Option<String>,
        /// Start at this position of the audit stream.
        #[arg(long, default_value_t = 0)]
        from_seq: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fraction_is_from_zero_to_one() {
        assert_eq!(parse_fraction("0.05"), Ok(0.05));
        assert_eq!(parse_fraction("1"), Ok(1.0));
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_fraction("-0.1").is_err());
        assert!(parse_fraction("half").is_err());
    }
}
