/**
 * The Power Platform custom connector (Power Automate, Logic Apps, Copilot Studio), generated
 * from the operation registry (operations.ts), as the OpenAPI 3.1 document is:
 * - `apiDefinition.swagger.json`: Swagger 2.0, the only version custom connectors import, with the
 *   connector extensions of "Extend an OpenAPI definition for a custom connector" (Microsoft
 *   Learn): `x-ms-summary`, `x-ms-visibility`, `x-ms-dynamic-values`, and a webhook trigger
 *   (`x-ms-trigger`, `x-ms-notification-url`) as "Create a webhook trigger" describes it: the
 *   subscription answers 201 with a `Location` the platform DELETEs when the trigger is removed.
 * - `apiProperties.json`: OAuth 2.0 with Microsoft Entra ID (identity provider `aad`) against the
 *   runtime's app registration, in the shape of the paconn schema
 *   (microsoft/PowerPlatformConnectors, schemas/paconn-apiProperties.schema.json) and the certified
 *   connectors that sign in with Entra ID there.
 * Operations the connector leaves out (the co-owners' queue actions, the audit trail) stay in the
 * OpenAPI document.
 */
import { z } from 'zod';
import { API_VERSION, bodyRequired, dynamicValuesOf, Field, fieldsOf, JsonSchema, jsonSchemaOf } from './openapi';
import { documentPath, dynamicValuesFor, Operation, OPERATION_LIST } from './operations';
import { errorSchema } from './view-schemas';

/** The files of a connector, as `paconn` and the import of Power Automate read them. */
export const CONNECTOR_FILES = { definition: 'apiDefinition.swagger.json', properties: 'apiProperties.json' } as const;

export interface ConnectorOptions {
  /** The runtime's host name (and port), as Swagger 2.0's `host` has it. @default none: set it when importing */
  readonly host?: string;
  /** The app registration the connector signs users in with (its application ID). */
  readonly clientId: string;
  /** What the tokens are for: the runtime's audience (its `--entra-audience`), as the tokens carry it in `aud`. */
  readonly resourceUri: string;
  /** The directory (tenant) users sign in to: the runtime's `--entra-tenant`. */
  readonly tenantId: string;
}

/** Swagger 2.0 has no `null` type, `const`, `anyOf` or `examples`: the schema in the words it has. */
export function swaggerSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  let nullable = false;
  let source = schema;
  // anyOf [X, {type: null}] is a nullable X; other unions become one object with every field of each.
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union) {
    const members = union.filter((m) => m.type !== 'null');
    nullable = members.length < union.length;
    const merged: JsonSchema =
      members.length === 1
        ? members[0]
        : { type: 'object', properties: Object.assign({}, ...members.map((m) => m.properties ?? {})) };
    const { anyOf: _a, oneOf: _o, ...rest } = schema;
    source = { ...merged, ...rest };
  }
  for (const [key, value] of Object.entries(source)) {
    switch (key) {
      case 'type':
        if (Array.isArray(value)) {
          const types = value.filter((t) => t !== 'null');
          nullable ||= types.length < value.length;
          if (types.length === 1) out.type = types[0];
        } else if (value !== 'null') {
          out.type = value;
        }
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'examples':
        if (Array.isArray(value) && value.length) out.example = value[0];
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
        out[key] = true;
        break;
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, s]) => [name, swaggerSchema(s)]));
        break;
      case 'items':
        out.items = swaggerSchema(value as JsonSchema);
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'object' && value !== null ? swaggerSchema(value as JsonSchema) : value;
        break;
      case 'allOf':
        out.allOf = (value as JsonSchema[]).map(swaggerSchema);
        break;
      case 'title':
        out.title = value;
        // The label the designer shows for the field (x-ms-summary).
        out['x-ms-summary'] = value;
        break;
      case 'pattern':
        // A date-time's pattern repeats its format, at length.
        if (source.format !== 'date-time') out.pattern = value;
        break;
      case 'propertyNames':
      case 'id':
      case '$id':
        break;
      default:
        out[key] = value;
    }
  }
  if (nullable) out['x-nullable'] = true;
  return out;
}

/** A path, query or header parameter: Swagger 2.0 puts the schema's words on the parameter itself. */
function parameter(op: Operation, where: 'path' | 'query' | 'header', field: Field) {
  const { title, description, example: _example, 'x-nullable': _nullable, 'x-ms-summary': _summary, ...schema } = swaggerSchema(jsonSchemaOf(field.schema, 'input'));
  const dynamic = dynamicValuesFor(op, field.name);
  return {
    name: field.name,
    in: where,
    required: where === 'path' || field.required,
    ...schema,
    ...(title ? { 'x-ms-summary': title } : {}),
    ...(description ? { description } : {}),
    // A group or run ID goes into the path as one segment, encoded once.
    ...(where === 'path' ? { 'x-ms-url-encoding': 'single' } : {}),
    ...(where === 'header' ? { 'x-ms-visibility': 'advanced' } : {}),
    ...(dynamic ? { 'x-ms-dynamic-values': dynamicValuesOf(dynamic) } : {}),
  };
}

/** The body parameter: the schema with its fields' lists, and a trigger's callback URL and fixed values. */
function bodyParameter(op: Operation) {
  const schema = swaggerSchema(jsonSchemaOf(op.body!, 'input'));
  const properties = { ...(schema.properties as Record<string, JsonSchema>) };
  for (const [name, dynamic] of Object.entries(op.connector?.dynamicValues ?? {})) {
    if (properties[name]) properties[name] = { ...properties[name], 'x-ms-dynamic-values': dynamicValuesOf(dynamic) };
  }
  const trigger = op.connector?.trigger;
  if (trigger) {
    properties[trigger.notificationUrl] = { ...properties[trigger.notificationUrl], 'x-ms-notification-url': true, 'x-ms-visibility': 'internal' };
    for (const [name, value] of Object.entries(trigger.fixed)) properties[name] = { ...properties[name], default: value, 'x-ms-visibility': 'internal' };
  }
  return { name: 'body', in: 'body', required: bodyRequired(op), 'x-ms-summary': 'Request', description: 'The fields of the request', schema: { ...schema, properties } };
}

/** Whether the body has fields to ask for: a body that must be empty is not shown. */
const hasFields = (op: Operation) => op.body !== undefined && Object.keys((jsonSchemaOf(op.body, 'input').properties as object | undefined) ?? {}).length > 0;

function connectorOperation(op: Operation) {
  const trigger = op.connector?.trigger;
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.answers)) {
    // A trigger's answer schema is what each notification carries: the flow's trigger outputs.
    const schema = trigger ? trigger.event : answer.schema;
    responses[status] = {
      description: answer.description,
      ...(schema ? { schema: swaggerSchema(jsonSchemaOf(schema as z.ZodType, 'output')) } : {}),
      ...(answer.headers ? { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, description]) => [name, { description, type: 'string' }])) } : {}),
    };
  }
  responses.default = { description: 'An error', schema: swaggerSchema(jsonSchemaOf(errorSchema, 'output')) };
  const parameters = [
    ...fieldsOf(op.params).map((f) => parameter(op, 'path', f)),
    ...fieldsOf(op.query).map((f) => parameter(op, 'query', f)),
    ...fieldsOf(op.headers).map((f) => parameter(op, 'header', f)),
    ...(hasFields(op) ? [bodyParameter(op)] : []),
  ];
  return {
    operationId: op.id,
    summary: op.summary,
    description: op.description,
    ...(op.connector?.visibility ? { 'x-ms-visibility': op.connector.visibility } : {}),
    ...(trigger ? { 'x-ms-trigger': 'single', 'x-ms-trigger-hint': 'To see it work, start a run of the group and let it finish' } : {}),
    parameters,
    responses,
  };
}

/** `apiDefinition.swagger.json`: the registry's connector operations in Swagger 2.0. */
export function connectorDefinition(options: Pick<ConnectorOptions, 'host' | 'tenantId'>): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATION_LIST.filter((o) => o.connector)) {
    const path = documentPath(op.path);
    paths[path] = { ...paths[path], [op.method]: connectorOperation(op) };
  }
  const authority = `https://login.microsoftonline.com/${options.tenantId}/oauth2`;
  return {
    swagger: '2.0',
    info: {
      title: 'Hosted RPA bots',
      description: 'Start runs of unattended RPA flows on your bot groups, follow them, cancel them, and start a flow when a run finishes.',
      version: API_VERSION,
    },
    ...(options.host ? { host: options.host } : {}),
    basePath: '/',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths,
    // The sign-in itself is apiProperties.json's; this only says the operations need it.
    securityDefinitions: { oauth2_auth: { type: 'oauth2', flow: 'accessCode', authorizationUrl: `${authority}/authorize`, tokenUrl: `${authority}/token`, scopes: {} } },
    security: [{ oauth2_auth: [] }],
  };
}

/**
 * `apiProperties.json`: each connection signs its user in with Entra ID. Fields as in the paconn
 * schema and the Entra ID connectors of microsoft/PowerPlatformConnectors:
 * - `identityProvider: aad` with `customParameters` `loginUri`, `tenantId` and `resourceUri`: the
 *   platform asks Entra ID for a token whose audience is the runtime's, which the runtime checks
 *   (runtime/api/auth.ts accepts the v1 and v2 issuers of the tenant);
 * - `scopes` stay empty: the `aad` provider asks for the resource, not for scopes;
 * - `redirectMode: GlobalPerConnector`: the redirect URI is the connector's own
 *   (https://global.consent.azure-apim.net/redirect/<connector>), which the app registration lists.
 */
export function connectorProperties(options: Pick<ConnectorOptions, 'clientId' | 'resourceUri' | 'tenantId'>): Record<string, unknown> {
  return {
    properties: {
      connectionParameters: {
        token: {
          type: 'oauthSetting',
          oAuthSettings: {
            identityProvider: 'aad',
            clientId: options.clientId,
            scopes: [],
            redirectMode: 'GlobalPerConnector',
            redirectUrl: 'https://global.consent.azure-apim.net/redirect',
            properties: { IsFirstParty: 'False', AzureActiveDirectoryResourceId: options.resourceUri },
            customParameters: {
              loginUri: { value: 'https://login.microsoftonline.com' },
              tenantId: { value: options.tenantId },
              resourceUri: { value: options.resourceUri },
            },
          },
          uiDefinition: {
            displayName: 'Sign in with Microsoft Entra ID',
            description: 'Sign in with the account the runtime knows you by',
            tooltip: 'Your Entra ID account, which the groups you use list (or an app role they list)',
            constraints: { required: 'true' },
          },
        },
      },
      iconBrandColor: '#0f6cbd',
      capabilities: [],
      policyTemplateInstances: [],
    },
  };
}

/** The longest summary the connector guidelines allow. */
export const SUMMARY_MAX = 80;

/**
 * What a connector definition lacks that the custom connector docs ask for: a summary and a
 * description on every operation, and an `x-ms-summary` on every parameter and every field of a
 * body. Empty when there is nothing to fix.
 */
export function connectorProblems(definition: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const text = (v: unknown) => typeof v === 'string' && v.trim().length > 0;
  for (const [path, item] of Object.entries((definition.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, op] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${path} (${String(op.operationId ?? 'no operationId')})`;
      if (!text(op.operationId)) problems.push(`${where}: no operationId`);
      if (!text(op.summary)) problems.push(`${where}: no summary`);
      else if ((op.summary as string).length > SUMMARY_MAX) problems.push(`${where}: summary longer than ${SUMMARY_MAX} characters`);
      if (!text(op.description)) problems.push(`${where}: no description`);
      for (const p of (op.parameters ?? []) as Array<Record<string, unknown>>) {
        if (!text(p['x-ms-summary'])) problems.push(`${where}: parameter ${String(p.name)} has no x-ms-summary`);
        if (!text(p.description)) problems.push(`${where}: parameter ${String(p.name)} has no description`);
        const fields = ((p.schema as JsonSchema | undefined)?.properties ?? {}) as Record<string, JsonSchema>;
        for (const [name, field] of Object.entries(fields)) if (!text(field['x-ms-summary'])) problems.push(`${where}: body field ${name} has no x-ms-summary`);
      }
    }
  }
  return problems;
}
