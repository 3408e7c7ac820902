/**
 * Who is calling. Static tokens are stored as SHA-256 hashes and compared in constant time; a
 * bot token is scoped to one group (the manifest holds its hash). Group access comes from the
 * manifest's `users`/`coOwners`, and environment admins see everything.
 */
import { createHash, timingSafeEqual } from 'crypto';
import type { FleetManifest, ManifestGroup } from '../config/manifest';

export type Principal = { readonly kind: 'user'; readonly id: string; readonly admin: boolean } | { readonly kind: 'bot'; readonly group: string };

export type Access = 'admin' | 'co-owner' | 'user';

/** A static API token: the principal it signs in as, and the SHA-256 (hex) of the secret. */
export interface StaticToken {
  readonly principal: string;
  readonly sha256: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

function fromHex(hex: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`a token hash must be 64 hex characters (SHA-256), got ${hex.length} characters`);
  return Buffer.from(hex, 'hex');
}

export class Authenticator {
  private readonly users: Array<{ principal: string; hash: Buffer }>;
  private readonly bots: Array<{ group: string; hash: Buffer }>;
  private readonly admins: ReadonlySet<string>;

  constructor(manifest: FleetManifest, tokens: readonly StaticToken[]) {
    this.users = tokens.map((t) => ({ principal: t.principal, hash: fromHex(t.sha256) }));
    this.bots = manifest.groups.map((g) => ({ group: g.name, hash: fromHex(g.botTokenSha256) }));
    this.admins = new Set(manifest.environment.admins);
  }

  /** The principal for an `Authorization` header value, or undefined. Every entry is compared. */
  authenticate(header: string | undefined): Principal | undefined {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
    if (!match) return undefined;
    const hash = sha256(match[1]);
    let found: Principal | undefined;
    for (const u of this.users) if (timingSafeEqual(u.hash, hash) && !found) found = { kind: 'user', id: u.principal, admin: this.admins.has(u.principal) };
    for (const b of this.bots) if (timingSafeEqual(b.hash, hash) && !found) found = { kind: 'bot', group: b.group };
    return found;
  }
}

/** The caller's access to a group: admin, co-owner, user, or none. */
export function accessTo(principal: Principal, group: ManifestGroup): Access | undefined {
  if (principal.kind !== 'user') return undefined;
  if (principal.admin) return 'admin';
  if (group.access.coOwners.includes(principal.id)) return 'co-owner';
  if (group.access.users.includes(principal.id)) return 'user';
  return undefined;
}

export function canManage(access: Access | undefined): boolean {
  return access === 'admin' || access === 'co-owner';
}
