import { spawn } from 'node:child_process';

/**
 * Validates an OpenAPI document with @apidevtools/swagger-parser in a child Node process: its
 * json-schema-ref-parser dependency is ES modules only, which Node's own require loads (Node
 * 20.19+, require(esm)) but Jest's CommonJS module registry cannot. Resolves with the validator's
 * error message, or undefined when the document is valid.
 */
const SCRIPT = `
const SwaggerParser = require('@apidevtools/swagger-parser');
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (text += chunk));
process.stdin.on('end', () => {
  SwaggerParser.validate(JSON.parse(text)).then(
    (api) => process.stdout.write(JSON.stringify({ ok: true, openapi: api.openapi })),
    (error) => process.stdout.write(JSON.stringify({ ok: false, message: String(error && error.message) })),
  );
});
`;

export function swaggerParserValidate(document: unknown): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', SCRIPT], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const result = JSON.parse(out) as { ok: boolean; openapi?: string; message?: string };
        resolve(result.ok ? undefined : result.message);
      } catch {
        reject(new Error(`swagger-parser exited ${code} without an answer: ${out.slice(0, 300)}`));
      }
    });
    child.stdin.end(JSON.stringify(document));
  });
}
