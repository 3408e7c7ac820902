/**
 * Signing as the Standard Webhooks specification describes it (standard-webhooks/standard-webhooks,
 * spec/standard-webhooks.md): three headers, `webhook-id` (the message ID, the same on every
 * attempt), `webhook-timestamp` (seconds since the epoch, of this attempt) and `webhook-signature`
 * (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the secret's bytes: the
 * base64 after its `whsec_` prefix). A receiver checks the signature and that the timestamp is
 * recent, which stops replays. The header may carry several space-delimited signatures, and a
 * receiver accepts the message when any of them verifies: during a rotation's grace period
 * (SECRET_ROTATION_GRACE_MS of runtime/domain/webhook.ts) each delivery carries one per secret.
 */
import { createHmac, randomBytes } from 'crypto';

const SECRET_PREFIX = 'whsec_';

/** A new subscription secret: `whsec_` and the base64 of 32 random bytes (the spec allows 24 to 64). */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** A new message ID: `msg_` and 24 random hex digits. */
export function newMessageId(): string {
  return `msg_${randomBytes(12).toString('hex')}`;
}

/** The key bytes of a `whsec_` secret; anything else is refused, naming the rule. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error(`webhook secret: must start with ${SECRET_PREFIX} (Standard Webhooks)`);
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 24 || key.length > 64) throw new Error(`webhook secret: ${key.length} bytes after ${SECRET_PREFIX}; the key must be 24 to 64 bytes`);
  return key;
}

/** The `webhook-signature` value of one attempt. */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of one attempt, sent at `now` (ms), signed with each of `secrets` in turn (the newest first). */
export function signedHeaders(secrets: string | readonly string[], id: string, now: number, body: string): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(now / 1000);
  const signatures = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) => sign(secret, id, timestamp, body));
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatures.join(' ') };
}
