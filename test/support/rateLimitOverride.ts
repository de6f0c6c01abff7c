import type { SandboxOptions } from '../../sandbox';
import { LETS_ENCRYPT_LIMITS, SandboxRateLimits } from '../../sandbox/services/acmeRateLimits';

/**
 * Raised rate limits, as Let's Encrypt grants an account an override (https://letsencrypt.org/docs/rate-limits/,
 * "Requesting an override"): for tests and benchmarks that order more certificates for one registered
 * domain, or more orders, than the defaults allow. The sandbox CA and the app (AcmeRateLimits) get the same.
 */
export function withRateLimitOverride(options: SandboxOptions, counts: Partial<Record<keyof SandboxRateLimits, number>>): SandboxOptions {
  const limits: SandboxRateLimits = { ...LETS_ENCRYPT_LIMITS };
  const setting: string[] = [];
  for (const [name, count] of Object.entries(counts) as [keyof SandboxRateLimits, number][]) {
    const periodMs = LETS_ENCRYPT_LIMITS[name]!.periodMs;
    limits[name] = { count, periodMs };
    setting.push(`${name}=${count}/${periodMs / 1000}s`);
  }
  return { ...options, acmeRateLimits: limits, settings: { ...options.settings, AcmeRateLimits: setting.join(',') } };
}
