/**
 * The Power Platform connector: valid Swagger 2.0 by the OpenAPI schema validator, a summary and
 * an x-ms-summary wherever the connector docs ask for one (and the check that says so fails on a
 * definition missing one), the actions and the "When a run finishes" trigger, lists for the group
 * and flow fields, and Entra ID sign-in against the runtime's audience, in an apiProperties.json
 * that paconn's schema for it accepts.
 */
import { connectorDefinition, connectorProblems, connectorProperties, swaggerSchema } from '../../../runtime/api/connector';
import { OPERATIONS } from '../../../runtime/api/operations';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeConnector } from '../../../runtime/cli/connector-command';
import { validateOpenApi } from '../../helpers/openapi-validator';
import { apiPropertiesErrors } from '../../helpers/paconn-api-properties';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
const AUDIENCE = 'api://hosted-bots';

type Op = { operationId: string; summary?: string; parameters: Array<Record<string, any>>; responses: Record<string, any>; [key: string]: any };
type Definition = { paths: Record<string, Record<string, Op>>; [key: string]: any };

const definition = () => connectorDefinition({ host: 'rpa.example.net', tenantId: TENANT }) as Definition;
const operation = (doc: Definition, id: string): Op => Object.values(doc.paths).flatMap((item) => Object.values(item)).find((op) => op.operationId === id)!;
const parameter = (op: Op, name: string) => op.parameters.find((p) => p.name === name)!;

describe('connector definition', () => {
  test('is valid Swagger 2.0 by the OpenAPI schema validator', async () => {
    const result = await validateOpenApi(definition());
    expect([result.valid, result.version, result.errors]).toEqual([true, '2.0', undefined]);
  });

  test('has a summary and a description on every operation, and an x-ms-summary on every parameter and body field', () => {
    expect(connectorProblems(definition())).toEqual([]);
  });

  test("the check names an operation whose summary is missing", () => {
    const doc = definition();
    delete operation(doc, 'GetRun').summary;
    expect(connectorProblems(doc)).toEqual(['GET /v1/runs/{id} (GetRun): no summary']);
  });

  test('the check names a parameter, and a body field, without an x-ms-summary', () => {
    const doc = definition();
    const start = operation(doc, 'StartRun');
    delete parameter(start, 'group')['x-ms-summary'];
    delete parameter(start, 'body').schema.properties.flow['x-ms-summary'];
    expect(connectorProblems(doc)).toEqual([
      'POST /v1/groups/{group}/runs (StartRun): parameter group has no x-ms-summary',
      'POST /v1/groups/{group}/runs (StartRun): body field flow has no x-ms-summary',
    ]);
  });

  test('the check names a summary longer than 80 characters', () => {
    const doc = definition();
    operation(doc, 'CancelRun').summary = 'Cancel '.repeat(12);
    expect(connectorProblems(doc)).toEqual(['POST /v1/runs/{id}/cancel (CancelRun): summary longer than 80 characters']);
  });

  test('offers the actions start, get and cancel a run and list a queue, and the trigger; the lists it needs are internal', () => {
    const doc = definition();
    const ops = Object.values(doc.paths).flatMap((item) => Object.values(item));
    expect(ops.map((op) => [op.operationId, op['x-ms-visibility'] ?? 'none', op['x-ms-trigger'] ?? 'action']).sort()).toEqual(
      [
        ['CancelRun', 'none', 'action'],
        ['DeleteWebhook', 'internal', 'action'],
        ['GetRun', 'important', 'action'],
        ['ListFlows', 'internal', 'action'],
        ['ListGroups', 'internal', 'action'],
        ['ListQueue', 'none', 'action'],
        ['StartRun', 'important', 'action'],
        ['SubscribeRunFinished', 'none', 'single'],
      ].sort(),
    );
    expect(doc.host).toBe('rpa.example.net');
    expect(doc.schemes).toEqual(['https']);
  });

  test("start a run takes its group and flow from the runtime's lists (x-ms-dynamic-values)", () => {
    const doc = definition();
    const start = operation(doc, 'StartRun');
    expect(parameter(start, 'group')['x-ms-dynamic-values']).toEqual({ operationId: 'ListGroups', 'value-collection': 'groups', 'value-path': 'name', 'value-title': 'name' });
    expect(parameter(start, 'body').schema.properties.flow['x-ms-dynamic-values']).toEqual({
      operationId: 'ListFlows',
      'value-collection': 'flows',
      'value-path': 'name',
      'value-title': 'name',
      parameters: { group: { parameter: 'group' } },
    });
    // The lists exist, and their items carry the field the value is read from.
    expect(operation(doc, 'ListGroups').responses['200'].schema.properties.groups.items.properties.name.type).toBe('string');
    expect(operation(doc, 'ListFlows').responses['200'].schema.properties.flows.items.properties.name.type).toBe('string');
  });

  test('"When a run finishes" subscribes the flow\'s callback URL to every end of a run, and is removed at the Location its creation answers', () => {
    const doc = definition();
    const trigger = operation(doc, 'SubscribeRunFinished');
    expect(trigger.summary).toBe('When a run finishes');
    const fields = parameter(trigger, 'body').schema.properties;
    expect([fields.url['x-ms-notification-url'], fields.url['x-ms-visibility']]).toEqual([true, 'internal']);
    expect([fields.events.default, fields.events['x-ms-visibility']]).toEqual([['run.succeeded', 'run.failed', 'run.timed_out', 'run.cancelled'], 'internal']);
    expect([fields.format.default, fields.format['x-ms-visibility']]).toEqual(['json', 'internal']);
    expect(Object.keys(trigger.responses['201'].headers)).toEqual(['Location']);
    // What the flow receives: the event, its run as GET /v1/runs/{id} answers it.
    const event = trigger.responses['201'].schema;
    expect(Object.keys(event.properties)).toEqual(['type', 'timestamp', 'data']);
    expect(Object.keys(event.properties.data.properties)).toEqual(Object.keys(operation(doc, 'GetRun').responses['200'].schema.properties));
    expect(doc.paths['/v1/groups/{group}/webhooks/{id}'].delete.operationId).toBe('DeleteWebhook');
  });

  test('leaves out what flows do not need: the co-owners\' queue actions and the audit trail', () => {
    const ids = Object.values(definition().paths).flatMap((item) => Object.values(item)).map((op) => op.operationId);
    for (const op of [OPERATIONS.moveRunToTop, OPERATIONS.pauseGroup, OPERATIONS.resumeGroup, OPERATIONS.listAuditRecords, OPERATIONS.setRunPriority]) expect(ids).not.toContain(op.id);
  });

  test('signs in with Microsoft Entra ID (OAuth 2.0) against the runtime\'s tenant', () => {
    expect(definition().securityDefinitions).toEqual({
      oauth2_auth: { type: 'oauth2', flow: 'accessCode', authorizationUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/authorize`, tokenUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/token`, scopes: {} },
    });
  });
});

describe('Swagger 2.0 schemas', () => {
  test('a nullable field is x-nullable, a constant an enum of one, examples one example', () => {
    expect(swaggerSchema({ type: ['string', 'null'], const: 'json', examples: ['json'] })).toEqual({ type: 'string', enum: ['json'], example: 'json', 'x-nullable': true });
    expect(swaggerSchema({ anyOf: [{ type: 'integer' }, { type: 'null' }], title: 'Exit code' })).toEqual({ type: 'integer', title: 'Exit code', 'x-ms-summary': 'Exit code', 'x-nullable': true });
  });

  test('a union of objects becomes one object with the fields of each', () => {
    expect(swaggerSchema({ anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'object', properties: { b: { type: 'boolean' } } }] })).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'boolean' } },
    });
  });

  test('an exclusive bound takes the boolean form of Swagger 2.0', () => {
    expect(swaggerSchema({ type: 'number', exclusiveMinimum: 0 })).toEqual({ type: 'number', minimum: 0, exclusiveMinimum: true });
  });
});

describe('connector properties', () => {
  test("sign in with the aad identity provider: the connector's app registration, the runtime's tenant, and tokens for the runtime's audience", () => {
    const settings = (connectorProperties({ clientId: CLIENT, resourceUri: AUDIENCE, tenantId: TENANT }) as any).properties.connectionParameters.token;
    expect(settings.type).toBe('oauthSetting');
    expect(settings.oAuthSettings).toMatchObject({
      identityProvider: 'aad',
      clientId: CLIENT,
      scopes: [],
      redirectMode: 'GlobalPerConnector',
      customParameters: { tenantId: { value: TENANT }, resourceUri: { value: AUDIENCE }, loginUri: { value: 'https://login.microsoftonline.com' } },
    });
  });

  test('has the fields the paconn schema requires, and no client secret', () => {
    const properties = connectorProperties({ clientId: CLIENT, resourceUri: AUDIENCE, tenantId: TENANT }) as any;
    expect(Object.keys(properties)).toEqual(['properties']);
    // The paconn schema allows no other fields under properties (schemas/paconn-apiProperties.schema.json).
    expect(Object.keys(properties.properties).filter((k) => !['iconBrandColor', 'capabilities', 'connectionParameters', 'policyTemplateInstances'].includes(k))).toEqual([]);
    expect(properties.properties.iconBrandColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(JSON.stringify(properties)).not.toMatch(/clientSecret/);
  });

  test("the apiProperties.json the connector command writes is valid under paconn's schema, and has no policy templates", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'connector-')), 'connector');
    const [, file] = writeConnector({ out, clientId: CLIENT, resourceUri: AUDIENCE, tenant: TENANT, host: 'https://rpa.example.net' });
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(apiPropertiesErrors(written)).toEqual([]);
    // The schema's policy template definitions are not in the helper's part of it: none may be needed.
    expect(written.properties.policyTemplateInstances).toEqual([]);
  });

  test("paconn's schema, as the test above uses it, refuses an unknown field under properties, a missing iconBrandColor and a connection parameter that is not an object", () => {
    const { properties } = connectorProperties({ clientId: CLIENT, resourceUri: AUDIENCE, tenantId: TENANT }) as { properties: Record<string, unknown> };
    const { iconBrandColor: _colour, ...withoutColour } = properties;
    expect(apiPropertiesErrors({ properties: { ...properties, publisher: 'Contoso' } })).toEqual(['/properties must NOT have additional properties: publisher']);
    expect(apiPropertiesErrors({ properties: withoutColour })).toEqual(["/properties must have required property 'iconBrandColor'"]);
    expect(apiPropertiesErrors({ properties: { ...properties, connectionParameters: { token: 'oauth' } } })).toEqual(['/properties/connectionParameters/token must be object']);
  });
});
