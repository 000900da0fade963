//! Every read of a recording is written to the audit stream, naming the agent, before it is
//! served; the audit is read back through `GET /api/v1/audit`.

use cobrowse::protocol::{AuditAction, AuditPage, FollowVia};

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
        .push(("bob".to_string(), BOB_TOKEN.to_string()));
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
            .all(|e| e.record.session.to_string() == session && e.ts > 0),
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
    assert_eq!(rest.entries[0].record.session.to_string(), other.session_id);

    let anonymous = http()
        .get(format!("{}/api/v1/audit", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    server.stop().await;
}
