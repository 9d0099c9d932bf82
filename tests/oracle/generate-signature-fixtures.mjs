// Generates tests/fixtures/signatures.json: Stripe-Signature cases whose verdict is
// decided by Stripe's official Node library (the version pinned in package.json).
//
//   cd tests/oracle && npm ci && npm run generate [-- OUTPUT_PATH]
//
// Every case records the library's verdict (`oracle`) and the relay's expected verdict
// (`expect`). They differ only where the relay is stricter on purpose; such a case names
// the reason in `stricter`, and the Rust test checks that the library accepted it.
// The output is deterministic: run it again and git shows no change.

import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import Stripe from 'stripe';

const stripe = new Stripe('sk_test_oracle_not_a_real_key');
const NOW = 1767225600; // 2026-01-01T00:00:00Z
const TOLERANCE = 300;

const SECRET = 'whsec_oracleSecretCurrent0000000000000000';
const OLD_SECRET = 'whsec_oracleSecretPrevious000000000000000';
const OTHER_SECRET = 'whsec_oracleSecretUnrelated00000000000000';

const invoicePaid = readFileSync(new URL('../fixtures/events/invoice.paid.json', import.meta.url));
const small = Buffer.from('{"id":"evt_1","object":"event","type":"customer.created","created":1767225590}');
const unicode = Buffer.from(
  '{"id":"evt_2","object":"event","type":"customer.updated","created":1767225590,' +
    '"data":{"object":{"name":"Zoë Ångström 名前 🚀","description":"naïve café"}}}',
);
const crlf = Buffer.from(invoicePaid.toString('utf8').replace(/\n/g, '\r\n'));

function bigEvent(bytes) {
  const head = '{"id":"evt_big","object":"event","type":"invoice.updated","created":1767225590,"data":{"object":{"note":"';
  const tail = '"}}}';
  return Buffer.from(head + 'x'.repeat(bytes - head.length - tail.length) + tail);
}

/** The v1 signature Stripe computes, over exactly these bytes. */
function hmacV1(secret, timestamp, payload) {
  return createHmac('sha256', secret)
    .update(`${timestamp}.`)
    .update(payload)
    .digest('hex');
}

/** The header the library itself generates. */
function libraryHeader(payload, secret, timestamp = NOW - 5) {
  return stripe.webhooks.generateTestHeaderString({
    payload: payload.toString('utf8'),
    secret,
    timestamp,
  });
}

/** The library's verdict: does any of `secrets` verify? */
function oracle(payload, header, secrets, tolerance) {
  return secrets.some((secret) => {
    try {
      return stripe.webhooks.signature.verifyHeader(payload, header, secret, tolerance, undefined, NOW * 1000);
    } catch {
      return false;
    }
  });
}

const cases = [];
const WEAK_SECRET = 'a secret that is not whsec_ and 16 or more characters verifies nothing (a key anyone could guess)';
function add(name, payload, header, { secrets = [SECRET], tolerance = TOLERANCE, stricter = null } = {}) {
  const verdict = oracle(payload, header, secrets, tolerance);
  cases.push({
    name,
    payload_base64: payload.toString('base64'),
    header,
    secrets,
    now: NOW,
    tolerance,
    oracle: verdict,
    expect: stricter ? false : verdict,
    stricter,
  });
}

const t = NOW - 5;
const sig = (payload, secret = SECRET, ts = t) => hmacV1(secret, ts, payload);

// Valid deliveries.
add('library header, small event', small, libraryHeader(small, SECRET));
// Secrets longer than SHA-256's 64-byte block are hashed into the key first (RFC 2104):
// `stripe listen` signs with whsec_ and 64 hex digits, 70 bytes.
const LISTEN_SECRET = `whsec_${'0123456789abcdef'.repeat(4)}`;
const LONG_SECRET = `whsec_${'LongSecret'.repeat(12)}`;
add('stripe listen secret (70 bytes)', invoicePaid, libraryHeader(invoicePaid, LISTEN_SECRET), { secrets: [LISTEN_SECRET] });
add('secret of 126 bytes', small, libraryHeader(small, LONG_SECRET), { secrets: [LONG_SECRET] });
add('secret of 70 bytes, signed with another', small, libraryHeader(small, LONG_SECRET), { secrets: [LISTEN_SECRET] });
add('library header, realistic 3 KB invoice.paid', invoicePaid, libraryHeader(invoicePaid, SECRET));
add('large body, 300 KB', bigEvent(300 * 1024), libraryHeader(bigEvent(300 * 1024), SECRET));
add('large body, 1.1 MB', bigEvent(1100 * 1024), libraryHeader(bigEvent(1100 * 1024), SECRET));
add('unicode body', unicode, libraryHeader(unicode, SECRET));
add('CRLF line endings, signed as sent', crlf, `t=${t},v1=${sig(crlf)}`);
add('v1 before t', small, `v1=${sig(small)},t=${t}`);
add('v0 beside a valid v1', small, `t=${t},v1=${sig(small)},v0=${'0'.repeat(64)}`);
add('unknown schemes beside a valid v1', small, `t=${t},v2=abc,foo=bar,v1=${sig(small)}`);
add('garbage v1 first, valid v1 second', small, `t=${t},v1=${'f'.repeat(64)},v1=${sig(small)}`);
add('100 v1 candidates, last valid', small, `t=${t},${Array(99).fill(`v1=${'a'.repeat(64)}`).join(',')},v1=${sig(small)}`);
add('trailing comma', small, `t=${t},v1=${sig(small)},`);
add('value cut at a second =', small, `t=${t},v1=${sig(small)}=extra`);
add('timestamp with leading zeros signs as the number', small, `t=0${t},v1=${sig(small)}`);

// Rolling secrets.
add('rolling: header has old and new, relay has new', small, `t=${t},v1=${sig(small, OLD_SECRET)},v1=${sig(small, SECRET)}`);
add('rolling: header has old and new, relay has old', small, `t=${t},v1=${sig(small, OLD_SECRET)},v1=${sig(small, SECRET)}`, { secrets: [OLD_SECRET] });
add('rolling: relay has old and new, header signed with new', small, libraryHeader(small, SECRET), { secrets: [OLD_SECRET, SECRET] });
add('rolling: relay has old and new, header signed with old', small, libraryHeader(small, OLD_SECRET), { secrets: [SECRET, OLD_SECRET] });
add('rolling: relay has old and new, header signed with another', small, libraryHeader(small, OTHER_SECRET), { secrets: [SECRET, OLD_SECRET] });

// Wrong secrets.
add('wrong secret', small, libraryHeader(small, OTHER_SECRET));
add('secret without prefix, signed with the full secret', small, libraryHeader(small, SECRET), { secrets: [SECRET.slice('whsec_'.length)] });
add('secret without prefix on both sides', small, libraryHeader(small, 'oracleSecretBare'), {
  secrets: ['oracleSecretBare'],
  stricter: WEAK_SECRET,
});
add('secret with a trailing newline', small, libraryHeader(small, SECRET), { secrets: [`${SECRET}\n`] });

// Tampering.
const flipped = Buffer.from(small);
flipped[10] ^= 0x01;
add('one body byte changed', flipped, libraryHeader(small, SECRET));
add('trailing newline added to the body', Buffer.concat([small, Buffer.from('\n')]), libraryHeader(small, SECRET));
add('body re-serialised', Buffer.from(JSON.stringify(JSON.parse(invoicePaid))), libraryHeader(invoicePaid, SECRET));
add('CRLF turned into LF', invoicePaid, `t=${t},v1=${sig(crlf)}`);
add('unicode normalised (NFD)', Buffer.from(unicode.toString('utf8').normalize('NFD')), libraryHeader(unicode, SECRET));
add('one signature character changed', small, `t=${t},v1=${sig(small).replace(/^./, (c) => (c === '0' ? '1' : '0'))}`);
add('signature truncated', small, `t=${t},v1=${sig(small).slice(0, 63)}`);
add('signature in uppercase hex', small, `t=${t},v1=${sig(small).toUpperCase()}`);
add('timestamp changed after signing', small, `t=${t + 1},v1=${sig(small)}`);

// Malformed headers.
add('empty header', small, '');
add('v0 only', small, `t=${t},v0=${sig(small)}`);
add('unknown scheme only', small, `t=${t},v2=${sig(small)}`);
add('scheme in uppercase', small, `t=${t},V1=${sig(small)}`);
add('no timestamp', small, `v1=${sig(small)}`);
add('no timestamp, no signature', small, 'garbage');
add('space after comma', small, `t=${t}, v1=${sig(small)}`);
add('space before the header', small, ` t=${t},v1=${sig(small)}`);
add('space after the signature', small, `t=${t},v1=${sig(small)} `);
add('negative timestamp', small, `t=-1,v1=${sig(small, SECRET, -1)}`);

// Tolerance boundaries (tolerance 300 unless said).
add('age 0', small, libraryHeader(small, SECRET, NOW));
add('age exactly the tolerance', small, libraryHeader(small, SECRET, NOW - 300));
add('age one second over', small, libraryHeader(small, SECRET, NOW - 301));
add('age a day', small, libraryHeader(small, SECRET, NOW - 86400));
add('custom tolerance 60, age 60', small, libraryHeader(small, SECRET, NOW - 60), { tolerance: 60 });
add('custom tolerance 60, age 61', small, libraryHeader(small, SECRET, NOW - 61), { tolerance: 60 });
add('300 s in the future', small, libraryHeader(small, SECRET, NOW + 300));

// Where the relay is stricter than the library, on purpose.
add('301 s in the future', small, libraryHeader(small, SECRET, NOW + 301), {
  stricter: 'a signature from more than the tolerance ahead is refused',
});
add('a day in the future', small, libraryHeader(small, SECRET, NOW + 86400), {
  stricter: 'a signature from more than the tolerance ahead is refused',
});
add('timestamp with a space after =', small, `t= ${t},v1=${sig(small)}`, {
  stricter: 't must be plain digits',
});
add('timestamp with trailing letters', small, `t=${t}abc,v1=${sig(small)}`, {
  stricter: 't must be plain digits',
});
add('two equal timestamps', small, `t=${t},t=${t},v1=${sig(small)}`, {
  stricter: 'more than one t is refused',
});
add('two timestamps, the last one signed', small, `t=${t - 100},v1=${sig(small)},t=${t}`, {
  stricter: 'more than one t is refused',
});
add('empty body', Buffer.alloc(0), `t=${t},v1=${sig(Buffer.alloc(0))}`, {
  stricter: 'an empty body is refused (the library refuses an empty string, but not an empty Buffer)',
});
const invalidUtf8 = Buffer.concat([small.subarray(0, 20), Buffer.from([0xff, 0xfe]), small.subarray(20)]);
add('invalid UTF-8, signed over the decoded text', invalidUtf8, libraryHeader(invalidUtf8, SECRET), {
  stricter: 'the body must be UTF-8',
});
add('invalid UTF-8, signed over the bytes', invalidUtf8, `t=${t},v1=${sig(invalidUtf8)}`);
const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), small]);
add('byte-order mark, signed over the bytes', bom, `t=${t},v1=${sig(bom)}`);
add('byte-order mark, signed without it', bom, `t=${t},v1=${sig(small)}`, {
  stricter: 'a body starting with a byte-order mark is refused',
});

// Secrets that are no Stripe signing secret, signing for a forger who guessed them. The
// library decides whether it takes each; the relay refuses them all.
for (const [name, secret] of [
  ['weak secret: empty', ''],
  ['weak secret: blank', ' \t\n'],
  ['weak secret: the placeholder changeme', 'changeme'],
  ['weak secret: whsec_ cut short', 'whsec_abc'],
]) {
  const header = `t=${t},v1=${hmacV1(secret, t, small)}`;
  const accepted = oracle(small, header, [secret], TOLERANCE);
  add(name, small, header, { secrets: [secret], stricter: accepted ? WEAK_SECRET : null });
}

const out = {
  generator: 'tests/oracle/generate-signature-fixtures.mjs',
  library: `stripe (npm) ${JSON.parse(readFileSync(new URL('./node_modules/stripe/package.json', import.meta.url))).version}`,
  cases,
};
const output = process.argv[2] ?? new URL('../fixtures/signatures.json', import.meta.url);
writeFileSync(output, JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${cases.length} cases (${cases.filter((c) => c.expect).length} valid, ${cases.filter((c) => c.stricter).length} stricter)`);
