/**
 * Dashboard sessions: a token signs in once, and the browser then holds only a random session ID
 * in an HttpOnly, SameSite=Strict cookie. Each session has its own CSRF token for the forms.
 * Sessions live in this replica's memory (the App Service keeps a browser on one instance with
 * client affinity). A session ends at sign-out, after an hour without a request, and at the
 * latest eight hours after sign-in or when the token it signed in with expires, whichever comes
 * first (sessionEnd). On every request its principal is worked out again from what it kept of
 * the sign-in (Authenticator.principalOf): a rotated token ends it, lost admin rights are lost.
 */
import { randomBytes, timingSafeEqual } from 'crypto';
import type { Request } from 'express';
import type { Principal, SignIn, SignInProof } from './auth';

declare module 'express-serve-static-core' {
  interface Request {
    /** The dashboard session, on `session-user` routes. */
    session?: Session;
  }
}

export const SESSION_COOKIE = 'hb_session';
/** A session nobody used for this long ends. */
export const IDLE_MS = 60 * 60 * 1000;
/**
 * The longest a session lives, however much it is used: a working day. A static token has no
 * expiry of its own, so this is its session's; an Entra ID token's expiry (about an hour) comes first.
 */
export const MAX_SESSION_MS = 8 * 60 * 60 * 1000;
/** Sessions one replica holds; past it, the oldest goes first. */
export const MAX_SESSIONS = 10_000;
/** Sessions one principal may hold; its oldest goes first, so one token cannot crowd out others. */
export const MAX_SESSIONS_PER_PRINCIPAL = 20;

type UserSignIn = Extract<SignIn, { proof: SignInProof }>;

export interface Session {
  readonly id: string;
  /** Worked out again on every use (see SessionStore.get). */
  principal: Extract<Principal, { kind: 'user' }>;
  readonly csrf: string;
  readonly proof: SignInProof;
  readonly signedInAt: number;
  /** When the session ends whatever happens: sessionEndsAt() of its sign-in. */
  readonly endsAt: number;
  lastUsedAt: number;
}

/** When a session signed in at `signedInAt` ends at the latest: MAX_SESSION_MS later, or when its token expires, if sooner. */
export function sessionEndsAt(signedInAt: number, tokenExpiresAt: number | undefined): number {
  return Math.min(signedInAt + MAX_SESSION_MS, tokenExpiresAt ?? Number.POSITIVE_INFINITY);
}

/** Why a session has ended at `now`, or undefined while it lives: its end came (`lifetime`), or no one used it for IDLE_MS (`idle`). */
export function sessionEnd(session: Pick<Session, 'endsAt' | 'lastUsedAt'>, now: number): 'lifetime' | 'idle' | undefined {
  if (now >= session.endsAt) return 'lifetime';
  if (now - session.lastUsedAt >= IDLE_MS) return 'idle';
  return undefined;
}

/** The principal a sign-in stands for now, or undefined once it stands for none (Authenticator.principalOf). */
export type PrincipalCheck = (proof: SignInProof, now: number) => Session['principal'] | undefined;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly now: () => number,
    private readonly check: PrincipalCheck,
  ) {}

  create(signIn: UserSignIn): Session {
    this.prune();
    const { principal } = signIn;
    const own = [...this.sessions.values()].filter((s) => s.principal.id === principal.id);
    for (const old of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_PRINCIPAL + 1))) this.sessions.delete(old.id);
    const now = this.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      principal,
      csrf: randomBytes(32).toString('base64url'),
      proof: signIn.proof,
      signedInAt: now,
      endsAt: sessionEndsAt(now, signIn.expiresAt),
      lastUsedAt: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * The live session for a cookie value, with its principal as it stands now; each use keeps it
   * from going idle. A session that has ended, or whose sign-in no longer stands for a principal,
   * is gone.
   */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.now();
    const principal = sessionEnd(session, now) ? undefined : this.check(session.proof, now);
    if (!principal) {
      this.sessions.delete(id);
      return undefined;
    }
    session.principal = principal;
    session.lastUsedAt = now;
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** The form's CSRF token matches the session's (compared in constant time). */
  static csrfMatches(session: Session, given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (sessionEnd(s, now)) this.sessions.delete(id);
    // A flood of sign-ins cannot grow memory without bound: the oldest sessions go first.
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }
}

/** The value of one cookie in a Cookie header. */
export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** The session of a request, from its cookie. */
export function sessionOf(sessions: SessionStore, req: Request): Session | undefined {
  return sessions.get(cookie(req.headers.cookie, SESSION_COOKIE));
}
