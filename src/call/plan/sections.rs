//! Media sections: which participant sends or receives which track on which section of its
//! connection, and the offers that tell it so. Sections are only ever appended, so `mid`s stay
//! stable and the executor's transceivers keep the same order.

use std::collections::BTreeMap;

use super::{Effect, Plan, Section, Track};
use crate::call::Who;
use crate::protocol::{Media, Slot};

impl Plan {
    /// Makes `id` send (or stop sending) one kind of media. A section that stops is left
    /// inactive, never reused: media sections are only added.
    pub(super) fn want_up(&mut self, id: &str, media: Media, canvas: Option<u32>, want: bool) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        let existing = peer.sent().find(|&(slot, _, c)| {
            c == canvas && matches!(peer.sections[slot], Section::Up { media: m, .. } if m == media)
        });
        match (existing, want) {
            (Some((slot, key, _)), false) => {
                peer.sections[slot] = Section::Up {
                    media,
                    key: None,
                    canvas,
                };
                self.out.push(Effect::StopReceiving {
                    participant: id.to_string(),
                    slot,
                    key,
                });
                self.forget(key);
            }
            (None, true) => {
                self.next_key += 1;
                let key = self.next_key;
                let up = Section::Up {
                    media,
                    key: Some(key),
                    canvas,
                };
                peer.sections.push(up);
                let tab = match &peer.who {
                    Who::User { tab, .. } => Some(tab.clone()),
                    Who::Agent { .. } => None,
                };
                let owner = peer.who.participant();
                let track = Track {
                    owner,
                    tab,
                    media,
                    canvas,
                };
                self.tracks.insert(key, track);
                self.out.push(Effect::Receive {
                    participant: id.to_string(),
                    key,
                    media,
                });
                self.record_track(key);
            }
            (Some(_), true) | (None, false) => {}
        }
    }

    /// A track is gone: it is no longer recorded.
    pub(super) fn forget(&mut self, key: u64) {
        self.tracks.remove(&key);
        if let Some(recorded) = self.recording.as_mut()
            && recorded.remove(&key)
        {
            self.out.push(Effect::StopRecordingTrack { key });
        }
    }

    /// Brings every connection in line with what each may receive, offering where that changed
    /// (and to `force`, which joined or changed what it sends).
    pub(super) fn sync_all(&mut self, force: Option<&str>) {
        for id in self.ids() {
            if self.sync(&id) || force == Some(id.as_str()) {
                self.offer(&id);
            }
        }
    }

    /// Stops what `id` may no longer receive and forwards what it now may, reusing a free section
    /// of the same kind before adding one. Returns whether anything changed.
    pub(super) fn sync(&mut self, id: &str) -> bool {
        let wanted: Vec<u64> = self
            .tracks
            .iter()
            .filter(|(_, track)| self.may_receive(id, track))
            .map(|(key, _)| *key)
            .collect();
        let Some(peer) = self.peers.get_mut(id) else {
            return false;
        };
        let mut changed = false;
        for (slot, section) in peer.sections.iter_mut().enumerate() {
            if let Section::Down { carries, .. } = section
                && carries.is_some_and(|k| !wanted.contains(&k))
            {
                *carries = None;
                let participant = id.to_string();
                self.out.push(Effect::StopForwarding { participant, slot });
                changed = true;
            }
        }
        for key in wanted {
            let carried = peer
                .sections
                .iter()
                .any(|s| matches!(*s, Section::Down { carries: Some(k), .. } if k == key));
            if carried {
                continue;
            }
            changed = true;
            let track = &self.tracks[&key];
            let audio = track.media == Media::Audio;
            let free = peer.sections.iter().position(|s| {
                matches!(*s, Section::Down { media, carries: None } if (media == Media::Audio) == audio)
            });
            let section = Section::Down {
                media: track.media,
                carries: Some(key),
            };
            let participant = id.to_string();
            if let Some(slot) = free {
                peer.sections[slot] = section;
                self.out.push(Effect::Forward {
                    participant,
                    slot,
                    key,
                });
            } else {
                peer.sections.push(section);
                self.out.push(Effect::ForwardNew {
                    participant,
                    key,
                    media: track.media,
                    from: track.owner.id.clone(),
                });
            }
        }
        changed
    }

    pub(super) fn offer(&mut self, id: &str) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        if peer.awaiting_answer {
            peer.again = true;
            return;
        }
        // A connection with nothing to carry yet (an agent asking for canvases before the page
        // sent any) waits: an offer without media sections cannot be answered usefully.
        if peer.sections.is_empty() {
            return;
        }
        peer.awaiting_answer = true;
        let slots = peer
            .sections
            .iter()
            .map(|s| describe(*s, &self.tracks))
            .collect();
        self.out.push(Effect::Offer {
            participant: id.to_string(),
            slots,
        });
    }
}

/// A section as the participant's offer describes it.
fn describe(section: Section, tracks: &BTreeMap<u64, Track>) -> Slot {
    let (send, media, canvas, track) = match section {
        Section::Up { media, key, canvas } => (key.is_some(), media, canvas, None),
        Section::Down { media, carries } => {
            let track = carries.and_then(|k| tracks.get(&k));
            (false, media, track.and_then(|t| t.canvas), track)
        }
    };
    Slot {
        mid: String::new(),
        send,
        media,
        from: track.map(|t| t.owner.clone()),
        canvas,
        tab: track
            .filter(|t| t.canvas.is_some())
            .and_then(|t| t.tab.clone()),
    }
}
