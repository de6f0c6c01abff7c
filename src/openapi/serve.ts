import type { HttpResponseInit } from '@azure/functions';
import { openApiDocument } from './document';

/** GET /api/openapi.json: the document, serialised once (it never changes while the app runs). */
const body = JSON.stringify(openApiDocument);

export async function serveOpenApiDocument(): Promise<HttpResponseInit> {
  return { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' }, body };
}
