//! A room is the live state of one session on this node: the writer (if this node holds the
//! session's tracker connections), the shared tail its agents read from, who is connected, and
//! what the trackers said about the page. Rooms live in [`super::rooms::Rooms`] and vanish when
//! empty.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};
use tracing::{debug, warn};

use crate::call::{self, Call, CallServices, Command, Who};
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::SessionId;
use crate::protocol::{
    AgentAction, AgentRecord, AgentRef, DeclineReason, EndReason, GrantKind, RecordKind,
    ServerMessage, Signal, SignalRecord, ViewMode,
};
use crate::session::consent::{Consent, Effect, NO_RECORD, navigation, view};
use crate::session::labels;
use crate::session::limits::{Excess, IngestLimiter};
pub use crate::session::room_info::RoomInfo;
use crate::session::view_access;
use crate::signal::SignalBus;
use crate::store::feed::Feed;
use crate::store::frame::Event;
use crate::store::stream::{SessionStream, Store, StoreError};
use crate::store::writer::{ActiveWriter, Claim, RecordSlot, Writer};

/// Messages for the room's trackers not yet taken by every connection: input comes in bursts.
const TRACKER_QUEUE: usize = 64;

/// A message for the tracker connections of a room.
pub type TrackerSignal = Arc<ServerMessage>;

/// Settings every room of a node shares.
#[derive(Debug, Clone)]
pub struct RoomSettings {
    pub node_id: String,
    pub heartbeat: Duration,
    pub idle_timeout: Duration,
    pub events_per_sec: u32,
    /// At least the largest batch a tracker may send, so every legal batch can pass.
    pub events_burst: u32,
    pub bytes_per_sec: u64,
    /// At least the largest frame a tracker may send.
    pub bytes_burst: u64,
    /// Tracker connections (tabs) a session may have on this node.
    pub max_tabs: usize,
}

/// A room's state that its connections change: each change is a few field updates under the
/// room's one lock, never held across an await or while effects are carried out.
struct RoomState {
    /// What the user granted which agent (used only while this node holds the session).
    consent: Consent,
    info: RoomInfo,
    /// Highest client sequence per tab known durable, so resends after a reconnect to this node
    /// are acknowledged without being written again.
    durable: HashMap<String, u64>,
    limiter: IngestLimiter,
    /// The session's call, while it has one (on the node that holds the session).
    call: Option<Call>,
}

pub struct Room {
    pub id: SessionId,
    stream: SessionStream,
    writer: tokio::sync::Mutex<Option<Writer>>,
    /// The active writer, readable without waiting for a claim in progress: signals for the
    /// session are handled only where it is set, and their records go through it.
    active_slot: watch::Sender<Option<Writer>>,
    active: ActiveWriter,
    /// Everything else a room's connections read and change, behind one lock.
    state: Mutex<RoomState>,
    /// What this node's agents of the session follow live.
    feed: Arc<Feed>,
    trackers: AtomicUsize,
    /// Bumped whenever trackers come or go, so a stale idle timer knows it is stale.
    tracker_epoch: AtomicU64,
    agents: AtomicUsize,
    signals: broadcast::Sender<TrackerSignal>,
    calls: Arc<CallServices>,
    store: Store,
    bus: Arc<SignalBus>,
    metrics: Arc<Metrics>,
}

impl Room {
    fn state(&self) -> MutexGuard<'_, RoomState> {
        self.state.lock().expect("lock")
    }

    pub fn stream(&self) -> &SessionStream {
        &self.stream
    }

    /// The writer for a tracker: this node's existing one, or a new claim of the session. `first`
    /// is written either way (the session's `start`, or a `page` record for a joining tab).
    pub async fn writer_for_tracker(
        &self,
        first: Event,
        settings: &RoomSettings,
    ) -> Result<Writer, StoreError> {
        let mut slot = self.writer.lock().await;
        if let Some(writer) = slot.as_ref().filter(|w| w.is_active()) {
            writer.append(vec![first]).await.await?;
            self.active_slot.send_replace(Some(writer.clone()));
            return Ok(writer.clone());
        }
        let token = fencing_token(&settings.node_id);
        let timestamp = now_ms();
        let landed = self.stream.claim(&first, &token, timestamp).await?;
        let let_in = view_access::let_in_at_claim(&self.stream, &first).await;
        // Grants given while this node last held the session ended when it moved away (and may
        // have been revoked elsewhere since): a fresh claim starts with none, and with whom the
        // stream says the user let in.
        let ended = self.state().consent.end_all("moved");
        if let Some(accounts) = let_in {
            self.state().consent.restore_let_in(accounts);
        }
        if slot.is_none() {
            self.metrics.sessions_live.inc();
        }
        self.state().durable.clear();
        let claim = Claim {
            token,
            timestamp,
            landed,
        };
        let writer = Writer::spawn(
            self.stream.clone(),
            claim,
            self.feed.clone(),
            self.metrics.clone(),
            settings.heartbeat,
        );
        *slot = Some(writer.clone());
        self.active_slot.send_replace(Some(writer.clone()));
        self.apply(ended, self.active.reserve());
        Ok(writer)
    }

    /// Ends the session for good, if this node writes it.
    /// Whether it did: false if this node does not write it.
    pub(super) async fn end(&self, reason: EndReason) -> Result<bool, StoreError> {
        let mut slot = self.writer.lock().await;
        if slot.is_none() {
            return Ok(false);
        }
        // Queued ahead of the seal: the session's grants end with it.
        self.consent_step(|consent, _| consent.end_all("session_ended"));
        self.state().call.take();
        let Some(writer) = slot.take() else {
            return Ok(false);
        };
        self.active_slot.send_replace(None);
        self.metrics.sessions_live.dec();
        writer.seal(reason).await.map(|()| true)
    }

    /// Forgets a writer that stopped (taken over, failed), so the next tracker claims afresh.
    pub async fn drop_inactive_writer(&self) {
        let mut slot = self.writer.lock().await;
        if slot.as_ref().is_some_and(|w| !w.is_active()) {
            *slot = None;
            self.active_slot.send_replace(None);
            self.metrics.sessions_live.dec();
        }
    }

    pub fn info(&self) -> RoomInfo {
        self.state().info.clone()
    }

    pub fn update_info(&self, f: impl FnOnce(&mut RoomInfo)) {
        f(&mut self.state().info);
    }

    pub fn durable_seq(&self, tab: &str) -> Option<u64> {
        self.state().durable.get(tab).copied()
    }

    pub fn mark_durable(&self, tab: &str, seq: u64) {
        let mut state = self.state();
        let entry = state.durable.entry(tab.to_string()).or_insert(seq);
        *entry = (*entry).max(seq);
    }

    /// Charges a batch of `events` holding `bytes` of data to the session's rate limits.
    pub fn admit_batch(&self, events: usize, bytes: usize) -> Result<(), Excess> {
        self.state().limiter.admit(events, bytes, Instant::now())
    }

    /// What tracker connections on this node listen to.
    pub fn tracker_signals(&self) -> broadcast::Receiver<TrackerSignal> {
        self.signals.subscribe()
    }

    /// Whether this node writes the session, and so answers its signals.
    pub fn holds_session(&self) -> bool {
        self.active.holds()
    }

    /// The session's grants, for a tracker that may have missed a change.
    pub fn grants_message(&self) -> ServerMessage {
        self.state().consent.grants_message()
    }

    /// What a tracker connecting now must be told: grants, and prompts still open; `view` is the
    /// session's mode, which consent follows from then on.
    pub fn consent_snapshot(&self, view: ViewMode) -> Vec<ServerMessage> {
        self.state().consent.set_view(view);
        let mut messages = self.state().consent.snapshot();
        if self.canvas_wanted() {
            messages.push(ServerMessage::Canvas { on: true });
        }
        messages
    }

    /// A signal from an agent, through `cluster/signals`.
    pub fn on_signal(&self, signal: SignalRecord) {
        let SignalRecord {
            agent,
            node,
            signal,
            ..
        } = signal;
        // An agent the user has not let in (`view: ask`) joins no call and gets no canvases:
        // consent drops what it asked, on the record.
        if view::needs_view(&signal).is_some() && !self.state().consent.admits(&agent.id) {
            return self.on_consent_signal(agent, signal);
        }
        let participant = agent.id.clone();
        let command = match signal {
            Signal::CallJoin { audio, video } => Command::Join {
                who: Who::Agent { agent, node },
                audio,
                video,
                canvases: Vec::new(),
            },
            Signal::CallAnswer { sdp } => Command::Answer { participant, sdp },
            Signal::CallCandidate { candidate } => Command::Candidate {
                participant,
                candidate,
            },
            Signal::Canvas { on } => {
                let recorded = self.record(vec![AgentRecord {
                    agent: agent.clone(),
                    action: AgentAction::Canvas { on },
                }]);
                // Streaming the page's canvases to an agent is not started unrecorded.
                if on && !recorded {
                    self.metrics.rejected.with_label_values(&[NO_RECORD]).inc();
                    return;
                }
                Command::Canvas { agent, node, on }
            }
            Signal::ToAgent { .. } => return,
            signal => {
                if signal == Signal::Left {
                    self.call_command(Command::AgentLeft {
                        agent_id: agent.id.clone(),
                    });
                }
                return self.on_consent_signal(agent, signal);
            }
        };
        self.call_command(command);
    }

    fn on_consent_signal(&self, agent: AgentRef, signal: Signal) {
        let refusal = navigation::refusal(&self.state().info.tabs, &signal);
        if let Some(refusal) = refusal {
            debug!(session = %self.id, agent = %agent.name, %refusal, "navigation refused");
            let now = Instant::now();
            return self.consent_step(|consent, _| {
                consent.refuse_control(agent, navigation::OTHER_ORIGIN, now)
            });
        }
        // Input for a tab not connected here (between two page loads, or closed) is dropped as
        // such, not recorded as done.
        let page = match &signal {
            Signal::Control { tab, .. } | Signal::Stroke { tab, .. } => {
                self.state().info.tabs.contains_key(tab)
            }
            _ => self.tracker_count() > 0,
        };
        let now = Instant::now();
        self.consent_step(|consent, recordable| {
            if recordable {
                consent.on_signal(agent, signal, page, now)
            } else {
                consent.on_unrecordable_signal(agent, signal, page, now)
            }
        });
    }

    /// The tab `tab` is ready to send call media (or canvases).
    pub fn on_call_join(&self, tab: &str, audio: bool, video: bool, canvases: Vec<u32>) {
        let name = self
            .state()
            .info
            .user_id
            .clone()
            .unwrap_or_else(|| "User".into());
        self.call_command(Command::Join {
            who: Who::User {
                tab: tab.to_string(),
                name,
            },
            audio,
            video,
            canvases,
        });
    }

    /// Call negotiation from a tracker or an agent.
    pub fn call_command(&self, command: Command) {
        let mut state = self.state();
        if state.call.is_none() {
            let starts = match &command {
                Command::Join { .. } => true,
                Command::Canvas { on, .. } => *on,
                Command::Grants(grants) => grants.iter().any(|g| g.kind == GrantKind::Call),
                _ => false,
            };
            if !starts {
                return;
            }
            state.call = Some(Call::spawn(call::Context {
                session: self.id,
                services: self.calls.clone(),
                store: self.store.clone(),
                trackers: self.signals.clone(),
                bus: self.bus.clone(),
                writer: self.active.clone(),
            }));
        }
        if let Some(call) = state.call.as_ref() {
            call.send(command);
        }
    }

    /// Whether a call runs in the session.
    pub fn call_running(&self) -> bool {
        self.state()
            .call
            .as_ref()
            .is_some_and(|c| c.shared.running())
    }

    /// Whether an agent wants the page's canvases: a tracker connecting is told.
    pub fn canvas_wanted(&self) -> bool {
        self.state()
            .call
            .as_ref()
            .is_some_and(|c| c.shared.canvas_wanted())
    }

    /// The user hung up: every call and record grant ends.
    pub fn on_hangup(&self) {
        self.consent_step(|consent, _| consent.hangup());
    }

    /// Queues records behind the session's events; false (and counted as lost) when the writer
    /// could not take them.
    pub fn record(&self, records: Vec<AgentRecord>) -> bool {
        let count = records.len() as u64;
        let queued = self.active.try_append(
            self.id,
            records
                .iter()
                .map(|r| Event::server(RecordKind::Agent, r))
                .collect(),
        );
        if !queued {
            self.metrics.agent_records_lost.inc_by(count);
        }
        queued
    }

    /// The user's answer to a consent request, from one of the session's tabs.
    pub fn on_answer(&self, request_id: &str, granted: bool, reason: Option<DeclineReason>) {
        let now = Instant::now();
        self.consent_step(|consent, recordable| {
            if recordable {
                consent.on_answer(request_id, granted, reason)
            } else {
                consent.on_unrecordable_answer(request_id, granted, reason, now)
            }
        });
    }

    /// The user stopped a grant.
    pub fn on_revoke(&self, kind: GrantKind, agent_id: &str) {
        self.consent_step(|consent, recordable| {
            if recordable {
                consent.on_revoke(kind, agent_id)
            } else {
                consent.on_unrecordable_revoke(kind, agent_id)
            }
        });
    }

    /// The page could not perform an agent's input.
    pub fn on_refused(&self, agent_id: &str, tab: &str, action: &str, reason: &str) {
        self.consent_step(|consent, _| consent.on_refused(agent_id, tab, action, reason));
    }

    /// Time passing for consent: timeouts, agents whose node went silent, counted drops.
    pub fn sweep_consent(&self) {
        if self.state().consent.is_idle() {
            return;
        }
        let now = Instant::now();
        self.consent_step(|consent, recordable| {
            if recordable {
                consent.sweep(now)
            } else {
                consent.sweep_unrecordable(now)
            }
        });
    }

    /// Runs one step of the consent state machine with room for its records held on the
    /// session's writer first; `step` learns whether it has that room (`recordable`), and the
    /// machine decides what may happen without it. Sweeps run while Stops are owed, so their
    /// records are written as soon as the writer has room.
    fn consent_step(&self, step: impl FnOnce(&mut Consent, bool) -> Vec<Effect>) {
        let slot = self.active.reserve();
        let effects = {
            let consent = &mut self.state().consent;
            // Stops that could not be written earlier go first, ahead of anything this grants.
            let mut effects = match slot {
                Some(_) => consent.take_owed(),
                None => Vec::new(),
            };
            effects.extend(step(consent, slot.is_some()));
            effects
        };
        self.apply(effects, slot);
    }

    /// Carries out a consent step: its records are queued behind the session's events first,
    /// through the room `slot` holds, and only then is anything sent to the trackers, so nothing
    /// reaches the page before its record is queued. Records are not waited for: the tracker acts
    /// on input before its record is durable. Without a slot the step gave nobody power (the
    /// machine saw to that), and its records are counted as lost.
    fn apply(&self, effects: Vec<Effect>, slot: Option<RecordSlot>) {
        let mut records = Vec::new();
        let mut messages = Vec::new();
        let mut leave_call = Vec::new();
        for effect in effects {
            match effect {
                Effect::Tracker(message) => messages.push(message),
                Effect::Rejected(reason) => {
                    self.metrics.rejected.with_label_values(&[reason]).inc();
                }
                Effect::LeaveCall { agent_id } => leave_call.push(agent_id),
                Effect::Record(record) => {
                    if let AgentAction::Dropped {
                        what,
                        reason,
                        count,
                    } = &record.action
                    {
                        warn!(session = %self.id, agent = %record.agent.name, what, reason, count, "dropped agent input");
                    }
                    labels::count_consent(&self.metrics, &record.action, slot.is_some());
                    records.push(Event::server(RecordKind::Agent, &record));
                }
            }
        }
        match slot {
            Some(slot) => slot.queue(records),
            None if !records.is_empty() => {
                warn!(session = %self.id, count = records.len(), "agent records lost: the session's writer is gone or full");
                self.metrics.agent_records_lost.inc_by(records.len() as u64);
            }
            None => {}
        }
        for agent_id in leave_call {
            self.call_command(Command::AgentLeft { agent_id });
        }
        for message in messages {
            if let ServerMessage::Grants { grants } = &message {
                self.call_command(Command::Grants(grants.clone()));
            }
            let _ = self.signals.send(Arc::new(message));
        }
    }

    /// What this node's agents of the session follow live.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    pub(super) fn new(
        id: SessionId,
        store: &Store,
        settings: &RoomSettings,
        calls: Arc<CallServices>,
        bus: Arc<SignalBus>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (active_slot, active) = ActiveWriter::channel();
        Self {
            id,
            stream: store.session(id),
            writer: tokio::sync::Mutex::new(None),
            active_slot,
            active,
            state: Mutex::new(RoomState {
                consent: Consent::default(),
                info: RoomInfo::default(),
                durable: HashMap::new(),
                limiter: IngestLimiter::new(
                    settings.events_per_sec,
                    settings.events_burst,
                    settings.bytes_per_sec,
                    settings.bytes_burst,
                    Instant::now(),
                ),
                call: None,
            }),
            feed: Feed::new(store.session(id)),
            trackers: AtomicUsize::new(0),
            tracker_epoch: AtomicU64::new(0),
            agents: AtomicUsize::new(0),
            signals: broadcast::channel(TRACKER_QUEUE).0,
            calls,
            store: store.clone(),
            bus,
            metrics,
        }
    }

    /// Counts a tracker in unless the room already has `max`; false leaves the room as it was.
    pub(super) fn tracker_joined(&self, max: usize) -> bool {
        let joined = self
            .trackers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if joined {
            self.tracker_epoch.fetch_add(1, Ordering::SeqCst);
        }
        joined
    }

    /// Whether that was the session's last tracker on this node.
    pub(super) fn tracker_left(&self) -> bool {
        self.trackers.fetch_sub(1, Ordering::SeqCst) == 1
    }

    pub(super) fn agent_joined(&self) {
        self.agents.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn agent_left(&self) {
        self.agents.fetch_sub(1, Ordering::SeqCst);
    }

    /// Starts a new epoch of tracker presence, so a timer from an older one knows it is stale.
    pub(super) fn new_tracker_epoch(&self) -> u64 {
        self.tracker_epoch.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(super) fn tracker_epoch(&self) -> u64 {
        self.tracker_epoch.load(Ordering::SeqCst)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.trackers.load(Ordering::SeqCst) == 0
            && self.agents.load(Ordering::SeqCst) == 0
            && self.writer.try_lock().is_ok_and(|slot| slot.is_none())
    }

    pub fn tracker_count(&self) -> usize {
        self.trackers.load(Ordering::SeqCst)
    }

    pub fn agent_count(&self) -> usize {
        self.agents.load(Ordering::SeqCst)
    }
}

/// A token naming this node (for whoever debugs a takeover) and this claim. S2 takes at most
/// 36 bytes: the node id's first 19 and 16 random hex digits.
fn fencing_token(node_id: &str) -> String {
    let node: String = node_id.chars().take(19).collect();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{node}.{}", &random[..16])
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::call::config::CallConfig;
    use crate::protocol::ControlInput;
    use crate::protocol::{PageInfo, SessionStart};
    use crate::store::embedded::EmbeddedEngine;
    use crate::store::held::HeldAppends;
    use crate::store::lite::LiteBackend;
    use crate::store::stream::{read_all, session_settings};

    fn signal(id: SessionId, agent: &AgentRef, signal: Signal) -> SignalRecord {
        SignalRecord {
            session: id,
            agent: agent.clone(),
            node: "node-a".into(),
            signal,
        }
    }

    fn click() -> Signal {
        Signal::Control {
            tab: "t".into(),
            input: ControlInput::Click {
                id: 1,
                x: 0.0,
                y: 0.0,
            },
        }
    }

    /// The agent records of the session's stream, once `done` says they are all there.
    async fn agent_records(room: &Room, done: impl Fn(&[AgentAction]) -> bool) -> Vec<AgentAction> {
        for _ in 0..200 {
            let events: Vec<_> = read_all(room.stream(), 0)
                .await
                .expect("read")
                .collect()
                .await;
            let actions: Vec<AgentAction> = events
                .into_iter()
                .filter_map(Result::ok)
                .filter(|s| s.event.kind == RecordKind::Agent)
                .map(|s| {
                    serde_json::from_slice::<AgentRecord>(&s.event.body)
                        .expect("agent record")
                        .action
                })
                .collect();
            if done(&actions) {
                return actions;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the records never landed");
    }

    /// A room whose user granted alice control, on a store that has just stalled: the writer's
    /// queue is full, so nothing more can be queued for S2 until `gate.open` is set again.
    struct Stalled {
        gate: Arc<HeldAppends>,
        room: Room,
        page: broadcast::Receiver<TrackerSignal>,
        metrics: Arc<Metrics>,
        id: SessionId,
        alice: AgentRef,
        /// The tracker's writer, kept so that the room stays claimed.
        _writer: Writer,
    }

    async fn controlled_room_on_a_stalled_store() -> Stalled {
        let engine = EmbeddedEngine::open(&Default::default())
            .await
            .expect("engine");
        let settings = session_settings(Duration::from_secs(3600));
        let inner = LiteBackend::open(engine.backend(), "room-test", settings)
            .await
            .expect("basin");
        // S2 stalling under one session's writer.
        let gate = Arc::new(HeldAppends::new(inner, "sessions/"));
        let store = Store::new(gate.clone(), Duration::from_secs(3600));
        let metrics = Arc::new(Metrics::new());
        let id = SessionId::new();
        store.create_session(id).await.expect("stream");
        let room = room_on(&store, id, "node-a", &metrics).await;
        let mut page = room.tracker_signals();
        let first = Event::server(RecordKind::Heartbeat, &serde_json::json!({}));
        let writer = room
            .writer_for_tracker(first.clone(), &settings_of("node-a"))
            .await
            .expect("claim");
        room.update_info(|info| {
            info.tabs.insert("t".into(), PageInfo::default());
        });
        let alice = AgentRef {
            id: "id-alice".into(),
            name: "alice".into(),
        };
        room.on_signal(signal(
            id,
            &alice,
            Signal::Request {
                kind: GrantKind::Control,
                video: false,
            },
        ));
        let request_id = loop {
            if let ServerMessage::ConsentRequest { request_id, .. } =
                &*page.try_recv().expect("the user is asked")
            {
                break request_id.clone();
            }
        };
        room.on_answer(&request_id, true, None);
        while page.try_recv().is_ok() {}

        // S2 stalls: the writer's append hangs and its queue fills up.
        gate.open.send_replace(false);
        let mut queued = 0;
        while writer.try_append(vec![first.clone()]) {
            queued += 1;
            assert!(queued < 10_000, "the writer's queue is bounded");
        }
        Stalled {
            gate,
            room,
            page,
            metrics,
            id,
            alice,
            _writer: writer,
        }
    }

    fn settings_of(node: &str) -> RoomSettings {
        RoomSettings {
            node_id: node.into(),
            heartbeat: Duration::from_secs(3600),
            idle_timeout: Duration::from_secs(3600),
            events_per_sec: 100,
            events_burst: 100,
            bytes_per_sec: 1 << 20,
            bytes_burst: 1 << 22,
            max_tabs: 4,
        }
    }

    async fn room_on(store: &Store, id: SessionId, node: &str, metrics: &Arc<Metrics>) -> Room {
        let (bus, _incoming) = SignalBus::start(
            store,
            node.into(),
            b"room-test-secret",
            metrics.clone(),
            CancellationToken::new(),
        )
        .await
        .expect("signal bus");
        let services = CallServices::new(CallConfig::default(), metrics.clone());
        Room::new(
            id,
            store,
            &settings_of(node),
            services,
            bus,
            metrics.clone(),
        )
    }

    /// The `view` grants the page was last told of, after `room` took `signal`.
    fn view_grants_after(
        room: &Room,
        page: &mut broadcast::Receiver<TrackerSignal>,
        signal: SignalRecord,
    ) -> Option<Vec<String>> {
        while page.try_recv().is_ok() {}
        room.on_signal(signal);
        let mut told = None;
        while let Ok(message) = page.try_recv() {
            if let ServerMessage::Grants { grants } = &*message {
                let view = grants.iter().filter(|g| g.kind == GrantKind::View);
                told = Some(view.map(|g| g.agent.id.clone()).collect());
            }
        }
        told
    }

    #[tokio::test]
    async fn a_node_claiming_an_asking_session_restores_only_whom_the_stream_let_in() {
        let engine = EmbeddedEngine::open(&Default::default())
            .await
            .expect("engine");
        let settings = session_settings(Duration::from_secs(3600));
        let backend = LiteBackend::open(engine.backend(), "room-test", settings)
            .await
            .expect("basin");
        let store = Store::new(Arc::new(backend), Duration::from_secs(3600));
        let metrics = Arc::new(Metrics::new());
        let id = SessionId::new();
        store.create_session(id).await.expect("stream");

        // Node A held the session: the user let in Alice's and Bob's accounts, then stopped Bob.
        let a = room_on(&store, id, "node-a", &metrics).await;
        let start = SessionStart {
            session_id: id,
            project_key: "p".into(),
            created_ms: id.created_ms(),
            tab: "t".into(),
            page: PageInfo::default(),
            user_id: None,
            metadata: Default::default(),
            view: ViewMode::Ask,
        };
        let start = Event::server(RecordKind::Start, &start);
        let writer = a
            .writer_for_tracker(start, &settings_of("node-a"))
            .await
            .expect("claim on A");
        let alice = AgentRef {
            id: "c-alice".into(),
            name: "Alice".into(),
        };
        let bob = AgentRef {
            id: "c-bob".into(),
            name: "Bob".into(),
        };
        let record = |agent: &AgentRef, action: AgentAction| {
            let body = AgentRecord {
                agent: agent.clone(),
                action,
            };
            Event::server(RecordKind::Agent, &body)
        };
        let granted = |account: &str| AgentAction::Granted {
            kind: GrantKind::View,
            request_id: format!("r-{account}"),
            video: false,
            account: Some(account.into()),
        };
        let answers = vec![
            record(&alice, granted("acct-alice")),
            record(&bob, granted("acct-bob")),
            record(
                &bob,
                AgentAction::Revoked {
                    kind: GrantKind::View,
                },
            ),
        ];
        writer.append(answers).await.await.expect("answers");

        // The tab reconnects to node B, which claims the session before Bob's node read the Stop.
        let b = room_on(&store, id, "node-b", &metrics).await;
        let mut page = b.tracker_signals();
        let joined = Event::server(RecordKind::Heartbeat, &serde_json::json!({}));
        let _writer = b
            .writer_for_tracker(joined, &settings_of("node-b"))
            .await
            .expect("claim on B");
        b.consent_snapshot(ViewMode::Ask);
        let heartbeat = |agent: &AgentRef, account: &str| {
            let granted = Signal::View {
                account: account.into(),
                granted: true,
            };
            signal(id, agent, granted)
        };
        assert_eq!(
            view_grants_after(&b, &mut page, heartbeat(&bob, "acct-bob")),
            None,
            "Bob's stale heartbeat restores nothing"
        );
        assert!(!b.state().consent.admits(&bob.id));
        assert_eq!(
            view_grants_after(&b, &mut page, heartbeat(&alice, "acct-alice")),
            Some(vec![alice.id.clone()]),
            "Alice, still let in, is restored"
        );
    }

    #[tokio::test]
    async fn control_input_is_not_forwarded_while_its_record_cannot_be_queued() {
        let Stalled {
            gate,
            room,
            mut page,
            metrics,
            id,
            alice,
            _writer,
        } = controlled_room_on_a_stalled_store().await;
        room.on_signal(signal(id, &alice, click()));
        assert!(
            page.try_recv().is_err(),
            "nothing reaches the page unrecorded"
        );
        let no_record = || metrics.rejected.with_label_values(&[NO_RECORD]).get();
        assert_eq!(no_record(), 1, "the drop is counted at once");

        // S2 is back: the drop is recorded, the grant holds, and input flows again.
        gate.open.send_replace(true);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        room.sweep_consent();
        let is_drop = |a: &AgentAction| matches!(a, AgentAction::Dropped { what, reason, count: 1 } if what == "control" && reason == NO_RECORD);
        let actions = agent_records(&room, |actions| actions.iter().any(is_drop)).await;
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, AgentAction::Control { .. })),
            "no control record for input that was not forwarded: {actions:?}"
        );
        room.on_signal(signal(id, &alice, click()));
        assert!(matches!(
            &*page.try_recv().expect("forwarded"),
            ServerMessage::Control { .. }
        ));
        let actions = agent_records(&room, |actions| {
            actions
                .iter()
                .any(|a| matches!(a, AgentAction::Control { .. }))
        })
        .await;
        assert_eq!(metrics.agent_records_lost.get(), 0, "{actions:?}");
    }

    #[tokio::test]
    async fn a_stop_given_while_its_record_cannot_be_queued_is_written_once_it_can_be() {
        let Stalled {
            gate,
            room,
            mut page,
            metrics,
            id,
            alice,
            _writer,
        } = controlled_room_on_a_stalled_store().await;
        room.on_revoke(GrantKind::Control, "id-alice");
        assert!(
            matches!(&*page.try_recv().expect("the page is told"), ServerMessage::Grants { grants } if grants.is_empty()),
            "the Stop applies at once"
        );
        room.on_signal(signal(id, &alice, click()));
        assert!(page.try_recv().is_err(), "no input after the Stop");

        // S2 is back: the Stop's record is written with the next sweep, none is lost.
        gate.open.send_replace(true);
        // The room sweeps every second; here as soon as the writer has drained its queue.
        while room.active.reserve().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        room.sweep_consent();
        let is_revoke = |a: &AgentAction| {
            matches!(
                a,
                AgentAction::Revoked {
                    kind: GrantKind::Control
                }
            )
        };
        agent_records(&room, |actions| actions.iter().any(is_revoke)).await;
        assert_eq!(metrics.agent_records_lost.get(), 0);
    }
}
