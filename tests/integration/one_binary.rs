//! The release binary is all an operator needs: copied alone into an empty directory and started
//! there, it serves the agent console, the tracker bundle and (with `--demo`) the demo page, and
//! `cobrowse probe` checks its health with no other tool.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::{WAIT, http};

#[tokio::test]
async fn the_binary_alone_in_an_empty_directory_serves_everything() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("cobrowse");
    std::fs::copy(env!("CARGO_BIN_EXE_cobrowse"), &binary).unwrap();
    let mut child = Command::new(&binary)
        // Call ports below the kernel's ephemeral range (32768 and up): the default range would
        // take ports the other tests' call peers may have been given, and steal their packets.
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--rtc-ports",
            "31800-31809",
        ])
        .current_dir(dir.path())
        .env_remove("COBROWSE_WEB_ROOT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("cobrowse is running at ") {
                return url.trim().to_string();
            }
        }
        panic!("serve exited before printing its URL");
    })
    .await
    .expect("serve starts");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let get = |path: &str| {
        let url = format!("{url}{path}");
        async move { http().get(url).send().await.unwrap() }
    };
    let console = get("/").await;
    assert_eq!(console.status(), 200);
    assert!(console.headers().contains_key("content-security-policy"));
    let html = console.text().await.unwrap();
    assert!(html.contains("<script"), "the console's page: {html}");
    let asset = html
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("the page names its script");
    let script = get(asset).await;
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript");
    assert!(
        script.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let tracker = get("/tracker.js").await;
    assert_eq!(tracker.status(), 200);
    assert!(
        tracker.text().await.unwrap().len() > 10_000,
        "the tracker bundle"
    );
    let demo = get("/demo/").await;
    assert_eq!(demo.status(), 200);
    assert!(demo.text().await.unwrap().contains("tracker"));
    assert_eq!(get("/demo/start-tracker.js").await.status(), 200);

    let probe = |target: String| {
        let binary = binary.clone();
        async move {
            Command::new(binary)
                .args(["probe", &target])
                .output()
                .await
                .unwrap()
        }
    };
    let ready = probe(format!("{url}/readyz")).await;
    assert!(ready.status.success(), "{ready:?}");
    let missing = probe(format!("{url}/api/v1/nothing")).await;
    assert_eq!(missing.status.code(), Some(1));
    let nobody = probe("http://127.0.0.1:9/readyz".into()).await;
    assert_eq!(nobody.status.code(), Some(1), "nothing listening");
    child.kill().await.unwrap();
}
