/**
 * Reading a request: zod schemas shared by the routes and the gate, and the 400 that names every
 * bad field.
 */
import { z } from 'zod';
import { badRequest } from '../errors';
import { PRIORITIES } from '../domain/run';

function zodMessage(error: z.ZodError, field: string): string {
  return error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `${i.keys.join(', ')}: unknown field${i.keys.length > 1 ? 's' : ''}`;
      return `${i.path.length ? i.path.join('.') : field}: ${i.message}`;
    })
    .join('; ');
}

/** Validates a body (or a header or path parameter, named by `field`); 400 names every bad field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, field = 'body'): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw badRequest('invalid_request', zodMessage(result.error, field));
  return result.data;
}

/** The most items one page of a list (the history, the queue, the audit trail) holds. */
export const PAGE_LIMIT = 200;

export const priority = z.enum(PRIORITIES as [string, ...string[]], { message: `must be one of ${PRIORITIES.join(', ')}` });
/** Actions take no body; a body with fields is a malformed request. */
export const emptyBody = z.object({}).strict();
export const botId = z.string().regex(/^bot_[0-9a-f]{24}$/, 'must be a bot ID (bot_ and 24 hex digits)');
export const runId = z.string().regex(/^run_[0-9a-f]{24}$/, 'must be a run ID (run_ and 24 hex digits)');
