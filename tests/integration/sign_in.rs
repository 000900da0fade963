//! Ways for agents to sign in besides a fixed `--agent-token`: a token file re-read on change (a
//! token added works within seconds, one removed stops working, its tickets too), and a trusted
//! proxy's headers (believed from the proxy's addresses only).

use std::path::Path;
use std::time::Duration;

use axum::http::HeaderName;
use cobrowse::auth::proxy::{ProxyAuth, RoleMap, parse_trusted};
use serde_json::Value;

use crate::common::*;
use crate::roles::{get_as, live_url_with_ticket};

/// How long a change of the token file may take to be in force: the poll is every second.
const ROTATION: Duration = Duration::from_secs(5);

/// Waits until `GET /api/v1/me` with `token` answers `status`.
async fn me_until(server: &impl Node, token: &str, status: u16) {
    let deadline = tokio::time::Instant::now() + ROTATION;
    loop {
        let got = get_as(server, token, "/api/v1/me").await.status();
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "token still answers {got}, not {status}, {ROTATION:?} after the file changed"
        );
        // Not faster: each refusal counts toward this address's throttle (10 a minute).
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn write(path: &Path, text: &str) {
    // Written aside and renamed, as an editor or a Kubernetes Secret update does.
    let aside = path.with_extension("new");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

#[tokio::test]
async fn tokens_added_to_the_file_work_and_removed_ones_stop_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent-tokens");
    write(&file, "# support desk\nfern:fern-secret-1:helper\n");
    let mut config = config();
    config.agent_tokens_file = Some(file.clone());
    let server = start(config).await;
    let page = crate::roles::tracker_in(&server, "demo").await;

    let fern: Value = get_as(&server, "fern-secret-1", "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fern["role"], "helper");
    assert_eq!(
        get_as(&server, "gus-secret", "/api/v1/me").await.status(),
        401
    );

    write(
        &file,
        "fern:fern-secret-1:helper\ngus:gus-secret:viewer:demo\n",
    );
    me_until(&server, "gus-secret", 200).await;
    let url = live_url_with_ticket(&server, "fern-secret-1", &page.session_id).await;

    // A file that does not parse changes nothing.
    write(&file, "gus:gus-secret:viewer:demo\nnot a token\n");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        get_as(&server, "fern-secret-1", "/api/v1/me")
            .await
            .status(),
        200
    );

    write(&file, "gus:gus-secret:viewer:demo\n");
    me_until(&server, "fern-secret-1", 401).await;
    assert_eq!(
        get_as(&server, "gus-secret", "/api/v1/me").await.status(),
        200
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(
                response.status(),
                401,
                "a removed token's ticket opens nothing"
            )
        }
        other => panic!("the ticket of a removed token must be refused: {other:?}"),
    }
    // The tokens of the command line stay whatever the file says.
    assert_eq!(
        get_as(&server, AGENT_TOKEN, "/api/v1/me").await.status(),
        200
    );
    server.stop().await;
}

fn proxied(trusted: &str) -> ProxyAuth {
    ProxyAuth {
        user_header: HeaderName::from_static("x-auth-request-user"),
        role_header: None,
        groups_header: Some(HeaderName::from_static("x-auth-request-groups")),
        role_map: RoleMap::parse(&["helper=support".into(), "admin=cobrowse-admins".into()])
            .unwrap(),
        projects_header: Some(HeaderName::from_static("x-auth-request-projects")),
        default_role: None,
        trusted: vec![parse_trusted(trusted).unwrap()],
    }
}

async fn me_via_proxy(server: &impl Node, user: &str, groups: &str) -> reqwest::Response {
    http()
        .get(format!("{}/api/v1/me", server.url()))
        .header("x-auth-request-user", user)
        .header("x-auth-request-groups", groups)
        .header("x-auth-request-projects", "shop-a")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_trusted_proxy_signs_agents_in_with_the_role_of_their_groups() {
    let mut config = config();
    config.agent_proxy = Some(proxied("127.0.0.0/8"));
    let server = start(config).await;
    let me: Value = me_via_proxy(&server, "ida@example.com", "staff,support")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "ida@example.com");
    assert_eq!(me["role"], "helper");
    assert_eq!(me["projects"], serde_json::json!(["shop-a"]));
    assert_eq!(me["via"], "proxy");
    let unmapped = me_via_proxy(&server, "eve@example.com", "staff").await;
    assert_eq!(unmapped.status(), 401);
    let body: Value = unmapped.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("no role"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_agent_header_from_an_untrusted_address_is_ignored() {
    let mut config = config();
    config.agent_proxy = Some(proxied("10.0.0.0/8"));
    let server = start(config).await;
    let response = me_via_proxy(&server, "mallory@example.com", "cobrowse-admins").await;
    assert_eq!(response.status(), 401, "loopback is not the proxy here");
    // A token still signs in.
    assert_eq!(
        get_as(&server, AGENT_TOKEN, "/api/v1/me").await.status(),
        200
    );
    server.stop().await;
}
