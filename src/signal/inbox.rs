//! Where call messages for this node's agent connections wait to be written to their sockets.

use dashmap::DashMap;
use tokio::sync::mpsc;
use tracing::warn;

use crate::protocol::{AgentMessage, CallMessage};

/// Messages for one agent connection, waiting to be written to its WebSocket.
const INBOX_DEPTH: usize = 256;

/// The agent connections of this node that can take call messages, by agent id.
#[derive(Default)]
pub struct Inboxes {
    senders: DashMap<String, mpsc::Sender<AgentMessage>>,
}

impl Inboxes {
    /// Opens the inbox of the agent connection `agent_id`; the receiver is the connection's.
    /// Dropping it (the connection ending) is enough to stop delivery.
    pub fn open(&self, agent_id: &str) -> mpsc::Receiver<AgentMessage> {
        let (tx, rx) = mpsc::channel(INBOX_DEPTH);
        self.senders.insert(agent_id.to_string(), tx);
        rx
    }

    pub fn close(&self, agent_id: &str) {
        self.senders.remove(agent_id);
    }

    /// Hands a call message to a local agent connection; one that cannot keep up loses it (its
    /// negotiation then fails and the call closes its connection, which the agent sees).
    pub fn deliver(&self, agent_id: &str, message: CallMessage) {
        if let Some(inbox) = self.senders.get(agent_id)
            && inbox.try_send(message.into()).is_err()
        {
            warn!(
                agent = agent_id,
                "call message dropped: the agent connection is not reading"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> CallMessage {
        CallMessage::CallClosed {
            reason: "test".into(),
        }
    }

    #[tokio::test]
    async fn a_message_reaches_the_open_inbox_of_its_agent_only() {
        let inboxes = Inboxes::default();
        let mut ada = inboxes.open("ada");
        let mut bob = inboxes.open("bob");
        inboxes.deliver("ada", message());
        assert!(ada.try_recv().is_ok());
        assert!(bob.try_recv().is_err());
        inboxes.close("ada");
        inboxes.deliver("ada", message());
        assert!(ada.try_recv().is_err(), "a closed inbox gets nothing more");
    }
}
