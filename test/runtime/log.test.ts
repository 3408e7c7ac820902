import { Writable } from 'stream';
import { createLog, MAX_LOGGED_CHARS, redact, redactText } from '../../runtime/log';
import { startTestFleet, USERS } from '../helpers/local-fleet';

/** A stream a log writes to, and what it has written so far. */
function capture(): { sink: Writable; text: () => string } {
  let written = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      written += chunk.toString();
      done();
    },
  });
  return { sink, text: () => written };
}

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

  test('an Azure Storage connection string keeps everything but its account key', () => {
    expect(redactText('DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc+/==;EndpointSuffix=core.windows.net')).toBe(
      'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=[redacted];EndpointSuffix=core.windows.net',
    );
  });

  test('a SAS URL keeps everything but its signature', () => {
    expect(redactText('GET https://x.blob.core.windows.net/c/b?sv=2022-11-02&sig=abc%2Bdef&se=2026-01-01T00%3A00%3A00Z failed')).toBe(
      'GET https://x.blob.core.windows.net/c/b?sv=2022-11-02&sig=[redacted]&se=2026-01-01T00%3A00%3A00Z failed',
    );
  });

  test('shared access keys, access keys and client secrets are masked, whatever their case', () => {
    expect(redactText('Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=k3y/+=')).toBe(
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=[redacted]',
    );
    expect(redactText('accesskey=AKIA123 next')).toBe('accesskey=[redacted] next');
    expect(redactText('grant_type=client_credentials&CLIENT_SECRET=s3cr3t~x&scope=api')).toBe('grant_type=client_credentials&CLIENT_SECRET=[redacted]&scope=api');
  });

  test('a live runtime writes no token, password or connection string to its log or error bodies', async () => {
    const { sink, text: linesText } = capture();
    const t = await startTestFleet({}, { log: createLog({ stream: sink, level: 'debug' }) });
    const bodies: string[] = [];
    try {
      const secretish = 'Bearer-looking-secret-XYZ-123';
      bodies.push(JSON.stringify((await t.api('GET', '/v1/groups', undefined, secretish)).body));
      bodies.push(JSON.stringify((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body));
      bodies.push(JSON.stringify((await t.api('POST', '/v1/agent/register', { vmName: 'vm-x' }, t.botTokens.finance)).body));
      bodies.push(JSON.stringify((await t.api('POST', '/v1/groups/finance/runs', '{"flow": broken', USERS.financeClerk)).body));
      await new Promise((r) => setTimeout(r, 1500));
      const secrets = [...Object.values(t.tokens), ...Object.values(t.botTokens), secretish];
      expect(linesText().length).toBeGreaterThan(0);
      for (const secret of secrets) {
        expect(linesText()).not.toContain(secret);
        for (const body of bodies) expect(body).not.toContain(secret);
      }
    } finally {
      await t.stop();
    }
  });
});

test('the level drops lines below it, and every line is JSON with the event and its IDs', () => {
  const { sink, text: outText } = capture();
  const log = createLog({ stream: sink, level: 'warn', base: { component: 'runtime' } });
  log('run.claimed', { runId: 'run_1', botId: 'bot_1', group: 'finance' });
  log('scaler.arm_error', { group: 'finance', code: 'QuotaExceeded', message: 'postgres://u:p4ss@db/x' });
  const lines = outText().trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toEqual([expect.objectContaining({ level: 'warn', event: 'scaler.arm_error', group: 'finance', component: 'runtime', message: 'postgres://u:[redacted]@db/x' })]);
});

test('HOSTED_BOTS_LOG_LEVEL sets the level; a bad one is refused naming the levels', () => {
  const { levelFromEnv } = jest.requireActual('../../runtime/log');
  process.env.HOSTED_BOTS_LOG_LEVEL = 'error';
  expect(levelFromEnv()).toBe('error');
  process.env.HOSTED_BOTS_LOG_LEVEL = 'loud';
  expect(() => levelFromEnv()).toThrow('HOSTED_BOTS_LOG_LEVEL "loud" is not a level; use one of debug, info, warn, error, silent');
  delete process.env.HOSTED_BOTS_LOG_LEVEL;
});

describe('redaction of text a stranger sends', () => {
  /** The pattern redactText used for URL passwords until it was replaced by a scan. */
  const urlPasswordPattern = (text: string) => text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1[redacted]@');

  test('masks a URL password exactly where the pattern it replaces did, on 20,000 generated texts', () => {
    // Texts built from the characters that decide a match, with a seeded generator.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pieces = ['a', 'Z', '1', '+', '.', '-', ':', '/', '//', '://', '@', ' ', '\n', 'p', 'https://', 'u:p@', '?', '#', ';', '='];
    for (let i = 0; i < 20_000; i++) {
      const text = Array.from({ length: 1 + Math.floor(next() * 14) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
      // Only the URL step: texts with "bearer" or key pairs are left to the other steps.
      expect(redactText(text)).toBe(urlPasswordPattern(text));
    }
  });

  test('a string field longer than 2 KiB is cut before redaction, saying how much was left out', () => {
    const origin = 'https://' + 'a'.repeat(15_000);
    const logged = redact({ origin }) as { origin: string };
    expect(logged.origin).toBe(`${origin.slice(0, MAX_LOGGED_CHARS)}…[${origin.length - MAX_LOGGED_CHARS} more characters]`);
    expect(MAX_LOGGED_CHARS).toBe(2048);
  });

  test('a secret before the cut is still masked', () => {
    const logged = redact({ message: `connect postgres://bots:S3cret@db/x ${'x'.repeat(5000)}` }) as { message: string };
    expect(logged.message.startsWith('connect postgres://bots:[redacted]@db/x ')).toBe(true);
  });

  test('nothing is redacted or formatted for a level that is off', () => {
    const { sink, text: outText } = capture();
    let reads = 0;
    const fields = {
      get origin() {
        reads += 1;
        return 'x'.repeat(15_000);
      },
    };
    const log = createLog({ stream: sink, level: 'error' });
    log('dashboard.signin_refused', fields);
    log('run.claimed', fields);
    expect(reads).toBe(0);
    expect(outText()).toBe('');
    log('api.error', fields);
    expect(reads).toBe(1);
  });
});
