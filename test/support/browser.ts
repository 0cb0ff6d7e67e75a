// Debian's chromium (apt-get install chromium), driven by playwright-core: never a
// downloaded browser. Headless, no sandbox (root in CI), no GPU, no background
// traffic.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export async function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error('Debian chromium is not installed (apt-get install chromium)');
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
}
