//! Separate processes: one `cobrowse store` (s2-lite) and `cobrowse serve` nodes pointed at it,
//! the way a deployment without sticky routing runs. Children are killed when dropped.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{AGENT_TOKEN, Node, WAIT};

pub const BOB_TOKEN: &str = "bob-secret";
pub const MALLORY_TOKEN: &str = "mallory-secret";

pub struct Process {
    child: Child,
    addr: SocketAddr,
    /// What the process printed its address as (the store's endpoint URL).
    pub url: String,
}

impl Node for Process {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Starts the binary and waits for the line that starts with `marker`, followed by its URL.
pub async fn spawn(args: &[&str], marker: &str) -> Process {
    spawn_binary(env!("CARGO_BIN_EXE_cobrowse"), args, &[], marker).await
}

/// [`spawn`], with these environment variables set for the child.
pub async fn spawn_with_env(args: &[&str], env: &[(&str, &str)], marker: &str) -> Process {
    spawn_binary(env!("CARGO_BIN_EXE_cobrowse"), args, env, marker).await
}

/// Like [`spawn_with_env`], with another build of cobrowse (a previous release's).
pub async fn spawn_binary(
    binary: &str,
    args: &[&str],
    env: &[(&str, &str)],
    marker: &str,
) -> Process {
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the cobrowse binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(url) = line.strip_prefix(marker) {
                return url.trim().to_string();
            }
        }
        panic!("`cobrowse {}` exited before printing '{marker}'", args[0]);
    })
    .await
    .expect("process starts in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr = url
        .trim_start_matches("http://")
        .parse()
        .expect("a host:port URL");
    Process { child, addr, url }
}

impl Process {
    pub fn pid(&self) -> String {
        self.child.id().expect("still running").to_string()
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, …) to the process, as `kill -SIGNAL` would.
    pub async fn signal(&self, signal: &str) {
        let pid = self.pid();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .await;
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
    }

    /// kill -9, and waits until the process is gone (its port free again).
    pub async fn kill(mut self) {
        self.signal("KILL").await;
        let exited = tokio::time::timeout(WAIT, self.child.wait()).await;
        assert!(exited.is_ok(), "process exits on SIGKILL");
    }

    /// Asks the process to shut down gracefully (SIGTERM) and waits for it to exit.
    pub async fn terminate(mut self) {
        let pid = self.child.id().expect("still running").to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().await;
        assert!(killed.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let exited = tokio::time::timeout(WAIT, self.child.wait()).await;
        assert!(
            exited.is_ok_and(|s| s.is_ok()),
            "process {pid} exits on SIGTERM"
        );
    }
}

pub async fn store() -> Process {
    spawn(
        &["store", "--listen", "127.0.0.1:0"],
        "s2-lite listening at",
    )
    .await
}

/// A store keeping its data durably in `dir`, on `listen` (port 0: any).
pub async fn durable_store(dir: &std::path::Path, listen: SocketAddr) -> Process {
    let dir = dir.to_str().expect("a UTF-8 path");
    let listen = listen.to_string();
    spawn(
        &["store", "--listen", &listen, "--data-dir", dir],
        "s2-lite listening at",
    )
    .await
}

/// A node on the shared store. Agents: alice (the common test token), bob and mallory.
pub async fn node(store: &Process, name: &str) -> Process {
    let alice = format!("alice:{AGENT_TOKEN}:admin");
    let bob = format!("bob:{BOB_TOKEN}:helper");
    let mallory = format!("mallory:{MALLORY_TOKEN}:helper");
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--s2-endpoint",
        &store.url,
        "--node-id",
        name,
        "--secret",
        "shared-test-secret",
        "--agent-token",
        &alice,
        "--agent-token",
        &bob,
        "--agent-token",
        &mallory,
        "--web-root",
        "/nonexistent",
        // These tests resend thousands of events at once, faster than a page would; the rate
        // limits have tests of their own (hostile_trackers).
        "--events-per-sec",
        "20000",
    ];
    spawn(&args, "cobrowse is running at").await
}

/// A server reachable beyond loopback refuses to start while any origin may record into it, and
/// says which two flags settle it; given one of them, it starts.
#[tokio::test]
async fn a_server_beyond_loopback_refuses_to_start_without_an_origin_rule() {
    let strong = format!("alice:{}", "0123456789abcdef".repeat(2));
    let base = [
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--agent-token",
        &strong,
        "--web-root",
        "/nonexistent",
    ];
    let refused = tokio::time::timeout(
        WAIT,
        Command::new(env!("CARGO_BIN_EXE_cobrowse"))
            .args(base)
            .env_remove("COBROWSE_ALLOWED_ORIGINS")
            .env_remove("COBROWSE_ALLOW_ANY_ORIGIN")
            .output(),
    )
    .await
    .expect("exits in time")
    .expect("runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--allowed-origin") && stderr.contains("--allow-any-origin"),
        "{stderr}"
    );

    let started = spawn(
        &[&base[..], &["--allow-any-origin"]].concat(),
        "cobrowse is running at",
    )
    .await;
    started.terminate().await;
}
