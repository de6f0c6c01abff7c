import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { addMultipleCertificatesStarter } from '../http/addMultipleCertificatesStarter';
import { addMultipleCertificatesOrchestrator } from '../orchestrators/addMultipleCertificates';
import { Orchestrators } from './names';

app.http('AddMultipleCertificatesFunctions_HttpStart', {
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: addMultipleCertificatesStarter,
});

df.app.orchestration(Orchestrators.AddMultipleCertificates, addMultipleCertificatesOrchestrator);
