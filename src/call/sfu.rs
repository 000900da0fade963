//! The call's task: one peer connection per participant, RTP forwarded between them as the
//! grants allow, renegotiated by the server (it always offers; participants only answer, so
//! offers never cross).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tracing::{debug, warn};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpTransceiver};

use super::forward::{Leg, Source};
use super::peer::{self, PeerEvent, PeerEventKind};
use super::recorder::{self, Recorder};
use super::{Command, Context, Shared, USER, Who};
use crate::protocol::{
    AgentAction, AgentRecord, AgentRef, CallMessage, CallOffer, Grant, GrantKind, IceCandidate,
    Media, Participant, RecordingState, ServerMessage, Slot,
};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;

/// A track someone sends into the call.
struct Published {
    owner: Participant,
    /// The tab it comes from, for the page's tracks.
    tab: Option<String>,
    media: Media,
    canvas: Option<u32>,
    source: Source,
}

enum Direction {
    /// The participant sends on it; `key` names the published track while it is in use.
    Up {
        key: Option<u64>,
        canvas: Option<u32>,
    },
    /// The server sends another participant's track on it.
    Down { leg: Leg, carries: Option<u64> },
}

struct SlotState {
    transceiver: Arc<dyn RtpTransceiver>,
    media: Media,
    direction: Direction,
}

struct Peer {
    who: Who,
    peer: u64,
    pc: Arc<dyn PeerConnection>,
    /// Set once ICE and DTLS are up; legs write nothing before.
    connected: Arc<AtomicBool>,
    slots: Vec<SlotState>,
    awaiting_answer: bool,
    /// Something changed while an offer was out: offer again once it is answered.
    again: bool,
    /// Candidates that came before the participant's first answer.
    queued: Vec<IceCandidate>,
}

struct Sfu {
    context: Context,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<PeerEvent>,
    peers: BTreeMap<String, Peer>,
    published: BTreeMap<u64, Published>,
    next_key: u64,
    next_peer: u64,
    /// Agents holding a `call` grant.
    in_call: BTreeMap<String, AgentRef>,
    record_grant: Option<AgentRef>,
    /// Agents that asked for the page's canvases.
    canvas_agents: BTreeMap<String, AgentRef>,
    recorder: Option<Recorder>,
}

pub async fn run(
    context: Context,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (events, mut peer_events) = mpsc::unbounded_channel();
    let mut sfu = Sfu {
        context,
        shared,
        events,
        peers: BTreeMap::new(),
        published: BTreeMap::new(),
        next_key: 0,
        next_peer: 0,
        in_call: BTreeMap::new(),
        record_grant: None,
        canvas_agents: BTreeMap::new(),
        recorder: None,
    };
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => sfu.on_command(command).await,
                None => break,
            },
            Some(event) = peer_events.recv() => sfu.on_peer_event(event).await,
        }
    }
    sfu.end().await;
}

impl Sfu {
    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Join {
                who,
                audio,
                video,
                canvases,
            } => self.join(who, audio, video, canvases).await,
            Command::Answer { participant, sdp } => self.answer(&participant, sdp).await,
            Command::Candidate {
                participant,
                candidate,
            } => self.candidate(&participant, candidate).await,
            Command::Canvas { agent, on, .. } => {
                if on {
                    self.canvas_agents.insert(agent.id.clone(), agent);
                } else {
                    self.canvas_agents.remove(&agent.id);
                }
                self.settle().await;
            }
            Command::Grants(grants) => self.grants(grants).await,
            Command::TabClosed { tab } => {
                let on_tab = self
                    .peers
                    .get(USER)
                    .is_some_and(|p| matches!(&p.who, Who::User { tab: t, .. } if *t == tab));
                if on_tab {
                    self.close(USER, None).await;
                    self.settle().await;
                }
            }
            Command::AgentLeft { agent_id } => {
                self.canvas_agents.remove(&agent_id);
                self.close(&agent_id, None).await;
                self.settle().await;
            }
        }
    }

    async fn on_peer_event(&mut self, event: PeerEvent) {
        let Some(peer) = self
            .peers
            .get(&event.participant)
            .filter(|p| p.peer == event.peer)
        else {
            return;
        };
        match event.kind {
            PeerEventKind::Candidate(candidate) => {
                let who = peer.who.clone();
                self.context
                    .send(&who, CallMessage::CallCandidate { candidate });
            }
            PeerEventKind::Track(track) => self.attach(&event.participant, track).await,
            PeerEventKind::Connected => {
                peer.connected.store(true, Ordering::Relaxed);
                // Key frames asked for while the connection was still coming up were lost.
                for slot in &peer.slots {
                    if let Direction::Down {
                        carries: Some(key), ..
                    } = slot.direction
                        && let Some(track) = self.published.get(&key)
                    {
                        track.source.keyframe.notify_one();
                    }
                }
            }
            PeerEventKind::Down => {
                debug!(session = %self.context.session, participant = event.participant, "call connection lost");
                self.close(&event.participant, Some("connection_lost"))
                    .await;
                self.settle().await;
            }
        }
    }

    /// Connects a participant's arriving track to the slot it came on.
    async fn attach(&mut self, id: &str, track: Arc<dyn TrackRemote>) {
        let Some(peer) = self.peers.get(id) else {
            return;
        };
        for slot in &peer.slots {
            let Direction::Up { key: Some(key), .. } = slot.direction else {
                continue;
            };
            let Ok(Some(receiver)) = slot.transceiver.receiver().await else {
                continue;
            };
            if std::ptr::addr_eq(Arc::as_ptr(receiver.track()), Arc::as_ptr(&track))
                && let Some(published) = self.published.get_mut(&key)
            {
                debug!(session = %self.context.session, participant = id, media = ?published.media, "track arrived");
                published.source.attach(track);
                return;
            }
        }
        debug!(session = %self.context.session, participant = id, "a track on no slot in use: ignored");
    }

    /// Whether `id` is in the call: an agent with a `call` grant, or the user while anyone is.
    fn in_call(&self, id: &str) -> bool {
        if id == USER {
            !self.in_call.is_empty()
        } else {
            self.in_call.contains_key(id)
        }
    }

    /// The grants decide who hears and sees whom; canvases go to the agents that asked.
    fn may_receive(&self, id: &str, track: &Published) -> bool {
        if track.owner.id == id {
            return false;
        }
        match track.media {
            Media::Audio | Media::Video => self.in_call(id) && self.in_call(&track.owner.id),
            Media::Canvas => self.canvas_agents.contains_key(id),
        }
    }

    async fn join(&mut self, who: Who, audio: bool, video: bool, canvases: Vec<u32>) {
        let id = who.id().to_string();
        debug!(session = %self.context.session, participant = id, audio, video, ?canvases, "call_join");
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
            warn!(session = %self.context.session, participant = id, "call_join without a call grant or a canvas request: refused");
            self.context.send(
                &who,
                CallMessage::CallClosed {
                    reason: "no_grant".into(),
                },
            );
            return;
        }
        if self.peers.get(&id).is_some_and(|p| p.who != who) {
            self.close(&id, Some("replaced")).await;
        }
        if !self.peers.contains_key(&id) && !self.open(who).await {
            return;
        }
        let (audio, video) = if in_call {
            (audio, video)
        } else {
            (false, false)
        };
        self.want_up(&id, Media::Audio, None, audio).await;
        self.want_up(&id, Media::Video, None, video).await;
        let current: Vec<u32> = self.peers[&id]
            .slots
            .iter()
            .filter_map(|s| match s.direction {
                Direction::Up {
                    key: Some(_),
                    canvas: Some(c),
                } => Some(c),
                _ => None,
            })
            .collect();
        for canvas in current.iter().filter(|c| !canvases.contains(c)) {
            self.want_up(&id, Media::Canvas, Some(*canvas), false).await;
        }
        for canvas in canvases.iter().filter(|c| !current.contains(c)) {
            self.want_up(&id, Media::Canvas, Some(*canvas), true).await;
        }
        self.sync_all(Some(&id)).await;
    }

    async fn open(&mut self, who: Who) -> bool {
        self.next_peer += 1;
        let id = who.id().to_string();
        let services = self.context.services.clone();
        match peer::open(
            &services.config,
            &services.ports,
            &id,
            self.next_peer,
            self.events.clone(),
        )
        .await
        {
            Ok(pc) => {
                self.peers.insert(
                    id,
                    Peer {
                        who,
                        peer: self.next_peer,
                        pc,
                        connected: Arc::default(),
                        slots: Vec::new(),
                        awaiting_answer: false,
                        again: false,
                        queued: Vec::new(),
                    },
                );
                true
            }
            Err(e) => {
                warn!(session = %self.context.session, participant = id, error = %e, "could not open a call connection");
                self.context.send(
                    &who,
                    CallMessage::CallClosed {
                        reason: e.to_string(),
                    },
                );
                false
            }
        }
    }

    /// Makes `id` send (or stop sending) one kind of media. A slot that stops is left inactive,
    /// never reused: media sections are only added.
    async fn want_up(&mut self, id: &str, media: Media, canvas: Option<u32>, want: bool) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        let existing = peer.slots.iter_mut().find(|s| {
            s.media == media
                && matches!(s.direction, Direction::Up { key: Some(_), canvas: c } if c == canvas)
        });
        match (existing, want) {
            (Some(_), true) | (None, false) => {}
            (Some(slot), false) => {
                if let Direction::Up { key, .. } = &mut slot.direction
                    && let Some(key) = key.take()
                {
                    self.published.remove(&key);
                    if let Some(recorder) = self.recorder.as_mut() {
                        recorder.remove(key);
                    }
                }
                let _ = slot
                    .transceiver
                    .set_direction(RTCRtpTransceiverDirection::Inactive)
                    .await;
            }
            (None, true) => {
                let kind = match media {
                    Media::Audio => RtpCodecKind::Audio,
                    Media::Video | Media::Canvas => RtpCodecKind::Video,
                };
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    ..Default::default()
                };
                let transceiver = match peer.pc.add_transceiver_from_kind(kind, Some(init)).await {
                    Ok(t) => t,
                    Err(e) => {
                        warn!(session = %self.context.session, participant = id, error = %e, "could not add a media section");
                        return;
                    }
                };
                let source = Source::new(media);
                self.next_key += 1;
                let key = self.next_key;
                let owner = peer.who.participant();
                let tab = match &peer.who {
                    Who::User { tab, .. } => Some(tab.clone()),
                    Who::Agent { .. } => None,
                };
                peer.slots.push(SlotState {
                    transceiver,
                    media,
                    direction: Direction::Up {
                        key: Some(key),
                        canvas,
                    },
                });
                self.published.insert(
                    key,
                    Published {
                        owner,
                        tab,
                        media,
                        canvas,
                        source,
                    },
                );
                self.record_track(key);
            }
        }
    }

    /// Brings every connection in line with what each may receive, offering where that changed
    /// (and to `force`, which joined or changed what it sends).
    async fn sync_all(&mut self, force: Option<&str>) {
        let ids: Vec<String> = self.peers.keys().cloned().collect();
        for id in ids {
            let changed = self.sync(&id).await;
            if changed || force == Some(id.as_str()) {
                self.offer(&id).await;
            }
        }
        self.shared
            .running
            .store(!self.in_call.is_empty(), Ordering::Relaxed);
    }

    async fn sync(&mut self, id: &str) -> bool {
        let wanted: Vec<u64> = self
            .published
            .iter()
            .filter(|(_, track)| self.may_receive(id, track))
            .map(|(key, _)| *key)
            .collect();
        let Some(peer) = self.peers.get_mut(id) else {
            return false;
        };
        let mut changed = false;
        for slot in &mut peer.slots {
            if let Direction::Down { leg, carries } = &mut slot.direction
                && carries.is_some_and(|k| !wanted.contains(&k))
            {
                leg.carry(None);
                *carries = None;
                let _ = slot
                    .transceiver
                    .set_direction(RTCRtpTransceiverDirection::Inactive)
                    .await;
                changed = true;
            }
        }
        for key in wanted {
            let carried = peer.slots.iter().any(
                |s| matches!(s.direction, Direction::Down { carries: Some(k), .. } if k == key),
            );
            if carried {
                continue;
            }
            let track = &self.published[&key];
            let audio = track.media == Media::Audio;
            let free = peer.slots.iter_mut().find(|s| {
                (s.media == Media::Audio) == audio
                    && matches!(s.direction, Direction::Down { carries: None, .. })
            });
            if let Some(slot) = free {
                if let Direction::Down { leg, carries } = &mut slot.direction {
                    let _ = slot
                        .transceiver
                        .set_direction(RTCRtpTransceiverDirection::Sendonly)
                        .await;
                    leg.carry(Some(&track.source));
                    *carries = Some(key);
                    slot.media = track.media;
                }
            } else {
                let mut leg = Leg::new(track.media, &track.owner.id, peer.connected.clone());
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    ..Default::default()
                };
                let transceiver = match peer
                    .pc
                    .add_transceiver_from_track(leg.track(), Some(init))
                    .await
                {
                    Ok(t) => t,
                    Err(e) => {
                        warn!(session = %self.context.session, participant = id, error = %e, "could not add a media section");
                        continue;
                    }
                };
                leg.carry(Some(&track.source));
                peer.slots.push(SlotState {
                    transceiver,
                    media: track.media,
                    direction: Direction::Down {
                        leg,
                        carries: Some(key),
                    },
                });
            }
            changed = true;
        }
        changed
    }

    async fn offer(&mut self, id: &str) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        if peer.awaiting_answer {
            peer.again = true;
            return;
        }
        // A connection with nothing to carry yet (an agent asking for canvases before the page
        // sent any) waits: an offer without media sections cannot be answered usefully.
        if peer.slots.is_empty() {
            return;
        }
        let result = async {
            let offer = peer.pc.create_offer(None).await?;
            peer.pc.set_local_description(offer).await?;
            Ok::<_, webrtc::error::Error>(peer.pc.local_description().await)
        }
        .await;
        let sdp = match result {
            Ok(Some(description)) => description.sdp,
            Ok(None) | Err(_) => {
                warn!(session = %self.context.session, participant = id, "could not make an offer; closing the call connection");
                self.close(id, Some("negotiation_failed")).await;
                return;
            }
        };
        let mut slots = Vec::new();
        for slot in &peer.slots {
            let Ok(Some(mid)) = slot.transceiver.mid().await else {
                continue;
            };
            slots.push(match &slot.direction {
                Direction::Up { key, canvas } => Slot {
                    mid,
                    send: key.is_some(),
                    media: slot.media,
                    from: None,
                    canvas: *canvas,
                    tab: None,
                },
                Direction::Down { carries, .. } => {
                    let track = carries.and_then(|k| self.published.get(&k));
                    Slot {
                        mid,
                        send: false,
                        media: slot.media,
                        from: track.map(|t| t.owner.clone()),
                        canvas: track.and_then(|t| t.canvas),
                        tab: track
                            .filter(|t| t.canvas.is_some())
                            .and_then(|t| t.tab.clone()),
                    }
                }
            });
        }
        peer.awaiting_answer = true;
        debug!(session = %self.context.session, participant = id, slots = slots.len(), "offering");
        let offer = CallOffer {
            sdp,
            ice_servers: self.context.services.config.ice_servers.clone(),
            slots,
        };
        let who = peer.who.clone();
        self.context.send(&who, CallMessage::CallOffer(offer));
    }

    async fn answer(&mut self, id: &str, sdp: String) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        if !peer.awaiting_answer {
            debug!(session = %self.context.session, participant = id, "an answer to no offer: ignored");
            return;
        }
        let applied = match RTCSessionDescription::answer(sdp) {
            Ok(answer) => peer.pc.set_remote_description(answer).await.is_ok(),
            Err(_) => false,
        };
        if !applied {
            warn!(session = %self.context.session, participant = id, "the participant's answer does not apply; closing its call connection");
            self.close(id, Some("bad_answer")).await;
            self.settle().await;
            return;
        }
        peer.awaiting_answer = false;
        debug!(session = %self.context.session, participant = id, "answer applied");
        for candidate in std::mem::take(&mut peer.queued) {
            let _ = peer.pc.add_ice_candidate(init(candidate)).await;
        }
        if std::mem::take(&mut peer.again) {
            self.offer(id).await;
        }
    }

    async fn candidate(&mut self, id: &str, candidate: IceCandidate) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        if peer.pc.remote_description().await.is_some() {
            if let Err(e) = peer.pc.add_ice_candidate(init(candidate)).await {
                debug!(session = %self.context.session, participant = id, error = %e, "ICE candidate not taken");
            }
        } else {
            peer.queued.push(candidate);
        }
    }

    async fn grants(&mut self, grants: Vec<Grant>) {
        self.in_call = grants
            .iter()
            .filter(|g| g.kind == GrantKind::Call)
            .map(|g| (g.agent.id.clone(), g.agent.clone()))
            .collect();
        self.record_grant = grants
            .iter()
            .find(|g| g.kind == GrantKind::Record)
            .map(|g| g.agent.clone());
        self.settle().await;
    }

    /// After grants or canvas requests changed: drops whoever has nothing left to do in the call,
    /// stops what may no longer be sent, renegotiates, and starts or stops the recording.
    async fn settle(&mut self) {
        let canvas = !self.canvas_agents.is_empty();
        if self.shared.canvas.swap(canvas, Ordering::Relaxed) != canvas {
            let _ = self
                .context
                .trackers
                .send(Arc::new(ServerMessage::Canvas { on: canvas }));
        }
        let leaving: Vec<String> = self
            .peers
            .keys()
            .filter(|id| {
                if id.as_str() == USER {
                    self.in_call.is_empty() && !canvas
                } else {
                    !self.in_call.contains_key(*id) && !self.canvas_agents.contains_key(*id)
                }
            })
            .cloned()
            .collect();
        for id in leaving {
            self.close(&id, Some("call_ended")).await;
        }
        let ids: Vec<String> = self.peers.keys().cloned().collect();
        for id in ids {
            if !self.in_call(&id) {
                self.want_up(&id, Media::Audio, None, false).await;
                self.want_up(&id, Media::Video, None, false).await;
            }
            if id == USER && !canvas {
                let canvases: Vec<Option<u32>> = self.peers[USER]
                    .slots
                    .iter()
                    .filter(|s| s.media == Media::Canvas)
                    .filter_map(|s| match s.direction {
                        Direction::Up {
                            key: Some(_),
                            canvas,
                        } => Some(canvas),
                        _ => None,
                    })
                    .collect();
                for c in canvases {
                    self.want_up(USER, Media::Canvas, c, false).await;
                }
            }
        }
        self.sync_all(None).await;
        self.settle_recording().await;
    }

    async fn settle_recording(&mut self) {
        let holder = self
            .record_grant
            .clone()
            .filter(|_| !self.in_call.is_empty());
        match (holder, self.recorder.is_some()) {
            (Some(holder), false) => {
                let recorder = Recorder::start(self.context.store.clone(), self.context.session);
                self.write_record(&holder, &recorder.id, RecordingState::Started);
                self.recorder = Some(recorder);
                let keys: Vec<u64> = self.published.keys().copied().collect();
                for key in keys {
                    self.record_track(key);
                }
            }
            (None, true) => {
                if let Some(recorder) = self.recorder.take() {
                    let id = recorder.id.clone();
                    recorder.stop().await;
                    let holder = self
                        .record_grant
                        .clone()
                        .or_else(|| self.in_call.values().next().cloned());
                    if let Some(holder) = holder {
                        self.write_record(&holder, &id, RecordingState::Stopped);
                    }
                }
            }
            _ => {}
        }
    }

    /// Records a track if a recording runs and the track is part of the call.
    fn record_track(&mut self, key: u64) {
        let Some(track) = self.published.get(&key) else {
            return;
        };
        let recorded = track.media == Media::Canvas || self.in_call(&track.owner.id);
        if let (Some(recorder), true) = (self.recorder.as_mut(), recorded) {
            recorder.add(recorder::Track {
                key,
                participant: track.owner.clone(),
                media: track.media,
                canvas: track.canvas,
                source: &track.source,
            });
        }
    }

    fn write_record(&self, agent: &AgentRef, recording: &str, state: RecordingState) {
        self.context.record(&[AgentRecord {
            agent: agent.clone(),
            action: AgentAction::Recording {
                recording: recording.to_string(),
                state,
            },
        }]);
    }

    /// Closes a participant's connection; `reason` is told to it (none when it is gone anyway).
    async fn close(&mut self, id: &str, reason: Option<&str>) {
        let Some(peer) = self.peers.remove(id) else {
            return;
        };
        for slot in &peer.slots {
            if let Direction::Up { key: Some(key), .. } = slot.direction {
                self.published.remove(&key);
                if let Some(recorder) = self.recorder.as_mut() {
                    recorder.remove(key);
                }
            }
        }
        if let Some(reason) = reason {
            self.context.send(
                &peer.who,
                CallMessage::CallClosed {
                    reason: reason.to_string(),
                },
            );
        }
        let pc = peer.pc.clone();
        drop(peer);
        tokio::spawn(async move {
            let _ = pc.close().await;
        });
    }

    async fn end(&mut self) {
        let ids: Vec<String> = self.peers.keys().cloned().collect();
        for id in ids {
            self.close(&id, Some("call_ended")).await;
        }
        self.record_grant = None;
        self.settle_recording().await;
    }
}

fn init(candidate: IceCandidate) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: candidate.candidate,
        sdp_mid: candidate.sdp_mid,
        sdp_mline_index: candidate.sdp_mline_index,
        ..Default::default()
    }
}
