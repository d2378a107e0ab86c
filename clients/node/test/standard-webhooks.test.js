"use strict";
// Standard Webhooks: the reference vectors and behaviours for v1, and v1a with a public key.

const assert = require("node:assert/strict");
const { test } = require("node:test");

const { StandardWebhooks, VerificationError } = require("..");
const { VECTORS, v1, v1a, newKey, whpk } = require("./helpers");

const V1 = VECTORS.v1[0];
const V1A = VECTORS.v1a[0];

function headersOf(vector, signature = vector.signature) {
  return {
    "webhook-id": vector.msg_id,
    "webhook-timestamp": String(vector.timestamp),
    "webhook-signature": signature,
  };
}

const refused = (promise, pattern) => assert.rejects(promise, (error) => {
  assert.ok(error instanceof VerificationError, `${error}`);
  if (pattern) assert.match(error.message, pattern);
  return true;
});

for (const vector of VECTORS.v1) {
  test(`reference v1 vector ${vector.msg_id} verifies`, async () => {
    const now = vector.timestamp;
    await new StandardWebhooks({ secret: vector.secret }).verify(vector.payload, headersOf(vector), { now });
    const bytes = Buffer.from(vector.payload);
    await new StandardWebhooks({ secret: vector.secret }).verify(bytes, headersOf(vector), { now });
    const view = new Uint8Array(bytes);
    await new StandardWebhooks({ secret: vector.secret }).verify(view, headersOf(vector), { now });
    const unprefixed = vector.secret.slice("whsec_".length);
    await new StandardWebhooks({ secret: unprefixed }).verify(vector.payload, headersOf(vector), { now });
  });
}

for (const signature of VECTORS.v1_invalid_signatures) {
  test(`invalid or partial signature ${signature} is refused`, async () => {
    const webhook = new StandardWebhooks({ secret: V1.secret });
    await refused(webhook.verify(V1.payload, headersOf(V1, signature), { now: V1.timestamp }));
  });
}

test("one valid signature among others is enough", async () => {
  const decoys = VECTORS.v1_invalid_signatures;
  const header = [...decoys.slice(0, 3), V1.signature, ...decoys.slice(3)].join(" ");
  const webhook = new StandardWebhooks({ secret: V1.secret });
  await webhook.verify(V1.payload, headersOf(V1, header), { now: V1.timestamp });
});

test("anything changed is refused", async () => {
  const webhook = new StandardWebhooks({ secret: V1.secret });
  const now = V1.timestamp;
  await refused(webhook.verify(V1.payload + " ", headersOf(V1), { now }));
  await refused(webhook.verify(V1.payload, { ...headersOf(V1), "webhook-id": V1.msg_id + "x" }, { now }));
  const later = { ...headersOf(V1), "webhook-timestamp": String(now + 1) };
  await refused(webhook.verify(V1.payload, later, { now }));
  const other = new StandardWebhooks({ secret: VECTORS.v1[1].secret });
  await refused(other.verify(V1.payload, headersOf(V1), { now }));
});

for (const missing of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
  test(`missing ${missing} is refused`, async () => {
    const headers = headersOf(V1);
    delete headers[missing];
    const webhook = new StandardWebhooks({ secret: V1.secret });
    await refused(webhook.verify(V1.payload, headers, { now: V1.timestamp }));
  });
}

for (const ts of ["hello", "1614265330.0", "-1614265330", "", " 1614265330", "¹⁶¹⁴²⁶⁵³³⁰", "0x60"]) {
  test(`timestamp ${JSON.stringify(ts)} is refused`, async () => {
    const headers = { ...headersOf(V1), "webhook-timestamp": ts };
    const webhook = new StandardWebhooks({ secret: V1.secret });
    await refused(webhook.verify(V1.payload, headers, { now: V1.timestamp }), /timestamp/);
  });
}

test("timestamp tolerance both ways", async () => {
  const webhook = new StandardWebhooks({ secret: V1.secret });
  const at = V1.timestamp;
  await webhook.verify(V1.payload, headersOf(V1), { now: at + 300 });
  await webhook.verify(V1.payload, headersOf(V1), { now: at - 300 });
  await refused(webhook.verify(V1.payload, headersOf(V1), { now: at + 301 }), /too old/);
  await refused(webhook.verify(V1.payload, headersOf(V1), { now: at - 301 }), /future/);
  const lenient = new StandardWebhooks({ secret: V1.secret, toleranceSeconds: 3600 });
  await lenient.verify(V1.payload, headersOf(V1), { now: at + 3000 });
  await refused(webhook.verify(V1.payload, headersOf(V1)), /too old/); // the clock, years after the vector
});

test("header names in any case, and a fetch Headers", async () => {
  const titled = Object.fromEntries(
    Object.entries(headersOf(V1)).map(([k, v]) => [k.replace(/(^|-)\w/g, (c) => c.toUpperCase()), v]),
  );
  const webhook = new StandardWebhooks({ secret: V1.secret });
  await webhook.verify(V1.payload, titled, { now: V1.timestamp });
  await webhook.verify(V1.payload, new Headers(headersOf(V1)), { now: V1.timestamp });
});

for (const secret of ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr"]) {
  test(`unpadded secret ${secret}`, async () => {
    const key = Buffer.from(secret, "base64");
    const headers = headersOf(V1, v1(key, V1.msg_id, V1.timestamp, V1.payload));
    for (const given of [secret, `whsec_${secret}`]) {
      await new StandardWebhooks({ secret: given }).verify(V1.payload, headers, { now: V1.timestamp });
    }
  });
}

for (const secret of ["", "whsec_", "whsec_not base64!", "whsec_a"]) {
  test(`unusable secret ${JSON.stringify(secret)} is refused at once`, () => {
    assert.throws(() => new StandardWebhooks({ secret }), TypeError);
  });
}

test("some key is required", () => {
  assert.throws(() => new StandardWebhooks({}), TypeError);
  assert.throws(() => new StandardWebhooks({ secret: [], publicKey: [] }), TypeError);
});

test("the body must be bytes or a string", async () => {
  const webhook = new StandardWebhooks({ secret: V1.secret });
  await assert.rejects(webhook.verify({ test: 1 }, headersOf(V1), { now: V1.timestamp }), TypeError);
});

test("reference v1a vector verifies with its public key", async () => {
  const now = V1A.timestamp;
  for (const publicKey of [V1A.public_key, V1A.public_key.slice("whpk_".length)]) {
    await new StandardWebhooks({ publicKey }).verify(V1A.payload, headersOf(V1A), { now });
  }
  const webhook = new StandardWebhooks({ publicKey: V1A.public_key });
  await refused(webhook.verify(V1A.payload + " ", headersOf(V1A), { now }));
  const other = new StandardWebhooks({ publicKey: whpk(newKey()) });
  await refused(other.verify(V1A.payload, headersOf(V1A), { now }));
});

test("v1a during a rotation verifies with either key", async () => {
  const [fresh, old] = [newKey(), newKey()];
  const [msgId, ts, body] = ["msg_1", 1700000000, '{"id": "evt-1"}'];
  const hmacKey = Buffer.from("some hmac key");
  const header = [v1(hmacKey, msgId, ts, body), v1a(fresh, msgId, ts, body), v1a(old, msgId, ts, body)]
    .join(" ");
  const headers = { "webhook-id": msgId, "webhook-timestamp": String(ts), "webhook-signature": header };
  for (const key of [fresh, old]) {
    await new StandardWebhooks({ publicKey: whpk(key) }).verify(body, headers, { now: ts });
  }
  await new StandardWebhooks({ publicKey: [whpk(newKey()), whpk(old)] }).verify(body, headers, { now: ts });
  const secret = `whsec_${hmacKey.toString("base64")}`;
  await new StandardWebhooks({ secret }).verify(body, headers, { now: ts });
});

test("each kind of key checks only its own entries", async () => {
  const key = newKey();
  const [msgId, ts, body] = ["msg_1", 1700000000, "{}"];
  const signed = v1a(key, msgId, ts, body);
  const base = { "webhook-id": msgId, "webhook-timestamp": String(ts) };
  const hmacOnly = new StandardWebhooks({ secret: V1.secret });
  await refused(hmacOnly.verify(body, { ...base, "webhook-signature": signed }, { now: ts }));
  const relabelled = `v1,${signed.slice("v1a,".length)}`;
  const keyOnly = new StandardWebhooks({ publicKey: whpk(key) });
  await refused(keyOnly.verify(body, { ...base, "webhook-signature": relabelled }, { now: ts }));
});

for (const junk of ["v1a,", "v1a,***", "v1a,AAAA", "v1a", ",", "v1a,v1a,"]) {
  test(`malformed v1a entry ${JSON.stringify(junk)} is skipped`, async () => {
    const key = newKey();
    const [msgId, ts, body] = ["msg_1", 1700000000, "{}"];
    const webhook = new StandardWebhooks({ publicKey: whpk(key) });
    const base = { "webhook-id": msgId, "webhook-timestamp": String(ts) };
    await refused(webhook.verify(body, { ...base, "webhook-signature": junk }, { now: ts }));
    const header = `${junk} ${v1a(key, msgId, ts, body)}`;
    await webhook.verify(body, { ...base, "webhook-signature": header }, { now: ts });
  });
}

for (const publicKey of ["whpk_", "whpk_AAAA", `whpk_${Buffer.alloc(33).toString("base64")}`, "whpk_%%"]) {
  test(`unusable public key ${publicKey} is refused at once`, () => {
    assert.throws(() => new StandardWebhooks({ publicKey }), TypeError);
  });
}
