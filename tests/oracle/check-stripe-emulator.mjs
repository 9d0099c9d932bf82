// Checks tests/emulator/stripe_api.py with Stripe's official Node library.
//
//   node check-stripe-emulator.mjs walk PORT
//     Calls each route the emulator serves as stripe-node calls it; every answer must
//     parse as the object stripe-node's types describe. Prints "ok".
//   node check-stripe-emulator.mjs replay PORT < requests.json
//     Makes each request (as the emulator recorded the CLI's: method, path, decoded form)
//     through stripe-node's own method for that route, so the emulator records
//     stripe-node's request for the same call, to compare field by field. Errors in the
//     answers (ids that do not exist there) do not matter: the request is what counts.
import Stripe from 'stripe';
import assert from 'node:assert/strict';

const [mode, port] = process.argv.slice(2);
const stripe = new Stripe('sk_test_oracle000000000000000000', {
  host: '127.0.0.1',
  port: Number(port),
  protocol: 'http',
  maxNetworkRetries: 0,
});

async function walk() {
  const made = await stripe.webhookEndpoints.create({
    url: 'https://example.execute-api.us-east-1.amazonaws.com/webhook',
    enabled_events: ['invoice.paid', 'customer.created'],
    description: 'oracle',
    metadata: { stripe_bridge: 'oracle' },
  });
  assert.equal(made.object, 'webhook_endpoint');
  assert.match(made.secret, /^whsec_/);
  assert.deepEqual(made.enabled_events, ['invoice.paid', 'customer.created']);
  assert.equal(made.api_version, null);
  const got = await stripe.webhookEndpoints.retrieve(made.id);
  assert.equal(got.secret, undefined, 'only the creation answer holds the secret');
  const updated = await stripe.webhookEndpoints.update(made.id, {
    enabled_events: ['invoice.paid'],
    disabled: true,
    metadata: { stripe_bridge: '' },
  });
  assert.equal(updated.status, 'disabled');
  assert.deepEqual(updated.metadata, {});
  const listed = await stripe.webhookEndpoints.list({ limit: 3 });
  assert.equal(listed.object, 'list');
  assert.ok(listed.data.some((e) => e.id === made.id));
  await stripe.webhookEndpoints.update(made.id, { disabled: false });

  const event = await (await fetch(`http://127.0.0.1:${port}/_emulator/events`, {
    method: 'POST',
    body: JSON.stringify({ type: 'invoice.paid' }),
  })).json();
  const events = await stripe.events.list({
    delivery_success: false,
    created: { gte: event.created - 1 },
    limit: 100,
  });
  assert.equal(events.object, 'list');
  assert.ok(events.data.some((e) => e.id === event.id), 'a pending delivery is not a success');
  const all = [];
  for await (const e of stripe.events.list({ limit: 1 })) all.push(e.id);
  assert.ok(all.includes(event.id), 'auto-pagination follows starting_after');
  const one = await stripe.events.retrieve(event.id);
  assert.equal(one.type, 'invoice.paid');
  const retried = await stripe.rawRequest('POST', `/v1/events/${event.id}/retry`, {
    webhook_endpoint: made.id,
  });
  assert.equal(retried.id, event.id);

  await assert.rejects(stripe.webhookEndpoints.retrieve('we_missing'), (e) => {
    assert.equal(e.type, 'StripeInvalidRequestError');
    assert.equal(e.code, 'resource_missing');
    assert.equal(e.statusCode, 404);
    return true;
  });
  await assert.rejects(
    new Stripe('sk_test_x_revoked', { host: '127.0.0.1', port: Number(port), protocol: 'http', maxNetworkRetries: 0 })
      .events.list(),
    (e) => e.type === 'StripeAuthenticationError',
  );
  const deleted = await stripe.webhookEndpoints.del(made.id);
  assert.equal(deleted.deleted, true);
  console.log('ok');
}

async function replay() {
  const requests = JSON.parse(await new Promise((done) => {
    let text = '';
    process.stdin.on('data', (c) => (text += c)).on('end', () => done(text));
  }));
  for (const { method, path, form, stripe_account } of requests) {
    const options = stripe_account ? { stripeAccount: stripe_account } : {};
    const parts = path.split('/').filter(Boolean);
    const id = parts[2];
    const call = (() => {
      if (parts[1] === 'webhook_endpoints') {
        if (method === 'POST' && !id) return stripe.webhookEndpoints.create(form, options);
        if (method === 'POST') return stripe.webhookEndpoints.update(id, form, options);
        if (method === 'GET' && !id) return stripe.webhookEndpoints.list(form, options);
        if (method === 'GET') return stripe.webhookEndpoints.retrieve(id, form, options);
        if (method === 'DELETE') return stripe.webhookEndpoints.del(id, form, options);
      }
      if (parts[1] === 'events') {
        if (method === 'GET' && !id) return stripe.events.list(form, options);
        if (method === 'GET') return stripe.events.retrieve(id, form, options);
        if (method === 'POST' && parts[3] === 'retry') return stripe.rawRequest('POST', path, form, options);
      }
      throw new Error(`no stripe-node method for ${method} ${path}`);
    })();
    await call.catch(() => {});
  }
  console.log('ok');
}

await (mode === 'walk' ? walk() : replay());
