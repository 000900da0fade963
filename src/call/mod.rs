//! Calls: the server as a WebRTC peer of everyone in a session's call (docs/protocol.md §10).
//!
//! Each session with a call has one [`Call`] on the node that holds the session: a task that owns
//! the participants' peer connections and forwards RTP between them ([`sfu`]), so the user
//! uploads one stream whatever the number of agents. What it may forward follows the session's
//! grants, which the room hands it on every change: media reaches only agents the user accepted.
//! Those decisions are made by the [`plan`], a pure state machine the task feeds and obeys.
//! While the user allows recording, the [`recorder`] also writes every track into S2
//! ([`archive`]) as Ogg ([`ogg`]) or IVF ([`ivf`]).

pub mod archive;
pub mod config;
pub mod extensions;
pub mod forward;
pub mod ivf;
pub mod ogg;
pub mod peer;
pub mod plan;
pub mod recorder;
pub mod sfu;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{broadcast, mpsc};

use crate::metrics::Metrics;
use crate::protocol::SessionId;
use crate::protocol::{
    AgentRecord, AgentRef, CallMessage, Grant, IceCandidate, Participant, RecordKind, ServerMessage,
};
use crate::signal::SignalBus;
use crate::store::frame::Event;
use crate::store::stream::Store;
use crate::store::writer::ActiveWriter;
use config::{CallConfig, PortPool};

pub use crate::protocol::call::USER;

/// What a node needs to run calls.
pub struct CallServices {
    pub config: CallConfig,
    pub ports: PortPool,
    pub metrics: Arc<Metrics>,
}

impl CallServices {
    pub fn new(config: CallConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        let ports = PortPool::new(&config);
        Arc::new(Self {
            config,
            ports,
            metrics,
        })
    }
}

/// Someone taking part, and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The page's user, through the tracker connection of `tab`.
    User { tab: String, name: String },
    /// An agent, through its connection on `node`.
    Agent { agent: AgentRef, node: String },
}

impl Who {
    pub fn id(&self) -> &str {
        match self {
            Self::User { .. } => USER,
            Self::Agent { agent, .. } => &agent.id,
        }
    }

    pub fn participant(&self) -> Participant {
        match self {
            Self::User { name, .. } => Participant {
                id: USER.into(),
                name: name.clone(),
            },
            Self::Agent { agent, .. } => Participant {
                id: agent.id.clone(),
                name: agent.name.clone(),
            },
        }
    }
}

/// What the call is told.
#[derive(Debug)]
pub enum Command {
    Join {
        who: Who,
        audio: bool,
        video: bool,
        canvases: Vec<u32>,
    },
    Answer {
        participant: String,
        sdp: String,
    },
    Candidate {
        participant: String,
        candidate: IceCandidate,
    },
    Canvas {
        agent: AgentRef,
        node: String,
        on: bool,
    },
    /// The session's grants changed.
    Grants(Vec<Grant>),
    /// A tracker connection ended.
    TabClosed {
        tab: String,
    },
    AgentLeft {
        agent_id: String,
    },
}

/// Where the call's messages and records go.
pub struct Context {
    pub session: SessionId,
    pub services: Arc<CallServices>,
    /// Where recordings are archived.
    pub store: Store,
    /// The session's tracker connections on this node.
    pub trackers: broadcast::Sender<Arc<ServerMessage>>,
    /// Agents, on whichever node they are connected.
    pub bus: Arc<SignalBus>,
    /// What the call did (recordings started and stopped) is written behind the session's events.
    pub writer: ActiveWriter,
}

impl Context {
    fn record(&self, records: &[AgentRecord]) {
        let events = records
            .iter()
            .map(|r| Event::server(RecordKind::Agent, r))
            .collect();
        self.writer.try_append(self.session, events);
    }

    fn send(&self, who: &Who, message: CallMessage) {
        match who {
            Who::User { tab, .. } => {
                let _ = self.trackers.send(Arc::new(message.for_tab(tab.clone())));
            }
            Who::Agent { agent, node } => self.bus.to_agent(self.session, agent, node, message),
        }
    }
}

/// What others may read of a call without asking its task.
#[derive(Default)]
pub struct Shared {
    running: AtomicBool,
    canvas: AtomicBool,
}

impl Shared {
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    pub fn canvas_wanted(&self) -> bool {
        self.canvas.load(Ordering::Relaxed)
    }
}

/// A session's call, as its room holds it. Dropping it ends the call.
pub struct Call {
    tx: mpsc::UnboundedSender<Command>,
    pub shared: Arc<Shared>,
}

impl Call {
    pub fn spawn(context: Context) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let metrics = context.services.metrics.clone();
        metrics.calls_active.inc();
        let running = sfu::run(context, shared.clone(), rx);
        tokio::spawn(async move {
            running.await;
            metrics.calls_active.dec();
        });
        Self { tx, shared }
    }

    pub fn send(&self, command: Command) {
        let _ = self.tx.send(command);
    }
}
