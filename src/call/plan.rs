//! The call's policy, apart from WebRTC: who sends, receives and records which track, when a
//! participant is offered again, and when a connection closes and why (docs/protocol.md §10).
//!
//! [`Plan`] is a plain state machine in the manner of [`crate::session::consent`]: each input (a join, an
//! answer, new grants, a tab closing, …) returns the [`Effect`]s that [`super::sfu`] carries out
//! with its peer connections, in order. Nothing here awaits, so every rule a user relies on
//! (media only to agents the user accepted, recording only while allowed, canvases only to the
//! agents that asked) is a fast unit test rather than a call over loopback.
//!
//! A participant's connection is a list of media sections, only ever appended to (so `mid`s stay
//! stable): sections the participant sends a track on, and sections on which it receives another
//! participant's track. The executor keeps its transceivers in the same order, so an effect names
//! a section by its index.

use std::collections::{BTreeMap, BTreeSet};

mod effect;
mod sections;

pub use effect::{
    BAD_ANSWER, CALL_ENDED, CONNECTION_LOST, Effect, NEGOTIATION_FAILED, NO_GRANT, REPLACED,
    TOO_MANY_CONNECTIONS,
};

use super::{USER, Who};
use crate::protocol::{AgentRef, CallMessage, Grant, GrantKind, IceCandidate, Media, Participant};

/// Connections an agent, by its authenticated name, may hold in one call at once. Every
/// connection takes a UDP port of `--rtc-ports`, and an agent gets one per console it opens
/// (asking for canvases needs no grant), so without a cap one agent could take every port.
pub const MAX_CONNECTIONS_PER_AGENT: usize = 4;
/// ICE candidates of one participant kept while its first answer is awaited; later ones are
/// dropped.
pub const MAX_QUEUED_CANDIDATES: usize = 64;

/// A track someone sends into the call.
struct Track {
    owner: Participant,
    /// The tab it comes from, for the page's canvases (rrweb ids are per tab).
    tab: Option<String>,
    media: Media,
    canvas: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// The participant sends on it; `key` names its track while it is in use.
    Up {
        media: Media,
        key: Option<u64>,
        canvas: Option<u32>,
    },
    /// The server sends another participant's track on it (`media`: what it carried last).
    Down { media: Media, carries: Option<u64> },
}

struct Peer {
    who: Who,
    /// Tells this connection from an earlier one of the same participant.
    peer: u64,
    sections: Vec<Section>,
    awaiting_answer: bool,
    /// Something changed while an offer was out: offer again once it is answered.
    again: bool,
    /// An answer was applied: the connection takes ICE candidates from now on.
    answered: bool,
    /// Candidates that came before the participant's first answer.
    queued: Vec<IceCandidate>,
}

impl Peer {
    /// The tracks it sends: by section, with the canvas each shows.
    fn sent(&self) -> impl Iterator<Item = (usize, u64, Option<u32>)> + '_ {
        self.sections
            .iter()
            .enumerate()
            .filter_map(|(slot, s)| match *s {
                Section::Up {
                    key: Some(key),
                    canvas,
                    ..
                } => Some((slot, key, canvas)),
                _ => None,
            })
    }
}

/// A join waiting for its connection to open.
struct Opening {
    who: Who,
    peer: u64,
    audio: bool,
    video: bool,
    canvases: Vec<u32>,
}

/// Who takes part in the call and what flows where; see the module doc.
#[derive(Default)]
pub struct Plan {
    peers: BTreeMap<String, Peer>,
    tracks: BTreeMap<u64, Track>,
    next_key: u64,
    next_peer: u64,
    /// Agents holding a `call` grant.
    in_call: BTreeMap<String, AgentRef>,
    record_grant: Option<AgentRef>,
    /// Agents that asked for the page's canvases.
    canvas_agents: BTreeMap<String, AgentRef>,
    /// The tracks recorded, while a recording runs.
    recording: Option<BTreeSet<u64>>,
    /// Who started the running recording.
    recorded_by: Option<AgentRef>,
    /// What the page was last told about canvases (a tracker starts from off).
    canvas_wanted: bool,
    opening: Option<Opening>,
    /// The effects of the input being handled, handed over when it is done.
    out: Vec<Effect>,
}

impl Plan {
    /// Whether a call runs: someone holds a `call` grant.
    pub fn running(&self) -> bool {
        !self.in_call.is_empty()
    }

    /// The tracks `participant` sends, by section: where its arriving media belongs.
    pub fn sending(&self, participant: &str) -> Vec<(usize, u64)> {
        self.peers.get(participant).map_or_else(Vec::new, |p| {
            p.sent().map(|(slot, key, _)| (slot, key)).collect()
        })
    }

    /// A participant is ready to send `audio`, `video` and (the page) `canvases`. Media flows
    /// only under a `call` grant; canvases only while an agent wants them.
    pub fn join(&mut self, who: Who, audio: bool, video: bool, canvases: Vec<u32>) -> Vec<Effect> {
        let id = who.id().to_string();
        let in_call = self.in_call(&id);
        let is_user = id == USER;
        let canvases = if is_user && !self.canvas_agents.is_empty() {
            canvases
        } else {
            Vec::new()
        };
        let wanted = in_call
            || (is_user && !canvases.is_empty())
            || (!is_user && self.canvas_agents.contains_key(&id));
        if !wanted {
            return vec![closed(who, NO_GRANT)];
        }
        if let Who::Agent { agent, .. } = &who
            && !self.peers.contains_key(&id)
            && self.connections_of(&agent.name) >= MAX_CONNECTIONS_PER_AGENT
        {
            return vec![closed(who, TOO_MANY_CONNECTIONS)];
        }
        if self.peers.get(&id).is_some_and(|p| p.who != who) {
            self.close(&id, Some(REPLACED));
        }
        let (audio, video) = (audio && in_call, video && in_call);
        if self.peers.contains_key(&id) {
            self.update(&id, audio, video, &canvases);
        } else {
            self.next_peer += 1;
            let peer = self.next_peer;
            self.out.push(Effect::Open {
                who: who.clone(),
                peer,
            });
            self.opening = Some(Opening {
                who,
                peer,
                audio,
                video,
                canvases,
            });
        }
        self.done()
    }

    /// The connection an [`Effect::Open`] asked for is open: the join goes on.
    pub fn opened(&mut self, participant: &str, peer: u64) -> Vec<Effect> {
        if let Some(opening) = self.take_opening(participant, peer) {
            let peer = Peer {
                who: opening.who,
                peer,
                sections: Vec::new(),
                awaiting_answer: false,
                again: false,
                answered: false,
                queued: Vec::new(),
            };
            self.peers.insert(participant.to_string(), peer);
            let (audio, video) = (opening.audio, opening.video);
            self.update(participant, audio, video, &opening.canvases);
        }
        self.done()
    }

    /// The connection could not be opened; `reason` says why, to the participant.
    pub fn open_failed(&mut self, participant: &str, peer: u64, reason: &str) -> Vec<Effect> {
        if let Some(opening) = self.take_opening(participant, peer) {
            self.out.push(closed(opening.who, reason));
            // A connection it replaced is gone: the others stop receiving from it.
            self.sync_all(None);
        }
        self.done()
    }

    /// The connections the agent named `name` holds or is opening, over all its consoles.
    fn connections_of(&self, name: &str) -> usize {
        let named = |who: &Who| matches!(who, Who::Agent { agent, .. } if agent.name == name);
        self.peers.values().filter(|p| named(&p.who)).count()
            + self.opening.iter().filter(|o| named(&o.who)).count()
    }

    fn take_opening(&mut self, participant: &str, peer: u64) -> Option<Opening> {
        self.opening
            .take_if(|o| o.peer == peer && o.who.id() == participant)
    }

    pub fn answer(&mut self, participant: &str, sdp: String) -> Vec<Effect> {
        match self.peers.get(participant) {
            Some(peer) if peer.awaiting_answer => vec![Effect::ApplyAnswer {
                participant: participant.to_string(),
                sdp,
            }],
            _ => Vec::new(),
        }
    }

    /// The answer applied: candidates that waited for it go in, and a change made meanwhile is
    /// offered.
    pub fn answered(&mut self, participant: &str) -> Vec<Effect> {
        let Some(peer) = self.peers.get_mut(participant) else {
            return Vec::new();
        };
        peer.awaiting_answer = false;
        peer.answered = true;
        for candidate in std::mem::take(&mut peer.queued) {
            self.out.push(Effect::AddCandidate {
                participant: participant.to_string(),
                candidate,
            });
        }
        if std::mem::take(&mut peer.again) {
            self.offer(participant);
        }
        self.done()
    }

    /// An ICE candidate of the participant's; it waits for the first answer.
    pub fn candidate(&mut self, participant: &str, candidate: IceCandidate) -> Vec<Effect> {
        match self.peers.get_mut(participant) {
            // A browser gathers a handful; a page that sends more is not honest, and they would
            // all be held until an answer that may never come.
            Some(peer) if !peer.answered && peer.queued.len() >= MAX_QUEUED_CANDIDATES => {}
            Some(peer) if !peer.answered => peer.queued.push(candidate),
            Some(_) => self.out.push(Effect::AddCandidate {
                participant: participant.to_string(),
                candidate,
            }),
            None => {}
        }
        self.done()
    }

    /// The connection is up: key frames asked for while it came up were lost, so ask again.
    pub fn connected(&mut self, participant: &str, peer: u64) -> Vec<Effect> {
        let Some(p) = self.peers.get(participant).filter(|p| p.peer == peer) else {
            return Vec::new();
        };
        p.sections
            .iter()
            .filter_map(|s| match *s {
                Section::Down {
                    carries: Some(key), ..
                } => Some(Effect::AskKeyframe { key }),
                _ => None,
            })
            .collect()
    }

    /// The connection failed (lost, or negotiation did not work): it is closed for `reason` and
    /// the others carry on without it.
    pub fn failed(&mut self, participant: &str, peer: u64, reason: &str) -> Vec<Effect> {
        if self.peers.get(participant).is_some_and(|p| p.peer == peer) {
            self.close(participant, Some(reason));
            self.settle();
        }
        self.done()
    }

    /// An agent asked for the page's canvases, or stopped.
    pub fn canvas(&mut self, agent: AgentRef, on: bool) -> Vec<Effect> {
        if on {
            self.canvas_agents.insert(agent.id.clone(), agent);
        } else {
            self.canvas_agents.remove(&agent.id);
        }
        self.settle();
        self.done()
    }

    /// The session's grants changed (the whole list, as the consent machine holds it).
    pub fn grants(&mut self, grants: &[Grant]) -> Vec<Effect> {
        let holders = |kind| grants.iter().filter(move |g: &&Grant| g.kind == kind);
        self.in_call = holders(GrantKind::Call)
            .map(|g| (g.agent.id.clone(), g.agent.clone()))
            .collect();
        self.record_grant = holders(GrantKind::Record).next().map(|g| g.agent.clone());
        self.settle();
        self.done()
    }

    /// A tracker connection ended: if it was the call's tab, the user's connection is gone (the
    /// grants stay, so the tab's next page may join again).
    pub fn tab_closed(&mut self, tab: &str) -> Vec<Effect> {
        let on_tab = self
            .peers
            .get(USER)
            .is_some_and(|p| matches!(&p.who, Who::User { tab: t, .. } if t == tab));
        if on_tab {
            self.close(USER, None);
            self.settle();
        }
        self.done()
    }

    /// An agent's connection to the session ended.
    pub fn agent_left(&mut self, agent_id: &str) -> Vec<Effect> {
        self.canvas_agents.remove(agent_id);
        self.close(agent_id, None);
        self.settle();
        self.done()
    }

    /// The call's task stops (the session ended or moved): everyone is closed and a running
    /// recording stops.
    pub fn end(&mut self) -> Vec<Effect> {
        for id in self.ids() {
            self.close(&id, Some(CALL_ENDED));
        }
        self.record_grant = None;
        self.settle_recording();
        self.done()
    }

    fn done(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    fn ids(&self) -> Vec<String> {
        self.peers.keys().cloned().collect()
    }

    /// Whether `id` is in the call: an agent with a `call` grant, or the user while anyone is.
    fn in_call(&self, id: &str) -> bool {
        if id == USER {
            self.running()
        } else {
            self.in_call.contains_key(id)
        }
    }

    /// The grants decide who hears and sees whom; canvases go to the agents that asked.
    fn may_receive(&self, id: &str, track: &Track) -> bool {
        if track.owner.id == id {
            return false;
        }
        match track.media {
            Media::Audio | Media::Video => self.in_call(id) && self.in_call(&track.owner.id),
            Media::Canvas => self.canvas_agents.contains_key(id),
        }
    }

    /// Brings what `id` sends in line with what it offered (and may send), then offers it.
    fn update(&mut self, id: &str, audio: bool, video: bool, canvases: &[u32]) {
        self.want_up(id, Media::Audio, None, audio);
        self.want_up(id, Media::Video, None, video);
        let current = self.sent_canvases(id);
        for canvas in current.iter().filter(|c| !canvases.contains(c)) {
            self.want_up(id, Media::Canvas, Some(*canvas), false);
        }
        for canvas in canvases.iter().filter(|c| !current.contains(c)) {
            self.want_up(id, Media::Canvas, Some(*canvas), true);
        }
        self.sync_all(Some(id));
    }

    fn sent_canvases(&self, id: &str) -> Vec<u32> {
        self.peers.get(id).map_or_else(Vec::new, |p| {
            p.sent().filter_map(|(_, _, canvas)| canvas).collect()
        })
    }

    /// After grants or canvas requests changed: drops whoever has nothing left to do in the call,
    /// stops what may no longer be sent, renegotiates, and starts or stops the recording.
    fn settle(&mut self) {
        let canvas = !self.canvas_agents.is_empty();
        if self.canvas_wanted != canvas {
            self.canvas_wanted = canvas;
            self.out.push(Effect::Canvases { on: canvas });
        }
        for id in self.ids() {
            let stays = if id == USER {
                self.running() || canvas
            } else {
                self.in_call.contains_key(&id) || self.canvas_agents.contains_key(&id)
            };
            if !stays {
                self.close(&id, Some(CALL_ENDED));
                continue;
            }
            if !self.in_call(&id) {
                self.want_up(&id, Media::Audio, None, false);
                self.want_up(&id, Media::Video, None, false);
            }
            if id == USER && !canvas {
                for c in self.sent_canvases(USER) {
                    self.want_up(USER, Media::Canvas, Some(c), false);
                }
            }
        }
        self.sync_all(None);
        self.settle_recording();
    }

    /// A recording runs while an agent holds the `record` grant and the call runs.
    fn settle_recording(&mut self) {
        let holder = self.record_grant.clone().filter(|_| self.running());
        match (holder, self.recording.is_some()) {
            (Some(holder), false) => {
                self.out.push(Effect::StartRecording { by: holder.clone() });
                self.recording = Some(BTreeSet::new());
                self.recorded_by = Some(holder);
                let keys: Vec<u64> = self.tracks.keys().copied().collect();
                for key in keys {
                    self.record_track(key);
                }
            }
            (None, true) => {
                self.recording = None;
                let started_by = self.recorded_by.take();
                if let Some(by) = self.record_grant.clone().or(started_by) {
                    self.out.push(Effect::StopRecording { by });
                }
            }
            _ => {}
        }
    }

    /// Records a track if a recording runs and the track is part of the call.
    fn record_track(&mut self, key: u64) {
        let Some(track) = self.tracks.get(&key) else {
            return;
        };
        let recorded = track.media == Media::Canvas || self.in_call(&track.owner.id);
        if let (Some(recording), true) = (self.recording.as_mut(), recorded)
            && recording.insert(key)
        {
            self.out.push(Effect::Record {
                key,
                participant: track.owner.clone(),
                media: track.media,
                canvas: track.canvas,
            });
        }
    }

    /// Closes a participant's connection; `reason` is told to it (none when it is gone anyway).
    fn close(&mut self, id: &str, reason: Option<&str>) {
        let Some(peer) = self.peers.remove(id) else {
            return;
        };
        let tracks: Vec<u64> = peer.sent().map(|(_, key, _)| key).collect();
        if let Some(reason) = reason {
            self.out.push(closed(peer.who, reason));
        }
        for key in &tracks {
            self.forget(*key);
        }
        let participant = id.to_string();
        self.out.push(Effect::Close {
            participant,
            tracks,
        });
    }
}

fn closed(to: Who, reason: &str) -> Effect {
    let reason = reason.to_string();
    Effect::Send {
        to,
        message: CallMessage::CallClosed { reason },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::protocol::Slot;

    fn agent(id: &str) -> AgentRef {
        AgentRef {
            id: id.into(),
            name: format!("Agent {id}"),
        }
    }

    fn agent_who(id: &str) -> Who {
        Who::Agent {
            agent: agent(id),
            node: "node-1".into(),
        }
    }

    fn user_on(tab: &str) -> Who {
        Who::User {
            tab: tab.into(),
            name: "Ada".into(),
        }
    }

    fn grant(kind: GrantKind, id: &str) -> Grant {
        Grant {
            kind,
            agent: agent(id),
            video: true,
        }
    }

    fn call_grant(id: &str) -> Grant {
        grant(GrantKind::Call, id)
    }

    fn record(id: &str) -> Grant {
        grant(GrantKind::Record, id)
    }

    fn candidate(n: u16) -> IceCandidate {
        IceCandidate {
            candidate: format!("candidate:{n} 1 udp 1 127.0.0.1 {n} typ host"),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        }
    }

    /// A section as the executor holds it: the track sent or carried on it, if any.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Sec {
        Up(Option<u64>),
        Down(Option<u64>),
    }

    /// Carries out effects as the call's task does, without WebRTC, and checks they make sense
    /// in order: no section used before it exists, no track forwarded or recorded once gone.
    struct Call {
        plan: Plan,
        connections: BTreeMap<String, Vec<Sec>>,
        peers: BTreeMap<String, u64>,
        /// Tracks by key: who sends them and what they are.
        tracks: BTreeMap<u64, (String, Media)>,
        recording: Option<BTreeSet<u64>>,
        /// `recording` records: state and who they name.
        records: Vec<(&'static str, Option<String>)>,
        /// Every `call_closed`: to whom (participant id, and the tab for the user) and why.
        closed: Vec<(String, Option<String>, String)>,
        offers: Vec<(String, Vec<Slot>)>,
        candidates: Vec<(String, IceCandidate)>,
        keyframes: Vec<u64>,
        canvases: Vec<bool>,
        answer_offers: bool,
        open_fails: bool,
    }

    impl Call {
        fn new() -> Self {
            Self {
                plan: Plan::default(),
                connections: BTreeMap::new(),
                peers: BTreeMap::new(),
                tracks: BTreeMap::new(),
                recording: None,
                records: Vec::new(),
                closed: Vec::new(),
                offers: Vec::new(),
                candidates: Vec::new(),
                keyframes: Vec::new(),
                canvases: Vec::new(),
                answer_offers: true,
                open_fails: false,
            }
        }

        fn with_grants(grants: &[Grant]) -> Self {
            let mut call = Self::new();
            call.grants(grants);
            call
        }

        /// Carries out `effects` and what the plan decides on hearing how they went; returns
        /// them all, in order.
        fn run(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
            let mut done = Vec::new();
            let mut queue = VecDeque::from(effects);
            while let Some(effect) = queue.pop_front() {
                queue.extend(self.carry_out(&effect));
                done.push(effect);
            }
            self.check();
            done
        }

        fn carry_out(&mut self, effect: &Effect) -> Vec<Effect> {
            match effect.clone() {
                Effect::Send { to, message } => {
                    let CallMessage::CallClosed { reason } = message else {
                        panic!("only call_closed is sent outside an offer");
                    };
                    let tab = match &to {
                        Who::User { tab, .. } => Some(tab.clone()),
                        Who::Agent { .. } => None,
                    };
                    self.closed.push((to.id().to_string(), tab, reason));
                }
                Effect::Open { who, peer } => {
                    let id = who.id().to_string();
                    assert!(!self.connections.contains_key(&id), "{id} opened twice");
                    if self.open_fails {
                        return self.plan.open_failed(&id, peer, "no port");
                    }
                    self.connections.insert(id.clone(), Vec::new());
                    self.peers.insert(id.clone(), peer);
                    return self.plan.opened(&id, peer);
                }
                Effect::Close {
                    participant,
                    tracks,
                } => {
                    let sections = self.connections.remove(&participant).expect("open");
                    let sent: Vec<u64> = sections
                        .iter()
                        .filter_map(|s| match s {
                            Sec::Up(key) => *key,
                            Sec::Down(_) => None,
                        })
                        .collect();
                    assert_eq!(sent, tracks, "every track {participant} sent goes with it");
                    for key in tracks {
                        self.tracks.remove(&key);
                    }
                }
                Effect::Receive {
                    participant,
                    key,
                    media,
                } => {
                    self.section(&participant, None).push(Sec::Up(Some(key)));
                    assert!(self.tracks.insert(key, (participant, media)).is_none());
                }
                Effect::StopReceiving {
                    participant,
                    slot,
                    key,
                } => {
                    let section = &mut self.section(&participant, Some(slot))[slot];
                    assert_eq!(*section, Sec::Up(Some(key)));
                    *section = Sec::Up(None);
                    self.tracks.remove(&key);
                }
                Effect::ForwardNew {
                    participant,
                    key,
                    media,
                    from,
                } => {
                    assert_eq!(self.tracks.get(&key), Some(&(from, media)));
                    self.section(&participant, None).push(Sec::Down(Some(key)));
                }
                Effect::Forward {
                    participant,
                    slot,
                    key,
                } => {
                    assert!(self.tracks.contains_key(&key));
                    let section = &mut self.section(&participant, Some(slot))[slot];
                    assert_eq!(*section, Sec::Down(None), "only a free section is reused");
                    *section = Sec::Down(Some(key));
                }
                Effect::StopForwarding { participant, slot } => {
                    let section = &mut self.section(&participant, Some(slot))[slot];
                    assert!(matches!(section, Sec::Down(Some(_))));
                    *section = Sec::Down(None);
                }
                Effect::Offer { participant, slots } => {
                    assert_eq!(slots.len(), self.connections[&participant].len());
                    self.offers.push((participant.clone(), slots));
                    if self.answer_offers {
                        return self.plan.answer(&participant, "v=0".into());
                    }
                }
                Effect::ApplyAnswer { participant, .. } => {
                    return self.plan.answered(&participant);
                }
                Effect::AddCandidate {
                    participant,
                    candidate,
                } => self.candidates.push((participant, candidate)),
                Effect::AskKeyframe { key } => self.keyframes.push(key),
                Effect::Canvases { on } => self.canvases.push(on),
                Effect::StartRecording { by } => {
                    assert!(self.recording.is_none(), "one recording at a time");
                    self.recording = Some(BTreeSet::new());
                    self.records.push(("started", Some(by.id)));
                }
                Effect::Record {
                    key,
                    participant,
                    media,
                    ..
                } => {
                    assert_eq!(self.tracks.get(&key), Some(&(participant.id, media)));
                    let recording = self.recording.as_mut().expect("a recording runs");
                    assert!(recording.insert(key), "a track is recorded once");
                }
                Effect::StopRecordingTrack { key } => {
                    let recording = self.recording.as_mut().expect("a recording runs");
                    assert!(recording.remove(&key));
                }
                Effect::StopRecording { by } => {
                    self.recording.take().expect("a recording runs");
                    self.records.push(("stopped", Some(by.id)));
                }
            }
            Vec::new()
        }

        fn section(&mut self, participant: &str, slot: Option<usize>) -> &mut Vec<Sec> {
            let sections = self
                .connections
                .get_mut(participant)
                .unwrap_or_else(|| panic!("{participant} has no connection"));
            if let Some(slot) = slot {
                assert!(slot < sections.len(), "{participant} has no section {slot}");
            }
            sections
        }

        /// Nothing forwarded or recorded outlives its track.
        fn check(&self) {
            for (id, sections) in &self.connections {
                for section in sections {
                    if let Sec::Down(Some(key)) = section {
                        assert!(self.tracks.contains_key(key), "{id} receives a gone track");
                    }
                }
            }
            for key in self.recording.iter().flatten() {
                assert!(self.tracks.contains_key(key), "a gone track is recorded");
            }
        }

        fn grants(&mut self, grants: &[Grant]) -> Vec<Effect> {
            let effects = self.plan.grants(grants);
            self.run(effects)
        }

        fn join(&mut self, who: Who, audio: bool, video: bool, canvases: &[u32]) -> Vec<Effect> {
            let effects = self.plan.join(who, audio, video, canvases.to_vec());
            self.run(effects)
        }

        fn canvas(&mut self, id: &str, on: bool) -> Vec<Effect> {
            let effects = self.plan.canvas(agent(id), on);
            self.run(effects)
        }

        fn tab_closed(&mut self, tab: &str) -> Vec<Effect> {
            let effects = self.plan.tab_closed(tab);
            self.run(effects)
        }

        fn agent_left(&mut self, id: &str) -> Vec<Effect> {
            let effects = self.plan.agent_left(id);
            self.run(effects)
        }

        fn end(&mut self) -> Vec<Effect> {
            let effects = self.plan.end();
            self.run(effects)
        }

        fn connected(&mut self, id: &str) -> Vec<Effect> {
            let effects = self.plan.connected(id, self.peers[id]);
            self.run(effects)
        }

        fn answer(&mut self, id: &str) -> Vec<Effect> {
            let effects = self.plan.answer(id, "v=0".into());
            self.run(effects)
        }

        fn failed(&mut self, id: &str, peer: u64, reason: &str) -> Vec<Effect> {
            let effects = self.plan.failed(id, peer, reason);
            self.run(effects)
        }

        /// Whose media `id` receives, and what.
        fn receives(&self, id: &str) -> Vec<(String, Media)> {
            let mut got: Vec<(String, Media)> = self.connections[id]
                .iter()
                .filter_map(|s| match s {
                    Sec::Down(Some(key)) => Some(self.tracks[key].clone()),
                    _ => None,
                })
                .collect();
            got.sort_by_key(|(who, media)| (who.clone(), *media as u8));
            got
        }

        /// What `id` sends into the call.
        fn sends(&self, id: &str) -> Vec<Media> {
            self.connections[id]
                .iter()
                .filter_map(|s| match s {
                    Sec::Up(Some(key)) => Some(self.tracks[key].1),
                    _ => None,
                })
                .collect()
        }

        /// Whose tracks the running recording holds.
        fn recorded(&self) -> Vec<(String, Media)> {
            let mut got: Vec<(String, Media)> = self
                .recording
                .iter()
                .flatten()
                .map(|key| self.tracks[key].clone())
                .collect();
            got.sort_by_key(|(who, media)| (who.clone(), *media as u8));
            got
        }

        /// The reasons `id` was told its connection closed.
        fn told(&self, id: &str) -> Vec<&str> {
            self.closed
                .iter()
                .filter(|(who, _, _)| who == id)
                .map(|(_, _, reason)| reason.as_str())
                .collect()
        }

        fn offers_to(&self, id: &str) -> Vec<&Vec<Slot>> {
            self.offers
                .iter()
                .filter(|(who, _)| who == id)
                .map(|(_, slots)| slots)
                .collect()
        }

        /// The user (on tab `t1`) and `agents` join with audio and video.
        fn everyone_joins(&mut self, agents: &[&str]) {
            self.join(user_on("t1"), true, true, &[]);
            for id in agents {
                self.join(agent_who(id), true, true, &[]);
            }
        }
    }

    fn av(id: &str) -> Vec<(String, Media)> {
        vec![(id.into(), Media::Audio), (id.into(), Media::Video)]
    }

    fn both(a: &str, b: &str) -> Vec<(String, Media)> {
        let mut got = av(a);
        got.extend(av(b));
        got
    }

    #[test]
    fn a_join_without_a_call_grant_is_refused() {
        let mut call = Call::new();
        let effects = call.join(user_on("t1"), true, true, &[]);
        assert!(!effects.iter().any(|e| matches!(e, Effect::Open { .. })));
        assert_eq!(call.told(USER), ["no_grant"]);
        call.grants(&[call_grant("a")]);
        call.join(agent_who("b"), true, false, &[]);
        assert_eq!(call.told("b"), ["no_grant"]);
        assert!(call.connections.is_empty(), "nobody was connected");
        call.join(agent_who("a"), true, false, &[]);
        assert!(call.connections.contains_key("a"), "the granted agent is");
    }

    #[test]
    fn the_user_and_an_agent_granted_a_call_hear_and_see_each_other() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.everyone_joins(&["a"]);
        assert!(call.plan.running());
        assert_eq!(call.receives("a"), av(USER));
        assert_eq!(call.receives(USER), av("a"));
        assert_eq!(call.sends(USER), [Media::Audio, Media::Video]);
    }

    #[test]
    fn agents_in_the_call_hear_each_other_and_the_user_hears_both() {
        let mut call = Call::with_grants(&[call_grant("a"), call_grant("b")]);
        call.everyone_joins(&["a", "b"]);
        assert_eq!(call.receives(USER), both("a", "b"));
        assert_eq!(call.receives("a"), both("b", USER));
        assert_eq!(call.receives("b"), both("a", USER));
    }

    #[test]
    fn the_users_media_reaches_only_agents_holding_a_call_grant() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.canvas("b", true);
        call.join(user_on("t1"), true, true, &[4]);
        call.join(agent_who("a"), true, true, &[]);
        call.join(agent_who("b"), false, false, &[]);
        assert_eq!(call.receives("a"), av(USER), "no canvas: a did not ask");
        assert_eq!(call.receives("b"), [(USER.to_string(), Media::Canvas)]);
    }

    #[test]
    fn media_of_an_agent_not_granted_is_never_forwarded() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.canvas("b", true);
        call.join(user_on("t1"), true, true, &[4]);
        call.join(agent_who("a"), true, true, &[]);
        let effects = call.join(agent_who("b"), true, true, &[]);
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::Receive { participant, .. } if participant == "b")),
            "b is not asked for media it may not send: {effects:?}"
        );
        assert!(call.sends("b").is_empty());
        for id in [USER, "a"] {
            assert!(call.receives(id).iter().all(|(from, _)| from != "b"));
        }
    }

    #[test]
    fn revoking_a_call_grant_mid_call_closes_the_agent_and_stops_its_media() {
        let mut call = Call::with_grants(&[call_grant("a"), call_grant("b")]);
        call.everyone_joins(&["a", "b"]);
        let offers_to_user = call.offers_to(USER).len();
        call.grants(&[call_grant("b")]);
        assert_eq!(call.told("a"), ["call_ended"]);
        assert!(!call.connections.contains_key("a"));
        assert_eq!(call.receives(USER), av("b"));
        assert_eq!(call.receives("b"), av(USER));
        assert_eq!(call.offers_to(USER).len(), offers_to_user + 1, "re-offered");
        assert!(call.told(USER).is_empty(), "the call goes on for the user");
    }

    #[test]
    fn the_last_call_grant_ending_closes_the_users_connection_too() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.everyone_joins(&["a"]);
        call.grants(&[]);
        assert_eq!(call.told(USER), ["call_ended"]);
        assert_eq!(call.told("a"), ["call_ended"]);
        assert!(call.connections.is_empty() && call.tracks.is_empty());
        assert!(!call.plan.running());
    }

    #[test]
    fn an_agent_leaving_the_call_but_wanting_canvases_keeps_only_the_canvases() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.canvas("a", true);
        call.join(user_on("t1"), true, true, &[3]);
        call.join(agent_who("a"), true, true, &[]);
        assert_eq!(call.receives("a").len(), 3);
        call.grants(&[]);
        assert!(call.closed.is_empty(), "both still have canvases to do");
        assert_eq!(call.sends(USER), [Media::Canvas]);
        assert!(call.sends("a").is_empty());
        assert_eq!(call.receives("a"), [(USER.to_string(), Media::Canvas)]);
        assert!(call.receives(USER).is_empty());
    }

    #[test]
    fn recording_runs_only_while_the_user_allows_it() {
        let mut call = Call::with_grants(&[call_grant("a"), record("a")]);
        call.everyone_joins(&["a"]);
        assert_eq!(call.records, [("started", Some("a".into()))]);
        assert_eq!(call.recorded(), both("a", USER));
        call.grants(&[call_grant("a")]);
        assert_eq!(call.records[1..], [("stopped", Some("a".into()))]);
        assert!(call.recording.is_none());
        assert_eq!(call.receives(USER), av("a"), "the call goes on");
        call.grants(&[call_grant("a"), record("a")]);
        assert_eq!(call.records.len(), 3, "a new recording");
        assert_eq!(call.recorded(), both("a", USER), "of what already flows");
    }

    #[test]
    fn revoking_the_call_grant_of_the_recording_agent_stops_the_recording() {
        let mut call = Call::with_grants(&[call_grant("a"), call_grant("b"), record("a")]);
        call.everyone_joins(&["a", "b"]);
        assert_eq!(call.recorded().len(), 6);
        call.grants(&[call_grant("b"), record("a")]);
        assert_eq!(
            call.recorded(),
            both("b", USER),
            "a's tracks stop with its connection"
        );
        call.grants(&[call_grant("b")]);
        assert_eq!(
            call.records.last(),
            Some(&("stopped", Some("a".into()))),
            "written down in the name of the agent whose recording it was"
        );
    }

    #[test]
    fn a_record_grant_without_a_call_records_nothing() {
        let mut call = Call::with_grants(&[record("a")]);
        call.join(user_on("t1"), true, true, &[]);
        assert!(call.records.is_empty() && call.recording.is_none());
        assert_eq!(call.told(USER), ["no_grant"]);
    }

    #[test]
    fn canvases_without_a_call_reach_the_agent_but_are_not_recorded() {
        let mut call = Call::with_grants(&[record("a")]);
        call.canvas("a", true);
        call.join(user_on("t1"), false, false, &[1, 2]);
        call.join(agent_who("a"), false, false, &[]);
        assert_eq!(
            call.receives("a"),
            [(USER.into(), Media::Canvas), (USER.into(), Media::Canvas)]
        );
        assert!(call.records.is_empty(), "no call, no recording");
        assert!(!call.plan.running());
    }

    #[test]
    fn an_agent_holds_at_most_a_few_connections_however_many_consoles_ask() {
        let mut call = Call::with_grants(&[]);
        call.join(user_on("t1"), false, false, &[]);
        let console = |n: usize| AgentRef {
            id: format!("alice-{n}"),
            name: "alice".into(),
        };
        for n in 0..=MAX_CONNECTIONS_PER_AGENT {
            let effects = call.plan.canvas(console(n), true);
            call.run(effects);
            let who = Who::Agent {
                agent: console(n),
                node: "node-1".into(),
            };
            call.join(who, false, false, &[]);
        }
        for n in 0..MAX_CONNECTIONS_PER_AGENT {
            let id = format!("alice-{n}");
            assert!(call.connections.contains_key(&id), "{id} is connected");
            assert!(call.told(&id).is_empty(), "{id} was not refused");
        }
        let over = format!("alice-{MAX_CONNECTIONS_PER_AGENT}");
        assert!(
            !call.connections.contains_key(&over),
            "no port for one more"
        );
        assert_eq!(call.told(&over), [TOO_MANY_CONNECTIONS]);

        call.canvas("bob", true);
        call.join(agent_who("bob"), false, false, &[]);
        assert!(
            call.connections.contains_key("bob"),
            "another agent is not held back"
        );

        call.agent_left("alice-0");
        let who = Who::Agent {
            agent: console(MAX_CONNECTIONS_PER_AGENT),
            node: "node-1".into(),
        };
        call.join(who, false, false, &[]);
        assert!(
            call.connections.contains_key(&over),
            "a freed connection may be used again"
        );
    }

    #[test]
    fn canvases_of_a_call_are_recorded_with_it() {
        let mut call = Call::with_grants(&[call_grant("a"), record("a")]);
        call.canvas("a", true);
        call.join(user_on("t1"), true, false, &[8]);
        call.join(agent_who("a"), false, false, &[]);
        assert_eq!(
            call.recorded(),
            [(USER.into(), Media::Audio), (USER.into(), Media::Canvas)]
        );
    }

    #[test]
    fn a_track_added_mid_recording_is_recorded_and_one_stopped_is_completed() {
        let mut call = Call::with_grants(&[call_grant("a"), record("a")]);
        call.join(user_on("t1"), true, false, &[]);
        assert_eq!(call.recorded(), [(USER.into(), Media::Audio)]);
        call.join(user_on("t1"), true, true, &[]);
        assert_eq!(call.recorded(), av(USER));
        let effects = call.join(user_on("t1"), false, true, &[]);
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::StopRecordingTrack { .. }))
        );
        assert_eq!(call.recorded(), [(USER.into(), Media::Video)]);
        assert_eq!(call.records.len(), 1, "still the one recording");
    }

    #[test]
    fn the_call_tab_closing_ends_the_users_media_but_not_the_call() {
        let mut call = Call::with_grants(&[call_grant("a"), record("a")]);
        call.everyone_joins(&["a"]);
        assert!(call.tab_closed("t2").is_empty(), "another tab");
        call.tab_closed("t1");
        assert!(
            call.told(USER).is_empty(),
            "the tab is gone: nobody to tell"
        );
        assert!(!call.connections.contains_key(USER));
        assert!(call.receives("a").is_empty());
        assert_eq!(call.recorded(), av("a"));
        assert_eq!(call.records.len(), 1, "the recording goes on");
        call.join(user_on("t1"), true, true, &[]);
        assert_eq!(
            call.receives("a"),
            av(USER),
            "the tab's next page joins again"
        );
        assert_eq!(call.recorded(), both("a", USER));
    }

    #[test]
    fn an_agent_leaving_is_closed_quietly_and_stops_reaching_the_others() {
        let mut call = Call::with_grants(&[call_grant("a"), call_grant("b")]);
        call.canvas("a", true);
        call.everyone_joins(&["a", "b"]);
        call.agent_left("a");
        assert!(call.told("a").is_empty());
        assert!(!call.connections.contains_key("a"));
        assert_eq!(call.receives(USER), av("b"));
        assert_eq!(call.receives("b"), av(USER));
        assert_eq!(call.canvases, [true, false], "nobody wants canvases now");
    }

    #[test]
    fn a_tracker_moving_node_ends_the_old_call_and_the_new_node_starts_clean() {
        let grants = [call_grant("a"), record("a")];
        let mut old = Call::with_grants(&grants);
        old.everyone_joins(&["a"]);
        old.tab_closed("t1");
        old.grants(&[]);
        assert!(old.connections.is_empty(), "nothing is forwarded");
        assert!(old.tracks.is_empty());
        assert!(old.recording.is_none(), "nothing is recorded");
        assert_eq!(old.records.last().map(|r| r.0), Some("stopped"));
        assert!(!old.plan.running());

        let mut new = Call::with_grants(&grants);
        new.everyone_joins(&["a"]);
        assert_eq!(new.peers[USER], 1, "the user's first connection here");
        assert_eq!(new.records, [("started", Some("a".into()))]);
        assert_eq!(new.recorded(), both("a", USER));
        assert_eq!(new.receives("a"), av(USER));
        assert_eq!(new.offers_to(USER)[0].len(), 2, "only its own sections");
    }

    #[test]
    fn another_tab_joining_takes_the_users_connection_over() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.everyone_joins(&["a"]);
        let first = call.peers[USER];
        call.join(user_on("t2"), true, true, &[]);
        assert_eq!(
            call.closed,
            [(USER.into(), Some("t1".into()), "replaced".into())]
        );
        assert_ne!(call.peers[USER], first, "a new connection");
        assert_eq!(call.receives("a"), av(USER), "from the new tab");
        assert!(call.failed(USER, first, CONNECTION_LOST).is_empty());
        assert!(call.plan.connected(USER, first).is_empty());
        assert!(
            call.connections.contains_key(USER),
            "the old one's end is ignored"
        );
    }

    #[test]
    fn a_change_while_an_offer_is_out_is_offered_once_it_is_answered() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.answer_offers = false;
        call.join(user_on("t1"), true, false, &[]);
        call.join(agent_who("a"), true, false, &[]);
        assert_eq!(call.offers_to(USER).len(), 1, "one offer out at a time");
        call.answer(USER);
        let offers = call.offers_to(USER);
        assert_eq!(offers.len(), 2);
        assert_eq!(offers[1][1].from.as_ref().map(|p| p.id.as_str()), Some("a"));
    }

    #[test]
    fn an_answer_to_no_offer_is_ignored() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.answer_offers = false;
        call.join(agent_who("a"), true, false, &[]);
        assert!(matches!(call.answer("a")[..], [Effect::ApplyAnswer { .. }]));
        assert!(call.answer("a").is_empty());
        assert!(call.answer("b").is_empty());
    }

    #[test]
    fn candidates_waiting_for_an_answer_are_bounded() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.answer_offers = false;
        call.join(agent_who("a"), true, false, &[]);
        for n in 0..MAX_QUEUED_CANDIDATES as u16 + 100 {
            call.plan.candidate("a", candidate(n));
        }
        call.answer("a");
        assert_eq!(call.candidates.len(), MAX_QUEUED_CANDIDATES);
        assert_eq!(call.candidates[0], ("a".into(), candidate(0)));
    }

    #[test]
    fn candidates_before_the_first_answer_wait_for_it() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.answer_offers = false;
        call.join(agent_who("a"), true, false, &[]);
        let effects = call.plan.candidate("a", candidate(1));
        assert!(effects.is_empty());
        call.answer("a");
        assert_eq!(call.candidates, [("a".into(), candidate(1))]);
        let effects = call.plan.candidate("a", candidate(2));
        assert_eq!(
            effects,
            [Effect::AddCandidate {
                participant: "a".into(),
                candidate: candidate(2)
            }]
        );
    }

    #[test]
    fn a_lost_connection_is_closed_and_the_others_stop_receiving_from_it() {
        let mut call = Call::with_grants(&[call_grant("a"), call_grant("b")]);
        call.everyone_joins(&["a", "b"]);
        let peer = call.peers["a"];
        call.failed("a", peer, CONNECTION_LOST);
        assert_eq!(call.told("a"), ["connection_lost"]);
        assert_eq!(call.receives(USER), av("b"));
        call.join(agent_who("a"), true, true, &[]);
        assert_eq!(call.receives(USER), both("a", "b"), "joining again works");
    }

    #[test]
    fn a_free_section_is_reused_for_the_next_track_of_its_kind() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.join(user_on("t1"), true, false, &[]);
        call.join(agent_who("a"), true, false, &[]);
        let sections = call.connections[USER].len();
        call.grants(&[call_grant("b")]);
        assert_eq!(call.connections[USER][1], Sec::Down(None));
        let offer = call.offers_to(USER).last().map(|o| o[1].clone());
        assert_eq!(
            offer.map(|s| (s.send, s.from)),
            Some((false, None)),
            "inactive"
        );
        let effects = call.join(agent_who("b"), true, false, &[]);
        assert!(effects.contains(&Effect::Forward {
            participant: USER.into(),
            slot: 1,
            key: call.plan.sending("b")[0].1,
        }));
        assert_eq!(call.connections[USER].len(), sections);
        assert_eq!(call.receives(USER), [("b".into(), Media::Audio)]);
    }

    #[test]
    fn the_page_is_told_when_canvases_are_wanted() {
        let mut call = Call::new();
        call.canvas("a", true);
        call.canvas("b", true);
        call.canvas("a", false);
        assert_eq!(call.canvases, [true]);
        call.canvas("b", false);
        assert_eq!(call.canvases, [true, false]);
    }

    #[test]
    fn the_page_streams_canvases_only_while_an_agent_wants_them() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.join(user_on("t1"), true, false, &[5]);
        assert_eq!(call.sends(USER), [Media::Audio]);
        call.canvas("a", true);
        call.join(user_on("t1"), true, false, &[5]);
        call.join(agent_who("a"), false, false, &[]);
        assert_eq!(call.sends(USER), [Media::Audio, Media::Canvas]);
        assert_eq!(call.receives("a").len(), 2);
        call.canvas("a", false);
        assert_eq!(call.sends(USER), [Media::Audio]);
        assert_eq!(call.receives("a"), [(USER.into(), Media::Audio)]);
    }

    #[test]
    fn an_agent_asking_for_canvases_before_the_page_sends_any_is_offered_once_it_does() {
        let mut call = Call::new();
        call.canvas("a", true);
        call.join(agent_who("a"), false, false, &[]);
        assert!(call.connections.contains_key("a"));
        assert!(call.offers_to("a").is_empty(), "nothing to offer yet");
        call.join(user_on("t1"), false, false, &[1]);
        assert_eq!(call.offers_to("a").len(), 1);
        assert_eq!(call.receives("a"), [(USER.into(), Media::Canvas)]);
    }

    #[test]
    fn an_offer_says_whose_media_each_section_carries() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.canvas("a", true);
        call.join(user_on("t1"), true, false, &[9]);
        call.join(agent_who("a"), true, false, &[]);
        let offer = call
            .offers_to("a")
            .last()
            .cloned()
            .cloned()
            .expect("offered");
        let seen: Vec<_> = offer
            .iter()
            .map(|s| {
                (
                    s.send,
                    s.media,
                    s.from.clone().map(|p| p.id),
                    s.canvas,
                    s.tab.clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (true, Media::Audio, None, None, None),
                (false, Media::Audio, Some(USER.into()), None, None),
                (
                    false,
                    Media::Canvas,
                    Some(USER.into()),
                    Some(9),
                    Some("t1".into())
                ),
            ]
        );
        let offer = call
            .offers_to(USER)
            .last()
            .cloned()
            .cloned()
            .expect("offered");
        assert_eq!(offer[1].canvas, Some(9));
        assert!(offer[1].send, "the page sends its canvas");
        assert_eq!(
            offer[2].from.as_ref().map(|p| p.name.as_str()),
            Some("Agent a")
        );
    }

    #[test]
    fn a_connection_coming_up_asks_for_key_frames_of_what_it_receives() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.join(user_on("t1"), true, true, &[]);
        call.join(agent_who("a"), false, false, &[]);
        call.connected("a");
        let mut sent: Vec<u64> = call.plan.sending(USER).iter().map(|(_, k)| *k).collect();
        sent.sort_unstable();
        call.keyframes.sort_unstable();
        assert_eq!(call.keyframes, sent);
        assert!(call.connected(USER).is_empty(), "it receives nothing");
    }

    #[test]
    fn a_connection_that_cannot_open_tells_the_participant_why() {
        let mut call = Call::with_grants(&[call_grant("a")]);
        call.open_fails = true;
        call.join(user_on("t1"), true, true, &[]);
        assert_eq!(call.told(USER), ["no port"]);
        assert!(call.connections.is_empty() && call.tracks.is_empty());
        call.open_fails = false;
        call.everyone_joins(&["a"]);
        assert_eq!(call.receives("a"), av(USER));
    }

    #[test]
    fn ending_the_call_closes_everyone_and_stops_the_recording() {
        let mut call = Call::with_grants(&[call_grant("a"), record("a")]);
        call.everyone_joins(&["a"]);
        call.end();
        assert_eq!(call.told(USER), ["call_ended"]);
        assert_eq!(call.told("a"), ["call_ended"]);
        assert!(call.connections.is_empty());
        assert_eq!(call.records.last(), Some(&("stopped", Some("a".into()))));
    }

    #[test]
    fn every_grant_ending_at_once_stops_the_recording_in_the_name_of_who_started_it() {
        let mut call = Call::with_grants(&[call_grant("a"), record("a")]);
        call.everyone_joins(&["a"]);
        call.grants(&[]);
        assert_eq!(call.records.last(), Some(&("stopped", Some("a".into()))));
    }
}
