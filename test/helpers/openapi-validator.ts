/**
 * Validates an OpenAPI document (2.0, 3.0 or 3.1) with @seriousme/openapi-schema-validator,
 * which checks it against the specification's own JSON Schema. The package is ESM only, which
 * jest's CommonJS runtime cannot load, so it runs in a child Node.js process.
 */
import { execFile } from 'child_process';
import * as path from 'path';

export interface ValidationResult {
  readonly valid: boolean;
  /** The specification version the validator read the document as, e.g. "2.0" or "3.1". */
  readonly version?: string;
  readonly errors?: unknown;
}

const SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors }));
`;

export function validateOpenApi(document: unknown): Promise<ValidationResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: path.join(__dirname, '..', '..'), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the OpenAPI validator failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as ValidationResult);
    });
    child.stdin!.end(JSON.stringify(document));
  });
}
