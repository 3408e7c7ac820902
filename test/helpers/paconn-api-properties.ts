/**
 * Validates an apiProperties.json against the parts of paconn's JSON Schema for it that the
 * connector's file uses: the top level, `properties`, and its connection parameters. From
 * microsoft/PowerPlatformConnectors, schemas/paconn-apiProperties.schema.json (commit
 * 04b4ff2439e15c97f9b0d29e08d16f2afac7af9d; the repository's code is under the MIT License, its
 * LICENSE-CODE file). Left out: the `id` annotation and the policy template definitions
 * (`PolicyTemplateInstance` and the per-template ones), which only matter for a file with policy
 * templates; the connector's list of them is empty, which its test checks.
 */
import Ajv, { ErrorObject } from 'ajv';

export const PACONN_API_PROPERTIES_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'The JSON schema for the apiProperties.json files managed by the paconn tool.',
  type: 'object',
  required: ['properties'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    properties: {
      type: 'object',
      required: ['iconBrandColor'],
      additionalProperties: false,
      properties: {
        iconBrandColor: { type: 'string' },
        capabilities: { type: 'array', items: { type: 'string' } },
        connectionParameters: { type: 'object', additionalProperties: { $ref: '#/definitions/ConnectionParameter' } },
        policyTemplateInstances: { type: 'array' },
      },
    },
  },
  definitions: {
    ConnectionParameter: { type: 'object' },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(PACONN_API_PROPERTIES_SCHEMA);

/** The schema's complaints about `document`, each as "<path> <message>"; empty when it is valid. */
export function apiPropertiesErrors(document: unknown): string[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message}${e.keyword === 'additionalProperties' ? `: ${String(e.params.additionalProperty)}` : ''}`);
}
