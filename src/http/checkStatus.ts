import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { DurableClient } from 'durable-functions';

/** The check-status links exactly as the contract lists them (newer extensions add more). */
export const CONTRACT_LINKS = ['id', 'statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri', 'purgeHistoryDeleteUri'] as const;

export type CheckStatusLinks = Record<(typeof CONTRACT_LINKS)[number], string>;

/**
 * The contract's statusQueryGetUri ends in this; the extension's links never carry it
 * (BindingHelper.cs, HttpApiHandler.cs), so the app adds it: a Failed instance then answers 500.
 */
const FAILURE_AS_500 = 'returnInternalServerErrorOnFailure=true';

export async function checkStatusLinks(client: DurableClient, request: HttpRequest, instanceId: string): Promise<CheckStatusLinks> {
  // createCheckStatusResponse puts the links on the caller's origin; only the contract's are kept.
  const all = (await client.createCheckStatusResponse(request, instanceId).json()) as Record<string, string>;
  const links = Object.fromEntries(CONTRACT_LINKS.map((key) => [key, all[key]])) as CheckStatusLinks;
  links.statusQueryGetUri = withFailureAs500(links.statusQueryGetUri);
  return links;
}

export function withFailureAs500(statusQueryGetUri: string): string {
  const url = new URL(statusQueryGetUri);
  if (url.searchParams.get('returnInternalServerErrorOnFailure') !== null) return statusQueryGetUri;
  return `${statusQueryGetUri}${url.search ? '&' : '?'}${FAILURE_AS_500}`;
}

/** 202 Accepted with the links, `Location` = statusQueryGetUri, like createCheckStatusResponse. */
export function acceptedResponse(links: CheckStatusLinks): HttpResponseInit {
  return {
    status: 202,
    headers: { 'Content-Type': 'application/json', Location: links.statusQueryGetUri, 'Retry-After': '10' },
    jsonBody: links,
  };
}
