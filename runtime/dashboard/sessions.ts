/**
 * Dashboard sessions: a token signs in once, and the browser then holds only a random session ID
 * in an HttpOnly, SameSite=Strict cookie. Each session has its own CSRF token for the forms.
 * Sessions live in this replica's memory (the App Service keeps a browser on one instance with
 * client affinity); signing out, or eight idle hours, ends one.
 */
import { randomBytes, timingSafeEqual } from 'crypto';
import type { Request } from 'express';
import type { Principal } from '../api/auth';

declare module 'express-serve-static-core' {
  interface Request {
    /** The dashboard session, on `session-user` routes. */
    session?: Session;
  }
}

export const SESSION_COOKIE = 'hb_session';
const IDLE_MS = 8 * 60 * 60 * 1000;
const MAX_SESSIONS = 10_000;
/** Sessions one principal may hold; its oldest goes first, so one token cannot crowd out others. */
export const MAX_SESSIONS_PER_PRINCIPAL = 20;

export interface Session {
  readonly id: string;
  readonly principal: Extract<Principal, { kind: 'user' }>;
  readonly csrf: string;
  expiresAt: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(principal: Session['principal']): Session {
    this.prune();
    const own = [...this.sessions.values()].filter((s) => s.principal.id === principal.id);
    for (const old of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_PRINCIPAL + 1))) this.sessions.delete(old.id);
    const session: Session = { id: randomBytes(32).toString('base64url'), principal, csrf: randomBytes(32).toString('base64url'), expiresAt: this.now() + IDLE_MS };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value; each use extends it. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt < this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    session.expiresAt = this.now() + IDLE_MS;
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
    for (const [id, s] of this.sessions) if (s.expiresAt < now) this.sessions.delete(id);
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
