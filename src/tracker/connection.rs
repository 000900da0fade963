//! A tracker connection after its handshake: batches of events in, and an acknowledgement out for
//! each batch once S2 has it. A connection keeps reading while earlier batches are in flight (up
//! to [`MAX_IN_FLIGHT`] batches and `max_in_flight_bytes`) and answers in order; it also carries
//! the room's messages to the page and the page's answers (consent, call negotiation) back to
//! the room. What a tracker may send is bounded at every step (frame size, events per batch,
//! events and bytes per second, control messages per second, silence), because anyone can open
//! one.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as SocketError, Message};
use tracing::{debug, warn};

use super::help;
use super::notes::{note_identity, note_rrweb};
use super::reject::{NO_CLOSE_FRAME, Reject, writer_gone};
use super::{CLOSE_LINGER, HELLO_TIMEOUT, MAX_CANVASES, MAX_IN_FLIGHT, Socket};
use crate::call::{Command, USER};
use crate::protocol::tracker_frame::{self, FrameError};
use crate::protocol::{
    EndReason, ServerMessage, TrackerEvent, TrackerEventKind, TrackerMessage, close,
};
use crate::session::limits::{Excess, TokenBucket, seqs_increase};
use crate::session::room::TrackerSignal;
use crate::session::rooms::Presence;
use crate::state::AppState;
use crate::store::frame::Event;
use crate::store::stream::StoreError;
use crate::store::writer::{Writer, WriterState};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

enum Flow {
    Continue,
    Stop,
}

/// A batch on its way to S2: its ack's `seq`, its size, and whether S2 stored it.
type PendingAck = futures::future::BoxFuture<'static, (u64, usize, Result<(), StoreError>)>;

pub(super) struct TrackerConnection {
    pub(super) socket: Socket,
    pub(super) state: Arc<AppState>,
    /// The client's address, which new sessions are charged to.
    pub(super) address: IpAddr,
    /// Messages other than `events` this connection may still send.
    control: TokenBucket,
}

/// A tracker connection after its handshake.
pub(super) struct Attached {
    pub(super) presence: Presence,
    /// Taken as the tracker joins the room, so nothing the room sends its trackers from then on
    /// is missed while the handshake completes.
    pub(super) signals: broadcast::Receiver<TrackerSignal>,
    pub(super) writer: Writer,
    pub(super) tab: String,
    /// The project key the session started with: its help codes resolve only within it.
    pub(super) project: String,
}

impl TrackerConnection {
    pub(super) fn new(socket: Socket, state: Arc<AppState>, address: IpAddr) -> Self {
        let rate = f64::from(state.ingress.control_messages_per_sec);
        Self {
            socket,
            control: TokenBucket::new(rate, rate * 10.0, Instant::now()),
            state,
            address,
        }
    }

    pub(super) async fn serve(&mut self, mut attached: Attached) -> Result<(), Reject> {
        let room = attached.presence.room().clone();
        let mut writer_state = attached.writer.state();
        let mut pending: FuturesOrdered<PendingAck> = FuturesOrdered::new();
        let mut in_flight_bytes = 0usize;
        let max_in_flight_bytes = self.state.ingress.max_in_flight_bytes;
        let shutdown = self.state.shutdown.clone();
        let idle = self.state.ingress.tracker_idle_timeout;
        let mut heard = tokio::time::Instant::now();
        let mut ping = tokio::time::interval_at(heard + idle / 3, idle / 3);
        let mut asking: Option<help::Asking> = None;
        let result = loop {
            let reading = pending.len() < MAX_IN_FLIGHT && in_flight_bytes < max_in_flight_bytes;
            let step = tokio::select! {
                biased;
                _ = shutdown.cancelled() => Err(Reject::new(close::GOING_AWAY, "server is shutting down; reconnect")),
                Some((seq, bytes, result)) = pending.next() => {
                    in_flight_bytes -= bytes;
                    self.acknowledge(&room, &attached.tab, seq, result).await.map(|()| Flow::Continue)
                }
                now = ping.tick() => {
                    // While the server is not reading, the tracker's silence is the server's doing.
                    if !reading {
                        heard = now;
                    }
                    if now.duration_since(heard) >= idle {
                        Err(Reject::new(
                            close::TOO_SLOW,
                            format!("nothing received for {} s; reconnect", idle.as_secs()),
                        ))
                    } else {
                        self.send_raw(Message::Ping(Bytes::new())).await.map(|()| Flow::Continue)
                    }
                }
                changed = writer_state.changed() => {
                    let now = *writer_state.borrow();
                    if changed.is_err() || now != WriterState::Active {
                        room.drop_inactive_writer().await;
                        Err(writer_gone(room.id, now))
                    } else {
                        Ok(Flow::Continue)
                    }
                }
                answer = help::answered(&mut asking) => {
                    asking = None;
                    self.send(&answer).await.map(|()| Flow::Continue)
                }
                signal = attached.signals.recv() => match signal {
                    Ok(message) => self.forward(&message, &attached.tab).await.map(|()| Flow::Continue),
                    Err(RecvError::Lagged(missed)) => {
                        // Input was lost on the way to this tab; at least its grants are current.
                        warn!(session = %room.id, tab = %attached.tab, missed, "tracker fell behind on agent signals");
                        self.send(&room.grants_message()).await.map(|()| Flow::Continue)
                    }
                    // The room owns the sender and outlives this connection; closed means broken.
                    Err(RecvError::Closed) => Err(Reject::new(close::INTERNAL, "room signals closed")),
                },
                message = self.socket.next(), if reading => {
                    heard = tokio::time::Instant::now();
                    self.handle(message, &attached, &mut pending, &mut in_flight_bytes, &mut asking).await
                }
            };
            match step {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => break Ok(()),
                Err(reject) => break Err(reject),
            }
        };
        // Whatever was accepted is flushed and acknowledged before the socket closes, whatever
        // the reason for closing.
        let drained = self.drain(&room, &attached.tab, &mut pending).await;
        result.and(drained)
    }

    async fn handle(
        &mut self,
        message: Option<Result<Message, SocketError>>,
        attached: &Attached,
        pending: &mut FuturesOrdered<PendingAck>,
        in_flight_bytes: &mut usize,
        asking: &mut Option<help::Asking>,
    ) -> Result<Flow, Reject> {
        let message = match message {
            Some(Ok(message)) => message,
            None => return Ok(Flow::Stop),
            Some(Err(e)) => return Err(Reject::lost(format!("connection failed: {e}"))),
        };
        let room = attached.presence.room();
        let message = self.decode(message, self.state.limits.max_frame_bytes)?;
        if message
            .as_ref()
            .is_some_and(|m| !matches!(m, TrackerMessage::Events { .. }))
            && !self.control.try_take(1.0, Instant::now())
        {
            return Err(self.refuse(
                "control_rate",
                close::RATE_LIMITED,
                format!(
                    "more than {} control messages per second; back off",
                    self.state.ingress.control_messages_per_sec
                ),
            ));
        }
        match message {
            None => {}
            Some(TrackerMessage::Events { events }) => {
                if let Some((bytes, ack)) = self.take_events(attached, events).await? {
                    *in_flight_bytes += bytes;
                    pending.push_back(ack);
                }
            }
            Some(TrackerMessage::End { reason }) => {
                self.drain(room, &attached.tab, pending).await?;
                debug!(session = %room.id, ?reason, "tracker ended the session");
                self.state.rooms.end(room, EndReason::Ended).await?;
                return Err(Reject::new(1000, "session ended"));
            }
            Some(TrackerMessage::Consent {
                request_id,
                granted,
                reason,
            }) => room.on_answer(&request_id, granted, reason),
            Some(TrackerMessage::Revoke { kind, agent_id }) => {
                room.on_revoke(kind, &agent_id);
            }
            Some(TrackerMessage::Refused {
                agent_id,
                action,
                reason,
            }) => room.on_refused(&agent_id, &attached.tab, &action, &reason),
            Some(TrackerMessage::CallJoin {
                audio,
                video,
                mut canvases,
            }) => {
                canvases.truncate(MAX_CANVASES);
                room.on_call_join(&attached.tab, audio, video, canvases);
            }
            Some(TrackerMessage::CallAnswer { sdp }) => room.call_command(Command::Answer {
                participant: USER.into(),
                sdp,
            }),
            Some(TrackerMessage::CallCandidate { candidate }) => {
                room.call_command(Command::Candidate {
                    participant: USER.into(),
                    candidate,
                })
            }
            Some(TrackerMessage::Hangup) => room.on_hangup(),
            // Answered when ready, without holding up this loop; a request made while one is
            // being answered gets that answer (it would be the same code).
            Some(TrackerMessage::HelpRequest) if asking.is_none() => {
                *asking = Some(help::ask(
                    self.state.clone(),
                    room.id,
                    attached.tab.clone(),
                    attached.project.clone(),
                ));
            }
            Some(TrackerMessage::HelpRequest) => {}
            Some(TrackerMessage::Hello(_)) => {
                return Err(Reject::new(
                    close::PROTOCOL,
                    "'hello' may only be sent once",
                ));
            }
        }
        Ok(Flow::Continue)
    }

    /// Validates a batch and hands what passes to the writer; returns its size and the future of
    /// its ack.
    async fn take_events(
        &mut self,
        attached: &Attached,
        events: Vec<TrackerEvent>,
    ) -> Result<Option<(usize, PendingAck)>, Reject> {
        let room = attached.presence.room();
        let max_events = self.state.ingress.max_batch_events;
        if events.len() > max_events {
            return Err(self.refuse(
                "batch_too_big",
                close::TOO_BIG,
                format!(
                    "batch of {} events is over the {max_events}-event limit; send smaller batches",
                    events.len()
                ),
            ));
        }
        // An ack covers every seq up to its own, so an event behind a later one would vanish.
        if !seqs_increase(events.iter().map(|e| e.seq)) {
            return Err(self.refuse(
                "unordered",
                close::PROTOCOL,
                "events of a batch must be in strictly increasing seq order",
            ));
        }
        // An empty batch carries nothing to acknowledge.
        let Some(last_seq) = events.last().map(|e| e.seq) else {
            return Ok(None);
        };
        // Resends of events this node already made durable are acknowledged, not written again.
        let durable = room.durable_seq(&attached.tab);
        let events: Vec<TrackerEvent> = events
            .into_iter()
            .filter(|e| durable.is_none_or(|d| e.seq > d))
            .collect();
        if events.is_empty() {
            return Ok(Some((
                0,
                futures::future::ready((last_seq, 0, Ok(()))).boxed(),
            )));
        }
        let bytes: usize = events.iter().map(|e| e.data.len()).sum();
        if let Err(excess) = room.admit_batch(events.len(), bytes) {
            let (limit, what) = match excess {
                Excess::Events => (u64::from(self.state.limits.events_per_sec), "events"),
                Excess::Bytes => (self.state.ingress.bytes_per_sec, "bytes"),
            };
            return Err(self.refuse(
                "rate_limited",
                close::RATE_LIMITED,
                format!("more than {limit} {what} per second in this session; back off and resend"),
            ));
        }
        let mut accepted = Vec::with_capacity(events.len());
        for event in events {
            match self.check_event(&event) {
                Ok(body) => {
                    if event.kind == TrackerEventKind::Rrweb {
                        note_rrweb(room, self.state.rooms.directory(), &attached.tab, &body);
                    } else {
                        note_identity(room, self.state.rooms.directory(), event.kind, &body);
                    }
                    accepted.push(Event {
                        kind: event.kind.into(),
                        tab: attached.tab.clone(),
                        seq: event.seq,
                        ts: event.ts,
                        body,
                    });
                }
                Err(reason) => {
                    self.state
                        .metrics
                        .rejected
                        .with_label_values(&["event"])
                        .inc();
                    self.send(&ServerMessage::Rejected {
                        seq: event.seq,
                        reason,
                    })
                    .await?;
                }
            }
        }
        if accepted.is_empty() {
            return Ok(Some((
                0,
                futures::future::ready((last_seq, 0, Ok(()))).boxed(),
            )));
        }
        let durable = attached.writer.append(accepted).await;
        Ok(Some((
            bytes,
            durable.map(move |result| (last_seq, bytes, result)).boxed(),
        )))
    }

    /// Checks one event's payload; on success returns the body to store.
    fn check_event(&self, event: &TrackerEvent) -> Result<Bytes, String> {
        let max = self.state.limits.max_event_bytes;
        if event.data.len() > max {
            return Err(format!(
                "event of {} bytes is over the {max}-byte limit",
                event.data.len()
            ));
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(&event.data).is_err() {
            return Err("event data is not valid UTF-8 JSON".to_string());
        }
        // Stored bodies are single-line JSON, so they can go out as one SSE `data:` line. Valid
        // JSON holds raw CR and LF only as whitespace between tokens, so blanking them changes
        // nothing else; JSON without them (what JSON.stringify makes) is stored byte for byte.
        let mut body = event.data.to_vec();
        for b in body.iter_mut().filter(|b| **b == b'\n' || **b == b'\r') {
            *b = b' ';
        }
        Ok(Bytes::from(body))
    }

    async fn acknowledge(
        &mut self,
        room: &crate::session::room::Room,
        tab: &str,
        seq: u64,
        result: Result<(), StoreError>,
    ) -> Result<(), Reject> {
        result?;
        room.mark_durable(tab, seq);
        self.send(&ServerMessage::Ack { seq }).await
    }

    async fn drain(
        &mut self,
        room: &crate::session::room::Room,
        tab: &str,
        pending: &mut FuturesOrdered<PendingAck>,
    ) -> Result<(), Reject> {
        while let Some((seq, _, result)) = pending.next().await {
            self.acknowledge(room, tab, seq, result).await?;
        }
        Ok(())
    }

    /// Counts a refused input under `label` and says why.
    pub(super) fn refuse(&self, label: &str, code: u16, reason: impl Into<String>) -> Reject {
        self.state
            .metrics
            .rejected
            .with_label_values(&[label])
            .inc();
        Reject::new(code, reason)
    }

    /// Refuses a frame of `bytes` over `max_bytes`.
    pub(super) fn too_big(&self, bytes: usize, max_bytes: usize) -> Reject {
        self.refuse(
            "frame_too_big",
            close::TOO_BIG,
            format!(
                "frame of {bytes} bytes is over the {max_bytes}-byte limit; send smaller batches"
            ),
        )
    }

    /// Decodes a frame of at most `max_bytes`; `None` for control frames.
    pub(super) fn decode(
        &self,
        message: Message,
        max_bytes: usize,
    ) -> Result<Option<TrackerMessage>, Reject> {
        let data = match message {
            Message::Binary(data) if data.len() > max_bytes => {
                return Err(self.too_big(data.len(), max_bytes));
            }
            Message::Binary(data) => data,
            Message::Text(_) => return Err(Reject::not_binary()),
            Message::Close(_) => return Ok(None),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(None),
        };
        tracker_frame::message_type(&data)
            .and_then(|kind| tracker_frame::decode(kind, &data))
            .map(Some)
            .map_err(|e: FrameError| {
                let code = if e.is_protocol() {
                    close::PROTOCOL
                } else {
                    close::INVALID_FRAME
                };
                self.refuse("malformed", code, e.to_string())
            })
    }

    /// Passes on what the room has for its trackers; input, strokes and call negotiation only to
    /// the tab they name.
    async fn forward(&mut self, message: &ServerMessage, tab: &str) -> Result<(), Reject> {
        match message {
            ServerMessage::Control { tab: to, .. }
            | ServerMessage::Stroke { tab: to, .. }
            | ServerMessage::CallOffer { tab: to, .. }
            | ServerMessage::CallCandidate { tab: to, .. }
            | ServerMessage::CallClosed { tab: to, .. }
                if to != tab =>
            {
                Ok(())
            }
            _ => self.send(message).await,
        }
    }

    pub(super) async fn send(&mut self, message: &ServerMessage) -> Result<(), Reject> {
        let bytes = rmp_serde::to_vec_named(message).expect("server messages serialize");
        self.send_raw(Message::Binary(bytes.into())).await
    }

    /// Sends within `tracker_send_timeout`: a tracker that stopped reading is let go.
    async fn send_raw(&mut self, message: Message) -> Result<(), Reject> {
        let limit = self.state.ingress.tracker_send_timeout;
        match tokio::time::timeout(limit, self.socket.send(message)).await {
            Ok(sent) => sent.map_err(|e| Reject::lost(format!("send failed: {e}"))),
            Err(_) => Err(Reject::lost(format!(
                "the tracker took nothing for {} s",
                limit.as_secs()
            ))),
        }
    }

    pub(super) async fn close(&mut self, reject: Reject) {
        if !self.send_close(reject).await {
            return;
        }
        // Closing a socket with unread input makes the kernel answer with a reset, which can
        // overtake the close frame and the acks before it; so read (and drop) what the tracker
        // still sends until it answers the close, for a short while.
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            while let Some(Ok(message)) = self.socket.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    /// Sends the close frame for `reject`, if the connection can still carry one; false when there
    /// is no point waiting for an answer (no close frame, or the tracker did not take it in time).
    pub(super) async fn send_close(&mut self, reject: Reject) -> bool {
        if reject.code == NO_CLOSE_FRAME {
            debug!(reason = %reject.reason, "tracker connection lost");
            return false;
        }
        if reject.code != 1000 && reject.code != close::GOING_AWAY {
            warn!(code = reject.code, reason = %reject.reason, "closing tracker connection");
        }
        let reason = close::reason(&reject.reason);
        let close = self.socket.send(Message::Close(Some(CloseFrame {
            code: reject.code.into(),
            reason: reason.into(),
        })));
        // A tracker that stopped reading must not hold the connection open.
        tokio::time::timeout(HELLO_TIMEOUT, close).await.is_ok()
    }
}
