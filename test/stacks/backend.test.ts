/** Where a stack keeps its state: the remote backend a pipeline must have. */
import { CALLER_CI } from '../../runtime/cli/cdktf-process';
import { CALLER_CI_VARIABLE, requireRemoteStateInPipelines, runsInPipeline } from '../../stacks/backend';

const remote = { resourceGroupName: 'rg-tfstate', storageAccountName: 'tfstatebots', containerName: 'tfstate' };

test('the library reads the caller\'s CI under the name the CLI passes it in', () => {
  expect(CALLER_CI_VARIABLE).toBe(CALLER_CI);
});

describe('runsInPipeline', () => {
  test.each([
    [{ CI: 'true' }, true],
    [{ CI: '1' }, true],
    [{ TF_BUILD: 'True' }, true],
    [{ CI: 'false' }, false],
    [{}, false],
    // hosted-bots runs cdktf with CI=true, and passes the caller's own value on.
    [{ CI: 'true', HOSTED_BOTS_CALLER_CI: '' }, false],
    [{ CI: 'true', HOSTED_BOTS_CALLER_CI: 'true' }, true],
  ])('%j: %s', (env, expected) => {
    expect(runsInPipeline(env)).toBe(expected);
  });
});

describe('requireRemoteStateInPipelines', () => {
  test('in a pipeline without a backend: refused, naming the setting, why, and what to do', () => {
    expect(() => requireRemoteStateInPipelines(undefined, 'remoteState', { CI: 'true' })).toThrow(
      /^remoteState is undefined, and this synth runs in a pipeline \(CI=true\): its Terraform state would be a local file on a runner that is thrown away, .*README, "Prerequisites"\), then set remoteState in main\.ts to \{ resourceGroupName, storageAccountName, containerName \}\.$/,
    );
  });

  test('in a pipeline with a backend: the backend', () => {
    expect(requireRemoteStateInPipelines(remote, 'remoteState', { CI: 'true' })).toBe(remote);
  });

  test('outside a pipeline without a backend: undefined, the local state of a first try', () => {
    expect(requireRemoteStateInPipelines(undefined, 'remoteState', {})).toBeUndefined();
  });
});
