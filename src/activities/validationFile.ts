import { checkValidationFile } from '../acme/http01SelfCheck';
import { activity } from './context';

export interface ValidationFileInput {
  hostname: string;
  token: string;
  keyAuthorization: string;
}

/**
 * UploadValidationFileToBlobStorageStep: writes the file, then fetches it through the hostname as
 * the CA will; NotFound / NotValid are reported before the CA is asked.
 */
export const uploadValidationFile = activity<ValidationFileInput, void>(async (input, { config, challenges }) => {
  await challenges.put(input.token, input.keyAuthorization);
  await checkValidationFile({ ...input, dnsServers: config.dnsServers, port: config.http01ValidationPort });
});

/** DeleteValidationFileFromBlobStorageStep: removing a file already gone is success. */
export const deleteValidationFile = activity<{ token: string }, void>(async ({ token }, { challenges }) => {
  await challenges.remove(token);
});
