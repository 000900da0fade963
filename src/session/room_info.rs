//! What trackers told a node about a session: its tabs and pages, who the user is, and the
//! session's `view` mode, kept in the session's [`super::room::Room`].

use std::collections::BTreeMap;

use crate::protocol::{PageInfo, ViewMode};

/// What trackers told this node about the session.
#[derive(Debug, Default, Clone)]
pub struct RoomInfo {
    /// Tabs with a tracker connected to this node, and the page each is on.
    pub tabs: BTreeMap<String, PageInfo>,
    /// The page of the most recent tracker connection (the user's latest navigation).
    pub url: Option<String>,
    pub user_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// A page logged a console error (the session directory was told).
    pub console_errors: bool,
    /// Page and identity records this node sent the session directory for the session.
    pub directory_notes: u32,
    /// The session's `view` mode (its `start` record's), once this node read or wrote it.
    pub view: Option<ViewMode>,
}
