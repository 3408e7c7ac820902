import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadManifest, localizeManifest, ManifestError, parseManifest, sha256Hex, unresolvedTokens } from '../../../runtime/config/manifest';
import { synthesizedFleetJson } from '../../helpers/local-fleet';

const local = () => localizeManifest(synthesizedFleetJson(), { subscriptionId: 'sub-1', botTokens: { finance: 'tf', sales: 'ts' } }) as Record<string, any>;

describe('fleet manifest (runtime side)', () => {
  test('a manifest from a real synth, with its apply-time values filled in, is valid', () => {
    const manifest = parseManifest(local());
    expect(manifest.groups.map((g) => g.name)).toEqual(['finance', 'sales']);
    expect(manifest.groups[0].botTokenSha256).toBe(sha256Hex('tf'));
    expect(manifest.groups[0].vmss.subscriptionId).toBe('sub-1');
  });

  test('a synthesized manifest still holding Terraform expressions is refused by a deployed runtime', () => {
    expect(unresolvedTokens(synthesizedFleetJson())).toEqual([
      'groups.[0].vmss.subscriptionId',
      'groups.[0].botTokenSha256',
      'groups.[0].credentialVersion',
      'groups.[1].vmss.subscriptionId',
      'groups.[1].botTokenSha256',
      'groups.[1].credentialVersion',
    ]);
    expect(() => parseManifest(synthesizedFleetJson())).toThrow(/groups\.\[0\]\.vmss\.subscriptionId: still holds a Terraform expression/);
  });

  test("locally, each group's admin password version is 'local' unless a test gives one, as a rotation would change it", () => {
    expect(parseManifest(local()).groups.map((g) => g.credentialVersion)).toEqual(['local', 'local']);
    const rotated = localizeManifest(synthesizedFleetJson(), { subscriptionId: 'sub-1', botTokens: { finance: 'tf', sales: 'ts' }, credentialVersions: { finance: 'v2' } });
    expect(parseManifest(rotated).groups.map((g) => g.credentialVersion)).toEqual(['v2', 'local']);
  });

  test('user text holding ${ (PowerShell\'s ${env:TEMP}) is not taken for a Terraform expression', () => {
    const manifest = local();
    manifest.groups[0].flows['invoice-entry'].command = 'powershell.exe -Command "Write-Output ${env:TEMP}"';
    manifest.groups[0].description = 'Costs ${x} per run';
    expect(unresolvedTokens(manifest)).toEqual([]);
    expect(parseManifest(manifest).groups[0].flows['invoice-entry'].command).toContain('${env:TEMP}');
  });

  test('a bad manifest is refused with every problem listed', () => {
    const bad = local();
    bad.environment.botCapacity = 0;
    bad.groups[0].maxBots = 51;
    bad.groups[1].name = 'finance';
    bad.groups[1].flows['lead-sync'].timeoutMinutes = 2000;
    bad.groups[0].surprise = true;
    let error: ManifestError | undefined;
    try {
      parseManifest(bad, { source: 'fleet.json' });
    } catch (err) {
      error = err as ManifestError;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect(error!.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^environment\.botCapacity: /),
        expect.stringMatching(/^groups\[0\]\.maxBots: /),
        expect.stringMatching(/^groups\[0\]: .*surprise/),
        expect.stringMatching(/^groups\[1\]\.flows\.lead-sync\.timeoutMinutes: /),
      ]),
    );
    expect(error!.message).toMatch(/^fleet manifest fleet\.json is invalid:\n  - /);
  });

  test('a declared flow named hosted-bots-self-test is refused: the name belongs to the built-in self-test', () => {
    const manifest = local();
    manifest.groups[1].flows['hosted-bots-self-test'] = { command: 'selftest.cmd', timeoutMinutes: 5 };
    let error: ManifestError | undefined;
    try {
      parseManifest(manifest, { source: 'fleet.json' });
    } catch (err) {
      error = err as ManifestError;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect(error!.problems).toEqual([
      expect.stringMatching(/^groups\[1\]\.flows\.hosted-bots-self-test: "hosted-bots-self-test" is the name of the built-in self-test flow, which every group runs without declaring it; give your flow another name$/),
    ]);
  });

  test('cross-field rules: committed bots within maxBots and the capacity, unique group names', () => {
    const bad = local();
    bad.groups[0].committedBots = 4;
    bad.groups[1].name = 'finance';
    expect(() => parseManifest(bad)).toThrow(/groups\[0\]\.committedBots: 4 is more than the group's maxBots \(3\)/);
    expect(() => parseManifest(bad)).toThrow(/groups\[1\]\.name: group name "finance" is used twice/);
    const overCommitted = local();
    overCommitted.environment.botCapacity = 4;
    overCommitted.groups[0].committedBots = 3;
    overCommitted.groups[1].committedBots = 2;
    expect(overCommitted.groups[1].maxBots).toBeGreaterThanOrEqual(2);
    expect(() => parseManifest(overCommitted)).toThrow(/groups: committed bots add up to 5, more than the botCapacity \(4\)/);
  });

  test('predictive warm-up settings: written by synth, optional for older manifests, checked when present', () => {
    const manifest = parseManifest(local());
    expect(manifest.environment.scaling).toMatchObject({ predictive: true, predictiveLeadMinutes: 15 });
    expect(manifest.groups[0].scaling.predictiveMaxBots).toBeUndefined();
    const older = local();
    for (const scaling of [older.environment.scaling, ...older.groups.map((g: Record<string, any>) => g.scaling)]) {
      delete scaling.predictive;
      delete scaling.predictiveLeadMinutes;
    }
    // Manifests written before predictive warm-up existed get the schema's defaults: on, 15 minutes ahead.
    expect(parseManifest(older).groups[0].scaling).toMatchObject({ predictive: true, predictiveLeadMinutes: 15 });
    const bad = local();
    bad.groups[0].scaling.predictive = 'yes';
    bad.groups[0].scaling.predictiveLeadMinutes = 0;
    bad.groups[0].scaling.predictiveMaxBots = 1.5;
    let error: ManifestError | undefined;
    try {
      parseManifest(bad);
    } catch (err) {
      error = err as ManifestError;
    }
    expect(error!.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^groups\[0\]\.scaling\.predictive: /),
        expect.stringMatching(/^groups\[0\]\.scaling\.predictiveLeadMinutes: /),
        expect.stringMatching(/^groups\[0\]\.scaling\.predictiveMaxBots: /),
      ]),
    );
  });

  test('a missing or unreadable file is named in the error', () => {
    expect(() => loadManifest('/nonexistent/fleet.json')).toThrow(/fleet manifest \/nonexistent\/fleet\.json is invalid:\n  - cannot be read/);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'm-')), 'fleet.json');
    fs.writeFileSync(file, '{ not json');
    expect(() => loadManifest(file)).toThrow(/is not JSON/);
  });
});
