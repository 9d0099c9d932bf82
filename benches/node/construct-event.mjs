// Times Stripe's official Node library, stripe-node 23.1.0, on the payloads the relay's
// half of benches/compare.sh wrote: `stripe.webhooks.constructEvent(body, header,
// secret)`, which verifies the signature and parses the body, as the relay does.
//
//     node construct-event.mjs DIR     (DIR holds payload-*.json, payload-*.header, secret)
//
// Prints one JSON line per payload: {"size", "bytes", "node_ns"} (the median of 21
// batches, each long enough to time).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';

const dir = process.argv[2];
const stripe = new Stripe('sk_test_benchmarkOnlyNeverUsed');
const secret = readFileSync(join(dir, 'secret'), 'utf8').trim();

function nsPerCall(fn) {
  let batch = 1;
  for (;;) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    if (process.hrtime.bigint() - started > 20_000_000n) break;
    batch *= 2;
  }
  const samples = [];
  for (let s = 0; s < 21; s++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - started) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[10];
}

for (const file of readdirSync(dir).filter((f) => /^payload-.*\.json$/.test(f)).sort()) {
  const size = file.slice('payload-'.length, -'.json'.length);
  const body = readFileSync(join(dir, file));
  const header = readFileSync(join(dir, `payload-${size}.header`), 'utf8').trim();
  // A tolerance of an hour: the header was signed a moment ago, by the relay's half.
  const check = () => stripe.webhooks.constructEvent(body, header, secret, 3600);
  check();
  console.log(JSON.stringify({ size, bytes: body.length, node_ns: nsPerCall(check) }));
}
