//! Test harness: real servers on loopback with the embedded s2-lite, and minimal tracker and
//! agent clients speaking the wire protocol from `cobrowse::protocol`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use cobrowse::app::server::{RunningServer, ServerConfig};
use cobrowse::auth::proxy::{ProxyAuth, RoleMap, parse_trusted};
use cobrowse::protocol::{
    AgentMessage, DeliveredEvent, Hello, PROTOCOL_VERSION, PageInfo, ServerMessage, TrackerEvent,
    TrackerEventKind, TrackerMessage, Viewport,
};
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::location::StoreLocation;
use futures::{SinkExt, StreamExt};
use reqwest::header::HeaderName;
use serde_bytes::ByteBuf;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const AGENT_TOKEN: &str = "test-agent-secret";
pub const WAIT: Duration = Duration::from_secs(20);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn config() -> ServerConfig {
    let mut config = ServerConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        ("alice", AGENT_TOKEN),
    );
    config.secret = "shared-test-secret".into();
    config
}

pub async fn start(config: ServerConfig) -> RunningServer {
    cobrowse::app::server::start(config)
        .await
        .expect("server starts")
}

/// Two nodes in this process sharing a store served over HTTP, as a separate `cobrowse store`
/// would: both reach it through s2-sdk.
pub async fn two_nodes_on_a_served_store() -> (EmbeddedS2, RunningServer, RunningServer) {
    two_nodes_on_a_served_store_with(|_| {}).await
}

/// [`two_nodes_on_a_served_store`], with node B's configuration changed by `b` first (another
/// agent signing in there, say).
pub async fn two_nodes_on_a_served_store_with(
    b: impl FnOnce(&mut ServerConfig),
) -> (EmbeddedS2, RunningServer, RunningServer) {
    let store = EmbeddedS2::start(
        &StoreLocation::Memory,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("store starts");
    let mut a_config = config();
    a_config.s2_endpoint = Some(store.endpoint());
    a_config.node_id = "node-a".into();
    let mut b_config = a_config.clone();
    b_config.node_id = "node-b".into();
    b(&mut b_config);
    let a = start(a_config).await;
    let b = start(b_config).await;
    (store, a, b)
}

/// Takes the complete Server-Sent Events blocks off the front of `text` (what has arrived so
/// far), as (event, id, data); an incomplete last block stays for the next chunk.
pub fn take_sse_blocks(text: &mut String) -> Vec<(String, String, String)> {
    let mut blocks = Vec::new();
    while let Some(end) = text.find("\n\n") {
        let block: String = text.drain(..end + 2).collect();
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| {
                    l.strip_prefix(&format!("{name}:"))
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        blocks.push((field("event"), field("id"), field("data")));
    }
    blocks
}

/// A server the helpers can reach: one in this process, or a `cobrowse serve` child process.
pub trait Node {
    fn addr(&self) -> SocketAddr;

    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}

impl Node for RunningServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

pub fn ws_url(server: &impl Node, path: &str) -> String {
    format!("ws://{}{path}", server.addr())
}

pub fn rrweb(seq: u64) -> TrackerEvent {
    event_with(
        seq,
        format!(r#"{{"type":3,"data":{{"source":0,"n":{seq}}},"timestamp":{seq}}}"#).into_bytes(),
    )
}

pub fn event_with(seq: u64, data: Vec<u8>) -> TrackerEvent {
    TrackerEvent {
        seq,
        ts: 1_700_000_000_000 + seq,
        kind: TrackerEventKind::Rrweb,
        data: ByteBuf::from(data),
    }
}

pub fn hello(token: Option<String>, tab: &str) -> Box<Hello> {
    Box::new(Hello {
        protocol: PROTOCOL_VERSION,
        project_key: "demo".into(),
        session_token: token,
        tab: tab.into(),
        page: PageInfo {
            url: "https://shop.example/cart".into(),
            referrer: None,
            title: Some("Cart".into()),
            user_agent: "test-agent/1.0".into(),
            viewport: Viewport {
                width: 1280,
                height: 720,
            },
        },
        user_id: Some("user-42".into()),
        metadata: BTreeMap::from([("plan".to_string(), "gold".to_string())]),
        view: Default::default(),
    })
}

/// A tracker connection after its handshake.
pub struct Tracker {
    pub ws: Ws,
    pub session_id: String,
    pub token: String,
}

pub async fn connect(server: &impl Node) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(ws_url(server, "/api/v1/track"))
        .await
        .expect("websocket connects");
    ws
}

pub async fn send(ws: &mut Ws, message: &TrackerMessage) {
    let bytes = rmp_serde::to_vec_named(message).unwrap();
    ws.send(Message::Binary(bytes.into())).await.expect("send");
}

/// The next protocol message, or the close frame's code and reason.
pub async fn recv(ws: &mut Ws) -> Result<ServerMessage, (u16, String)> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("server answers in time");
        match message {
            Some(Ok(Message::Binary(b))) => return Ok(rmp_serde::from_slice(&b).unwrap()),
            Some(Ok(Message::Close(frame))) => {
                return Err(frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new())));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err((1006, e.to_string())),
            None => return Err((1006, "closed".into())),
        }
    }
}

pub async fn expect_close(ws: &mut Ws) -> (u16, String) {
    loop {
        match recv(ws).await {
            Ok(_) => continue,
            Err(close) => return close,
        }
    }
}

impl Tracker {
    pub async fn open(server: &impl Node, token: Option<String>, tab: &str) -> Self {
        let mut ws = connect(server).await;
        send(&mut ws, &TrackerMessage::Hello(hello(token, tab))).await;
        match recv(&mut ws).await {
            Ok(ServerMessage::Welcome {
                session_id,
                session_token,
                ..
            }) => Tracker {
                ws,
                session_id: session_id.to_string(),
                token: session_token,
            },
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn send_events(&mut self, events: Vec<TrackerEvent>) {
        send(&mut self.ws, &TrackerMessage::Events { events }).await;
    }

    /// Waits for an ack covering `seq`.
    pub async fn wait_ack(&mut self, seq: u64) {
        loop {
            match recv(&mut self.ws).await {
                Ok(ServerMessage::Ack { seq: acked }) if acked >= seq => return,
                Ok(_) => continue,
                Err(close) => panic!("closed while waiting for ack {seq}: {close:?}"),
            }
        }
    }

    /// Sends events and waits until all are durable.
    pub async fn write(&mut self, events: Vec<TrackerEvent>) {
        let last = events.iter().map(|e| e.seq).max().unwrap();
        self.send_events(events).await;
        self.wait_ack(last).await;
    }
}

pub async fn agent(server: &impl Node, session: &str, query: &str) -> Ws {
    agent_with(server, AGENT_TOKEN, session, query).await
}

/// An agent connection with another agent's token.
pub async fn agent_with(server: &impl Node, token: &str, session: &str, query: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(agent_request(server, token, session, query))
        .await
        .expect("agent connects");
    ws
}

/// The upgrade request of an agent's live WebSocket, its token in the `Authorization` header.
pub fn agent_request(server: &impl Node, token: &str, session: &str, query: &str) -> Request {
    let mut request = ws_url(server, &format!("/api/v1/sessions/{session}/live?{query}"))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

pub async fn agent_recv(ws: &mut Ws) -> Option<AgentMessage> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("agent receives in time")
        {
            Some(Ok(Message::Binary(b))) => return Some(rmp_serde::from_slice(&b).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// Collects delivered events until `done` says enough.
pub async fn agent_collect(
    ws: &mut Ws,
    mut done: impl FnMut(&[DeliveredEvent]) -> bool,
) -> Vec<DeliveredEvent> {
    let mut all = Vec::new();
    while !done(&all) {
        match agent_recv(ws).await {
            Some(AgentMessage::Events { events }) => all.extend(events),
            Some(_) => {}
            None => break,
        }
    }
    all
}

pub fn rrweb_seqs(events: &[DeliveredEvent]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.kind == cobrowse::protocol::RecordKind::Rrweb)
        .map(|e| e.client_seq)
        .collect()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Signs agents in by what a trusted proxy on loopback says: the name in `x-auth-request-user`,
/// helpers by the group `support`, the projects in `x-auth-request-projects` (all without it).
pub fn loopback_proxy() -> ProxyAuth {
    ProxyAuth {
        user_header: HeaderName::from_static("x-auth-request-user"),
        role_header: None,
        groups_header: Some(HeaderName::from_static("x-auth-request-groups")),
        role_map: RoleMap::parse(&["helper=support".into()]).unwrap(),
        projects_header: Some(HeaderName::from_static("x-auth-request-projects")),
        default_role: None,
        trusted: vec![parse_trusted("127.0.0.0/8").unwrap()],
    }
}

/// `request` as the `loopback_proxy` sends it for its helper `user` of `projects` (or all).
pub fn via_proxy(
    request: reqwest::RequestBuilder,
    user: &str,
    projects: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = request
        .header("x-auth-request-user", user)
        .header("x-auth-request-groups", "support");
    match projects {
        Some(projects) => request.header("x-auth-request-projects", projects),
        None => request,
    }
}

/// GET an agent API path with alice's token; the response, once it says success.
async fn get_ok(server: &impl Node, path: &str) -> reqwest::Response {
    let response = http()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response
}

pub async fn get_json(server: &impl Node, path: &str) -> serde_json::Value {
    get_ok(server, path).await.json().await.unwrap()
}

pub async fn get_text(server: &impl Node, path: &str) -> String {
    get_ok(server, path).await.text().await.unwrap()
}

/// The server's Prometheus metrics, as text.
pub async fn metrics(server: &impl Node) -> String {
    http()
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
