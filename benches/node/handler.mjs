// A Node.js 20 Lambda handler doing the relay's job the usual way, for benches/compare.sh's
// cold-start and memory figures: it loads Stripe's library and the AWS SDK's EventBridge
// client, then serves the Lambda Runtime API loop (as a custom runtime does): verify with
// `constructEvent`, put the event on the bus, answer.
import Stripe from 'stripe';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';

const stripe = new Stripe('sk_test_benchmarkOnlyNeverUsed');
const eventBridge = new EventBridgeClient({});
const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const secret = process.env.STRIPE_WEBHOOK_SECRET;

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get('lambda-runtime-aws-request-id');
  const request = await next.json();
  let statusCode = 400;
  try {
    const body = Buffer.from(request.body, request.isBase64Encoded ? 'base64' : 'utf8');
    const event = stripe.webhooks.constructEvent(body, request.headers['stripe-signature'], secret);
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
