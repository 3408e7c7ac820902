/**
 * The plan reader over real `terraform show -json` output: each plan is made here by the
 * terraform on PATH from the built-in `terraform_data` resource (its `triggers_replace` forces a
 * replacement, no provider download needed), with local state in a temporary folder.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { diffExitCode } from '../../../runtime/cli/fleet-diff';
import { planChanges, planDeletes, readTerraformPlan, renderPath } from '../../../runtime/cli/terraform-plan';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { Id } from '@cdktf/provider-random/lib/id';
import { ROUTINE_REPLACEMENT_KEY, ROUTINE_REPLACEMENTS, RoutineReplacementKind, routineReplacementsOf } from '../../../constructs/routine-replacement';
import { HostedBotsStack } from '../../../index';
import { synthApp } from '../../helpers/app';
import { groupProps } from '../../helpers/fleet';
import { terraformFor } from '../../helpers/terraform';

type Resources = Record<string, Record<string, unknown>>;

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'terraform-plan-test-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

/** Applies `before`, then plans `after` and returns `terraform show -json` of that plan. */
function realPlan(binary: string, before: Resources, after: Resources): unknown {
  const dir = fs.mkdtempSync(path.join(temp, 'plan-'));
  const terraform = (...args: string[]) => {
    const r = spawnSync(binary, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' } });
    if (r.status !== 0) throw new Error(`terraform ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const write = (resources: Resources) => fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ resource: { terraform_data: resources } }));
  write(before);
  terraform('init', '-input=false', '-no-color');
  terraform('apply', '-auto-approve', '-input=false', '-no-color');
  write(after);
  terraform('plan', '-input=false', '-no-color', '-out=test.tfplan');
  return JSON.parse(terraform('show', '-json', 'test.tfplan'));
}

/** The plan of `before` → `after`, read; undefined only where terraform is missing outside CI (terraformFor says so). */
function planOf(before: Resources, after: Resources) {
  const binary = terraformFor('the plan reader tests over real terraform plans');
  return binary ? readTerraformPlan(realPlan(binary, before, after), 'test plan') : undefined;
}

describe('routine replacements', () => {
  const showJson = (type: string, actions: string[]) => ({
    format_version: '1.2',
    resource_changes: [{ address: `${type}.x`, mode: 'managed', type, name: 'x', change: { actions, replace_paths: [['name']] }, action_reason: 'replace_because_cannot_update' }],
  });
  /** The stack's cdk.tf.json with `type.x`, marked as the library marks its own, or not. */
  const config = (type: string, kind?: RoutineReplacementKind) => ({ resource: { [type]: { x: { name: 'x', '//': kind ? { [ROUTINE_REPLACEMENT_KEY]: kind } : {} } } } });
  const marked = (type: string, kind: RoutineReplacementKind) => routineReplacementsOf(config(type, kind));

  test.each([
    ['azurerm_storage_blob', 'runtime-package'],
    ['random_id', 'admin-password-version'],
  ] as const)('a replaced %s the library marks as its %s is reported as routine and needs no approval', (type, kind) => {
    const plan = readTerraformPlan(showJson(type, ['create', 'delete']), 'test', marked(type, kind));
    const changes = planChanges('bots', plan);
    expect(changes[1]).toMatchObject({ kind: 'resource-replaced', destructive: false, text: expect.stringContaining(`routine, nothing is lost: ${ROUTINE_REPLACEMENTS[kind].why}`) });
    expect(planDeletes(plan)).toBe(false);
    expect(diffExitCode(changes)).toBe(0);
  });

  test.each(['azurerm_storage_blob', 'random_id'])("a replaced %s without the library's marker (a user's own) needs approval, and is named", (type) => {
    const plan = readTerraformPlan(showJson(type, ['create', 'delete']), 'test', routineReplacementsOf(config(type)));
    const changes = planChanges('bots', plan);
    expect(changes[1]).toMatchObject({ kind: 'resource-replaced', destructive: true, resource: `${type}.x` });
    expect(changes[1].text).not.toContain('routine');
    expect(diffExitCode(changes)).toBe(2);
  });

  test("a marker on a resource of another type than the marker's is not routine", () => {
    const plan = readTerraformPlan(showJson('random_id', ['delete', 'create']), 'test', routineReplacementsOf(config('random_id', 'runtime-package')));
    expect(diffExitCode(planChanges('bots', plan))).toBe(2);
  });

  test('destroying one of the library\'s own is still destructive', () => {
    const plan = readTerraformPlan(showJson('azurerm_storage_blob', ['delete']), 'test', marked('azurerm_storage_blob', 'runtime-package'));
    expect(planDeletes(plan)).toBe(true);
    expect(diffExitCode(planChanges('bots', plan))).toBe(2);
  });

  test('any other replacement needs approval', () => {
    const plan = readTerraformPlan(showJson('azurerm_key_vault', ['delete', 'create']), 'test');
    expect(diffExitCode(planChanges('bots', plan))).toBe(2);
  });

  test("in a synthesized stack, only the library's runtime package and admin password version are routine; a user's own random_id and blob of the same construct IDs are not", () => {
    const app = synthApp((scope) => {
      const stack = new HostedBotsStack(scope, 'bots', { geography: 'Europe', environment: { name: 'demo', botCapacity: 4 }, runtime: { botAuthentication: 'token' } });
      stack.environment.addGroup('finance', groupProps());
      new Id(stack, 'admin-password-version', { byteLength: 4, keepers: { generation: '1' } });
      new StorageBlob(stack, 'package', { name: 'report.csv', storageAccountName: 'stcontoso', storageContainerName: 'reports', type: 'Block', sourceContent: 'x' });
    });
    const tf = app.terraform('bots');
    const addresses = ['random_id', 'azurerm_storage_blob'].flatMap((type) => Object.keys(tf.resource[type]).map((name) => ({ type, name, address: `${type}.${name}` })));
    expect(addresses).toHaveLength(4);
    const plan = readTerraformPlan(
      {
        format_version: '1.2',
        resource_changes: addresses.map(({ type, name, address }) => ({ address, mode: 'managed', type, name, change: { actions: ['create', 'delete'], replace_paths: [['name']] } })),
      },
      'test',
      routineReplacementsOf(tf),
    );
    const changes = planChanges('bots', plan).slice(1);
    expect(changes.filter((c) => c.destructive).map((c) => c.resource)).toEqual(['random_id.admin-password-version', 'azurerm_storage_blob.package']);
    expect(changes.filter((c) => !c.destructive).map((c) => c.resource)).toEqual([
      expect.stringMatching(/^random_id\.environment_finance_admin-password-version_/),
      expect.stringMatching(/^azurerm_storage_blob\.runtime_package_/),
    ]);
    expect(diffExitCode(planChanges('bots', plan))).toBe(2);
  }, 60_000);
});

describe('readTerraformPlan over real plans', () => {
  test('an update in place: listed as updated, nothing deleted, exit code 0', () => {
    const plan = planOf({ keep: { input: 'a' } }, { keep: { input: 'b' } });
    if (!plan) return;
    expect(plan).toEqual({ created: [], updated: ['terraform_data.keep'], replaced: [], destroyed: [], deletions: [] });
    expect(planDeletes(plan)).toBe(false);
    expect(diffExitCode(planChanges('bots', plan))).toBe(0);
  }, 60_000);

  test("a replacement: actions delete then create, Terraform's replace_paths and action_reason, exit code 2", () => {
    const plan = planOf({ swap: { triggers_replace: ['v1'], input: 'x' } }, { swap: { triggers_replace: ['v2'], input: 'x' } });
    if (!plan) return;
    expect(plan.replaced).toEqual(['terraform_data.swap']);
    expect(plan.deletions).toEqual([
      { address: 'terraform_data.swap', type: 'terraform_data', actions: ['delete', 'create'], kind: 'replace', replacePaths: ['triggers_replace'], actionReason: 'replace_because_cannot_update' },
    ]);
    expect(planDeletes(plan)).toBe(true);
    expect(diffExitCode(planChanges('bots', plan))).toBe(2);
  }, 60_000);

  test('a create-before-destroy replacement: actions create then delete', () => {
    const lifecycle = { create_before_destroy: true };
    const plan = planOf({ swap: { triggers_replace: ['v1'], lifecycle } }, { swap: { triggers_replace: ['v2'], lifecycle } });
    if (!plan) return;
    expect(plan.deletions).toEqual([expect.objectContaining({ address: 'terraform_data.swap', actions: ['create', 'delete'], kind: 'replace', replacePaths: ['triggers_replace'] })]);
  }, 60_000);

  test('a destroy: a resource no longer declared, action delete, delete_because_no_resource_config; a new one is created', () => {
    const plan = planOf({ gone: { input: 'bye' } }, { fresh: { input: 'hello' } });
    if (!plan) return;
    expect(plan).toEqual({
      created: ['terraform_data.fresh'],
      updated: [],
      replaced: [],
      destroyed: ['terraform_data.gone'],
      deletions: [{ address: 'terraform_data.gone', type: 'terraform_data', actions: ['delete'], kind: 'destroy', replacePaths: [], actionReason: 'delete_because_no_resource_config' }],
    });
    expect(diffExitCode(planChanges('bots', plan))).toBe(2);
  }, 60_000);

  test('a plan with no changes: every list empty, exit code 0', () => {
    const plan = planOf({ keep: { input: 'a' } }, { keep: { input: 'a' } });
    if (!plan) return;
    expect(plan).toEqual({ created: [], updated: [], replaced: [], destroyed: [], deletions: [] });
    expect(planChanges('bots', plan)).toEqual([{ kind: 'terraform-plan', destructive: false, stack: 'bots', text: 'Terraform plan: no changes' }]);
  }, 60_000);
});

describe('planChanges', () => {
  const plan = readTerraformPlan(
    {
      format_version: '1.2',
      resource_changes: [
        { address: 'azurerm_resource_group.rg', mode: 'managed', type: 'azurerm_resource_group', change: { actions: ['update'] } },
        {
          address: 'azurerm_key_vault.vault',
          mode: 'managed',
          type: 'azurerm_key_vault',
          change: { actions: ['delete', 'create'], replace_paths: [['name']] },
          action_reason: 'replace_because_cannot_update',
        },
        {
          address: 'azurerm_orchestrated_virtual_machine_scale_set.finance',
          mode: 'managed',
          type: 'azurerm_orchestrated_virtual_machine_scale_set',
          change: { actions: ['delete', 'create'], replace_paths: [['os_profile', 0, 'windows_configuration', 0, 'admin_password']] },
          action_reason: 'replace_because_cannot_update',
        },
        { address: 'terraform_data.old', mode: 'managed', type: 'terraform_data', change: { actions: ['delete'] }, action_reason: 'delete_because_no_resource_config' },
        { address: 'data.azurerm_client_config.client', mode: 'data', type: 'azurerm_client_config', change: { actions: ['read'] } },
      ],
    },
    'fixture',
  );

  test('one line of numbers, then a destructive sentence per replaced or destroyed resource with what forced it', () => {
    expect(planChanges('bots', plan).map((c) => [c.kind, c.destructive, c.resource, c.text])).toEqual([
      ['terraform-plan', false, undefined, 'Terraform plan: 0 to create, 1 to update in place, 2 to replace, 1 to destroy'],
      [
        'resource-replaced',
        true,
        'azurerm_key_vault.vault',
        'azurerm_key_vault.vault (Key Vault) is replaced (destroyed, then created: actions delete, create): an attribute that cannot be updated in place changed; forced by name (ForceNew in internal/services/keyvault/key_vault_resource.go of hashicorp/terraform-provider-azurerm at v4.55.0); lost with it: its secrets; a deleted vault keeps its name for its soft-delete retention',
      ],
      [
        'resource-replaced',
        true,
        'azurerm_orchestrated_virtual_machine_scale_set.finance',
        expect.stringContaining('forced by os_profile[0].windows_configuration[0].admin_password'),
      ],
      ['resource-destroyed', true, 'terraform_data.old', 'terraform_data.old is destroyed: it is no longer declared (actions delete)'],
    ]);
  });

  test('a read of a data source is no change', () => {
    expect(plan.created).toEqual([]);
    expect(plan.deletions.map((d) => d.address)).not.toContain('data.azurerm_client_config.client');
  });
});

describe('readTerraformPlan refuses what is not a plan', () => {
  test('another format version, naming the source and the value', () => {
    expect(() => readTerraformPlan({ format_version: '2.0', resource_changes: [] }, 'show.json')).toThrow(
      'show.json: format_version is "2.0", not 1.x; it is not the output of terraform show -json <plan file> (Terraform 1.11 or later)',
    );
  });

  test('a resource change without actions', () => {
    expect(() => readTerraformPlan({ format_version: '1.2', resource_changes: [{ address: 'x.y', change: {} }] }, 'show.json')).toThrow(/show\.json: a resource change without an address or change\.actions/);
  });
});

describe('renderPath', () => {
  test('attribute names joined by dots, list indexes in brackets', () => {
    expect(renderPath(['os_profile', 0, 'windows_configuration', 0, 'admin_password'])).toBe('os_profile[0].windows_configuration[0].admin_password');
    expect(renderPath(['name'])).toBe('name');
  });
});
