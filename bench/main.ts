import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * `npm run bench [-- --quick]`: the sandbox figures (run.ts), then the deployment package figures
 * (package.ts), each in its own process; npm appends the arguments to the script's last command
 * only, so this entry hands them to both.
 */
const args = process.argv.slice(2);
try {
  for (const script of ['run.js', 'package.js']) execFileSync(process.execPath, [path.join(__dirname, script), ...args], { stdio: 'inherit' });
} catch {
  process.exit(1); // the failing script has printed why
}
