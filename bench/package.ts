import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * The deployment package: the function app's entry bundled by esbuild into one file with its
 * production dependencies and a source map (`@azure/functions-core` stays external: the worker
 * provides it). Reports its size and the cold import time of the entry, bundled vs unbundled
 * (median of fresh `node` processes).
 */
const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'dist-package');
const RUNS = 9;

function coldImportMs(entry: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(entry)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Outside the worker the library warns that it cannot register; the import cost is the same.
    times.push(Number(execFileSync(process.execPath, ['-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString()));
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
  fs.rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(root, 'src/functions/index.ts')],
    outfile: path.join(out, 'dist/index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    minify: true,
    external: ['@azure/functions-core'],
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(root, 'host.json'), path.join(out, 'host.json'));
  fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify({ name: 'appgw-certbot', version: '0.1.0', main: 'dist/index.js' }, null, 2)}\n`);

  const bundle = fs.statSync(path.join(out, 'dist/index.js')).size;
  const total = dirSize(out);
  const bundled = coldImportMs(path.join(out, 'dist/index.js'));
  const unbundled = coldImportMs(path.join(root, 'dist/src/functions/index.js'));
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);
  console.log(`\nDeployment package (dist-package/): entry ${mb(bundle)} MiB, with source map and host.json ${mb(total)} MiB`);
  console.log(`Cold import of the app's entry, median of ${RUNS} fresh node processes: bundled ${bundled.toFixed(0)} ms, unbundled (dist/ + node_modules) ${unbundled.toFixed(0)} ms`);
  const resultsFile = path.join(root, 'bench', 'results', 'latest.json');
  if (fs.existsSync(resultsFile)) {
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
    results.package = { entryBytes: bundle, totalBytes: total, coldImportMs: { bundled, unbundled } };
    fs.writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  }
}

main().catch((error: Error) => {
  console.error(`package build failed: ${error.message}`);
  process.exit(1);
});
