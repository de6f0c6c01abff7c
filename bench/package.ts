import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildPackage, packageDir, packageEntry, packageRoot } from '../scripts/package';

/**
 * The deployment package azd deploys (scripts/package.ts builds it, the same function `azd package`
 * runs): its size and the cold import time of its entry, against the unbundled build (dist/ +
 * node_modules), each the median of fresh `node` processes.
 */
const root = packageRoot;
const out = packageDir;
const RUNS = 9;

function coldImportMs(entry: string, nodeArgs: string[] = []): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(entry)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Outside the worker the library warns that it cannot register; the import cost is the same.
    times.push(Number(execFileSync(process.execPath, [...nodeArgs, '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString()));
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

function dirSize(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((total, entry) => {
    const full = path.join(dir, entry.name);
    return total + (entry.isDirectory() ? dirSize(full) : fs.statSync(full).size);
  }, 0);
}

async function main(): Promise<void> {
  await buildPackage(out);

  const bundle = fs.statSync(path.join(out, packageEntry)).size;
  const total = dirSize(out);
  const bundled = coldImportMs(path.join(out, packageEntry));
  // As deployed: the app settings set NODE_OPTIONS=--enable-source-maps (infra/modules/app.bicep).
  const deployed = coldImportMs(path.join(out, packageEntry), ['--enable-source-maps']);
  const unbundled = coldImportMs(path.join(root, 'dist/src/functions/index.js'));
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);
  console.log(`\nDeployment package (dist-package/): entry ${mb(bundle)} MiB, with its source map, host.json and package.json ${mb(total)} MiB`);
  console.log(
    `Cold import of the app's entry, median of ${RUNS} fresh node processes: as deployed (bundled, --enable-source-maps) ${deployed.toFixed(0)} ms, bundled without source maps ${bundled.toFixed(0)} ms, unbundled (dist/ + node_modules) ${unbundled.toFixed(0)} ms`,
  );
  const resultsFile = path.join(root, 'bench', 'results', 'latest.json');
  if (fs.existsSync(resultsFile)) {
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
    results.package = { entryBytes: bundle, totalBytes: total, coldImportMs: { deployed, bundled, unbundled } };
    fs.writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  }
}

main().catch((error: Error) => {
  console.error(`package build failed: ${error.message}`);
  process.exit(1);
});
