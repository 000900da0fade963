// The network recorder: what it keeps of a request by default and when a site opts in, its
// bounds, the site's sanitizer, and that patching fetch and XMLHttpRequest changes nothing the
// page sees. Requests go to a real HTTP server on a loopback port.
import { createServer, type Server } from "node:http";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  BURST_ENTRIES,
  MAX_IN_FLIGHT,
  type NetworkEntry,
  NetworkLog,
  type NetworkOptions,
  networkSettings,
} from "../src/network";
import { type NetworkRecording, startNetworkRecording, withoutRecording } from "../src/network-patch";
import { isSecretName, MAX_BODY_CHARS, REDACTED, recordedBody, recordedHeaders, SecretValues } from "../src/network-privacy";
import { MAX_FIELDS_SCANNED, MAX_SECRET_VALUES, pageSecretValues } from "../src/page-secrets";

const SERVER = "http://cobrowse.test";

function logOf(option: boolean | NetworkOptions = true, recordQuery = false, clock = { t: 1000 }) {
  const entries: Array<{ entry: NetworkEntry; ts: number }> = [];
  const settings = networkSettings(option, recordQuery, SERVER);
  if (settings === null) throw new Error("network recording is off");
  const net = new NetworkLog(settings, (entry, ts) => entries.push({ entry, ts }), () => clock.t, () => "https://shop.test/cart");
  return { net, entries, clock };
}

describe("NetworkLog", () => {
  it("records method, URL without query, status, timing and sizes, and nothing else by default", () => {
    const { net, entries, clock } = logOf();
    const pending = net.begin({
      type: "fetch",
      method: "post",
      url: "/api/orders?token=s3cret#frag",
      headers: [["Authorization", "Bearer abc"]],
      body: { size: 11, text: '{"a":"b12"}' },
    });
    clock.t = 1250;
    net.finish(pending!, { status: 201, responseSize: 42, headers: [["set-cookie", "x"]], body: "{}" });
    expect(entries).toEqual([
      {
        ts: 1250,
        entry: {
          type: "fetch",
          method: "POST",
          url: "https://shop.test/api/orders",
          status: 201,
          startedAt: 1000,
          duration: 250,
          requestSize: 11,
          responseSize: 42,
          failed: false,
        },
      },
    ]);
  });

  it("keeps the query with recordQuery", () => {
    const { net, entries } = logOf(true, true);
    net.finish(net.begin({ type: "xhr", method: "GET", url: "https://api.test/x?q=1" })!, { status: 200, responseSize: 0 });
    expect(entries[0]!.entry.url).toBe("https://api.test/x?q=1");
  });

  it("never records credentials in a URL, also with recordQuery", () => {
    for (const recordQuery of [false, true]) {
      const { net, entries } = logOf(true, recordQuery);
      net.finish(net.begin({ type: "fetch", method: "GET", url: "https://ann:hunter2@api.test/x?q=1" })!, { status: 200, responseSize: 0 });
      expect(entries[0]!.entry.url).toBe(recordQuery ? "https://api.test/x?q=1" : "https://api.test/x");
    }
  });

  it("marks 4xx/5xx and network errors, aborts and timeouts as failed", () => {
    const { net, entries } = logOf();
    const end = (outcome: Parameters<NetworkLog["finish"]>[1]) =>
      net.finish(net.begin({ type: "fetch", method: "GET", url: "/x" })!, outcome);
    end({ status: 404, responseSize: null });
    end({ status: 503, responseSize: null });
    end({ status: 0, responseSize: null, error: "network" });
    end({ status: 0, responseSize: null, error: "aborted" });
    end({ status: 302, responseSize: null });
    end({ status: 0, responseSize: null });
    expect(entries.map((e) => [e.entry.status, e.entry.error, e.entry.failed])).toEqual([
      [404, undefined, true],
      [503, undefined, true],
      [0, "network", true],
      [0, "aborted", true],
      [302, undefined, false],
      [0, undefined, false],
    ]);
  });

  it("never records the cobrowse server's API, nor what the site ignores", () => {
    const { net } = logOf({ ignoreUrls: ["https://metrics.test/", /\/health$/] });
    expect(net.begin({ type: "fetch", method: "GET", url: `${SERVER}/api/v1/sessions/code` })).toBeNull();
    expect(net.begin({ type: "fetch", method: "GET", url: "https://metrics.test/beacon" })).toBeNull();
    expect(net.begin({ type: "fetch", method: "GET", url: "/health" })).toBeNull();
    expect(net.begin({ type: "fetch", method: "GET", url: `${SERVER}/demo/missing.json` })).not.toBeNull();
  });

  it("ignores the same URLs every time, also for a RegExp with the g or y flag", () => {
    const { net } = logOf({ ignoreUrls: [/\/health$/g, /^https:\/\/shop\.test\/ping/y] });
    for (let i = 0; i < 4; i++) {
      expect(net.begin({ type: "fetch", method: "GET", url: "/health" }), `health ${i}`).toBeNull();
      expect(net.begin({ type: "fetch", method: "GET", url: "/ping" }), `ping ${i}`).toBeNull();
    }
  });

  it("is off with `network: false`", () => {
    expect(networkSettings(false, false, SERVER)).toBeNull();
  });

  it("redacts secret-looking headers and body values when headers and bodies are on", () => {
    const { net, entries } = logOf({ headers: true, body: true });
    const pending = net.begin({
      type: "fetch",
      method: "POST",
      url: "/login",
      headers: [["Authorization", "Bearer abc"], ["Content-Type", "application/json"], ["X-CSRF-Token", "t"]],
      body: { size: 40, text: '{"user":"ann","password":"hunter2","payment":{"cvv":"123"}}' },
    });
    net.finish(pending!, {
      status: 200,
      responseSize: 10,
      headers: [["set-cookie", "sid=1"], ["content-type", "application/json"]],
      body: '{"ok":true,"access_token":"zzz"}',
    });
    const entry = entries[0]!.entry;
    expect(entry.requestHeaders).toEqual({ authorization: REDACTED, "content-type": "application/json", "x-csrf-token": REDACTED });
    expect(entry.responseHeaders).toEqual({ "set-cookie": REDACTED, "content-type": "application/json" });
    expect(JSON.parse(entry.requestBody!)).toEqual({ user: "ann", password: REDACTED, payment: { cvv: REDACTED } });
    expect(JSON.parse(entry.responseBody!)).toEqual({ ok: true, access_token: REDACTED });
    expect(JSON.stringify(entry)).not.toMatch(/hunter2|abc|zzz|sid=1|"123"/);
  });

  it("bounds entries per second and says how many it left out", () => {
    const { net, entries, clock } = logOf();
    const one = () => net.finish(net.begin({ type: "fetch", method: "GET", url: "/poll" })!, { status: 200, responseSize: 0 });
    for (let i = 0; i < BURST_ENTRIES + 5; i++) one();
    expect(entries).toHaveLength(BURST_ENTRIES);
    clock.t += 1000;
    one();
    expect(entries).toHaveLength(BURST_ENTRIES + 1);
    expect(entries.at(-1)!.entry.dropped).toBe(5);
  });

  it("follows at most MAX_IN_FLIGHT requests at once", () => {
    const { net } = logOf();
    const pending = Array.from({ length: MAX_IN_FLIGHT }, () => net.begin({ type: "xhr", method: "GET", url: "/slow" }));
    expect(pending.every((p) => p !== null)).toBe(true);
    expect(net.begin({ type: "xhr", method: "GET", url: "/slow" })).toBeNull();
    net.finish(pending[0]!, { status: 200, responseSize: 0 });
    expect(net.begin({ type: "xhr", method: "GET", url: "/slow" })).not.toBeNull();
  });

  it("lets the site's sanitizer change or drop entries, within the entry's shape and the options", () => {
    const sanitize = (entry: NetworkEntry): NetworkEntry | null => {
      if (entry.url.includes("/private/")) return null;
      if (entry.url.includes("/boom")) throw new Error("bug in the sanitizer");
      return { ...entry, url: entry.url.replace(/\/users\/\d+/, "/users/:id"), requestHeaders: { leak: "x" }, extra: 1 } as NetworkEntry;
    };
    const { net, entries } = logOf({ sanitize });
    for (const url of ["/users/42/orders", "/private/notes", "/boom"]) {
      net.finish(net.begin({ type: "fetch", method: "GET", url })!, { status: 200, responseSize: 1 });
    }
    expect(entries.map((e) => e.entry.url)).toEqual(["https://shop.test/users/:id/orders"]);
    expect(entries[0]!.entry).not.toHaveProperty("requestHeaders");
    expect(entries[0]!.entry).not.toHaveProperty("extra");
  });

  it("records a sanitizer's result only when it returns an entry", () => {
    const { net, entries } = logOf({ sanitize: (() => undefined) as unknown as NetworkOptions["sanitize"] });
    net.finish(net.begin({ type: "fetch", method: "GET", url: "/a" })!, { status: 200, responseSize: 1 });
    expect(entries).toHaveLength(0);
  });
});

describe("network privacy", () => {
  it("knows secret-looking names", () => {
    for (const name of ["password", "new_password", "X-Auth-Token", "apiKey", "Cookie", "cvv", "pin", "client_secret", "sessionId"]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ["shipping", "author", "email", "quantity", "content-type"]) expect(isSecretName(name), name).toBe(false);
  });

  it("knows secrets by a part of their name, and not by letters inside a word", () => {
    const secrets = ["pw", "passcode", "userPass", "pinCode", "PINCode", "otp_code", "customer_ssn", "customerSSN", "security_code"];
    secrets.push("x-auth", "X-Api-Key", "card.cvc", "payout-iban", "pwd2", "user.pw", "cardType", "refresh-token");
    for (const name of secrets) expect(isSecretName(name), name).toBe(true);
    secrets.push("X-Amz-Signature", "private_key", "accessKey", "Passwort", "kennwort", "mot_de_passe", "contraseña", "code", "key", "sig");
    const plain = ["spinner", "opinion", "pinned", "passenger", "compass", "bypass", "authority", "postcard", "discard", "keyboard"];
    // Alone they are secrets; as parts of a name they are everywhere.
    plain.push("countryCode", "zip_code", "sortKey", "monkey", "design");
    for (const name of plain) expect(isSecretName(name), name).toBe(false);
  });

  it("redacts the page's hidden values wherever a body or a header carries them", () => {
    const secrets = new SecretValues(["hunter2", "424242", 'a "quoted" & spaced', "no"]);
    expect(JSON.parse(recordedBody('{"p":"hunter2","n":424242,"q":["say hunter2!"],"ok":"yes no"}', secrets))).toEqual({
      p: REDACTED,
      n: REDACTED,
      q: [`say ${REDACTED}!`],
      // "no" is too short to compare: it would match all over every body.
      ok: "yes no",
    });
    expect(recordedBody(`x=1&code=${encodeURIComponent('a "quoted" & spaced')}`, secrets)).toBe(`x=1&code=${encodeURIComponent(REDACTED)}`);
    expect(recordedBody('<login user="ann" p="hunter2"/>', secrets)).toBe(`<login user="ann" p="${REDACTED}"/>`);
    // XML and SOAP elements named like secrets, whatever their value.
    const soap = '<s:Body><Login><user>ann</user><Password type="x">s3cr3t</Password><wsse:Token>t0k</wsse:Token></Login></s:Body>';
    expect(recordedBody(soap, secrets)).toBe(
      `<s:Body><Login><user>ann</user><Password type="x">${REDACTED}</Password><wsse:Token>${REDACTED}</wsse:Token></Login></s:Body>`,
    );
    expect(recordedBody(`mutation { login(p: "${'a \\"quoted\\" & spaced'}") }`, secrets)).not.toContain("quoted");
    expect(recordedBody("q=a+%22quoted%22+%26+spaced", secrets)).not.toContain("quoted");
    expect(recordedHeaders([["X-Thing", "v=424242"]], secrets)).toEqual({ "x-thing": `v=${REDACTED}` });
    // A short value inside the redaction mark does not garble it.
    expect(recordedBody("a hunter2", new SecretValues(["hunter2", "red"]))).toBe(`a ${REDACTED}`);
  });

  it("reads the values of password fields, masked inputs and inputs in blocked elements", () => {
    document.body.innerHTML = `
      <input type="password" value="hunter2">
      <input name="q" value="red shoes">
      <input type="checkbox" value="on-and-on" checked>
      <div data-cobrowse-block><input value="blocked-1"></div>
      <div class="cobrowse-mask"><textarea>masked note</textarea></div>
      <select><option value="standard" selected>Standard</option></select>`;
    try {
      // By default every input is masked: every value counts, passwords first.
      expect(pageSecretValues(document)).toEqual(["hunter2", "blocked-1", "red shoes", "masked note", "standard"]);
      // With maskAllInputs off, only passwords and what is blocked or masked.
      expect(pageSecretValues(document, { maskAllInputs: false })).toEqual(["hunter2", "blocked-1", "masked note"]);
      expect(pageSecretValues(document, { maskAllInputs: false, blockSelector: "select" })).toEqual(["hunter2", "blocked-1", "standard", "masked note"]);
    } finally {
      document.body.innerHTML = "";
    }
  });

  it("reads a bounded number of fields and values, passwords first", () => {
    const many = Array.from({ length: MAX_FIELDS_SCANNED + 10 }, (_, i) => `<input value="value-${i}">`).join("");
    document.body.innerHTML = `${many}<input type="password" value="late-password">`;
    try {
      const values = pageSecretValues(document);
      expect(values).toHaveLength(MAX_SECRET_VALUES);
      expect(values[0]).toBe("value-0");
      document.body.insertAdjacentHTML("afterbegin", '<input type="password" value="early-password">');
      expect(pageSecretValues(document)[0]).toBe("early-password");
    } finally {
      document.body.innerHTML = "";
    }
  });

  it("redacts forms and loose text, and cuts long bodies", () => {
    expect(recordedBody("user=ann&password=hunter2")).toBe(`user=ann&password=${encodeURIComponent(REDACTED)}`);
    expect(recordedBody("login ann password: hunter2 ok")).not.toContain("hunter2");
    expect(recordedBody("x".repeat(MAX_BODY_CHARS * 2))).toHaveLength(MAX_BODY_CHARS + 1);
    expect(Object.keys(recordedHeaders(Array.from({ length: 100 }, (_, i) => [`h${i}`, "v"] as [string, string])))).toHaveLength(40);
  });
});

describe("patched fetch and XMLHttpRequest", () => {
  let server: Server;
  let origin: string;
  let recording: NetworkRecording | null = null;
  const originalFetch = window.fetch;
  const originalOpen = XMLHttpRequest.prototype.open;
  const originalSend = XMLHttpRequest.prototype.send;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "*" };
      if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
      if (req.url?.startsWith("/missing")) return res.writeHead(404, { ...cors, "content-type": "text/plain" }).end("not here");
      if (req.url?.startsWith("/slow")) return setTimeout(() => res.writeHead(200, cors).end("late"), 2000);
      if (req.url?.startsWith("/echo")) {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk) => {
          body += chunk;
        });
        req.on("end", () => res.writeHead(200, { ...cors, "content-type": "application/json" }).end(body));
        return;
      }
      const body = JSON.stringify({ hello: "page", token: "t0k" });
      res.writeHead(200, { ...cors, "content-type": "application/json", "content-length": String(body.length) }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(ok));
  });
  afterEach(() => {
    recording?.stop();
    recording = null;
    window.fetch = originalFetch;
  });

  function record(option: boolean | NetworkOptions = true) {
    const entries: NetworkEntry[] = [];
    const settings = networkSettings(option, false, SERVER, () => pageSecretValues(document));
    const net = new NetworkLog(settings!, (entry) => entries.push(entry));
    recording = startNetworkRecording(window, net);
    return entries;
  }

  const settled = (entries: NetworkEntry[], n: number) =>
    expect.poll(() => entries.length, { timeout: 5000 }).toBe(n);

  it("gives the page the same response and records the request", async () => {
    const entries = record();
    const response = await window.fetch(`${origin}/data?user=ann`, { method: "POST", body: "a=1" });
    expect(await response.json()).toEqual({ hello: "page", token: "t0k" });
    await settled(entries, 1);
    expect(entries[0]).toMatchObject({ type: "fetch", method: "POST", url: `${origin}/data`, status: 200, requestSize: 3, failed: false });
    expect(entries[0]!.responseSize).toBe(JSON.stringify({ hello: "page", token: "t0k" }).length);
  });

  it("records a 404 as failed and the page still reads it", async () => {
    const entries = record();
    const response = await window.fetch(`${origin}/missing.json`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("not here");
    await settled(entries, 1);
    expect(entries[0]).toMatchObject({ status: 404, failed: true });
  });

  it("rethrows the page's network errors and aborts as they were", async () => {
    const entries = record();
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const dead = `http://127.0.0.1:${(closed.address() as { port: number }).port}/x`;
    await new Promise<void>((ok) => closed.close(ok));
    const refused = await window.fetch(dead).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    const controller = new AbortController();
    const slow = window.fetch(`${origin}/slow`, { signal: controller.signal });
    controller.abort();
    const aborted = await slow.catch((e: unknown) => e);
    expect((aborted as Error).name).toBe("AbortError");
    await settled(entries, 2);
    expect(entries.map((e) => [e.error, e.failed])).toEqual([
      ["network", true],
      ["aborted", true],
    ]);
  });

  it("reads a response body from a clone when bodies are on, and redacts it", async () => {
    const entries = record({ body: true });
    const response = await window.fetch(`${origin}/data`);
    await settled(entries, 1);
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual({ hello: "page", token: "t0k" });
    expect(JSON.parse(entries[0]!.responseBody!)).toEqual({ hello: "page", token: REDACTED });
  });

  it("leaves the tracker's own requests out", async () => {
    const entries = record();
    await withoutRecording(() => window.fetch(`${origin}/data`)).then((r) => r.text());
    await window.fetch(`${origin}/missing`).then((r) => r.text());
    await settled(entries, 1);
    expect(entries[0]!.url).toBe(`${origin}/missing`);
  });

  it("records XMLHttpRequest calls while the page's listeners see the same events", async () => {
    const entries = record({ headers: true });
    const seen: string[] = [];
    const xhr = new XMLHttpRequest();
    xhr.open("GET", `${origin}/missing?secret=1`);
    xhr.setRequestHeader("X-Api-Key", "k3y");
    xhr.addEventListener("load", () => seen.push(`load ${xhr.status}`));
    xhr.onloadend = () => seen.push("loadend");
    xhr.send();
    await settled(entries, 1);
    expect(seen).toEqual(["load 404", "loadend"]);
    expect(entries[0]).toMatchObject({ type: "xhr", method: "GET", url: `${origin}/missing`, status: 404, failed: true, responseSize: 8 });
    expect(entries[0]!.requestHeaders).toEqual({ "x-api-key": REDACTED });
  });

  it("records an XMLHttpRequest opened with credentials in its URL without them", async () => {
    const entries = record();
    const xhr = new XMLHttpRequest();
    xhr.open("GET", origin.replace("//", "//ann:hunter2@") + "/data");
    xhr.send();
    await settled(entries, 1);
    expect(entries[0]).toMatchObject({ type: "xhr", url: `${origin}/data`, status: 200 });
    expect(JSON.stringify(entries)).not.toMatch(/ann|hunter2/);
  });

  it("redacts what the user typed into hidden fields from a request and its response, whatever its name", async () => {
    document.body.innerHTML = '<input type="password" value="hunter2"><input name="pin" value="424242">';
    try {
      const entries = record({ headers: true, body: true });
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${origin}/echo`);
      xhr.setRequestHeader("X-Check", "424242");
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.send(JSON.stringify({ user: "ann", p: "hunter2", note: "pin 424242" }));
      await settled(entries, 1);
      expect(JSON.parse(xhr.responseText)).toEqual({ user: "ann", p: "hunter2", note: "pin 424242" });
      const entry = entries[0]!;
      expect(JSON.parse(entry.requestBody!)).toEqual({ user: "ann", p: REDACTED, note: `pin ${REDACTED}` });
      expect(JSON.parse(entry.responseBody!)).toEqual({ user: "ann", p: REDACTED, note: `pin ${REDACTED}` });
      expect(entry.requestHeaders!["x-check"]).toBe(REDACTED);
      expect(JSON.stringify(entry)).not.toMatch(/hunter2|424242/);
    } finally {
      document.body.innerHTML = "";
    }
  });

  it("records an aborted XMLHttpRequest", async () => {
    const entries = record();
    const xhr = new XMLHttpRequest();
    xhr.open("GET", `${origin}/slow`);
    xhr.send();
    xhr.abort();
    await settled(entries, 1);
    expect(entries[0]).toMatchObject({ error: "aborted", failed: true, status: 0 });
  });

  it("puts fetch and XMLHttpRequest back on stop, but keeps a later wrapper working", async () => {
    record();
    expect(window.fetch).not.toBe(originalFetch);
    expect(XMLHttpRequest.prototype.send).not.toBe(originalSend);
    recording!.stop();
    recording = null;
    expect(window.fetch).toBe(originalFetch);
    expect(XMLHttpRequest.prototype.open).toBe(originalOpen);
    expect(XMLHttpRequest.prototype.send).toBe(originalSend);

    const entries = record();
    const ours = window.fetch;
    let wrapped = 0;
    window.fetch = (...args: Parameters<typeof fetch>) => {
      wrapped++;
      return ours(...args);
    };
    recording!.stop();
    recording = null;
    await window.fetch(`${origin}/data`).then((r) => r.text());
    expect(wrapped).toBe(1);
    await new Promise((ok) => setTimeout(ok, 50));
    expect(entries).toHaveLength(0);
  });
});
