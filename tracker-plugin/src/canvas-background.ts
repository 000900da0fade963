/**
 * What the page shows behind a `<canvas>`: the colour its transparent pixels let through.
 *
 * A canvas captured as video (media.ts) loses its alpha channel: the encoder sees transparent
 * pixels as black, so an overlay of a transparent chart hides the page behind it. Page script
 * cannot read the pixels under a canvas, but it can read the CSS background colours of the canvas
 * and its ancestors: blending them from the nearest opaque one up to the canvas gives the colour
 * the browser paints behind it (white when nothing on the way is opaque, as a page's canvas is).
 * Background images and gradients are not seen; their first colour layer is.
 *
 * The parsing and blending are pure and unit tested; {@link backgroundBehind} only reads styles.
 */

/** A colour with straight (not premultiplied) alpha: r, g, b in 0..255, a in 0..1. */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

export const WHITE: Rgba = { r: 255, g: 255, b: 255, a: 1 };

/**
 * Parses a computed colour (`rgb(…)`/`rgba(…)`, comma or space separated, as browsers serialize
 * them; `transparent`). Anything else (a colour space the page used, e.g. `oklch(…)`) is null:
 * the caller treats it as not there rather than guess.
 */
export function parseColour(text: string): Rgba | null {
  const value = text.trim().toLowerCase();
  if (value === "transparent") return { r: 0, g: 0, b: 0, a: 0 };
  const m = /^rgba?\(\s*([^)]*)\)$/.exec(value);
  if (m === null) return null;
  const parts = m[1]!.split(/[\s,/]+/).filter((p) => p !== "");
  if (parts.length !== 3 && parts.length !== 4) return null;
  const channel = (p: string): number =>
    p.endsWith("%") ? (parseFloat(p) / 100) * 255 : parseFloat(p);
  const [r, g, b] = parts.slice(0, 3).map(channel) as [number, number, number];
  const alphaText = parts[3];
  const a = alphaText === undefined ? 1 : alphaText.endsWith("%") ? parseFloat(alphaText) / 100 : parseFloat(alphaText);
  if (![r, g, b, a].every(Number.isFinite)) return null;
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  return { r: clamp(r, 255), g: clamp(g, 255), b: clamp(b, 255), a: clamp(a, 1) };
}

/**
 * The opaque colour seen through a stack of backgrounds, given innermost (the canvas's own)
 * first: the stack is cut at the first opaque colour, and the translucent ones above it are
 * blended over it in turn. Nothing opaque: over white.
 */
export function blendBackgrounds(innermostFirst: readonly Rgba[]): Rgba {
  const opaque = innermostFirst.findIndex((c) => c.a >= 1);
  let base = opaque === -1 ? WHITE : innermostFirst[opaque]!;
  const translucent = (opaque === -1 ? innermostFirst : innermostFirst.slice(0, opaque)).filter((c) => c.a > 0);
  for (let i = translucent.length - 1; i >= 0; i--) {
    const c = translucent[i]!;
    base = {
      r: c.r * c.a + base.r * (1 - c.a),
      g: c.g * c.a + base.g * (1 - c.a),
      b: c.b * c.a + base.b * (1 - c.a),
      a: 1,
    };
  }
  return base;
}

/** A CSS colour for `fillStyle`. */
export function cssColour(c: Rgba): string {
  return `rgb(${Math.round(c.r)}, ${Math.round(c.g)}, ${Math.round(c.b)})`;
}

/**
 * The colour behind `canvas`'s transparent pixels: the computed background colours of the
 * canvas and its ancestors (across shadow roots), read up to the first opaque one, blended.
 */
export function backgroundBehind(canvas: Element): Rgba {
  const view = canvas.ownerDocument.defaultView;
  if (view === null) return WHITE;
  const stack: Rgba[] = [];
  let el: Element | null = canvas;
  while (el !== null) {
    const colour = parseColour(view.getComputedStyle(el).backgroundColor);
    if (colour !== null) {
      stack.push(colour);
      if (colour.a >= 1) break;
    }
    el = el.parentElement ?? hostOf(el);
  }
  return blendBackgrounds(stack);
}

function hostOf(el: Element): Element | null {
  const root = el.getRootNode() as Node & { host?: Element };
  return root.host ?? null;
}
