/**
 * Terraform in the loop: every expression of every example stack, and of a stack for every
 * option of the public API, parses and validates in Terraform itself (or, where terraform is not
 * installed, in cdktf-cli's HCL parser). A failure names the stack and the resource path.
 */
import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { buildMultiGeo } from '../../examples/multi-geo/main';
import { buildSingleGeo } from '../../examples/single-geo/main';
import { BotImageSource, BotImagesStack, HostedBotsStack, HostedBotsStackProps } from '../../index';
import { synthApp } from '../helpers/app';
import { DEPLOYER_IP, GOOD_PASSWORD, groupProps } from '../helpers/fleet';
import {
  checkExpressions,
  checkWithHcl,
  checkWithTerraform,
  describeProblems,
  expressionsOf,
  TerraformExpression,
  terraformFor,
} from '../helpers/terraform';

/** Text a user may well write: quotes, backslashes, PowerShell's `${env:…}`, Terraform's `%{`. */
const AWKWARD_COMMAND = 'powershell.exe -NoProfile -Command "& { $d = ${env:TEMP}; Write-Output \'%{done}\' }" C:\\flows\\run.ps1';

/** One stack per option of the public API, so that each way of synthesizing is held to Terraform. */
function buildVariants(scope: Construct): void {
  const images = new BotImagesStack(scope, 'images', { location: 'northeurope' });
  const version = images.gallery
    .addImage('windows', { name: 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' })
    .addVersion('1.0.0', { source: { managedImageId: '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa' }, geographies: ['Europe'] });

  const variants: Record<string, Partial<HostedBotsStackProps>> = {
    'default-options': {},
    'existing-subnet': {
      environment: { name: 'hub', botCapacity: 4, network: { subnetId: '/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots' } },
    },
    'public-opt-out': { runtime: { publicNetworkAccess: true, metrics: false } },
    'entra-and-prefix': {
      globalNamePrefix: 'contoso',
      runtime: { entra: { tenantId: '00000000-0000-0000-0000-000000000001', audience: 'api://hosted-bots' }, appName: 'contoso-bots-runtime', operatorIpRanges: [DEPLOYER_IP, '198.51.100.0/24'] },
      backend: { resourceGroupName: 'tfstate', storageAccountName: 'tfstatebots', containerName: 'state' },
    },
    'trial-standby': {
      environment: {
        name: 'finance-ops-eu',
        botCapacity: 2,
        plan: 'trial',
        scaling: { standbyPool: { maxReadyCapacity: 2 } },
        standbyPoolProvider: { principalId: '6a0f1ba4-3c2e-4d7b-9f51-0c8e2d7a4b13' },
      },
      tags: { 'cost-center': 'rpa "ops"' },
    },
  };
  for (const [id, props] of Object.entries(variants)) {
    const stack = new HostedBotsStack(scope, id, {
      geography: 'Europe',
      environment: { name: id.slice(0, 20), botCapacity: 4 },
      runtime: {},
      ...props,
    });
    const password = new TerraformVariable(stack, 'admin_password', { type: 'string', sensitive: true }).stringValue;
    stack.environment.addGroup('finance', groupProps({ adminPassword: password, flows: { run: { command: AWKWARD_COMMAND, description: 'Say "hi" \\ ${x}' } } }));
    stack.environment.addGroup('gallery', groupProps({ name: 'gallery', image: BotImageSource.fromVersion(version), adminPassword: `${GOOD_PASSWORD}\${"%{` }));
  }
}

function expressionsOfApp(build: (scope: Construct) => unknown, stacks: readonly string[]): TerraformExpression[] {
  const app = synthApp(build);
  return stacks.flatMap((stack) => expressionsOf(stack, app.terraform(stack)));
}

describe('every synthesized expression parses in Terraform', () => {
  test.each([
    ['single-geo', buildSingleGeo, ['demo']],
    ['multi-geo', buildMultiGeo, ['bot-images', 'bots-europe', 'bots-us']],
    ['every option of the public API', buildVariants, ['images', 'default-options', 'existing-subnet', 'public-opt-out', 'entra-and-prefix', 'trial-standby']],
  ] as const)('%s', async (_name, build, stacks) => {
    const expressions = expressionsOfApp(build, stacks);
    expect(expressions.length).toBeGreaterThan(stacks.length * 5);
    const check = await checkExpressions(expressions);
    expect(describeProblems(check.problems)).toBe('');
    if (process.env.CI) expect(check.checker).toBe('terraform');
  }, 120_000);
});

describe('the checks catch what Terraform refuses', () => {
  // What the scale sets' protected settings held before: PowerShell pasted into HCL unescaped.
  const broken: TerraformExpression = {
    stack: 'demo',
    path: 'resource.azurerm_orchestrated_virtual_machine_scale_set.finance.extension[0].protected_settings',
    text: '${jsonencode({"commandToExecute" = "powershell.exe -Command "& ([ScriptBlock]::Create(\'x\'))" -ConfigBase64 \'${base64encode("{}")}\'"})}',
  };
  const fine: TerraformExpression = { stack: 'demo', path: 'resource.x.y.name', text: '${random_password.token.result}-${var.name}' };

  test('the HCL parser names the stack and the path of a parse error', async () => {
    const problems = await checkWithHcl([fine, broken]);
    expect(problems).toEqual([expect.objectContaining({ stack: 'demo', path: broken.path, detail: expect.stringMatching(/Bitwise operators are not supported|Invalid character/) })]);
  });

  test('terraform validate names the stack and the path, and ignores undeclared references only', () => {
    const binary = terraformFor('the terraform half of this check (the HCL parser check above stands in)');
    if (!binary) return;
    const unknownFunction: TerraformExpression = { stack: 'demo', path: 'resource.x.y.tags.z', text: '${no_such_function("a")}' };
    const problems = checkWithTerraform([fine, broken, unknownFunction], binary);
    expect(problems.map((p) => p.path)).toContain(broken.path);
    expect(problems.every((p) => p.stack === 'demo')).toBe(true);
    expect(problems.some((p) => p.path === fine.path)).toBe(false);
    // A parse error stops validation; on its own, an unknown function is reported too.
    expect(checkWithTerraform([fine, unknownFunction], binary)).toEqual([
      expect.objectContaining({ path: unknownFunction.path, summary: expect.stringMatching(/Call to unknown function/) }),
    ]);
  });
});
