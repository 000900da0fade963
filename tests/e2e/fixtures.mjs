// Fixture pages of our own (tests/e2e/fixtures/), served from an origin other than the cobrowse
// server's, as a customer's site would be: each page loads the tracker from `/tracker.js` (the
// built bundle) and names the server in its `?server=` query. The same server offers a page that
// replays events in rrweb's stock Replayer (`replay.html`).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { REPO, api, eventually } from "./harness.mjs";

const FIXTURES = join(REPO, "tests/e2e/fixtures");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".cjs": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
};

/** Where a request path is read from, or undefined. */
function fileFor(path) {
  if (path === "/tracker.js") return join(REPO, "tracker-plugin/dist/cobrowse-tracker.js");
  if (path.startsWith("/rrweb/")) {
    return join(REPO, "agent-console/node_modules/rrweb/dist", normalize(path.slice(7)).replace(/^(\.\.[/\\])+/, ""));
  }
  const file = normalize(path).replace(/^(\.\.[/\\])+/, "");
  return join(FIXTURES, file);
}

/** Starts the fixture server; `page(name, query)` is a fixture's URL recording into `cobrowse`. */
export async function serveFixtures(cobrowse) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://fixtures");
    // `/slow?ms=N`: an image that arrives after N ms, which holds back the load event.
    if (url.pathname === "/slow") {
      await new Promise((ok) => setTimeout(ok, Number(url.searchParams.get("ms") ?? 0)));
      response.writeHead(200, { "content-type": TYPES[".svg"] });
      response.end('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>');
      return;
    }
    try {
      const file = fileFor(url.pathname);
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    page(name, query = {}) {
      const params = new URLSearchParams({ server: cobrowse.url, ...query });
      return `${origin}/${name}?${params}`;
    },
    stop: () => new Promise((ok) => server.close(ok)),
  };
}

/** The id of the session of the user named `user` (a fixture page's `?user=`), once it exists. */
export async function sessionOf(server, user) {
  return eventually(async () => {
    const { sessions } = await api(server, `/api/v1/sessions?user=${encodeURIComponent(user)}`);
    return sessions.find((s) => s.user_id === user)?.id;
  }, 15_000, `the session of ${user}`);
}

/**
 * What the measurements compare, read in a page (live, or a replay's document): the text of the
 * rendered tree and its number of elements, into open shadow roots and same-origin iframes.
 * `<head>` and what does not render (scripts, styles) are left out: rrweb rebuilds scripts as
 * `<noscript>` and the Replayer adds style elements of its own. Nor is the tracker's own UI host
 * (`<cobrowse-ui>`: its prompts, and the badge naming who watches, shown while an agent does): it is
 * blocked from the recording, a 0×0 placeholder in a replay, not the page. Pass it to `evaluate`
 * as is.
 */
export function pageFacts(root) {
  const SKIP = new Set(["HEAD", "SCRIPT", "NOSCRIPT", "STYLE", "LINK", "META", "TEMPLATE", "COBROWSE-UI"]);
  const texts = [];
  let elements = 0;
  const walk = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        const text = child.data.replace(/\s+/g, " ").trim();
        if (text !== "") texts.push(text);
      } else if (child.nodeType === Node.ELEMENT_NODE && !SKIP.has(child.nodeName.toUpperCase())) {
        elements++;
        if (child.shadowRoot) walk(child.shadowRoot);
        if (child.nodeName.toUpperCase() === "IFRAME" && child.contentDocument?.documentElement) {
          walk(child.contentDocument.documentElement);
        }
        walk(child);
      }
    }
  };
  walk((root ?? document).documentElement);
  return { text: texts.join(" "), elements };
}
