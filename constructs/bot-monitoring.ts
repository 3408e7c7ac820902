/**
 * Azure Monitor as the team's window on an environment: a Log Analytics workspace and a
 * workspace-based Application Insights (or existing ones, by ID), diagnostic settings that send
 * the runtime's App Service, Key Vault and PostgreSQL logs and metrics to the workspace, and alert
 * rules with an action group: runs waiting too long, provisioning errors, the runtime unhealthy.
 *
 * The runtime exports OpenTelemetry metrics to Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING,
 * set on the App Service by `BotRuntime`). In a workspace they land in the `AppMetrics` table, whose
 * `Name`, `Sum`, `Max` and `Properties` columns stand for the classic `customMetrics` table's name,
 * valueSum, valueMax and customDimensions (Microsoft Learn, "Migrate to workspace-based Application
 * Insights resources", azure-monitor/app/convert-classic-resource.md, "AppMetrics"). The alert
 * queries read them there.
 */
import { ApplicationInsights } from '@cdktf/provider-azurerm/lib/application-insights';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { DiagnosticResourceType, NameKind } from './azure-rules';
import { Construct, Token } from './cdktf';
import { names } from './naming';
import { ResourcePlacement } from './placement';
import { checkAtSynth, IPolicySubject, PolicyFacts } from './policy';

/** Which resource logs a diagnostic setting sends: a category group, or `none` for metrics only. */
export type DiagnosticLogs = 'allLogs' | 'audit' | 'none';

/** The alert rules and whom they notify. */
export interface BotAlertsProps {
  /** Declare the alert rules (and the action group). @default true */
  readonly enabled?: boolean;
  /** E-mail addresses the action group notifies. @default none */
  readonly emails?: readonly string[];
  /**
   * Webhook URLs the action group posts to, in the common alert schema. They often carry a token:
   * pass a sensitive Terraform variable rather than a literal.
   * @default none
   */
  readonly webhookUrls?: readonly string[];
  /** Existing action groups (resource IDs) every alert rule also notifies, e.g. the on-call team's. @default none */
  readonly actionGroupIds?: readonly string[];
  /** Shown in the e-mails and SMS the action group sends: 1-12 characters. @default `bots-<environment>`, cut to 12 */
  readonly actionGroupShortName?: string;
  /** A run of a group that waited longer than this many minutes before it started alerts. @default 30 */
  readonly queueWaitMinutes?: number;
  /** This many provisioning errors of a group within the window alert. @default 1 */
  readonly provisioningErrors?: number;
  /**
   * The window the query alerts look back over, in minutes; they are evaluated every 5 minutes.
   * One of 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880.
   * @default 15
   */
  readonly windowMinutes?: number;
  /** Severity of every alert rule, 0 (critical) to 4 (verbose). @default 2 */
  readonly severity?: number;
}

/** Where each runtime resource's logs go. Metrics (`AllMetrics`) are always sent. */
export interface BotDiagnosticsProps {
  /** App Service logs. App Service offers the `allLogs` group only. @default 'allLogs' */
  readonly appService?: DiagnosticLogs;
  /** Key Vault logs: `audit` keeps the audit events only. @default 'allLogs' */
  readonly keyVault?: DiagnosticLogs;
  /** PostgreSQL flexible server logs. @default 'allLogs' */
  readonly database?: DiagnosticLogs;
}

export interface BotMonitoringProps {
  /** When false, no monitoring resource is declared and the runtime exports no telemetry. @default true */
  readonly enabled?: boolean;
  /**
   * An existing Log Analytics workspace, by resource ID
   * (`/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…`).
   * @default a new workspace, `log-hostedbots-<environment>`
   */
  readonly logAnalyticsWorkspaceId?: string;
  /**
   * An existing Application Insights resource, by connection string; give its workspace as
   * `logAnalyticsWorkspaceId` too. Pass a sensitive Terraform variable rather than a literal.
   * @default a new workspace-based Application Insights, `appi-hostedbots-<environment>`
   */
  readonly applicationInsightsConnectionString?: string;
  /**
   * Days the workspace and Application Insights created here keep data: 30, 60, 90, 120, 180, 270,
   * 365, 550 or 730 (what both accept). Resources given by ID keep their own.
   * @default 30
   */
  readonly retentionDays?: number;
  /** @default every log (`allLogs`) and every metric of the App Service, Key Vault and PostgreSQL server */
  readonly diagnostics?: BotDiagnosticsProps;
  /** @default the three alert rules, with no receiver (synth warns, HRB-MON-7) */
  readonly alerts?: BotAlertsProps;
}

/** Defaults of the props, in one place for the docs and the tests. */
export const MONITORING_DEFAULTS = {
  retentionDays: 30,
  queueWaitMinutes: 30,
  provisioningErrors: 1,
  windowMinutes: 15,
  severity: 2,
  diagnostics: 'allLogs',
} as const;

/** The runtime's custom metrics the alerts read (OpenTelemetry instrument names). */
export const RUNTIME_METRICS = {
  queueWaitSeconds: 'hosted_bots_queue_wait_seconds',
  oldestQueuedSeconds: 'hosted_bots_oldest_queued_seconds',
  provisioningErrors: 'hosted_bots_provisioning_errors',
} as const;

/** The runtime resources that send diagnostics. */
export interface MonitoredRuntime {
  readonly appId: string;
  readonly keyVaultId: string;
  readonly databaseId: string;
}

/** Where the monitoring lives. */
export interface MonitoringSite {
  readonly environment: string;
  readonly placement: ResourcePlacement;
}

/** How often the query alerts run. azurerm's `evaluation_frequency` is one of a list; PT5M keeps the window list wide. */
const QUERY_EVALUATION = 'PT5M';

/** ISO 8601 duration of a whole number of minutes, as the alert rules take it: PT15M, PT2H, P1D. */
export function isoMinutes(minutes: number): string {
  if (minutes % 1440 === 0) return `P${minutes / 1440}D`;
  if (minutes % 60 === 0) return `PT${minutes / 60}H`;
  return `PT${minutes}M`;
}

/**
 * The rows of `AppMetrics`, from this environment's Application Insights when the library made it.
 * A new workspace has no `AppMetrics` table until the first metric arrives, and Azure validates a
 * rule's query when it is created; "Custom logs tables haven't been created because the data flow
 * hasn't started" is a documented cause of a failing query (Microsoft Learn, "Troubleshoot log
 * search alerts in Azure Monitor", azure-monitor/alerts/alerts-troubleshoot-log.md). The empty
 * `datatable` leg keeps the query valid until then: `union isfuzzy=true` drops a leg that does not
 * resolve, as long as one does. Several Application Insights resources may share a workspace:
 * "filter for the built-in `_ResourceId` property that's available in all application-specific
 * tables" (convert-classic-resource.md).
 */
export function appMetricsSource(applicationInsightsId?: string): string {
  const own = applicationInsightsId ? ` | where _ResourceId =~ "${applicationInsightsId}"` : '';
  return `union isfuzzy=true (datatable(Name: string, Sum: real, Max: real, Properties: dynamic)[]), (AppMetrics${own})`;
}

/**
 * The longest wait of a run of each group, from two metrics. The runtime records
 * `hosted_bots_queue_wait_seconds` as a histogram with attribute `group` when a bot claims a run;
 * the Azure Monitor exporter sends each interval's largest value as `Max`
 * (@azure/monitor-opentelemetry-exporter, utils/metricUtils.js). A run no bot claims is never in
 * it, so the gauge `hosted_bots_oldest_queued_seconds` (the longest-waiting queued run's age,
 * sent as the point's value, `Sum`) covers a queue that is stuck.
 */
export function queueWaitQuery(applicationInsightsId?: string): string {
  return [
    appMetricsSource(applicationInsightsId),
    `| where Name in ("${RUNTIME_METRICS.queueWaitSeconds}", "${RUNTIME_METRICS.oldestQueuedSeconds}")`,
    '| extend Group = tostring(Properties["group"])',
    `| extend Seconds = iff(Name == "${RUNTIME_METRICS.oldestQueuedSeconds}", Sum, Max)`,
    '| summarize WaitSeconds = max(Seconds) by Group',
  ].join('\n');
}

/**
 * Provisioning errors per group. `hosted_bots_provisioning_errors` is a counter (attributes `group`,
 * `code`); the exporter sends counters with delta temporality (`selectAggregationTemporality` in
 * @azure/monitor-opentelemetry-exporter, export/metric.js), so each row's `Sum` is the errors of
 * its interval and their sum is the errors in the window.
 */
export function provisioningErrorsQuery(applicationInsightsId?: string): string {
  return [
    appMetricsSource(applicationInsightsId),
    `| where Name == "${RUNTIME_METRICS.provisioningErrors}"`,
    '| extend Group = tostring(Properties["group"])',
    '| summarize Errors = sum(Sum) by Group',
  ].join('\n');
}

export class BotMonitoring extends Construct implements IPolicySubject {
  /** The workspace created here; absent when `logAnalyticsWorkspaceId` was given. */
  readonly workspace?: LogAnalyticsWorkspace;
  /** The workspace's resource ID, created or given. */
  readonly workspaceId: string;
  /** The Application Insights created here; absent when `applicationInsightsConnectionString` was given. */
  readonly applicationInsights?: ApplicationInsights;
  /** Where the runtime exports its telemetry: a sensitive Terraform value, or the string given. */
  readonly connectionString: string;
  /** Present when the alerts have e-mail or webhook receivers. */
  readonly actionGroup?: MonitorActionGroup;
  /** The alert rules by what they watch; absent when alerts are off. */
  readonly queueWaitAlert?: MonitorScheduledQueryRulesAlertV2;
  readonly provisioningErrorsAlert?: MonitorScheduledQueryRulesAlertV2;
  /** Declared by `monitorRuntime`. */
  runtimeHealthAlert?: MonitorMetricAlert;
  readonly diagnosticSettings: MonitorDiagnosticSetting[] = [];

  private readonly props: BotMonitoringProps;
  private readonly site: MonitoringSite;
  private readonly alertActionGroupIds: string[];

  constructor(scope: Construct, id: string, props: BotMonitoringProps, site: MonitoringSite) {
    super(scope, id);
    checkAtSynth(this);
    this.props = props;
    this.site = site;
    const { resourceGroupName, location } = site.placement;
    const retentionInDays = props.retentionDays ?? MONITORING_DEFAULTS.retentionDays;

    if (props.logAnalyticsWorkspaceId === undefined) {
      this.workspace = new LogAnalyticsWorkspace(this, 'workspace', {
        name: names.logAnalyticsWorkspace(site.environment),
        resourceGroupName,
        location,
        sku: 'PerGB2018',
        retentionInDays,
      });
      this.workspaceId = this.workspace.id;
    } else {
      this.workspaceId = props.logAnalyticsWorkspaceId;
    }

    if (props.applicationInsightsConnectionString === undefined) {
      this.applicationInsights = new ApplicationInsights(this, 'application-insights', {
        name: names.applicationInsights(site.environment),
        resourceGroupName,
        location,
        applicationType: 'Node.JS',
        // Workspace-based: the telemetry lands in the workspace's App* tables, where the alerts query it.
        workspaceId: this.workspaceId,
        retentionInDays,
      });
      this.connectionString = this.applicationInsights.connectionString;
    } else {
      this.connectionString = props.applicationInsightsConnectionString;
    }

    const alerts = props.alerts ?? {};
    this.alertActionGroupIds = [...(alerts.actionGroupIds ?? [])];
    if (alerts.enabled === false) return;

    const emails = alerts.emails ?? [];
    const webhooks = alerts.webhookUrls ?? [];
    if (emails.length + webhooks.length > 0) {
      this.actionGroup = new MonitorActionGroup(this, 'action-group', {
        name: names.actionGroup(site.environment),
        resourceGroupName,
        shortName: this.actionGroupShortName,
        emailReceiver: emails.map((emailAddress, i) => ({ name: `email-${i + 1}`, emailAddress, useCommonAlertSchema: true })),
        webhookReceiver: webhooks.map((serviceUri, i) => ({ name: `webhook-${i + 1}`, serviceUri, useCommonAlertSchema: true })),
      });
      this.alertActionGroupIds.unshift(this.actionGroup.id);
    }

    const settings = this.alertSettings;
    const ownInsights = this.applicationInsights?.id;
    const window = isoMinutes(settings.windowMinutes);
    const queryAlert = (aid: string, alert: string, description: string, criteria: { query: string; timeAggregationMethod: string; metricMeasureColumn: string; operator: string; threshold: number }) =>
      new MonitorScheduledQueryRulesAlertV2(this, aid, {
        name: names.alertRule(site.environment, alert),
        resourceGroupName,
        location,
        description,
        scopes: [this.workspaceId],
        evaluationFrequency: QUERY_EVALUATION,
        windowDuration: window,
        severity: settings.severity,
        criteria: [
          {
            ...criteria,
            // One alert per group, named in the alert's dimensions.
            dimension: [{ name: 'Group', operator: 'Include', values: ['*'] }],
            failingPeriods: { minimumFailingPeriodsToTriggerAlert: 1, numberOfEvaluationPeriods: 1 },
          },
        ],
        autoMitigationEnabled: true,
        ...(this.alertActionGroupIds.length ? { action: { actionGroups: this.alertActionGroupIds } } : {}),
      });

    this.queueWaitAlert = queryAlert(
      'queue-wait-alert',
      'queue-wait',
      `A run of a bot group of environment ${site.environment} waited more than ${settings.queueWaitMinutes} minutes for a bot.`,
      { query: queueWaitQuery(ownInsights), timeAggregationMethod: 'Maximum', metricMeasureColumn: 'WaitSeconds', operator: 'GreaterThan', threshold: settings.queueWaitMinutes * 60 },
    );
    this.provisioningErrorsAlert = queryAlert(
      'provisioning-errors-alert',
      'provisioning-errors',
      `A bot group of environment ${site.environment} had ${settings.provisioningErrors} or more provisioning errors (ARM failures, boot time-outs, extension failures) in ${settings.windowMinutes} minutes; the runtime API and dashboard show each one's code and message.`,
      { query: provisioningErrorsQuery(ownInsights), timeAggregationMethod: 'Total', metricMeasureColumn: 'Errors', operator: 'GreaterThanOrEqual', threshold: settings.provisioningErrors },
    );
  }

  /** The short name the action group shows, as given or derived. */
  get actionGroupShortName(): string {
    return this.props.alerts?.actionGroupShortName ?? names.actionGroupShortName(this.site.environment);
  }

  /** The alert settings, as given or defaulted. */
  get alertSettings(): { queueWaitMinutes: number; provisioningErrors: number; windowMinutes: number; severity: number } {
    const alerts = this.props.alerts ?? {};
    return {
      queueWaitMinutes: alerts.queueWaitMinutes ?? MONITORING_DEFAULTS.queueWaitMinutes,
      provisioningErrors: alerts.provisioningErrors ?? MONITORING_DEFAULTS.provisioningErrors,
      windowMinutes: alerts.windowMinutes ?? MONITORING_DEFAULTS.windowMinutes,
      severity: alerts.severity ?? MONITORING_DEFAULTS.severity,
    };
  }

  /**
   * Sends the runtime's App Service, Key Vault and PostgreSQL logs and metrics to the workspace, and
   * alerts when the App Service's health check fails. `BotRuntime` calls this once it has them.
   */
  monitorRuntime(runtime: MonitoredRuntime): void {
    const diagnostics = this.props.diagnostics ?? {};
    const send = (aid: string, targetResourceId: string, logs: DiagnosticLogs | undefined) => {
      const group = logs ?? MONITORING_DEFAULTS.diagnostics;
      this.diagnosticSettings.push(
        new MonitorDiagnosticSetting(this, aid, {
          name: names.diagnosticSetting(),
          targetResourceId,
          logAnalyticsWorkspaceId: this.workspaceId,
          // Resource-specific tables (AppServiceHTTPLogs, ...) rather than AzureDiagnostics, where the type has them.
          ...(group === 'none' ? {} : { enabledLog: [{ categoryGroup: group }] }),
          enabledMetric: [{ category: 'AllMetrics' }],
        }),
      );
    };
    send('app-diagnostics', runtime.appId, diagnostics.appService);
    send('key-vault-diagnostics', runtime.keyVaultId, diagnostics.keyVault);
    send('database-diagnostics', runtime.databaseId, diagnostics.database);

    if (this.props.alerts?.enabled === false) return;
    // "Health check status" (`HealthCheckStatus`, Average, time grains PT5M, PT1H, P1D; Microsoft
    // Learn, "Supported metrics for Microsoft.Web/sites", azure-monitor/reference/supported-metrics/
    // microsoft-web-sites-metrics.md). It "aggregate[s] the successful pings and display[s] failures
    // only when the instance was deemed unhealthy based on the Health Check Load balancing threshold"
    // (app-service/monitor-instances-health-check.md, "Monitoring"): five failed `/healthz` pings
    // here (`healthCheckEvictionTimeInMin`), after which the average drops below a healthy 100.
    // The window is the metric's smallest grain.
    this.runtimeHealthAlert = new MonitorMetricAlert(this, 'runtime-health-alert', {
      name: names.alertRule(this.site.environment, 'runtime-unhealthy'),
      resourceGroupName: this.site.placement.resourceGroupName,
      description: `The runtime of environment ${this.site.environment} fails its App Service health check (/healthz: store or leader unavailable).`,
      scopes: [runtime.appId],
      severity: this.alertSettings.severity,
      frequency: 'PT1M',
      windowSize: 'PT5M',
      criteria: [{ metricNamespace: 'Microsoft.Web/sites', metricName: 'HealthCheckStatus', aggregation: 'Average', operator: 'LessThan', threshold: 100 }],
      autoMitigate: true,
      ...(this.alertActionGroupIds.length ? { action: this.alertActionGroupIds.map((actionGroupId) => ({ actionGroupId })) } : {}),
    });
  }

  policyFacts(): PolicyFacts {
    const props = this.props;
    const alerts = props.alerts ?? {};
    const alertsOn = alerts.enabled !== false;
    const env = this.site.environment;
    const derivedNames: { kind: NameKind; field: string; name: string; derived: boolean }[] = [];
    if (this.workspace) derivedNames.push({ kind: 'logAnalyticsWorkspace', field: 'workspace name', name: names.logAnalyticsWorkspace(env), derived: true });
    if (this.applicationInsights) derivedNames.push({ kind: 'applicationInsights', field: 'Application Insights name', name: names.applicationInsights(env), derived: true });
    if (alertsOn) {
      derivedNames.push(
        { kind: 'actionGroup', field: 'action group name', name: names.actionGroup(env), derived: true },
        { kind: 'actionGroupShortName', field: 'monitoring.alerts.actionGroupShortName', name: this.actionGroupShortName, derived: alerts.actionGroupShortName === undefined },
        { kind: 'scheduledQueryRule', field: 'alert rule name', name: names.alertRule(env, 'queue-wait'), derived: true },
        { kind: 'scheduledQueryRule', field: 'alert rule name', name: names.alertRule(env, 'provisioning-errors'), derived: true },
        { kind: 'metricAlert', field: 'alert rule name', name: names.alertRule(env, 'runtime-unhealthy'), derived: true },
      );
    }
    const diagnostics = props.diagnostics ?? {};
    const diagnosticFacts = (
      [
        ['appService', 'Microsoft.Web/sites'],
        ['keyVault', 'Microsoft.KeyVault/vaults'],
        ['database', 'Microsoft.DBforPostgreSQL/flexibleServers'],
      ] as const
    ).map(([key, resourceType]): { field: string; resourceType: DiagnosticResourceType; logs: string } => ({
      field: `monitoring.diagnostics.${key}`,
      resourceType,
      logs: diagnostics[key] ?? MONITORING_DEFAULTS.diagnostics,
    }));
    const listed = (values: readonly string[] | undefined) => (values ?? []).map((value) => ({ value, isToken: Token.isUnresolved(value) }));
    return {
      kind: 'monitoring',
      retention: {
        retentionDays: props.retentionDays ?? MONITORING_DEFAULTS.retentionDays,
        createsWorkspace: this.workspace !== undefined,
        createsApplicationInsights: this.applicationInsights !== undefined,
      },
      names: derivedNames,
      existing: {
        workspaceId: props.logAnalyticsWorkspaceId,
        workspaceIdIsToken: props.logAnalyticsWorkspaceId !== undefined && Token.isUnresolved(props.logAnalyticsWorkspaceId),
        connectionString: props.applicationInsightsConnectionString,
        connectionStringIsToken: props.applicationInsightsConnectionString !== undefined && Token.isUnresolved(props.applicationInsightsConnectionString),
      },
      diagnostics: diagnosticFacts,
      alerts: alertsOn
        ? {
            receivers: { emails: listed(alerts.emails), webhookUrls: listed(alerts.webhookUrls) },
            actionGroupIds: (alerts.actionGroupIds ?? []).length,
            settings: {
              queueWaitMinutes: alerts.queueWaitMinutes ?? MONITORING_DEFAULTS.queueWaitMinutes,
              provisioningErrors: alerts.provisioningErrors ?? MONITORING_DEFAULTS.provisioningErrors,
              windowMinutes: alerts.windowMinutes ?? MONITORING_DEFAULTS.windowMinutes,
              severity: alerts.severity ?? MONITORING_DEFAULTS.severity,
            },
          }
        : undefined,
    };
  }
}
