import { chromium, type Browser } from 'playwright-core';
import { ensureDebianPackage } from '../../sandbox/services/debianPackage';

/** Debian's Chromium: the browser tests never download one (playwright-core has none of its own). */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  ensureDebianPackage('chromium', [CHROMIUM], "Debian's Chromium, which the browser tests drive,");
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
