"use strict";
// Test helpers: the shared vectors, signing as hookline does, and a real JWKS server on 127.0.0.1.

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const VECTORS = JSON.parse(
  fs.readFileSync(path.join(__dirname, "..", "..", "vectors", "standard-webhooks.json"), "utf8"),
);

function v1(secret, msgId, ts, body) {
  const mac = crypto.createHmac("sha256", secret).update(`${msgId}.${ts}.${body}`).digest("base64");
  return `v1,${mac}`;
}

function v1a(privateKey, msgId, ts, body) {
  return `v1a,${crypto.sign(null, Buffer.from(`${msgId}.${ts}.${body}`), privateKey).toString("base64")}`;
}

function newKey() {
  return crypto.generateKeyPairSync("ed25519").privateKey;
}

function publicX(privateKey) {
  return crypto.createPublicKey(privateKey).export({ format: "jwk" }).x;
}

function whpk(privateKey) {
  return `whpk_${Buffer.from(publicX(privateKey), "base64url").toString("base64")}`;
}

function jwk(privateKey) {
  const x = publicX(privateKey);
  return { kty: "OKP", crv: "Ed25519", x, kid: x.slice(0, 8), use: "sig" };
}

const PATH = "/jwks/tgt_1.json";

/** Serves `state.document` with `state.status` at `state.url`, redirects every other path there; counts
 * requests. Resolves to the state. */
async function jwksServer() {
  const state = { document: { keys: [] }, status: 200, requests: 0, url: "" };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    if (req.url !== PATH) {
      res.writeHead(301, { location: PATH }); // elsewhere: moved permanently to the document
      res.end();
      return;
    }
    res.writeHead(state.status, { "content-type": "application/json" });
    res.end(JSON.stringify(state.document));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${server.address().port}${PATH}`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    });
  return state;
}

module.exports = { VECTORS, v1, v1a, newKey, whpk, jwk, jwksServer };
