import fs from 'node:fs';
import path from 'node:path';
import { startSandbox } from './index';
import { fetchServedCertificate } from './tlsCheck';

/**
 * `npm start`: brings up the local Azure sandbox and the app on http://localhost:7071 (like
 * `func start`), then runs the main job through the public API: a certificate for a demo
 * hostname, each step printed as it happens, and the TLS check of what the gateway serves.
 */
const DEMO_HOSTNAME = process.env.DEMO_HOSTNAME ?? 'www.contoso-sandbox.example';

async function main(): Promise<void> {
  const stateDir = path.resolve('.sandbox');
  // The emulators keep their state in memory: start the durable host fresh too, so both agree.
  fs.rmSync(path.join(stateDir, 'durable'), { recursive: true, force: true });
  console.log('Starting the local Azure sandbox...');
  const sandbox = await startSandbox({ stateDir, hostPort: Number(process.env.PORT ?? 7071), scheduledTimers: true });
  const { endpoints } = sandbox;
  const stop = (): void => {
    void sandbox.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  console.log(`
  App (func start API)   ${endpoints.apiBaseUrl}      function key: ${endpoints.functionKey}
  ACME directory         ${endpoints.acmeDirectoryUrl}  (Pebble)
  Key Vault              ${endpoints.keyVaultUrl}
  ARM                    ${endpoints.armUrl}
  Challenge container    ${endpoints.blobContainerUrl}  (Azurite behind the role and public-access checks)
  State container        ${endpoints.stateContainerUrl}  (private: claims, locks, the gateway writer's inbox)
  Gateway HTTP / HTTPS   ${endpoints.gatewayHttpUrl} / ${endpoints.gatewayHttpsUrl}
  DNS (challtestsrv)     ${endpoints.dnsServer}        admin: ${endpoints.adminUrl}
  Endpoints file         ${path.join(stateDir, 'endpoints.json')}
`);

  console.log(`POST ${endpoints.apiBaseUrl}/AddCertificateFunctions_HttpStart {"hostnames":[{"hostname":"${DEMO_HOSTNAME}"}]}`);
  const started = await fetch(`${endpoints.apiBaseUrl}/AddCertificateFunctions_HttpStart`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': endpoints.functionKey },
    body: JSON.stringify({ hostnames: [{ hostname: DEMO_HOSTNAME }] }),
  });
  const links = (await started.json()) as { statusQueryGetUri?: string };
  console.log(`-> ${started.status}`);
  if (!links.statusQueryGetUri) throw new Error(`unexpected answer: ${JSON.stringify(links)}`);

  let last = '';
  for (;;) {
    const status = (await (await fetch(links.statusQueryGetUri)).json()) as {
      runtimeStatus: string;
      customStatus?: { status: string; message: string; error: string | null };
      output: unknown;
    };
    const line = `${status.runtimeStatus.padEnd(9)} ${status.customStatus?.status ?? ''}: ${status.customStatus?.message ?? ''}`;
    if (line !== last) console.log(`  ${line}`);
    last = line;
    if (!['Pending', 'Running'].includes(status.runtimeStatus)) {
      if (status.runtimeStatus !== 'Completed') console.log(`  output: ${JSON.stringify(status.output)}`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, DEMO_HOSTNAME, sandbox.acmeRootPem);
  console.log(`
TLS check of ${DEMO_HOSTNAME} on the gateway (${endpoints.gatewayHttpsUrl}):
  subject ${served.subject}, issuer ${served.issuer}, expires ${served.validTo}
  chains to Pebble's root: ${served.authorized ? 'yes' : `no (${served.authorizationError})`}

Dashboard: ${endpoints.apiBaseUrl}/dashboard#key=${encodeURIComponent(endpoints.functionKey)}
  (the key rides in the fragment, which the browser never sends; the page keeps it for the tab only)
CLI:       APPGW_CERTBOT_ENDPOINT=${endpoints.apiBaseUrl.replace(/\/api$/, '')} APPGW_CERTBOT_KEY=<function key above> node dist/src/cli/main.js list

The sandbox keeps running; press Ctrl-C to stop it.`);
}

main().catch((error: Error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
