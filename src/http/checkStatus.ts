import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { DurableClient } from 'durable-functions';

/** The check-status links exactly as the contract lists them (newer extensions add more). */
export const CONTRACT_LINKS = ['id', 'statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri', 'purgeHistoryDeleteUri'] as const;

export type CheckStatusLinks = Record<(typeof CONTRACT_LINKS)[number], string>;

export async function checkStatusLinks(client: DurableClient, request: HttpRequest, instanceId: string): Promise<CheckStatusLinks> {
  // createCheckStatusResponse puts the links on the caller's origin; only the contract's are kept.
  const all = (await client.createCheckStatusResponse(request, instanceId).json()) as Record<string, string>;
  return Object.fromEntries(CONTRACT_LINKS.map((key) => [key, all[key]])) as CheckStatusLinks;
}

/** 202 Accepted with the links, `Location` = statusQueryGetUri, like createCheckStatusResponse. */
export function acceptedResponse(links: CheckStatusLinks): HttpResponseInit {
  return {
    status: 202,
    headers: { 'Content-Type': 'application/json', Location: links.statusQueryGetUri, 'Retry-After': '10' },
    jsonBody: links,
  };
}
