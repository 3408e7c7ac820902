/**
 * An error a client sees: an HTTP status, a stable code, and a message that says what was wrong
 * and what to do next. Anything else that escapes a handler is logged and answered as a bare 500.
 */
export class RuntimeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export const badRequest = (code: string, message: string) => new RuntimeError(400, code, message);
export const unauthorized = (message = 'send Authorization: Bearer <token>') => new RuntimeError(401, 'unauthorized', message);
export const forbidden = (message: string) => new RuntimeError(403, 'forbidden', message);
export const notFound = (code: string, message: string) => new RuntimeError(404, code, message);
export const conflict = (code: string, message: string) => new RuntimeError(409, code, message);
export const unprocessable = (code: string, message: string) => new RuntimeError(422, code, message);
