// Generated from src/protocol/call.rs by `scripts/gen-protocol-ts`; do not edit.
// `cargo test` (protocol::typescript::generated_types_are_current) fails when it is stale.


/**
 * What the server says to one participant of a call; agents and trackers get it in their own
 * message types.
 */
export type CallMessage =
  | { "type": "call_offer" } & CallOffer
  | { "type": "call_candidate", candidate: IceCandidate, }
  | { "type": "call_closed", reason: string, };

export type CallOffer = { sdp: string, ice_servers: Array<IceServer>, slots: Array<Slot>, };

/**
 * One media section of a `call_offer`, from the participant's side.
 */
export type Slot = { mid: string,
/**
 * True: the participant sends its own track on it.
 */
send: boolean, media: Media,
/**
 * Whose media it carries, when the participant receives on it.
 */
from: Participant | null,
/**
 * The rrweb node id of the canvas, for `media: canvas`.
 */
canvas: number | null,
/**
 * The tab the canvas is in (rrweb ids are per tab and page load), for `media: canvas`.
 */
tab?: string, };

/**
 * What flows on a media section.
 */
export type Media =
  | "audio"
  | "video"
  | "canvas";

/**
 * Someone in a call: an agent connection, or the page's user (id `"user"`).
 */
export type Participant = { id: string, name: string, };

/**
 * An ICE server as browsers take it (`RTCIceServer`).
 */
export type IceServer = { urls: Array<string>, username?: string, credential?: string, };

/**
 * An ICE candidate as browsers give it (`RTCIceCandidateInit`).
 */
export type IceCandidate = { candidate: string, sdpMid?: string | null, sdpMLineIndex?: number | null, };
