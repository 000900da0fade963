/**
 * The page's one peer connection to the server in a call (§10.1). The server always offers and
 * the page only answers, so this is a small loop:
 *
 * 1. `call_offer`: create the `RTCPeerConnection` (once, with the offer's ICE servers), set the
 *    offer as the remote description, put the page's own tracks on the slots marked `send`
 *    (found by `mid`; `replaceTrack`, direction `sendonly`), answer with `call_answer`;
 * 2. trickle ICE both ways: each local candidate goes out as `call_candidate`; a remote one that
 *    arrives before the first remote description is set waits in a queue;
 * 3. what arrives (`ontrack`) is kept by `mid`, so the call window can show each slot's sender.
 *
 * Offers are applied one at a time, in order: the server offers again on the same connection
 * whenever someone joins or leaves, and an offer must not start before the last answer is set.
 */

import { log } from "./log";
import type { CallAnswer, CallCandidateOut, CallOffer, CallSlot, IceCandidate, IceServer } from "./protocol";

/** Remote candidates kept while no remote description is set; more are dropped. */
export const MAX_QUEUED_CANDIDATES = 100;

export interface CallPeerOptions {
  /** `new RTCPeerConnection(config)`. */
  createPeer: (config: RTCConfiguration) => RTCPeerConnection;
  /** The page's own track for a `send` slot (microphone, camera or a canvas), or null for none. */
  localTrack: (slot: CallSlot) => MediaStreamTrack | null;
  send: (signal: CallAnswer | CallCandidateOut) => boolean;
  /** What the page receives changed: a track arrived, or an offer gave the slots to others. */
  onMedia?: () => void;
  onState?: (state: RTCPeerConnectionState) => void;
}

/** One track the page receives, with the slot that says whose it is. */
export interface RemoteMedia {
  slot: CallSlot;
  track: MediaStreamTrack;
}

export class CallPeer {
  private readonly options: CallPeerOptions;
  private pcValue: RTCPeerConnection | null = null;
  private slots: CallSlot[] = [];
  /** Received tracks by `mid`. */
  private readonly received = new Map<string, MediaStreamTrack>();
  private queued: IceCandidate[] = [];
  /** Whether a remote description has been set on the current connection. */
  private described = false;
  /** The DTLS fingerprint of the server's last offer. */
  private fingerprint: string | null = null;
  private work: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: CallPeerOptions) {
    this.options = options;
  }

  /** The live connection, once the first offer arrived. */
  get pc(): RTCPeerConnection | null {
    return this.pcValue;
  }

  /** Applies `offer` once the offers before it are answered; resolves when it is answered (or failed). */
  offer(offer: CallOffer): Promise<void> {
    this.work = this.work
      .then(() => this.apply(offer))
      .catch((error: unknown) => log.warn("call: could not answer the server's offer", error));
    return this.work;
  }

  /** A remote ICE candidate; waits until the first remote description is set. */
  candidate(candidate: IceCandidate): void {
    if (this.closed) return;
    const pc = this.pcValue;
    if (pc === null || !this.described) {
      if (this.queued.length < MAX_QUEUED_CANDIDATES) this.queued.push(candidate);
      else log.debug("call: dropping a remote ICE candidate: too many waiting");
      return;
    }
    this.add(pc, candidate);
  }

  /** What the page receives now: tracks of slots that carry someone's media. */
  remoteMedia(): RemoteMedia[] {
    const out: RemoteMedia[] = [];
    for (const slot of this.slots) {
      if (slot.send || slot.from === null) continue;
      const track = this.received.get(slot.mid);
      if (track !== undefined) out.push({ slot, track });
    }
    return out;
  }

  /** Closes the connection; later offers and candidates are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.drop();
  }

  private async apply(offer: CallOffer): Promise<void> {
    if (this.closed) return;
    const fingerprint = fingerprintOf(offer.sdp);
    if (this.pcValue !== null && fingerprint !== null && this.fingerprint !== null && fingerprint !== this.fingerprint) {
      // A new connection on the server's side: the old one is gone, start over.
      log.debug("call: the server offers a new connection; replacing the old one");
      this.drop();
    }
    const pc = this.pcValue ?? this.create(offer.ice_servers);
    this.fingerprint = fingerprint;
    this.slots = offer.slots;
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    if (this.pcValue !== pc) return;
    if (!this.described) {
      this.described = true;
      const queued = this.queued;
      this.queued = [];
      for (const candidate of queued) this.add(pc, candidate);
    }
    for (const transceiver of pc.getTransceivers()) {
      const slot = this.slots.find((s) => s.mid === transceiver.mid);
      if (slot === undefined || transceiver.currentDirection === "stopped") continue;
      if (slot.send) {
        const track = this.options.localTrack(slot);
        if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
        if (this.pcValue !== pc) return;
        transceiver.direction = track === null ? "inactive" : "sendonly";
      } else if (transceiver.sender.track !== null) {
        // A slot the page sent on and no longer does (the server stopped taking it).
        await transceiver.sender.replaceTrack(null);
        if (this.pcValue !== pc) return;
        transceiver.direction = "recvonly";
      }
    }
    const answer = await pc.createAnswer();
    if (this.pcValue !== pc) return;
    await pc.setLocalDescription(answer);
    if (this.pcValue !== pc) return;
    const sdp = pc.localDescription?.sdp ?? answer.sdp;
    if (sdp === undefined || !this.options.send({ type: "call_answer", sdp })) {
      log.warn("call: the answer to the server's offer could not be sent");
    }
    this.options.onMedia?.();
  }

  private create(iceServers: IceServer[]): RTCPeerConnection {
    const pc = this.options.createPeer({ iceServers });
    pc.onicecandidate = (event) => {
      const c = event.candidate;
      if (this.pcValue !== pc || c === null || c.candidate === "") return;
      const json = c.toJSON();
      this.options.send({
        type: "call_candidate",
        candidate: {
          candidate: json.candidate ?? c.candidate,
          sdpMid: json.sdpMid ?? null,
          sdpMLineIndex: json.sdpMLineIndex ?? null,
        },
      });
    };
    pc.ontrack = (event) => {
      const mid = event.transceiver?.mid ?? null;
      if (this.pcValue !== pc || mid === null) return;
      this.received.set(mid, event.track);
      this.options.onMedia?.();
    };
    pc.onconnectionstatechange = () => {
      if (this.pcValue === pc) this.options.onState?.(pc.connectionState);
    };
    this.pcValue = pc;
    return pc;
  }

  private add(pc: RTCPeerConnection, candidate: IceCandidate): void {
    pc.addIceCandidate(candidate).catch((error: unknown) => log.debug("call: a remote ICE candidate was refused", error));
  }

  /** Closes the current connection and forgets everything that was about it. */
  private drop(): void {
    const pc = this.pcValue;
    this.pcValue = null;
    this.described = false;
    this.fingerprint = null;
    this.queued = [];
    this.slots = [];
    this.received.clear();
    if (pc === null) return;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.close();
  }
}

/** The `a=fingerprint` of an SDP: it names the DTLS certificate, so a new one means a new connection. */
function fingerprintOf(sdp: string): string | null {
  const match = /^a=fingerprint:(.+)$/m.exec(sdp);
  return match === null ? null : match[1]!.trim();
}
