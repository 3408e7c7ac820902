/**
 * The rule pack through the construct tree: for every rule, a stack that breaks it gets an error
 * (or warning) annotation naming the construct path, the field and the value, and a stack that
 * keeps it gets none.
 */
import { Testing } from 'cdktf';
import { BotImagesStack, BotImageSource, BotImageVersionSource, HostedBotsStack, PolicyAnnotation, RULE_CATALOGUE, RuleId } from '../../index';
import { DEPLOYER_IP, fleetStack, GOOD_PASSWORD, groupProps, QUIET_MONITORING, resources, sensitiveVariable, synth, userWebApp } from '../helpers/fleet';

interface Case {
  readonly rule: string;
  readonly id: RuleId;
  /** Builds the stack to synthesize; `bad` breaks the rule. */
  readonly build: (bad: boolean) => import('cdktf').TerraformStack;
  readonly level?: 'error' | 'warning';
  readonly path: string;
  readonly field: string;
  readonly value: string;
}

const EXISTING_WORKSPACE_ID = '/subscriptions/0/resourceGroups/ops/providers/Microsoft.OperationalInsights/workspaces/log-ops';
const SNAPSHOT_ID = '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/snapshots/rpa-os';
const MANAGED_IMAGE_ID = '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa';

function imagesStack(
  opts: { gallery?: string; image?: string; version?: string; geographies?: ('Europe' | 'US')[]; source?: BotImageVersionSource; sourceVmSecurityType?: 'Standard' | 'TrustedLaunch' } = {},
) {
  const app = Testing.app();
  const images = new BotImagesStack(app, 'images', { location: 'northeurope', gallery: { name: opts.gallery ?? 'botimages' } });
  const image = images.gallery.addImage('windows', { name: opts.image ?? 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' });
  const version = image.addVersion(opts.version ?? '1.0.0', {
    source: opts.source ?? { managedImageId: MANAGED_IMAGE_ID },
    geographies: opts.geographies ?? ['Europe'],
    sourceVmSecurityType: opts.sourceVmSecurityType,
  });
  return { app, images, version };
}

function replicaCase(bad: boolean) {
  const { app, version } = imagesStack({ geographies: ['Europe'] });
  const stack = new HostedBotsStack(app, 'bots', {
    geography: bad ? 'US' : 'Europe',
    environment: { name: 'rpa', botCapacity: 2 },
    runtime: { botAuthentication: 'token' },
  });
  stack.environment.addGroup('finance', groupProps({ image: BotImageSource.fromVersion(version) }));
  return stack;
}

const CASES: Case[] = [
  {
    rule: 'gallery name',
    id: 'HRB-NAME-1',
    build: (bad) => imagesStack({ gallery: bad ? 'bot-images' : 'botimages' }).images,
    path: 'images/gallery',
    field: 'name',
    value: '"bot-images"',
  },
  {
    rule: 'image definition name',
    id: 'HRB-NAME-2',
    build: (bad) => imagesStack({ image: bad ? 'windows rpa' : 'windows-rpa' }).images,
    path: 'images/gallery/windows',
    field: 'name',
    value: '"windows rpa"',
  },
  {
    rule: 'image version format',
    id: 'HRB-IMAGE-1',
    build: (bad) => imagesStack({ version: bad ? '1.0.4294967296' : '1.0.0' }).images,
    path: 'images/gallery/windows/v1.0.4294967296',
    field: 'version',
    value: '"1.0.4294967296"',
  },
  {
    rule: 'image version replicated to the gallery region',
    id: 'HRB-IMAGE-2',
    build: (bad) => imagesStack({ geographies: bad ? ['US'] : ['Europe', 'US'] }).images,
    path: 'images/gallery/windows/v1.0.0',
    field: 'geographies',
    value: '[US]',
  },
  {
    rule: 'image version source: a snapshot of a Trusted Launch VM by default',
    id: 'HRB-IMAGE-4',
    build: (bad) => imagesStack({ source: { osDiskSnapshotId: SNAPSHOT_ID }, sourceVmSecurityType: bad ? undefined : 'Standard' }).images,
    path: 'images/gallery/windows/v1.0.0',
    field: 'source.osDiskSnapshotId',
    value: JSON.stringify(SNAPSHOT_ID),
  },
  {
    rule: 'image version source: a managed image of a Trusted Launch VM',
    id: 'HRB-IMAGE-4',
    build: (bad) => imagesStack({ sourceVmSecurityType: bad ? 'TrustedLaunch' : undefined }).images,
    path: 'images/gallery/windows/v1.0.0',
    field: 'source.managedImageId',
    value: JSON.stringify(MANAGED_IMAGE_ID),
  },
  {
    rule: 'standby pool name',
    id: 'HRB-NAME-9',
    build: (bad) => fleetStack({ groups: [{ name: bad ? 'fin_eu' : 'fin-eu', scaling: { standbyPool: { maxReadyCapacity: 1 } } }] }),
    path: 'fleet/environment/group-0',
    field: 'standbyPoolName',
    value: '"sbp-demo-fin_eu"',
  },
  {
    rule: "standby pool without its provider's roles (warning)",
    id: 'HRB-SCALE-2',
    level: 'warning',
    build: (bad) => fleetStack({ environment: bad ? {} : { standbyPoolProvider: { principalId: '6a0f1ba4-3c2e-4d7b-9f51-0c8e2d7a4b13' } }, groups: [{ scaling: { standbyPool: { maxReadyCapacity: 1 } } }] }),
    path: 'fleet/environment/group-0',
    field: 'scaling.standbyPool',
    value: '(group finance)',
  },
  {
    rule: "maxBots above the environment's capacity (warning)",
    id: 'HRB-CAP-6',
    level: 'warning',
    build: (bad) => fleetStack({ environment: { botCapacity: 4 }, groups: [{ maxBots: bad ? 5 : 4 }] }),
    path: 'fleet/environment/group-0',
    field: 'maxBots',
    value: '5',
  },
  {
    rule: 'subnets inside the address space',
    id: 'HRB-NET-5',
    build: (bad) => fleetStack({ environment: { network: { addressSpace: '10.1.0.0/16', subnetPrefix: bad ? '10.80.0.0/22' : '10.1.0.0/22' } } }),
    path: 'fleet/environment',
    field: 'network.subnetPrefix',
    value: '"10.80.0.0/22"',
  },
  {
    rule: 'address space big enough for the derived subnets',
    id: 'HRB-NET-5',
    build: (bad) => fleetStack({ environment: { network: { addressSpace: bad ? '10.1.0.0/22' : '10.1.0.0/21' } } }),
    path: 'fleet/environment',
    field: 'network.addressSpace',
    value: '"10.1.0.0/22"',
  },
  {
    rule: 'group name',
    id: 'HRB-NAME-4',
    build: (bad) => fleetStack({ groups: [{ name: bad ? 'Finance_EU' : 'finance-eu' }] }),
    path: 'fleet/environment/group-0',
    field: 'name',
    value: '"Finance_EU"',
  },
  {
    rule: 'environment name',
    id: 'HRB-NAME-5',
    build: (bad) => fleetStack({ environment: { name: bad ? 'Demo' : 'demo' } }),
    path: 'fleet/environment',
    field: 'name',
    value: '"Demo"',
  },
  {
    rule: 'computer-name prefix',
    id: 'HRB-NAME-6',
    build: (bad) => fleetStack({ groups: [{ computerNamePrefix: bad ? '20261126' : 'fin2026' }] }),
    path: 'fleet/environment/group-0',
    field: 'computerNamePrefix',
    value: '"20261126"',
  },
  {
    rule: 'admin username reserved',
    id: 'HRB-ADMIN-1',
    build: (bad) => fleetStack({ groups: [{ adminUsername: bad ? 'Administrator' : 'botadmin' }] }),
    path: 'fleet/environment/group-0',
    field: 'adminUsername',
    value: '"Administrator"',
  },
  {
    rule: 'admin username length',
    id: 'HRB-ADMIN-1',
    build: (bad) => fleetStack({ groups: [{ adminUsername: bad ? 'rpa-bot-administrator' : 'rpa-bot-admin' }] }),
    path: 'fleet/environment/group-0',
    field: 'adminUsername',
    value: '"rpa-bot-administrator"',
  },
  {
    rule: 'admin username trailing period',
    id: 'HRB-ADMIN-1',
    build: (bad) => fleetStack({ groups: [{ adminUsername: bad ? 'botadmin.' : 'bot.admin' }] }),
    path: 'fleet/environment/group-0',
    field: 'adminUsername',
    value: '"botadmin."',
  },
  {
    rule: 'admin password complexity',
    id: 'HRB-ADMIN-3',
    build: (bad) => fleetStack({ groups: [{ adminPassword: bad ? 'alllowercasepassword' : GOOD_PASSWORD }] }),
    path: 'fleet/environment/group-0',
    field: 'adminPassword',
    value: '(hidden, 20 characters)',
  },
  {
    rule: 'admin password length',
    id: 'HRB-ADMIN-3',
    build: (bad) => fleetStack({ groups: [{ adminPassword: bad ? 'Sh0rt!pw' : GOOD_PASSWORD }] }),
    path: 'fleet/environment/group-0',
    field: 'adminPassword',
    value: '(hidden, 8 characters)',
  },
  {
    rule: 'maxBots range',
    id: 'HRB-CAP-1',
    build: (bad) => fleetStack({ environment: { botCapacity: 60 }, groups: [{ maxBots: bad ? 51 : 50 }] }),
    path: 'fleet/environment/group-0',
    field: 'maxBots',
    value: '51',
  },
  {
    rule: 'committedBots at most maxBots',
    id: 'HRB-CAP-1',
    build: (bad) => fleetStack({ groups: [{ maxBots: 2, committedBots: bad ? 3 : 2 }] }),
    path: 'fleet/environment/group-0',
    field: 'committedBots',
    value: '3',
  },
  {
    rule: 'committed bots within capacity',
    id: 'HRB-CAP-5',
    build: (bad) =>
      fleetStack({
        environment: { botCapacity: 4 },
        groups: [
          { name: 'finance', committedBots: 2 },
          { name: 'sales', committedBots: bad ? 3 : 2 },
        ],
      }),
    path: 'fleet/environment',
    field: 'committedBots',
    value: '5 (finance=2, sales=3)',
  },
  {
    rule: 'at most 10 groups',
    id: 'HRB-CAP-4',
    build: (bad) =>
      fleetStack({ environment: { botCapacity: 20 }, groups: Array.from({ length: bad ? 11 : 10 }, (_, i) => ({ name: `group-${i}`, maxBots: 1 })) }),
    path: 'fleet/environment',
    field: 'groups',
    value: '11',
  },
  {
    rule: 'trial plan caps capacity (warning)',
    id: 'HRB-CAP-3',
    level: 'warning',
    build: (bad) => fleetStack({ environment: { plan: 'trial', botCapacity: bad ? 5 : 2 }, groups: [{ maxBots: 2 }] }),
    path: 'fleet/environment',
    field: 'botCapacity',
    value: '5',
  },
  {
    rule: 'flow time-out at most 24 hours',
    id: 'HRB-FLOW-1',
    build: (bad) => fleetStack({ groups: [{ flows: { nightly: { command: 'run.cmd', timeoutMinutes: bad ? 1500 : 1440 } } }] }),
    path: 'fleet/environment/group-0',
    field: 'flows.nightly.timeoutMinutes',
    value: '1500',
  },
  {
    rule: 'the built-in self-test flow\'s name is reserved',
    id: 'HRB-FLOW-2',
    build: (bad) => fleetStack({ groups: [{ flows: { [bad ? 'hosted-bots-self-test' : 'self-test']: { command: 'selftest.cmd', timeoutMinutes: 5 } } }] }),
    path: 'fleet/environment/group-0',
    field: 'flows.hosted-bots-self-test',
    value: '"hosted-bots-self-test"',
  },
  {
    rule: 'scaling settings',
    id: 'HRB-SCALE-1',
    build: (bad) => fleetStack({ environment: { scaling: { maxAttempts: bad ? 0 : 2 } } }),
    path: 'fleet/environment',
    field: 'scaling.maxAttempts',
    value: '0',
  },
  {
    rule: 'predictive warm-up cap within maxBots',
    id: 'HRB-SCALE-1',
    build: (bad) => fleetStack({ groups: [{ maxBots: 3, scaling: { predictiveMaxBots: bad ? 4 : 3 } }] }),
    path: 'fleet/environment/group-0',
    field: 'scaling.predictiveMaxBots',
    value: '4',
  },
  {
    rule: 'predictive warm-up lead time',
    id: 'HRB-SCALE-1',
    build: (bad) => fleetStack({ environment: { scaling: { predictiveLeadMinutes: bad ? 0 : 10 } } }),
    path: 'fleet/environment',
    field: 'scaling.predictiveLeadMinutes',
    value: '0',
  },
  {
    rule: 'per-user queue limit',
    id: 'HRB-QUEUE-1',
    build: (bad) => fleetStack({ groups: [{ queue: { maxQueuedPerUser: bad ? 0 : 50 } }] }),
    path: 'fleet/environment/group-0',
    field: 'queue.maxQueuedPerUser',
    value: '0',
  },
  {
    rule: 'run retention',
    id: 'HRB-RET-1',
    build: (bad) => fleetStack({ environment: { runRetentionDays: bad ? 0.5 : 90 } }),
    path: 'fleet/environment',
    field: 'runRetentionDays',
    value: '0.5',
  },
  {
    rule: 'environment time zone',
    id: 'HRB-TZ-1',
    build: (bad) => fleetStack({ environment: { timeZone: bad ? 'Europe/Atlantis' : 'Europe/Berlin' } }),
    path: 'fleet/environment',
    field: 'timeZone',
    value: '"Europe/Atlantis"',
  },
  {
    rule: 'spare bot on or off',
    id: 'HRB-SCALE-1',
    build: (bad) => fleetStack({ groups: [{ scaling: { spareBot: (bad ? 'no' : false) as boolean } }] }),
    path: 'fleet/environment/group-0',
    field: 'scaling.spareBot',
    value: '"no"',
  },
  {
    rule: 'managed identity needs Entra ID',
    id: 'HRB-RUNTIME-2',
    build: (bad) => fleetStack({ runtime: { botAuthentication: bad ? 'managed-identity' : 'token' } }),
    path: 'fleet/runtime',
    field: 'runtime.botAuthentication',
    value: '"managed-identity"',
  },
  {
    rule: 'bots on a shared token by default (warning)',
    id: 'HRB-RUNTIME-3',
    level: 'warning',
    build: (bad) => fleetStack({ runtime: bad ? {} : { entra: { tenantId: 't', audience: 'api://bots' } } }),
    path: 'fleet/runtime',
    field: 'runtime.botAuthentication',
    value: '"token"',
  },
  {
    rule: 'global name prefix',
    id: 'HRB-NAME-7',
    build: (bad) => fleetStack({ globalNamePrefix: bad ? 'Contoso' : 'contoso' }),
    path: 'fleet/runtime',
    field: 'globalNamePrefix',
    value: '"Contoso"',
  },
  {
    rule: 'runtime app name',
    id: 'HRB-NAME-8',
    build: (bad) => fleetStack({ runtime: { appName: bad ? 'bots-' : 'contoso-bots', botAuthentication: 'token' } }),
    path: 'fleet/runtime',
    field: 'runtime.appName',
    value: '"bots-"',
  },
  {
    rule: 'runtime plan supports VNet integration and private endpoints',
    id: 'HRB-RUNTIME-1',
    build: (bad) => fleetStack({ runtime: { planSku: bad ? 'F1' : 'P0V3', botAuthentication: 'token' } }),
    path: 'fleet/runtime',
    field: 'runtime.planSku',
    value: '"F1"',
  },
  {
    rule: 'operator addresses are IPv4 addresses or ranges',
    id: 'HRB-NET-2',
    build: (bad) => fleetStack({ runtime: { operatorIpRanges: [bad ? '203.0.113.300' : '203.0.113.0/24'], botAuthentication: 'token' } }),
    path: 'fleet/runtime',
    field: 'runtime.operatorIpRanges',
    value: '"203.0.113.300"',
  },
  {
    rule: 'the retired deployerIpRanges is no longer used (warning)',
    id: 'HRB-NET-3',
    level: 'warning',
    build: (bad) => fleetStack({ runtime: bad ? { deployerIpRanges: [DEPLOYER_IP], botAuthentication: 'token' } : { botAuthentication: 'token' } }),
    path: 'fleet/runtime',
    field: 'runtime.deployerIpRanges',
    value: DEPLOYER_IP,
  },
  {
    rule: 'public network access opt-out (warning)',
    id: 'HRB-NET-1',
    level: 'warning',
    build: (bad) => fleetStack({ runtime: { publicNetworkAccess: bad, botAuthentication: 'token' } }),
    path: 'fleet/runtime',
    field: 'runtime.publicNetworkAccess',
    value: 'true',
  },
  {
    rule: 'an existing subnet must provide outbound (warning)',
    id: 'HRB-NET-4',
    level: 'warning',
    build: (bad) =>
      fleetStack({ environment: { network: bad ? { subnetId: '/subscriptions/0/resourceGroups/hub/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots' } : undefined } }),
    path: 'fleet/environment',
    field: 'network.subnetId',
    value: '(existing subnet)',
  },
  {
    rule: 'no zip deploy with basic authentication off',
    id: 'HRB-RUNTIME-4',
    build: (bad) => {
      const stack = fleetStack();
      userWebApp(stack, bad ? 'app.zip' : undefined);
      return stack;
    },
    path: 'fleet/own-app',
    field: 'zipDeployFile',
    value: '(set)',
  },
  {
    rule: 'monitoring retention both Log Analytics and Application Insights take',
    id: 'HRB-MON-1',
    build: (bad) => fleetStack({ environment: { monitoring: { ...QUIET_MONITORING, retentionDays: bad ? 45 : 90 } } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.retentionDays',
    value: '45',
  },
  {
    rule: 'action group short name',
    id: 'HRB-MON-2',
    build: (bad) => fleetStack({ environment: { monitoring: { alerts: { emails: ['ops@example.com'], actionGroupShortName: bad ? 'hosted-bots-ops' : 'bots-ops' } } } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.alerts.actionGroupShortName',
    value: '"hosted-bots-ops"',
  },
  {
    rule: 'existing Application Insights with its workspace',
    id: 'HRB-MON-3',
    build: (bad) =>
      fleetStack({
        environment: {
          monitoring: { ...QUIET_MONITORING, applicationInsightsConnectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000001', logAnalyticsWorkspaceId: bad ? undefined : EXISTING_WORKSPACE_ID },
        },
      }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.applicationInsightsConnectionString',
    value: '(given)',
  },
  {
    rule: 'alert e-mail receivers',
    id: 'HRB-MON-4',
    build: (bad) => fleetStack({ environment: { monitoring: { alerts: { emails: [bad ? 'ops.example.com' : 'ops@example.com'] } } } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.alerts.emails[0]',
    value: '"ops.example.com"',
  },
  {
    rule: 'alert thresholds',
    id: 'HRB-MON-5',
    build: (bad) => fleetStack({ environment: { monitoring: { alerts: { emails: ['ops@example.com'], queueWaitMinutes: bad ? 0 : 10 } } } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.alerts.queueWaitMinutes',
    value: '0',
  },
  {
    rule: 'diagnostic log category group of the resource type',
    id: 'HRB-MON-6',
    build: (bad) => fleetStack({ environment: { monitoring: { ...QUIET_MONITORING, diagnostics: { appService: bad ? 'audit' : 'allLogs' } } } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.diagnostics.appService',
    value: '"audit"',
  },
  {
    rule: 'alerts that notify nobody (warning)',
    id: 'HRB-MON-7',
    level: 'warning',
    build: (bad) => fleetStack({ environment: { monitoring: bad ? {} : QUIET_MONITORING } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.alerts',
    value: '(no emails, webhookUrls or actionGroupIds)',
  },
  {
    rule: 'webhook over plain HTTP (warning)',
    id: 'HRB-MON-8',
    level: 'warning',
    build: (bad) => fleetStack({ environment: { monitoring: { alerts: { webhookUrls: [`${bad ? 'http' : 'https'}://hooks.example.com/alerts?token=abc`] } } } }),
    path: 'fleet/environment/monitoring',
    field: 'monitoring.alerts.webhookUrls[0]',
    value: 'http://hooks.example.com/...',
  },
  {
    rule: 'image version replicated to the group region',
    id: 'HRB-IMAGE-3',
    build: replicaCase,
    path: 'bots/environment/finance',
    field: 'image',
    value: '"botimages/windows-rpa@1.0.0"',
  },
];

describe('rule pack through constructs', () => {
  describe.each(CASES)('$rule', (c) => {
    const level = c.level ?? 'error';
    const matching = (annotations: PolicyAnnotation[]) => annotations.filter((a) => a.level === level && a.message.includes(` ${c.field} `));

    test('breaking it reports the path, the rule ID, the field and the value', () => {
      const found = matching(synth(c.build(true)).annotations);
      expect(found).not.toHaveLength(0);
      const message = found[0].message;
      expect(found[0].path).toBe(c.path);
      expect(message.startsWith(`${c.path}: `)).toBe(true);
      expect(message).toContain(`${c.path}: [${c.id}] ${c.field} ${c.value} `);
      expect(RULE_CATALOGUE[c.id].severity).toBe(level);
    });

    test('keeping it reports nothing', () => {
      expect(synth(c.build(false)).annotations.filter((a) => a.level === level)).toEqual([]);
    });
  });

  test('the replica message names the version and the missing region', () => {
    const message = synth(replicaCase(true)).annotations.find((a) => a.level === 'error')?.message;
    expect(message).toMatch(/botimages\/windows-rpa@1\.0\.0" has no replica in region westus \(replicated to: northeurope\)/);
  });

  test('a sensitive-variable password warns and synth goes on', () => {
    const stack = fleetStack({ groups: [] });
    stack.environment.addGroup('finance', groupProps({ adminPassword: sensitiveVariable(stack, 'admin_password') }));
    const result = synth(stack);
    expect(result.annotations).toEqual([
      expect.objectContaining({ level: 'warning', path: 'fleet/environment/finance', message: expect.stringMatching(/adminPassword \(sensitive Terraform value\) is only known at apply time/) }),
    ]);
    expect(() => Testing.fullSynth(stack)).not.toThrow();
  });

  test('an error annotation makes a full synth throw', () => {
    const stack = fleetStack({ groups: [{ adminUsername: 'admin' }] });
    expect(() => Testing.fullSynth(stack)).toThrow(/fleet\/environment\/group-0: \[HRB-ADMIN-1\] adminUsername "admin" is reserved by Azure/);
  });

  // HRB-NET-3 warns that the retired deployerIpRanges is no longer used; this holds it to that.
  test.each([
    ['without operatorIpRanges', {}],
    ['beside operatorIpRanges', { operatorIpRanges: ['198.51.100.0/24'] }],
  ])('the retired deployerIpRanges, %s, leaves the vault\'s network rules exactly as without it: no ip_rules from it', (_, runtime) => {
    const vault = (deployer: boolean) => {
      const [kv] = resources(synth(fleetStack({ runtime: { ...runtime, ...(deployer ? { deployerIpRanges: [DEPLOYER_IP] } : {}), botAuthentication: 'token' } })).json, 'azurerm_key_vault');
      return { public_network_access_enabled: kv.public_network_access_enabled, network_acls: kv.network_acls };
    };
    const withDeployer = vault(true);
    expect(withDeployer).toEqual(vault(false));
    expect(withDeployer.network_acls.ip_rules).not.toContain(DEPLOYER_IP);
  });

  test('a finding is reported once in a HostedBotsStack, whose Aspect and the construct both run, even when synth runs twice', () => {
    const stack = fleetStack({ groups: [{ adminUsername: 'admin' }], runtime: { deployerIpRanges: [DEPLOYER_IP], botAuthentication: 'token' } });
    synth(stack);
    const annotations = synth(stack).annotations;
    expect(annotations.filter((a) => a.message.includes('[HRB-ADMIN-1]'))).toHaveLength(1);
    expect(annotations.filter((a) => a.message.includes('[HRB-NET-3]'))).toHaveLength(1);
    let thrown = '';
    try {
      Testing.fullSynth(stack);
    } catch (err) {
      thrown = (err as Error).message;
    }
    expect(thrown.match(/\[HRB-ADMIN-1\]/g)).toHaveLength(1);
  });

  test('a literal password never reaches an error message', () => {
    const stack = fleetStack({ groups: [{ adminPassword: 'nocapitalsordigits' }] });
    const messages = synth(stack).annotations.map((a) => a.message).join('\n');
    expect(messages).toContain('adminPassword (hidden, 18 characters)');
    expect(messages).not.toContain('nocapitalsordigits');
  });
});
