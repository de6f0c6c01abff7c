import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { findBusyHostnames, findDroppedChildren } from '../activities/hostnameBusy';
import { addMultipleCertificatesStarter } from '../http/addMultipleCertificatesStarter';
import { addMultipleCertificatesOrchestrator } from '../orchestrators/addMultipleCertificates';
import { Activities, Orchestrators } from './names';

app.http('AddMultipleCertificatesFunctions_HttpStart', {
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: addMultipleCertificatesStarter,
});

df.app.orchestration(Orchestrators.AddMultipleCertificates, addMultipleCertificatesOrchestrator);
df.app.activity(Activities.FindBusyHostnames, { extraInputs: [df.input.durableClient()], handler: findBusyHostnames });
df.app.activity(Activities.FindDroppedChildren, { extraInputs: [df.input.durableClient()], handler: findDroppedChildren });
