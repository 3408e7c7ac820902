import { Writable } from 'stream';
import { jsonLog, redact, redactText } from '../../runtime/log';
import { startTestFleet, USERS } from '../helpers/local-fleet';

describe('logs', () => {
  test('fields named like secrets are masked at any depth', () => {
    expect(redact({ runId: 'run_1', token: 'abc', nested: { adminPassword: 'p', list: [{ connectionString: 'x' }] } })).toEqual({
      runId: 'run_1',
      token: '[redacted]',
      nested: { adminPassword: '[redacted]', list: [{ connectionString: '[redacted]' }] },
    });
  });

  test('connection strings, bearer tokens and password pairs are masked inside text', () => {
    expect(redactText('connect postgres://bots:S3cret!@db.example:5432/bots failed')).toBe('connect postgres://bots:[redacted]@db.example:5432/bots failed');
    expect(redactText('header Authorization: Bearer eyJhbGciOi.abc.def')).toBe('header Authorization: Bearer [redacted]');
    expect(redactText('Server=db;User Id=bots;Password=hunter2;')).toBe('Server=db;User Id=bots;Password=[redacted];');
  });

  test('a live runtime writes no token, password or connection string to its log or error bodies', async () => {
    let lines = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines += chunk.toString();
        done();
      },
    });
    const t = await startTestFleet({}, { log: jsonLog(sink) });
    const bodies: string[] = [];
    try {
      const secretish = 'Bearer-looking-secret-XYZ-123';
      bodies.push(JSON.stringify((await t.api('GET', '/v1/groups', undefined, secretish)).body));
      bodies.push(JSON.stringify((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body));
      bodies.push(JSON.stringify((await t.api('POST', '/v1/agent/register', { vmName: 'vm-x' }, t.botTokens.finance)).body));
      bodies.push(JSON.stringify((await t.api('POST', '/v1/groups/finance/runs', '{"flow": broken', USERS.financeClerk)).body));
      await new Promise((r) => setTimeout(r, 1500));
      const secrets = [...Object.values(t.tokens), ...Object.values(t.botTokens), secretish];
      expect(lines.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        expect(lines).not.toContain(secret);
        for (const body of bodies) expect(body).not.toContain(secret);
      }
    } finally {
      await t.stop();
    }
  });
});
