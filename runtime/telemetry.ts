/**
 * Traces and metrics for Azure Monitor (Application Insights), through the Azure Monitor
 * OpenTelemetry distro, when APPLICATIONINSIGHTS_CONNECTION_STRING is set (App Service sets it
 * from the stack's Application Insights). Without it nothing here runs: no SDK starts, no module
 * is patched, the distro is not even loaded.
 *
 * What is sent: a span per API request, named by its route template (`GET /v1/runs/:id`), with
 * URLs cut before their query string; a span per scale operation (the ARM calls that create or
 * delete a group's VMs), with the provisioning errors it met; and the metrics the stack's alert
 * rules read (METRIC_NAMES). The Prometheus endpoint (api/metrics.ts) is unchanged beside it.
 */
import type * as http from 'http';
import { context, createContextKey, metrics, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { AzureMonitorOpenTelemetryOptions } from '@azure/monitor-opentelemetry';
import type { FleetManifest } from './config/manifest';
import type { Run } from './domain/run';
import type { QueueEvents } from './queue/events';
import type { ScaleOperation, ScalerEvents } from './scaler/events';
import { botsByState, runsByGroup } from './api/metrics';
import type { Store } from './store/types';
import { Log, redactText, silentLog } from './log';

/** The variable App Service sets to the connection string of the app's Application Insights. */
export const CONNECTION_STRING_VARIABLE = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

/** The metrics sent, by name. The stack's alert rules read them by these names: keep them. */
export const METRIC_NAMES = {
  queueWait: 'hosted_bots_queue_wait_seconds',
  queueDepth: 'hosted_bots_queue_depth',
  oldestQueued: 'hosted_bots_oldest_queued_seconds',
  bots: 'hosted_bots_bots',
  provisioningErrors: 'hosted_bots_provisioning_errors',
  runsFinished: 'hosted_bots_runs_finished',
} as const;

/** The instrumentation scope of the runtime's own spans and metrics. */
const SCOPE = 'hosted-bots-runtime';

type SpanProcessor = NonNullable<AzureMonitorOpenTelemetryOptions['spanProcessors']>[number];
type SdkSpan = Parameters<SpanProcessor['onStart']>[0];

/** The options of the distro's HTTP instrumentation this module sets (HttpInstrumentationConfig). */
interface HttpOptions {
  readonly enabled: boolean;
  readonly requireParentforOutgoingSpans: boolean;
  readonly ignoreIncomingRequestHook: (request: http.IncomingMessage) => boolean;
  readonly applyCustomAttributesOnSpan: (span: Span, request: http.IncomingMessage | http.ClientRequest, response: http.IncomingMessage | http.ServerResponse) => void;
}

/** Running telemetry: what the runtime subscribes to its events, and the stop that flushes. */
export interface Telemetry {
  /**
   * The event callbacks that record spans and metrics for one runtime, and the gauges that read
   * its queue and bots from `store` at each export.
   */
  subscriber(store: Pick<Store, 'queueCounts' | 'bots'>, manifest: FleetManifest): TelemetrySubscriber;
  /** Sends what is still buffered and stops the SDK; call it on shutdown, before the store closes. */
  stop(): Promise<void>;
}

/**
 * Starts the distro if `env` holds a connection string, else returns undefined and does nothing.
 * A connection string without an instrumentation key is refused, naming the variable.
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env, log: Log = silentLog): Telemetry | undefined {
  const connectionString = env[CONNECTION_STRING_VARIABLE]?.trim();
  if (!connectionString) return undefined;
  checkConnectionString(connectionString);
  // Loaded only here: without a connection string, the runtime never loads the SDK.
  const distro = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  distro.useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    // Live Metrics keeps a connection to the Live Metrics service open and polls it, for a view
    // nobody here uses; the alerts and charts read the exported metrics.
    enableLiveMetrics: false,
    // Process CPU and memory: App Service's own metrics already chart the plan's.
    enablePerformanceCounters: false,
    // The browser SDK loader would add Application Insights' script to the dashboard's pages,
    // which the dashboard's Content-Security-Policy (default-src 'self') refuses anyway.
    browserSdkLoaderOptions: { enabled: false },
    instrumentationOptions: {
      http: httpOptions(),
      // The Azure SDK's own spans would repeat each ARM and Key Vault call the HTTP spans already
      // show, and give background polls (Key Vault refresh, identity tokens) traces of their own.
      azureSdk: { enabled: false },
      // The bundle carries pg inside main.js, where no require hook can patch it; and the store's
      // many short queries would cost more than they tell beside the request spans.
      postgreSql: { enabled: false },
      // Not used by the runtime.
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
    spanProcessors: [new UrlSanitizer()],
  });
  // The HTTP instrumentation patches Node's http and https when they are next required; the
  // runtime (and the bundle) loaded them before the SDK started, so require them once more now.
  require('http');
  require('https');
  log('telemetry.started', { exporter: 'azure-monitor' });
  return {
    subscriber: (store, manifest) => new TelemetrySubscriber(store, manifest),
    stop: () => distro.shutdownAzureMonitor(),
  };
}

/** The connection string must name an instrumentation key; its value is never echoed (logs mask connection strings). */
function checkConnectionString(connectionString: string): void {
  const fields = new Map(connectionString.split(';').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at).trim().toLowerCase(), pair.slice(at + 1).trim()] as const;
  }));
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(fields.get('instrumentationkey') ?? '')) {
    throw new Error(
      `${CONNECTION_STRING_VARIABLE} is not an Application Insights connection string: it needs InstrumentationKey=<GUID> ` +
        "(copy it from the Application Insights resource's Overview, or unset the variable to send no telemetry)",
    );
  }
}

/** The HTTP instrumentation's settings: what is traced, and how a request span is named. */
function httpOptions(): HttpOptions {
  return {
    enabled: true,
    // Outgoing calls (ARM, Key Vault, the identity endpoint) are traced inside a request or a scale
    // operation only: the scaler's and the token refresh's polls would each start a trace.
    requireParentforOutgoingSpans: true,
    // App Service's health check calls /healthz on every instance every minute.
    ignoreIncomingRequestHook: (request) => request.url === '/healthz',
    applyCustomAttributesOnSpan: (span, request, response) => {
      // Called for outgoing calls too (their response is an IncomingMessage): those keep their names.
      if (!('writeHead' in response)) return;
      const route = routeOf(request as http.IncomingMessage);
      span.setAttribute('http.route', route);
      span.updateName(`${(request as http.IncomingMessage).method ?? 'GET'} ${route}`);
    },
  };
}

/**
 * The route template Express matched (`/v1/runs/:id`), which names the request's span instead of
 * its path, with IDs in it; requests no route took (a 404, a body refused before routing) share one name.
 */
function routeOf(request: http.IncomingMessage): string {
  const matched = (request as http.IncomingMessage & { route?: { path?: unknown }; baseUrl?: string }).route?.path;
  if (typeof matched !== 'string') return '(no route)';
  return `${(request as { baseUrl?: string }).baseUrl ?? ''}${matched}`;
}

/** `url` without its query string or fragment, and with secrets in what is left masked. */
export function withoutQuery(url: string): string {
  const end = url.search(/[?#]/);
  return redactText(end === -1 ? url : url.slice(0, end));
}

/**
 * Cuts query strings from the URLs spans record, as they start: a query may carry a token or a
 * SAS signature, and the exporter sends `http.url` as the request's or dependency's URL.
 */
class UrlSanitizer implements SpanProcessor {
  onStart(span: SdkSpan): void {
    for (const key of ['http.url', 'url.full', 'http.target']) {
      const value = span.attributes[key];
      if (typeof value === 'string') span.setAttribute(key, withoutQuery(value));
    }
    if (span.attributes['url.query'] !== undefined) span.setAttribute('url.query', '');
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * An exception for a span: its stack is its one line (the exporter would send the text "undefined"
 * for none, and a real stack repeats an unmasked message).
 */
function exception(name: string, message: string): { name: string; message: string; stack: string } {
  return { name, message, stack: `${name}: ${message}` };
}

/** Marks the context of a scale operation's span, so that errors reported inside it land on it. */
const SCALE_SPAN = createContextKey('hosted-bots scale operation');

/**
 * What the runtime's events record: run counts and queue waits, provisioning errors, scale
 * operation spans; and gauges of queue depth and bots by state read from the store at each export
 * (every replica reports the same fleet, so read them with max or average, not sum).
 */
export class TelemetrySubscriber implements Pick<QueueEvents, 'runClaimed' | 'runFinished'>, Pick<ScalerEvents, 'provisioningError'>, Required<Pick<ScalerEvents, 'scaleOperation'>> {
  private readonly tracer = trace.getTracer(SCOPE);
  private readonly meter = metrics.getMeter(SCOPE);
  private readonly queueWait = this.meter.createHistogram(METRIC_NAMES.queueWait, { description: 'Time a run waited in the queue before a bot claimed it, per group.', unit: 's' });
  private readonly provisioningErrors = this.meter.createCounter(METRIC_NAMES.provisioningErrors, { description: 'Provisioning errors while scaling, per group and error code.' });
  private readonly runsFinished = this.meter.createCounter(METRIC_NAMES.runsFinished, { description: 'Runs that reached a final state, per group and status.' });

  constructor(store: Pick<Store, 'queueCounts' | 'bots'>, manifest: FleetManifest) {
    const queueDepth = this.meter.createObservableGauge(METRIC_NAMES.queueDepth, { description: 'Runs waiting in the queue, per group.' });
    // The wait histogram records a run's wait only when a bot claims it: a queue no bot serves
    // (a provisioning outage, a group at 0 bots) would never show a wait. This gauge shows it
    // while it grows, so the queue-wait alert fires on a stuck queue too.
    const oldestQueued = this.meter.createObservableGauge(METRIC_NAMES.oldestQueued, { description: "Seconds the group's longest-waiting queued run has waited (0 when none is queued).", unit: 's' });
    // Both from one read of the queue's counts per export.
    this.meter.addBatchObservableCallback(async (result) => {
      const now = Date.now();
      for (const { group, queued, oldestQueuedAt } of await runsByGroup(store, manifest)) {
        result.observe(queueDepth, queued, { group });
        result.observe(oldestQueued, oldestQueuedAt === undefined ? 0 : Math.max(0, now - oldestQueuedAt) / 1000, { group });
      }
    }, [queueDepth, oldestQueued]);
    this.meter.createObservableGauge(METRIC_NAMES.bots, { description: 'Bots per group and state.' }).addCallback(async (result) => {
      for (const { group, state, count } of await botsByState(store, manifest)) result.observe(count, { group, state });
    });
  }

  runClaimed = (run: Run): void => {
    if (run.startedAt !== undefined) this.queueWait.record(Math.max(0, run.startedAt - run.queuedAt) / 1000, { group: run.group });
  };

  runFinished = (run: Run): void => {
    this.runsFinished.add(1, { group: run.group, status: run.state });
  };

  provisioningError = (group: string, code: string): void => {
    this.provisioningErrors.add(1, { group, code });
    // Reported inside a scale operation: the operation failed, for this reason.
    const span = context.active().getValue(SCALE_SPAN) as Span | undefined;
    if (span) {
      span.recordException(exception(code, `provisioning error ${code} in group ${group}`));
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
  };

  scaleOperation = <T>(operation: ScaleOperation, work: () => Promise<T>): Promise<T> => {
    // Inside another (a scale-out reconciles its group): part of that one's span.
    if (context.active().getValue(SCALE_SPAN)) return work();
    // Its own trace: a scale operation may be triggered inside a request, but outlives it.
    const attributes = { group: operation.group, count: operation.count, reason: operation.reason };
    return this.tracer.startActiveSpan(`scale ${operation.kind}`, { kind: SpanKind.INTERNAL, root: true, attributes }, (span) =>
      context.with(context.active().setValue(SCALE_SPAN, span), async () => {
        try {
          return await work();
        } catch (err) {
          const message = redactText(err instanceof Error ? err.message : String(err));
          span.recordException(exception(err instanceof Error ? err.name : 'Error', message));
          span.setStatus({ code: SpanStatusCode.ERROR, message });
          throw err;
        } finally {
          span.end();
        }
      }),
    );
  };
}
