import { gatewayLinkedAccess } from '../../src/domain/gatewayLinks';
import { readClaims } from '../identity/jwt';
import type { EmulatorReply, EmulatorRequest } from '../emulators/httpsServer';
import { Rbac } from './rbac';

/**
 * Azure Resource Manager's authorization of the Microsoft.Network calls the app makes, before the
 * resource provider sees them:
 *
 * - Each request needs the operation `{provider}/{resourceType}/read|write|delete` at the resource it
 *   names (Learn, "Azure permissions for Networking": applicationGateways/read and /write,
 *   publicIPAddresses/read). ARM checks it before the resource provider, so a caller without it gets
 *   403 AuthorizationFailed even for a resource that does not exist.
 *   Refusal: 403 {"error":{"code":"AuthorizationFailed","message":"The client '{appid}' with object id
 *   '{oid}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope
 *   is invalid. If access was recently granted, please refresh your credentials."}} (service answers
 *   quoted in Azure/azure-powershell#2043, Azure/CloudShell#561, Azure/ARO-HCP#1611).
 * - A PUT of an application gateway is also checked against what its body references ("linked access
 *   checks"; Learn, Application Gateway infrastructure configuration, "Permissions": subnet ->
 *   virtualNetworks/subnets/join/action, public IP -> publicIPAddresses/join/action, WAF policy ->
 *   ApplicationGatewayWebApplicationFirewallPolicies/join/action; a user-assigned identity ->
 *   userAssignedIdentities/assign/action, as every LinkedAuthorizationFailed for an identity shows).
 *   Refusal: 403 {"error":{"code":"LinkedAuthorizationFailed","message":"The client '{appid}' with
 *   object id '{oid}' has permission to perform action '{write}' on scope '{resource}'; however, it does
 *   not have permission to perform action(s) '{a1,a2}' on the linked scope(s) '{s1,s2}' (respectively)
 *   or the linked scope(s) are invalid."}} (the form quoted in Azure/azure-mpf's tests and in AKS and
 *   Application Gateway for Containers answers).
 * - The Azure-AsyncOperation URL of a PUT (/subscriptions/{s}/providers/Microsoft.Network/locations/
 *   {loc}/operations/{id}) is not under the resource: "To track the status of an asynchronous
 *   operation, you need sufficient permission at the resource group level. If you only have permission
 *   at the resource level, you can start the operation but you can't track its status" (Learn, "Track
 *   asynchronous Azure operations", "Permission for tracking async status", 2024). The sandbox asks for
 *   Microsoft.Network/locations/operations/read ("Gets operation resource that represents status of an
 *   asynchronous operation", Azure permissions for Networking) at the gateway's resource group or
 *   above, and names the operation URL's path as the scope when it refuses (which scope ARM evaluates
 *   there is not documented).
 * - A resource group (/subscriptions/{s}/resourcegroups/{g}) needs
 *   Microsoft.Resources/subscriptions/resourceGroups/read (write, delete) on the group ("Azure
 *   permissions for Management and governance", Microsoft.Resources: "Gets or lists resource
 *   groups."); a list of a resource type needs the type's read on the scope it lists (the
 *   deleted-vault list: Microsoft.KeyVault/deletedVaults/read on the subscription, "View the
 *   properties of soft deleted key vaults", Azure permissions for Security).
 * - The operations catalog (/providers/Microsoft.Authorization/providerOperations[/{namespace}]) is
 *   read by any authenticated caller: it is tenant-wide metadata at the root scope, where the people
 *   Learn tells to list it before writing a custom role ("Azure custom roles": `az provider operation
 *   show`) usually hold no role, and Learn names no role for it (the service's own rule is
 *   unverified).
 */
export interface ArmAuthorizerOptions {
  /** Resource group whose assignments authorize polling the gateway's operations (the operation's resource's group). */
  operationResourceGroup: string;
}

interface Caller {
  appid?: string;
  oid?: string;
}

const ERROR = (code: string, message: string): EmulatorReply => ({ status: 403, body: { error: { code, message } } });

export function authorizationFailed(caller: Caller, action: string, scope: string): EmulatorReply {
  return ERROR(
    'AuthorizationFailed',
    `The client '${caller.appid ?? caller.oid ?? ''}' with object id '${caller.oid ?? ''}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

export function linkedAuthorizationFailed(caller: Caller, action: string, scope: string, missing: { action: string; scope: string }[]): EmulatorReply {
  return ERROR(
    'LinkedAuthorizationFailed',
    `The client '${caller.appid ?? caller.oid ?? ''}' with object id '${caller.oid ?? ''}' has permission to perform action '${action}' on scope '${scope}'; however, it does not have permission to perform action(s) '${missing.map((m) => m.action).join(',')}' on the linked scope(s) '${missing.map((m) => m.scope).join(',')}' (respectively) or the linked scope(s) are invalid.`,
  );
}

const VERB: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' };

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{childType}/{child}…]` -> `{Namespace}/{type}[/{childType}…]`. */
export function resourceType(path: string): string | undefined {
  const match = /\/providers\/([^/]+)\/(.+)$/i.exec(path);
  if (!match) return undefined;
  const segments = match[2].split('/').filter(Boolean);
  if (segments.length % 2 !== 0) return undefined;
  return [match[1], ...segments.filter((_, i) => i % 2 === 0)].join('/');
}

/** `{scope}/providers/{Namespace}/{type}[/{name}/{childType}…]` naming a collection (a list) -> its resource type and the scope it lists. */
function collectionOf(path: string): { type: string; scope: string } | undefined {
  const match = /^(.*?)\/providers\/([^/]+)\/(.+)$/i.exec(path);
  if (!match) return undefined;
  const segments = match[3].split('/').filter(Boolean);
  if (segments.length % 2 !== 1) return undefined;
  const type = [match[2], ...segments.filter((_, i) => i % 2 === 0)].join('/');
  const parent = segments.length > 1 ? `${match[1]}/providers/${match[2]}/${segments.slice(0, -1).join('/')}` : match[1];
  return { type, scope: parent };
}

/** The resources a gateway body references that ARM checks linked access on (src/domain/gatewayLinks.ts, shared with the deployment plan). */
export const linkedAccessChecks = gatewayLinkedAccess;

/** The authorizer the ARM emulator calls with each authenticated request: undefined to serve it, or ARM's 403. */
export function armAuthorizer(rbac: Rbac, options: ArmAuthorizerOptions): (request: EmulatorRequest) => EmulatorReply | undefined {
  return (request) => {
    const caller = readClaims(String(request.headers.authorization ?? '').replace(/^Bearer\s+/i, '')) ?? {};
    const path = request.url.pathname.replace(/\/+$/, '');
    const refuse = (action: string, scope: string, reply: EmulatorReply, code: string): EmulatorReply => {
      rbac.recordDenial({ service: 'arm', objectId: caller.oid ?? '', operation: action, kind: 'action', scope, code });
      return reply;
    };

    if (/^\/subscriptions\/[^/]+\/providers\/Microsoft\.Network\/locations\/[^/]+\/operations\/[^/]+$/i.test(path)) {
      const action = 'Microsoft.Network/locations/operations/read';
      if (rbac.check(caller.oid, action, 'action', options.operationResourceGroup).allowed) return undefined;
      return refuse(action, path, authorizationFailed(caller, action, path), 'AuthorizationFailed');
    }

    if (/^\/providers\/Microsoft\.Authorization\/providerOperations(?:\/[^/]+)?$/i.test(path) && request.method === 'GET') return undefined;

    const group = /^(\/subscriptions\/[^/]+)\/resourcegroups\/([^/]+)$/i.exec(path);
    const list = collectionOf(path);
    const type = group ? 'Microsoft.Resources/subscriptions/resourceGroups' : (resourceType(path) ?? list?.type);
    const verb = VERB[request.method];
    if (!type || !verb) return undefined;
    const action = `${type}/${verb}`;
    const scope = group ? `${group[1]}/resourceGroups/${group[2]}` : list && !resourceType(path) ? list.scope : path;
    if (!rbac.check(caller.oid, action, 'action', scope).allowed) return refuse(action, scope, authorizationFailed(caller, action, scope), 'AuthorizationFailed');

    if (verb === 'write' && type.toLowerCase() === 'microsoft.network/applicationgateways') {
      const missing = linkedAccessChecks(request.body).filter((check) => !rbac.check(caller.oid, check.action, 'action', check.scope).allowed);
      if (missing.length > 0) {
        for (const check of missing) rbac.recordDenial({ service: 'arm', objectId: caller.oid ?? '', operation: check.action, kind: 'action', scope: check.scope, code: 'LinkedAuthorizationFailed' });
        return linkedAuthorizationFailed(caller, action, path, missing);
      }
    }
    return undefined;
  };
}
