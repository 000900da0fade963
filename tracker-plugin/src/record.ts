/**
 * Recording the page: rrweb's `record` with the tracker's privacy defaults and the rrweb console
 * plugin. This module only configures rrweb; it has no DOM recorder of its own.
 *
 * Privacy defaults (see README):
 * - every input, textarea and select value is masked (`*` per character);
 * - a password field's value is never recorded, nor its length: it is recorded as
 *   {@link PASSWORD_MASK} when it holds anything and as empty when it does not. rrweb records an
 *   input event only when the recorded value changes, so keystrokes are not counted either. A
 *   field counts as a password field by `type="password"` (also after a "show password" toggle
 *   changed its type) or `autocomplete="current-password"` / `"new-password"`;
 * - elements with the `data-cobrowse-block` attribute or the `cobrowse-block` class are blocked;
 * - text inside elements with `data-cobrowse-mask` or the `cobrowse-mask` class is masked;
 * - a full snapshot every {@link DEFAULT_CHECKOUT_EVERY_MS}, so a player can start from any minute.
 *
 * Recording starts at `DOMContentLoaded`; an iframe document built later (an editor's) is
 * replayed in full thanks to {@link IframeDocuments}.
 */

import { type LogLevel, getRecordConsolePlugin } from "@rrweb/rrweb-plugin-console-record";
import { type eventWithTime, record, type recordOptions as RrwebRecordOptions } from "rrweb";

import { IframeDocuments } from "./iframe-documents";
import { log } from "./log";
import { LostCss } from "./lost-css";

/** Privacy settings; the defaults are the safe ones. Selectors given here add to the defaults. */
export interface PrivacyOptions {
  /** Mask the value of every input, textarea and select (default `true`). */
  maskAllInputs?: boolean;
  /** Mask every text node of the page (default `false`). */
  maskAllText?: boolean;
  /** More elements to block (recorded as an empty box), as a CSS selector. */
  blockSelector?: string;
  /** More elements whose text is masked, as a CSS selector. */
  maskTextSelector?: string;
}

export interface RecorderOptions {
  privacy?: PrivacyOptions;
  /** Console levels to record; `false` or `[]` records no console messages. */
  consoleLevels?: LogLevel[] | false;
  /** Full snapshot interval in ms; 0 turns periodic snapshots off. */
  checkoutEveryNms?: number;
  /** Record canvas frames (canvas-recording.ts); absent: canvases are recorded as empty boxes. */
  canvas?: { fps: number; quality: number };
}

export const BLOCK_CLASS = "cobrowse-block";
export const MASK_CLASS = "cobrowse-mask";
/** What a non-empty password field is recorded as, whatever its length. */
export const PASSWORD_MASK = "********";
/**
 * Password fields without `type="password"`. With `maskAllInputs: false` rrweb would record
 * them in clear, so they are blocked then.
 */
export const PASSWORD_HINT_SELECTOR =
  'input[autocomplete="current-password"]:not([type="password"]), input[autocomplete="new-password"]:not([type="password"])';
export const DEFAULT_BLOCK_SELECTOR = "[data-cobrowse-block]";
export const DEFAULT_MASK_TEXT_SELECTOR = "[data-cobrowse-mask]";
export const DEFAULT_CONSOLE_LEVELS: LogLevel[] = ["log", "info", "warn", "error", "assert"];
export const DEFAULT_CHECKOUT_EVERY_MS = 60_000;

export type Emit = (event: eventWithTime, isCheckout?: boolean) => void;
export type RecordOptions = RrwebRecordOptions<eventWithTime>;

/**
 * A field that holds a password: by its type, by rrweb's mark on a field whose type was changed
 * from password (a "show password" toggle), or by its autocomplete hint.
 */
export function isPasswordField(element: Element | null): boolean {
  if (element === null || element.tagName !== "INPUT") return false;
  const type = (element.getAttribute("type") ?? "").toLowerCase();
  const autocomplete = (element.getAttribute("autocomplete") ?? "").toLowerCase();
  return (
    type === "password" ||
    element.hasAttribute("data-rr-is-password") ||
    autocomplete === "current-password" ||
    autocomplete === "new-password"
  );
}

/**
 * Masks a value like rrweb does (`*` per character), except that a password field is
 * {@link PASSWORD_MASK} whatever its length, or empty.
 */
export function maskInput(text: string, element: HTMLElement): string {
  if (isPasswordField(element)) return text === "" ? "" : PASSWORD_MASK;
  return "*".repeat(text.length);
}

/** The `blockSelector` given to rrweb (besides the {@link BLOCK_CLASS} class). */
export function blockSelectorFor(privacy: PrivacyOptions = {}): string {
  const maskAllInputs = privacy.maskAllInputs ?? true;
  return join(
    maskAllInputs ? DEFAULT_BLOCK_SELECTOR : `${DEFAULT_BLOCK_SELECTOR}, ${PASSWORD_HINT_SELECTOR}`,
    privacy.blockSelector,
  );
}

/**
 * Canvases rrweb must not record the pixels of when it records canvases: those that are masked
 * or inside a masked element (a canvas draws text too). rrweb has no notion of a masked canvas,
 * so they are given to it as blocked: recorded as an empty box of their size, as the rest of the
 * page's canvases are without canvas recording. Blocked ones rrweb leaves out by itself.
 */
export function maskedCanvasSelector(privacy: PrivacyOptions = {}): string {
  const masked = `.${MASK_CLASS}, ${maskSelectorFor(privacy)}`;
  return `canvas:is(${masked}), :is(${masked}) canvas`;
}

/** The `maskTextSelector` given to rrweb (besides the {@link MASK_CLASS} class). */
export function maskSelectorFor(privacy: PrivacyOptions = {}): string {
  return privacy.maskAllText === true ? "*" : join(DEFAULT_MASK_TEXT_SELECTOR, privacy.maskTextSelector);
}

/** The options this tracker passes to rrweb's `record`. */
export function recordOptions(emit: Emit, options: RecorderOptions = {}): RecordOptions {
  const privacy = options.privacy ?? {};
  const levels = options.consoleLevels === false ? [] : (options.consoleLevels ?? DEFAULT_CONSOLE_LEVELS);
  const maskAllInputs = privacy.maskAllInputs ?? true;
  const canvas = options.canvas;
  const blockSelector = canvas === undefined ? blockSelectorFor(privacy) : join(blockSelectorFor(privacy), maskedCanvasSelector(privacy));
  const maskTextSelector = maskSelectorFor(privacy);
  return {
    emit,
    checkoutEveryNms: options.checkoutEveryNms ?? DEFAULT_CHECKOUT_EVERY_MS,
    blockClass: BLOCK_CLASS,
    blockSelector,
    maskTextClass: MASK_CLASS,
    maskTextSelector,
    maskAllInputs,
    // What rrweb masks when maskAllInputs is false (with it, rrweb masks every kind of field).
    maskInputOptions: { password: true },
    maskInputFn: maskInput,
    recordCanvas: canvas !== undefined,
    ...(canvas === undefined
      ? {}
      : { sampling: { canvas: canvas.fps }, dataURLOptions: { type: "image/webp", quality: canvas.quality } }),
    collectFonts: false,
    inlineImages: false,
    recordAfter: "DOMContentLoaded",
    plugins: levels.length > 0 ? [getRecordConsolePlugin({ level: levels })] : [],
    errorHandler: (error: unknown) => {
      log.debug("rrweb error", error);
      return true;
    },
  };
}

/** A running rrweb recording. */
export interface Recorder {
  /** Emits a Meta and a FullSnapshot event now; `false` if rrweb is not recording yet. */
  takeFullSnapshot(): boolean;
  stop(): void;
}

/**
 * Starts rrweb. Events reach `emit` as rrweb emits them, Meta and FullSnapshot first, with the
 * stylesheet rules that serialized with lost declarations as the page wrote them (see
 * {@link LostCss}). A full snapshot follows an iframe document that rrweb recorded twice under
 * one id (see {@link IframeDocuments}), and a linked stylesheet's text once it was fetched.
 */
export function startRecording(emit: Emit, options: RecorderOptions = {}): Recorder {
  const iframeDocuments = new IframeDocuments();
  let stopped = false;
  const takeFullSnapshot = (): boolean => {
    try {
      record.takeFullSnapshot(true);
      return true;
    } catch (error) {
      // rrweb has not started (the document is still loading): it takes one when it starts.
      log.debug("full snapshot deferred", error);
      return false;
    }
  };
  // One snapshot for any number of reasons found in one task.
  let snapshotDue = false;
  const snapshotSoon = (): void => {
    if (snapshotDue) return;
    snapshotDue = true;
    // Not from inside rrweb's emit: it may be in the middle of recording an iframe.
    queueMicrotask(() => {
      snapshotDue = false;
      if (!stopped) takeFullSnapshot();
    });
  };
  const lostCss = new LostCss((id) => record.mirror.getNode(id), snapshotSoon);
  const emitAndWatch: Emit = (event, isCheckout) => {
    lostCss.repair(event);
    emit(event, isCheckout);
    if (iframeDocuments.needsFullSnapshot(event)) snapshotSoon();
  };
  const stopFn = record(recordOptions(emitAndWatch, options));
  return {
    takeFullSnapshot,
    stop(): void {
      stopped = true;
      stopFn?.();
    },
  };
}

/**
 * The page node rrweb recorded with `id`, or `null`: how an agent's input, which names nodes by
 * the ids of its replay, finds its target. Blocked content has no ids inside it.
 */
export function recordedNode(id: number): Node | null {
  return record.mirror.getNode(id);
}

/**
 * The rrweb id of `canvas` if the page may stream it to agents: rrweb recorded it, and neither
 * it nor an ancestor is blocked (its box is all an agent may see of a blocked element) or masked
 * (a canvas draws text too, and what is masked as text must not show as video). A canvas is
 * otherwise recorded as an empty box (canvas content is not recorded), so streaming it is what
 * shows its content.
 */
export function recordedCanvasId(canvas: HTMLCanvasElement, privacy: PrivacyOptions = {}): number | undefined {
  try {
    const hidden = `.${BLOCK_CLASS}, ${blockSelectorFor(privacy)}, .${MASK_CLASS}, ${maskSelectorFor(privacy)}`;
    if (canvas.closest(hidden) !== null) return undefined;
  } catch {
    // A selector the browser does not understand: rrweb could not apply it either, but stay safe.
    return undefined;
  }
  const id = record.mirror.getId(canvas);
  return id > 0 ? id : undefined;
}

function join(base: string, extra: string | undefined): string {
  return extra === undefined || extra.trim() === "" ? base : `${base}, ${extra}`;
}
