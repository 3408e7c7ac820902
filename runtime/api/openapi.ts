/**
 * The API's OpenAPI 3.1 document, generated from the operation registry (operations.ts) with
 * zod's JSON Schema output (2020-12, the dialect OpenAPI 3.1 uses), so it says what the routes
 * validate with. The runtime serves it at GET /v1/openapi.json; the Power Platform connector
 * (connector.ts) is generated from the same registry.
 */
import { z } from 'zod';
import { documentPath, DynamicValues, dynamicValuesFor, Operation, OPERATION_LIST } from './operations';
import { errorSchema } from './view-schemas';
import { provisioningErrorEventSchema, queueWaitEventSchema, webhookEventSchema } from './webhook-schemas';

export type JsonSchema = Record<string, unknown>;

/** The path the runtime serves the document at. */
export const OPENAPI_PATH = '/v1/openapi.json';

/**
 * A zod schema as JSON Schema: what a request may send (`input`: before coercion and defaults),
 * or what an answer holds (`output`). Types JSON cannot express (a transform's result) are left
 * open rather than refused.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

/** A field of an object schema: its name, its schema, and whether a request must send it. */
export interface Field {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly required: boolean;
}

/** The fields of a path, query or header schema; a field that accepts nothing (undefined) is optional. */
export function fieldsOf(schema: z.ZodObject | undefined): Field[] {
  if (!schema) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({ name, schema: field, required: !field.safeParse(undefined).success }));
}

/** Whether a request must send a body: the body schema refuses none. */
export const bodyRequired = (op: Operation): boolean => op.body !== undefined && !op.body.safeParse(undefined).success;

/** The documents' `info.version`: version 1 of the HTTP API (DESIGN.md §6), which only grows. */
export const API_VERSION = '1.0.0';

/**
 * `x-ms-dynamic-values`: the operation that lists a field's values, as "Use dynamic values"
 * (Microsoft Learn, custom connectors) spells it. Both documents carry it, so any client can tell
 * where a group's or a flow's name comes from.
 */
export function dynamicValuesOf(d: DynamicValues): Record<string, unknown> {
  return {
    operationId: d.operation,
    'value-collection': d.collection,
    'value-path': d.value,
    'value-title': d.title,
    ...(d.parameters ? { parameters: Object.fromEntries(Object.entries(d.parameters).map(([theirs, ours]) => [theirs, { parameter: ours }])) } : {}),
  };
}

export interface OpenApiOptions {
  /** The runtime's base URL, for `servers`. @default none (relative to where the document was read) */
  readonly serverUrl?: string;
}

function parameters(op: Operation) {
  const param = (where: 'path' | 'query' | 'header') => (f: Field) => {
    const schema = jsonSchemaOf(f.schema, 'input');
    const dynamic = dynamicValuesFor(op, f.name);
    return {
      name: f.name,
      in: where,
      required: where === 'path' || f.required,
      ...(schema.description ? { description: schema.description } : {}),
      schema,
      ...(dynamic ? { 'x-ms-dynamic-values': dynamicValuesOf(dynamic) } : {}),
    };
  };
  return [...fieldsOf(op.params).map(param('path')), ...fieldsOf(op.query).map(param('query')), ...fieldsOf(op.headers).map(param('header'))];
}

/** The body's schema, its fields marked with where their values come from. */
function bodySchema(op: Operation): JsonSchema {
  const schema = jsonSchemaOf(op.body!, 'input');
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return schema;
  const marked = { ...properties };
  for (const [name, dynamic] of Object.entries(op.connector?.dynamicValues ?? {})) {
    if (marked[name]) marked[name] = { ...marked[name], 'x-ms-dynamic-values': dynamicValuesOf(dynamic) };
  }
  return { ...schema, properties: marked };
}

function operationObject(op: Operation) {
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.answers)) {
    responses[status] = {
      description: answer.description,
      ...(answer.headers ? { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {}),
      ...(answer.schema ? { content: { 'application/json': { schema: jsonSchemaOf(answer.schema, 'output') } } } : {}),
    };
  }
  responses.default = { description: 'An error: 400 names every bad field; 401, 403, 404, 409, 413 and 429 say what to do next', content: { 'application/json': { schema: jsonSchemaOf(errorSchema, 'output') } } };
  const params = parameters(op);
  return {
    operationId: op.id,
    summary: op.summary,
    description: op.description,
    tags: [op.tag],
    ...(params.length ? { parameters: params } : {}),
    ...(op.body ? { requestBody: { required: bodyRequired(op), content: { 'application/json': { schema: bodySchema(op) } } } } : {}),
    responses,
  };
}

/** A webhook of the document: the event POSTed to a subscription's URL, with `schema` as its body. */
function webhookObject(summary: string, description: string, schema: z.ZodType): Record<string, unknown> {
  return {
    post: {
      summary,
      description,
      requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(schema, 'output') } } },
      responses: { '2XX': { description: 'Received; any other answer counts as a failed delivery' } },
    },
  };
}

/** The OpenAPI 3.1 document of every operation in the registry. */
export function openApiDocument(options: OpenApiOptions = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATION_LIST) {
    const path = documentPath(op.path);
    paths[path] = { ...paths[path], [op.method]: operationObject(op) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hosted RPA bots runtime API',
      version: API_VERSION,
      description:
        "Start and follow runs of unattended RPA flows on a fleet's bot groups. Every body is JSON; errors are { error: { code, message } }. " +
        "The bot agent's routes (/v1/agent/…), /healthz and /metrics are not part of this document.",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ bearer: [] }],
    tags: [{ name: 'Environment' }, { name: 'Groups' }, { name: 'Runs' }, { name: 'Webhooks' }],
    paths,
    webhooks: {
      runFinished: webhookObject('A run finished', 'What each subscription of POST /v1/groups/{group}/webhooks receives when a run of the group ends.', webhookEventSchema),
      provisioningError: webhookObject(
        'Azure refused to create bots',
        "What each subscription to group.provisioning_error receives when a scale-out of the group fails with Azure's error code.",
        provisioningErrorEventSchema,
      ),
      queueWaitExceeded: webhookObject(
        'A queue waits too long',
        "What each subscription to queue.wait_exceeded receives, once per episode, when the group's oldest queued run has waited longer than its waitAboveMinutes.",
        queueWaitEventSchema,
      ),
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: "A static API token, or a Microsoft Entra ID access token for the runtime's audience" },
      },
    },
  };
}
