// GET /api/operations/{instanceId}: an operation's status under the function key (src/http/operationStatus.ts).
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { guarded } from '../http/guarded';
import { operationStatus } from '../http/operationStatus';
import { apiAuthLevel } from './httpAuth';

app.http('OperationStatus', {
  route: 'operations/{instanceId}',
  methods: ['GET'],
  authLevel: apiAuthLevel('read'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(operationStatus, { access: 'read' }),
});
