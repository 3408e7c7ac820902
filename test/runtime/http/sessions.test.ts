import { createHash } from 'crypto';
import { Authenticator, SignInProof, StaticToken } from '../../../runtime/http/auth';
import { cookie, IDLE_MS, MAX_SESSION_MS, MAX_SESSIONS, sessionEnd, sessionEndsAt, SessionStore } from '../../../runtime/http/sessions';
import { localManifest } from '../../../runtime/cli/local-fleet';
import { synthesizedFleetJson } from '../../helpers/local-fleet';

const HOUR = 3_600_000;
const user = { kind: 'user', id: 'ops@contoso.com', roles: [], admin: false, via: 'token' } as const;
const signIn = (expiresAt?: number) => ({ principal: user, proof: { kind: 'token', sha256: Buffer.alloc(32) } as SignInProof, expiresAt });
/** A store on a clock the test sets, whose sign-ins stand for `user` as long as `valid` says. */
function clockedStore(valid: () => boolean = () => true) {
  const clock = { t: 0 };
  return { clock, store: new SessionStore(() => clock.t, () => (valid() ? user : undefined)) };
}

describe('when a session ends', () => {
  test.each([
    ['a static token: eight hours after sign-in', undefined, MAX_SESSION_MS],
    ['an Entra ID token that expires in an hour: then', HOUR, HOUR],
    ['an Entra ID token that outlives eight hours: after eight hours', 24 * HOUR, MAX_SESSION_MS],
  ])('%s', (_name, expiresIn, endsIn) => {
    expect(sessionEndsAt(1000, expiresIn === undefined ? undefined : 1000 + expiresIn)).toBe(1000 + endsIn);
  });

  test.each<[string, number, number, ReturnType<typeof sessionEnd>]>([
    ['used a minute ago, before its end', 5 * HOUR, 5 * HOUR - 60_000, undefined],
    ['just before its end', MAX_SESSION_MS - 1, MAX_SESSION_MS - 2, undefined],
    ['at its end, however recently used', MAX_SESSION_MS, MAX_SESSION_MS - 1, 'lifetime'],
    ['unused for just under the idle time', 2 * HOUR, 2 * HOUR - IDLE_MS + 1, undefined],
    ['unused for the idle time', 2 * HOUR, 2 * HOUR - IDLE_MS, 'idle'],
  ])('%s', (_name, now, lastUsedAt, end) => {
    expect(sessionEnd({ endsAt: MAX_SESSION_MS, lastUsedAt }, now)).toBe(end);
  });
});

describe('dashboard sessions', () => {
  test(`a replica holds ${MAX_SESSIONS} live sessions; the one after them ends the oldest`, () => {
    const { store } = clockedStore();
    // Each by another principal, so that the per-principal limit ends none of them.
    const as = (i: number) => store.create({ ...signIn(), principal: { ...user, id: `user-${i}` } });
    const sessions = Array.from({ length: MAX_SESSIONS }, (_, i) => as(i));
    expect(store.get(sessions[0].id)).toBe(sessions[0]);
    const newest = as(MAX_SESSIONS);
    expect(store.get(sessions[0].id)).toBeUndefined();
    expect(store.get(sessions[1].id)).toBe(sessions[1]);
    expect(store.get(newest.id)).toBe(newest);
  }, 60_000);

  test('a session used every half hour still ends eight hours after sign-in', () => {
    const { clock, store } = clockedStore();
    const s = store.create(signIn());
    for (clock.t = HOUR / 2; clock.t < MAX_SESSION_MS; clock.t += HOUR / 2) expect(store.get(s.id)).toBe(s);
    clock.t = MAX_SESSION_MS;
    expect(store.get(s.id)).toBeUndefined();
  });

  test('a session ends when the token it signed in with expires, though it is in use', () => {
    const { clock, store } = clockedStore();
    const s = store.create(signIn(HOUR));
    clock.t = HOUR - 1;
    expect(store.get(s.id)).toBe(s);
    clock.t = HOUR;
    expect(store.get(s.id)).toBeUndefined();
  });

  test('an hour without a request ends a session; each request keeps it from going idle', () => {
    const { clock, store } = clockedStore();
    const s = store.create(signIn());
    clock.t = IDLE_MS - 1;
    expect(store.get(s.id)).toBe(s);
    clock.t += IDLE_MS - 1;
    expect(store.get(s.id)).toBe(s);
    clock.t += IDLE_MS;
    expect(store.get(s.id)).toBeUndefined();
  });

  test('a session whose sign-in no longer stands for a principal ends at its next request, and stays ended', () => {
    let valid = true;
    const { store } = clockedStore(() => valid);
    const s = store.create(signIn());
    expect(store.get(s.id)).toBe(s);
    valid = false;
    expect(store.get(s.id)).toBeUndefined();
    valid = true;
    expect(store.get(s.id)).toBeUndefined();
  });

  test('signing out ends the session', () => {
    const { store } = clockedStore();
    const s = store.create(signIn());
    store.end(s.id);
    expect(store.get(s.id)).toBeUndefined();
  });

  test('unknown and missing cookies find no session', () => {
    const { store } = clockedStore();
    store.create(signIn());
    expect(store.get(undefined)).toBeUndefined();
    expect(store.get('')).toBeUndefined();
    expect(store.get('not-a-session')).toBeUndefined();
  });

  test('the CSRF check wants exactly the session token', () => {
    const s = clockedStore().store.create(signIn());
    expect(SessionStore.csrfMatches(s, s.csrf)).toBe(true);
    expect(SessionStore.csrfMatches(s, s.csrf.slice(1))).toBe(false);
    expect(SessionStore.csrfMatches(s, undefined)).toBe(false);
    expect(SessionStore.csrfMatches(s, [s.csrf])).toBe(false);
  });

  test('session and CSRF tokens are random and distinct', () => {
    const { store } = clockedStore();
    const a = store.create(signIn());
    const b = store.create(signIn());
    expect(new Set([a.id, b.id, a.csrf, b.csrf]).size).toBe(4);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('one cookie is read out of a Cookie header', () => {
    expect(cookie('a=1; hb_session=abc=def; b=2', 'hb_session')).toBe('abc=def');
    expect(cookie('hb_sessionx=1', 'hb_session')).toBeUndefined();
    expect(cookie(undefined, 'hb_session')).toBeUndefined();
  });
});

describe("a session's principal, checked again on every request", () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const { manifest } = localManifest(synthesizedFleetJson());
  /** Tokens kept in Key Vault change while the runtime runs: the admin token is rotated. */
  let rotating: StaticToken[];
  const auth = new Authenticator(manifest, [{ principal: 'clerk', sha256: sha256('clerk-token') }], undefined, () => rotating);
  const clock = { t: 0 };
  const store = new SessionStore(() => clock.t, (proof, now) => auth.principalOf(proof, now));
  const signedIn = async (token: string) => {
    const result = await auth.signIn(token);
    if (!result || !('proof' in result)) throw new Error(`${token} does not sign in as a user`);
    return store.create(result);
  };

  beforeEach(() => {
    rotating = [{ principal: 'hosted-bots-admin', sha256: sha256('admin-token-1'), admin: true }];
  });

  test('a rotated admin token ends the sessions it signed in, at their next request', async () => {
    const session = await signedIn('admin-token-1');
    expect(store.get(session.id)?.principal).toMatchObject({ id: 'hosted-bots-admin', admin: true });
    rotating = [{ principal: 'hosted-bots-admin', sha256: sha256('admin-token-2'), admin: true }];
    expect(store.get(session.id)).toBeUndefined();
  });

  test('admin rights taken from a token are gone from its sessions at their next request', async () => {
    const session = await signedIn('admin-token-1');
    rotating = [{ principal: 'hosted-bots-admin', sha256: sha256('admin-token-1'), admin: false }];
    expect(store.get(session.id)?.principal).toMatchObject({ id: 'hosted-bots-admin', admin: false });
  });

  test('a static token keeps its session, and the session keeps only its SHA-256, not the token', async () => {
    const session = await signedIn('clerk-token');
    expect(store.get(session.id)?.principal.id).toBe('clerk');
    expect(JSON.stringify(session)).not.toContain('clerk-token');
  });
});
