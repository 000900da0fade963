import { describe, expect, it } from "vitest";
import { addsCanvases, applyCanvasEvent, pictureOfCommands, pictureRule, type CanvasPictures } from "../src/canvas-pictures";

const WEBP = "data:image/webp;base64,UklGRg==";
const frame = (base64 = "UklGRg==", type = "image/webp") => [
  { property: "clearRect", args: [0, 0, 300, 150] },
  {
    property: "drawImage",
    args: [{ rr_type: "ImageBitmap", args: [{ rr_type: "Blob", data: [{ rr_type: "ArrayBuffer", base64 }], type }] }, 0, 0],
  },
];
const snapshot = (canvasAttrs: Record<string, unknown>) => ({
  type: 2,
  timestamp: 1,
  data: {
    node: {
      type: 0,
      id: 1,
      childNodes: [{ type: 2, id: 2, tagName: "html", attributes: {}, childNodes: [{ type: 2, id: 7, tagName: "canvas", attributes: canvasAttrs, childNodes: [] }] }],
    },
  },
});
const canvasMutation = (id: number, commands: unknown[]) => ({ type: 3, timestamp: 2, data: { source: 9, id, type: 0, commands } });

describe("recorded canvas pictures", () => {
  it("reads a sampled frame as its image", () => {
    expect(pictureOfCommands(frame())).toBe(WEBP);
    expect(pictureOfCommands([frame()[0]!])).toBe("");
  });

  it("ignores drawing a picture cannot stand for, and anything that is not an image", () => {
    expect(pictureOfCommands([{ property: "fillRect", args: [0, 0, 1, 1] }])).toBeNull();
    expect(pictureOfCommands([frame()[1]!])).toBeNull(); // no clearRect: drawn over what was there
    expect(pictureOfCommands(frame("UklGRg==", "text/html"))).toBeNull();
    expect(pictureOfCommands(frame('x");background:url(https://evil'))).toBeNull();
  });

  it("starts from the full snapshot's pictures and follows the frames", () => {
    const pictures: CanvasPictures = new Map([[99, WEBP]]);
    expect(applyCanvasEvent(pictures, snapshot({ width: "300", rr_dataURL: WEBP }))).toBe(true);
    expect([...pictures]).toEqual([[7, WEBP]]);
    const next = "data:image/webp;base64,AAAA";
    expect(applyCanvasEvent(pictures, canvasMutation(7, frame("AAAA")))).toBe(true);
    expect(pictures.get(7)).toBe(next);
    expect(applyCanvasEvent(pictures, canvasMutation(7, frame("AAAA")))).toBe(false);
    expect(applyCanvasEvent(pictures, canvasMutation(7, [frame()[0]]))).toBe(true);
    expect(pictures.has(7)).toBe(false);
  });

  it("takes only base64 image data URLs from a snapshot", () => {
    const pictures: CanvasPictures = new Map();
    applyCanvasEvent(pictures, snapshot({ rr_dataURL: 'data:image/webp;base64,AA"); background: url(https://evil' }));
    expect(pictures.size).toBe(0);
  });

  it("takes pictures of added canvases and forgets removed ones", () => {
    const pictures: CanvasPictures = new Map([[3, WEBP]]);
    const mutation = {
      type: 3,
      timestamp: 3,
      data: {
        source: 0,
        removes: [{ parentId: 1, id: 3 }],
        adds: [{ parentId: 1, nextId: null, node: { type: 2, id: 8, tagName: "canvas", attributes: { rr_dataURL: WEBP }, childNodes: [] } }],
        texts: [],
        attributes: [],
      },
    };
    expect(applyCanvasEvent(pictures, mutation)).toBe(true);
    expect([...pictures]).toEqual([[8, WEBP]]);
  });

  it("knows which events bring canvases that need their size", () => {
    expect(addsCanvases(snapshot({}))).toBe(true);
    const adds = (node: unknown) => ({ type: 3, timestamp: 1, data: { source: 0, adds: [{ parentId: 1, node }], removes: [] } });
    expect(addsCanvases(adds({ type: 2, id: 4, tagName: "div", childNodes: [{ type: 2, id: 5, tagName: "canvas", childNodes: [] }] }))).toBe(true);
    expect(addsCanvases(adds({ type: 2, id: 4, tagName: "div", childNodes: [] }))).toBe(false);
    expect(addsCanvases(canvasMutation(7, frame()))).toBe(false);
  });

  it("lays the picture over the canvas's content box", () => {
    expect(pictureRule(7, WEBP)).toBe(
      `canvas[data-cobrowse-picture="7"] { background: url("${WEBP}") 0 0 / 100% 100% no-repeat content-box !important; }`,
    );
  });
});
