import type {
  ApplicationGateway,
  ApplicationGatewayHttpListener,
  ApplicationGatewayRequestRoutingRule,
  ApplicationGatewaySslCertificate,
} from '@azure/arm-network';
import { CertbotError } from './errors';
import { isWildcard } from './hostname';

/**
 * Pure planning of gateway changes: given the gateway as read and the HTTPS bindings wanted,
 * returns the gateway to PUT (or undefined when it already matches, so a rerun writes nothing).
 * The service's rules it must respect (applicationGateway.json in azure-rest-api-specs): child ids
 * are `{gatewayId}/{collection}/{name}`, v2 rules need a unique priority 1-20000, a listener's
 * hostname is unique per frontend port, an HTTPS listener needs an SSL certificate.
 */
export interface HttpsBinding {
  /** The certificate's first name: the one the app manages it by. */
  hostname: string;
  /** Every name of a certificate for several names, `hostname` first; bound to one multi-site listener. */
  hostnames?: string[];
  /** Name for the gateway's SSL certificate and prefix of the listener and rule names. */
  name: string;
  /**
   * The Key Vault secret id of one certificate version (see versionedSecretId): a renewal changes
   * it, and a changed keyVaultSecretId makes the gateway fetch the certificate under either
   * documented refresh behaviour.
   */
  keyVaultSecretId: string;
  /**
   * The live check still saw the old certificate: write the gateway even if nothing changes. The
   * 2022 overview says any update makes the gateway re-read Key Vault
   * (https://learn.microsoft.com/azure/application-gateway/key-vault-certs#how-integration-works);
   * the 2026 troubleshooting article says only a changed id does, so this helps only there.
   */
  refresh?: boolean;
}

/** A hostname to take off the gateway: its HTTPS listener, the rules using it, its SSL certificate. */
export interface HttpsRemoval {
  hostname: string;
  name: string;
}

export interface GatewayTargets {
  backendPoolName: string;
  httpSettingsName: string;
}

/** Rules the app adds take priorities from here up, leaving the low ones to hand-made rules. */
export const FIRST_RULE_PRIORITY = 10000;
const MAX_RULE_PRIORITY = 20000;

export const namesOf = (binding: { hostname: string; hostnames?: string[] }): string[] => binding.hostnames ?? [binding.hostname];

/**
 * Why the gateway would refuse this binding's names, or undefined: a host name is unique per
 * frontend port (the service refuses a PUT where two listeners share one: armValidation.ts), so a
 * name another HTTPS listener of port 443 already holds cannot join this certificate's listener.
 * The listener found for the binding's first name is its own and may change its names.
 */
export function nameConflict(gateway: ApplicationGateway, binding: { hostname: string; hostnames?: string[] }): string | undefined {
  const names = namesOf(binding);
  const on443 = new Set((gateway.frontendPorts ?? []).filter((p) => p.port === 443).map((p) => `${gateway.id}/frontendPorts/${p.name}`.toLowerCase()));
  const listeners = (gateway.httpListeners ?? []).filter((l) => on443.has((l.frontendPort?.id ?? '').toLowerCase()));
  const own = listeners.find((l) => listenerHostnames(l).includes(binding.hostname));
  const taken = listeners.find((l) => l !== own && listenerHostnames(l).some((h) => names.includes(h)));
  if (!taken) return undefined;
  const name = listenerHostnames(taken).find((h) => names.includes(h));
  // The app's listeners list their certificate's first name first: the name to remove it by.
  const holder = listenerHostnames(taken)[0];
  return `${name} is already served by the gateway's listener ${taken.name}${holder ? ` (the certificate of ${holder}: DELETE /api/certificates/${holder} if this app made it)` : ''}; remove that certificate or listener first, then request ${binding.hostname} again.`;
}

export const listenerName = (binding: HttpsBinding): string => `${binding.name}-https`;
export const ruleName = (binding: HttpsBinding): string => `${binding.name}-rule`;

const childId = (gatewayId: string, collection: string, name: string): string => `${gatewayId}/${collection}/${name}`;
const sameNames = (a: string[], b: string[]): boolean => a.length === b.length && a.every((name, i) => name === b[i].toLowerCase());
const sameId = (a: string | undefined, b: string | undefined): boolean => !!a && !!b && a.toLowerCase() === b.toLowerCase();

function misconfigured(detail: string): CertbotError {
  return new CertbotError('ApplicationGatewayMisconfigured', detail);
}

function listenerHostnames(listener: ApplicationGatewayHttpListener): string[] {
  return [listener.hostName, ...(listener.hostNames ?? [])].filter((h): h is string => !!h).map((h) => h.toLowerCase());
}

/**
 * The public frontend the app binds its HTTPS listeners on: the first with a public IP, as the
 * gateway lists them. One frontend only: on a dual-stack gateway the other one gets no listener, so
 * the DNS pre-check accepts only this frontend's address (a record naming the other would send
 * those clients to a frontend without the certificate).
 */
export function httpsFrontend(gateway: ApplicationGateway): (NonNullable<ApplicationGateway['frontendIPConfigurations']>[number] & { publicIPAddress: { id: string } }) | undefined {
  const frontend = (gateway.frontendIPConfigurations ?? []).find((f) => f.publicIPAddress?.id);
  return frontend as (typeof frontend & { publicIPAddress: { id: string } }) | undefined;
}

export function planHttpsBindings(
  current: ApplicationGateway,
  bindings: HttpsBinding[],
  targets: GatewayTargets,
  removals: HttpsRemoval[] = [],
): ApplicationGateway | undefined {
  const gateway: ApplicationGateway = JSON.parse(JSON.stringify(current));
  const removed = removeBindings(gateway, removals);
  if (bindings.length === 0) return removed ? gateway : undefined;
  const gatewayId = gateway.id;
  if (!gatewayId) throw misconfigured('The gateway read from Azure has no id.');

  const frontendIp = httpsFrontend(gateway);
  if (!frontendIp?.name) throw misconfigured('The gateway has no public frontend IP configuration.');
  const port443 = (gateway.frontendPorts ?? []).find((p) => p.port === 443);
  if (!port443?.name) throw misconfigured('The gateway has no frontend port 443; add one.');
  const pool = (gateway.backendAddressPools ?? []).find((p) => p.name === targets.backendPoolName);
  if (!pool) {
    throw misconfigured(`Backend pool "${targets.backendPoolName}" (setting ApplicationGatewayBackendName) does not exist on the gateway.`);
  }
  const settings = (gateway.backendHttpSettingsCollection ?? []).find((s) => s.name === targets.httpSettingsName);
  if (!settings) {
    throw misconfigured(
      `Backend HTTP settings "${targets.httpSettingsName}" (setting ApplicationGatewayHttpSettingsName) do not exist on the gateway.`,
    );
  }

  const frontendIpId = childId(gatewayId, 'frontendIPConfigurations', frontendIp.name);
  const frontendPortId = childId(gatewayId, 'frontendPorts', port443.name);
  const sslCertificates = (gateway.sslCertificates ??= []);
  const listeners = (gateway.httpListeners ??= []);
  const rules = (gateway.requestRoutingRules ??= []);
  let changed = false;

  for (const binding of bindings) {
    const certId = childId(gatewayId, 'sslCertificates', binding.name);
    const existingCert = sslCertificates.find((c) => c.name === binding.name);
    if (!existingCert) {
      const cert: ApplicationGatewaySslCertificate = { name: binding.name, keyVaultSecretId: binding.keyVaultSecretId };
      sslCertificates.push(cert);
      changed = true;
    } else if (existingCert.keyVaultSecretId !== binding.keyVaultSecretId) {
      existingCert.keyVaultSecretId = binding.keyVaultSecretId;
      delete existingCert.data;
      delete existingCert.password;
      changed = true;
    }

    // The listener for this hostname on port 443, whoever made it, is updated rather than duplicated.
    const onPort443 = (l: ApplicationGatewayHttpListener): boolean => sameId(l.frontendPort?.id, frontendPortId);
    let listener = listeners.find((l) => onPort443(l) && listenerHostnames(l).includes(binding.hostname));
    const names = namesOf(binding);
    // A wildcard, or several names, is allowed only in hostNames, the multi-site listener's list
    // (Learn, "Application Gateway multiple site hosting": up to 5 host names, wildcards;
    // applicationGateway.json: hostName is "Host name of HTTP listener", hostNames "List of Host
    // names for HTTP Listener that allows special wildcard characters as well").
    const hostFields = names.length > 1 || names.some(isWildcard) ? { hostNames: names } : { hostName: names[0] };
    // The writer refuses such a binding before planning (nameConflict); planning it would make the gateway refuse the whole PUT.
    const conflict = nameConflict(gateway, binding);
    if (conflict) throw misconfigured(conflict);
    if (!listener) {
      listener = {
        name: listenerName(binding),
        frontendIPConfiguration: { id: frontendIpId },
        frontendPort: { id: frontendPortId },
        protocol: 'Https',
        ...hostFields,
        requireServerNameIndication: true,
        sslCertificate: { id: certId },
      };
      listeners.push(listener);
      changed = true;
    } else if (!sameId(listener.sslCertificate?.id, certId) || listener.protocol !== 'Https') {
      listener.protocol = 'Https';
      listener.sslCertificate = { id: certId };
      changed = true;
    }
    // The app's listener for this certificate holds exactly its names (a group that grew or shrank);
    // a hand-made one keeps the names its owner gave it.
    if (listener.name === listenerName(binding) && !sameNames(listenerHostnames(listener), names)) {
      delete listener.hostName;
      delete listener.hostNames;
      Object.assign(listener, hostFields);
      changed = true;
    }

    const listenerId = childId(gatewayId, 'httpListeners', listener.name ?? listenerName(binding));
    if (!rules.some((r) => sameId(r.httpListener?.id, listenerId))) {
      const rule: ApplicationGatewayRequestRoutingRule = {
        name: ruleName(binding),
        ruleType: 'Basic',
        priority: freePriority(rules, firstPriorityFor(names)),
        httpListener: { id: listenerId },
        backendAddressPool: { id: childId(gatewayId, 'backendAddressPools', targets.backendPoolName) },
        backendHttpSettings: { id: childId(gatewayId, 'backendHttpSettingsCollection', targets.httpSettingsName) },
      };
      rules.push(rule);
      changed = true;
    }
  }
  return changed || removed || bindings.some((b) => b.refresh) ? gateway : undefined;
}

/** Removes listeners (HTTPS, for the hostname), the rules that use them and the SSL certificates. */
function removeBindings(gateway: ApplicationGateway, removals: HttpsRemoval[]): boolean {
  let changed = false;
  for (const removal of removals) {
    // Only the listener this app bound for the hostname (it uses the app's certificate for it); a
    // hand-made listener with other hostnames or another certificate stays.
    const ours = (l: ApplicationGatewayHttpListener): boolean => !!l.sslCertificate?.id?.toLowerCase().endsWith(`/sslcertificates/${removal.name.toLowerCase()}`);
    const listeners = (gateway.httpListeners ?? []).filter((l) => l.protocol === 'Https' && listenerHostnames(l).includes(removal.hostname) && ours(l));
    const names = new Set(listeners.map((l) => l.name?.toLowerCase()));
    const usesListener = (id: string | undefined): boolean => !!id && names.has(id.split('/').pop()?.toLowerCase());
    const before = [gateway.httpListeners?.length, gateway.requestRoutingRules?.length, gateway.sslCertificates?.length].join();
    gateway.requestRoutingRules = (gateway.requestRoutingRules ?? []).filter((r) => !usesListener(r.httpListener?.id));
    gateway.httpListeners = (gateway.httpListeners ?? []).filter((l) => !listeners.includes(l));
    const stillUsed = (name: string): boolean => gateway.httpListeners!.some((l) => l.sslCertificate?.id?.toLowerCase().endsWith(`/sslcertificates/${name.toLowerCase()}`));
    gateway.sslCertificates = (gateway.sslCertificates ?? []).filter((c) => c.name !== removal.name || stillUsed(removal.name));
    if ([gateway.httpListeners.length, gateway.requestRoutingRules.length, gateway.sslCertificates.length].join() !== before) changed = true;
  }
  return changed;
}

/**
 * Where a binding's rule starts looking for a free priority. A v2 gateway sends a request to the
 * first rule, by priority, whose listener matches its SNI or Host (Learn, "Application Gateway
 * listener configuration", rule priority; "multiple site hosting": a wildcard matches any name
 * under it, dots included). So a wildcard rule must come after every exact name it covers, and a
 * broader wildcard after a narrower one, whatever order they were issued in: exact names from
 * FIRST_RULE_PRIORITY, wildcards from WILDCARD_RULE_PRIORITY, the more labels the earlier.
 */
export const WILDCARD_RULE_PRIORITY = 15000;
const WILDCARD_BAND_LABELS = 40;

export function firstPriorityFor(names: string[]): number {
  const wildcards = names.filter(isWildcard);
  if (wildcards.length === 0) return FIRST_RULE_PRIORITY;
  const fewestLabels = Math.min(...wildcards.map((name) => name.split('.').length));
  return WILDCARD_RULE_PRIORITY + Math.max(0, WILDCARD_BAND_LABELS - fewestLabels) * 100;
}

function freePriority(rules: ApplicationGatewayRequestRoutingRule[], from = FIRST_RULE_PRIORITY): number {
  const used = new Set(rules.map((r) => r.priority));
  for (let priority = from; priority <= MAX_RULE_PRIORITY; priority++) {
    if (!used.has(priority)) return priority;
  }
  for (let priority = FIRST_RULE_PRIORITY; priority < from; priority++) {
    if (!used.has(priority)) return priority;
  }
  for (let priority = 1; priority < FIRST_RULE_PRIORITY; priority++) {
    if (!used.has(priority)) return priority;
  }
  throw misconfigured('Every routing rule priority from 1 to 20000 is taken.');
}
