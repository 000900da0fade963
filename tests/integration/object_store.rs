//! The store on object storage: `cobrowse store --bucket` against a local S3-compatible server
//! (moto's, from PyPI; `scripts/test` installs it), killed and replaced by a new store on the same
//! bucket and path, which serves everything back as it was; and `serve --bucket`'s embedded
//! store, killed and restarted.

use std::process::Stdio;
use std::time::Instant;

use cobrowse::protocol::TrackerMessage;
use tokio::process::{Child, Command};

use crate::cluster::{self, Process, spawn_with_env};
use crate::common::{AGENT_TOKEN, Node, Tracker, WAIT, event_with, get_text, http, rrweb, send};

const BUCKET: &str = "cobrowse-test";
const PATH: &str = "site-a";

/// moto's S3-compatible server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Starts `moto_server` (or `$COBROWSE_MOTO_SERVER`) and waits until it answers. Missing, it
    /// fails the test: an untested bucket store must not pass as a tested one.
    async fn start() -> Self {
        let program =
            std::env::var("COBROWSE_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_string());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run the S3-compatible test server `{program}` ({e}): install it with \
                     `pip install 'moto[server]'` (scripts/test does), or set COBROWSE_MOTO_SERVER \
                     to its moto_server"
                )
            });
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Creates `bucket`, retrying while the server is still starting.
    async fn create_bucket(&mut self, bucket: &str) {
        let started = Instant::now();
        loop {
            let created = http()
                .put(format!("{}/{bucket}", self.endpoint))
                .send()
                .await;
            match created {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => panic!("moto refused to create bucket {bucket}: {}", r.status()),
                Err(_) if started.elapsed() < WAIT => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("moto_server exited at start: {status}");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("moto_server did not answer within {WAIT:?}: {e}"),
            }
        }
    }

    /// The standard AWS variables pointing a store at this server.
    fn env(&self) -> [(&'static str, &str); 4] {
        [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &self.endpoint),
        ]
    }
}

async fn bucket_store(moto: &Moto) -> Process {
    let args = [
        "store",
        "--listen",
        "127.0.0.1:0",
        "--bucket",
        BUCKET,
        "--path",
        PATH,
    ];
    spawn_with_env(&args, &moto.env(), "s2-lite listening at").await
}

/// What a reader sees of the store: the session list, once it shows the session ended, and the
/// session's events, as the server sends them.
async fn everything(stage: &str, server: &impl Node, session: &str) -> (String, String) {
    let started = Instant::now();
    let list = loop {
        let list = get_text(server, "/api/v1/sessions?status=any").await;
        let page: serde_json::Value = serde_json::from_str(&list).expect("a session page");
        let ended = page["sessions"]
            .as_array()
            .expect("a list of sessions")
            .iter()
            .any(|s| s["id"] == session && s["ended_ms"].is_u64());
        if ended {
            break list;
        }
        assert!(
            started.elapsed() < WAIT,
            "{stage}: the session never listed as ended: {list}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let events = get_text(server, &format!("/api/v1/sessions/{session}/events")).await;
    (list, events)
}

/// A session written through the tracker's WebSocket and ended: 40 small events and a large
/// one spanning many S2 records. Returns its id, once it is listed as ended, and what a reader sees.
async fn write_session(node: &impl Node) -> (String, (String, String)) {
    let mut tracker = Tracker::open(node, None, "tab-1").await;
    let mut events: Vec<_> = (1..=40).map(rrweb).collect();
    let big = format!(
        r#"{{"type":2,"data":{{"blob":"{}"}},"timestamp":41}}"#,
        (0..300_000)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect::<String>()
    );
    events.push(event_with(41, big.into_bytes()));
    tracker.write(events).await;
    let end = TrackerMessage::End {
        reason: Some("done".into()),
    };
    send(&mut tracker.ws, &end).await;
    let session = tracker.session_id.clone();
    let seen = everything("written", node, &session).await;
    assert!(seen.1.contains("\"n\":40"), "the export holds the events");
    assert!(seen.1.len() > 300_000, "the export holds the big event");
    (session, seen)
}

async fn serve_on_bucket(moto: &Moto, path: &str) -> Process {
    let alice = format!("alice:{AGENT_TOKEN}:admin");
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bucket",
        BUCKET,
        "--path",
        path,
        "--agent-token",
        &alice,
        // The directory's records are signed with it: a new random one would not read them.
        "--secret",
        "shared-test-secret",
        "--web-root",
        "/nonexistent",
    ];
    spawn_with_env(&args, &moto.env(), "cobrowse is running at").await
}

#[tokio::test]
async fn a_store_on_a_bucket_killed_is_read_back_whole_by_a_new_store_on_it() {
    let mut moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let store = bucket_store(&moto).await;
    let node = cluster::node(&store, "node-a").await;
    let (session, before) = write_session(&node).await;

    // The store dies without a chance to flush; a new one starts on the same bucket and path.
    node.terminate().await;
    store.kill().await;
    let store = bucket_store(&moto).await;
    let node = cluster::node(&store, "node-b").await;
    let after = everything("second store", &node, &session).await;
    assert!(after.0 == before.0, "the session list differs: {after:?}");
    assert!(after.1 == before.1, "the events differ");
    node.terminate().await;
}

#[tokio::test]
async fn serve_keeps_its_embedded_store_on_a_bucket_through_a_kill() {
    let mut moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let serve = serve_on_bucket(&moto, "embedded").await;
    let (session, before) = write_session(&serve).await;
    serve.kill().await;
    let serve = serve_on_bucket(&moto, "embedded").await;
    let after = everything("restarted serve", &serve, &session).await;
    assert!(after.0 == before.0, "the session list differs: {after:?}");
    assert!(after.1 == before.1, "the events differ");
    serve.terminate().await;
}

/// With `--data-dir` and no `--secret`, the secret a node generated is kept beside the data, so a
/// restarted node reads the session directory it signed; a bucket without `--secret` is refused
/// before anything starts.
#[tokio::test]
async fn serve_on_a_data_dir_without_a_secret_finds_its_sessions_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = || async {
        let alice = format!("alice:{AGENT_TOKEN}:admin");
        let args = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--agent-token",
            &alice,
            "--web-root",
            "/nonexistent",
        ];
        cluster::spawn(&args, "cobrowse is running at").await
    };
    let node = serve().await;
    let (session, before) = write_session(&node).await;
    node.terminate().await;
    let node = serve().await;
    let after = everything("restarted serve", &node, &session).await;
    assert!(after.0 == before.0, "the session list differs: {after:?}");
    assert!(after.1 == before.1, "the events differ");
    node.terminate().await;

    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_cobrowse"))
        .args(["serve", "--listen", "127.0.0.1:0", "--bucket", BUCKET])
        .env_remove("COBROWSE_SECRET")
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--bucket needs --secret"), "{said}");
}
