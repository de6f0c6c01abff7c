/**
 * How much room an Application Gateway v2 has for what this app adds per hostname (one SSL
 * certificate, one HTTPS listener used by one basic rule), counted before the CA is asked and
 * again when the writer plans, so that a full gateway refuses a hostname with a typed error
 * instead of failing after issuance. Limits: Microsoft Learn, "Application Gateway limits"
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#application-gateway-limits):
 * 100 SSL certificates, 200 HTTP listeners of which 100 active (used by a rule), 5 hostnames per
 * listener, 400 routing rules, 80-character child names. Footnote 1 of that table: "For WAF-enabled
 * SKUs running CRS 3.1 or lower, the supported number is 40". The stricter reading is taken, as the
 * sandbox's ARM emulator does (sandbox/emulators/gatewayLimits.ts): a WAF_v2 gateway (SKU name or
 * tier) whose inline WAF configuration runs OWASP CRS 3.1 or older has 40 of every footnoted limit,
 * the listener total included (not only the active ones), whether its WAF is enabled or not (the
 * footnote speaks of the SKU). A WAF policy's rule set is not read.
 */
import type { ApplicationGateway, ApplicationGatewayHttpListener } from '@azure/arm-network';
import type { HttpsBinding } from './gatewayPlan';
import { listenerName, ruleName } from './gatewayPlan';

export interface GatewayLimits {
  sslCertificates: number;
  listeners: number;
  activeListeners: number;
  routingRules: number;
  /** Why these numbers apply (named in refusals). */
  basis: string;
}

export const MAX_CHILD_NAME = 80;

const STANDARD: Omit<GatewayLimits, 'basis'> = { sslCertificates: 100, listeners: 200, activeListeners: 100, routingRules: 400 };
const OLD_CRS_WAF: Omit<GatewayLimits, 'basis'> = { sslCertificates: 40, listeners: 40, activeListeners: 40, routingRules: 40 };

/** "3.1" or older OWASP CRS (and the 2.x line): the WAF variant of the limits. */
function isOldCrs(version: string | undefined): boolean {
  if (!version) return false;
  const [major, minor] = version.split('.').map(Number);
  return Number.isFinite(major) && (major < 3 || (major === 3 && (minor || 0) <= 1));
}

export function limitsOf(gateway: ApplicationGateway): GatewayLimits {
  const tier = gateway.sku?.tier ?? gateway.sku?.name ?? '';
  const isWafSku = /^WAF/i.test(gateway.sku?.tier ?? '') || /^WAF/i.test(gateway.sku?.name ?? '');
  const waf = gateway.webApplicationFirewallConfiguration;
  // Enabled or not: the stricter reading of the footnote (see the module comment).
  if (isWafSku && waf?.ruleSetType?.toUpperCase() === 'OWASP' && isOldCrs(waf.ruleSetVersion)) {
    return { ...OLD_CRS_WAF, basis: `WAF_v2 with OWASP CRS ${waf.ruleSetVersion}` };
  }
  return { ...STANDARD, basis: tier || 'Application Gateway v2' };
}

export interface CapacityRefusal {
  hostname: string;
  detail: string;
}

interface Counts {
  sslCertificates: number;
  listeners: number;
  activeListeners: number;
  routingRules: number;
}

const hostnamesOf = (listener: ApplicationGatewayHttpListener): string[] =>
  [listener.hostName, ...(listener.hostNames ?? [])].filter((h): h is string => !!h).map((h) => h.toLowerCase());

function countsOf(gateway: ApplicationGateway): Counts {
  const ruled = new Set((gateway.requestRoutingRules ?? []).map((r) => r.httpListener?.id?.split('/').pop()?.toLowerCase()));
  const listeners = gateway.httpListeners ?? [];
  return {
    sslCertificates: (gateway.sslCertificates ?? []).length,
    listeners: listeners.length,
    activeListeners: listeners.filter((l) => ruled.has(l.name?.toLowerCase())).length,
    routingRules: (gateway.requestRoutingRules ?? []).length,
  };
}

/** What binding a hostname adds: nothing that exists already (a renewal adds nothing). */
function additions(gateway: ApplicationGateway, binding: HttpsBinding): Counts {
  const hasCert = (gateway.sslCertificates ?? []).some((c) => c.name === binding.name);
  const listener = (gateway.httpListeners ?? []).find((l) => l.protocol === 'Https' && hostnamesOf(l).includes(binding.hostname));
  const listenerRef = (listener?.name ?? listenerName(binding)).toLowerCase();
  const hasRule = (gateway.requestRoutingRules ?? []).some((r) => r.httpListener?.id?.split('/').pop()?.toLowerCase() === listenerRef);
  return {
    sslCertificates: hasCert ? 0 : 1,
    listeners: listener ? 0 : 1,
    activeListeners: hasRule ? 0 : 1,
    routingRules: hasRule ? 0 : 1,
  };
}

const LABELS: Record<keyof Counts, string> = {
  sslCertificates: 'SSL certificates',
  listeners: 'HTTP listeners',
  activeListeners: 'active listeners (listeners used by a rule)',
  routingRules: 'request routing rules',
};

/**
 * Splits the bindings into those the gateway has room for (in order) and those it has not (pass
 * the gateway with this write's removals already made). Each refusal names the limit, the count
 * and what to do.
 */
export function fitBindings(gateway: ApplicationGateway, bindings: HttpsBinding[]): { fitting: HttpsBinding[]; refused: CapacityRefusal[] } {
  const limits = limitsOf(gateway);
  const counts = countsOf(gateway);
  const fitting: HttpsBinding[] = [];
  const refused: CapacityRefusal[] = [];
  for (const binding of bindings) {
    const tooLong = [listenerName(binding), ruleName(binding), binding.name].find((n) => n.length > MAX_CHILD_NAME);
    if (tooLong) {
      refused.push({ hostname: binding.hostname, detail: `The gateway child name ${tooLong} is longer than ${MAX_CHILD_NAME} characters.` });
      continue;
    }
    const added = additions(gateway, binding);
    const over = (Object.keys(added) as (keyof Counts)[]).find((key) => added[key] > 0 && counts[key] + added[key] > limits[key]);
    if (over) {
      refused.push({
        hostname: binding.hostname,
        detail: `${binding.hostname} needs one more of the gateway's ${LABELS[over]}, which already has ${counts[over]} of at most ${limits[over]} (${limits.basis}). Remove certificates this gateway no longer needs (DELETE /api/certificates/{hostname}), use another gateway${limits.sslCertificates < STANDARD.sslCertificates ? ', or move the WAF to OWASP CRS 3.2 or later' : ''}, then retry.`,
      });
      continue;
    }
    for (const key of Object.keys(added) as (keyof Counts)[]) counts[key] += added[key];
    fitting.push(binding);
  }
  return { fitting, refused };
}
