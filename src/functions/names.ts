/** Function names: the HTTP starters and orchestrators are public API (the contract); keep them. */
export const Orchestrators = {
  AddCertificate: 'AddCertificateFunctions',
  AddMultipleCertificates: 'AddMultipleCertificatesFunctions',
  AddCertificateWithPrivateKey: 'AddCertificateWithPrivateKeyFunctions',
  RemoveCertificate: 'RemoveCertificateFunctions',
  RevokeCertificate: 'RevokeCertificateFunctions',
} as const;

export const Activities = {
  GetGatewayPublicIps: 'GetApplicationGatewayPublicIp',
  CheckDnsResolution: 'CheckDnsResolution',
  CheckCaaRecords: 'CheckCaaRecords',
  CreateAcmeOrder: 'CreateAcmeOrder',
  GetAcmeOrder: 'GetAcmeOrder',
  RecordIssuanceOutcome: 'RecordIssuanceOutcome',
  GetHttp01Challenge: 'GetAcmeHttp01Challenge',
  UploadValidationFile: 'UploadValidationFile',
  AnswerHttp01Challenge: 'AnswerAcmeHttp01Challenge',
  GetDns01Challenge: 'GetAcmeDns01Challenge',
  AnswerDns01Challenge: 'AnswerAcmeDns01Challenge',
  CreateDnsTxtRecord: 'CreateDnsTxtRecord',
  CheckDnsTxtRecord: 'CheckDnsTxtRecord',
  DeleteDnsTxtRecord: 'DeleteDnsTxtRecord',
  CreateCertificateSigningRequest: 'CreateCertificateSigningRequest',
  FinalizeAcmeOrder: 'FinalizeAcmeOrder',
  MergeIssuedCertificate: 'MergeIssuedCertificate',
  DiscardPendingCertificate: 'DiscardPendingCertificate',
  CreateSelfSignedFallback: 'CreateSelfSignedFallback',
  DeleteValidationFile: 'DeleteValidationFile',
  CheckGatewayCapacity: 'CheckApplicationGatewayCapacity',
  CheckServedCertificates: 'CheckServedCertificates',
  GetCertificate: 'GetKeyVaultCertificate',
  NotifyFailure: 'NotifyFailure',
  NotifySuccess: 'NotifySuccess',
  DeleteCertificate: 'DeleteKeyVaultCertificate',
  RevokeCertificate: 'RevokeAcmeCertificate',
  ClaimHostnames: 'ClaimHostnames',
  ReleaseHostnames: 'ReleaseHostnames',
} as const;

/** The single writer of the gateway's configuration and its steps (src/orchestrators/gatewayWriter.ts). */
export const GatewayWriter = {
  orchestrator: 'GatewayWriter',
  /** One writer per gateway at a time; each generation (started when work arrives) has its own id. */
  instanceId: (gatewayName: string, generation: number): string => `gateway-writer-${gatewayName.toLowerCase()}-${generation}`,
  submitActivity: 'SubmitGatewayChange',
  takeActivity: 'TakeGatewayRequests',
  beginActivity: 'BeginGatewayWrite',
  checkActivity: 'CheckGatewayWrite',
  finishActivity: 'FinishGatewayRequests',
} as const;
