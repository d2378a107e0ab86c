"use strict";
// Ordergroove-Signature, signed here by Ordergroove's documented recipe.

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { test } = require("node:test");

const { Ordergroove, VerificationError } = require("..");

const KEY = "super-secret-webhooks-verification-key"; // the example key of Ordergroove's verification docs
const OLD_KEY = "the-previous-verification-key";
const TS = 1592570791;
const BODY = '{"id":"mmmm4444nnnn3333pppp","type":"order.success","created":1592570791,"data":{"object":{}}}';

const sig = (key, ts, body) => crypto.createHmac("sha256", key).update(`${ts}.${body}`).digest("hex");
const headersOf = (keys, ts = TS, body = BODY) => ({
  "ordergroove-signature": [`ts=${ts}`, ...keys.map((k) => `sig=${sig(k, ts, body)}`)].join(","),
});

test("a signature verifies", () => {
  new Ordergroove(KEY).verify(BODY, headersOf([KEY]), { now: TS });
  const titled = { "Ordergroove-Signature": headersOf([KEY])["ordergroove-signature"] };
  new Ordergroove(KEY).verify(Buffer.from(BODY), titled, { now: TS });
});

test("either key verifies during a rotation", () => {
  const headers = headersOf([KEY, OLD_KEY]);
  new Ordergroove(KEY).verify(BODY, headers, { now: TS });
  new Ordergroove(OLD_KEY).verify(BODY, headers, { now: TS });
  new Ordergroove(["a-key-of-mine", OLD_KEY]).verify(BODY, headersOf([OLD_KEY]), { now: TS });
  assert.throws(() => new Ordergroove("a-third-key").verify(BODY, headers, { now: TS }), VerificationError);
});

test("non-ASCII bodies are signed as UTF-8", () => {
  const body = '{"name":"Zoë Øster","emoji":"🛒"}';
  new Ordergroove(KEY).verify(Buffer.from(body, "utf8"), headersOf([KEY], TS, body), { now: TS });
});

test("anything changed is refused", () => {
  const changed = () => new Ordergroove(KEY).verify(BODY + " ", headersOf([KEY]), { now: TS });
  assert.throws(changed, VerificationError);
  const header = headersOf([KEY])["ordergroove-signature"].replace(`ts=${TS}`, `ts=${TS + 1}`);
  assert.throws(
    () => new Ordergroove(KEY).verify(BODY, { "ordergroove-signature": header }, { now: TS }),
    VerificationError,
  );
});

const valid = sig(KEY, TS, BODY);
const malformedHeaders = [
  "",
  "ts=1592570791",
  "sig=abc",
  `ts=x,sig=${valid}`,
  `ts=¹,sig=${valid}`,
  "ts=1592570791,sig=é",
];
for (const header of malformedHeaders) {
  test(`malformed header ${JSON.stringify(header)} is refused`, () => {
    const headers = { "ordergroove-signature": header };
    const malformed = () => new Ordergroove(KEY).verify(BODY, headers, { now: TS });
    assert.throws(malformed, VerificationError);
    assert.throws(() => new Ordergroove(KEY).verify(BODY, {}, { now: TS }), VerificationError);
  });
}

test("timestamp tolerance", () => {
  new Ordergroove(KEY).verify(BODY, headersOf([KEY]), { now: TS + 300 });
  assert.throws(() => new Ordergroove(KEY).verify(BODY, headersOf([KEY]), { now: TS + 301 }), /too old/);
  assert.throws(() => new Ordergroove(KEY).verify(BODY, headersOf([KEY]), { now: TS - 301 }), /future/);
  new Ordergroove(KEY, { toleranceSeconds: 10000 }).verify(BODY, headersOf([KEY]), { now: TS + 9000 });
});

for (const key of ["", [], [""], [KEY, ""], undefined, 42]) {
  test(`a key is required (${JSON.stringify(key)})`, () => {
    assert.throws(() => new Ordergroove(key), TypeError);
  });
}
