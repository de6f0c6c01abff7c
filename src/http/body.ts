import type { HttpRequest } from '@azure/functions';
import type { Parsed } from '../domain/requests';

const MAX_BODY_BYTES = 1024 * 1024;

/** The request body as JSON, or a field error saying why it is not. */
export async function readJsonBody(request: HttpRequest): Promise<Parsed<unknown>> {
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    return { ok: false, errors: [{ field: '(body)', reason: `is larger than ${MAX_BODY_BYTES} bytes` }] };
  }
  if (!text.trim()) return { ok: false, errors: [{ field: '(body)', reason: 'is empty; send a JSON object' }] };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, errors: [{ field: '(body)', reason: 'is not valid JSON' }] };
  }
}
