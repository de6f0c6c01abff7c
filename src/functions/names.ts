/** Function names: the HTTP starters and orchestrators are public API (the contract); keep them. */
export const Orchestrators = {
  AddCertificate: 'AddCertificateFunctions',
  AddMultipleCertificates: 'AddMultipleCertificatesFunctions',
  AddCertificateWithPrivateKey: 'AddCertificateWithPrivateKeyFunctions',
  RemoveCertificate: 'RemoveCertificateFunctions',
} as const;

export const Activities = {
  GetGatewayPublicIps: 'GetApplicationGatewayPublicIp',
  CheckDnsResolution: 'CheckDnsResolution',
  CreateAcmeOrder: 'CreateAcmeOrder',
  GetAcmeOrder: 'GetAcmeOrder',
  GetHttp01Challenge: 'GetAcmeHttp01Challenge',
  UploadValidationFile: 'UploadValidationFile',
  AnswerHttp01Challenge: 'AnswerAcmeHttp01Challenge',
  CreateCertificateSigningRequest: 'CreateCertificateSigningRequest',
  FinalizeAcmeOrder: 'FinalizeAcmeOrder',
  MergeIssuedCertificate: 'MergeIssuedCertificate',
  DeleteValidationFile: 'DeleteValidationFile',
  ConfigureGateway: 'ConfigureApplicationGateway',
  CheckServedCertificates: 'CheckServedCertificates',
  GetCertificate: 'GetKeyVaultCertificate',
  NotifyFailure: 'NotifyFailure',
  DeleteCertificate: 'DeleteKeyVaultCertificate',
  ClaimHostnames: 'ClaimHostnames',
  CheckGatewayChanges: 'CheckGatewayChanges',
  ReleaseHostnames: 'ReleaseHostnames',
} as const;

/** The single writer of the gateway's configuration and the events it exchanges. */
export const GatewayWriter = {
  orchestrator: 'GatewayWriter',
  /** One writer per gateway: its instance id derives from the gateway's name. */
  instanceId: (gatewayName: string): string => `gateway-writer-${gatewayName.toLowerCase()}`,
  requestEvent: 'GatewayChangeRequested',
  appliedEvent: 'GatewayChangeApplied',
  requestActivity: 'RequestGatewayChange',
  replyActivity: 'ReplyGatewayChange',
} as const;
