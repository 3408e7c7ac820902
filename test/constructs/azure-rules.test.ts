/** Each pure rule: one passing and one failing case, with the field, the value and the rule. */
import * as fs from 'fs';
import * as path from 'path';
import * as rules from '../../constructs/azure-rules';

const only = (findings: rules.Finding[]) => {
  expect(findings).toHaveLength(1);
  return findings[0];
};

describe('azure rules', () => {
  test('gallery name: letters, digits, periods and underscores only', () => {
    expect(rules.galleryName({ name: 'bot_images.v2' })).toEqual([]);
    expect(only(rules.galleryName({ name: 'bot-images' }))).toMatchObject({ severity: 'error', field: 'name', value: '"bot-images"' });
    expect(rules.galleryName({ name: 'a'.repeat(81) })).toHaveLength(1);
    expect(rules.galleryName({ name: '_images' })).toHaveLength(1);
  });

  test('image definition name: hyphens allowed, must start and end with a letter or digit', () => {
    expect(rules.imageDefinitionName({ name: 'windows-rpa_1.0' })).toEqual([]);
    expect(only(rules.imageDefinitionName({ name: 'windows-' }))).toMatchObject({ field: 'name', value: '"windows-"' });
  });

  test.each(['1.0', '1.0.0.0', 'v1.0.0', '1.0.2147483648', '-1.0.0', '1.0.x'])('version %s is refused', (version) => {
    expect(only(rules.imageVersion({ version }))).toMatchObject({ field: 'version', value: JSON.stringify(version) });
  });

  test('version parts up to int32 max are accepted', () => {
    expect(rules.imageVersion({ version: '2147483647.0.1' })).toEqual([]);
  });

  test('scale set name: at most 64 characters', () => {
    expect(rules.scaleSetName({ name: 'vmss-demo-finance' })).toEqual([]);
    expect(only(rules.scaleSetName({ name: 'v'.repeat(65) }))).toMatchObject({ field: 'scaleSetName' });
    expect(rules.scaleSetName({ name: 'vmss-demo-' })).toHaveLength(1);
  });

  test('computer-name prefix: 1-9 characters, not all digits', () => {
    expect(rules.computerNamePrefix({ prefix: 'finance', derived: true })).toEqual([]);
    expect(only(rules.computerNamePrefix({ prefix: '12345', derived: false }))).toMatchObject({ field: 'computerNamePrefix', value: '"12345"' });
    expect(rules.computerNamePrefix({ prefix: 'abcdefghij', derived: false })).toHaveLength(1);
    expect(rules.computerNamePrefix({ prefix: '', derived: false })).toHaveLength(1);
    expect(rules.computerNamePrefix({ prefix: 'fin_bot', derived: false })).toHaveLength(1);
  });

  test('a derived prefix that fails tells the user to set computerNamePrefix', () => {
    expect(only(rules.computerNamePrefix({ prefix: '', derived: true })).rule).toMatch(/set computerNamePrefix on the group/);
  });

  test.each(['admin', 'Administrator', 'root', 'guest', 'user', 'support_388945a0'])('username %s is reserved', (username) => {
    expect(only(rules.adminUsername({ username, isToken: false })).rule).toMatch(/reserved by Azure/);
  });

  test('username: at most 20 characters, no trailing period, no forbidden characters', () => {
    expect(rules.adminUsername({ username: 'botadmin', isToken: false })).toEqual([]);
    expect(only(rules.adminUsername({ username: 'b'.repeat(21), isToken: false })).rule).toMatch(/1-20 characters/);
    expect(only(rules.adminUsername({ username: 'bot.', isToken: false })).rule).toMatch(/must not end with a period/);
    expect(only(rules.adminUsername({ username: 'bot@corp', isToken: false })).rule).toMatch(/must not contain/);
  });

  test('password: 12-123 characters and 3 of 4 classes', () => {
    expect(rules.adminPassword({ password: 'Str0ng!Bot-Passw0rd', isToken: false })).toEqual([]);
    expect(only(rules.adminPassword({ password: 'Sh0rt!', isToken: false })).rule).toMatch(/12-123 characters/);
    expect(only(rules.adminPassword({ password: 'onlylowercaseletters', isToken: false })).rule).toMatch(/3 of/);
    expect(only(rules.adminPassword({ password: 'A1!' + 'a'.repeat(121), isToken: false })).rule).toMatch(/12-123 characters/);
  });

  test('password: banned passwords are refused', () => {
    const findings = rules.adminPassword({ password: 'P@ssword123', isToken: false });
    expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining([expect.stringMatching(/banned passwords/)]));
  });

  test('password: the value is masked, never shown', () => {
    const finding = only(rules.adminPassword({ password: 'secretsecretsecret', isToken: false }));
    expect(finding.value).toBe('(hidden, 18 characters)');
    expect(JSON.stringify(finding)).not.toContain('secretsecretsecret');
  });

  test('password given as a Terraform token is a warning, not an error', () => {
    expect(only(rules.adminPassword({ password: '${TfToken[TOKEN.1]}', isToken: true }))).toMatchObject({ severity: 'warning', field: 'adminPassword' });
  });

  test('group size: maxBots 1..50, committedBots 0..maxBots', () => {
    expect(rules.groupSize({ maxBots: 50, committedBots: 50 })).toEqual([]);
    expect(only(rules.groupSize({ maxBots: 0, committedBots: 0 }))).toMatchObject({ field: 'maxBots', value: '0' });
    expect(only(rules.groupSize({ maxBots: 51, committedBots: 0 }))).toMatchObject({ field: 'maxBots', value: '51' });
    expect(only(rules.groupSize({ maxBots: 2.5, committedBots: 0 }))).toMatchObject({ field: 'maxBots' });
    expect(only(rules.groupSize({ maxBots: 3, committedBots: 4 }))).toMatchObject({ field: 'committedBots', value: '4' });
    expect(only(rules.groupSize({ maxBots: 3, committedBots: -1 }))).toMatchObject({ field: 'committedBots' });
  });

  const env = (overrides: Partial<rules.EnvironmentCapacityFacts> = {}): rules.EnvironmentCapacityFacts => ({
    botCapacity: 4,
    plan: 'standard',
    groups: [{ name: 'a', committedBots: 2 }, { name: 'b', committedBots: 2 }],
    ...overrides,
  });

  test('committed bots: the sum fits in the capacity', () => {
    expect(rules.committedCapacity(env())).toEqual([]);
    expect(only(rules.committedCapacity(env({ botCapacity: 3 })))).toMatchObject({ field: 'committedBots', value: '4 (a=2, b=2)' });
  });

  test('committed bots: the trial plan allows only 2', () => {
    expect(only(rules.committedCapacity(env({ plan: 'trial', botCapacity: 10 }))).rule).toMatch(/\(2, trial plan\)/);
  });

  test('group count: at most 10', () => {
    const groups = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `g${i}`, committedBots: 0 }));
    expect(rules.groupCount(env({ groups: groups(10) }))).toEqual([]);
    expect(only(rules.groupCount(env({ groups: groups(11) })))).toMatchObject({ field: 'groups', value: '11' });
  });

  test('bot capacity: positive whole number; trial above 2 warns', () => {
    expect(rules.botCapacity(env())).toEqual([]);
    expect(only(rules.botCapacity(env({ botCapacity: 0 })))).toMatchObject({ severity: 'error', field: 'botCapacity' });
    expect(only(rules.botCapacity(env({ plan: 'trial', botCapacity: 5 })))).toMatchObject({ severity: 'warning', field: 'botCapacity', value: '5' });
    expect(rules.botCapacity(env({ plan: 'trial', botCapacity: 2 }))).toEqual([]);
  });

  test('effective capacity: trial caps at 2', () => {
    expect(rules.effectiveCapacity(10, 'trial')).toBe(2);
    expect(rules.effectiveCapacity(1, 'trial')).toBe(1);
    expect(rules.effectiveCapacity(10, 'standard')).toBe(10);
  });

  test('image replica: the group region must have a replica', () => {
    const facts = { version: 'botimages/windows-rpa@1.0.0', replicaRegions: ['northeurope'], replicaGeographies: ['Europe' as const], groupRegion: 'northeurope' };
    expect(rules.imageReplica(facts)).toEqual([]);
    const finding = only(rules.imageReplica({ ...facts, groupRegion: 'westus' }));
    expect(finding).toMatchObject({ field: 'image', value: '"botimages/windows-rpa@1.0.0"' });
    expect(finding.rule).toMatch(/no replica in region westus \(replicated to: northeurope\)/);
  });

  test("image replica: the hint names the version's geographies and its additionalRegions", () => {
    const facts = { version: 'botimages/windows-rpa@1.0.0', replicaRegions: ['northeurope'], replicaGeographies: ['Europe' as const], groupRegion: 'westeurope' };
    expect(only(rules.imageReplica(facts)).rule).toMatch(/add this stack's geography to the version's geographies, or westeurope to its additionalRegions$/);
  });

  test('version replication: at least one geography, including the gallery region', () => {
    expect(rules.versionReplication({ galleryRegion: 'northeurope', targetRegions: ['northeurope', 'westus'], geographies: ['Europe', 'US'] })).toEqual([]);
    expect(only(rules.versionReplication({ galleryRegion: 'northeurope', targetRegions: [], geographies: [] }))).toMatchObject({ field: 'geographies' });
    expect(only(rules.versionReplication({ galleryRegion: 'westeurope', targetRegions: ['northeurope'], geographies: ['Europe'] })).rule).toMatch(/must include the gallery's region westeurope/);
  });

  test('group and environment names: lowercase, digits and hyphens', () => {
    expect(rules.groupName({ name: 'finance-eu' })).toEqual([]);
    expect(only(rules.groupName({ name: 'Finance' }))).toMatchObject({ field: 'name', value: '"Finance"' });
    expect(rules.groupName({ name: 'a'.repeat(41) })).toHaveLength(1);
    expect(rules.environmentName({ name: 'demo' })).toEqual([]);
    expect(only(rules.environmentName({ name: 'demo_env' }))).toMatchObject({ field: 'name' });
  });

  test('flows: names, commands and time-outs up to 24 hours', () => {
    expect(rules.flowCatalogue({ flows: [{ name: 'invoice-entry', command: 'x', timeoutMinutes: 1440 }] })).toEqual([]);
    expect(only(rules.flowCatalogue({ flows: [{ name: 'a', command: 'x', timeoutMinutes: 1441 }] }))).toMatchObject({ field: 'flows.a.timeoutMinutes', value: '1441' });
    expect(only(rules.flowCatalogue({ flows: [{ name: 'a', command: '  ', timeoutMinutes: 5 }] }))).toMatchObject({ field: 'flows.a.command' });
    expect(only(rules.flowCatalogue({ flows: [{ name: 'bad name', command: 'x', timeoutMinutes: 5 }] }))).toMatchObject({ field: 'flows.bad name' });
  });

  test('flows: the built-in self-test\'s name is reserved', () => {
    expect(rules.reservedFlowName({ flows: [{ name: 'hosted-bots-self-test-2', command: 'x', timeoutMinutes: 5 }] })).toEqual([]);
    expect(only(rules.reservedFlowName({ flows: [{ name: 'invoice', command: 'x', timeoutMinutes: 5 }, { name: 'hosted-bots-self-test', command: 'x', timeoutMinutes: 5 }] }))).toEqual({
      id: 'HRB-FLOW-2',
      severity: 'error',
      field: 'flows.hosted-bots-self-test',
      value: '"hosted-bots-self-test"',
      rule: 'is the name of the built-in self-test flow, which every group runs without declaring it; give your flow another name',
    });
  });

  test('scaling settings: bounds and whole counts', () => {
    expect(rules.scalingSettings({ scaling: { idleMinutes: 0, standbyBots: 1 }, maxBots: 2, prefix: 'scaling.' })).toEqual([]);
    expect(only(rules.scalingSettings({ scaling: { maxAttempts: 0 }, prefix: 'scaling.' }))).toMatchObject({ field: 'scaling.maxAttempts', value: '0' });
    expect(only(rules.scalingSettings({ scaling: { standbyBots: 1.5 }, prefix: 'scaling.' }))).toMatchObject({ field: 'scaling.standbyBots' });
    expect(only(rules.scalingSettings({ scaling: { standbyBots: 3 }, maxBots: 2, prefix: 'scaling.' })).rule).toMatch(/at most the group's maxBots \(2\)/);
    expect(only(rules.scalingSettings({ scaling: { idleMinutes: Number.NaN }, prefix: 'scaling.' }))).toMatchObject({ field: 'scaling.idleMinutes' });
  });

  test("a standby pool whose provider's roles are declared complies", () => {
    expect(rules.standbyPoolRoles({ group: 'finance', declared: true, galleryImage: true })).toEqual([]);
  });

  test("a standby pool without its provider's roles is a warning naming the group, the roles, the page and the prop", () => {
    const finding = only(rules.standbyPoolRoles({ group: 'finance', declared: false, galleryImage: false }));
    expect(finding).toMatchObject({ severity: 'warning', id: 'HRB-SCALE-2', field: 'scaling.standbyPool', value: '(group finance)' });
    expect(finding.rule).toBe(
      'deploys but never fills: the tenant\'s "Standby Pool Resource Provider" needs Virtual Machine Contributor and Managed Identity Operator on the group\'s resource group, ' +
        'Network Contributor on the resource group of the bots\' subnet (Microsoft Learn, "Configure role permissions for standby pools", ' +
        'https://learn.microsoft.com/azure/virtual-machine-scale-sets/standby-pools-configure-permissions), and this stack declares them only with ' +
        'standbyPoolProvider: { principalId } on the environment (the object ID from `az ad sp list --display-name "Standby Pool Resource Provider" --query "[].id" -o tsv`); ' +
        'set it, or assign the roles yourself and suppress HRB-SCALE-2',
    );
  });

  test("a standby pool booting a gallery image also names the gallery's roles", () => {
    const finding = only(rules.standbyPoolRoles({ group: 'finance', declared: false, galleryImage: true }));
    expect(finding.rule).toContain("Compute Gallery Sharing Admin and Compute Gallery Artifacts Publisher on the gallery of the group's image");
  });

  test('scaling settings: predictive warm-up', () => {
    const check = (scaling: Record<string, unknown>, maxBots?: number) => rules.scalingSettings({ scaling, maxBots, prefix: 'scaling.' });
    expect(check({ predictive: true, predictiveLeadMinutes: 15, predictiveMaxBots: 0 }, 2)).toEqual([]);
    expect(check({ predictive: false, predictiveLeadMinutes: 0.5, predictiveMaxBots: 2 }, 2)).toEqual([]);
    expect(only(check({ predictive: 'yes' }))).toMatchObject({ field: 'scaling.predictive', value: '"yes"', rule: 'must be true or false' });
    for (const lead of [0, -5, Number.POSITIVE_INFINITY, 1441]) {
      const finding = only(check({ predictiveLeadMinutes: lead }));
      expect(finding).toMatchObject({ field: 'scaling.predictiveLeadMinutes', value: String(lead) });
      expect(finding.rule).toMatch(/greater than 0 and at most 1440/);
    }
    expect(only(check({ predictiveMaxBots: -1 }))).toMatchObject({ field: 'scaling.predictiveMaxBots', value: '-1', rule: 'must be a whole number, at least 0' });
    expect(only(check({ predictiveMaxBots: 1.5 }))).toMatchObject({ field: 'scaling.predictiveMaxBots', value: '1.5' });
    expect(only(check({ predictiveMaxBots: 3 }, 2))).toMatchObject({ field: 'scaling.predictiveMaxBots', value: '3', rule: "must be at most the group's maxBots (2)" });
  });

  // Examples from Microsoft Learn, "Naming rules and restrictions for Azure resources".
  test.each([
    ['keyVault', ['kv-demo-0123456789', 'abc', 'a'.repeat(24)], ['kv--demo', 'kv-demo-', '1kv', 'ab', 'a'.repeat(25), 'kv_demo']],
    ['storageAccount', ['stdemo0123456789', 'abc'], ['st-demo', 'StDemo', 'ab', 'a'.repeat(25)]],
    ['postgresServer', ['psql-hostedbots-demo-0a1b', 'abc'], ['-psql', 'psql-', 'psql--x', 'Psql', 'ab', 'a'.repeat(64)]],
    ['webApp', ['hostedbots-demo-0a1b2c3d4e', 'ab', 'A1'], ['-app', 'app-', 'a', 'a'.repeat(61), 'app_1']],
    ['resourceGroup', ['rg-hostedbots-demo-northeurope', 'rg_(x).y'], ['rg.', '', 'a'.repeat(91)]],
    ['networkResource', ['snet-bots', 'a', 'pip_x_'], ['-nsg', 'nsg-', '.x', 'a'.repeat(81)]],
    ['identity', ['id-demo-finance-bots', 'abc'], ['ab', '-id', 'id.x']],
    ['blobContainer', ['runtime-packages'], ['Runtime', 'ab', 'run--time', '-run']],
  ] as const)('%s names: valid and invalid examples', (kind, valid, invalid) => {
    for (const name of valid) expect([name, rules.nameFits(kind, name)]).toEqual([name, true]);
    for (const name of invalid) expect([name, rules.nameFits(kind, name)]).toEqual([name, false]);
  });

  test('global name prefix: 1-8 lowercase letters or digits, starting with a letter', () => {
    expect(rules.globalNamePrefix({ prefix: undefined })).toEqual([]);
    expect(rules.globalNamePrefix({ prefix: 'contoso1' })).toEqual([]);
    for (const prefix of ['Contoso', '1abc', 'con-toso', 'contoso12', '']) {
      expect(only(rules.globalNamePrefix({ prefix }))).toMatchObject({ severity: 'error', field: 'globalNamePrefix', value: JSON.stringify(prefix) });
    }
  });

  test('global names: each checked against its type, naming the prop the user gave', () => {
    expect(rules.globalNames({ names: { keyVault: 'kv-demo-0123456789', webApp: 'hostedbots-demo-0123456789' } })).toEqual([]);
    expect(only(rules.globalNames({ names: { webApp: 'bots-' }, givenBy: { webApp: 'runtime.appName' } }))).toMatchObject({
      severity: 'error',
      field: 'runtime.appName',
      value: '"bots-"',
      rule: expect.stringMatching(/2-60 letters, digits and hyphens/),
    });
    expect(only(rules.globalNames({ names: { keyVault: 'kv--x-0123456789' } }))).toMatchObject({ field: 'keyVault name', rule: expect.stringMatching(/no consecutive hyphens/) });
  });

  const network = (over: Partial<rules.RuntimeNetworkFacts> = {}): rules.RuntimeNetworkFacts => ({
    publicNetworkAccess: false,
    operatorIpRanges: [],
    ...over,
  });

  test('runtime exposure: the public opt-out warns that 0.0.0.0 admits every Azure service', () => {
    expect(rules.runtimeExposure(network())).toEqual([]);
    expect(only(rules.runtimeExposure(network({ publicNetworkAccess: true })))).toMatchObject({
      severity: 'warning',
      field: 'runtime.publicNetworkAccess',
      rule: expect.stringMatching(/0\.0\.0\.0.*any Azure customer's services/),
    });
  });

  test('vault access: operator addresses are IPv4 addresses or ranges; none is fine, terraform needs none', () => {
    expect(rules.vaultAccess(network({ operatorIpRanges: ['203.0.113.7', '198.51.100.0/24', '10.0.0.1/32'] }))).toEqual([]);
    expect(rules.vaultAccess(network({ operatorIpRanges: [] }))).toEqual([]);
    for (const bad of ['203.0.113.256', '2001:db8::1', '203.0.113.0/33', 'my-laptop']) {
      expect(only(rules.vaultAccess(network({ operatorIpRanges: [bad] })))).toMatchObject({ severity: 'error', field: 'runtime.operatorIpRanges', value: JSON.stringify(bad) });
    }
  });

  test('vault access: the retired deployerIpRanges warns that it is no longer used and names operatorIpRanges', () => {
    expect(only(rules.vaultAccess(network({ deployerIpRanges: ['203.0.113.7'] })))).toMatchObject({
      severity: 'warning',
      field: 'runtime.deployerIpRanges',
      value: '203.0.113.7',
      rule: expect.stringMatching(/no longer used: terraform never reads or writes the Key Vault's secrets.*operatorIpRanges/),
    });
  });

  test('an existing subnet must provide outbound itself (a warning)', () => {
    expect(rules.existingSubnetOutbound({ existingSubnet: false })).toEqual([]);
    expect(only(rules.existingSubnetOutbound({ existingSubnet: true }))).toMatchObject({
      severity: 'warning',
      field: 'network.subnetId',
      rule: expect.stringMatching(/must provide outbound connectivity itself.*no default outbound access/),
    });
  });

  test('package delivery: zip deploy only where basic authentication is on', () => {
    expect(rules.packageDelivery({ zipDeployFile: false, basicAuthEnabled: false })).toEqual([]);
    expect(rules.packageDelivery({ zipDeployFile: true, basicAuthEnabled: true })).toEqual([]);
    expect(only(rules.packageDelivery({ zipDeployFile: true, basicAuthEnabled: false }))).toMatchObject({ severity: 'error', field: 'zipDeployFile', rule: expect.stringMatching(/401/) });
  });

  test('Node.js support: a warning past the line\'s end of life, and for an unknown line', () => {
    const on = (date: string) => new Date(`${date}T12:00:00Z`);
    expect(rules.nodeSupport({ field: 'bots Node.js', version: '24.21.0', today: on('2026-12-01') })).toEqual([]);
    expect(rules.nodeSupport({ field: 'runtime node_version', version: '22-lts', today: on('2027-04-30') })).toEqual([]);
    expect(only(rules.nodeSupport({ field: 'runtime node_version', version: '22-lts', today: on('2027-05-01') }))).toMatchObject({
      severity: 'warning',
      field: 'runtime node_version',
      rule: 'reached end of life on 2027-04-30; move to a supported Node.js LTS',
    });
    expect(only(rules.nodeSupport({ field: 'bots Node.js', version: '20.20.2', today: on('2026-12-01') })).rule).toMatch(/2026-04-30/);
    expect(only(rules.nodeSupport({ field: 'bots Node.js', version: '23.1.0', today: on('2026-12-01') })).rule).toMatch(/not a Node.js LTS line/);
  });

  test('runtime plan: Basic or higher, with private endpoints and VNet integration', () => {
    for (const planSku of ['B1', 'S1', 'p1v3', 'P0V3']) expect(rules.runtimePlan({ planSku })).toEqual([]);
    for (const planSku of ['F1', 'D1', 'Y1', 'EP1']) {
      expect(only(rules.runtimePlan({ planSku }))).toMatchObject({ severity: 'error', field: 'runtime.planSku', value: JSON.stringify(planSku) });
    }
  });

  test('standby pool name: 3-24 letters, digits or hyphens (azurerm validation)', () => {
    expect(rules.standbyPoolName({ name: 'sbp-demo-finance' })).toEqual([]);
    expect(rules.standbyPoolName({ name: 'a-9' })).toEqual([]);
    expect(only(rules.standbyPoolName({ name: 'sbp-finance-ops-eu-invoices' }))).toMatchObject({
      severity: 'error',
      id: 'HRB-NAME-9',
      field: 'standbyPoolName',
      value: '"sbp-finance-ops-eu-invoices"',
      rule: expect.stringMatching(/^must be 3-24 letters, digits or hyphens \(Azure standby pool name\)/),
    });
    expect(rules.standbyPoolName({ name: 'sbp-demo-fin_eu' })).toHaveLength(1);
    expect(rules.standbyPoolName({ name: 'sb' })).toHaveLength(1);
  });

  test('group names: unique in an environment, ignoring case, naming the group that has it', () => {
    const others = [{ name: 'finance', path: 'demo/environment/finance' }];
    expect(rules.uniqueGroupName({ name: 'sales', others })).toEqual([]);
    expect(rules.uniqueGroupName({ name: 'finance', others: [] })).toEqual([]);
    expect(only(rules.uniqueGroupName({ name: 'finance', others }))).toMatchObject({
      severity: 'error',
      id: 'HRB-NAME-10',
      field: 'name',
      value: '"finance"',
      rule: expect.stringMatching(/^is already the name of group demo\/environment\/finance; .*rename one of them$/),
    });
    expect(rules.uniqueGroupName({ name: 'Finance', others })).toHaveLength(1);
  });

  test("maxBots above the environment's capacity is a warning: it can never be reached", () => {
    expect(rules.maxBotsWithinCapacity({ maxBots: 4, botCapacity: 4, plan: 'standard' })).toEqual([]);
    expect(only(rules.maxBotsWithinCapacity({ maxBots: 6, botCapacity: 4, plan: 'standard' }))).toMatchObject({
      severity: 'warning',
      id: 'HRB-CAP-6',
      field: 'maxBots',
      value: '6',
      rule: "is above the environment's bot capacity (4), so the group can never run that many bots at once; lower maxBots to 4 or raise botCapacity",
    });
    expect(only(rules.maxBotsWithinCapacity({ maxBots: 3, botCapacity: 10, plan: 'trial' })).rule).toMatch(/bot capacity \(2, trial plan\)/);
    // Values the group size and capacity rules already refuse are theirs to report.
    expect(rules.maxBotsWithinCapacity({ maxBots: 60, botCapacity: 4, plan: 'standard' })).toEqual([]);
    expect(rules.maxBotsWithinCapacity({ maxBots: 3, botCapacity: 0, plan: 'standard' })).toEqual([]);
  });

  describe('Trusted Launch supported definitions take no source with VM guest state', () => {
    const facts = (over: Partial<rules.ImageSourceFacts>): rules.ImageSourceFacts => ({
      source: 'managedImageId',
      sourceId: '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa',
      sourceIsToken: false,
      sourceVmSecurityType: 'Standard',
      sourceVmSecurityTypeGiven: false,
      ...over,
    });

    test('a managed image, a VHD and a snapshot of a VM without Trusted Launch are taken', () => {
      expect(rules.trustedLaunchSource(facts({}))).toEqual([]);
      expect(rules.trustedLaunchSource(facts({ source: 'blobUri', sourceId: 'https://sa.blob.core.windows.net/vhds/os.vhd', sourceVmSecurityType: 'TrustedLaunch' }))).toEqual([]);
      expect(rules.trustedLaunchSource(facts({ source: 'osDiskSnapshotId', sourceId: '/snap', sourceVmSecurityType: 'Standard', sourceVmSecurityTypeGiven: true }))).toEqual([]);
    });

    test('a managed image of a Trusted Launch VM is refused, pointing at a VHD', () => {
      expect(only(rules.trustedLaunchSource(facts({ sourceVmSecurityType: 'TrustedLaunch', sourceVmSecurityTypeGiven: true })))).toMatchObject({
        severity: 'error',
        id: 'HRB-IMAGE-4',
        field: 'source.managedImageId',
        value: '"/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa"',
        rule: expect.stringMatching(/managed image of a Trusted Launch VM.*source\.blobUri and storageAccountId/),
      });
    });

    test('an OS disk snapshot is taken as one of a Trusted Launch VM unless told otherwise, and says so', () => {
      const finding = only(rules.trustedLaunchSource(facts({ source: 'osDiskSnapshotId', sourceId: '/snap', sourceVmSecurityType: 'TrustedLaunch' })));
      expect(finding).toMatchObject({ severity: 'error', id: 'HRB-IMAGE-4', field: 'source.osDiskSnapshotId', value: '"/snap"' });
      expect(finding.rule).toMatch(/defaults to 'TrustedLaunch' for a snapshot/);
      expect(finding.rule).toMatch(/source\.blobUri and storageAccountId.*set sourceVmSecurityType: 'Standard'$/);
      const stated = only(rules.trustedLaunchSource(facts({ source: 'osDiskSnapshotId', sourceId: '/snap', sourceVmSecurityType: 'TrustedLaunch', sourceVmSecurityTypeGiven: true })));
      expect(stated.rule).not.toMatch(/defaults to/);
    });

    test('a source given as a Terraform token is shown as one', () => {
      const finding = only(rules.trustedLaunchSource(facts({ sourceId: '${TfToken[TOKEN.1]}', sourceIsToken: true, sourceVmSecurityType: 'TrustedLaunch' })));
      expect(finding.value).toBe('(Terraform token)');
    });
  });

  describe('network layout: subnets inside the address space and apart', () => {
    const layout = (over: Partial<rules.NetworkLayoutFacts> = {}): rules.NetworkLayoutFacts => ({
      addressSpace: '10.1.0.0/16',
      addressSpaceIsToken: false,
      subnets: [
        { field: 'subnetPrefix', prefix: '10.1.0.0/22', derived: true },
        { field: 'runtimeSubnetPrefix', prefix: '10.1.4.0/26', derived: true },
        { field: 'databaseSubnetPrefix', prefix: '10.1.4.64/28', derived: true },
      ],
      layoutPrefixLength: 21,
      ...over,
    });

    test('subnets inside the space and apart pass', () => {
      expect(rules.networkLayout(layout())).toEqual([]);
      expect(rules.networkLayout(layout({ addressSpace: '10.1.0.0/21' }))).toEqual([]);
    });

    test('a given subnet outside the space is refused, naming the field, the value and the space', () => {
      const subnets = [{ field: 'subnetPrefix', prefix: '10.80.0.0/22', derived: false }, ...layout().subnets.slice(1)];
      expect(only(rules.networkLayout(layout({ subnets })))).toMatchObject({
        severity: 'error',
        id: 'HRB-NET-5',
        field: 'network.subnetPrefix',
        value: '"10.80.0.0/22"',
        rule: expect.stringMatching(/^lies outside network\.addressSpace 10\.1\.0\.0\/16/),
      });
    });

    test('overlapping subnets are refused, naming the one overlapped', () => {
      const subnets = [layout().subnets[0], { field: 'runtimeSubnetPrefix', prefix: '10.1.3.0/26', derived: false }, layout().subnets[2]];
      expect(only(rules.networkLayout(layout({ subnets })))).toMatchObject({
        field: 'network.runtimeSubnetPrefix',
        value: '"10.1.3.0/26"',
        rule: expect.stringMatching(/^overlaps network\.subnetPrefix 10\.1\.0\.0\/22/),
      });
    });

    test('a space too small for the derived layout is refused once, naming the props that would avoid it', () => {
      const finding = only(rules.networkLayout(layout({ addressSpace: '10.1.0.0/24' })));
      expect(finding).toMatchObject({ field: 'network.addressSpace', value: '"10.1.0.0/24"' });
      expect(finding.rule).toMatch(/too small.*a \/21 or larger.*set network\.subnetPrefix, network\.runtimeSubnetPrefix, network\.databaseSubnetPrefix$/);
      // With every prefix given, a small space only has to hold them.
      const given = [
        { field: 'runtimeSubnetPrefix', prefix: '10.1.0.0/26', derived: false },
        { field: 'databaseSubnetPrefix', prefix: '10.1.0.64/28', derived: false },
      ];
      expect(rules.networkLayout(layout({ addressSpace: '10.1.0.0/24', subnets: given }))).toEqual([]);
    });

    test('text that is not IPv4 CIDR, and a subnet below a /29, are refused', () => {
      expect(only(rules.networkLayout(layout({ addressSpace: '10.1.0.0' })))).toMatchObject({ field: 'network.addressSpace', rule: expect.stringMatching(/CIDR/) });
      const subnets = [{ field: 'databaseSubnetPrefix', prefix: '10.1.4.64/30', derived: false }];
      expect(only(rules.networkLayout(layout({ subnets })))).toMatchObject({ field: 'network.databaseSubnetPrefix', rule: expect.stringMatching(/smaller than a \/29/) });
      expect(only(rules.networkLayout(layout({ subnets: [{ field: 'subnetPrefix', prefix: '10.1.0.0/33', derived: false }] }))).rule).toMatch(/CIDR/);
    });

    test('an address space known only at apply time needs every prefix given', () => {
      expect(only(rules.networkLayout(layout({ addressSpace: '${TfToken[TOKEN.2]}', addressSpaceIsToken: true })))).toMatchObject({
        field: 'network.addressSpace',
        value: '(Terraform token)',
      });
      const given = layout().subnets.map((s) => ({ ...s, derived: false }));
      expect(rules.networkLayout(layout({ addressSpace: '${TfToken[TOKEN.2]}', addressSpaceIsToken: true, subnets: given }))).toEqual([]);
    });
  });

  describe('monitoring', () => {
    const WORKSPACE_ID = '/subscriptions/0000/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/log-ops';
    const retention = (retentionDays: number, createsWorkspace = true, createsApplicationInsights = true) => rules.monitoringRetention({ retentionDays, createsWorkspace, createsApplicationInsights });

    // azurerm v4.55.0: workspace IntBetween(30, 730); Application Insights IntInSlice(30, 60, ..., 730).
    test.each([30, 60, 90, 365, 730])('retention %d days suits a new workspace and Application Insights', (days) => {
      expect(retention(days)).toEqual([]);
    });

    test('retention: 7 days (the retired Free tier), 29 and 731 are refused for a new workspace', () => {
      for (const days of [7, 29, 731, 30.5]) {
        expect(retention(days, true, false)).toEqual([expect.objectContaining({ id: 'HRB-MON-1', field: 'monitoring.retentionDays', value: String(days), rule: expect.stringMatching(/from 30 to 730/) })]);
      }
    });

    test("retention: a value the workspace takes but Application Insights does not is refused, naming Application Insights' values", () => {
      expect(only(retention(45))).toMatchObject({ id: 'HRB-MON-1', value: '45', rule: expect.stringMatching(/one of 30, 60, 90, 120, 180, 270, 365, 550, 730 \(Application Insights retention_in_days/) });
      expect(retention(45, true, false)).toEqual([]);
    });

    test('retention: nothing to check when both resources are given', () => {
      expect(retention(7, false, false)).toEqual([]);
    });

    test('names: a short name over 12 characters is refused; a derived name says where it came from', () => {
      const name = (kind: rules.NameKind, value: string, derived = false) => rules.monitoringNames({ names: [{ kind, field: 'f', name: value, derived }] });
      expect(name('actionGroupShortName', 'bots-finance')).toEqual([]);
      expect(only(name('actionGroupShortName', 'hosted-bots-ops'))).toMatchObject({ id: 'HRB-MON-2', value: '"hosted-bots-ops"', rule: 'must be 1-12 characters (Azure actionGroupShortName name)' });
      expect(name('logAnalyticsWorkspace', 'log-hostedbots-demo')).toEqual([]);
      expect(only(name('logAnalyticsWorkspace', 'log-hostedbots-Demo_x', true)).rule).toMatch(/4-63 letters, digits and hyphens.*fix the one that breaks HRB-NAME-5$/);
      expect(name('logAnalyticsWorkspace', 'log')).toHaveLength(1);
      expect(name('applicationInsights', 'appi/demo')).toHaveLength(1);
      expect(name('applicationInsights', 'appi-demo.')).toHaveLength(1);
      expect(name('scheduledQueryRule', 'alert#1')).toHaveLength(1);
      expect(name('metricAlert', 'alert@1')).toHaveLength(1);
      expect(name('actionGroup', 'ag+ops')).toHaveLength(1);
      expect(name('diagnosticSetting', 'to:workspace')).toHaveLength(1);
      expect(name('diagnosticSetting', 'hostedbots-to-log-analytics')).toEqual([]);
    });

    const existing = (facts: Partial<rules.ExistingMonitoringFacts>) => rules.existingMonitoring({ workspaceIdIsToken: false, connectionStringIsToken: false, ...facts });

    test('an existing workspace is a workspace resource ID', () => {
      expect(existing({ workspaceId: WORKSPACE_ID })).toEqual([]);
      expect(only(existing({ workspaceId: '6f2b0c1e-0000-0000-0000-000000000000' }))).toMatchObject({ id: 'HRB-MON-3', field: 'monitoring.logAnalyticsWorkspaceId', rule: expect.stringMatching(/resource ID.*not its workspace \(customer\) ID/) });
      expect(existing({ workspaceId: '${TfToken[TOKEN.9]}', workspaceIdIsToken: true })).toEqual([]);
    });

    test('an existing Application Insights needs its workspace, and a connection string with an InstrumentationKey', () => {
      const connectionString = 'InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://northeurope-2.in.applicationinsights.azure.com/';
      expect(existing({ workspaceId: WORKSPACE_ID, connectionString })).toEqual([]);
      expect(only(existing({ connectionString }))).toMatchObject({ field: 'monitoring.applicationInsightsConnectionString', value: '(given)', rule: expect.stringMatching(/needs monitoring\.logAnalyticsWorkspaceId too/) });
      const bad = only(existing({ workspaceId: WORKSPACE_ID, connectionString: 'IngestionEndpoint=https://x/' }));
      expect(bad).toMatchObject({ value: '(connection string without InstrumentationKey)' });
      expect(existing({ workspaceId: WORKSPACE_ID, connectionString: '${TfToken[TOKEN.3]}', connectionStringIsToken: true })).toEqual([]);
    });

    const receivers = (emails: string[], webhookUrls: string[] = []) => ({
      emails: emails.map((value) => ({ value, isToken: value.startsWith('${') })),
      webhookUrls: webhookUrls.map((value) => ({ value, isToken: value.startsWith('${') })),
    });

    test('receivers: e-mail addresses look like addresses; webhooks are absolute http(s) URLs; tokens are not checked', () => {
      expect(rules.alertReceivers(receivers(['ops@example.com'], ['https://hooks.example.com/x', '${TfToken[TOKEN.4]}']))).toEqual([]);
      expect(only(rules.alertReceivers(receivers(['ops@example.com', 'ops.example.com'])))).toMatchObject({ id: 'HRB-MON-4', field: 'monitoring.alerts.emails[1]', value: '"ops.example.com"' });
      expect(only(rules.alertReceivers(receivers([], ['hooks.example.com/x'])))).toMatchObject({ field: 'monitoring.alerts.webhookUrls[0]', value: '(not a URL)' });
      expect(only(rules.alertReceivers(receivers([], ['ftp://hooks.example.com/x'])))).toMatchObject({ value: 'ftp://hooks.example.com/...' });
    });

    test('a webhook URL in a message shows its scheme and host only, never its path or query', () => {
      const finding = only(rules.webhookTransport(receivers([], ['http://hooks.example.com/services/SECRET?token=SECRET'])));
      expect(finding).toMatchObject({ id: 'HRB-MON-8', severity: 'warning', value: 'http://hooks.example.com/...' });
      expect(JSON.stringify(finding)).not.toContain('SECRET');
      expect(rules.webhookTransport(receivers([], ['https://hooks.example.com/x']))).toEqual([]);
    });

    const settings = (overrides: Partial<rules.AlertSettingsFacts> = {}) => rules.alertSettings({ queueWaitMinutes: 30, provisioningErrors: 1, windowMinutes: 15, severity: 2, ...overrides });

    test('alert settings: positive thresholds, a window azurerm takes, severity 0-4', () => {
      expect(settings()).toEqual([]);
      expect(settings({ queueWaitMinutes: 0.5, windowMinutes: 2880, severity: 0 })).toEqual([]);
      expect(only(settings({ queueWaitMinutes: 0 }))).toMatchObject({ id: 'HRB-MON-5', field: 'monitoring.alerts.queueWaitMinutes', value: '0' });
      expect(only(settings({ provisioningErrors: 1.5 }))).toMatchObject({ field: 'monitoring.alerts.provisioningErrors', value: '1.5' });
      expect(only(settings({ windowMinutes: 1 }))).toMatchObject({ field: 'monitoring.alerts.windowMinutes', rule: expect.stringMatching(/one of 5, 10, 15/) });
      expect(only(settings({ windowMinutes: 20 }))).toMatchObject({ field: 'monitoring.alerts.windowMinutes', value: '20' });
      expect(only(settings({ severity: 5 }))).toMatchObject({ field: 'monitoring.alerts.severity', value: '5' });
    });

    test('diagnostics: a category group the resource type has, or none', () => {
      const diagnostic = (resourceType: rules.DiagnosticResourceType, logs: string) => rules.diagnosticCategories({ diagnostics: [{ field: 'monitoring.diagnostics.x', resourceType, logs }] });
      expect(diagnostic('Microsoft.KeyVault/vaults', 'audit')).toEqual([]);
      expect(diagnostic('Microsoft.DBforPostgreSQL/flexibleServers', 'allLogs')).toEqual([]);
      expect(diagnostic('Microsoft.Web/sites', 'none')).toEqual([]);
      expect(only(diagnostic('Microsoft.Web/sites', 'audit'))).toMatchObject({ id: 'HRB-MON-6', value: '"audit"', rule: "must be a log category group Microsoft.Web/sites has, 'allLogs', or 'none' for metrics only" });
      expect(diagnostic('Microsoft.KeyVault/vaults', 'AuditEvent')).toHaveLength(1);
    });

    test('alerts that notify nobody warn', () => {
      expect(only(rules.alertRecipients({ receivers: 0, actionGroupIds: 0 }))).toMatchObject({ id: 'HRB-MON-7', severity: 'warning', field: 'monitoring.alerts' });
      expect(rules.alertRecipients({ receivers: 1, actionGroupIds: 0 })).toEqual([]);
      expect(rules.alertRecipients({ receivers: 0, actionGroupIds: 1 })).toEqual([]);
    });
  });
});

describe('the rule catalogue', () => {
  /** This file's text outside the catalogue, comment line breaks joined: where the citations are quoted. */
  const cited = (() => {
    const text = fs.readFileSync(path.join(__dirname, '..', '..', 'constructs', 'azure-rules.ts'), 'utf8');
    const catalogue = text.slice(text.indexOf('export const RULE_CATALOGUE'), text.indexOf('} as const satisfies Record<string, RuleInfo>'));
    return text.replace(catalogue, '').replace(/\n\s*(\*|\/\/)\s*/g, ' ');
  })();


  test("every rule that comes from Azure, the provider or elsewhere cites its source in a known form, quoted where the rule is checked; the rest are the project's own", () => {
    const problems = Object.entries(rules.RULE_CATALOGUE).flatMap(([id, rule]): string[] => {
      const source: rules.RuleSource = rule.source;
      if (source.origin === 'project') return [];
      if (source.cites.length === 0) return [`${id}: from ${source.origin}, but cites no source`];
      return source.cites.flatMap((cite) => {
        const key = rules.RULE_SOURCE_FORMS.map((form) => form.exec(cite)?.groups?.key).find(Boolean);
        if (!key) return [`${id}: ${cite} is in none of the forms of RULE_SOURCE_FORMS`];
        return cited.includes(key) ? [] : [`${id}: ${cite}: ${key} is quoted nowhere in constructs/azure-rules.ts`];
      });
    });
    expect(problems).toEqual([]);
  });

  test("a rule whose summary says it is Azure's is not marked as the project's own", () => {
    const own = Object.entries(rules.RULE_CATALOGUE).filter(([, rule]) => /\(Azure\)/.test(rule.summary) && rule.source.origin === 'project');
    expect(own.map(([id]) => id)).toEqual([]);
  });
});
