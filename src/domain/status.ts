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
  CheckAcmeOrderStep: 'Waiting for hostname ownership verification.',
  CreateCertificateStep: 'Creating certificate.',
  DeleteValidationFileFromBlobStorageStep: 'Deleting verification files from Azure Blob Storage.',
  ConfigureApplicationGatewayStep: 'Configuring Application Gateway to use the new certificate.',
  ImportCertificateStep: 'Importing certificate.',
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
