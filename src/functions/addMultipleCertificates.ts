import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { guarded } from '../http/guarded';
import { apiAuthLevel } from './httpAuth';
import { addMultipleCertificatesStarter } from '../http/addMultipleCertificatesStarter';
import { addMultipleCertificatesOrchestrator } from '../orchestrators/addMultipleCertificates';
import { Orchestrators } from './names';

app.http('AddMultipleCertificatesFunctions_HttpStart', {
  methods: ['POST'],
  authLevel: apiAuthLevel('write'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(addMultipleCertificatesStarter, { access: 'write' }),
});

df.app.orchestration(Orchestrators.AddMultipleCertificates, addMultipleCertificatesOrchestrator);
