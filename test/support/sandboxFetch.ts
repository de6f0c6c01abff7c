import https from 'node:https';
import type { ArmFetch } from '../../scripts/deploy/arm';

/**
 * A fetch for code that takes one (scripts/deploy/arm.ts `armClient`), over node:https trusting the
 * sandbox CA: Node's global fetch reads NODE_EXTRA_CA_CERTS only when the process starts and takes
 * no per-request CA (its undici dispatcher is not importable here), so a test that starts the
 * sandbox cannot reach the emulators with it. The answer is a standard Response.
 */
export function sandboxFetch(caPem: string): ArmFetch {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const request = https.request(url, { method: init.method, headers: init.headers, ca: caPem }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
          }
          const status = response.statusCode ?? 0;
          // A null-body status takes no body (Fetch standard).
          resolve(new Response([101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status, statusText: response.statusMessage, headers }));
        });
      });
      request.on('error', reject);
      request.end();
    });
}
