import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { guarded } from '../http/guarded';
import { addMultipleCertificatesStarter } from '../http/addMultipleCertificatesStarter';
import { addMultipleCertificatesOrchestrator } from '../orchestrators/addMultipleCertificates';
import { Orchestrators } from './names';

app.http('AddMultipleCertificatesFunctions_HttpStart', {
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: guarded(addMultipleCertificatesStarter),
});

df.app.orchestration(Orchestrators.AddMultipleCertificates, addMultipleCertificatesOrchestrator);
