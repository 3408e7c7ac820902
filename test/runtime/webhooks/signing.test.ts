/**
 * The signatures, checked by the Standard Webhooks reference implementation for JavaScript
 * (`standardwebhooks` on npm), which shares no code with runtime/webhooks/signing.ts.
 */
import { Webhook } from 'standardwebhooks';
import { newMessageId, newSecret, secretKey, sign, signedHeaders } from '../../../runtime/webhooks/signing';

const body = JSON.stringify({ type: 'run.succeeded', timestamp: '2026-12-07T02:00:00.000Z', data: { id: 'run_1' } });

test('a new secret is whsec_ and the base64 of 32 random bytes', () => {
  const secret = newSecret();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(secretKey(secret)).toHaveLength(32);
  expect(newSecret()).not.toBe(secret);
});

test('message IDs are msg_ and 24 hex digits', () => {
  expect(newMessageId()).toMatch(/^msg_[0-9a-f]{24}$/);
});

test('the headers of an attempt verify with the reference implementation', () => {
  const secret = newSecret();
  const headers = signedHeaders(secret, 'msg_abc', Date.now(), body);
  expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
});

test('the signature is the one the reference implementation computes', () => {
  const secret = newSecret();
  const at = new Date(1_765_000_000_000);
  expect(sign(secret, 'msg_abc', Math.floor(at.getTime() / 1000), body)).toBe(new Webhook(secret).sign('msg_abc', at, body));
});

test('a body changed after signing does not verify', () => {
  const secret = newSecret();
  const headers = signedHeaders(secret, 'msg_abc', Date.now(), body);
  expect(() => new Webhook(secret).verify(body.replace('run_1', 'run_2'), headers)).toThrow(/signature/i);
});

test("another subscription's secret does not verify", () => {
  const headers = signedHeaders(newSecret(), 'msg_abc', Date.now(), body);
  expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(/signature/i);
});

test('a secret without the whsec_ prefix is refused, naming the rule', () => {
  expect(() => sign('c2VjcmV0', 'msg_abc', 1, body)).toThrow(/must start with whsec_/);
});

test('headers signed with two secrets carry both signatures, space-delimited, newest first', () => {
  const [current, previous] = [newSecret(), newSecret()];
  const at = 1_765_000_000_000;
  const headers = signedHeaders([current, previous], 'msg_abc', at, body);
  expect(headers['webhook-signature']).toBe(`${sign(current, 'msg_abc', at / 1000, body)} ${sign(previous, 'msg_abc', at / 1000, body)}`);
});

test('a receiver holding either of two signing secrets verifies the message with the reference implementation', () => {
  const [current, previous] = [newSecret(), newSecret()];
  const headers = signedHeaders([current, previous], 'msg_abc', Date.now(), body);
  expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
  expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
  expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(/signature/i);
});
