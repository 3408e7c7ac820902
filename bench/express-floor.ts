/**
 * The floor under bench/runtime: a bare Express 5 app that parses a JSON body and answers
 * `{ ok: true }`, nothing else. Run in its own process by bench/runtime.ts, which loads it with
 * the same clients; whatever the runtime does on top of HTTP shows as the gap to this figure.
 */
import express from 'express';

const app = express();
app.use(express.json());
app.post('/echo', (_req, res) => {
  res.json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address() as import('net').AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: address.port })}\n`);
});
