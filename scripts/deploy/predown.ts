import { Arm, armClient, armError } from './arm';

/**
 * azd `predown` hook: `azd down` deletes the app's own resource group, which leaves the role
 * assignments made on resources outside it (the gateway, what it links, an existing vault or
 * storage account) and the custom role definitions. This removes them first: assignments, then the
 * definitions (a definition with assignments cannot be deleted). Ids come from main.bicep's outputs,
 * which azd keeps in the environment. What cannot be removed is printed with the command to do it.
 */
export async function predown(env: NodeJS.ProcessEnv, arm: Arm): Promise<{ removed: string[]; left: string[] }> {
  const assignments = [...list(env.EXTERNAL_ROLE_ASSIGNMENT_IDS), ...list(env.LINKED_ROLE_ASSIGNMENT_IDS)];
  const definitions = list(env.CUSTOM_ROLE_DEFINITION_IDS);
  const removed: string[] = [];
  const left: string[] = [];
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
  return { removed, left };
}

/** An array output as azd stores it in the environment (JSON), or nothing. */
function list(value: string | undefined): string[] {
  if (!value) return [];
  const parsed = JSON.parse(value) as unknown;
  return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string' && id.startsWith('/')) : [];
}

if (require.main === module) {
  predown(process.env, armClient())
    .then(({ removed, left }) => {
      console.log(`appgw-certbot predown: removed ${removed.length} role assignments and definitions outside the app's group.`);
      if (left.length) {
        console.error(`Could not remove (remove them yourself):\n  ${left.join('\n  ')}`);
        process.exit(1);
      }
    })
    .catch((error: Error) => {
      console.error(`appgw-certbot predown failed: ${error.message}`);
      process.exit(1);
    });
}
