/**
 * The marker of the library's routine replacements: set only on the resource type it names, and
 * read back only from that type.
 */
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { Id } from '@cdktf/provider-random/lib/id';
import { App, TerraformStack } from 'cdktf';
import { markRoutineReplacement, ROUTINE_REPLACEMENT_KEY, routineReplacementOf } from '../../constructs/routine-replacement';

test('marking a resource of another type than the marker names is refused, naming both types and the construct', () => {
  const stack = new TerraformStack(new App(), 'stack');
  const id = new Id(stack, 'mine', { byteLength: 4 });
  expect(() => markRoutineReplacement(id, 'runtime-package')).toThrow('markRoutineReplacement: runtime-package is for azurerm_storage_blob, not random_id (stack/mine)');
});

test("the marker is written under the resource's // comment, beside cdktf's metadata, and read back", () => {
  const stack = new TerraformStack(new App(), 'stack');
  const blob = new StorageBlob(stack, 'package', { name: 'a.zip', storageAccountName: 'st', storageContainerName: 'c', type: 'Block' });
  markRoutineReplacement(blob, 'runtime-package');
  const body = (blob.toTerraform() as { resource: Record<string, Record<string, Record<string, any>>> }).resource.azurerm_storage_blob[blob.friendlyUniqueId];
  expect(body['//']).toMatchObject({ [ROUTINE_REPLACEMENT_KEY]: 'runtime-package', metadata: { path: 'stack/package' } });
  expect(routineReplacementOf('azurerm_storage_blob', body)).toMatch(/^the runtime package/);
});

test('an unknown marker, or none, is not routine', () => {
  expect(routineReplacementOf('random_id', { '//': { [ROUTINE_REPLACEMENT_KEY]: 'my-own' } })).toBeUndefined();
  expect(routineReplacementOf('random_id', { keepers: {} })).toBeUndefined();
});
