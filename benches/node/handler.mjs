// A Node.js 20 Lambda handler doing the relay's job the usual way, for benches/compare.sh's
// cold-start and memory figures: it loads Stripe's library and the AWS SDK's EventBridge
// and Secrets Manager clients, then serves the Lambda Runtime API loop (as a custom
// runtime does): read the signing secret from Secrets Manager on the first request (as
// the relay does, and keep it), verify with `constructEvent`, put the event on the bus,
// answer.
import Stripe from 'stripe';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';

const stripe = new Stripe('sk_test_benchmarkOnlyNeverUsed');
const eventBridge = new EventBridgeClient({});
const secretsManager = new SecretsManagerClient({});
const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
let secret;

async function signingSecret() {
  if (secret === undefined) {
    const value = await secretsManager.send(new GetSecretValueCommand({ SecretId: process.env.SIGNING_SECRET_ARN }));
    // The bridge's secret format: {"version": 1, "secrets": [{"secret": "whsec_…"}, …]}.
    secret = JSON.parse(value.SecretString).secrets[0].secret;
  }
  return secret;
}

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get('lambda-runtime-aws-request-id');
  const request = await next.json();
  let statusCode = 400;
  try {
    const body = Buffer.from(request.body, request.isBase64Encoded ? 'base64' : 'utf8');
    const event = stripe.webhooks.constructEvent(body, request.headers['stripe-signature'], await signingSecret());
    await eventBridge.send(new PutEventsCommand({
      Entries: [{ EventBusName: process.env.EVENT_BUS_NAME, Source: 'Stripe', DetailType: event.type, Detail: body.toString('utf8') }],
    }));
    statusCode = 200;
  } catch (error) {
    statusCode = error.type === 'StripeSignatureVerificationError' ? 400 : 500;
  }
  await fetch(`${api}/invocation/${id}/response`, {
    method: 'POST',
    body: JSON.stringify({ statusCode, body: statusCode === 200 ? '{"received":true}' : '{"error":"refused"}' }),
  });
}
