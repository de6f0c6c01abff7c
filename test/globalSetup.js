// End-to-end tests run the sandbox and the durable host as real child processes from dist/,
// so the compiled output must match the sources under test.
const { execFileSync } = require('node:child_process');
module.exports = async () => {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: __dirname + '/..',
    stdio: 'inherit',
  });
};
