/**
 * What a bearer token may cost before it is refused: at most 8,192 printable characters reach any
 * check; a JWT-shaped one costs one signature check, another one SHA-256, and a static token has
 * at most 512 characters. The checks themselves are tested in access.test.ts.
 */
import { createHash } from 'crypto';
import type { JWTVerifyGetKey } from 'jose';
import { Authenticator } from '../../../runtime/http/auth';
import { localManifest } from '../../../runtime/cli/local-fleet';
import { synthesizedFleetJson } from '../../helpers/local-fleet';

const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** A JWT-shaped token of exactly `length` characters, whose header asks for RS256. */
function jwtShaped(length: number): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'test-key' })).toString('base64url');
  const signature = 'c'.repeat(342);
  return `${header}.${'b'.repeat(length - header.length - signature.length - 2)}.${signature}`;
}

describe('the length of a bearer token', () => {
  const { manifest } = localManifest(synthesizedFleetJson());

  test.each([
    ['8,192 characters is checked against the signing keys', 8192, 1],
    ['8,193 characters is refused before any key is looked up', 8193, 0],
  ])('a JWT-shaped token of %s', async (_what, length, lookups) => {
    const jwks = jest.fn<ReturnType<JWTVerifyGetKey>, Parameters<JWTVerifyGetKey>>(async () => {
      throw new Error('no such key');
    });
    const auth = new Authenticator(manifest, [], { tenantId: '11111111-2222-3333-4444-555555555555', audience: 'api://hosted-bots-test', jwks: jwks as unknown as JWTVerifyGetKey });
    const token = jwtShaped(length);
    expect(token).toHaveLength(length);
    expect(await auth.authenticate(`Bearer ${token}`)).toBeUndefined();
    expect(jwks).toHaveBeenCalledTimes(lookups);
  });

  test.each([
    ['512 characters signs in', 512, 'ops'],
    ['513 characters is refused', 513, undefined],
  ])('a static token the tokens file lists, of %s', async (_what, length, principal) => {
    const token = 't'.repeat(length);
    const auth = new Authenticator(manifest, [{ principal: 'ops', sha256: sha256Hex(token) }]);
    const found = await auth.authenticate(`Bearer ${token}`);
    expect(found?.kind === 'user' ? found.id : undefined).toBe(principal);
  });
});
