/**
 * What the network recorder keeps of a request's headers and bodies, when a site turned them on
 * (they are off by default): values under names that look like secrets (passwords, PINs, tokens,
 * keys, card numbers, cookies) are replaced by {@link REDACTED} before anything leaves the page,
 * like a password field's value never does, and so is every occurrence of what the user typed
 * into a field the recording hides ({@link SecretValues}, from page-secrets.ts: a password sent
 * under a name no list foresees, `{"p": "hunter2"}`, is still caught). Every piece is cut to a
 * bound. Pure functions.
 */

/** What a redacted value is recorded as. */
export const REDACTED = "[redacted]";
/** Characters of a body kept; the rest is cut and the entry says `…` at the end. */
export const MAX_BODY_CHARS = 10_000;
/** Headers kept per request or response. */
export const MAX_HEADERS = 40;
/** Characters of one header value kept. */
export const MAX_HEADER_VALUE_CHARS = 512;
/** Bodies up to this long are parsed as JSON or a form; longer ones are treated as text. */
export const MAX_PARSED_CHARS = 100_000;
/** How deep a JSON body is walked for secret-looking keys; deeper objects are redacted whole. */
const MAX_JSON_DEPTH = 12;
/**
 * Characters of unparsed text looked at beyond what is kept: a page value up to
 * {@link MAX_SECRET_VALUE_CHARS} long that starts within the kept part ends within this.
 */
const TEXT_MARGIN = 1024;
/** Page values compared with a request's pieces; longer ones are not compared. */
export const MAX_SECRET_VALUE_CHARS = 1000;
/** Page values shorter than this are not compared: they would match all over every body. */
export const MIN_SECRET_VALUE_CHARS = 3;

/**
 * Parts of a name (split on camelCase, digits, `_`, `-`, `.`, …) that mark its value as a secret
 * when a part is exactly one of these: `userPass`, `pinCode`, `otp_code`, `customer_ssn`,
 * `X-Auth`. Whole parts only, so `spinner`, `author` or `passenger` are not secrets.
 */
const SECRET_WORDS = new Set([
  "pass",
  "pw",
  "pwd",
  "pin",
  "otp",
  "ssn",
  "auth",
  "secret",
  "token",
  "card",
  "cvv",
  "cvc",
  "iban",
  "cookie",
  "jwt",
  "signature",
  "passwort",
  "kennwort",
]);
/**
 * Names that are a secret only on their own: an OAuth callback's `?code=`, an API `?key=`, a
 * signed URL's `sig=` (as parts they are everywhere: `countryCode`, `sortKey`).
 */
const SECRET_NAMES = new Set(["code", "key", "sig"]);
/** Runs of letters anywhere in a name (lower case, separators dropped) that mark it a secret. */
const SECRET_PARTS = [
  "password",
  "passwd",
  "passphrase",
  "passcode",
  "securitycode",
  "secret",
  "token",
  "apikey",
  "authorization",
  "credential",
  "cardnumber",
  "creditcard",
  "session",
  "csrf",
  "xsrf",
  "privatekey",
  "accesskey",
  "motdepasse",
  // contraseña, whose ñ is not a letter of the parts: `contrase` + `a`.
  "contrase",
];

/**
 * Whether a field, form parameter or header called `name` holds something that must not leave
 * the page: `password`, `new_password`, `userPass`, `pinCode`, `X-Auth`, `X-Api-Key`, `apiKey`,
 * `Cookie`, `cvv`, `security_code`, `X-Amz-Signature`, `private_key`, `Passwort`, `mot_de_passe`,
 * and on their own `code`, `key`, `sig`, ….
 */
export function isSecretName(name: string): boolean {
  if (SECRET_NAMES.has(name.trim().toLowerCase())) return true;
  const parts = name.slice(0, 256).match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g) ?? [];
  if (parts.some((part) => SECRET_WORDS.has(part.toLowerCase()))) return true;
  const plain = parts.join("").toLowerCase();
  return plain !== "" && SECRET_PARTS.some((part) => plain.includes(part));
}

/**
 * The current values of the page's hidden fields (passwords, masked inputs, inputs in blocked
 * elements), as one request's pieces are compared with them: each occurrence of a value, as
 * typed, URL-encoded or JSON-escaped, is replaced by {@link REDACTED}. Made once per request.
 */
export class SecretValues {
  /**
   * Every form a value may take in a body, longest first (a longer one may contain a shorter),
   * as one pattern: replaced in one pass, so a value found inside {@link REDACTED} (`red`) does
   * not garble what was already replaced. Null when there is none.
   */
  private readonly pattern: RegExp | null;
  private readonly whole: Set<string>;

  constructor(values: Iterable<string>) {
    const forms = new Set<string>();
    this.whole = new Set();
    for (const value of values) {
      if (value.length < MIN_SECRET_VALUE_CHARS || value.length > MAX_SECRET_VALUE_CHARS) continue;
      this.whole.add(value);
      forms.add(value);
      forms.add(encodeURIComponent(value));
      forms.add(new URLSearchParams({ v: value }).toString().slice(2));
      forms.add(JSON.stringify(value).slice(1, -1));
    }
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    this.pattern = sorted.length === 0 ? null : new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  }

  /** Whether `value` is one of the page's values, whole (a JSON number, say). */
  has(value: string): boolean {
    return this.whole.has(value);
  }

  /** `text` with every occurrence of a page value replaced by {@link REDACTED}. */
  redactIn(text: string): string {
    return this.pattern === null ? text : text.replace(this.pattern, REDACTED);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** No page values: name rules only. */
const NO_SECRETS = new SecretValues([]);

/** `text` cut to `max` characters, with `…` when something was cut. */
export function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * Headers as recorded: secret-looking ones and page values redacted, at most
 * {@link MAX_HEADERS}, values bounded.
 */
export function recordedHeaders(headers: Iterable<[string, string]>, secrets: SecretValues = NO_SECRETS): Record<string, string> {
  const out: Record<string, string> = {};
  let count = 0;
  for (const [rawName, value] of headers) {
    if (count >= MAX_HEADERS) break;
    const name = rawName.toLowerCase().slice(0, 128);
    const text = String(value).slice(0, MAX_HEADER_VALUE_CHARS + TEXT_MARGIN);
    out[name] = isSecretName(name) ? REDACTED : bounded(secrets.redactIn(text), MAX_HEADER_VALUE_CHARS);
    count++;
  }
  return out;
}

/** The headers of a `getAllResponseHeaders()` text, as name/value pairs. */
export function parseHeaderLines(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

/**
 * A body as recorded: JSON has the values of secret-looking keys redacted at any depth; a form
 * (`a=1&password=x`) has those parameters redacted; other text has `name: value` and `name=value`
 * pairs with a secret-looking name redacted, which is the best text without structure allows.
 * In all three, every occurrence of one of the page's hidden values (`secrets`) is redacted too.
 * The result is cut to {@link MAX_BODY_CHARS}.
 */
export function recordedBody(text: string, secrets: SecretValues = NO_SECRETS): string {
  const trimmed = text.trim();
  // A body too long to keep whole is not parsed (it would be cut anyway): its pairs are redacted.
  if (trimmed.length <= MAX_PARSED_CHARS && (trimmed.startsWith("{") || trimmed.startsWith("["))) {
    try {
      return bounded(JSON.stringify(redactJson(JSON.parse(trimmed), 0, secrets)), MAX_BODY_CHARS);
    } catch {
      // Not JSON after all: treated as text below.
    }
  }
  if (trimmed.length <= MAX_PARSED_CHARS && /^[^\s=&]+=[^\s&]*(&[^\s=&]+=[^\s&]*)*$/.test(trimmed)) {
    const params = new URLSearchParams(trimmed);
    const redacted = new URLSearchParams();
    for (const [key, value] of params) redacted.append(key, isSecretName(key) ? REDACTED : secrets.redactIn(value));
    return bounded(redacted.toString(), MAX_BODY_CHARS);
  }
  return bounded(secrets.redactIn(redactPairs(text.slice(0, MAX_BODY_CHARS + TEXT_MARGIN))), MAX_BODY_CHARS);
}

function redactJson(value: unknown, depth: number, secrets: SecretValues): unknown {
  if (typeof value === "string") return secrets.redactIn(value);
  if (typeof value === "number") return secrets.has(String(value)) ? REDACTED : value;
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_JSON_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactJson(item, depth + 1, secrets));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSecretName(key) ? REDACTED : redactJson(item, depth + 1, secrets);
  }
  return out;
}

/**
 * `name: value`, `"name": "value"`, `name=value` and `<name>value</name>` (XML, SOAP) with a
 * secret-looking name, value redacted.
 */
function redactPairs(text: string): string {
  return text
    .replace(
      /(["']?)([A-Za-z][\w.-]{0,63})\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s&,;}<]+)/g,
      (whole, quote: string, name: string, sep: string) =>
        isSecretName(name) ? `${quote}${name}${quote}${sep}"${REDACTED}"` : whole,
    )
    .replace(/<((?:[A-Za-z][\w.-]{0,31}:)?([A-Za-z][\w.-]{0,63}))(\s[^<>]{0,512})?>([^<]{0,4096})<\/\1>/g, (whole, tag: string, name: string, attributes: string | undefined) =>
      isSecretName(name) ? `<${tag}${attributes ?? ""}>${REDACTED}</${tag}>` : whole,
    );
}

/** Length of `text` in UTF-8 bytes, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
