import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { guarded } from '../http/guarded';
import { apiAuthLevel } from './httpAuth';
import { listCertificates } from '../http/listCertificates';
import { purgeOldHistory } from '../timers/purgeHistory';
import { removeCertificate, renewNow, revokeCertificate } from '../http/certificateLifecycle';
import { renewDueCertificates } from '../timers/renewDueCertificates';
import { deleteCertificate } from '../activities/certificateLookup';
import { removeCertificateOrchestrator } from '../orchestrators/removeCertificate';
import { revokeCertificateOrchestrator } from '../orchestrators/revokeCertificate';
import { revokeCertificate as revokeAcmeCertificate } from '../activities/revocation';
import { Activities, Orchestrators } from './names';

app.http('ListCertificates', {
  route: 'certificates',
  methods: ['GET'],
  authLevel: apiAuthLevel('read'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(listCertificates, { access: 'read' }),
});

app.http('RenewCertificate', {
  route: 'certificates/{hostname}/renew',
  methods: ['POST'],
  authLevel: apiAuthLevel('write'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(renewNow, { access: 'write' }),
});

// Daily by default; the schedule is the app setting RenewalSchedule (NCRONTAB).
app.timer('RenewCertificatesTimer', {
  schedule: '%RenewalSchedule%',
  extraInputs: [df.input.durableClient()],
  handler: renewDueCertificates,
});

app.timer('PurgeHistoryTimer', {
  schedule: '%HistoryPurgeSchedule%',
  extraInputs: [df.input.durableClient()],
  handler: purgeOldHistory,
});

app.http('RemoveCertificate', {
  route: 'certificates/{hostname}',
  methods: ['DELETE'],
  authLevel: apiAuthLevel('write'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(removeCertificate, { access: 'write' }),
});

df.app.orchestration(Orchestrators.RemoveCertificate, removeCertificateOrchestrator);
df.app.activity(Activities.DeleteCertificate, { handler: deleteCertificate });

app.http('RevokeCertificate', {
  route: 'certificates/{hostname}/revoke',
  methods: ['POST'],
  authLevel: apiAuthLevel('write'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(revokeCertificate, { access: 'write' }),
});

df.app.orchestration(Orchestrators.RevokeCertificate, revokeCertificateOrchestrator);
df.app.activity(Activities.RevokeCertificate, { handler: revokeAcmeCertificate });
