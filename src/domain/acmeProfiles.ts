import type { FieldError } from './requests';

/**
 * ACME certificate profiles (draft-aaron-acme-profiles): a CA lists the profiles it offers in its
 * directory's `meta.profiles` ({name: description}); a newOrder may name one in `profile`. A name
 * the CA does not list is refused before anything starts (the CA would answer invalidProfile); a CA
 * that lists none offers no choice, so any profile is refused.
 */

/** The directory's meta.profiles, name -> description; {} when the CA lists none. */
export function offeredProfiles(directory: Record<string, unknown>): Record<string, string> {
  const meta = directory.meta;
  const profiles = typeof meta === 'object' && meta !== null ? (meta as { profiles?: unknown }).profiles : undefined;
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) return {};
  return Object.fromEntries(Object.entries(profiles).map(([name, description]) => [name, typeof description === 'string' ? description : '']));
}

/** Why the CA would refuse `profile`, or undefined when it offers it. */
export function profileRefusal(offered: Record<string, string>, profile: string): string | undefined {
  const names = Object.keys(offered);
  if (names.length === 0) return `is "${profile}", but the CA (AcmeEndpoint) offers no profiles: leave it out`;
  if (Object.hasOwn(offered, profile)) return undefined;
  return `is "${profile}", which the CA (AcmeEndpoint) does not offer; it offers ${names.join(', ')}`;
}

/** Each requested profile the CA does not offer, as a field error (each distinct field once). */
export function profileErrors(offered: Record<string, string>, requested: { field: string; profile: string }[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const { field, profile } of requested) {
    const reason = profileRefusal(offered, profile);
    if (reason && !errors.some((e) => e.field === field)) errors.push({ field, reason });
  }
  return errors;
}

/**
 * The profile a renewal (or a revocation's replacement) orders: the certificate's own when it was
 * issued by the CA now configured, else AcmeProfile (after a switch of CA, the old CA's profile may
 * not exist at the new one, and the operator's setting is what they can change).
 */
export function renewalProfile(certificate: { profile?: string; acmeEndpoint?: string }, config: { acmeEndpoint: URL; acmeProfile?: string }): string | undefined {
  return (certificate.acmeEndpoint === config.acmeEndpoint.href ? certificate.profile : undefined) ?? config.acmeProfile;
}
