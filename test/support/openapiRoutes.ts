import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The HTTP functions the app registers, read from the app itself: a child Node process loads the
 * compiled entry through the durable host's stand-in for @azure/functions-core
 * (sandbox/host/functionsCore.ts, which the sandbox host uses too) and prints each HTTP trigger's
 * name, route, methods and auth level. A child process, because Jest's module registry does not
 * go through Node's loader hook that the stand-in installs.
 */
export interface HttpRegistration {
  name: string;
  route: string;
  methods: string[];
  authLevel: string;
}

const SCRIPT = `
const { loadApp } = require(process.argv[1]);
const registry = loadApp(process.argv[2]);
const http = registry.byTriggerType('httpTrigger').map((f) => ({
  name: f.metadata.name,
  route: String(f.trigger.route ?? f.metadata.name),
  methods: (f.trigger.methods ?? ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']).map((m) => String(m).toUpperCase()),
  authLevel: String(f.trigger.authLevel ?? 'function').toLowerCase(),
}));
process.stdout.write(JSON.stringify(http));
process.exit(0);
`;

export function registeredHttpFunctions(root = path.join(__dirname, '..', '..')): HttpRegistration[] {
  const core = path.join(root, 'dist/sandbox/host/functionsCore.js');
  const entry = path.join(root, 'dist/src/functions/index.js');
  // Default settings: the auth levels are FunctionKey's (src/functions/httpAuth.ts).
  const env = { ...process.env, ApiAuthentication: '' };
  return JSON.parse(execFileSync(process.execPath, ['-e', SCRIPT, core, entry], { cwd: root, env, encoding: 'utf8' })) as HttpRegistration[];
}

/**
 * The OpenAPI paths (under the /api server) a Functions route answers: `{name}` and
 * `{name:constraint}` are one parameter; an optional `{name?}` and a catch-all `{*name}` (which
 * ASP.NET routing also matches when empty) give the path with and without it.
 */
export function documentPathsOf(route: string): string[] {
  let paths = [''];
  for (const segment of route.split('/').filter(Boolean)) {
    const parameter = /^\{(\*?)(\w+)(\?)?(?::[^}]*)?\}$/.exec(segment);
    if (!parameter) {
      paths = paths.map((p) => `${p}/${segment}`);
      continue;
    }
    const withIt = paths.map((p) => `${p}/{${parameter[2]}}`);
    paths = parameter[1] || parameter[3] ? [...paths, ...withIt] : withIt;
  }
  return paths.map((p) => p || '/');
}
