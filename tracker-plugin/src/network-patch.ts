/**
 * Seeing the page's requests: `window.fetch` and `XMLHttpRequest.prototype.open`,
 * `setRequestHeader` and `send` are wrapped, and each call is told to a {@link NetworkLog}. The
 * page must not notice: the same Response object resolves, the same error is rethrown (and
 * unhandled rejections stay unhandled), the original is called with the same `this` and
 * arguments, nothing of a response the page reads is consumed (bodies, when a site records them,
 * are read from a clone), and a failure of the tracker's own bookkeeping never reaches the page.
 * `stop()` puts the originals back; where a script wrapped them after us, ours stay in place as
 * pass-throughs, so that script's wrapper keeps working.
 */

import { log } from "./log";
import type { NetworkLog, OutgoingRequest, PendingRequest, RequestOutcome } from "./network";
import { MAX_HEADERS, parseHeaderLines, utf8Length } from "./network-privacy";

/** Bytes of a fetch response body read (from a clone) when bodies are recorded. */
const MAX_READ_BYTES = 64 * 1024;
/** How long reading that clone may take before the entry is recorded without its body. */
const READ_TIMEOUT_MS = 5000;

let ownCalls = 0;

/** Runs `call`, which makes a request of the tracker's own, so that it is not recorded. */
export function withoutRecording<T>(call: () => T): T {
  ownCalls++;
  try {
    return call();
  } finally {
    ownCalls--;
  }
}

export interface NetworkRecording {
  /** Puts the page's `fetch` and `XMLHttpRequest` back; requests still running go unrecorded. */
  stop(): void;
}

/** Starts telling `net` about `win`'s fetch and XMLHttpRequest calls. */
export function startNetworkRecording(win: Window & typeof globalThis, net: NetworkLog): NetworkRecording {
  const stops = [patchFetch(win, net), patchXhr(win, net)];
  return {
    stop() {
      for (const stop of stops) stop();
    },
  };
}

/** `work()`, or `fallback` if it throws: the tracker's bookkeeping never breaks the page. */
function safely<T>(work: () => T, fallback: T): T {
  try {
    return work();
  } catch (error) {
    log.debug("network recording failed", error);
    return fallback;
  }
}

function patchFetch(win: Window & typeof globalThis, net: NetworkLog): () => void {
  const original = win.fetch;
  if (typeof original !== "function") return () => {};
  let active = true;
  const patched = function (this: unknown, ...args: Parameters<typeof fetch>): Promise<Response> {
    const pending = active && ownCalls === 0 ? safely(() => net.begin(fetchRequest(win, net, args[0], args[1])), null) : null;
    if (pending === null) return original.apply(this, args);
    let promise: Promise<Response>;
    try {
      promise = original.apply(this, args);
    } catch (error) {
      net.cancel(pending);
      throw error;
    }
    return promise.then(
      (response) => {
        safely(() => fetchResponded(net, pending, response), undefined);
        return response;
      },
      (error: unknown) => {
        safely(() => net.finish(pending, { status: 0, responseSize: null, error: isAbort(error) ? "aborted" : "network" }), undefined);
        throw error;
      },
    );
  };
  win.fetch = patched as typeof fetch;
  return () => {
    active = false;
    if (win.fetch === patched) win.fetch = original;
  };
}

function fetchRequest(
  win: Window & typeof globalThis,
  net: NetworkLog,
  input: RequestInfo | URL,
  init: RequestInit | undefined,
): OutgoingRequest {
  const request = typeof win.Request === "function" && input instanceof win.Request ? input : null;
  const headers = init?.headers ?? request?.headers;
  return {
    type: "fetch",
    method: init?.method ?? request?.method ?? "GET",
    url: request !== null ? request.url : String(input),
    ...(net.recordsHeaders && headers !== undefined ? { headers: headerPairs(win, headers) } : {}),
    // A Request's own body is a stream: reading it would take it from the page.
    body: bodyOf(win, init?.body),
  };
}

function fetchResponded(net: NetworkLog, pending: PendingRequest, response: Response): void {
  const length = response.headers.get("content-length");
  const outcome: RequestOutcome = {
    status: response.status,
    responseSize: length !== null && /^\d+$/.test(length) ? Number(length) : null,
    endedAt: net.time(),
  };
  if (net.recordsHeaders) outcome.headers = [...response.headers];
  if (!net.recordsBodies || !isTextual(response.headers.get("content-type")) || response.bodyUsed) {
    net.finish(pending, outcome);
    return;
  }
  let copy: Response;
  try {
    copy = response.clone();
  } catch {
    net.finish(pending, outcome);
    return;
  }
  readText(copy).then(
    (body) => net.finish(pending, { ...outcome, body }),
    () => net.finish(pending, outcome),
  );
}

/** Up to {@link MAX_READ_BYTES} of a response's body as text; the rest is cancelled. */
async function readText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const decoder = new TextDecoder();
  const deadline = Date.now() + READ_TIMEOUT_MS;
  let text = "";
  let bytes = 0;
  try {
    while (bytes < MAX_READ_BYTES) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<{ done: true; value?: undefined }>((done) => {
        timer = setTimeout(() => done({ done: true }), left);
      });
      const chunk = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (chunk.done) break;
      bytes += chunk.value.byteLength;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return text;
}

function patchXhr(win: Window & typeof globalThis, net: NetworkLog): () => void {
  const proto = win.XMLHttpRequest?.prototype;
  if (proto === undefined) return () => {};
  const { open, setRequestHeader, send } = proto;
  interface Opened {
    method: string;
    url: string;
    headers: Array<[string, string]>;
    pending: PendingRequest | null;
  }
  const opened = new WeakMap<XMLHttpRequest, Opened>();
  let active = true;

  const patchedOpen = function (this: XMLHttpRequest, ...args: unknown[]): void {
    if (active) {
      safely(() => {
        // Opening again ends the request in flight without any event: it is forgotten.
        const previous = opened.get(this)?.pending;
        if (previous) net.cancel(previous);
        opened.set(this, { method: String(args[0]), url: String(args[1]), headers: [], pending: null });
      }, undefined);
    }
    return (open as (...a: unknown[]) => void).apply(this, args);
  };
  const patchedSetRequestHeader = function (this: XMLHttpRequest, name: string, value: string): void {
    if (active && net.recordsHeaders) {
      safely(() => {
        const state = opened.get(this);
        if (state && state.headers.length < MAX_HEADERS) state.headers.push([String(name), String(value)]);
      }, undefined);
    }
    return setRequestHeader.call(this, name, value);
  };
  const patchedSend = function (this: XMLHttpRequest, ...args: unknown[]): void {
    const state = active && ownCalls === 0 ? opened.get(this) : undefined;
    const pending =
      state === undefined
        ? null
        : safely(
            () => net.begin({ type: "xhr", method: state.method, url: state.url, headers: state.headers, body: bodyOf(win, args[0]) }),
            null,
          );
    if (state !== undefined && pending !== null) {
      state.pending = pending;
      safely(() => followXhr(this, net, pending), undefined);
    }
    try {
      return (send as (...a: unknown[]) => void).apply(this, args);
    } catch (error) {
      if (pending !== null) net.cancel(pending);
      throw error;
    }
  };
  proto.open = patchedOpen as typeof proto.open;
  proto.setRequestHeader = patchedSetRequestHeader;
  proto.send = patchedSend;
  return () => {
    active = false;
    if (proto.open === patchedOpen) proto.open = open;
    if (proto.setRequestHeader === patchedSetRequestHeader) proto.setRequestHeader = setRequestHeader;
    if (proto.send === patchedSend) proto.send = send;
  };
}

/** Listens for how `xhr` ends; the page's own listeners see the same events as before. */
function followXhr(xhr: XMLHttpRequest, net: NetworkLog, pending: PendingRequest): void {
  let error: RequestOutcome["error"];
  const onError = (): void => void (error = "network");
  const onAbort = (): void => void (error = "aborted");
  const onTimeout = (): void => void (error = "timeout");
  const onLoadEnd = (event: ProgressEvent): void => {
    xhr.removeEventListener("error", onError);
    xhr.removeEventListener("abort", onAbort);
    xhr.removeEventListener("timeout", onTimeout);
    xhr.removeEventListener("loadend", onLoadEnd);
    safely(() => {
      const outcome: RequestOutcome = {
        status: error === undefined ? xhr.status : 0,
        responseSize: error === undefined && event.loaded > 0 ? event.loaded : error === undefined ? 0 : null,
        ...(error === undefined ? {} : { error }),
      };
      if (net.recordsHeaders && error === undefined) outcome.headers = parseHeaderLines(xhr.getAllResponseHeaders());
      if (net.recordsBodies && error === undefined) {
        const body = xhrText(xhr);
        if (body !== undefined) outcome.body = body;
      }
      net.finish(pending, outcome);
    }, undefined);
  };
  xhr.addEventListener("error", onError);
  xhr.addEventListener("abort", onAbort);
  xhr.addEventListener("timeout", onTimeout);
  xhr.addEventListener("loadend", onLoadEnd);
}

/** A textual XHR response (the `responseType`s that hold text), cut short before redaction. */
function xhrText(xhr: XMLHttpRequest): string | undefined {
  if (xhr.responseType === "" || xhr.responseType === "text") {
    return isTextual(xhr.getResponseHeader("content-type")) ? xhr.responseText.slice(0, MAX_READ_BYTES) : undefined;
  }
  if (xhr.responseType === "json") return JSON.stringify(xhr.response)?.slice(0, MAX_READ_BYTES);
  return undefined;
}

/** A request body's size when known, and its text when it is text or a form. */
function bodyOf(win: Window & typeof globalThis, body: unknown): OutgoingRequest["body"] {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return { size: utf8Length(body), text: body.slice(0, MAX_READ_BYTES) };
  if (typeof win.URLSearchParams === "function" && body instanceof win.URLSearchParams) {
    const text = body.toString();
    return { size: text.length, text };
  }
  if (typeof win.Blob === "function" && body instanceof win.Blob) return { size: body.size };
  if (body instanceof ArrayBuffer) return { size: body.byteLength };
  if (ArrayBuffer.isView(body)) return { size: body.byteLength };
  if (typeof win.FormData === "function" && body instanceof win.FormData) {
    // Multipart: its size on the wire is the browser's to know; its fields are text.
    const fields = new URLSearchParams();
    for (const [name, value] of body.entries()) {
      fields.append(name, typeof value === "string" ? value : `[file ${value.name}, ${value.size} bytes]`);
    }
    return { size: null, text: fields.toString() };
  }
  return { size: null };
}

function headerPairs(win: Window & typeof globalThis, headers: HeadersInit): Array<[string, string]> {
  if (typeof win.Headers === "function" && headers instanceof win.Headers) return [...headers];
  if (Array.isArray(headers)) return headers.map(([name, value]) => [String(name), String(value)]);
  return Object.entries(headers).map(([name, value]) => [name, String(value)]);
}

/** Response bodies worth recording as text. */
function isTextual(contentType: string | null): boolean {
  if (contentType === null) return false;
  return /^\s*(text\/|application\/(json|xml|x-www-form-urlencoded|graphql|javascript|[\w.+-]*\+(json|xml))\b)/i.test(contentType);
}

function isAbort(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}
