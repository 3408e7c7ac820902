/** What a bot was created as: the model key that tells the scaler which idle bots to replace. */
import { botModelKeyOf } from '../../../runtime/domain/bot';
import { parseManifest } from '../../../runtime/config/manifest';
import { oneGroupManifest } from '../../helpers/manifest';

const group = (credentialVersion?: string, version = 'latest') => {
  const raw = oneGroupManifest({ maxBots: 2 });
  const g = raw.groups[0] as Record<string, unknown>;
  g.image = { ...(g.image as object), version };
  if (credentialVersion !== undefined) g.credentialVersion = credentialVersion;
  return parseManifest(raw, { source: 'test' }).groups[0];
};

describe('botModelKeyOf', () => {
  test('a new admin password version is a new model: bots made before it are replaced once idle', () => {
    expect(botModelKeyOf(group('a1b2c3'))).not.toBe(botModelKeyOf(group('d4e5f6')));
  });

  test('the same image and password version is the same model: nothing is replaced on a redeploy', () => {
    expect(botModelKeyOf(group('a1b2c3'))).toBe(botModelKeyOf(group('a1b2c3')));
  });

  test('a new image version is a new model, whatever the password version', () => {
    expect(botModelKeyOf(group('a1b2c3', '1.0.0'))).not.toBe(botModelKeyOf(group('a1b2c3', '1.0.1')));
  });

  test('a manifest without a password version keys by the image alone', () => {
    expect(botModelKeyOf(group())).toBe('marketplace:MicrosoftWindowsDesktop/windows-11/win11-24h2-pro/latest');
  });
});
