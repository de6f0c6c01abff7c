import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { guarded } from '../http/guarded';
import { apiAuthLevel } from './httpAuth';
import { answerDns01Challenge, answerHttp01Challenge, createAcmeOrder, getAcmeOrder, getDns01Challenge, getHttp01Challenge } from '../activities/acmeOrder';
import { recordIssuanceOutcome } from '../activities/failureBackoff';
import { checkDnsTxtRecord, createDnsTxtRecord, deleteDnsTxtRecord } from '../activities/dnsTxtRecord';
import { createCertificateSigningRequest, finalizeAcmeOrder, mergeIssuedCertificate, discardPendingCertificate } from '../activities/certificate';
import { checkCaaRecords } from '../activities/caaCheck';
import { checkDnsResolution } from '../activities/dnsResolution';
import { createSelfSignedFallback } from '../activities/selfSignedFallback';
import { checkGatewayCapacity } from '../activities/gatewayWriter';
import { checkServedCertificates } from '../activities/servedCertificate';
import { claimHostnames, releaseHostnames } from '../activities/hostnameClaims';
import { notifyFailure } from '../activities/notifyFailure';
import { notifySuccess } from '../activities/notifySuccess';
import { getGatewayPublicIps } from '../activities/gatewayPublicIp';
import { deleteValidationFile, uploadValidationFile } from '../activities/validationFile';
import { addCertificateStarter } from '../http/addCertificateStarter';
import { addCertificateOrchestrator } from '../orchestrators/addCertificate';
import { Activities, Orchestrators } from './names';

app.http('AddCertificateFunctions_HttpStart', {
  methods: ['POST'],
  authLevel: apiAuthLevel('write'),
  extraInputs: [df.input.durableClient()],
  handler: guarded(addCertificateStarter, { access: 'write' }),
});

df.app.orchestration(Orchestrators.AddCertificate, addCertificateOrchestrator);

df.app.activity(Activities.GetGatewayPublicIps, { handler: getGatewayPublicIps });
df.app.activity(Activities.CheckDnsResolution, { handler: checkDnsResolution });
df.app.activity(Activities.CheckCaaRecords, { handler: checkCaaRecords });
df.app.activity(Activities.CreateAcmeOrder, { handler: createAcmeOrder });
df.app.activity(Activities.GetAcmeOrder, { handler: getAcmeOrder });
df.app.activity(Activities.RecordIssuanceOutcome, { handler: recordIssuanceOutcome });
df.app.activity(Activities.GetHttp01Challenge, { handler: getHttp01Challenge });
df.app.activity(Activities.UploadValidationFile, { handler: uploadValidationFile });
df.app.activity(Activities.AnswerHttp01Challenge, { handler: answerHttp01Challenge });
df.app.activity(Activities.GetDns01Challenge, { handler: getDns01Challenge });
df.app.activity(Activities.AnswerDns01Challenge, { handler: answerDns01Challenge });
df.app.activity(Activities.CreateDnsTxtRecord, { handler: createDnsTxtRecord });
df.app.activity(Activities.CheckDnsTxtRecord, { handler: checkDnsTxtRecord });
df.app.activity(Activities.DeleteDnsTxtRecord, { handler: deleteDnsTxtRecord });
df.app.activity(Activities.CreateCertificateSigningRequest, { handler: createCertificateSigningRequest });
df.app.activity(Activities.FinalizeAcmeOrder, { handler: finalizeAcmeOrder });
df.app.activity(Activities.MergeIssuedCertificate, { handler: mergeIssuedCertificate });
df.app.activity(Activities.DiscardPendingCertificate, { handler: discardPendingCertificate });
df.app.activity(Activities.CreateSelfSignedFallback, { handler: createSelfSignedFallback });
df.app.activity(Activities.DeleteValidationFile, { handler: deleteValidationFile });
df.app.activity(Activities.CheckGatewayCapacity, { handler: checkGatewayCapacity });
df.app.activity(Activities.CheckServedCertificates, { handler: checkServedCertificates });
df.app.activity(Activities.NotifyFailure, { handler: notifyFailure });
df.app.activity(Activities.NotifySuccess, { handler: notifySuccess });
df.app.activity(Activities.ClaimHostnames, { handler: claimHostnames, extraInputs: [df.input.durableClient()] });
df.app.activity(Activities.ReleaseHostnames, { handler: releaseHostnames });
