import { app } from '@azure/functions';
import { guarded } from '../http/guarded';
import { apiAuthLevel } from './httpAuth';
import { serveOpenApiDocument } from '../openapi/serve';

// The API's OpenAPI 3.1 description. Anonymous by choice: it holds no secret (no keys, hosts or
// settings, only the shapes and the relative server /api), and a client generator or the dashboard
// must be able to read it before it has a key; every operation it describes keeps its own auth.
app.http('OpenApiDocument', {
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: apiAuthLevel('public'),
  handler: guarded(serveOpenApiDocument, { access: 'public' }),
});
