//! A tracker's handshake: its `hello`, the project key and origin, the session it resumes (its
//! session token) or starts, and this node's writer for the session, which writes the session's
//! `start` or a `page` record for a tab that joins.

use super::connection::{Attached, TrackerConnection};

use std::time::Instant;

use tokio_tungstenite::tungstenite::Message;
use tracing::info;

use super::MAX_HELLO_BYTES;
use super::reject::Reject;
use crate::protocol::SessionId;
use crate::protocol::directory::DirectoryRecord;
use crate::protocol::tracker_frame::check_hello;
use crate::protocol::{
    Hello, PROTOCOL_VERSION, PageRecord, RecordKind, ServerMessage, SessionStart, TrackerMessage,
    ViewMode, close,
};
use crate::session::room::Room;
use crate::session::view_access;
use crate::store::frame::Event;
use crate::store::stream::StoreError;

impl TrackerConnection {
    /// Runs the connection from its first frame, `hello`, which `first_frame` read by hand (at
    /// most [`MAX_HELLO_BYTES`]) before the socket was set up for the larger frames that follow.
    pub(super) async fn run(
        &mut self,
        hello: Vec<u8>,
        origin: Option<String>,
    ) -> Result<(), Reject> {
        let hello = match self.decode(Message::Binary(hello.into()), MAX_HELLO_BYTES)? {
            Some(TrackerMessage::Hello(hello)) => *hello,
            _ => {
                return Err(Reject::new(
                    close::PROTOCOL,
                    "the first message must be 'hello'",
                ));
            }
        };
        let attached = self.attach(hello, origin.as_deref()).await?;
        self.serve(attached).await
    }

    pub(super) async fn attach(
        &mut self,
        hello: Hello,
        origin: Option<&str>,
    ) -> Result<Attached, Reject> {
        if hello.protocol != PROTOCOL_VERSION {
            return Err(Reject::new(
                close::PROTOCOL,
                format!(
                    "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
                    hello.protocol
                ),
            ));
        }
        if !valid_tab(&hello.tab) {
            return Err(Reject::new(
                close::PROTOCOL,
                "tab must be 1-64 characters of [A-Za-z0-9_-]",
            ));
        }
        check_hello(&hello)
            .map_err(|reason| self.refuse("hello_too_big", close::PROTOCOL, reason))?;
        let state = self.state.clone();
        state
            .projects
            .check(&hello.project_key, origin)
            .map_err(|e| {
                let code = match e {
                    crate::auth::AuthError::ForbiddenOrigin(_) => close::FORBIDDEN_ORIGIN,
                    _ => close::UNAUTHORIZED,
                };
                Reject::new(code, e.to_string())
            })?;
        let (id, first, resumed) = match &hello.session_token {
            Some(token) => {
                let resumed = state
                    .session_tokens
                    .verify(token, &hello.project_key)
                    .map_err(|e| Reject::new(close::UNAUTHORIZED, e.to_string()))?;
                let id = resumed.session;
                let page = PageRecord {
                    tab: hello.tab.clone(),
                    page: hello.page.clone(),
                    node: state.rooms.settings.node_id.clone(),
                    user_id: hello.user_id.clone(),
                    metadata: hello.metadata.clone(),
                };
                (id, Event::server(RecordKind::Page, &page), Some(resumed))
            }
            None => {
                let admitted = self
                    .state
                    .admission
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .admit(self.address, &hello.project_key, Instant::now());
                admitted.map_err(|refusal| {
                    self.refuse("new_session", close::RATE_LIMITED, refusal.to_string())
                })?;
                let id = SessionId::new();
                state.store.create_session(id).await?;
                let start = SessionStart {
                    session_id: id,
                    project_key: hello.project_key.clone(),
                    created_ms: id.created_ms(),
                    tab: hello.tab.clone(),
                    page: hello.page.clone(),
                    user_id: hello.user_id.clone(),
                    metadata: hello.metadata.clone(),
                    view: hello.view,
                };
                (id, Event::server(RecordKind::Start, &start), None)
            }
        };
        let presence = state.rooms.join_tracker(id, &hello.tab).ok_or_else(|| {
            self.refuse(
                "tabs",
                close::RATE_LIMITED,
                format!(
                    "session {id} already has {} tabs connected to this server",
                    state.ingress.max_tabs_per_session
                ),
            )
        })?;
        let room = presence.room().clone();
        let signals = room.tracker_signals();
        let writer = room
            .writer_for_tracker(first, &state.rooms.settings)
            .await?;
        room.update_info(|info| {
            info.tabs.insert(hello.tab.clone(), hello.page.clone());
            info.url = Some(hello.page.url.clone());
            if hello.user_id.is_some() {
                info.user_id = hello.user_id.clone();
            }
            info.metadata.extend(hello.metadata.clone());
        });
        let directory = state.rooms.directory();
        let at_ms = crate::clock::now_ms();
        if resumed.is_some() {
            directory.record(DirectoryRecord::Claimed {
                session: id,
                node: directory.node().to_string(),
                at_ms,
            });
            directory.record(DirectoryRecord::Page {
                session: id,
                tab: hello.tab.clone(),
                url: hello.page.url.clone(),
                at_ms,
            });
            if hello.user_id.is_some() || !hello.metadata.is_empty() {
                directory.record(DirectoryRecord::Identity {
                    session: id,
                    user_id: hello.user_id.clone(),
                    metadata: hello.metadata.clone(),
                    at_ms,
                });
            }
        } else {
            directory
                .record_waiting(DirectoryRecord::Started {
                    session: id,
                    project: hello.project_key.clone(),
                    node: directory.node().to_string(),
                    at_ms,
                    tab: hello.tab.clone(),
                    page: hello.page.clone(),
                    user_id: hello.user_id.clone(),
                    metadata: hello.metadata.clone(),
                })
                .await;
        }
        info!(session = %id, tab = %hello.tab, resumed = resumed.is_some(), "tracker connected");
        // A resumed session keeps the expiry its first token had: the lifetime is absolute.
        let session_token = match resumed {
            Some(resumed) => state.session_tokens.reissue(resumed, &hello.project_key),
            None => state.session_tokens.issue(id, &hello.project_key),
        };
        let view = match resumed {
            None => hello.view,
            Some(_) => session_view(&room).await?,
        };
        room.update_info(|info| info.view = Some(view));
        self.send(&ServerMessage::Welcome {
            session_id: id,
            session_token,
            tab: hello.tab.clone(),
            resumed: resumed.is_some(),
            limits: state.limits,
            help_codes: true,
            view: Some(view),
        })
        .await?;
        for message in room.consent_snapshot(view) {
            self.send(&message).await?;
        }
        Ok(Attached {
            presence,
            signals,
            writer,
            tab: hello.tab,
            project: hello.project_key,
        })
    }
}

/// A resumed session's `view` mode: what this node knows, else its `start` record's (`ask` if
/// that cannot be read, as agents' nodes take it). A resuming tab's own `hello.view` is not
/// taken, so every node of the cluster follows the same mode.
async fn session_view(room: &Room) -> Result<ViewMode, StoreError> {
    if let Some(view) = room.info().view {
        return Ok(view);
    }
    view_access::mode(room.stream()).await
}

pub(super) fn valid_tab(tab: &str) -> bool {
    (1..=64).contains(&tab.len())
        && tab
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
