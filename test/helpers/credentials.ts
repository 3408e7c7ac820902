import { createHash, randomBytes } from 'crypto';

/** The SHA-256 of a fresh bot credential, as the runtime stores it at registration. */
export function testCredential(): string {
  return createHash('sha256').update(randomBytes(32).toString('base64url')).digest('hex');
}
