"use strict";
// v1a with a JWKS URL: a real HTTP server on 127.0.0.1 serves the document; fetching, caching, early
// refresh for a key not seen, stale keys when a fetch fails, and documents that are not usable.

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { test } = require("node:test");

const { Jwks, KeyFetchError, StandardWebhooks, VerificationError } = require("..");
const { VECTORS, v1a, newKey, jwk, jwksServer } = require("./helpers");

const V1A = VECTORS.v1a[0];
const [MSG_ID, TS, BODY] = ["msg_1", 1700000000, '{"id": "evt-1"}'];

function signed(...keys) {
  const header = keys.map((k) => v1a(k, MSG_ID, TS, BODY)).join(" ");
  return { "webhook-id": MSG_ID, "webhook-timestamp": String(TS), "webhook-signature": header };
}

async function withServer(run) {
  const server = await jwksServer();
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

test("the vector verifies with keys from the document, fetched once", () =>
  withServer(async (server) => {
    server.document = { keys: [{ kty: "RSA", n: "…", e: "AQAB" }, V1A.jwk] }; // others are skipped
    const headers = {
      "webhook-id": V1A.msg_id,
      "webhook-timestamp": String(V1A.timestamp),
      "webhook-signature": V1A.signature,
    };
    const webhook = new StandardWebhooks({ jwksUrl: server.url });
    await webhook.verify(V1A.payload, headers, { now: V1A.timestamp });
    await webhook.verify(V1A.payload, headers, { now: V1A.timestamp });
    assert.equal(server.requests, 1);
    const changed = webhook.verify(V1A.payload + " ", headers, { now: V1A.timestamp });
    await assert.rejects(changed, VerificationError);
  }));

test("concurrent verifications share one fetch", () =>
  withServer(async (server) => {
    const key = newKey();
    server.document = { keys: [jwk(key)] };
    const webhook = new StandardWebhooks({ jwksUrl: server.url });
    await Promise.all(Array.from({ length: 5 }, () => webhook.verify(BODY, signed(key), { now: TS })));
    assert.equal(server.requests, 1);
  }));

test("keys are fetched again once the cache ends", () =>
  withServer(async (server) => {
    const key = newKey();
    server.document = { keys: [jwk(key)] };
    const webhook = new StandardWebhooks({ jwksUrl: server.url, jwksCacheSeconds: 0 });
    for (let i = 0; i < 3; i += 1) await webhook.verify(BODY, signed(key), { now: TS });
    assert.equal(server.requests, 3);
  }));

test("a key not seen is looked for at most every minRefreshSeconds", () =>
  withServer(async (server) => {
    const [first, second] = [newKey(), newKey()];
    let now = 0;
    const raw = (k) => crypto.createPublicKey(k).export({ format: "jwk" }).x;
    const xs = (keys) => keys.map((k) => k.export({ format: "jwk" }).x);
    server.document = { keys: [jwk(first)] };
    const jwks = new Jwks(server.url, { minRefreshSeconds: 30, clock: () => now });
    assert.deepEqual(xs(await jwks.current()), [raw(first)]);
    server.document = { keys: [jwk(second), jwk(first)] }; // a rotation
    now = 10;
    assert.equal(await jwks.refreshed(), null); // too soon: a forgery cannot make us fetch
    now = 31;
    assert.deepEqual(xs(await jwks.refreshed()), [raw(second), raw(first)]);
    assert.equal(server.requests, 2);
  }));

test("known keys keep serving when a fetch fails", () =>
  withServer(async (server) => {
    const key = newKey();
    server.document = { keys: [jwk(key)] };
    const webhook = new StandardWebhooks({ jwksUrl: server.url, jwksCacheSeconds: 0 });
    await webhook.verify(BODY, signed(key), { now: TS });
    server.status = 500;
    await webhook.verify(BODY, signed(key), { now: TS });
    assert.equal(server.requests, 2);
  }));

const unusable = [
  [404, { type: "about:blank", status: 404 }],
  [200, { keys: "not a list" }],
  [200, { no: "keys" }],
  [200, ["keys"]],
  [200, { keys: [{ kty: "OKP", crv: "Ed25519" }] }],
  [200, { keys: [{ kty: "OKP", crv: "Ed25519", x: "AAAA" }] }],
];
for (const [status, document] of unusable) {
  test(`no usable document (${status} ${JSON.stringify(document)}) and nothing cached`, () =>
    withServer(async (server) => {
      server.status = status;
      server.document = document;
      const webhook = new StandardWebhooks({ jwksUrl: server.url });
      await assert.rejects(webhook.verify(BODY, signed(newKey()), { now: TS }), KeyFetchError);
    }));
}

test("redirects are not followed", () =>
  withServer(async (server) => {
    const key = newKey();
    server.document = { keys: [jwk(key)] };
    await new StandardWebhooks({ jwksUrl: server.url }).verify(BODY, signed(key), { now: TS });
    const moved = new StandardWebhooks({ jwksUrl: server.url.replace("tgt_1", "moved") });
    await assert.rejects(moved.verify(BODY, signed(key), { now: TS }), KeyFetchError);
    assert.equal(server.requests, 2); // the document, the redirect, and nothing after it
  }));

test("an unreachable document is a KeyFetchError", async () => {
  const server = await jwksServer();
  const url = server.url;
  await server.close();
  const webhook = new StandardWebhooks({ jwksUrl: url });
  await assert.rejects(webhook.verify(BODY, signed(newKey()), { now: TS }), KeyFetchError);
});

test("no fetch without a v1a signature", () =>
  withServer(async (server) => {
    const secret = `whsec_${Buffer.from("k").toString("base64")}`;
    const webhook = new StandardWebhooks({ jwksUrl: server.url, secret });
    const headers = { "webhook-id": MSG_ID, "webhook-timestamp": String(TS), "webhook-signature": "v1,x" };
    await assert.rejects(webhook.verify(BODY, headers, { now: TS }), VerificationError);
    assert.equal(server.requests, 0);
  }));

for (const url of ["file:///etc/passwd", "ftp://example.com/jwks.json", "/jwks/tgt_1.json"]) {
  test(`only http(s) URLs: ${url}`, () => {
    assert.throws(() => new StandardWebhooks({ jwksUrl: url }), TypeError);
  });
}
