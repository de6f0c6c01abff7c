import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * A tool the sandbox or the tests need from a Debian package: present, or installed with apt
 * where we can (root), or a clear error that says the command to run. Never a download of our own.
 */
export function ensureDebianPackage(pkg: string, files: string[], what: string): void {
  const present = (): boolean => files.every((file) => fs.existsSync(file));
  if (present()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    console.log(`${what} is missing: installing the Debian package "${pkg}" with apt-get...`);
    try {
      execFileSync('apt-get', ['update'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', pkg], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch {
      // fall through to the message below
    }
    if (present()) return;
  }
  throw new Error(`${what} is not installed. Install it with:\n  sudo apt-get update && sudo apt-get install -y ${pkg}\n(it provides ${files.join(' and ')}), then run the command again.`);
}
