// End-to-end tests run the sandbox and the durable host as child processes from dist/, so the
// compiled output must match the sources under test. Type errors are reported by `npm run
// typecheck` (a separate CI step); tsc still emits, so tests run and point at the real failure.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
module.exports = async () => {
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: path.join(__dirname, '..'),
    stdio: 'inherit',
  });
  if (result.status !== 0) console.warn('\n[globalSetup] tsc reported errors (see above); dist/ was emitted anyway.');
  // The dashboard's files (dist/dashboard), served by the app the tests run.
  const root = path.join(__dirname, '..');
  await require(path.join(root, 'dist/scripts/dashboard.js')).buildDashboard(root, path.join(root, 'dist/dashboard'));
  // The CLI (package.json bin) runs as `npx appgw-certbot`, as after npm run build (postbuild).
  require('node:fs').chmodSync(path.join(root, 'dist/src/cli/main.js'), 0o755);
};
