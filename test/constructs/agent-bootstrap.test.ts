import { Token } from 'cdktf';
import { BOT_HOME, bootstrapCommand, bootstrapScript, PINNED_NODE } from '../../constructs/agent-bootstrap';

describe('agent bootstrap', () => {
  const script = bootstrapScript();

  test('runs the four steps in order, then restarts', () => {
    const steps = [...script.matchAll(/Invoke-Step '([a-z-]+)'/g)].map((m) => m[1]);
    expect(steps).toEqual(['install-node', 'download-agent', 'auto-logon', 'startup-task', 'restart']);
  });

  test('checks the pinned Node.js archive against its SHA-256 before unpacking', () => {
    expect(PINNED_NODE.sha256).toMatch(/^[0-9a-f]{64}$/);
    const hashCheck = script.indexOf(`-ne '${PINNED_NODE.sha256}'`);
    expect(hashCheck).toBeGreaterThan(script.indexOf(PINNED_NODE.url));
    expect(hashCheck).toBeLessThan(script.indexOf('tar.exe -xzf'));
  });

  test('downloads the agent bundle from the runtime with the bot token', () => {
    expect(script).toContain('"$($config.runtimeUrl)/v1/agent/bundle"');
    expect(script).toContain('Authorization = "Bearer $($config.botToken)"');
  });

  test('turns on auto-logon for the local account and starts the agent at logon', () => {
    expect(script).toMatch(/AutoAdminLogon -Value '1'/);
    expect(script).toMatch(/New-ScheduledTaskTrigger -AtLogOn -User \$config\.adminUsername/);
    expect(script).toContain(`${BOT_HOME}`);
  });

  test('a failing step exits non-zero, naming the step', () => {
    expect(script).toMatch(/catch \{ \[Console\]::Error\.WriteLine\("hosted-bots bootstrap: step \$Name failed: .*"\); exit 1 \}/);
    expect(script.trimEnd().endsWith('exit 0')).toBe(true);
  });

  test('holds no secret: they arrive as a base64 JSON argument', () => {
    const command = bootstrapCommand({ runtimeUrl: 'https://rt', group: 'finance', botToken: 'TOKEN-XYZ', adminUsername: 'botadmin', adminPassword: 'PASSWORD-XYZ' });
    const encoded = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(command)![1];
    expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe(script);
    expect(script).not.toMatch(/TOKEN-XYZ|PASSWORD-XYZ/);
    expect(Token.isUnresolved(command)).toBe(true);
  });

  test('the command stays under the Windows command-line limit of 8191 characters', () => {
    const command = bootstrapCommand({ runtimeUrl: 'https://rt', group: 'g', botToken: 't', adminUsername: 'u', adminPassword: 'p' });
    // The config argument is expanded by Terraform at apply time; allow 1,000 characters for it.
    expect(command.length + 1000).toBeLessThan(8191);
  });
});
