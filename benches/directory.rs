//! The session directory's request path, without I/O: one page of the session list and searches
//! over an index of 10 000 sessions (1 000 live), as `GET /api/v1/sessions` answers them. Run with
//! `cargo bench --bench directory`; figures are in docs/benchmarks.md ("Session directory").

use std::collections::BTreeMap;
use std::hint::black_box;

use cobrowse::directory::index::Index;
use cobrowse::directory::query::{self, Query, Status};
use cobrowse::protocol::directory::DirectoryRecord;
use cobrowse::protocol::{EndReason, PageInfo, SessionId};
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

const SESSIONS: u64 = 10_000;
const BASE_MS: u64 = 1_790_000_000_000;

/// 10 000 sessions a second apart, every tenth live, like the load tool's seeding.
fn index() -> Index {
    let mut index = Index::new(60_000);
    let now = BASE_MS + SESSIONS * 1000;
    for i in 0..SESSIONS {
        let at = BASE_MS + i * 1000;
        let id = SessionId::from_uuid(Uuid::from_u128(
            (u128::from(at) << 80) | 0x7000_8000_0000_0000_0000 | u128::from(i),
        ));
        index.apply(
            &DirectoryRecord::Started {
                session: id,
                project: "demo".into(),
                node: "a#1".into(),
                at_ms: at,
                tab: "t-1".into(),
                page: PageInfo {
                    url: format!("https://shop.example/products/{}", i % 500),
                    user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36".into(),
                    ..PageInfo::default()
                },
                user_id: Some(format!("user-{i:05}@example.com")),
                metadata: BTreeMap::from([
                    (
                        "plan".into(),
                        ["free", "team", "enterprise"][i as usize % 3].into(),
                    ),
                    ("account".into(), format!("acct-{:04}", i / 10)),
                ]),
            },
            now,
        );
        if i % 10 != 0 {
            index.apply(
                &DirectoryRecord::Ended {
                    session: id,
                    reason: EndReason::Ended,
                    at_ms: at + 500,
                },
                now,
            );
        }
    }
    index.apply(
        &DirectoryRecord::Node {
            node: "a#1".into(),
            at_ms: now,
            stopping: false,
        },
        now,
    );
    index
}

fn list_and_search(c: &mut Criterion) {
    let index = index();
    let now = BASE_MS + SESSIONS * 1000;
    let ask = |query: Query| query.normalize();
    let cases = [
        (
            "list_newest_50",
            ask(Query {
                limit: 50,
                ..Query::default()
            }),
        ),
        (
            "list_live_50",
            ask(Query {
                status: Status::Live,
                limit: 50,
                ..Query::default()
            }),
        ),
        (
            "search_metadata_10_matches",
            ask(Query {
                text: Some("acct-0042".into()),
                limit: 50,
                ..Query::default()
            }),
        ),
        (
            "search_nothing_matches",
            ask(Query {
                text: Some("nomatch-zzz".into()),
                limit: 50,
                ..Query::default()
            }),
        ),
        (
            "user_prefix_10_matches",
            ask(Query {
                user: Some("user-0004".into()),
                limit: 50,
                ..Query::default()
            }),
        ),
    ];
    let mut group = c.benchmark_group("directory_10000_sessions");
    for (name, query) in cases {
        group.bench_function(name, |b| {
            b.iter(|| black_box(query::page(&index, &query, now)))
        });
    }
    group.finish();
}

criterion_group!(benches, list_and_search);
criterion_main!(benches);
