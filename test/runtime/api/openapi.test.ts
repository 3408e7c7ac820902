/**
 * The OpenAPI 3.1 document: valid by the OpenAPI schema validator, served at /v1/openapi.json
 * without a token, and true to the routes: every operation it lists is served with the access
 * policy the registry gives it, and a request built from the document alone (its required
 * fields, then every field) is accepted by a running runtime, whose answer has the documented
 * status and shape.
 */
import { z } from 'zod';
import { JsonSchema, OPENAPI_PATH, openApiDocument } from '../../../runtime/api/openapi';
import { Operation, OPERATION_LIST } from '../../../runtime/api/operations';
import { WEBHOOK_EVENT_TYPES } from '../../../runtime/api/webhook-schemas';
import { startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';
import { validateOpenApi } from '../../helpers/openapi-validator';

type DocOperation = { operationId: string; parameters?: Array<Record<string, any>>; requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> } };

/**
 * A value the schema accepts: its example, its first allowed value, or the least it allows.
 * `full` fills optional fields too. A pattern without an example is a gap in the registry: the
 * document would leave a client guessing, so it fails here.
 */
function exampleOf(schema: JsonSchema, full: boolean, where: string): unknown {
  const examples = schema.examples as unknown[] | undefined;
  if (examples?.length) return examples[0];
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return schema.default;
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union) return exampleOf(union.find((s) => s.type !== 'null') ?? union[0], full, where);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const required = (schema.required as string[] | undefined) ?? [];
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      return Object.fromEntries(
        Object.entries(properties)
          .filter(([name]) => full || required.includes(name))
          .map(([name, s]) => [name, exampleOf(s, full, `${where}.${name}`)]),
      );
    }
    case 'array':
      return Array.from({ length: Math.max(Number(schema.minItems ?? 0), full ? 1 : 0) }, () => exampleOf(schema.items as JsonSchema, full, `${where}[]`));
    case 'string':
      if (schema.pattern) throw new Error(`${where} has a pattern (${String(schema.pattern)}) but no example: give its schema examples`);
      if (schema.format === 'date-time') return new Date(0).toISOString();
      if (schema.format === 'uri') return 'https://example.com/hook';
      return 'x'.repeat(Math.max(Number(schema.minLength ?? 1), 1));
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 0);
    case 'boolean':
      return true;
    default:
      return {};
  }
}

describe('OpenAPI 3.1 document', () => {
  let t: TestFleet;
  const document = openApiDocument() as { paths: Record<string, Record<string, DocOperation>> };
  const declared = () => (t.fleet.runtime.app as unknown as { accessPolicies: ReadonlyMap<string, string> }).accessPolicies;
  const key = (op: Operation) => `${op.method.toUpperCase()} ${op.path}`;

  beforeAll(async () => {
    t = await startTestFleet();
  }, 30_000);
  afterAll(async () => t.stop());

  test('is valid OpenAPI 3.1 by the OpenAPI schema validator', async () => {
    const result = await validateOpenApi(document);
    expect([result.valid, result.version, result.errors]).toEqual([true, '3.1', undefined]);
  });

  test('lists each operation of the registry once, with a summary and a description, under its path', () => {
    const listed = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`));
    expect(listed.sort()).toEqual(OPERATION_LIST.map((op) => `${op.method.toUpperCase()} ${op.path.replace(/:(\w+)/g, '{$1}')} ${op.id}`).sort());
    expect(new Set(OPERATION_LIST.map((op) => op.id)).size).toBe(OPERATION_LIST.length);
    for (const op of OPERATION_LIST) expect([op.id, op.summary.length > 0, op.description.length > 0]).toEqual([op.id, true, true]);
  });

  test('describes the payload of every webhook event type a subscription can ask for', () => {
    const webhooks = openApiDocument().webhooks as Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: { type: { enum?: string[]; const?: string } } } }> } } }>;
    const types = Object.values(webhooks).flatMap((w) => {
      const type = w.post.requestBody.content['application/json'].schema.properties.type;
      return type.enum ?? (type.const ? [type.const] : []);
    });
    expect(types.sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });

  test('leaves out the bot agent, /healthz and /metrics, which clients do not call', () => {
    expect(Object.keys(document.paths).filter((p) => p.startsWith('/v1/agent') || p === '/healthz' || p === '/metrics')).toEqual([]);
  });

  test('the runtime serves it at /v1/openapi.json without a token, holding nothing of the environment', async () => {
    const res = await fetch(`${t.fleet.url}${OPENAPI_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await res.json()) as Record<string, unknown>;
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(served.servers).toBeUndefined();
    const text = JSON.stringify(served);
    for (const name of ['finance', 'sales', 'invoice-entry', 'lead-sync', t.fleet.manifest.environment.name]) expect(text).not.toContain(`"${name}"`);
  });

  test('the router serves every operation, with the access policy the registry gives it', () => {
    const policies = declared();
    expect(OPERATION_LIST.map((op) => [op.id, policies.get(key(op))])).toEqual(OPERATION_LIST.map((op) => [op.id, op.access]));
  });

  describe('a request the document allows is accepted, and answered as documented', () => {
    /** Calls as the environment admin, who may do everything the document lists. */
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => t.api(method, path, body, USERS.admin, headers);
    const byId = (id: string) => OPERATION_LIST.find((op) => op.id === id)!;
    const docOp = (op: Operation) => document.paths[op.path.replace(/:(\w+)/g, '{$1}')][op.method];

    /** A value from the list an `x-ms-dynamic-values` names, as a connector would offer it. */
    async function dynamicValue(spec: { operationId: string; 'value-collection': string; 'value-path': string; parameters?: Record<string, { parameter: string }> }, known: Record<string, string>) {
      const lister = byId(spec.operationId);
      const path = lister.path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(known[spec.parameters?.[name]?.parameter ?? name]));
      const res = await call('GET', path);
      expect([spec.operationId, res.status]).toEqual([spec.operationId, 200]);
      const first = res.body[spec['value-collection']][0];
      expect(first).toBeDefined();
      return String(first[spec['value-path']]);
    }

    /** A group the caller may use, as the connector's group lists offer it. */
    const someGroup = () => dynamicValue(docOp(byId('StartRun')).parameters!.find((p) => p.name === 'group')!['x-ms-dynamic-values'], {});

    /** A queued run, which stays queued: its group is paused first. */
    async function queuedRun(): Promise<string> {
      const group = await someGroup();
      expect((await call('POST', `/v1/groups/${group}/pause`)).status).toBe(200);
      const flow = (await call('GET', `/v1/groups/${group}/flows`)).body.flows[0].name;
      const res = await call('POST', `/v1/groups/${group}/runs`, { flow });
      expect(res.status).toBe(202);
      return res.body.id;
    }

    /** A webhook subscription of the group, made as the document describes (for when its routes are served). */
    async function subscription(group: string): Promise<string> {
      const schema = docOp(byId('SubscribeRunFinished')).requestBody!.content['application/json'].schema;
      const res = await call('POST', `/v1/groups/${group}/webhooks`, exampleOf(schema, false, 'SubscribeRunFinished body'));
      expect(res.status).toBe(201);
      return String(res.headers.get('location')).split('/').pop()!;
    }

    /** The request the document describes for `op`: path, query, headers and body, each from its schema. */
    async function request(op: Operation, full: boolean) {
      const doc = docOp(op);
      const known: Record<string, string> = {};
      const query = new URLSearchParams();
      const headers: Record<string, string> = {};
      for (const p of doc.parameters ?? []) {
        if (p.in !== 'path' && !p.required && !full) continue;
        let value: string;
        if (p['x-ms-dynamic-values']) value = await dynamicValue(p['x-ms-dynamic-values'], known);
        else if (p.in === 'path' && p.name === 'id' && op.tag === 'Runs') value = await queuedRun();
        else if (p.in === 'path' && p.name === 'id' && op.tag === 'Webhooks') value = await subscription(known.group);
        else value = String(exampleOf(p.schema, full, `${op.id} ${p.in} ${p.name}`));
        known[p.name] = value;
        if (p.in === 'path') continue;
        if (p.in === 'query') query.set(p.name, value);
        else headers[p.name] = value;
      }
      let body: unknown;
      const bodySchema = doc.requestBody?.content['application/json'].schema;
      if (bodySchema && (doc.requestBody!.required || full)) {
        body = exampleOf(bodySchema, full, `${op.id} body`);
        for (const [name, field] of Object.entries((bodySchema.properties ?? {}) as Record<string, JsonSchema>)) {
          const dynamic = field['x-ms-dynamic-values'] as Parameters<typeof dynamicValue>[0] | undefined;
          if (dynamic && name in (body as object)) (body as Record<string, unknown>)[name] = await dynamicValue(dynamic, known);
        }
      }
      const path = op.path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(known[name]));
      return { path: query.size ? `${path}?${query}` : path, body, headers };
    }

    const served = () => OPERATION_LIST.filter((op) => declared().has(`${op.method.toUpperCase()} ${op.path}`));

    test.each([
      ['only its required fields', false],
      ['every field it lists', true],
    ])('with %s, for every served operation', async (_name, full) => {
      const refused: string[] = [];
      for (const op of served()) {
        const { path, body, headers } = await request(op, full);
        const res = await call(op.method.toUpperCase(), path, body, headers);
        const answer = op.answers[res.status];
        if (!answer) {
          refused.push(`${op.id} ${op.method.toUpperCase()} ${path} ${JSON.stringify(body ?? null)}: ${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        if (answer.schema) {
          const parsed = (answer.schema as z.ZodType).safeParse(res.body);
          if (!parsed.success) refused.push(`${op.id}: the ${res.status} answer is not as documented: ${parsed.error.message}`);
        }
      }
      expect(refused).toEqual([]);
    }, 60_000);

    test('every operation of the document is among those sent', () => {
      expect(served().map((op) => op.id)).toEqual(OPERATION_LIST.map((op) => op.id));
    });
  });
});
