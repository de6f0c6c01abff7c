import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: the browser tests never download one (playwright-core has none of its own). */
export const CHROMIUM = '/usr/bin/chromium';

/** Installs Debian's chromium where it can (root and apt), else says how, as the Pebble check does. */
export function ensureChromiumInstalled(): void {
  if (fs.existsSync(CHROMIUM)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    console.log('Chromium is missing: installing the Debian package "chromium" with apt-get...');
    try {
      execFileSync('apt-get', ['update'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch {
      // fall through to the message below
    }
    if (fs.existsSync(CHROMIUM)) return;
  }
  throw new Error('The browser tests need Debian\'s Chromium. Install it with:\n  sudo apt-get update && sudo apt-get install -y chromium\nthen run the tests again.');
}

export async function launchChromium(): Promise<Browser> {
  ensureChromiumInstalled();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
