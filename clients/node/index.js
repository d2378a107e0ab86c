"use strict";
/**
 * Verify the webhooks hookline sends: the `Ordergroove-Signature` header and Standard Webhooks signatures,
 * `v1` (HMAC-SHA256 with the `whsec_` secret) and `v1a` (Ed25519 with the `whpk_` public key or the keys of
 * the target's JWKS document). Node's own `crypto` does all of it: no dependencies.
 */

const crypto = require("node:crypto");

const DEFAULT_TOLERANCE_SECONDS = 300; // five minutes either way, as the Standard Webhooks libraries use
const SECRET_PREFIX = "whsec_";
const PUBLIC_KEY_PREFIX = "whpk_";
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const MAX_DOCUMENT_BYTES = 1 << 20;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The webhook is not proven authentic: answer it with a 4xx and do not act on it (hookline retries). */
class VerificationError extends Error {
  constructor(message) {
    super(message);
    this.name = "VerificationError";
  }
}

/** The JWKS document could not be fetched and no keys were known: nothing to verify `v1a` with. */
class KeyFetchError extends VerificationError {
  constructor(message, options) {
    super(message);
    this.name = "KeyFetchError";
    if (options && options.cause !== undefined) this.cause = options.cause;
  }
}

/** Header values by lower-case name, from Node's request headers, a fetch `Headers`, or a plain object. */
function lowerHeaders(headers) {
  const entries =
    headers && typeof headers.entries === "function" && typeof headers.get === "function"
      ? Array.from(headers.entries())
      : Object.entries(headers || {});
  const found = {};
  for (const [name, value] of entries) {
    found[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return found;
}

/** The raw body as signed: pass the bytes as received, not JSON parsed and serialised again. */
function bodyBytes(body) {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("the body must be the raw bytes as received (a Buffer or Uint8Array) or a string");
}

/** The timestamp header, if a number within `toleranceSeconds` of `now` (seconds; default: the clock). */
function checkedTimestamp(text, toleranceSeconds, now) {
  if (typeof text !== "string" || !/^[0-9]+$/.test(text)) {
    throw new VerificationError("the signature's timestamp is missing or not a number");
  }
  const ts = Number(text);
  const current = now === undefined ? Date.now() / 1000 : now;
  if (ts < current - toleranceSeconds) throw new VerificationError("the signature's timestamp is too old");
  if (ts > current + toleranceSeconds) {
    throw new VerificationError("the signature's timestamp is too far in the future");
  }
  return text;
}

function safeEqual(expected, given) {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Strict base64 (padding optional): Node's own decoder skips what it does not understand. */
function decodeBase64(text) {
  if (typeof text !== "string") return null;
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  if (padded.length % 4 !== 0 || !BASE64.test(padded)) return null;
  return Buffer.from(padded, "base64");
}

function listed(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function keyBytes(text, prefix, what) {
  if (typeof text !== "string") throw new TypeError(`the ${what} must be a string (${prefix}…)`);
  const decoded = decodeBase64(text.startsWith(prefix) ? text.slice(prefix.length) : text);
  if (decoded === null) throw new TypeError(`the ${what} is not base64 after ${prefix}`);
  if (decoded.length === 0) throw new TypeError(`the ${what} is empty`);
  return decoded;
}

/** An Ed25519 public key (a KeyObject) from its 32 raw bytes. */
function ed25519Key(raw) {
  if (raw.length !== PUBLIC_KEY_BYTES) {
    throw new TypeError(`an Ed25519 public key has ${PUBLIC_KEY_BYTES} bytes, not ${raw.length}`);
  }
  const jwk = { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") };
  return crypto.createPublicKey({ key: jwk, format: "jwk" });
}

function anyVerifies(keys, signatures, message) {
  return keys.some((key) => signatures.some((sig) => crypto.verify(null, message, key, sig)));
}

/**
 * `Ordergroove-Signature: ts=<unix>,sig=<hex HMAC-SHA256 of "{ts}.{body}">`, one `sig=` per key (new first
 * during a rotation). The key is the UTF-8 bytes of the target's `signing_key`; give one or several.
 */
class Ordergroove {
  constructor(signingKey, { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = {}) {
    const keys = listed(signingKey);
    if (keys.length === 0 || !keys.every((k) => typeof k === "string" && k.length > 0)) {
      throw new TypeError("give the target's signing_key (a non-empty string)");
    }
    this.keys = keys.map((k) => Buffer.from(k, "utf8"));
    this.toleranceSeconds = toleranceSeconds;
  }

  /** Returns if a `sig=` is the body's signature by one of the keys; throws `VerificationError` otherwise. */
  verify(body, headers, { now } = {}) {
    const header = lowerHeaders(headers)["ordergroove-signature"];
    if (!header) throw new VerificationError("no Ordergroove-Signature header");
    let ts;
    const given = [];
    for (const part of header.split(",")) {
      const [name, ...rest] = part.trim().split("=");
      if (name === "ts") ts = rest.join("=");
      else if (name === "sig") given.push(rest.join("="));
    }
    ts = checkedTimestamp(ts, this.toleranceSeconds, now);
    const message = Buffer.concat([Buffer.from(`${ts}.`), bodyBytes(body)]);
    for (const key of this.keys) {
      const expected = crypto.createHmac("sha256", key).update(message).digest("hex");
      if (given.some((sig) => safeEqual(expected, sig))) return;
    }
    throw new VerificationError("no signature of the Ordergroove-Signature header matches");
  }
}

/**
 * A JWKS document's Ed25519 keys, fetched and cached for `cacheSeconds`. A signature no cached key verifies
 * makes one early fetch, at most every `minRefreshSeconds` (a forged request cannot make us fetch in a
 * loop); when a fetch fails, the keys fetched before keep serving. Hookline keeps signing with the old key
 * for 24 hours after a rotation, so keys cached for minutes always include one that signs.
 */
class Jwks {
  constructor(
    url,
    {
      cacheSeconds = 300,
      minRefreshSeconds = 30,
      timeoutSeconds = 5,
      clock = () => performance.now() / 1000,
    } = {},
  ) {
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
      throw new TypeError(`the JWKS URL must be http(s)://…, not ${JSON.stringify(url)}`);
    }
    this.url = url;
    this.cacheSeconds = cacheSeconds;
    this.minRefreshSeconds = minRefreshSeconds;
    this.timeoutSeconds = timeoutSeconds;
    this.clock = clock;
    this.keys = null;
    this.freshUntil = 0;
    this.attempted = -Infinity;
    this.inflight = null; // one fetch at a time, shared by the verifications waiting for it
  }

  /** The cached keys, fetched first when none are cached or they are older than `cacheSeconds`. */
  async current() {
    if (this.keys === null || this.clock() >= this.freshUntil) await this.fetch();
    return this.keys;
  }

  /** Keys fetched now for a signature the cached ones do not verify; null if the last try is too recent. */
  async refreshed() {
    if (this.inflight === null && this.clock() - this.attempted < this.minRefreshSeconds) return null;
    await this.fetch();
    return this.keys;
  }

  fetch() {
    if (this.inflight === null) {
      this.inflight = this.fetchOnce().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  async fetchOnce() {
    const now = (this.attempted = this.clock());
    try {
      this.keys = parseJwks(await this.download());
      this.freshUntil = now + this.cacheSeconds;
    } catch (error) {
      if (!(error instanceof KeyFetchError) || this.keys === null) throw error;
      this.freshUntil = now + this.minRefreshSeconds; // keep the keys known; try again soon
    }
  }

  async download() {
    let response;
    let text;
    try {
      response = await fetch(this.url, {
        headers: { accept: "application/json" },
        redirect: "error", // an https:// URL must not lead to http://, where anyone could hand over keys
        signal: AbortSignal.timeout(this.timeoutSeconds * 1000),
      });
      text = await response.text();
    } catch (cause) {
      throw new KeyFetchError(`cannot fetch the JWKS document ${this.url}: ${cause.message}`, { cause });
    }
    if (!response.ok) {
      throw new KeyFetchError(`cannot fetch the JWKS document ${this.url}: HTTP ${response.status}`);
    }
    if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) {
      throw new KeyFetchError(`the JWKS document ${this.url} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    }
    return text;
  }
}

/** The Ed25519 signing keys of a JWKS document; other kinds of keys are skipped. */
function parseJwks(text) {
  try {
    const document = JSON.parse(text);
    if (!document || !Array.isArray(document.keys)) throw new TypeError("keys is not a list");
    return document.keys
      .filter(
        (jwk) =>
          jwk &&
          jwk.kty === "OKP" &&
          jwk.crv === "Ed25519" &&
          (jwk.use === undefined || jwk.use === "sig"),
      )
      .map((jwk) => {
        if (typeof jwk.x !== "string") throw new TypeError("a key has no x");
        return ed25519Key(Buffer.from(jwk.x, "base64url"));
      });
  } catch (cause) {
    throw new KeyFetchError(`not a JWKS document of Ed25519 keys: ${cause.message}`, { cause });
  }
}

/** The `v1` entries (base64 text) and the decodable `v1a` ones (bytes) of a `webhook-signature` header. */
function signatureEntries(header) {
  const v1 = [];
  const v1a = [];
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    const signature = entry.slice(comma + 1);
    if (version === "v1") v1.push(signature);
    else if (version === "v1a") {
      const decoded = decodeBase64(signature);
      if (decoded !== null && decoded.length === SIGNATURE_BYTES) v1a.push(decoded);
    }
  }
  return { v1, v1a };
}

/**
 * Standard Webhooks: `webhook-signature` entries over `"{webhook-id}.{webhook-timestamp}.{body}"`. Give any
 * of `secret` (`whsec_…`, for `v1`), `publicKey` (`whpk_…`, for `v1a`) and `jwksUrl` (the target's
 * `/jwks/{target_id}.json`, for `v1a`); one matching entry is enough.
 */
class StandardWebhooks {
  constructor({
    secret,
    publicKey,
    jwksUrl,
    toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
    jwksCacheSeconds = 300,
  } = {}) {
    const secrets = listed(secret);
    const publicKeys = listed(publicKey);
    if (secrets.length === 0 && publicKeys.length === 0 && !jwksUrl) {
      throw new TypeError("give a secret (whsec_…), a public key (whpk_…) or a JWKS URL");
    }
    this.secrets = secrets.map((s) => keyBytes(s, SECRET_PREFIX, "secret"));
    this.publicKeys = publicKeys.map((k) => ed25519Key(keyBytes(k, PUBLIC_KEY_PREFIX, "public key")));
    this.jwks = jwksUrl ? new Jwks(jwksUrl, { cacheSeconds: jwksCacheSeconds }) : null;
    this.toleranceSeconds = toleranceSeconds;
  }

  /**
   * Resolves if one signature entry is the body's by one of the keys, made within the tolerance of `now`
   * (seconds; default: the clock); rejects with `VerificationError` otherwise (`KeyFetchError` when the
   * JWKS document cannot be had).
   */
  async verify(body, headers, { now } = {}) {
    const found = lowerHeaders(headers);
    const msgId = found["webhook-id"];
    const header = found["webhook-signature"];
    if (!msgId || !header) {
      throw new VerificationError("the webhook-id or webhook-signature header is missing");
    }
    const ts = checkedTimestamp(found["webhook-timestamp"], this.toleranceSeconds, now);
    const message = Buffer.concat([Buffer.from(`${msgId}.${ts}.`), bodyBytes(body)]);
    const { v1, v1a } = signatureEntries(header);
    if (this.hmacMatches(v1, message) || (await this.ed25519Matches(v1a, message))) return;
    throw new VerificationError("no signature of the webhook-signature header matches");
  }

  hmacMatches(given, message) {
    return this.secrets.some((secret) => {
      const expected = crypto.createHmac("sha256", secret).update(message).digest("base64");
      return given.some((sig) => safeEqual(expected, sig));
    });
  }

  async ed25519Matches(given, message) {
    if (given.length === 0 || (this.publicKeys.length === 0 && this.jwks === null)) return false;
    const cached = this.jwks ? await this.jwks.current() : [];
    if (anyVerifies([...this.publicKeys, ...cached], given, message)) return true;
    // A key we have not seen: the document may have changed since it was cached.
    const fresh = this.jwks ? await this.jwks.refreshed() : null;
    return fresh !== null && anyVerifies(fresh, given, message);
  }
}

module.exports = { Ordergroove, StandardWebhooks, Jwks, VerificationError, KeyFetchError };
