/**
 * Suppressing a rule with a reason: the finding is no longer an error or a warning, and the synth
 * output records it (an info annotation and the stack's "//" metadata); bad suppressions are refused.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { RULE_CATALOGUE, RuleSuppressions } from '../../index';
import { DEPLOYER_IP, fleetStack, plainEnvironment, synth, userWebApp } from '../helpers/fleet';

const REASON = 'kept until every pipeline stops setting the variable';

/** A stack whose runtime gets the HRB-NET-3 warning (the retired deployerIpRanges is still given). */
const closedKeyVault = () => fleetStack({ runtime: { deployerIpRanges: [DEPLOYER_IP], botAuthentication: 'token' } });

function fullSynth(stack: import('cdktf').TerraformStack) {
  const outdir = Testing.fullSynth(stack);
  const id = stack.node.id;
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  return {
    terraform: JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', id, 'cdk.tf.json'), 'utf8')),
    annotations: manifest.stacks[id].annotations as Array<{ constructPath: string; level: string; message: string }>,
  };
}

describe('RuleSuppressions', () => {
  test('without a suppression, the rule warns', () => {
    const found = synth(closedKeyVault()).annotations.filter((a) => a.message.includes('[HRB-NET-3]'));
    expect(found).toEqual([expect.objectContaining({ level: 'warning', path: 'fleet/runtime' })]);
  });

  test('a suppressed warning is recorded with its reason in the stack JSON and as an info annotation, and no longer warns', () => {
    const stack = closedKeyVault();
    RuleSuppressions.of(stack).suppress('HRB-NET-3', REASON);
    const out = fullSynth(stack);
    expect(out.terraform['//'].metadata.suppressedRules).toEqual([{ id: 'HRB-NET-3', path: 'fleet/runtime', reason: REASON }]);
    expect(out.annotations.filter((a) => a.message.includes('[HRB-NET-3]'))).toEqual([
      { constructPath: 'fleet/runtime', level: '@cdktf/info', message: `fleet/runtime: [HRB-NET-3] suppressed: ${REASON}` },
    ]);
    expect(out.annotations.filter((a) => a.level === '@cdktf/warn')).toEqual([]);
  });

  test('a suppression applies to its construct and below, not to siblings', () => {
    const stack = closedKeyVault();
    RuleSuppressions.of(stack.environment).suppress('HRB-NET-3', REASON);
    const annotations = synth(stack).annotations;
    expect(annotations.filter((a) => a.message.includes('[HRB-NET-3]'))).toEqual([expect.objectContaining({ level: 'warning', path: 'fleet/runtime' })]);
    expect(annotations.filter((a) => a.level === 'info')).toEqual([]);
  });

  test('a suppression on the app applies to the stacks in it', () => {
    const stack = closedKeyVault();
    RuleSuppressions.of(stack.node.scope!).suppress('HRB-NET-3', REASON);
    expect(synth(stack).annotations.map((a) => a.level)).toEqual(['info']);
  });

  test('the suppressible error of a user web app: synth goes on and records the reason', () => {
    const failing = fleetStack();
    userWebApp(failing, 'app.zip');
    expect(() => Testing.fullSynth(failing)).toThrow(/fleet\/own-app: \[HRB-RUNTIME-4\] zipDeployFile \(set\)/);

    const stack = fleetStack();
    RuleSuppressions.of(userWebApp(stack, 'app.zip')).suppress('HRB-RUNTIME-4', 'this app is applied once, then replaced by a pipeline');
    const out = fullSynth(stack);
    expect(out.terraform['//'].metadata.suppressedRules).toEqual([{ id: 'HRB-RUNTIME-4', path: 'fleet/own-app', reason: 'this app is applied once, then replaced by a pipeline' }]);
  });

  test('a suppression in a plain TerraformStack is recorded in that stack', () => {
    const { stack, environment } = plainEnvironment({ plan: 'trial', botCapacity: 5 });
    RuleSuppressions.of(environment).suppress('HRB-CAP-3', 'trial on purpose while the licences are bought');
    const out = fullSynth(stack);
    expect(out.terraform['//'].metadata.suppressedRules).toEqual([{ id: 'HRB-CAP-3', path: 'plain/environment', reason: 'trial on purpose while the licences are bought' }]);
    expect(out.annotations.map((a) => a.level)).toEqual(['@cdktf/info']);
  });

  test('a missing or short reason is refused, naming the field, the value and the rule', () => {
    const stack = closedKeyVault();
    const suppressions = RuleSuppressions.of(stack.runtime);
    expect(() => suppressions.suppress('HRB-NET-3', '')).toThrow('fleet/runtime: suppress: reason "" for "HRB-NET-3" must be at least 10 characters saying why the rule does not apply here');
    expect(() => suppressions.suppress('HRB-NET-3', '   n/a    ')).toThrow(/reason "   n\/a    " for "HRB-NET-3" must be at least 10 characters/);
    expect(() => suppressions.suppress('HRB-NET-3', undefined as unknown as string)).toThrow(/reason undefined for "HRB-NET-3" must be at least 10 characters/);
    expect(suppressions.own).toEqual([]);
  });

  test('an unknown rule ID is refused, listing the IDs', () => {
    const stack = closedKeyVault();
    expect(() => RuleSuppressions.of(stack).suppress('HRB-NET-99', REASON)).toThrow(/^fleet: suppress: id "HRB-NET-99" must be a rule ID of the pack, one of HRB-NAME-1, .*HRB-NET-3, /);
  });

  test('a rule Azure or the runtime enforces cannot be suppressed', () => {
    const stack = closedKeyVault();
    expect(() => RuleSuppressions.of(stack).suppress('HRB-ADMIN-1', REASON)).toThrow(
      'fleet: suppress: id "HRB-ADMIN-1" (admin username (Windows local account, Azure reserved names)) cannot be suppressed: Azure or the runtime enforces it anyway, so the deploy would fail instead; fix the value',
    );
    for (const [id, rule] of Object.entries(RULE_CATALOGUE)) {
      const attempt = () => RuleSuppressions.of(stack).suppress(id, REASON);
      if (rule.suppressible) expect(attempt).not.toThrow();
      else expect(attempt).toThrow(/cannot be suppressed/);
    }
  });

  test('every warning may be suppressed; errors only where the catalogue says so', () => {
    const suppressibleErrors = Object.entries(RULE_CATALOGUE).filter(([, r]) => r.severity === 'error' && r.suppressible).map(([id]) => id);
    expect(suppressibleErrors).toEqual(['HRB-RUNTIME-4']);
    for (const rule of Object.values(RULE_CATALOGUE)) if (rule.severity === 'warning') expect(rule.suppressible).toBe(true);
  });
});
