//! Call negotiation a peer sends: the SDP answer the server parses before
//! `set_remote_description` (`RTCSessionDescription::answer`, in `call::sfu`), and the ICE
//! candidate line it parses when `add_ice_candidate` gets a tracker's or agent's candidate.

use arbitrary::Unstructured;
use rtc::ice::candidate::unmarshal_candidate;
use webrtc::peer_connection::RTCSessionDescription;

use crate::engine::{self, Target};

/// An answer as Chromium writes one to the server's offer: audio and video, bundled.
pub const ANSWER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0 1\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS stream\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:1467250027 1 udp 2122260223 192.168.1.5 46243 typ host generation 0\r\n\
a=ice-ufrag:Oyef\r\n\
a=ice-pwd:7Hkzr4Dk1kOeZ2zy1Xp5Gxv3\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:F4:70:03:E7:43:91:73:23:5E\r\n\
a=setup:active\r\n\
a=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=sendrecv\r\n\
a=msid:stream audio-track\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=ssrc:3066191155 cname:user@shop.example\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Oyef\r\n\
a=ice-pwd:7Hkzr4Dk1kOeZ2zy1Xp5Gxv3\r\n\
a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:F4:70:03:E7:43:91:73:23:5E\r\n\
a=setup:active\r\n\
a=mid:1\r\n\
a=recvonly\r\n\
a=rtcp-mux\r\n\
a=rtcp-rsize\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\n\
a=rtcp-fb:96 nack pli\r\n\
a=rtpmap:97 rtx/90000\r\n\
a=fmtp:97 apt=96\r\n\
a=ssrc-group:FID 1 2\r\n";

/// Candidates as browsers trickle them: host, mDNS host, server-reflexive, relayed, TCP, IPv6.
pub const CANDIDATES: [&str; 6] = [
    "candidate:1467250027 1 udp 2122260223 192.168.1.5 46243 typ host generation 0 ufrag Oyef network-id 1",
    "candidate:3 1 udp 2113937151 3f1c7a2e-2b9b-4b8e-9d7e-1f2a3b4c5d6e.local 51234 typ host generation 0",
    "candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 192.168.1.5 rport 46243 generation 0",
    "candidate:1 1 udp 41885439 198.51.100.2 3478 typ relay raddr 203.0.113.7 rport 54321",
    "candidate:4 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active generation 0",
    "candidate:5 1 udp 2122197247 2001:db8::1 40000 typ host generation 0",
];

/// The SDP parse under test, on a peer's answer.
fn answer(sdp: &[u8]) -> bool {
    RTCSessionDescription::answer(String::from_utf8_lossy(sdp).into_owned()).is_ok()
}

/// The candidate parse under test, after the prefix `add_remote_candidate` strips.
fn candidate(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let value = line.strip_prefix("candidate:").unwrap_or(&line);
    unmarshal_candidate(value).is_ok()
}

/// SDP built line by line from the kinds of lines answers hold, with arbitrary values.
fn generate_sdp(u: &mut Unstructured) -> arbitrary::Result<Vec<u8>> {
    let mut sdp = String::from("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    for _ in 0..u.int_in_range(0..=40)? {
        let n: u32 = u.arbitrary()?;
        let word: &str = u.arbitrary()?;
        let line = match u.int_in_range(0..=13)? {
            0 => format!(
                "m={} {n} UDP/TLS/RTP/SAVPF 96 111",
                u.choose(&["audio", "video", "application", word])?
            ),
            1 => format!("c=IN IP{} {word}", u.int_in_range(0..=6)?),
            2 => format!("a=rtpmap:{} {word}/{n}", u.arbitrary::<u8>()?),
            3 => format!("a=fmtp:{} {word}", u.arbitrary::<u8>()?),
            4 => format!("a={}", CANDIDATES[u.choose_index(CANDIDATES.len())?]),
            5 => format!("a=mid:{word}"),
            6 => format!("a=group:BUNDLE {word}"),
            7 => format!("a=ssrc:{n} cname:{word}"),
            8 => format!("a=extmap:{} {word}", u.arbitrary::<u16>()?),
            9 => format!("a=fingerprint:sha-256 {word}"),
            10 => format!(
                "a=setup:{}",
                u.choose(&["active", "passive", "actpass", word])?
            ),
            11 => format!("b=AS:{word}"),
            12 => format!("a=rtcp-fb:{} {word}", u.arbitrary::<u8>()?),
            _ => format!("{}={word}", u.arbitrary::<char>()?),
        };
        sdp.push_str(&line);
        sdp.push_str(if u.ratio(9, 10)? { "\r\n" } else { "\n" });
    }
    Ok(sdp.into_bytes())
}

/// A candidate built field by field, each field sometimes replaced by anything.
fn generate_candidate(u: &mut Unstructured) -> arbitrary::Result<Vec<u8>> {
    let mut fields: Vec<String> = vec![
        u.arbitrary::<u32>()?.to_string(),
        u.int_in_range(0u16..=3)?.to_string(),
        u.choose(&["udp", "tcp", "UDP", "sctp"])?.to_string(),
        u.arbitrary::<u32>()?.to_string(),
        u.choose(&["192.168.1.5", "2001:db8::1", "x.local", "999.1.1.1", ""])?
            .to_string(),
        u.arbitrary::<u16>()?.to_string(),
        "typ".into(),
        u.choose(&["host", "srflx", "prflx", "relay", "other"])?
            .to_string(),
    ];
    for _ in 0..u.int_in_range(0..=6)? {
        fields.push(
            u.choose(&[
                "raddr",
                "rport",
                "generation",
                "ufrag",
                "tcptype",
                "network-cost",
            ])?
            .to_string(),
        );
        fields.push(u.arbitrary::<&str>()?.to_string());
    }
    for field in fields.iter_mut() {
        if u.ratio(1, 12)? {
            *field = u.arbitrary::<&str>()?.to_string();
        }
    }
    Ok(format!("candidate:{}", fields.join(" ")).into_bytes())
}

#[test]
fn sdp_answers_never_panic_or_allocate_out_of_proportion() {
    let report = engine::fuzz(Target {
        name: "sdp",
        seeds: vec![ANSWER.as_bytes().to_vec()],
        generate: generate_sdp,
        run: answer,
    });
    engine::assert_reaches_both("sdp", &report);
}

#[test]
fn ice_candidates_never_panic_or_allocate_out_of_proportion() {
    let report = engine::fuzz(Target {
        name: "ice",
        seeds: CANDIDATES.iter().map(|c| c.as_bytes().to_vec()).collect(),
        generate: generate_candidate,
        run: candidate,
    });
    engine::assert_reaches_both("ice", &report);
}
