//! The call's task: one peer connection per participant, RTP forwarded between them. Every
//! decision (who sends, receives and records what; when to offer; whom to close and why) is the
//! [`Plan`]'s; this task feeds it commands and connection events and carries out its effects
//! with WebRTC. The server always offers and participants only answer, so offers never cross.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;
use tracing::{debug, warn};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpTransceiver};

use super::forward::{Leg, Source};
use super::peer::{self, PeerEvent, PeerEventKind};
use super::plan::{self, Effect, Plan};
use super::recorder::{self, Recorder};
use super::{Command, Context, Shared, Who};
use crate::protocol::{
    AgentAction, AgentRecord, AgentRef, CallMessage, CallOffer, IceCandidate, Media,
    RecordingState, ServerMessage, Slot,
};

/// One media section of a connection, at the index the plan names it by.
struct Section {
    /// None when WebRTC would not add it; the plan is told and closes the connection.
    transceiver: Option<Arc<dyn RtpTransceiver>>,
    /// For a section the server sends on: the track it writes, whichever source it carries.
    leg: Option<Leg>,
}

/// A participant's peer connection.
struct Connection {
    who: Who,
    /// The plan's number for it, to tell its events from those of an earlier connection.
    peer: u64,
    pc: Arc<dyn PeerConnection>,
    /// Set once ICE and DTLS are up; legs write nothing before.
    connected: Arc<AtomicBool>,
    sections: Vec<Section>,
}

struct Sfu {
    context: Context,
    shared: Arc<Shared>,
    /// Where every connection's events go, back into this task.
    events: mpsc::UnboundedSender<PeerEvent>,
    plan: Plan,
    connections: BTreeMap<String, Connection>,
    /// The tracks participants send, by the plan's key: read once, fanned out to legs and files.
    sources: BTreeMap<u64, Source>,
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
        plan: Plan::default(),
        connections: BTreeMap::new(),
        sources: BTreeMap::new(),
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
    let effects = sfu.plan.end();
    sfu.apply(effects).await;
}

impl Sfu {
    async fn on_command(&mut self, command: Command) {
        let effects = match command {
            Command::Join {
                who,
                audio,
                video,
                canvases,
            } => {
                debug!(session = %self.context.session, participant = who.id(), audio, video, ?canvases, "call_join");
                self.plan.join(who, audio, video, canvases)
            }
            Command::Answer { participant, sdp } => self.plan.answer(&participant, sdp),
            Command::Candidate {
                participant,
                candidate,
            } => self.plan.candidate(&participant, candidate),
            Command::Canvas { agent, on, .. } => self.plan.canvas(agent, on),
            Command::Grants(grants) => self.plan.grants(&grants),
            Command::TabClosed { tab } => self.plan.tab_closed(&tab),
            Command::AgentLeft { agent_id } => self.plan.agent_left(&agent_id),
        };
        self.apply(effects).await;
    }

    async fn on_peer_event(&mut self, event: PeerEvent) {
        let Some(connection) = self
            .connections
            .get(&event.participant)
            .filter(|c| c.peer == event.peer)
        else {
            return;
        };
        let effects = match event.kind {
            PeerEventKind::Candidate(candidate) => {
                self.context
                    .send(&connection.who, CallMessage::CallCandidate { candidate });
                return;
            }
            PeerEventKind::Track(track) => {
                self.attach(&event.participant, track).await;
                return;
            }
            PeerEventKind::Connected => {
                connection.connected.store(true, Ordering::Relaxed);
                self.plan.connected(&event.participant, event.peer)
            }
            PeerEventKind::Down { failed } => {
                if failed {
                    self.context.services.metrics.call_connection_failures.inc();
                }
                debug!(session = %self.context.session, participant = event.participant, "call connection lost");
                self.plan
                    .failed(&event.participant, event.peer, plan::CONNECTION_LOST)
            }
        };
        self.apply(effects).await;
    }

    /// Connects a participant's arriving track to the section it came on.
    async fn attach(&mut self, id: &str, track: Arc<dyn TrackRemote>) {
        let Some(connection) = self.connections.get(id) else {
            return;
        };
        for (slot, key) in self.plan.sending(id) {
            let Some(transceiver) = connection
                .sections
                .get(slot)
                .and_then(|s| s.transceiver.as_ref())
            else {
                continue;
            };
            let Ok(Some(receiver)) = transceiver.receiver().await else {
                continue;
            };
            if std::ptr::addr_eq(Arc::as_ptr(receiver.track()), Arc::as_ptr(&track))
                && let Some(source) = self.sources.get_mut(&key)
            {
                debug!(session = %self.context.session, participant = id, slot, "track arrived");
                // The receiver exists once media arrives, after the answer: what its packets'
                // header extension ids mean.
                if let Ok(parameters) = receiver.get_parameters().await {
                    source.negotiated(parameters.rtp_parameters.header_extensions);
                }
                source.attach(track);
                return;
            }
        }
        debug!(session = %self.context.session, participant = id, "a track on no section in use: ignored");
    }

    /// Carries out the plan's effects in order, with what each outcome makes the plan decide
    /// next.
    async fn apply(&mut self, effects: Vec<Effect>) {
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            queue.extend(self.carry_out(effect).await);
        }
        self.shared
            .running
            .store(self.plan.running(), Ordering::Relaxed);
    }

    /// Carries out one effect; returns what the plan decided on hearing how it went.
    async fn carry_out(&mut self, effect: Effect) -> Vec<Effect> {
        match effect {
            Effect::Send { to, message } => {
                if let CallMessage::CallClosed { reason } = &message {
                    debug!(session = %self.context.session, participant = to.id(), reason, "call_closed");
                }
                self.context.send(&to, message);
            }
            Effect::Open { who, peer } => return self.open(who, peer).await,
            Effect::Close {
                participant,
                tracks,
            } => {
                for key in tracks {
                    self.sources.remove(&key);
                }
                if let Some(connection) = self.connections.remove(&participant) {
                    let pc = connection.pc.clone();
                    drop(connection);
                    tokio::spawn(async move {
                        let _ = pc.close().await;
                    });
                }
            }
            Effect::Receive {
                participant,
                key,
                media,
            } => {
                self.sources.insert(key, Source::new(media));
                return self.add_up(&participant, media).await;
            }
            Effect::StopReceiving {
                participant,
                slot,
                key,
            } => {
                self.sources.remove(&key);
                self.set_direction(&participant, slot, RTCRtpTransceiverDirection::Inactive)
                    .await;
            }
            Effect::ForwardNew {
                participant,
                key,
                media,
                from,
            } => return self.add_down(&participant, key, media, &from).await,
            Effect::Forward {
                participant,
                slot,
                key,
            } => {
                self.set_direction(&participant, slot, RTCRtpTransceiverDirection::Sendonly)
                    .await;
                self.carry(&participant, slot, Some(key));
            }
            Effect::StopForwarding { participant, slot } => {
                self.carry(&participant, slot, None);
                self.set_direction(&participant, slot, RTCRtpTransceiverDirection::Inactive)
                    .await;
            }
            Effect::Offer { participant, slots } => return self.offer(&participant, slots).await,
            Effect::ApplyAnswer { participant, sdp } => {
                return self.apply_answer(&participant, sdp).await;
            }
            Effect::AddCandidate {
                participant,
                candidate,
            } => {
                if let Some(connection) = self.connections.get(&participant)
                    && let Err(e) = connection.pc.add_ice_candidate(init(candidate)).await
                {
                    debug!(session = %self.context.session, participant, error = %e, "ICE candidate not taken");
                }
            }
            Effect::AskKeyframe { key } => {
                if let Some(source) = self.sources.get(&key) {
                    source.keyframe.notify_one();
                }
            }
            Effect::Canvases { on } => {
                self.shared.canvas.store(on, Ordering::Relaxed);
                let _ = self
                    .context
                    .trackers
                    .send(Arc::new(ServerMessage::Canvas { on }));
            }
            Effect::StartRecording { by } => {
                let recorder = Recorder::start(self.context.store.clone(), self.context.session);
                self.context.services.metrics.recordings_active.inc();
                self.write_record(&by, &recorder.id, RecordingState::Started);
                self.recorder = Some(recorder);
            }
            Effect::Record {
                key,
                participant,
                media,
                canvas,
            } => {
                if let (Some(recorder), Some(source)) =
                    (self.recorder.as_mut(), self.sources.get(&key))
                {
                    recorder.add(recorder::Track {
                        key,
                        participant,
                        media,
                        canvas,
                        source,
                    });
                }
            }
            Effect::StopRecordingTrack { key } => {
                if let Some(recorder) = self.recorder.as_mut() {
                    recorder.remove(key);
                }
            }
            Effect::StopRecording { by } => {
                if let Some(recorder) = self.recorder.take() {
                    self.context.services.metrics.recordings_active.dec();
                    let id = recorder.id.clone();
                    recorder.stop().await;
                    self.write_record(&by, &id, RecordingState::Stopped);
                }
            }
        }
        Vec::new()
    }

    async fn open(&mut self, who: Who, peer: u64) -> Vec<Effect> {
        let id = who.id().to_string();
        let services = self.context.services.clone();
        match peer::open(
            &services.config,
            &services.ports,
            &id,
            peer,
            self.events.clone(),
        )
        .await
        {
            Ok(pc) => {
                self.connections.insert(
                    id.clone(),
                    Connection {
                        who,
                        peer,
                        pc,
                        connected: Arc::default(),
                        sections: Vec::new(),
                    },
                );
                self.plan.opened(&id, peer)
            }
            Err(e) => {
                warn!(session = %self.context.session, participant = id, error = %e, "could not open a call connection");
                self.plan.open_failed(&id, peer, &e.to_string())
            }
        }
    }

    /// Appends a section the participant sends on.
    async fn add_up(&mut self, id: &str, media: Media) -> Vec<Effect> {
        let Some(connection) = self.connections.get_mut(id) else {
            return Vec::new();
        };
        let kind = match media {
            Media::Audio => RtpCodecKind::Audio,
            Media::Video | Media::Canvas => RtpCodecKind::Video,
        };
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        };
        let added = connection
            .pc
            .add_transceiver_from_kind(kind, Some(init))
            .await;
        self.push_section(id, added, None)
    }

    /// Appends a section the server sends track `key` on.
    async fn add_down(&mut self, id: &str, key: u64, media: Media, from: &str) -> Vec<Effect> {
        let Some(connection) = self.connections.get_mut(id) else {
            return Vec::new();
        };
        let forwarded = self.context.services.metrics.call_bytes_forwarded.clone();
        let mut leg = Leg::new(media, from, connection.connected.clone(), forwarded);
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            ..Default::default()
        };
        let added = connection
            .pc
            .add_transceiver_from_track(leg.track(), Some(init))
            .await;
        if added.is_ok() {
            leg.carry(self.sources.get(&key));
        }
        self.push_section(id, added, Some(leg))
    }

    /// Keeps the connection's sections at the plan's indexes, even for one WebRTC would not add:
    /// the connection is then closed, as it could not carry what the plan decided.
    fn push_section(
        &mut self,
        id: &str,
        added: Result<Arc<dyn RtpTransceiver>, webrtc::error::Error>,
        leg: Option<Leg>,
    ) -> Vec<Effect> {
        let Some(connection) = self.connections.get_mut(id) else {
            return Vec::new();
        };
        match added {
            Ok(transceiver) => {
                connection.sections.push(Section {
                    transceiver: Some(transceiver),
                    leg,
                });
                Vec::new()
            }
            Err(e) => {
                warn!(session = %self.context.session, participant = id, error = %e, "could not add a media section; closing the call connection");
                connection.sections.push(Section {
                    transceiver: None,
                    leg: None,
                });
                let peer = connection.peer;
                self.plan.failed(id, peer, plan::NEGOTIATION_FAILED)
            }
        }
    }

    async fn set_direction(&self, id: &str, slot: usize, direction: RTCRtpTransceiverDirection) {
        if let Some(transceiver) = self
            .connections
            .get(id)
            .and_then(|c| c.sections.get(slot))
            .and_then(|s| s.transceiver.as_ref())
        {
            let _ = transceiver.set_direction(direction).await;
        }
    }

    /// Makes the leg of `id`'s section `slot` carry track `key` (or nothing).
    fn carry(&mut self, id: &str, slot: usize, key: Option<u64>) {
        if let Some(leg) = self
            .connections
            .get_mut(id)
            .and_then(|c| c.sections.get_mut(slot))
            .and_then(|s| s.leg.as_mut())
        {
            leg.carry(key.and_then(|k| self.sources.get(&k)));
        }
    }

    async fn offer(&mut self, id: &str, described: Vec<Slot>) -> Vec<Effect> {
        let Some(connection) = self.connections.get(id) else {
            return Vec::new();
        };
        let pc = &connection.pc;
        let result = async {
            let offer = pc.create_offer(None).await?;
            pc.set_local_description(offer).await?;
            Ok::<_, webrtc::error::Error>(pc.local_description().await)
        }
        .await;
        let sdp = match result {
            Ok(Some(description)) => description.sdp,
            Ok(None) | Err(_) => {
                warn!(session = %self.context.session, participant = id, "could not make an offer; closing the call connection");
                let peer = connection.peer;
                return self.plan.failed(id, peer, plan::NEGOTIATION_FAILED);
            }
        };
        let mut slots = Vec::new();
        for (section, slot) in connection.sections.iter().zip(described) {
            let Some(transceiver) = &section.transceiver else {
                continue;
            };
            if let Ok(Some(mid)) = transceiver.mid().await {
                slots.push(Slot { mid, ..slot });
            }
        }
        debug!(session = %self.context.session, participant = id, slots = slots.len(), "offering");
        let offer = CallOffer {
            sdp,
            ice_servers: self.context.services.config.ice_servers.clone(),
            slots,
        };
        self.context
            .send(&connection.who, CallMessage::CallOffer(offer));
        Vec::new()
    }

    async fn apply_answer(&mut self, id: &str, sdp: String) -> Vec<Effect> {
        let Some(connection) = self.connections.get(id) else {
            return Vec::new();
        };
        let applied = match RTCSessionDescription::answer(sdp) {
            Ok(answer) => connection.pc.set_remote_description(answer).await.is_ok(),
            Err(_) => false,
        };
        if !applied {
            warn!(session = %self.context.session, participant = id, "the participant's answer does not apply; closing its call connection");
            let peer = connection.peer;
            return self.plan.failed(id, peer, plan::BAD_ANSWER);
        }
        debug!(session = %self.context.session, participant = id, "answer applied");
        self.learn_extensions(id).await;
        self.plan.answered(id)
    }

    /// Tells the legs `id` receives on which header extension ids its connection negotiated, so
    /// forwarded extensions are renumbered from the sender's connection's ids to these.
    async fn learn_extensions(&self, id: &str) {
        let Some(connection) = self.connections.get(id) else {
            return;
        };
        for section in &connection.sections {
            if let (Some(leg), Some(transceiver)) = (&section.leg, &section.transceiver)
                && let Ok(Some(sender)) = transceiver.sender().await
                && let Ok(parameters) = sender.get_parameters().await
            {
                leg.negotiated(parameters.rtp_parameters.header_extensions);
            }
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
}

fn init(candidate: IceCandidate) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: candidate.candidate,
        sdp_mid: candidate.sdp_mid,
        sdp_mline_index: candidate.sdp_mline_index,
        ..Default::default()
    }
}
