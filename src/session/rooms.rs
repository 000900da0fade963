//! Every room on this node, by session id: who is connected to which session (a [`Presence`]
//! guard per connection), when a session nobody writes to any more ends, and where signals read
//! from the signal stream go.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::room::{Room, RoomSettings};
use crate::call::{CallServices, Command};
use crate::clock::now_ms;
use crate::directory::writer::DirectoryWriter;
use crate::metrics::Metrics;
use crate::protocol::directory::DirectoryRecord;
use crate::protocol::{EndReason, SessionId};
use crate::session::labels;
use crate::signal::{Incoming, SignalBus};
use crate::store::stream::{Store, StoreError};

/// How often consent timeouts, silent agents and counted drops are looked at.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Every room on this node, by session id.
pub struct Rooms {
    rooms: DashMap<SessionId, Arc<Room>>,
    store: Store,
    pub settings: RoomSettings,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    calls: Arc<CallServices>,
    /// Calls send agents their messages through it.
    bus: Arc<SignalBus>,
    /// Where rooms tell every node's session list what changed.
    directory: DirectoryWriter,
}

impl Rooms {
    pub fn new(
        store: Store,
        settings: RoomSettings,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        calls: Arc<CallServices>,
        bus: Arc<SignalBus>,
        directory: DirectoryWriter,
    ) -> Arc<Self> {
        Arc::new(Self {
            rooms: DashMap::new(),
            store,
            settings,
            metrics,
            shutdown,
            calls,
            bus,
            directory,
        })
    }

    /// Where this node's records for the session directory go.
    pub fn directory(&self) -> &DirectoryWriter {
        &self.directory
    }

    /// Ends `room`'s session for good, if this node writes it, and tells the session directory.
    pub async fn end(&self, room: &Room, reason: EndReason) -> Result<(), StoreError> {
        if room.end(reason).await? {
            let label = [labels::end_reason(reason)];
            self.metrics.sessions_ended.with_label_values(&label).inc();
            self.directory.record(DirectoryRecord::Ended {
                session: room.id,
                reason,
                at_ms: now_ms(),
            });
        }
        Ok(())
    }

    /// Hands each signal read from the signal stream to its room, where this node holds the
    /// session, and sweeps the held rooms' consent state once a second. Runs until shutdown.
    pub fn follow_signals(self: &Arc<Self>, mut incoming: mpsc::Receiver<Incoming>) {
        let rooms = self.clone();
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = rooms.shutdown.cancelled() => return,
                    _ = sweep.tick() => {
                        for room in rooms.held() {
                            room.sweep_consent();
                        }
                    }
                    signal = incoming.recv() => match signal {
                        Some(signal) => rooms.on_signal(signal),
                        None => return,
                    },
                }
            }
        });
    }

    fn on_signal(&self, Incoming { record, stored_ms }: Incoming) {
        let Some(room) = self.get(record.session).filter(|r| r.holds_session()) else {
            return;
        };
        self.metrics
            .signal_latency
            .observe(now_ms().saturating_sub(stored_ms) as f64 / 1000.0);
        room.on_signal(record);
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn get(&self, id: SessionId) -> Option<Arc<Room>> {
        self.rooms.get(&id).map(|r| r.clone())
    }

    fn room(&self, id: SessionId) -> Arc<Room> {
        self.rooms
            .entry(id)
            .or_insert_with(|| {
                Arc::new(Room::new(
                    id,
                    &self.store,
                    &self.settings,
                    self.calls.clone(),
                    self.bus.clone(),
                    self.metrics.clone(),
                ))
            })
            .clone()
    }

    /// Enters a room as a tracker of `tab`; the guard leaves it. `None` when the session already
    /// has `settings.max_tabs` trackers on this node.
    pub fn join_tracker(self: &Arc<Self>, id: SessionId, tab: &str) -> Option<Presence> {
        let room = self.room(id);
        if !room.tracker_joined(self.settings.max_tabs) {
            self.remove_if_empty(id);
            return None;
        }
        self.metrics.tracker_connections.inc();
        Some(Presence {
            rooms: self.clone(),
            room,
            tab: Some(tab.to_string()),
        })
    }

    /// Enters a room as an agent; the guard leaves it.
    pub fn join_agent(self: &Arc<Self>, id: SessionId) -> Presence {
        let room = self.room(id);
        room.agent_joined();
        self.metrics.agent_connections.inc();
        Presence {
            rooms: self.clone(),
            room,
            tab: None,
        }
    }

    /// Rooms this node writes, for the consent sweep.
    pub fn held(&self) -> Vec<Arc<Room>> {
        self.rooms
            .iter()
            .filter(|r| r.holds_session())
            .map(|r| r.clone())
            .collect()
    }

    fn remove_if_empty(&self, id: SessionId) {
        self.rooms.remove_if(&id, |_, room| room.is_empty());
    }

    /// When the last tracker of a session has gone, waits the idle timeout and, if none came
    /// back, ends the session.
    fn schedule_idle_end(self: &Arc<Self>, room: Arc<Room>) {
        let rooms = self.clone();
        let epoch = room.new_tracker_epoch();
        tokio::spawn(async move {
            tokio::select! {
                _ = rooms.shutdown.cancelled() => return,
                _ = tokio::time::sleep(rooms.settings.idle_timeout) => {}
            }
            if room.tracker_count() == 0 && room.tracker_epoch() == epoch {
                if let Err(e) = rooms.end(&room, EndReason::Idle).await {
                    warn!(session = %room.id, error = %e, "could not end idle session");
                }
                rooms.remove_if_empty(room.id);
            }
        });
    }
}

/// A connection's place in a room; dropping it leaves the room.
pub struct Presence {
    rooms: Arc<Rooms>,
    room: Arc<Room>,
    /// The tab, for a tracker; `None` for an agent.
    tab: Option<String>,
}

impl Presence {
    pub fn room(&self) -> &Arc<Room> {
        &self.room
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        if let Some(tab) = &self.tab {
            self.room.update_info(|info| {
                info.tabs.remove(tab);
            });
            self.rooms.directory.record(DirectoryRecord::TabClosed {
                session: self.room.id,
                tab: tab.clone(),
                at_ms: now_ms(),
            });
            self.room
                .call_command(Command::TabClosed { tab: tab.clone() });
            self.rooms.metrics.tracker_connections.dec();
            if self.room.tracker_left() {
                self.rooms.schedule_idle_end(self.room.clone());
            }
        } else {
            self.rooms.metrics.agent_connections.dec();
            self.room.agent_left();
        }
        self.rooms.remove_if_empty(self.room.id);
    }
}
