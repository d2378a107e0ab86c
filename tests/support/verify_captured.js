"use strict";
// Verifies requests hookline delivered with the Node library of clients/node, for tests/e2e/test_client_libraries.py.
// Input (argv[2]): {"jwks_url", "requests": [{"body": base64, "headers": {...}, "ordergroove": [keys],
// "secret": [whsec…], "public_key": [whpk…]}]}. Output: a JSON list of {"request", "check", "ok", "error"}:
// each way of verifying each request, on the body as received and on a tampered body (which must fail).

const fs = require("node:fs");
const path = require("node:path");

const { Ordergroove, StandardWebhooks } = require(path.join(__dirname, "..", "..", "clients", "node"));

async function outcome(run) {
  try {
    await run();
    return { ok: true, error: null };
  } catch (error) {
    return { ok: false, error: `${error.name}: ${error.message}` };
  }
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const jwks = new StandardWebhooks({ jwksUrl: input.jwks_url });
  const results = [];
  for (const [index, request] of input.requests.entries()) {
    const checks = { jwks: (body) => jwks.verify(body, request.headers) };
    for (const key of request.ordergroove) {
      checks[`ordergroove ${key.slice(0, 6)}`] = (body) => new Ordergroove(key).verify(body, request.headers);
    }
    for (const secret of request.secret) {
      const verifier = new StandardWebhooks({ secret });
      checks[`v1 ${secret.slice(0, 12)}`] = (body) => verifier.verify(body, request.headers);
    }
    for (const publicKey of request.public_key) {
      const verifier = new StandardWebhooks({ publicKey });
      checks[`v1a ${publicKey.slice(0, 12)}`] = (body) => verifier.verify(body, request.headers);
    }
    const body = Buffer.from(request.body, "base64");
    const tampered = Buffer.concat([body, Buffer.from(" ")]);
    for (const [check, verify] of Object.entries(checks)) {
      results.push({ request: index, check, tampered: false, ...(await outcome(() => verify(body))) });
      results.push({ request: index, check, tampered: true, ...(await outcome(() => verify(tampered))) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
