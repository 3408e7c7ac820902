/**
 * `hosted-bots connector`: both files or neither, in a folder it may replace; every missing or bad
 * option named at once.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { writeConnector } from '../../../runtime/cli/connector-command';
import { validateOpenApi } from '../../helpers/openapi-validator';

const CLIENT = '66666666-7777-8888-9999-000000000000';
const TENANT = '11111111-2222-3333-4444-555555555555';
const OPTIONS = { clientId: CLIENT, resourceUri: 'api://hosted-bots', tenant: TENANT, host: 'https://rpa.example.net' };

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'connector-'));
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('hosted-bots connector', () => {
  const env = { ...process.env };
  beforeEach(() => {
    delete process.env.HOSTED_BOTS_CONNECTOR_CLIENT_ID;
    delete process.env.HOSTED_BOTS_ENTRA_AUDIENCE;
    delete process.env.HOSTED_BOTS_ENTRA_TENANT;
  });
  afterAll(() => Object.assign(process.env, env));

  test('writes the Swagger 2.0 definition, valid, for the host, and the Entra ID properties', async () => {
    const out = path.join(tmp(), 'connector');
    const files = writeConnector({ out, ...OPTIONS });
    expect(files).toEqual([path.join(out, 'apiDefinition.swagger.json'), path.join(out, 'apiProperties.json')]);
    const definition = read(files[0]);
    expect(definition.host).toBe('rpa.example.net');
    expect((await validateOpenApi(definition)).valid).toBe(true);
    const settings = read(files[1]).properties.connectionParameters.token.oAuthSettings;
    expect([settings.clientId, settings.customParameters.resourceUri.value, settings.customParameters.tenantId.value]).toEqual([CLIENT, 'api://hosted-bots', TENANT]);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['connector']);
  });

  test("takes the audience and tenant from the runtime's own variables, and the client ID from its own", () => {
    Object.assign(process.env, { HOSTED_BOTS_CONNECTOR_CLIENT_ID: CLIENT, HOSTED_BOTS_ENTRA_AUDIENCE: 'api://from-env', HOSTED_BOTS_ENTRA_TENANT: 'contoso.onmicrosoft.com' });
    const [, properties] = writeConnector({ out: path.join(tmp(), 'c') });
    const settings = read(properties).properties.connectionParameters.token.oAuthSettings;
    expect([settings.clientId, settings.customParameters.resourceUri.value, settings.customParameters.tenantId.value]).toEqual([CLIENT, 'api://from-env', 'contoso.onmicrosoft.com']);
  });

  test('without a host, the definition has none, for the import to set', () => {
    const [definition] = writeConnector({ out: path.join(tmp(), 'c'), ...OPTIONS, host: undefined });
    expect(read(definition).host).toBeUndefined();
  });

  test('names every missing option at once, and writes nothing', () => {
    const out = path.join(tmp(), 'c');
    expect(() => writeConnector({ out })).toThrow(/--client-id is required[\s\S]*--resource-uri is required[\s\S]*--tenant is required/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test.each([
    [{ clientId: 'my-app' }, /--client-id "my-app" must be an application \(client\) ID/],
    [{ resourceUri: 'hosted bots' }, /--resource-uri "hosted bots" must be the runtime's application ID URI/],
    [{ tenant: 'not a tenant' }, /--tenant "not a tenant" must be a directory \(tenant\) ID or a domain/],
    [{ host: 'http://rpa.example.net' }, /--host "http:\/\/rpa.example.net" must be an https:\/\/ URL/],
    [{ host: 'https://rpa.example.net/api' }, /--host .* without a path, query or fragment/],
    [{ host: 'rpa example' }, /--host "rpa example" is not a host name/],
  ])('refuses %p, naming the option and the value', (bad, message) => {
    expect(() => writeConnector({ out: path.join(tmp(), 'c'), ...OPTIONS, ...bad })).toThrow(message);
  });

  test('replaces an earlier connector in the folder', () => {
    const out = path.join(tmp(), 'c');
    writeConnector({ out, ...OPTIONS, host: 'old.example.net' });
    writeConnector({ out, ...OPTIONS });
    expect(read(path.join(out, 'apiDefinition.swagger.json')).host).toBe('rpa.example.net');
    expect(fs.readdirSync(path.dirname(out))).toEqual(['c']);
  });

  test('refuses a folder holding other files, and leaves it as it was', () => {
    const out = tmp();
    fs.writeFileSync(path.join(out, 'notes.md'), 'mine');
    expect(() => writeConnector({ out, ...OPTIONS })).toThrow(/holds other files \(notes\.md\)/);
    expect(fs.readdirSync(out)).toEqual(['notes.md']);
  });

  test('a write that fails halfway leaves the earlier connector as it was, and no staging folder', () => {
    const out = path.join(tmp(), 'c');
    writeConnector({ out, ...OPTIONS, host: 'old.example.net' });
    const before = fs.readFileSync(path.join(out, 'apiDefinition.swagger.json'), 'utf8');
    const real = fs.writeFileSync;
    let writes = 0;
    const spy = jest.spyOn(require('fs'), 'writeFileSync').mockImplementation((...args: unknown[]) => {
      if (++writes === 2) throw new Error('disk full');
      return (real as (...a: unknown[]) => void)(...args);
    });
    try {
      expect(() => writeConnector({ out, ...OPTIONS })).toThrow(/cannot write the connector beside .*: disk full/);
    } finally {
      spy.mockRestore();
    }
    expect(fs.readFileSync(path.join(out, 'apiDefinition.swagger.json'), 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['c']);
  });

  test('the command prints where it wrote and how to create the connector, and fails naming what is missing', () => {
    const cli = path.resolve(__dirname, '..', '..', '..', 'dist/runtime/cli/main.js');
    const out = path.join(tmp(), 'c');
    const ok = spawnSync(process.execPath, [cli, 'connector', '--out', out, '--client-id', CLIENT, '--resource-uri', 'api://hosted-bots', '--tenant', TENANT], { encoding: 'utf8', env: { ...process.env } });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/wrote .*apiDefinition\.swagger\.json\nwrote .*apiProperties\.json\n/);
    expect(ok.stdout).toMatch(/no --host: enter the runtime's host/);
    expect(ok.stdout).toMatch(/pac connector create --api-definition-file/);
    const missing = spawnSync(process.execPath, [cli, 'connector', '--out', path.join(tmp(), 'd')], { encoding: 'utf8', env: { ...process.env } });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot write the connector:\n {2}--client-id is required/);
  });
});
