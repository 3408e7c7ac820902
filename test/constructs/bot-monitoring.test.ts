import { ApplicationInsights } from '@cdktf/provider-azurerm/lib/application-insights';
import { LinuxWebApp } from '@cdktf/provider-azurerm/lib/linux-web-app';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { BotMonitoringProps, isoMinutes } from '../../index';
import { fleetStack, resources, synth } from '../helpers/fleet';

const WORKSPACE_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/log-ops';
const CONNECTION_STRING = 'InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://northeurope-2.in.applicationinsights.azure.com/';
const ON_CALL_GROUP = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/Microsoft.Insights/actionGroups/ag-oncall';

const stackWith = (monitoring: BotMonitoringProps) => fleetStack({ environment: { monitoring } });
const TOKEN_REF = (type: string, attribute = 'id') => expect.stringMatching(new RegExp(`^\\$\\{${type}\\.environment_monitoring_[^.]+\\.${attribute}\\}$`));

describe('BotMonitoring: what it declares by default', () => {
  const { json, text } = synth(fleetStack());
  const [app] = resources(json, 'azurerm_linux_web_app');

  test('a Log Analytics workspace, pay-as-you-go, keeping data 30 days', () => {
    expect(text).toHaveResourceWithProperties(LogAnalyticsWorkspace, { name: 'log-hostedbots-demo', sku: 'PerGB2018', retention_in_days: 30, location: 'northeurope' });
  });

  test('a workspace-based Application Insights for Node.js in that workspace', () => {
    expect(text).toHaveResourceWithProperties(ApplicationInsights, {
      name: 'appi-hostedbots-demo',
      application_type: 'Node.JS',
      retention_in_days: 30,
      workspace_id: TOKEN_REF('azurerm_log_analytics_workspace'),
    });
  });

  test("the App Service exports to it: APPLICATIONINSIGHTS_CONNECTION_STRING is Application Insights' (sensitive) connection string", () => {
    expect(app.app_settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toEqual(TOKEN_REF('azurerm_application_insights', 'connection_string'));
    expect(text).toHaveResourceWithProperties(LinuxWebApp, { app_settings: expect.objectContaining({ APPLICATIONINSIGHTS_CONNECTION_STRING: expect.stringContaining('connection_string') }) });
  });

  test('diagnostic settings send every log group and AllMetrics of the App Service, Key Vault and PostgreSQL server to the workspace', () => {
    const settings = resources(json, 'azurerm_monitor_diagnostic_setting');
    expect(settings.map((s) => s.target_resource_id.replace(/_[0-9A-F]{8}\.id\}$/, '}')).sort()).toEqual([
      '${azurerm_key_vault.runtime_key-vault}',
      '${azurerm_linux_web_app.runtime_app}',
      '${azurerm_postgresql_flexible_server.runtime_database}',
    ]);
    for (const setting of settings) {
      expect(setting).toMatchObject({
        name: 'hostedbots-to-log-analytics',
        log_analytics_workspace_id: TOKEN_REF('azurerm_log_analytics_workspace'),
        enabled_log: [{ category_group: 'allLogs' }],
        enabled_metric: [{ category: 'AllMetrics' }],
      });
    }
  });

  test('three alert rules: two query rules over the workspace and a metric alert on the App Service', () => {
    expect(resources(json, 'azurerm_monitor_scheduled_query_rules_alert_v2').map((r) => r.name).sort()).toEqual([
      'alert-hostedbots-demo-provisioning-errors',
      'alert-hostedbots-demo-queue-wait',
    ]);
    expect(resources(json, 'azurerm_monitor_metric_alert').map((r) => r.name)).toEqual(['alert-hostedbots-demo-runtime-unhealthy']);
  });
});

describe('BotMonitoring: alert rules', () => {
  test('runs waiting too long: the longest recorded wait per group, in seconds, above queueWaitMinutes', () => {
    const { text } = synth(stackWith({ alerts: { emails: ['ops@example.com'], queueWaitMinutes: 45, windowMinutes: 60, severity: 1 } }));
    expect(text).toHaveResourceWithProperties(MonitorScheduledQueryRulesAlertV2, {
      name: 'alert-hostedbots-demo-queue-wait',
      scopes: [TOKEN_REF('azurerm_log_analytics_workspace')],
      evaluation_frequency: 'PT5M',
      window_duration: 'PT1H',
      severity: 1,
      auto_mitigation_enabled: true,
      criteria: [
        expect.objectContaining({
          time_aggregation_method: 'Maximum',
          metric_measure_column: 'WaitSeconds',
          operator: 'GreaterThan',
          threshold: 2700,
          dimension: [{ name: 'Group', operator: 'Include', values: ['*'] }],
          query: expect.stringMatching(/AppMetrics \| where _ResourceId =~ "\$\{azurerm_application_insights\..+\.id\}"\)\n\| where Name in \("hosted_bots_queue_wait_seconds", "hosted_bots_oldest_queued_seconds"\)\n.*Properties\["group"\][\s\S]*summarize WaitSeconds = max\(Seconds\) by Group$/),
        }),
      ],
    });
  });

  test('provisioning errors: their sum per group in the window, at least provisioningErrors', () => {
    const { text } = synth(stackWith({ alerts: { emails: ['ops@example.com'], provisioningErrors: 3 } }));
    expect(text).toHaveResourceWithProperties(MonitorScheduledQueryRulesAlertV2, {
      name: 'alert-hostedbots-demo-provisioning-errors',
      window_duration: 'PT15M',
      severity: 2,
      criteria: [
        expect.objectContaining({
          time_aggregation_method: 'Total',
          metric_measure_column: 'Errors',
          operator: 'GreaterThanOrEqual',
          threshold: 3,
          query: expect.stringContaining('| where Name == "hosted_bots_provisioning_errors"\n| extend Group = tostring(Properties["group"])\n| summarize Errors = sum(Sum) by Group'),
        }),
      ],
    });
  });

  // A new workspace has no AppMetrics table until the first metric arrives, and Azure validates
  // the query when the rule is created (alerts-troubleshoot-log.md): an empty leg keeps it valid.
  test('the queries hold before the first metric: a fuzzy union with an empty table of the same columns', () => {
    const [rule] = resources(synth(fleetStack()).json, 'azurerm_monitor_scheduled_query_rules_alert_v2');
    expect(rule.criteria[0].query).toMatch(/^union isfuzzy=true \(datatable\(Name: string, Sum: real, Max: real, Properties: dynamic\)\[\]\), \(AppMetrics/);
  });

  test('the runtime unhealthy: App Service health check status below 100 over 5 minutes', () => {
    const { text } = synth(fleetStack());
    expect(text).toHaveResourceWithProperties(MonitorMetricAlert, {
      name: 'alert-hostedbots-demo-runtime-unhealthy',
      scopes: [expect.stringMatching(/^\$\{azurerm_linux_web_app\.runtime_app_.+\.id\}$/)],
      frequency: 'PT1M',
      window_size: 'PT5M',
      criteria: [{ metric_namespace: 'Microsoft.Web/sites', metric_name: 'HealthCheckStatus', aggregation: 'Average', operator: 'LessThan', threshold: 100 }],
    });
  });

  test('the action group takes its e-mail and webhook receivers from props, in the common alert schema', () => {
    const hook = 'https://hooks.example.com/services/T000/B000';
    const { text } = synth(stackWith({ alerts: { emails: ['ops@example.com', 'lead@example.com'], webhookUrls: [hook], actionGroupShortName: 'rpa-ops' } }));
    expect(text).toHaveResourceWithProperties(MonitorActionGroup, {
      name: 'ag-hostedbots-demo',
      short_name: 'rpa-ops',
      email_receiver: [
        { name: 'email-1', email_address: 'ops@example.com', use_common_alert_schema: true },
        { name: 'email-2', email_address: 'lead@example.com', use_common_alert_schema: true },
      ],
      webhook_receiver: [{ name: 'webhook-1', service_uri: hook, use_common_alert_schema: true }],
    });
  });

  test('the short name defaults to bots- and the environment name, cut to 12 characters', () => {
    const stack = fleetStack({ environment: { name: 'finance-europe', monitoring: { alerts: { emails: ['ops@example.com'] } } } });
    expect(resources(synth(stack).json, 'azurerm_monitor_action_group')[0].short_name).toBe('bots-finance');
  });

  test('every alert rule notifies the action group and the existing action groups given', () => {
    const { json } = synth(stackWith({ alerts: { emails: ['ops@example.com'], actionGroupIds: [ON_CALL_GROUP] } }));
    const own = TOKEN_REF('azurerm_monitor_action_group');
    for (const rule of resources(json, 'azurerm_monitor_scheduled_query_rules_alert_v2')) expect(rule.action.action_groups).toEqual([own, ON_CALL_GROUP]);
    expect(resources(json, 'azurerm_monitor_metric_alert')[0].action).toEqual([{ action_group_id: own }, { action_group_id: ON_CALL_GROUP }]);
  });

  test('with existing action groups only, no action group is declared and the rules notify those', () => {
    const { json } = synth(stackWith({ alerts: { actionGroupIds: [ON_CALL_GROUP] } }));
    expect(resources(json, 'azurerm_monitor_action_group')).toEqual([]);
    for (const rule of resources(json, 'azurerm_monitor_scheduled_query_rules_alert_v2')) expect(rule.action.action_groups).toEqual([ON_CALL_GROUP]);
  });

  test('alerts.enabled false declares no action group and no alert rule, and keeps the diagnostics', () => {
    const { json } = synth(stackWith({ alerts: { enabled: false, emails: ['ops@example.com'] } }));
    expect(resources(json, 'azurerm_monitor_action_group')).toEqual([]);
    expect(resources(json, 'azurerm_monitor_scheduled_query_rules_alert_v2')).toEqual([]);
    expect(resources(json, 'azurerm_monitor_metric_alert')).toEqual([]);
    expect(resources(json, 'azurerm_monitor_diagnostic_setting')).toHaveLength(3);
  });
});

describe('BotMonitoring: diagnostics', () => {
  test('per resource, audit logs only or metrics only', () => {
    const { json, text } = synth(stackWith({ diagnostics: { keyVault: 'audit', database: 'none' }, alerts: { emails: ['ops@example.com'] } }));
    const byTarget = (pattern: RegExp) => resources(json, 'azurerm_monitor_diagnostic_setting').find((s) => pattern.test(s.target_resource_id));
    expect(byTarget(/azurerm_key_vault/)).toMatchObject({ enabled_log: [{ category_group: 'audit' }], enabled_metric: [{ category: 'AllMetrics' }] });
    expect(byTarget(/azurerm_postgresql_flexible_server/)!.enabled_log).toBeUndefined();
    expect(byTarget(/azurerm_postgresql_flexible_server/)!.enabled_metric).toEqual([{ category: 'AllMetrics' }]);
    expect(text).toHaveResourceWithProperties(MonitorDiagnosticSetting, { target_resource_id: expect.stringMatching(/azurerm_linux_web_app/), enabled_log: [{ category_group: 'allLogs' }] });
  });
});

describe('BotMonitoring: existing resources', () => {
  test('an existing workspace is used instead of a new one, by Application Insights, the diagnostics and the query alerts', () => {
    const { json } = synth(stackWith({ logAnalyticsWorkspaceId: WORKSPACE_ID, alerts: { emails: ['ops@example.com'] } }));
    expect(resources(json, 'azurerm_log_analytics_workspace')).toEqual([]);
    expect(resources(json, 'azurerm_application_insights')).toEqual([expect.objectContaining({ workspace_id: WORKSPACE_ID })]);
    for (const setting of resources(json, 'azurerm_monitor_diagnostic_setting')) expect(setting.log_analytics_workspace_id).toBe(WORKSPACE_ID);
    for (const rule of resources(json, 'azurerm_monitor_scheduled_query_rules_alert_v2')) expect(rule.scopes).toEqual([WORKSPACE_ID]);
  });

  test('an existing Application Insights is used instead of a new one: its connection string reaches the App Service, and the queries read the whole workspace', () => {
    const { json } = synth(stackWith({ logAnalyticsWorkspaceId: WORKSPACE_ID, applicationInsightsConnectionString: CONNECTION_STRING, alerts: { emails: ['ops@example.com'] } }));
    expect(resources(json, 'azurerm_log_analytics_workspace')).toEqual([]);
    expect(resources(json, 'azurerm_application_insights')).toEqual([]);
    expect(resources(json, 'azurerm_linux_web_app')[0].app_settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toBe(CONNECTION_STRING);
    for (const rule of resources(json, 'azurerm_monitor_scheduled_query_rules_alert_v2')) expect(rule.criteria[0].query).not.toContain('_ResourceId');
  });

  test('monitoring.enabled false declares no monitoring resource and gives the App Service no connection string', () => {
    const stack = stackWith({ enabled: false });
    const { json } = synth(stack);
    for (const type of ['azurerm_log_analytics_workspace', 'azurerm_application_insights', 'azurerm_monitor_diagnostic_setting', 'azurerm_monitor_action_group', 'azurerm_monitor_scheduled_query_rules_alert_v2', 'azurerm_monitor_metric_alert']) {
      expect(resources(json, type)).toEqual([]);
    }
    expect(resources(json, 'azurerm_linux_web_app')[0].app_settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toBeUndefined();
    expect(stack.environment.monitoring).toBeUndefined();
  });

  test('the fleet manifest is the same with monitoring on or off', () => {
    expect(stackWith({ enabled: false }).resolvedFleetManifest()).toEqual(fleetStack().resolvedFleetManifest());
  });
});

test.each([
  [5, 'PT5M'],
  [15, 'PT15M'],
  [60, 'PT1H'],
  [360, 'PT6H'],
  [1440, 'P1D'],
  [2880, 'P2D'],
])('%d minutes is %s', (minutes, iso) => {
  expect(isoMinutes(minutes)).toBe(iso);
});
