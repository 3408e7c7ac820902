import { cookie, SessionStore } from '../../../runtime/dashboard/sessions';

const user = { kind: 'user', id: 'ops@contoso.com', admin: false, groups: [] } as never;

describe('dashboard sessions', () => {
  test('a session lasts eight idle hours, and each use extends it', () => {
    let t = 0;
    const store = new SessionStore(() => t);
    const s = store.create(user);
    t = 7 * 3_600_000;
    expect(store.get(s.id)).toBe(s);
    t += 7 * 3_600_000;
    expect(store.get(s.id)).toBe(s);
    t += 8 * 3_600_000 + 1;
    expect(store.get(s.id)).toBeUndefined();
  });

  test('signing out ends the session', () => {
    const store = new SessionStore();
    const s = store.create(user);
    store.end(s.id);
    expect(store.get(s.id)).toBeUndefined();
  });

  test('unknown and missing cookies find no session', () => {
    const store = new SessionStore();
    store.create(user);
    expect(store.get(undefined)).toBeUndefined();
    expect(store.get('')).toBeUndefined();
    expect(store.get('not-a-session')).toBeUndefined();
  });

  test('the CSRF check wants exactly the session token', () => {
    const s = new SessionStore().create(user);
    expect(SessionStore.csrfMatches(s, s.csrf)).toBe(true);
    expect(SessionStore.csrfMatches(s, s.csrf.slice(1))).toBe(false);
    expect(SessionStore.csrfMatches(s, undefined)).toBe(false);
    expect(SessionStore.csrfMatches(s, [s.csrf])).toBe(false);
  });

  test('session and CSRF tokens are random and distinct', () => {
    const store = new SessionStore();
    const a = store.create(user);
    const b = store.create(user);
    expect(new Set([a.id, b.id, a.csrf, b.csrf]).size).toBe(4);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('one cookie is read out of a Cookie header', () => {
    expect(cookie('a=1; hb_session=abc=def; b=2', 'hb_session')).toBe('abc=def');
    expect(cookie('hb_sessionx=1', 'hb_session')).toBeUndefined();
    expect(cookie(undefined, 'hb_session')).toBeUndefined();
  });
});
