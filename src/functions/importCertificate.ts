import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { guarded } from '../http/guarded';
import { apiAuthLevel } from './httpAuth';
import { getCertificate } from '../activities/certificateLookup';
import { importCertificateStarter } from '../http/importCertificateStarter';
import { importCertificateOrchestrator } from '../orchestrators/importCertificate';
import { Activities, Orchestrators } from './names';

app.http('AddCertificateWithPrivateKeyFunctions_HttpStart', {
  methods: ['POST'],
  authLevel: apiAuthLevel('write'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(importCertificateStarter, { access: 'write' }),
});

df.app.orchestration(Orchestrators.AddCertificateWithPrivateKey, importCertificateOrchestrator);
df.app.activity(Activities.GetCertificate, { handler: getCertificate });
