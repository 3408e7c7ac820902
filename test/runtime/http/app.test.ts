/**
 * The HTTP front's own backstops, on an app with a test route: the largest JSON answer it sends.
 */
import type { AddressInfo } from 'net';
import type { Server } from 'http';
import { createHttpApp, MAX_ANSWER_BYTES } from '../../../runtime/http/app';
import { Authenticator } from '../../../runtime/http/auth';
import { localManifest } from '../../../runtime/cli/local-fleet';
import { synthesizedFleetJson } from '../../helpers/local-fleet';

describe('the largest JSON answer', () => {
  const lines: { event: string; fields?: Record<string, unknown> }[] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const { manifest } = localManifest(synthesizedFleetJson());
    const front = createHttpApp({
      manifest,
      store: { getRun: async () => undefined, botByCredential: async () => undefined },
      auth: new Authenticator(manifest, []),
      log: (event, fields) => void lines.push({ event, fields }),
    });
    // An answer of exactly `bytes` bytes of JSON.
    const overhead = JSON.stringify({ text: '' }).length;
    front.route('get', '/v1/test-answer', 'anyone', front.wrap(async (req, res) => res.json({ text: 'x'.repeat(Number(req.query.bytes) - overhead) })));
    front.finish(async (_req, res, err) => void res.status(err.status).end());
    server = front.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));

  test(`an answer of ${MAX_ANSWER_BYTES} bytes is sent whole`, async () => {
    const res = await fetch(`${url}/v1/test-answer?bytes=${MAX_ANSWER_BYTES}`);
    expect([res.status, (await res.text()).length]).toEqual([200, MAX_ANSWER_BYTES]);
  });

  test(`an answer of ${MAX_ANSWER_BYTES + 1} bytes is replaced by 500 answer_too_large, and logged with its size`, async () => {
    const res = await fetch(`${url}/v1/test-answer?bytes=${MAX_ANSWER_BYTES + 1}`);
    expect([res.status, await res.json()]).toEqual([500, { error: { code: 'answer_too_large', message: `the answer would exceed ${MAX_ANSWER_BYTES} bytes; ask for a smaller page` } }]);
    expect(lines).toEqual([{ event: 'api.answer_too_large', fields: { method: 'GET', path: '/v1/test-answer', bytes: MAX_ANSWER_BYTES + 1 } }]);
  });
});
