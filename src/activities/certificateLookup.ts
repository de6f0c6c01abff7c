import type { IssuedCertificate, Removal } from '../azure/keyVault';
import { activity } from './context';

/** ImportCertificateStep: the stored certificate's current version and its versioned secret id. */
export const getCertificate = activity<{ certificateName: string }, IssuedCertificate>(async ({ certificateName }, { keyVault }) =>
  keyVault.current(certificateName),
);

/** Removal: delete (and optionally purge) the certificate; one already gone is success. */
export const deleteCertificate = activity<{ certificateName: string; purge: boolean }, Removal>(async ({ certificateName, purge }, { keyVault }) =>
  keyVault.remove(certificateName, purge),
);
