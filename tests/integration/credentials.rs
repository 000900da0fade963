//! How agents prove who they are: the bearer header, or a short-lived single-use ticket where a
//! browser cannot set one; never the static token in a URL; and a client address that keeps
//! failing is refused for a while.

use cobrowse::protocol::AgentMessage;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::common::*;

/// A ticket fetched with the bearer token from `server`.
async fn ticket(server: &impl Node) -> String {
    let response = http()
        .post(format!("{}/api/v1/tickets", server.url()))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["ticket"].as_str().unwrap().to_string()
}

/// The HTTP status a live WebSocket upgrade to `url` is refused with, or 101.
async fn upgrade_status(url: String) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => 101,
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[tokio::test]
async fn the_static_token_in_a_url_opens_nothing_and_a_ticket_opens_one_socket_on_any_node() {
    let (_store, a, b) = two_nodes_on_a_served_store().await;
    let mut t = Tracker::open(&a, None, "tab-1").await;
    t.write(vec![rrweb(1)]).await;
    let live = |node: &dyn Fn(&str) -> String, query: &str| {
        node(&format!(
            "/api/v1/sessions/{}/live?from=live&{query}",
            t.session_id
        ))
    };
    let on_a = |path: &str| ws_url(&a, path);
    let on_b = |path: &str| ws_url(&b, path);

    assert_eq!(
        upgrade_status(live(&on_a, &format!("token={AGENT_TOKEN}"))).await,
        401
    );
    let sse = format!(
        "{}/api/v1/sessions/{}/events/stream?token={AGENT_TOKEN}",
        a.url(),
        t.session_id
    );
    let refused = http().get(&sse).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("ticket"),
        "{body}"
    );
    let with_token_too = http()
        .get(format!("{}/api/v1/sessions?token={AGENT_TOKEN}", a.url()))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_token_too.status(),
        401,
        "a token in a URL is refused everywhere"
    );
    let no_bearer = http()
        .post(format!("{}/api/v1/tickets", a.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(no_bearer.status(), 401);

    // A ticket from node A opens a socket on node B, once.
    let issued = ticket(&a).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(live(&on_b, &format!("ticket={issued}")))
        .await
        .expect("the ticket opens the socket");
    assert!(matches!(
        agent_recv(&mut ws).await,
        Some(AgentMessage::Joined { .. })
    ));
    assert_eq!(
        upgrade_status(live(&on_b, &format!("ticket={issued}"))).await,
        401
    );

    // A ticket opens an SSE stream too, but is no credential for the REST API nor for more
    // tickets (which would keep a stolen one alive for ever).
    let issued = ticket(&b).await;
    let sse = format!(
        "{}/api/v1/sessions/{}/events/stream?ticket={issued}",
        b.url(),
        t.session_id
    );
    assert_eq!(http().get(&sse).send().await.unwrap().status(), 200);
    let issued = ticket(&a).await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/sessions"),
        (reqwest::Method::POST, "/api/v1/tickets"),
    ] {
        let response = http()
            .request(method, format!("{}{path}?ticket={issued}", a.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_refused_for_a_while_even_with_the_right_token() {
    let server = start(config()).await;
    let url = format!("{}/api/v1/sessions", server.url());
    for guess in 0..10 {
        let response = http()
            .get(&url)
            .bearer_auth(format!("guess-{guess}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "guess {guess}");
    }
    let throttled = http()
        .get(&url)
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let live = ws_url(&server, "/api/v1/sessions/x/live");
    assert_eq!(upgrade_status(live).await, 429, "every agent route");

    let metrics = metrics_text(&server).await;
    assert!(
        metrics.contains("cobrowse_rejected_total{reason=\"agent_auth_failed\"} 10"),
        "{metrics}"
    );
    server.stop().await;
}
