import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { buildDashboard } from './dashboard';

/**
 * The deployment package, the one folder `azd deploy` zips (azure.yaml `dist`): the app's entry
 * bundled by esbuild into one file with its production dependencies, its source map, host.json and
 * a package.json naming the entry. Nothing else: no node_modules to install (so no remote build),
 * no sources, tests, sandbox or state. `bench/package.ts` measures this same folder.
 */
/** The project root: the nearest folder above this file (compiled to dist/scripts or run by ts-jest) with host.json. */
function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'host.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no host.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const packageRoot = projectRoot();
export const packageDir = path.join(packageRoot, 'dist-package');
export const packageEntry = 'dist/index.js';

interface RootPackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
}

export async function buildPackage(out: string = packageDir): Promise<string[]> {
  fs.rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(packageRoot, 'src/functions/index.ts')],
    outfile: path.join(out, packageEntry),
    bundle: true,
    platform: 'node',
    // The oldest runtime the Bicep offers (nodeVersion 20 or 22).
    target: 'node20',
    format: 'cjs',
    // Mappings only: stack traces in Application Insights name our .ts files and lines
    // (NODE_OPTIONS=--enable-source-maps in the app settings); the sources themselves stay out.
    sourcemap: true,
    sourcesContent: false,
    minify: true,
    // Provided by the Node.js language worker at run time, never installed.
    external: ['@azure/functions-core'],
    logLevel: 'warning',
  });
  // Next to the entry, where the Dashboard function looks for it (src/http/dashboard.ts).
  await buildDashboard(packageRoot, path.join(out, 'dist/dashboard'));
  fs.copyFileSync(path.join(packageRoot, 'host.json'), path.join(out, 'host.json'));
  const root = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as RootPackageJson;
  // No scripts, and nothing to install: the bundle holds every dependency. @azure/functions is named
  // only because Learn asks v4 apps to list it ("Make sure the @azure/functions package is listed
  // in the dependencies section", functions-node-upgrade-v4); with remoteBuild false (azure.yaml)
  // the platform installs nothing.
  const manifest = {
    name: root.name,
    version: root.version,
    description: root.description,
    license: root.license,
    private: true,
    main: packageEntry,
    engines: root.engines,
    dependencies: { '@azure/functions': root.dependencies?.['@azure/functions'] },
  };
  fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return listFiles(out);
}

/** Every file under dir, relative, with forward slashes, sorted. */
export function listFiles(dir: string, base: string = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full, base) : [path.relative(base, full).split(path.sep).join('/')];
    })
    .sort();
}

if (require.main === module) {
  buildPackage()
    .then((files) => console.log(`dist-package/: ${files.join(', ')}`))
    .catch((error: Error) => {
      console.error(`package build failed: ${error.message}`);
      process.exit(1);
    });
}
