//! [`HelpCodes`] on the embedded store, with appends to `cluster/codes` held while a gate is shut:
//! what a slow store does to a node's code lookups.

use std::time::{Duration, Instant};

use super::*;
use crate::store::embedded::EmbeddedEngine;
use crate::store::held::HeldAppends;
use crate::store::lite::LiteBackend;
use crate::store::stream::session_settings;

fn resolver(name: &str) -> Resolver {
    Resolver {
        name: name.into(),
        agent: AgentRef {
            id: name.into(),
            name: name.into(),
        },
        scope: vec!["shop".into()],
    }
}

#[tokio::test]
async fn a_locked_out_agent_or_a_typo_is_refused_while_a_resolve_waits_on_the_store() {
    let engine = EmbeddedEngine::open(&Default::default())
        .await
        .expect("engine");
    let settings = session_settings(Duration::from_secs(3600));
    let inner = LiteBackend::open(engine.backend(), "codes-test", settings)
        .await
        .expect("basin");
    let gate = Arc::new(HeldAppends::new(inner, CODE_STREAM));
    let config = CodeConfig {
        ttl: DEFAULT_TTL,
        limits: FailureLimits {
            per_agent: 1,
            ..FailureLimits::default()
        },
    };
    let (codes, _follower) = HelpCodes::start(
        Streams::new(gate.clone(), settings),
        config,
        b"codes-test-secret",
        "node-a",
        Arc::new(Metrics::new()),
        CancellationToken::new(),
    )
    .await
    .expect("codes start");
    let session = SessionId::new();
    let issued = codes.issue(session, "t1", "shop").await.expect("a code");
    let wrong = format!("{:06}", (issued.code + 1) % 1_000_000);
    assert_eq!(
        codes.resolve(&resolver("ann"), &wrong).await,
        Err(CodeError::NotFound)
    );

    // The store stops taking appends: bob's right code holds the node's queue while it waits.
    gate.open.send_replace(false);
    let stuck = tokio::spawn({
        let codes = codes.clone();
        let right = format!("{:06}", issued.code);
        async move {
            let started = Instant::now();
            (
                codes.resolve(&resolver("bob"), &right).await,
                started.elapsed(),
            )
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Those refused anyway are refused at once, not after bob.
    let quick = Duration::from_secs(1);
    let locked = tokio::time::timeout(quick, codes.resolve(&resolver("ann"), &wrong)).await;
    assert!(
        matches!(locked, Ok(Err(CodeError::Locked { .. }))),
        "{locked:?}"
    );
    let typo = tokio::time::timeout(quick, codes.resolve(&resolver("cid"), "12a456")).await;
    assert_eq!(typo, Ok(Err(CodeError::Malformed)));
    // And bob is told the store is unavailable rather than waiting for ever.
    let (result, took) = stuck.await.expect("resolve ends");
    assert!(
        matches!(result, Err(CodeError::Unavailable(_))),
        "{result:?}"
    );
    assert!(took < STORE_TIMEOUT + Duration::from_secs(1), "{took:?}");
}
