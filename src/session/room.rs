//! A room is the live state of one session on this node: the writer (if this node holds the
//! session's tracker connections), the shared tail its agents read from, who is connected, and
//! what the trackers said about the page. Rooms live in [`super::rooms::Rooms`] and vanish when
//! empty.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};
use tracing::warn;

use crate::call::{self, Call, CallServices, Command, Who};
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::protocol::SessionId;
use crate::protocol::{
    AgentAction, AgentRecord, AgentRef, DeclineReason, EndReason, GrantKind, PageInfo, RecordKind,
    ServerMessage, Signal, SignalRecord,
};
use crate::session::consent::{Consent, Effect};
use crate::session::limits::{Excess, IngestLimiter};
use crate::signal::SignalBus;
use crate::store::feed::Feed;
use crate::store::frame::Event;
use crate::store::stream::{SessionStream, Store, StoreError};
use crate::store::writer::{ActiveWriter, Claim, Writer};

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

/// What trackers told this node about the session.
#[derive(Debug, Default, Clone)]
pub struct RoomInfo {
    /// Tabs with a tracker connected to this node, and the page each is on.
    pub tabs: BTreeMap<String, PageInfo>,
    /// The page of the most recent tracker connection (the user's latest navigation).
    pub url: Option<String>,
    pub user_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
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
        // Grants given while this node last held the session ended when it moved away (and may
        // have been revoked elsewhere since): a fresh claim starts with none.
        let ended = self.state().consent.end_all("moved");
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
        self.apply(ended);
        Ok(writer)
    }

    /// Ends the session for good, if this node writes it.
    pub async fn end(&self, reason: EndReason) -> Result<(), StoreError> {
        let mut slot = self.writer.lock().await;
        if slot.is_none() {
            return Ok(());
        }
        // Queued ahead of the seal: the session's grants end with it.
        let ended = self.state().consent.end_all("session_ended");
        self.apply(ended);
        self.state().call.take();
        let Some(writer) = slot.take() else {
            return Ok(());
        };
        self.active_slot.send_replace(None);
        self.metrics.sessions_live.dec();
        writer.seal(reason).await
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

    /// What a tracker connecting now must be told: grants, and prompts still open.
    pub fn consent_snapshot(&self) -> Vec<ServerMessage> {
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
                self.record(vec![AgentRecord {
                    agent: agent.clone(),
                    action: AgentAction::Canvas { on },
                }]);
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
        // Input for a tab not connected here (between two page loads, or closed) is dropped as
        // such, not recorded as done.
        let page = match &signal {
            Signal::Control { tab, .. } | Signal::Stroke { tab, .. } => {
                self.state().info.tabs.contains_key(tab)
            }
            _ => self.tracker_count() > 0,
        };
        let effects = self
            .state()
            .consent
            .on_signal(agent, signal, page, Instant::now());
        self.apply(effects);
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
        let effects = self.state().consent.hangup();
        self.apply(effects);
    }

    /// Records what the call did (recording started, stopped) behind the session's events.
    pub fn record(&self, records: Vec<AgentRecord>) {
        self.write_records(
            records
                .iter()
                .map(|r| Event::server(RecordKind::Agent, r))
                .collect(),
        );
    }

    /// The user's answer to a consent request, from one of the session's tabs.
    pub fn on_answer(&self, request_id: &str, granted: bool, reason: Option<DeclineReason>) {
        let effects = self.state().consent.on_answer(request_id, granted, reason);
        self.apply(effects);
    }

    /// The user stopped a grant.
    pub fn on_revoke(&self, kind: GrantKind, agent_id: &str) {
        let effects = self.state().consent.on_revoke(kind, agent_id);
        self.apply(effects);
    }

    /// The page could not perform an agent's input.
    pub fn on_refused(&self, agent_id: &str, tab: &str, action: &str, reason: &str) {
        let effects = self
            .state()
            .consent
            .on_refused(agent_id, tab, action, reason);
        self.apply(effects);
    }

    /// Time passing for consent: timeouts, agents whose node went silent, counted drops.
    pub fn sweep_consent(&self) {
        let effects = {
            let mut state = self.state();
            if state.consent.is_idle() {
                return;
            }
            state.consent.sweep(Instant::now())
        };
        self.apply(effects);
    }

    /// Sends what is for the trackers at once, and queues the records behind the session's
    /// events. Records are not waited for: the tracker acts on input before its record is durable.
    fn apply(&self, effects: Vec<Effect>) {
        let mut records = Vec::new();
        for effect in effects {
            match effect {
                Effect::Tracker(message) => {
                    if let ServerMessage::Grants { grants } = &message {
                        self.call_command(Command::Grants(grants.clone()));
                    }
                    let _ = self.signals.send(Arc::new(message));
                }
                Effect::Record(record) => {
                    if let AgentAction::Dropped {
                        what,
                        reason,
                        count,
                    } = &record.action
                    {
                        warn!(session = %self.id, agent = %record.agent.name, what, reason, count, "dropped agent input");
                        self.metrics
                            .rejected
                            .with_label_values(&[reason])
                            .inc_by(u64::from(*count));
                    }
                    records.push(Event::server(RecordKind::Agent, &record));
                }
            }
        }
        self.write_records(records);
    }

    fn write_records(&self, records: Vec<Event>) {
        self.active.try_append(self.id, records);
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
