#!/usr/bin/env node
/**
 * The `hosted-bots` command.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { StaticToken } from '../http/auth';
import { loadManifest, localizeManifest, ManifestError, parseManifest } from '../config/manifest';
import { createLog, LOG_LEVELS, LogLevel } from '../log';
import { addAgentCommand } from '../agent/command';
import { registerDeployerCommands } from './deployer';
import { LOCAL_SUBSCRIPTION } from './local-values';
import { BUNDLE_FILES } from './bundle-files';
import { ownVersion } from './own-package';

/* The heavy modules (Azure SDK, Express, the stores, arm-sim) load inside the commands that use
 * them, so that `hosted-bots status` or `--help` start in a fraction of a second. */
const lazy = {
  driver: () => require('../azure/azure-driver') as typeof import('../azure/azure-driver'),
  server: () => require('../server') as typeof import('../server'),
  postgres: () => require('../store/postgres') as typeof import('../store/postgres'),
  sqlite: () => require('../store/sqlite') as typeof import('../store/sqlite'),
  armSim: () => require('../arm-sim') as typeof import('../arm-sim'),
  simBots: () => require('./sim-bots') as typeof import('./sim-bots'),
  localValues: () => require('./local-values') as typeof import('./local-values'),
  telemetry: () => require('../telemetry') as typeof import('../telemetry'),
};

function number(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

function readJson(file: string, what: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
}

/** Static tokens: a JSON file of [{ principal, sha256 }], or HOSTED_BOTS_TOKENS with the same JSON. */
function staticTokens(file?: string): StaticToken[] {
  const raw = file ? readJson(file, 'tokens file') : process.env.HOSTED_BOTS_TOKENS ? JSON.parse(process.env.HOSTED_BOTS_TOKENS) : [];
  if (!Array.isArray(raw) || raw.some((t) => typeof t?.principal !== 'string' || !/^[0-9a-f]{64}$/i.test(String(t?.sha256)))) {
    throw new Error('tokens must be a JSON array of { "principal": string, "sha256": 64 hex characters }');
  }
  return raw;
}

/** The runtime's manifest: a file, or (as App Service sets it) the JSON in HOSTED_BOTS_MANIFEST. */
function runtimeManifest(file: string | undefined, localValues?: string, compressedTime = false) {
  if (file) return manifestFrom(file, localValues, compressedTime);
  const inline = process.env.HOSTED_BOTS_MANIFEST;
  if (!inline) throw new Error('give the fleet manifest with --manifest <file>, HOSTED_BOTS_MANIFEST_FILE, or its JSON in HOSTED_BOTS_MANIFEST');
  let raw: unknown;
  try {
    raw = JSON.parse(inline);
  } catch (err) {
    throw new Error(`HOSTED_BOTS_MANIFEST is not JSON: ${(err as Error).message}`);
  }
  return parseManifest(raw, { source: 'HOSTED_BOTS_MANIFEST', compressedTime });
}

function entraOptions(tenantId?: string, audience?: string) {
  if (!tenantId && !audience) return undefined;
  if (!tenantId || !audience) throw new Error('Entra ID sign-in needs both --entra-tenant and --entra-audience');
  return { tenantId, audience };
}

/**
 * What the runtime verifies attested data by (runtime/api/attested-data.ts). Roots: PEM from
 * `--attestation-roots`, HOSTED_BOTS_ATTESTATION_ROOTS_FILE or the PEM in HOSTED_BOTS_ATTESTATION_ROOTS,
 * else the Mozilla root store Node.js carries (tls.rootCertificates), which holds the roots
 * "Azure Certificate Authority details" lists (DigiCert Global Root G2, Microsoft RSA Root
 * Certificate Authority 2017, ...). Issuing CAs: the same three ways; none by default. Microsoft's
 * validation sample fetches the issuing CA apart from the attested data, which the runtime never
 * does (README, The agent).
 */
function attestationOptions(opts: { attestationRoots?: string; attestationIntermediates?: string; attestationSignerDomains?: string }) {
  const { certificatesFromPem } = require('../api/attested-data') as typeof import('../api/attested-data');
  const pem = (file: string | undefined, inline: string | undefined, what: string) => {
    if (file) {
      try {
        return { text: fs.readFileSync(file, 'utf8'), source: file };
      } catch (err) {
        throw new Error(`${what} ${file} cannot be read: ${(err as Error).message}`);
      }
    }
    return inline ? { text: inline, source: what } : undefined;
  };
  const roots = pem(opts.attestationRoots, process.env.HOSTED_BOTS_ATTESTATION_ROOTS, 'HOSTED_BOTS_ATTESTATION_ROOTS');
  const intermediates = pem(opts.attestationIntermediates, process.env.HOSTED_BOTS_ATTESTATION_INTERMEDIATES, 'HOSTED_BOTS_ATTESTATION_INTERMEDIATES');
  return {
    roots: roots ? certificatesFromPem(roots.text, roots.source) : (require('tls') as typeof import('tls')).rootCertificates.flatMap((p) => certificatesFromPem(p, 'tls.rootCertificates')),
    intermediates: intermediates ? certificatesFromPem(intermediates.text, intermediates.source) : [],
    ...(opts.attestationSignerDomains ? { signerDomains: opts.attestationSignerDomains.split(',').map((d) => d.trim()).filter(Boolean) } : {}),
  };
}

/** A synthesized manifest made runnable here: `--local-values` holds { subscriptionId?, botTokens }. */
function manifestFrom(file: string, localValues?: string, compressedTime = false) {
  if (!localValues) return loadManifest(file, { compressedTime });
  const values = readJson(localValues, 'local values file');
  const raw = readJson(file, 'fleet manifest');
  return parseManifest(localizeManifest(raw, { subscriptionId: values.subscriptionId ?? LOCAL_SUBSCRIPTION, botTokens: values.botTokens ?? {} }), { source: file, compressedTime });
}

/**
 * The admin (and metrics) token in the stack's Key Vault, created when missing and read again every
 * minute; and the vault itself, where the signing secrets of the manifest's webhooks live.
 */
async function startVaultTokens(opts: { keyVaultUrl: string; keyVaultCa?: string; metricsTokenSecret?: string; keyVaultRefreshSeconds: number }, clientId: string | undefined, log: import('../log').Log) {
  const { keyVaultSecretStore } = require('../azure/key-vault') as typeof import('../azure/key-vault');
  const { VaultTokens } = require('../api/vault-tokens') as typeof import('../api/vault-tokens');
  const local = opts.keyVaultCa !== undefined;
  if (!local && !clientId) throw new Error("--key-vault-url reads the vault with the runtime's managed identity: set AZURE_CLIENT_ID to its client ID");
  const credential = local ? lazy.localValues().localArmCredential() : lazy.driver().managedIdentityCredential(clientId!);
  const secrets = keyVaultSecretStore({ vaultUrl: opts.keyVaultUrl, credential, ca: local ? fs.readFileSync(opts.keyVaultCa!) : undefined });
  const tokens = new VaultTokens({
    store: secrets,
    metricsSecret: opts.metricsTokenSecret,
    refreshMs: opts.keyVaultRefreshSeconds * 1000,
    log,
  });
  await tokens.start();
  return { tokens, secrets };
}

/** A comma-separated list of host names, without blanks. */
function hostList(value: string): string[] {
  return value.split(',').map((h) => h.trim()).filter((h) => h.length > 0);
}

/** The command tree, without running it (tests parse it with their own actions). */
export function buildProgram(): Command {
  const program = new Command('hosted-bots')
    .description('Run fleets of unattended RPA bots on Azure, declared as code.')
    .version(ownVersion(), '-V, --version', 'print the version of hosted-rpa-bots')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('demo')
    .description('Run a fleet on this machine (the examples/single-geo fleet by default): arm-sim plays Azure, bots scale out, run and scale back in.')
    .option('--manifest <fleet.json|cdktf.out>', "run this synthesized stack's fleet.json, or every stack of a cdktf.out folder (one runtime each, on consecutive ports)")
    .addOption(new Option('--port <port>', 'port of the (first) runtime API on 127.0.0.1').default(8080).argParser(number('--port', 0, 65535)))
    .addOption(new Option('--boot-seconds <s>', 'how long a simulated bot takes to boot (Azure takes minutes)').default(4).argParser(number('--boot-seconds', 0, 600)))
    .addOption(new Option('--idle-seconds <s>', 'how long a bot may sit idle before it is deleted').default(15).argParser(number('--idle-seconds', 0, 86400)))
    .option('--no-sample-runs', 'do not submit the burst of sample runs')
    .addOption(new Option('--duration <s>', 'stop after this many seconds (0: run until Ctrl-C)').default(0).argParser(number('--duration', 0)))
    .option('--exit-when-idle', 'stop once the sample runs are done and every bot is gone')
    .option('--verbose', 'print the runtime log (JSON lines) to stderr')
    .action(async (opts) => {
      // The demo loads cdktf and the examples: never in the deployed bundle's way.
      const { runDemo } = require('./demo') as typeof import('./demo');
      await runDemo({
        manifest: opts.manifest,
        port: opts.port,
        bootSeconds: opts.bootSeconds,
        idleSeconds: opts.idleSeconds,
        sampleRuns: opts.sampleRuns,
        duration: opts.duration,
        exitWhenIdle: Boolean(opts.exitWhenIdle),
        verbose: Boolean(opts.verbose),
      });
    });

  program
    .command('runtime')
    .description('Serve the runtime API and scale the fleet of a manifest.')
    .option('--manifest <file>', 'the fleet.json of the stack (HOSTED_BOTS_MANIFEST_FILE, or the JSON itself in HOSTED_BOTS_MANIFEST)', process.env.HOSTED_BOTS_MANIFEST_FILE)
    .option('--store <file-or-url>', 'the runtime state: a SQLite file, or a postgresql:// URL for several replicas (HOSTED_BOTS_STORE)', process.env.HOSTED_BOTS_STORE ?? 'hosted-bots.db')
    .option('--store-schema <name>', 'PostgreSQL schema of the state (HOSTED_BOTS_STORE_SCHEMA)', process.env.HOSTED_BOTS_STORE_SCHEMA ?? 'public')
    .addOption(
      new Option('--store-auth <kind>', "how to sign in to PostgreSQL: the URL's password, or an Entra ID token of the runtime's managed identity (AZURE_CLIENT_ID) (HOSTED_BOTS_STORE_AUTH)")
        .choices(['password', 'managed-identity'])
        .default(process.env.HOSTED_BOTS_STORE_AUTH ?? 'password'),
    )
    .option('--key-vault-url <url>', "the stack's Key Vault: the runtime creates its admin token there (secret runtime-admin-token) when missing and reads new versions every minute (HOSTED_BOTS_KEY_VAULT_URL)", process.env.HOSTED_BOTS_KEY_VAULT_URL)
    .option('--metrics-token-secret <name>', 'serve /metrics to the token in this Key Vault secret, created when missing; needs --key-vault-url (HOSTED_BOTS_METRICS_TOKEN_SECRET)', process.env.HOSTED_BOTS_METRICS_TOKEN_SECRET)
    .addOption(new Option('--key-vault-refresh-seconds <s>', "how often to read the Key Vault tokens and the declared webhooks' signing secrets again, so that a new version takes over").default(60).argParser(number('--key-vault-refresh-seconds', 1, 86400)))
    .option('--key-vault-ca <file>', 'PEM certificate to trust for a local Key Vault (tests); its bearer token then comes from the local credential')
    .addOption(new Option('--lease-seconds <s>', 'how long the scaling replica\'s lease lasts without renewal').argParser(number('--lease-seconds', 1, 3600)))
    .addOption(new Option('--port <port>', 'port to listen on').default(Number(process.env.PORT ?? 8080)).argParser(number('--port', 0, 65535)))
    .option('--host <host>', 'address to listen on', process.env.HOSTED_BOTS_HOST ?? '0.0.0.0')
    .option('--tokens-file <file>', 'static API tokens: a JSON array of { principal, sha256 } (or HOSTED_BOTS_TOKENS)')
    .option('--arm-endpoint <url>', 'ARM endpoint; set it with --arm-ca to use a local arm-sim')
    .option('--arm-ca <file>', 'PEM certificate to trust for the ARM endpoint')
    .option('--local-values <file>', 'fill a synthesized manifest for a local run: JSON { subscriptionId?, botTokens: { group: token } }')
    .option('--compressed-time', 'accept durations below the deployed minimums (heartbeats under 5 s, boot time-outs under a minute), for local runs against arm-sim; needs --arm-endpoint and --arm-ca')
    .addOption(new Option('--tick-seconds <s>', 'scaler tick').default(15).argParser(number('--tick-seconds', 0.05, 3600)))
    .addOption(new Option('--backoff-seconds <s>', 'first back-off after an ARM error').default(30).argParser(number('--backoff-seconds', 0.05, 3600)))
    .option('--holder <name>', 'this replica\'s name in the scaler lease')
    .addOption(new Option('--log-level <level>', 'log level (HOSTED_BOTS_LOG_LEVEL)').choices(LOG_LEVELS as string[]))
    .option('--metrics-token <token>', 'expose Prometheus metrics at /metrics to this bearer token (HOSTED_BOTS_METRICS_TOKEN); off without it', process.env.HOSTED_BOTS_METRICS_TOKEN)
    .option('--entra-tenant <id>', 'accept Entra ID access tokens from this tenant (HOSTED_BOTS_ENTRA_TENANT)', process.env.HOSTED_BOTS_ENTRA_TENANT)
    .option('--entra-audience <aud>', 'the audience those tokens must carry, e.g. api://hosted-bots (HOSTED_BOTS_ENTRA_AUDIENCE)', process.env.HOSTED_BOTS_ENTRA_AUDIENCE)
    .option(
      '--attestation-intermediates <file>',
      "PEM of the issuing CAs that sign the VMs' attested data (\"Azure Certificate Authority details\", Microsoft Learn); managed-identity groups register with it (HOSTED_BOTS_ATTESTATION_INTERMEDIATES_FILE, or the PEM in HOSTED_BOTS_ATTESTATION_INTERMEDIATES)",
      process.env.HOSTED_BOTS_ATTESTATION_INTERMEDIATES_FILE,
    )
    .option(
      '--attestation-roots <file>',
      "PEM of the roots attested data must chain to (HOSTED_BOTS_ATTESTATION_ROOTS_FILE, or the PEM in HOSTED_BOTS_ATTESTATION_ROOTS); default: Node.js's root store",
      process.env.HOSTED_BOTS_ATTESTATION_ROOTS_FILE,
    )
    .option(
      '--attestation-signer-domains <list>',
      'DNS names the signing certificate of attested data must name, comma-separated: metadata.azure.us or metadata.azure.cn in sovereign clouds (HOSTED_BOTS_ATTESTATION_SIGNER_DOMAINS)',
      process.env.HOSTED_BOTS_ATTESTATION_SIGNER_DOMAINS ?? 'metadata.azure.com',
    )
    .addOption(new Option('--rate-limit-user <n>', 'requests per second per user token').default(50).argParser(number('--rate-limit-user', 1)))
    .addOption(new Option('--rate-limit-bot <n>', 'requests per second per group bot token').default(500).argParser(number('--rate-limit-bot', 1)))
    .addOption(
      new Option(
        '--webhook-allowed-hosts <names>',
        'host names webhooks may reach whatever their addresses (private, loopback) and over plain http, comma-separated; an admin decision (HOSTED_BOTS_WEBHOOK_ALLOWED_HOSTS)',
      )
        .default(hostList(process.env.HOSTED_BOTS_WEBHOOK_ALLOWED_HOSTS ?? ''))
        .argParser(hostList),
    )
    .addOption(
      new Option('--trust-proxy <hops>', "proxies in front whose X-Forwarded-For to believe, e.g. 1 behind App Service's front end (HOSTED_BOTS_TRUST_PROXY)")
        .default(process.env.HOSTED_BOTS_TRUST_PROXY ? number('HOSTED_BOTS_TRUST_PROXY', 0, 10)(process.env.HOSTED_BOTS_TRUST_PROXY) : 0)
        .argParser(number('--trust-proxy', 0, 10)),
    )
    .action(async (opts) => {
      if (opts.compressedTime && (opts.armEndpoint === undefined || opts.armCa === undefined)) {
        throw new Error('--compressed-time is for local runs against arm-sim: give --arm-endpoint and --arm-ca too (a deployed runtime keeps the manifest\'s minimums)');
      }
      const manifest = runtimeManifest(opts.manifest, opts.localValues, Boolean(opts.compressedTime));
      const log = createLog({ level: opts.logLevel as LogLevel | undefined, base: { component: 'runtime' } });
      const attestation = attestationOptions(opts);
      const attested = manifest.groups.filter((g) => g.botAuth.kind === 'managed-identity').map((g) => g.name);
      if (attested.length && attestation.intermediates.length === 0) {
        log('runtime.attestation_config_error', {
          groups: attested,
          message: 'no issuing CA is configured (--attestation-intermediates): unless the attested data carries its issuing CA, registrations fail with attestation_chain, naming the issuer to add',
        });
      }
      const local = opts.armEndpoint !== undefined && opts.armCa !== undefined;
      const clientId = process.env.AZURE_CLIENT_ID;
      if (!local && !clientId) throw new Error('set AZURE_CLIENT_ID to the runtime identity\'s client ID, or --arm-endpoint and --arm-ca for a local arm-sim');
      const { createAzureDriver, managedIdentityCredential } = lazy.driver();
      const driver = createAzureDriver({
        credential: local ? lazy.localValues().localArmCredential() : managedIdentityCredential(clientId!),
        endpoint: opts.armEndpoint,
        ca: opts.armCa ? fs.readFileSync(opts.armCa) : undefined,
        pollIntervalMs: local ? 100 : undefined,
        observer: (call) => runtime?.metrics.armCall(call),
      });
      const postgres = /^postgres(ql)?:\/\//.test(opts.store);
      if (opts.storeAuth === 'managed-identity' && !postgres) throw new Error('--store-auth managed-identity signs in to PostgreSQL: give --store a postgresql:// URL');
      if (opts.metricsTokenSecret && !opts.keyVaultUrl) throw new Error('--metrics-token-secret names a Key Vault secret: give --key-vault-url too');
      if (opts.storeAuth === 'managed-identity' && !clientId) throw new Error("--store-auth managed-identity signs in with the runtime's managed identity: set AZURE_CLIENT_ID to its client ID");
      const store = postgres
        ? await lazy.postgres().PostgresStore.open({
            connectionString: opts.store,
            schema: opts.storeSchema,
            log,
            ...(opts.storeAuth === 'managed-identity' ? { password: (require('../azure/database-sign-in') as typeof import('../azure/database-sign-in')).databaseTokenPassword(managedIdentityCredential(clientId!)) } : {}),
          })
        : // The deployed bundle runs on PostgreSQL and never loads the native SQLite module.
          new (lazy.sqlite().SqliteStore)({ file: opts.store });
      const vault = opts.keyVaultUrl ? await startVaultTokens(opts, clientId, log) : undefined;
      const vaultTokens = vault?.tokens;
      // Azure Monitor, when App Service gives the runtime a connection string; nothing otherwise.
      const telemetry = lazy.telemetry().startTelemetry(process.env, log);
      // Declared before it is assigned: the driver's observer may be called while the runtime is
      // being created, and must then find none rather than fail.
      let runtime: import('../server').Runtime | undefined;
      runtime = lazy.server().createRuntime({
        manifest,
        store,
        driver,
        tokens: staticTokens(opts.tokensFile),
        // The deployed stack's admin (and metrics) token, kept in its Key Vault by the runtime itself.
        rotatingTokens: vaultTokens,
        rotatingMetrics: Boolean(opts.metricsTokenSecret),
        agentBundle: path.join(__dirname, BUNDLE_FILES.agent),
        entra: entraOptions(opts.entraTenant, opts.entraAudience),
        attestation,
        limits: { userPerSecond: opts.rateLimitUser, userBurst: opts.rateLimitUser * 4, botPerSecond: opts.rateLimitBot, botBurst: opts.rateLimitBot * 2 },
        holder: opts.holder,
        metricsToken: opts.metricsToken,
        tickMs: opts.tickSeconds * 1000,
        leaseTtlMs: opts.leaseSeconds === undefined ? undefined : opts.leaseSeconds * 1000,
        backoffBaseMs: opts.backoffSeconds * 1000,
        trustProxy: opts.trustProxy,
        // The manifest's webhooks' secrets are read again on the tokens' refresh interval.
        webhooks: { allowedHosts: opts.webhookAllowedHosts, secrets: vault?.secrets, secretRefreshMs: opts.keyVaultRefreshSeconds * 1000 },
        telemetry,
        log,
      });
      const url = await runtime.listen(opts.port, opts.host);
      process.stdout.write(`${JSON.stringify({ event: 'listening', url })}\n`);
      const stop = async () => {
        // In-flight ARM calls may take long to give up; a stop must not hang on them.
        setTimeout(() => process.exit(0), 10_000).unref();
        vaultTokens?.stop();
        await runtime.close();
        // Flushes the last spans and metrics; the gauges read the store, so before it closes.
        await telemetry?.stop();
        await store.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program
    .command('simulate')
    .description(
      "Capacity planner: simulate a trace of runs on the settings a fleet manifest declares, with the runtime's own scaler; show per group the waits and a month's bot-hours and cost, and which one-setting changes (botCapacity, committedBots, maxBots, standbyBots, idleMinutes) move the p95 wait, the bot-hours or the cost by more than 10%. Example traces are in the package's bench/traces/.",
    )
    .requiredOption('--manifest <file>', 'the fleet.json of the stack (as synthesized; apply-time values are not needed)')
    .requiredOption('--trace <file>', "runs as CSV: at,group,flow,durationSeconds,priority (examples in this package's bench/traces/, with their fleets in bench/fleets/)")
    .addOption(new Option('--seed <n>', 'seeds the sampled boot times').default(1).argParser(number('--seed', 0, 0xffffffff)))
    .addOption(new Option('--boot-median-seconds <s>', 'median provisioning time of a bot').default(240).argParser(number('--boot-median-seconds', 1, 3600)))
    .addOption(new Option('--boot-sigma <n>', 'spread of provisioning times (log-normal sigma; 0.6 puts 1% past 15 minutes)').default(0.6).argParser(number('--boot-sigma', 0, 3)))
    .option('--no-what-if', 'only simulate the declared settings')
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'also write the report as one self-contained HTML page (works offline): the per-group summary, demand and bots per group over time, the wait distribution, and the what-if rows as p95 wait against bot-hours')
    .option(
      '--prices <file>',
      'prices per VM-hour as JSON, winning over the built-in table (runtime/sim/vm-prices.json, which has the same shape): {"currency": "USD", "source": "...", "prices": [{"vmSize": "Standard_D2s_v5", "region": "northeurope", "perHour": 0.21}]}; a row without a region prices the size everywhere',
    )
    .option('--progress', 'show progress on stderr even when it is not a terminal (on a terminal it is shown for long runs)')
    .addOption(new Option('--threads <n>', 'simulations run at once, in worker threads (default: one per free core, from the load average, up to 4); the report is the same whatever the number').argParser(wholeNumber('--threads', 1, 64)))
    .action(async (opts) => {
      // Loaded here, as the heavy modules above are: only this command needs the simulator.
      const { runSimulateCommand } = require('./simulate') as typeof import('./simulate');
      await runSimulateCommand({
        manifest: opts.manifest,
        trace: opts.trace,
        seed: opts.seed,
        bootMedianSeconds: opts.bootMedianSeconds,
        bootSigma: opts.bootSigma,
        whatIf: opts.whatIf,
        json: Boolean(opts.json),
        html: opts.html,
        prices: opts.prices,
        progress: Boolean(opts.progress),
        threads: opts.threads,
      });
    });

  program
    .command('diff')
    .description(
      'What a change does to the fleet, in sentences a reviewer reads: groups, maxBots, committed bots, capacity, scaling, images, access, flows and regions, ' +
        'from the fleet manifests of two synth outputs; and, from their synthesized stacks (cdk.tf.json), what Terraform would replace or destroy: a change to ' +
        'an attribute the provider marks ForceNew (a rename, a region, an image definition, a SKU), a resource removed or moved to a new address, and a changed ' +
        'VNet address space or subnet prefix. No cloud credentials are needed; hosted-bots plan asks Terraform itself. Exit code 0: no change, or none ' +
        'destructive; 2: something destructive (a group, stack or image version removed, capacity cut, a region moved, a resource replaced or destroyed, ' +
        'a network change), so a pipeline can ask for approval; 1: an error. With --base, the working tree is synthesized into cdktf.out ' +
        "(cdktf.json's output), or --to is read as it is, and compared with the project at the ref, synthesized in a temporary git worktree that " +
        "uses this project's node_modules.",
    )
    .option('--from <dir>', 'the synth output before the change (a cdktf.out folder)')
    .option('--to <dir>', 'the synth output after the change; with --base, used instead of synthesizing the working tree')
    .option('--base <git-ref>', 'compare the working tree with this ref, e.g. origin/main (the ref must be fetched)')
    .addOption(new Option('--app <command>', "the command that runs the CDKTF app, for the synths of --base (default: cdktf.json's app)"))
    .option('--base-build <command>', "a shell command run in the ref's worktree before its synth, when the app runs built files (e.g. 'npm run build')")
    .option('--markdown', 'print Markdown for a pull-request comment')
    .option('--verbose', "print cdktf's output as it comes")
    .action(async (opts) => {
      const { runDiffCommand } = require('./fleet-diff-command') as typeof import('./fleet-diff-command');
      process.exitCode = await runDiffCommand(opts);
    });

  program
    .command('init [dir]')
    .description(
      'Start a fleet repository for your team: package.json, cdktf.json, tsconfig.json, main.ts with one environment stack per geography and one group, .gitignore, ' +
        'and a pipeline that diffs pull requests without cloud credentials and, on the main branch, plans each stack and applies that plan once its environment approves; ' +
        'refuses a folder that is not empty unless --force, and reports every bad flag at once.',
    )
    .option('--geography <names>', 'the environment\'s geographies, comma-separated, the first promoted first, in any case, e.g. Europe or europe,us', 'Europe')
    .option('--environment <name>', 'the environment\'s name (lowercase letters, digits, hyphens); the stack\'s ID with one geography, <name>-<geography> with several', 'prod')
    .option('--group <name>', 'the bot group main.ts declares', 'finance')
    .addOption(new Option('--pipeline <kind>', 'the pipeline file to write: github (GitHub Actions) or azure (Azure Pipelines)').default('github'))
    .option('--main-branch <name>', 'the branch pull requests target and the pipeline deploys from', 'main')
    .option('--force', 'write into a folder that is not empty, overwriting files of the same names')
    .action((dir: string | undefined, opts) => {
      // Loaded here, as simulate is: only this command needs the templates.
      const { runInitCommand } = require('./init') as typeof import('./init');
      runInitCommand(dir, { geography: opts.geography, environment: opts.environment, group: opts.group, pipeline: opts.pipeline, mainBranch: opts.mainBranch, force: Boolean(opts.force) });
    });

  program
    .command('connector')
    .description(
      'Write a Power Platform custom connector for this runtime (Power Automate, Logic Apps, Copilot Studio): apiDefinition.swagger.json (Swagger 2.0: start, get and cancel a run, ' +
        "list a group's queue, and the trigger \"When a run finishes\") and apiProperties.json (sign-in with Microsoft Entra ID against the runtime's audience). Both files are " +
        'written, or neither; an existing folder is replaced only when it holds nothing but an earlier connector.',
    )
    .requiredOption('--out <dir>', 'the folder to write the two files to')
    .option('--host <host>', "the runtime's host name or https:// URL (the stack's runtime_url output); without it, enter the host when importing")
    .option('--client-id <id>', 'the application (client) ID of the app registration the connector signs users in with (HOSTED_BOTS_CONNECTOR_CLIENT_ID)')
    .option('--resource-uri <uri>', "the runtime's Entra ID audience, as its --entra-audience, e.g. api://hosted-bots (HOSTED_BOTS_ENTRA_AUDIENCE)")
    .option('--tenant <id>', "the runtime's directory (tenant) ID, as its --entra-tenant (HOSTED_BOTS_ENTRA_TENANT)")
    .action((opts) => {
      // Loaded here, as simulate is: only this command writes connectors.
      const { runConnectorCommand } = require('./connector-command') as typeof import('./connector-command');
      runConnectorCommand({ out: opts.out, host: opts.host, clientId: opts.clientId, resourceUri: opts.resourceUri, tenant: opts.tenant });
    });

  program
    .command('arm-sim')
    .description('Serve a local imitation of the ARM calls the runtime makes; its VMs run the real agent against --runtime-url.')
    .requiredOption('--manifest <file>', 'the fleet.json whose scale sets to serve')
    .requiredOption('--local-values <file>', 'JSON { subscriptionId?, botTokens: { group: token } } (the agents\' tokens)')
    .requiredOption('--runtime-url <url>', 'where the simulated bots\' agents call the runtime')
    .requiredOption('--ca-out <file>', 'write the self-signed certificate here, for the runtime\'s --arm-ca')
    .addOption(new Option('--port <port>', 'port on 127.0.0.1').default(0).argParser(number('--port', 0, 65535)))
    .addOption(new Option('--boot-seconds <s>', 'how long a VM takes to boot').default(4).argParser(number('--boot-seconds', 0, 3600)))
    .addOption(new Option('--claim-wait-seconds <s>', 'how long agents long-poll').default(30).argParser(number('--claim-wait-seconds', 0, 30)))
    .addOption(new Option('--log-level <level>', 'log level (HOSTED_BOTS_LOG_LEVEL)').choices(LOG_LEVELS as string[]))
    .action(async (opts) => {
      const values = readJson(opts.localValues, 'local values file');
      const manifest = manifestFrom(opts.manifest, opts.localValues);
      const log = createLog({ level: opts.logLevel as LogLevel | undefined, base: { component: 'arm-sim' } });
      const sim = new (lazy.armSim().ArmSim)({
        bootSeconds: opts.bootSeconds,
        port: opts.port,
        onBoot: lazy.simBots().simBotBooter({ manifest, botTokens: values.botTokens, runtimeUrl: opts.runtimeUrl, claimWaitSeconds: opts.claimWaitSeconds, log }),
      });
      for (const g of manifest.groups) sim.addScaleSet(g.vmss, { location: manifest.environment.region, vmSize: g.vmSize });
      const { url, ca } = await sim.start();
      fs.writeFileSync(opts.caOut, ca);
      process.stdout.write(`${JSON.stringify({ event: 'listening', url, ca: opts.caOut })}\n`);
      const stop = async () => {
        await sim.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  addAgentCommand(program);

  registerDeployerCommands(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ManifestError) process.stderr.write(`error: ${err.message}\n`);
    else process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
