import { Arm, armClient, armError, azdEnvSet } from './arm';
import { PlanError } from './plan';

/**
 * `azd down` deletes the app's own resource group, which leaves the role assignments made on
 * resources outside it (the gateway, what it links, the DNS zones, an existing vault or storage account) and the
 * custom role definitions. They are removed only once the group is really gone: azd asks for
 * confirmation after the predown hook, and `--no-prompt` without `--force` only previews, so the
 * predown hook only notes what to remove (`APPGW_CERTBOT_CLEANUP`: azd clears the deployment's
 * outputs before postdown runs), and the postdown hook removes it, assignments first (a definition
 * with assignments cannot be deleted), when the group answers 404. What cannot be removed is
 * printed with the command to do it.
 */
export interface Cleanup {
  appResourceGroupId: string;
  assignments: string[];
  definitions: string[];
}

export const CLEANUP_KEY = 'APPGW_CERTBOT_CLEANUP';

/** predown: what the postdown hook will remove, from the deployment's outputs. */
export function noteCleanup(env: NodeJS.ProcessEnv): Cleanup | undefined {
  const subscription = env.AZURE_SUBSCRIPTION_ID;
  const group = env.AZURE_RESOURCE_GROUP || env.AZURE_APP_RESOURCE_GROUP;
  if (!subscription || !group) return undefined;
  return {
    appResourceGroupId: `/subscriptions/${subscription}/resourceGroups/${group}`,
    assignments: [
      ...list(env.EXTERNAL_ROLE_ASSIGNMENT_IDS, 'EXTERNAL_ROLE_ASSIGNMENT_IDS'),
      ...list(env.LINKED_ROLE_ASSIGNMENT_IDS, 'LINKED_ROLE_ASSIGNMENT_IDS'),
      ...list(env.DNS_ZONE_ROLE_ASSIGNMENT_IDS, 'DNS_ZONE_ROLE_ASSIGNMENT_IDS'),
    ],
    definitions: list(env.CUSTOM_ROLE_DEFINITION_IDS, 'CUSTOM_ROLE_DEFINITION_IDS'),
  };
}

/** postdown: removes what predown noted, if the app's group is gone. */
export async function cleanUp(cleanup: Cleanup, arm: Arm): Promise<{ groupGone: boolean; removed: string[]; left: string[] }> {
  const group = await arm.get(cleanup.appResourceGroupId, '2021-04-01');
  if (group.status !== 404) return { groupGone: false, removed: [], left: [] };
  const removed: string[] = [];
  const left: string[] = [];
  await removeAll(arm, cleanup.assignments, cleanup.definitions, removed, left);
  return { groupGone: true, removed, left };
}

/** Deletes role assignments, then role definitions; 404 counts as removed. */
export async function removeAll(arm: Arm, assignments: string[], definitions: string[], removed: string[], left: string[]): Promise<void> {
  for (const id of assignments) {
    const reply = await arm.delete(id, '2022-04-01');
    if (reply.status === 200 || reply.status === 204 || reply.status === 404) removed.push(id);
    else left.push(`${id} (${armError(reply)}): az role assignment delete --ids ${id}`);
  }
  for (const id of definitions) {
    const reply = await arm.delete(id, '2022-04-01');
    if (reply.status === 200 || reply.status === 204 || reply.status === 404) removed.push(id);
    else left.push(`${id} (${armError(reply)}): az role definition delete --name ${id.split('/').pop()} --scope ${id.replace(/\/providers\/Microsoft\.Authorization\/.*$/i, '')}`);
  }
}

/** An array output as azd stores it in the environment (JSON), or nothing; `key` names it when it is not JSON. */
export function list(value: string | undefined, key = 'a deployment output'): string[] {
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new PlanError(`${key} in the azd environment is not a JSON array of resource ids; fix or remove it (azd env set ${key} '[]').`);
  }
  return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string' && id.startsWith('/')) : [];
}

if (require.main === module) {
  const stage = process.argv[2];
  if (stage === 'predown') {
    const cleanup = noteCleanup(process.env);
    if (cleanup) azdEnvSet({ [CLEANUP_KEY]: JSON.stringify(cleanup) });
    console.log(`appgw-certbot predown: ${cleanup ? `${cleanup.assignments.length} role assignments and ${cleanup.definitions.length} role definitions outside the app's group will be removed once it is deleted` : 'no deployment outputs found; nothing to note'}.`);
  } else {
    const noted = process.env[CLEANUP_KEY];
    if (!noted) process.exit(0);
    cleanUp(JSON.parse(noted) as Cleanup, armClient())
      .then(({ groupGone, removed, left }) => {
        if (!groupGone) {
          console.log("appgw-certbot postdown: the app's resource group still exists (declined or preview): its roles elsewhere are kept.");
          return;
        }
        azdEnvSet({ [CLEANUP_KEY]: '' });
        console.log(`appgw-certbot postdown: removed ${removed.length} role assignments and definitions outside the app's group.`);
        if (left.length) {
          console.error(`Could not remove (remove them yourself):\n  ${left.join('\n  ')}`);
          process.exit(1);
        }
      })
      .catch((error: Error) => {
        console.error(`appgw-certbot postdown failed: ${error.message}`);
        process.exit(1);
      });
  }
}
