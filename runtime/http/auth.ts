/**
 * Who is calling.
 * - Static tokens are stored as SHA-256 hashes and compared in constant time.
 * - Entra ID access tokens (JWTs) are verified with `jose` against the tenant's issuer, the API's
 *   audience and its JWKS, accepting RS256 only and a minute of clock skew. The principal is the
 *   token's `oid`; its `roles` count as principals too, so access lists may name an app role.
 * - A bot token is scoped to one group (the manifest holds its hash).
 * Group access comes from the manifest's `users`/`coOwners`; environment `admins` see everything.
 */
import { createHash, timingSafeEqual } from 'crypto';
import { createRemoteJWKSet, jwtVerify, JWTVerifyGetKey } from 'jose';
import type { FleetManifest, ManifestGroup } from '../config/manifest';

export type Principal =
  | { readonly kind: 'user'; readonly id: string; readonly roles: readonly string[]; readonly admin: boolean; readonly via: 'token' | 'entra' }
  | { readonly kind: 'bot'; readonly group: string };

export type Access = 'admin' | 'co-owner' | 'user';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/**
 * What a dashboard session keeps of its sign-in, so that principalOf() can check the principal
 * again on every request; never the token itself. A static token is kept as its SHA-256 (as the
 * tokens file has it); an Entra ID token as its verified claims and expiry.
 */
export type SignInProof =
  | { readonly kind: 'token'; readonly sha256: Buffer }
  | { readonly kind: 'entra'; readonly oid: string; readonly roles: readonly string[]; readonly expiresAt: number };

/** A token's sign-in: a user's, with its proof and when the token expires (never, for a static token), or a bot's. */
export type SignIn =
  | { readonly principal: UserPrincipal; readonly proof: SignInProof; readonly expiresAt?: number }
  | { readonly principal: Extract<Principal, { kind: 'bot' }> };

/** A static API token: the principal it signs in as, and the SHA-256 (hex) of the secret. */
export interface StaticToken {
  readonly principal: string;
  readonly sha256: string;
  /** An environment admin whatever the manifest's `admins` say. @default false */
  readonly admin?: boolean;
}

export interface EntraOptions {
  /** The directory (tenant) ID. */
  readonly tenantId: string;
  /** The runtime API's application ID URI or client ID, as tokens carry it in `aud`. */
  readonly audience: string;
  /** @default `https://login.microsoftonline.com/<tenant>/v2.0` */
  readonly issuer?: string;
  /** @default the tenant's published keys (`…/discovery/v2.0/keys`) */
  readonly jwks?: JWTVerifyGetKey;
  /** @default 60 */
  readonly clockToleranceSeconds?: number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function fromHex(hex: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`a token hash must be 64 hex characters (SHA-256), got ${hex.length} characters`);
  return Buffer.from(hex, 'hex');
}

export class Authenticator {
  private readonly users: Array<{ principal: string; hash: Buffer; admin: boolean }>;
  private readonly bots: Array<{ group: string; hash: Buffer }>;
  private readonly admins: ReadonlySet<string>;
  private readonly identities: ReadonlyMap<string, { group: string; resourceId: string }>;
  private readonly entra?: { issuer: string[]; audience: string; jwks: JWTVerifyGetKey; tolerance: number };

  /** Tokens that change while the runtime runs (the admin token kept in Key Vault). */
  private readonly rotating?: () => readonly StaticToken[];

  constructor(manifest: FleetManifest, tokens: readonly StaticToken[], entra?: EntraOptions, rotating?: () => readonly StaticToken[]) {
    this.rotating = rotating;
    this.users = tokens.map((t) => ({ principal: t.principal, hash: fromHex(t.sha256), admin: t.admin ?? false }));
    // Only groups that opted into a shared token accept one.
    this.bots = manifest.groups.flatMap((g) => (g.botAuth.kind === 'token' && g.botTokenSha256 ? [{ group: g.name, hash: fromHex(g.botTokenSha256) }] : []));
    this.identities = new Map(
      manifest.groups.flatMap((g) => (g.botAuth.kind === 'managed-identity' ? [[g.botAuth.principalId.toLowerCase(), { group: g.name, resourceId: g.botAuth.resourceId }] as const] : [])),
    );
    this.admins = new Set(manifest.environment.admins);
    if (this.identities.size > 0 && !entra) {
      const names = [...this.identities.values()].map((i) => i.group).join(', ');
      throw new Error(`the bots of ${names} prove their group with their managed identity's tokens, which the runtime verifies with Entra ID: give it --entra-tenant and --entra-audience (HOSTED_BOTS_ENTRA_TENANT, HOSTED_BOTS_ENTRA_AUDIENCE)`);
    }
    if (entra) {
      this.entra = {
        // Managed identities get v1 tokens unless the audience's app asks for v2; both are signed by the tenant.
        issuer: entra.issuer ? [entra.issuer] : [`https://login.microsoftonline.com/${entra.tenantId}/v2.0`, `https://sts.windows.net/${entra.tenantId}/`],
        audience: entra.audience,
        jwks: entra.jwks ?? createRemoteJWKSet(new URL(`https://login.microsoftonline.com/${entra.tenantId}/discovery/v2.0/keys`)),
        tolerance: entra.clockToleranceSeconds ?? 60,
      };
    }
  }

  /** The principal for an `Authorization` header value, or undefined. */
  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    const match = /^Bearer (.*)$/.exec(header ?? '');
    return match ? (await this.signIn(match[1]))?.principal : undefined;
  }

  /** A token's sign-in (what a dashboard session keeps of it), or undefined for a token that is not valid. */
  async signIn(token: string): Promise<SignIn | undefined> {
    if (!/^[\x21-\x7e]{1,8192}$/.test(token)) return undefined;
    if (this.entra && JWT_SHAPE.test(token)) return this.verifyJwt(token);
    if (token.length > 512) return undefined;
    const hash = sha256(token);
    const user = this.staticUser(hash);
    // Bot tokens are compared too, whatever matched, so the time taken does not tell which did.
    let bot: string | undefined;
    for (const b of this.bots) if (timingSafeEqual(b.hash, hash) && !bot) bot = b.group;
    if (user) return { principal: user, proof: { kind: 'token', sha256: hash } };
    return bot === undefined ? undefined : { principal: { kind: 'bot', group: bot } };
  }

  /**
   * The principal a sign-in stands for now, or undefined once it stands for none: a static token
   * no longer among the tokens (a rotated admin token), an Entra ID token past its expiry. Admin
   * rights are worked out again from the tokens and the manifest's `admins`.
   */
  principalOf(proof: SignInProof, now: number): UserPrincipal | undefined {
    if (proof.kind === 'token') return this.staticUser(proof.sha256);
    return now < proof.expiresAt ? this.entraUser(proof.oid, proof.roles) : undefined;
  }

  /** The user of a static token (by its SHA-256), compared with every entry so the time taken does not tell which matched. */
  private staticUser(hash: Buffer): UserPrincipal | undefined {
    let found: UserPrincipal | undefined;
    const rotating = (this.rotating?.() ?? []).map((t) => ({ principal: t.principal, hash: fromHex(t.sha256), admin: t.admin ?? false }));
    for (const u of [...this.users, ...rotating]) {
      if (timingSafeEqual(u.hash, hash) && !found) found = { kind: 'user', id: u.principal, roles: [], admin: u.admin || this.admins.has(u.principal), via: 'token' };
    }
    return found;
  }

  private entraUser(oid: string, roles: readonly string[]): UserPrincipal {
    return { kind: 'user', id: oid, roles, admin: this.admins.has(oid) || roles.some((r) => this.admins.has(r)), via: 'entra' };
  }

  private async verifyJwt(token: string): Promise<SignIn | undefined> {
    const entra = this.entra!;
    try {
      const { payload } = await jwtVerify(token, entra.jwks, {
        issuer: entra.issuer,
        audience: entra.audience,
        algorithms: ['RS256'],
        clockTolerance: entra.tolerance,
        requiredClaims: ['exp', 'oid'],
      });
      const oid = String(payload.oid);
      // A group's managed identity is a bot of that group. `oid` is the object ID of the verified
      // principal (Microsoft identity platform, access token claims reference); `xms_mirid`, the
      // identity's resource ID in managed identity tokens, must agree when present.
      const identity = this.identities.get(oid.toLowerCase());
      if (identity) {
        const mirid = payload.xms_mirid;
        if (mirid !== undefined && String(mirid).toLowerCase() !== identity.resourceId.toLowerCase()) return undefined;
        return { principal: { kind: 'bot', group: identity.group } };
      }
      const roles = Array.isArray(payload.roles) ? payload.roles.map(String) : [];
      // `exp` is required above; a session signed in with the token ends with it.
      const expiresAt = Number(payload.exp) * 1000;
      return { principal: this.entraUser(oid, roles), proof: { kind: 'entra', oid, roles, expiresAt }, expiresAt };
    } catch {
      return undefined;
    }
  }
}

/** The caller's access to a group: admin, co-owner, user, or none. */
export function accessTo(principal: Principal, group: ManifestGroup): Access | undefined {
  if (principal.kind !== 'user') return undefined;
  if (principal.admin) return 'admin';
  const names = [principal.id, ...principal.roles];
  if (names.some((n) => group.access.coOwners.includes(n))) return 'co-owner';
  if (names.some((n) => group.access.users.includes(n))) return 'user';
  return undefined;
}

export function canManage(access: Access | undefined): boolean {
  return access === 'admin' || access === 'co-owner';
}

/**
 * Who may see a run beyond its place in the queue (its flow, its ID, who started it) and, on the
 * run's own route, its data (inputs, output, error text): its owner, the group's co-owners and
 * environment admins. Other users of the group see its position, priority, state and times.
 */
export function canSeeRun(principal: Principal, access: Access | undefined, run: { readonly createdBy: string }): boolean {
  return canManage(access) || (principal.kind === 'user' && run.createdBy === principal.id);
}
