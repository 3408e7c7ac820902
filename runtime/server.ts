/**
 * One runtime: the queue, the scaler, the HTTP API and the dashboard over one store and one
 * compute driver. The CLI, the demo and the tests all build it here. This is where the layers
 * meet: the API and the dashboard share one HTTP app and never import each other; the metrics
 * subscribe to the queue's events and the scaler's, and so does the webhook outbox.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { randomBytes } from 'crypto';
import type { FleetManifest } from './config/manifest';
import type { ComputeDriver } from './azure/compute';
import type { AttestationTrust } from './api/attested-data';
import { Authenticator, EntraOptions, StaticToken } from './http/auth';
import type { RateLimits } from './http/limits';
import { registerApi } from './api/routes';
import { registerDashboard } from './dashboard/routes';
import { createHttpApp } from './http/app';
import { RuntimeMetrics } from './api/metrics';
import { QueueEventHub } from './queue/events';
import { QueueNotifier } from './queue/notifier';
import { RunQueue } from './queue/queue';
import { Scaler } from './scaler/loop';
import type { Store } from './store/types';
import { Log, silentLog } from './log';
import { allScalerEvents } from './scaler/events';
import type { Telemetry } from './telemetry';
import { runWebhookView } from './api/views';
import { webhookSection } from './api/webhook-routes';
import { AddressGuard, Resolver } from './webhooks/address-guard';
import { webhookEvents } from './webhooks/events';
import { DeclaredSecretRefresh, syncDeclaredWebhooks } from './webhooks/declared';
import { WebhookOutbox } from './webhooks/outbox';

export interface RuntimeOptions {
  readonly manifest: FleetManifest;
  readonly store: Store;
  readonly driver: ComputeDriver;
  readonly tokens: readonly StaticToken[];
  /** Accept Entra ID access tokens too. @default static and bot tokens only */
  readonly entra?: EntraOptions;
  /**
   * What verifies the attested data the bots of managed-identity groups register with: the roots,
   * the issuing CAs and the signer's domains (runtime/api/attested-data.ts). Required when a group
   * proves itself by managed identity. @default none
   */
  readonly attestation?: AttestationTrust;
  /** @default see RateLimits */
  readonly limits?: RateLimits;
  /** This replica's name in the scaler lease. @default a random one */
  readonly holder?: string;
  /** @default 15000 */
  readonly tickMs?: number;
  readonly leaseTtlMs?: number;
  /** @default 30000 */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Who may scrape /metrics: a bearer token, or nobody (404). @default off */
  readonly metricsToken?: string;
  /**
   * Tokens kept in Key Vault that change while the runtime runs: the admin token, and the metrics
   * token (which then serves /metrics instead of `metricsToken`). @default none
   */
  readonly rotatingTokens?: import('./api/vault-tokens').RotatingTokens;
  /** Serve /metrics to the rotating metrics token. @default false */
  readonly rotatingMetrics?: boolean;
  /** The agent bundle bots download from GET /v1/agent/bundle. @default none (404) */
  readonly agentBundle?: string;
  /** Slow clients: the whole request, and its headers, must arrive within these. @default 60 s and 20 s */
  readonly timeouts?: { readonly requestMs?: number; readonly headersMs?: number };
  /** Boot time assumed for "about N minutes" before any bot has booted. @default 10 minutes */
  readonly expectedBootMs?: number;
  readonly log?: Log;
  readonly now?: () => number;
  /**
   * Proxies in front of the runtime whose X-Forwarded-For and X-Forwarded-Proto to believe (App
   * Service's front end is one), so that sign-in limits see the client's address. @default 0
   */
  readonly trustProxy?: number;
  /** Started telemetry (startTelemetry), told what the queue and the scaler do. @default none */
  readonly telemetry?: Telemetry;
  /** Webhook delivery. @default public HTTPS destinations only, the system resolver */
  readonly webhooks?: {
    /** Host names an environment admin allows whatever their addresses (and over plain HTTP). @default none */
    readonly allowedHosts?: readonly string[];
    /** @default the system resolver */
    readonly resolve?: Resolver;
    /** How often due deliveries are looked for. @default 2000 */
    readonly pollMs?: number;
    /** Where the signing secrets of the manifest's webhooks live. @default the store (a local runtime) */
    readonly secrets?: import('./azure/key-vault').SecretStore;
    /** How often the secrets in `secrets` are read again, so a rotated one takes over: the tokens' Key Vault refresh. @default 60000 */
    readonly secretRefreshMs?: number;
  };
}

export interface Runtime {
  /** The Express app, for tests that inspect its routes. */
  readonly app: import('express').Express;
  /** The Prometheus metrics; give `metrics.armCall` to the compute driver as its observer. */
  readonly metrics: RuntimeMetrics;
  readonly queue: RunQueue;
  /**
   * What the queue announces (a run queued, claimed, finished; a bot registered, lost): subscribe
   * here to hear it (queue/events.ts). The metrics are subscribed already.
   */
  readonly events: QueueEventHub;
  readonly scaler: Scaler;
  readonly store: Store;
  /** The webhook outbox; it runs between listen() and close(). */
  readonly webhooks: WebhookOutbox;
  readonly server?: http.Server;
  /** Starts the scaler and listens; resolves with the base URL. */
  listen(port: number, host: string): Promise<string>;
  /** Stops listening and scaling; the store stays open (the caller owns it). */
  close(): Promise<void>;
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const log = options.log ?? silentLog;
  const attested = options.manifest.groups.filter((g) => g.botAuth.kind === 'managed-identity').map((g) => g.name);
  if (attested.length > 0 && !options.attestation) {
    throw new Error(
      `the bots of ${attested.join(', ')} register with their VM's attested data, which the runtime verifies against Azure's certificate chain: ` +
        "give it the issuing CAs' certificates with --attestation-intermediates (HOSTED_BOTS_ATTESTATION_INTERMEDIATES); see README, The agent",
    );
  }
  const notifier = new QueueNotifier();
  const metrics = new RuntimeMetrics(options.store, options.manifest);
  const events = new QueueEventHub((event, error) => log('queue.listener_failed', { event, error: (error as Error)?.message ?? String(error) }));
  events.subscribe(metrics);
  // Telemetry hears the queue's runs claimed and finished, and wraps the scaler's operations.
  const tracer = options.telemetry?.subscriber(options.store, options.manifest);
  if (tracer) events.subscribe(tracer);
  // Webhooks hear finished runs from the queue and provisioning errors from the scaler.
  const guard = new AddressGuard({ allowedHosts: options.webhooks?.allowedHosts, resolve: options.webhooks?.resolve });
  const runData = (run: import('./domain/run').Run) => runWebhookView(run, (options.now ?? Date.now)());
  const outbox = new WebhookOutbox({
    store: options.store,
    guard,
    runData,
    now: options.now,
    pollMs: options.webhooks?.pollMs,
    retentionMs: options.manifest.environment.runRetentionDays * 24 * 3_600_000,
    observe: metrics.webhookDelivery,
    log,
  });
  const hooks = webhookEvents(outbox, { runData, log });
  events.subscribe({ runFinished: hooks.runFinished });
  const queue = new RunQueue({
    store: options.store,
    manifest: options.manifest,
    notifier,
    now: options.now,
    events,
  });
  const scaler = new Scaler({
    store: options.store,
    driver: options.driver,
    manifest: options.manifest,
    queue,
    holder: options.holder ?? `runtime-${randomBytes(4).toString('hex')}`,
    tickMs: options.tickMs,
    leaseTtlMs: options.leaseTtlMs,
    backoffBaseMs: options.backoffBaseMs,
    backoffMaxMs: options.backoffMaxMs,
    now: options.now,
    log,
    events: allScalerEvents(metrics, ...(tracer ? [tracer] : []), { provisioningError: hooks.provisioningError }),
  });
  // The scaler re-plans when the queue says a group's demand changed.
  events.subscribe({ groupChanged: () => scaler.trigger() });
  const auth = new Authenticator(options.manifest, options.tokens, options.entra, options.rotatingTokens ? () => options.rotatingTokens!.users() : undefined);
  const metricsRoute = metricsAccess(options, metrics.registry);
  const front = createHttpApp({
    manifest: options.manifest,
    store: options.store,
    auth,
    limits: options.limits,
    metricsToken: metricsRoute?.token,
    now: options.now,
    log,
    trustProxy: options.trustProxy,
    countRefusal: metrics.unauthenticatedRefusal,
  });
  const views = registerApi(front, {
    manifest: options.manifest,
    store: options.store,
    queue,
    scaler,
    agentBundle: options.agentBundle,
    metrics: metricsRoute,
    now: options.now,
    log,
    expectedBootMs: options.expectedBootMs,
    attestation: options.attestation,
    webhooks: { guard, outbox },
  });
  const dashboard = registerDashboard({
    route: front.route,
    wrap: front.wrap,
    auth,
    sessions: front.sessions,
    queue,
    groupSummaries: views.groupSummaries,
    groupDetail: views.groupDetail,
    environmentView: views.environmentView,
    arrivals: (group, from, to) => options.store.arrivals(group, from, to),
    groupSamples: (group, from, to) => options.store.groupSamples(group, from, to),
    auditRecords: views.auditRecords,
    webhooks: (group) => webhookSection(options.store, group),
    log,
    countRefusal: metrics.unauthenticatedRefusal,
    now: options.now,
  });
  front.finish(dashboard.renderError);
  const app = front.app;
  let server: http.Server | undefined;
  const sockets = new Set<import('net').Socket>();
  // A declared webhook's secret rotated in the vault reaches its deliveries without a restart.
  const vault = options.webhooks?.secrets;
  const secretRefresh = vault
    ? new DeclaredSecretRefresh({ manifest: options.manifest, store: options.store, secrets: vault, refreshMs: options.webhooks?.secretRefreshMs, changed: () => outbox.subscriptionsChanged(), now: options.now, log })
    : undefined;
  // Other replicas' queue changes: wake this replica's waiting claims, and re-plan if it leads.
  const unsubscribe = options.store.onQueueChange((group) => {
    notifier.notify(group);
    scaler.trigger();
  });

  return {
    app,
    metrics,
    queue,
    events,
    scaler,
    store: options.store,
    webhooks: outbox,
    get server() {
      return server;
    },
    async listen(port, host) {
      // The manifest's webhooks first: a URL the destination rules refuse stops the start here.
      const declared = await syncDeclaredWebhooks(options.manifest, options.store, guard, options.webhooks?.secrets, (options.now ?? Date.now)());
      outbox.subscriptionsChanged();
      if (declared.length > 0) log('webhook.declared', { subscriptions: declared.length });
      secretRefresh?.start();
      // Headers larger than 16 KiB are refused (431) before any handler runs. Time-outs are
      // checked every second rather than Node's default 30 s, so a slow client is cut off on time.
      const requestMs = options.timeouts?.requestMs ?? 60_000;
      const headersMs = Math.min(options.timeouts?.headersMs ?? 20_000, requestMs);
      server = http.createServer({ maxHeaderSize: 16 * 1024, connectionsCheckingInterval: Math.min(1000, headersMs) }, app);
      // Long-polls last up to 30 s; keep connections from agents alive across them.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = headersMs;
      server.requestTimeout = requestMs;
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      const address = server.address() as AddressInfo;
      await scaler.start();
      outbox.start();
      log('runtime.listening', { host, port: address.port, store: options.store.kind });
      return `http://${host}:${address.port}`;
    },
    async close() {
      unsubscribe();
      secretRefresh?.stop();
      await scaler.stop();
      await outbox.stop();
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
      }
    },
  };
}

/** Who may read /metrics: the static token, the rotating one from Key Vault, or nobody. */
function metricsAccess(options: RuntimeOptions, registry: import('prom-client').Registry) {
  const rotating = options.rotatingTokens;
  if (options.metricsToken) return { registry, token: options.metricsToken };
  if (rotating && options.rotatingMetrics) return { registry, token: () => rotating.metrics() };
  return undefined;
}
