// The console's OpenID Connect sign-in in Chromium, against a small identity provider on loopback
// (discovery, JWKS, authorize, token; RS256 with the fixed test key of tests/oidc/): the agent
// clicks through, lands signed in with the role its groups give, holds no credential a script
// can read, and its console hides what its role cannot do.
import assert from "node:assert/strict";
import { createSign, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPO, eventually, freePort, launchBrowser, openSession, openUser, startServer } from "./harness.mjs";

const KEY_PEM = readFileSync(join(REPO, "tests/oidc/key-1.pem"), "utf8");
const JWK = JSON.parse(readFileSync(join(REPO, "tests/oidc/key-1.jwk.json"), "utf8"));
const CLIENT_ID = "cobrowse-e2e";

const b64url = (data) => Buffer.from(data).toString("base64url");

function idToken(claims) {
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: JWK.kid }));
  const body = b64url(JSON.stringify(claims));
  const signature = createSign("RSA-SHA256").update(`${header}.${body}`).sign(KEY_PEM).toString("base64url");
  return `${header}.${body}.${signature}`;
}

/** The identity provider: it signs in whoever comes, as Ada, a viewer. */
async function startProvider() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const nonces = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url, issuer);
    const json = (body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/.well-known/openid-configuration") {
      return json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
      });
    }
    if (url.pathname === "/jwks") return json({ keys: [JWK] });
    if (url.pathname === "/authorize") {
      const code = randomUUID();
      nonces.set(code, url.searchParams.get("nonce"));
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let body = "";
      req.on("data", (chunk) => { body += chunk; });
      req.on("end", () => {
        const form = new URLSearchParams(body);
        const now = Math.floor(Date.now() / 1000);
        json({
          token_type: "Bearer",
          access_token: "unused",
          id_token: idToken({
            iss: issuer, aud: CLIENT_ID, sub: "user-1", preferred_username: "ada", name: "Ada Lovelace",
            groups: ["staff"], nonce: nonces.get(form.get("code")), iat: now, exp: now + 300,
          }),
        });
      });
      return undefined;
    }
    res.writeHead(404);
    return res.end();
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { issuer, stop: () => new Promise((ok) => server.close(ok)) };
}

let browser;
let provider;
let server;
before(async () => {
  browser = await launchBrowser();
  provider = await startProvider();
  const port = await freePort();
  server = await startServer({
    port,
    args: [
      "--oidc-issuer", provider.issuer,
      "--oidc-client-id", CLIENT_ID,
      "--oidc-redirect-url", `http://127.0.0.1:${port}/api/v1/oidc/callback`,
      "--oidc-role-map", "viewer=staff",
    ],
  });
});
after(async () => {
  await server?.stop();
  await provider?.stop();
  await browser?.close();
});

test("an agent signs in with the identity provider and its console offers only what a viewer may", async () => {
  const u = await openUser(browser, server);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.click("#sign-in-oidc");
  await page.waitForSelector("#session-list");
  await eventually(async () => (await page.textContent("#whoami")) === "Ada Lovelace (viewer)", 5_000, "who is signed in");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes("cobrowse_session"), `no credential readable by scripts: ${stored}`);

  await openSession({ context, page }, u.id);
  assert.equal(await page.isVisible('[data-testid="request-control"]'), false, "a viewer is not offered control");
  await context.close();
  await u.context.close();
});
