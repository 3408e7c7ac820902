/**
 * Structured logs: one JSON object per line, with the event name and the IDs involved.
 */
export type Log = (event: string, fields?: Record<string, unknown>) => void;

export const silentLog: Log = () => undefined;

/** Writes JSON lines to a stream (stderr by default). */
export function jsonLog(stream: NodeJS.WritableStream = process.stderr, base: Record<string, unknown> = {}): Log {
  return (event, fields = {}) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...base, ...fields })}\n`);
  };
}
