import { app } from '@azure/functions';
import { serveDashboard } from '../http/dashboard';
import { guarded } from '../http/guarded';
import { apiAuthLevel } from './httpAuth';

// The dashboard's page, script and style sheet. Anonymous: they hold no data and no secret; the
// API calls they make carry the caller's own credentials (see src/http/dashboard.ts).
app.http('Dashboard', {
  route: 'dashboard/{file?}',
  methods: ['GET'],
  authLevel: apiAuthLevel('public'),
  handler: guarded(async (request) => serveDashboard(request), { access: 'public' }),
});
