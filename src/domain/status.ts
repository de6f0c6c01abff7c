/**
 * The `customStatus.status` values and their messages: public API from the contract, kept verbatim.
 * A frontend polls `statusQueryGetUri` and shows `message`.
 */
export const StepMessages = {
  GetApplicationGatewayPublicIpStep: 'Getting Application Gateway public IP address.',
  CheckDnsResolutionStep: 'Checking whether the hostname is resolving to the Application Gateway.',
  CheckCaaRecordsStep: "Checking that the domain's CAA records allow the Certificate Authority.",
  GetAcmeOrderStep: 'Starting certificate request process with the Certificate Authority.',
  GetAcmeHttp01ChallengeStep: 'Getting hostname ownership verification challenge from the Certificate Authority.',
  UploadValidationFileToBlobStorageStep: 'Uploading hostname ownership verification file to Azure Blob Storage.',
  AnswerAcmeHttp01ChallengeStep: 'Verifying hostname ownership.',
  GetAcmeDns01ChallengeStep: 'Getting hostname ownership verification challenge (a DNS TXT record) from the Certificate Authority.',
  CreateDnsTxtRecordStep: 'Creating the hostname ownership verification TXT record in Azure DNS.',
  CheckDnsTxtRecordStep: "Waiting for the verification TXT record to reach the DNS zone's name servers.",
  AnswerAcmeDns01ChallengeStep: 'Verifying hostname ownership.',
  CheckAcmeOrderStep: 'Waiting for hostname ownership verification.',
  CreateCertificateStep: 'Creating certificate.',
  DeleteValidationFileFromBlobStorageStep: 'Deleting verification files from Azure Blob Storage.',
  DeleteDnsTxtRecordStep: 'Deleting the verification TXT record from Azure DNS.',
  ConfigureApplicationGatewayStep: 'Configuring Application Gateway to use the new certificate.',
  ImportCertificateStep: 'Importing certificate.',
  RevokeCertificateStep: 'Revoking the certificate with the Certificate Authority.',
  Completed: 'Certbot function successfully completed.',
  Failed: 'An error has occured. Check error.',
} as const;

export type StepStatus = keyof typeof StepMessages;

/** The steps of a single-hostname ACME issuance, in the order the orchestrator reports them. */
export const AcmeIssuanceSteps: readonly StepStatus[] = [
  'GetApplicationGatewayPublicIpStep',
  'CheckDnsResolutionStep',
  'CheckCaaRecordsStep',
  'GetAcmeOrderStep',
  'GetAcmeHttp01ChallengeStep',
  'UploadValidationFileToBlobStorageStep',
  'AnswerAcmeHttp01ChallengeStep',
  'CheckAcmeOrderStep',
  'CreateCertificateStep',
  'DeleteValidationFileFromBlobStorageStep',
  'ConfigureApplicationGatewayStep',
  'Completed',
];

/** The steps of a single-hostname DNS-01 issuance, in the order the orchestrator reports them. */
export const AcmeDns01IssuanceSteps: readonly StepStatus[] = [
  'GetApplicationGatewayPublicIpStep',
  'CheckDnsResolutionStep',
  'CheckCaaRecordsStep',
  'GetAcmeOrderStep',
  'GetAcmeDns01ChallengeStep',
  'CreateDnsTxtRecordStep',
  'CheckDnsTxtRecordStep',
  'AnswerAcmeDns01ChallengeStep',
  'CheckAcmeOrderStep',
  'DeleteDnsTxtRecordStep',
  'CreateCertificateStep',
  'ConfigureApplicationGatewayStep',
  'Completed',
];
