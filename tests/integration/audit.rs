//! Every read of a recording is written to the audit stream, naming the agent, before it is
//! served; the audit is read back through `GET /api/v1/audit`.

use std::net::SocketAddr;

use cobrowse::auth::tokens::StaticToken;
use cobrowse::protocol::{AuditAction, AuditPage, FollowVia, Role};
use cobrowse::store::audit::AUDIT_STREAM;
use cobrowse::store::embedded::EmbeddedS2;
use cobrowse::store::location::StoreLocation;
use s2_sdk::types::{
    AppendInput, AppendRecord, AppendRecordBatch, CommandRecord, ReconfigureStreamInput, S2Config,
    S2Endpoints, StreamName, StreamReconfiguration, TimestampingMode, TimestampingReconfiguration,
};
use s2_sdk::{S2, S2Basin};
use tokio_tungstenite::tungstenite;

use crate::common::*;

const BOB_TOKEN: &str = "bob-test-secret";

async fn audit(server: &impl Node, query: &str) -> AuditPage {
    serde_json::from_value(get_json(server, &format!("/api/v1/audit?{query}")).await)
        .expect("an audit page")
}

async fn export(server: &impl Node, session: &str, token: &str) -> String {
    let response = http()
        .get(format!(
            "{}/api/v1/sessions/{session}/events?format=rrweb",
            server.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.unwrap()
}

#[tokio::test]
async fn exports_details_and_follows_are_audited_naming_the_agent_and_the_session() {
    let mut config = config();
    config
        .agent_tokens
        .push(StaticToken::new("bob", BOB_TOKEN, Role::Admin));
    let server = start(config).await;
    let mut watched = Tracker::open(&server, None, "tab-1").await;
    watched.write(vec![rrweb(1), rrweb(2)]).await;
    let session = watched.session_id.clone();
    let mut other = Tracker::open(&server, None, "tab-1").await;
    other.write(vec![rrweb(1)]).await;

    // The reads work as before.
    let exported = export(&server, &session, BOB_TOKEN).await;
    assert_eq!(
        exported,
        r#"[{"type":3,"data":{"source":0,"n":1},"timestamp":1},{"type":3,"data":{"source":0,"n":2},"timestamp":2}]"#
    );
    export(&server, &other.session_id, AGENT_TOKEN).await;
    let detail = get_json(&server, &format!("/api/v1/sessions/{session}")).await;
    assert_eq!(detail["id"], session.as_str());
    // The summary alone is what the list shows (consoles poll it): not a read of the recording.
    get_json(
        &server,
        &format!("/api/v1/sessions/{session}?activity=false"),
    )
    .await;
    let mut follower = agent(&server, &session, "from=beginning").await;
    let seen = agent_collect(&mut follower, |e| rrweb_seqs(e).len() >= 2).await;
    assert_eq!(rrweb_seqs(&seen), vec![1, 2]);

    let page = audit(&server, &format!("session={session}")).await;
    assert_eq!(page.next_seq, None, "the whole audit fits one page");
    let reads: Vec<(&str, &AuditAction)> = page
        .entries
        .iter()
        .map(|e| (e.record.agent.as_str(), &e.record.action))
        .collect();
    assert!(
        page.entries
            .iter()
            .all(|e| e.record.session.is_some_and(|s| s.to_string() == session) && e.ts > 0),
        "{page:?}"
    );
    assert!(
        matches!(
            reads[..],
            [
                ("bob", AuditAction::Export { tab: None }),
                ("alice", AuditAction::Detail),
                (
                    "alice",
                    AuditAction::Follow {
                        via: FollowVia::Websocket,
                        from_seq: 0,
                        ..
                    }
                ),
            ]
        ),
        "{reads:?}"
    );

    // Unfiltered, the other session's export is there too, and pages go on from `next_seq`.
    let first = audit(&server, "limit=1").await;
    assert_eq!(first.entries.len(), 1);
    let next = first.next_seq.expect("more to read");
    let rest = audit(&server, &format!("from_seq={next}")).await;
    assert_eq!(rest.entries.len(), 3, "{rest:?}");
    assert_eq!(
        rest.entries[0].record.session.map(|s| s.to_string()),
        Some(other.session_id.clone())
    );

    let anonymous = http()
        .get(format!("{}/api/v1/audit", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    server.stop().await;
}

/// What a refused read answers: its status, and its JSON body as text.
async fn refused(server: &impl Node, path: &str) -> (u16, String) {
    let response = tokio::time::timeout(
        WAIT,
        http()
            .get(format!("{}{path}", server.url()))
            .bearer_auth(AGENT_TOKEN)
            .send(),
    )
    .await
    .expect("a read is answered in time, not left hanging")
    .unwrap();
    let status = response.status().as_u16();
    let body = tokio::time::timeout(WAIT, response.text())
        .await
        .expect("the body ends in time")
        .unwrap();
    (status, body)
}

fn assert_refused_for_audit(what: &str, (status, body): &(u16, String)) {
    assert_eq!(*status, 503, "{what}: {body}");
    assert!(
        body.contains("could not be audited") && body.contains(AUDIT_STREAM),
        "{what}: the body says why: {body}"
    );
    assert!(
        !body.contains(r#""n":"#),
        "{what}: none of the session's events are served: {body}"
    );
}

/// A client of the served store, as anything on the store's network can make (s2-lite ignores
/// the token).
fn store_client(store: &EmbeddedS2) -> S2Basin {
    let config = S2Config::new("s2-lite")
        .with_endpoints(S2Endpoints::for_endpoint(&store.endpoint()).unwrap());
    S2::new(config).unwrap().basin("cobrowse".parse().unwrap())
}

/// Fail closed: every read of a recording is refused, with a 503 that says why and none of the
/// recording, when its audit record cannot be written, rather than served without it.
///
/// Two ways for anything on the store's network to go after `cluster/audit`:
/// - a `fence` command: harmless, since S2 checks a fencing token only on appends that present
///   one, and audit appends carry none (every node appends). Reads go on, and are recorded.
/// - reconfiguring the stream to require client timestamps: audit appends carry none, so every
///   one is refused. The server must not work around it (a node changing the stream's config back
///   would let the tamperer and the server take turns): reads stay refused until an operator
///   repairs the stream.
#[tokio::test]
async fn reads_are_refused_when_their_audit_record_cannot_be_written() {
    let store = EmbeddedS2::start(
        &StoreLocation::Memory,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("store starts");
    let mut config = config();
    config.s2_endpoint = Some(store.endpoint());
    let server = start(config).await;
    let mut tracker = Tracker::open(&server, None, "tab-1").await;
    tracker.write(vec![rrweb(1), rrweb(2)]).await;
    let session = tracker.session_id.clone();
    let basin = store_client(&store);
    let audit_stream: StreamName = AUDIT_STREAM.parse().unwrap();

    let fence: AppendRecord = CommandRecord::fence("held-by-no-node".parse().unwrap()).into();
    basin
        .stream(audit_stream.clone())
        .append(AppendInput::new(
            AppendRecordBatch::try_from_iter([fence]).unwrap(),
        ))
        .await
        .expect("anyone on the store's network can fence the audit stream");
    // The fence does not silence the audit: the read is served, and recorded.
    assert!(
        export(&server, &session, AGENT_TOKEN)
            .await
            .contains(r#""n":2"#)
    );

    basin
        .reconfigure_stream(ReconfigureStreamInput::new(
            audit_stream,
            StreamReconfiguration::new().with_timestamping(
                TimestampingReconfiguration::new().with_mode(TimestampingMode::ClientRequire),
            ),
        ))
        .await
        .expect("anyone on the store's network can reconfigure the audit stream");

    let events = format!("/api/v1/sessions/{session}/events?format=rrweb");
    assert_refused_for_audit("export", &refused(&server, &events).await);
    let detail = format!("/api/v1/sessions/{session}");
    assert_refused_for_audit("detail", &refused(&server, &detail).await);
    let sse = format!("/api/v1/sessions/{session}/events/stream?from=beginning");
    assert_refused_for_audit("SSE follow", &refused(&server, &sse).await);
    let ws = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async(agent_request(
            &server,
            AGENT_TOKEN,
            &session,
            "from=beginning",
        )),
    )
    .await
    .expect("the upgrade is answered in time");
    match ws {
        Err(tungstenite::Error::Http(response)) => {
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
            assert_refused_for_audit(
                "WebSocket follow",
                &(response.status().as_u16(), body.into_owned()),
            );
        }
        Err(e) => panic!("the WebSocket follow is refused with a 503, not {e}"),
        Ok(_) => panic!("the WebSocket follow was opened without its audit record"),
    }
    // No work-around: the stream stays as the tamperer left it, and the reads stay refused.
    assert_refused_for_audit("a second export", &refused(&server, &events).await);
    // The summary the session list shows is not a read of the recording, and is not refused.
    get_json(
        &server,
        &format!("/api/v1/sessions/{session}?activity=false"),
    )
    .await;

    let metrics = metrics(&server).await;
    assert!(
        metrics.contains(r#"cobrowse_rejected_total{reason="audit_unavailable"} 5"#),
        "{metrics}"
    );
    // The trail (still readable) has the one read served, and nothing was served unrecorded.
    let page = audit(&server, &format!("session={session}")).await;
    let reads: Vec<&AuditAction> = page.entries.iter().map(|e| &e.record.action).collect();
    assert!(
        matches!(reads[..], [AuditAction::Export { tab: None }]),
        "{reads:?}"
    );
    server.stop().await;
    store.close().await;
}
