//! Whether a session withholds its page from an agent (`view: ask`), read from the session's
//! stream: its `start` record says the mode, and its `agent` records say whom the user let in.
//! The agent's node asks this, wherever the session's tracker is, since S2 is what both share.
//! An ended session is not governed by `ask`: its replay is open to whoever may replay it.

use std::collections::{BTreeSet, HashMap};

use futures::TryStreamExt;
use tracing::warn;

use crate::protocol::{AgentAction, AgentRecord, GrantKind, RecordKind, ViewMode};
use crate::session::consent::view::account;
use crate::store::frame::{Event, StoredEvent};
use crate::store::stream::{SessionStream, StoreError, read_all};

/// Whether the session's `start` record says `view: ask` and the session has not ended (`tail`
/// is its stream's tail).
pub async fn asks(stream: &SessionStream, tail: u64) -> Result<bool, StoreError> {
    if stream.end_record(tail).await?.is_some() {
        return Ok(false);
    }
    Ok(mode(stream).await? == ViewMode::Ask)
}

/// The session's mode, from its `start` record; `ask` when that cannot be read (missing,
/// trimmed, not understood): what the user chose is unknown, so the page is not shown unasked.
pub async fn mode(stream: &SessionStream) -> Result<ViewMode, StoreError> {
    let first = stream.first_event(0).await?;
    Ok(start_mode(first.as_ref()).unwrap_or(ViewMode::Ask))
}

/// The mode a stream's first record says, if it is a `start` record that can be read.
fn start_mode(first: Option<&StoredEvent>) -> Option<ViewMode> {
    first.and_then(StoredEvent::session_start).map(|s| s.view)
}

/// Whether a read of the session's page (an export, a call recording) must be refused to the
/// agent `principal` (`Agent::principal`): the session is live, asks, and the user has not let it in.
pub async fn withholds(stream: &SessionStream, principal: &str) -> Result<bool, StoreError> {
    Ok(asks(stream, stream.tail().await?.seq_num).await?
        && !let_in(stream, &account(principal)).await?)
}

/// Whether the user let `account` (`consent::view::account`) see the session and did not stop it
/// since. Reads the whole stream; only a live session in `ask` is checked.
pub async fn let_in(stream: &SessionStream, account: &str) -> Result<bool, StoreError> {
    Ok(let_in_accounts(stream).await?.contains(account))
}

/// What a node that claims a session with `first` starts from: in a resumed session that asks,
/// the accounts its stream says the user let in and did not stop (`Consent::restore_let_in`),
/// none when the stream cannot be read (fail closed: they are asked again); `None` for a new
/// session (`first` is its `start`: nobody was let in yet) or one that does not ask.
pub async fn let_in_at_claim(stream: &SessionStream, first: &Event) -> Option<BTreeSet<String>> {
    if first.kind == RecordKind::Start {
        return None;
    }
    let read = async {
        if mode(stream).await? != ViewMode::Ask {
            return Ok(None);
        }
        let_in_accounts(stream).await.map(Some)
    };
    read.await.unwrap_or_else(|e: StoreError| {
        warn!(session = %stream.id(), error = %e, "could not read who the user let in; they are asked again");
        Some(BTreeSet::new())
    })
}

/// Every account the user let see the session and did not stop since, from its `agent`
/// records: what a node that claims the session knows of who was let in, rather than what
/// agents' nodes say. Reads the whole stream.
pub async fn let_in_accounts(stream: &SessionStream) -> Result<BTreeSet<String>, StoreError> {
    let mut events = read_all(stream, 0).await?;
    let mut records = Vec::new();
    while let Some(stored) = events.try_next().await? {
        if stored.event.kind != RecordKind::Agent {
            continue;
        }
        if let Ok(record) = serde_json::from_slice::<AgentRecord>(&stored.event.body)
            && is_view_answer(&record.action)
        {
            records.push(record);
        }
    }
    Ok(fold_let_in(records))
}

fn is_view_answer(action: &AgentAction) -> bool {
    matches!(
        action,
        AgentAction::Granted {
            kind: GrantKind::View,
            ..
        } | AgentAction::Revoked {
            kind: GrantKind::View
        }
    )
}

/// The accounts whose latest `view` grant, in stream order, went to a connection that was not
/// revoked after it (a Stop of that connection shuts the account out; a later grant to another
/// connection lets it in again).
fn fold_let_in(records: impl IntoIterator<Item = AgentRecord>) -> BTreeSet<String> {
    // Each account's latest granted connection, and the account of each such connection.
    let mut latest: HashMap<String, String> = HashMap::new();
    let mut account_of: HashMap<String, String> = HashMap::new();
    for record in records {
        match record.action {
            AgentAction::Granted {
                kind: GrantKind::View,
                account: Some(account),
                ..
            } => {
                account_of.insert(record.agent.id.clone(), account.clone());
                latest.insert(account, record.agent.id);
            }
            AgentAction::Revoked {
                kind: GrantKind::View,
            } => {
                if let Some(account) = account_of.get(&record.agent.id)
                    && latest.get(account) == Some(&record.agent.id)
                {
                    latest.remove(account);
                }
            }
            _ => {}
        }
    }
    latest.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(kind: RecordKind, body: &serde_json::Value) -> StoredEvent {
        StoredEvent {
            seq_num: 0,
            timestamp: 0,
            event: Event::server(kind, body),
        }
    }

    fn view_record(connection: &str, action: AgentAction) -> AgentRecord {
        AgentRecord {
            agent: crate::protocol::AgentRef {
                id: connection.into(),
                name: "Alice".into(),
            },
            action,
        }
    }

    fn granted(connection: &str, account: &str) -> AgentRecord {
        view_record(
            connection,
            AgentAction::Granted {
                kind: GrantKind::View,
                request_id: format!("r-{connection}"),
                video: false,
                account: Some(account.into()),
            },
        )
    }

    fn revoked(connection: &str) -> AgentRecord {
        view_record(
            connection,
            AgentAction::Revoked {
                kind: GrantKind::View,
            },
        )
    }

    #[test]
    fn an_account_is_let_in_until_its_latest_grant_is_stopped() {
        let let_in = |records: Vec<AgentRecord>| -> Vec<String> {
            fold_let_in(records).into_iter().collect()
        };
        assert_eq!(let_in(vec![granted("c1", "a")]), ["a"]);
        assert!(let_in(vec![granted("c1", "a"), revoked("c1")]).is_empty());
        // A Stop of an older connection does not shut out the one granted after it…
        assert_eq!(
            let_in(vec![granted("c1", "a"), granted("c2", "a"), revoked("c1")]),
            ["a"]
        );
        // …and a grant after a Stop lets the account in again.
        assert_eq!(
            let_in(vec![granted("c1", "a"), revoked("c1"), granted("c2", "a")]),
            ["a"]
        );
        // Each account on its own.
        assert_eq!(
            let_in(vec![granted("c1", "a"), granted("c3", "b"), revoked("c3")]),
            ["a"]
        );
    }

    #[test]
    fn a_start_that_cannot_be_read_counts_as_ask() {
        assert_eq!(start_mode(None), None, "no record at all");
        let page = first(RecordKind::Rrweb, &serde_json::json!({"type": 2}));
        assert_eq!(
            start_mode(Some(&page)),
            None,
            "trimmed: the first record is not the start"
        );
        let garbled = first(RecordKind::Start, &serde_json::json!({"view": 7}));
        assert_eq!(start_mode(Some(&garbled)), None);
    }
}
