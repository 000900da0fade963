// Why live canvas video arrived through the SFU with shifted colours until it forwarded WebRTC's
// color-space RTP header extension: one page sends a canvas of known colours to itself over a
// direct RTCPeerConnection (VP8, as the SFU forwards), once as negotiated and once with the
// extension taken out of both SDPs (what the SFU did: it neither negotiated nor forwarded it).
// Prints the colours received.
//
//   node colour-space.mjs
import { launchBrowser } from "./harness.mjs";

const COLOURS = [[253, 230, 138], [191, 219, 254], [22, 163, 74], [220, 38, 38], [37, 99, 235]];

async function received(page, keepColourSpace) {
  return page.evaluate(async ({ colours, keep }) => {
    const side = 32;
    const c = document.createElement("canvas");
    c.width = side * colours.length;
    c.height = side;
    document.body.append(c);
    const g = c.getContext("2d");
    const draw = () => colours.forEach(([r, gr, b], i) => {
      g.fillStyle = `rgb(${r}, ${gr}, ${b})`;
      g.fillRect(i * side, 0, side, side);
    });
    const track = c.captureStream(0).getVideoTracks()[0];
    // A canvas sends a requested frame only when it was drawn since the last one.
    const ticker = setInterval(() => {
      draw();
      track.requestFrame();
    }, 100);
    const [a, b] = [new RTCPeerConnection(), new RTCPeerConnection()];
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const video = document.createElement("video");
    video.muted = true;
    document.body.append(video);
    b.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); video.play(); };
    a.addTrack(track);
    const strip = (d) => ({
      type: d.type,
      sdp: keep ? d.sdp : d.sdp.split("\r\n").filter((l) => !l.includes("color-space")).join("\r\n"),
    });
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(strip(offer));
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(strip(answer));
    await new Promise((ok) => setTimeout(ok, 3000));
    let codec = "";
    (await b.getStats()).forEach((r) => { if (r.type === "codec" && r.mimeType.startsWith("video/")) codec ||= r.mimeType; });
    const out = document.createElement("canvas");
    out.width = c.width;
    out.height = c.height;
    const o = out.getContext("2d");
    if (video.videoWidth === 0) throw new Error(`no video: ${a.connectionState} ${b.connectionState} ${video.readyState}`);
    o.drawImage(video, 0, 0);
    clearInterval(ticker);
    a.close();
    b.close();
    return { codec, colours: colours.map((_, i) => Array.from(o.getImageData(i * side + side / 2, side / 2, 1, 1).data.slice(0, 3))) };
  }, { colours: COLOURS, keep: keepColourSpace });
}

const browser = await launchBrowser(["--autoplay-policy=no-user-gesture-required"]);
const page = await browser.newPage();
const withExt = await received(page, true);
const without = await received(page, false);
await browser.close();
console.log(`codec: ${withExt.codec}, ${without.codec}`);
const hex = ([r, g, b]) => `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
console.log("sent      with color-space   without (as through the SFU before)");
COLOURS.forEach((c, i) => console.log(`${hex(c)}   ${hex(withExt.colours[i])}            ${hex(without.colours[i])}`));
