import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { problemResponse } from './problem';

/**
 * GET /api/dashboard[/{file}]: the dashboard's three static files, built by scripts/dashboard.ts
 * next to the app's entry (dist/dashboard in both the compiled tree and the deployment package).
 * The page holds no secret and no data: every figure comes from the API with the caller's own
 * credentials (the function key, or App Service Authentication's session), so serving it needs none.
 */
const CONTENT_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/**
 * Only the app's own files and its own API: no inline script or style, no other origin (the
 * status links the API hands out are on this same origin), never framed.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface StaticFile {
  body: Buffer;
  etag: string;
}

let files: Map<string, StaticFile> | undefined;

/** The built folder: dist/dashboard above this module (compiled: dist/src/http; bundled: dist). */
function dashboardDir(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'dashboard');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Read once per process: the files never change while it runs. */
function loadFiles(): Map<string, StaticFile> | undefined {
  if (files) return files;
  const dir = dashboardDir();
  if (!dir) return undefined;
  files = new Map(
    Object.keys(CONTENT_TYPES).map((name) => {
      const body = fs.readFileSync(path.join(dir, name));
      return [name, { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }];
    }),
  );
  return files;
}

export async function serveDashboard(request: HttpRequest): Promise<HttpResponseInit> {
  const name = request.params.file || 'index.html';
  const contentType = CONTENT_TYPES[name];
  if (!contentType) return problemResponse(404, 'Not found', `The dashboard has no file ${JSON.stringify(name.slice(0, 64))}; open /api/dashboard.`);
  const file = loadFiles()?.get(name);
  if (!file) return problemResponse(404, 'Dashboard not built', 'This deployment has no dashboard files; build it with npm run build.');
  const headers = {
    'Content-Type': contentType,
    ETag: file.etag,
    // Revalidated on every load, so a deployment's new files are used at once (the ETag keeps it cheap).
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  if (request.headers.get('if-none-match') === file.etag) return { status: 304, headers };
  return { status: 200, headers, body: file.body };
}
