import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { SandboxCa } from '../tls/ca';

/**
 * Azurite's blob service, in-process: in memory, loopback, a random port, HTTPS with a leaf from
 * the sandbox CA and `oauth: basic` so that bearer tokens (what the app's managed identity sends)
 * are accepted. The challenge container allows anonymous blob reads, as the gateway needs; the
 * private containers (the app's state container) allow no anonymous access, as infra creates them
 * (challengeStorage.bicep, publicAccess 'None').
 */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
// Azurite's well-known development key (public, documented): used only to create the container.
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteBlob {
  blobEndpoint: string;
  containerUrl: string;
  /** A client with the account key, for tests and the sandbox's own checks. */
  serviceClient: BlobServiceClient;
  stop(): Promise<void>;
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}

export async function startAzurite(ca: SandboxCa, containerName: string, privateContainers: string[] = []): Promise<AzuriteBlob> {
  // Reason: Azurite ships no typings for its internal server classes; loaded lazily (heavy import).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
  const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'azurite-'));
  const leaf = ca.issueServerCert(['127.0.0.1', 'localhost']);
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  fs.writeFileSync(certPath, leaf.certPem);
  fs.writeFileSync(keyPath, leaf.keyPem, { mode: 0o600 });
  const configuration = new BlobConfiguration(
    '127.0.0.1',
    0,
    5,
    path.join(dir, 'metadata.json'),
    path.join(dir, 'extents.json'),
    [{ locationId: 'Default', locationPath: path.join(dir, 'data'), maxConcurrency: 10 }],
    false,
    undefined,
    false,
    undefined,
    true, // loose
    true, // skip api-version check: the SDK may be newer than Azurite
    certPath,
    keyPath,
    '',
    'basic',
    false,
    true, // in memory
  );
  const server: AzuriteServer = new BlobServer(configuration);
  await server.start();
  const address = server.getHttpServerAddress().replace('0.0.0.0', '127.0.0.1').replace(/^http:/, 'https:');
  const blobEndpoint = `${address}/${AZURITE_ACCOUNT}`;
  const serviceClient = new BlobServiceClient(blobEndpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
    tlsOptions: { ca: ca.certPem },
  } as object);
  await serviceClient.getContainerClient(containerName).createIfNotExists({ access: 'blob' });
  for (const name of privateContainers) await serviceClient.getContainerClient(name).createIfNotExists();
  return {
    blobEndpoint,
    containerUrl: `${blobEndpoint}/${containerName}`,
    serviceClient,
    stop: async () => {
      await server.close();
      await server.clean().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
