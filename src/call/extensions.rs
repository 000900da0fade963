//! RTP header extensions the call forwards. Most describe the hop a packet travels (transport-wide
//! sequence numbers, `mid`), and each leg's own WebRTC stack writes those for its connection; the
//! color-space extension describes the picture itself: without it the receiver's decoder turns
//! the VP8 frames back into RGB with another matrix than the sender's encoder used, and colours
//! shift (amber `#fde68a` arrives as `#fffe95`; docs/fidelity.md, "Canvases"). Its id is
//! negotiated per connection, so it is renumbered for each leg, and dropped on a leg whose
//! connection did not negotiate it.

use rtc::rtp::header::{EXTENSION_PROFILE_ONE_BYTE, EXTENSION_PROFILE_TWO_BYTE, Header};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpHeaderExtensionCapability, RtpCodecKind};

pub use rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionParameters as Negotiated;

/// WebRTC's color-space extension: the colour primaries, transfer function, matrix and range
/// of the frame a packet belongs to.
pub const COLOR_SPACE: &str = "http://www.webrtc.org/experiments/rtp-hdrext/color-space";

/// The extensions forwarded from a participant to the others, by the kind of track they may
/// come on; every other extension is dropped.
pub const FORWARDED: &[(&str, RtpCodecKind)] = &[(COLOR_SPACE, RtpCodecKind::Video)];

/// The forwarded extensions, as the media engine registers them.
pub fn capabilities() -> impl Iterator<Item = (RTCRtpHeaderExtensionCapability, RtpCodecKind)> {
    FORWARDED.iter().map(|&(uri, kind)| {
        let capability = RTCRtpHeaderExtensionCapability {
            uri: uri.to_string(),
        };
        (capability, kind)
    })
}

/// Which incoming extension id becomes which outgoing one, for one source carried on one leg.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionMap(Vec<(u8, u8)>);

impl ExtensionMap {
    /// Maps each forwarded extension that both the source's connection (`incoming`) and the
    /// leg's (`outgoing`) negotiated; the others have no entry, so they are dropped.
    pub fn new(incoming: &[Negotiated], outgoing: &[Negotiated]) -> Self {
        let id = |negotiated: &[Negotiated], uri: &str| {
            negotiated
                .iter()
                .find(|e| e.uri == uri)
                .and_then(|e| u8::try_from(e.id).ok())
                .filter(|&id| id != 0)
        };
        Self(
            FORWARDED
                .iter()
                .filter_map(|&(uri, _)| Some((id(incoming, uri)?, id(outgoing, uri)?)))
                .collect(),
        )
    }

    /// Keeps the packet's forwarded extensions, under the leg's ids, and drops the rest. One-byte
    /// headers are used when every id and size allows them (RFC 8285), two-byte ones otherwise.
    pub fn apply(&self, header: &mut Header) {
        let kept: Vec<_> = if header.extension {
            header
                .extensions
                .iter()
                .filter_map(|e| {
                    let (_, to) = self.0.iter().find(|(from, _)| *from == e.id)?;
                    Some((*to, e.payload.clone()))
                })
                .collect()
        } else {
            Vec::new()
        };
        header.extension = false;
        header.extension_profile = 0;
        header.extensions.clear();
        header.extensions_padding = 0;
        if kept.is_empty() {
            return;
        }
        let one_byte = kept
            .iter()
            .all(|(id, payload)| (1..=14).contains(id) && (1..=16).contains(&payload.len()));
        header.extension = true;
        header.extension_profile = if one_byte {
            EXTENSION_PROFILE_ONE_BYTE
        } else {
            EXTENSION_PROFILE_TWO_BYTE
        };
        for (id, payload) in kept {
            // Cannot fail: the profile fits every id and size, and a payload that arrived in a
            // header extension is at most 255 bytes.
            let _ = header.set_extension(id, payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use rtc::rtp;
    use rtc::shared::marshal::{Marshal, Unmarshal};

    use super::*;

    const TRANSPORT_CC: &str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// A color-space value without HDR metadata (four bytes: primaries, transfer, matrix, range).
    const SDR: [u8; 4] = [1, 1, 1, 0x20];

    fn negotiated(ids: &[(&str, u16)]) -> Vec<Negotiated> {
        ids.iter()
            .map(|&(uri, id)| Negotiated {
                uri: uri.to_string(),
                id,
                encrypted: false,
            })
            .collect()
    }

    /// A packet as a participant's browser sends it: transport-cc at 3, color-space at `id`.
    fn arriving(id: u8, color_space: &[u8]) -> Header {
        let mut header = Header {
            version: 2,
            sequence_number: 7,
            ..Default::default()
        };
        header
            .set_extension(3, Bytes::from_static(&[0, 42]))
            .expect("transport-cc");
        header
            .set_extension(id, Bytes::copy_from_slice(color_space))
            .expect("color-space");
        header
    }

    /// The header as the leg's receiver parses it off the wire.
    fn on_the_wire(header: Header) -> Header {
        let packet = rtp::Packet {
            header,
            payload: Bytes::from_static(&[0x10, 0x00]),
        };
        let bytes = packet.marshal().expect("marshal");
        rtp::Packet::unmarshal(&mut bytes.clone())
            .expect("unmarshal")
            .header
    }

    #[test]
    fn color_space_is_renumbered_to_the_legs_id_and_the_hops_extensions_dropped() {
        let map = ExtensionMap::new(
            &negotiated(&[(TRANSPORT_CC, 3), (COLOR_SPACE, 5)]),
            &negotiated(&[(TRANSPORT_CC, 5), (COLOR_SPACE, 9)]),
        );
        let mut header = arriving(5, &SDR);
        map.apply(&mut header);
        let header = on_the_wire(header);
        assert_eq!(header.extension_profile, EXTENSION_PROFILE_ONE_BYTE);
        assert_eq!(header.get_extension_ids(), vec![9]);
        assert_eq!(header.get_extension(9).as_deref(), Some(&SDR[..]));
    }

    #[test]
    fn nothing_is_forwarded_where_either_connection_did_not_negotiate_it() {
        let both = negotiated(&[(COLOR_SPACE, 4)]);
        let neither = negotiated(&[(TRANSPORT_CC, 4)]);
        for (incoming, outgoing) in [(&both, &neither), (&neither, &both)] {
            let mut header = arriving(4, &SDR);
            ExtensionMap::new(incoming, outgoing).apply(&mut header);
            assert!(!header.extension);
            let header = on_the_wire(header);
            assert!(header.get_extension_ids().is_empty());
        }
    }

    #[test]
    fn a_packet_without_the_extension_goes_without_one() {
        let map = ExtensionMap::new(
            &negotiated(&[(COLOR_SPACE, 4)]),
            &negotiated(&[(COLOR_SPACE, 4)]),
        );
        let mut header = Header::default();
        header
            .set_extension(3, Bytes::from_static(&[0, 42]))
            .expect("transport-cc");
        map.apply(&mut header);
        assert!(!header.extension);
        assert_eq!(header.extension_profile, 0);
    }

    #[test]
    fn hdr_metadata_and_ids_above_14_go_in_two_byte_headers() {
        let hdr: Vec<u8> = (0..28).collect();
        let map = ExtensionMap::new(
            &negotiated(&[(COLOR_SPACE, 2)]),
            &negotiated(&[(COLOR_SPACE, 2)]),
        );
        let mut header = Header {
            version: 2,
            extension: true,
            extension_profile: EXTENSION_PROFILE_TWO_BYTE,
            ..Default::default()
        };
        header
            .set_extension(2, Bytes::from(hdr.clone()))
            .expect("two-byte color-space");
        map.apply(&mut header);
        let header = on_the_wire(header);
        assert_eq!(header.extension_profile, EXTENSION_PROFILE_TWO_BYTE);
        assert_eq!(header.get_extension(2).as_deref(), Some(&hdr[..]));

        let map = ExtensionMap::new(
            &negotiated(&[(COLOR_SPACE, 2)]),
            &negotiated(&[(COLOR_SPACE, 20)]),
        );
        let mut header = arriving(2, &SDR);
        map.apply(&mut header);
        let header = on_the_wire(header);
        assert_eq!(header.extension_profile, EXTENSION_PROFILE_TWO_BYTE);
        assert_eq!(header.get_extension(20).as_deref(), Some(&SDR[..]));
    }
}
