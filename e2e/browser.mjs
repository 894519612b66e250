// Shared launcher for the browser tests: Debian's chromium through
// playwright-core, with the flags WebRTC on loopback needs (see DESIGN.md).
// Never downloads a browser.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const chromiumPath = process.env.BMG_CHROMIUM || '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

// launch starts a fresh browser context with its own user-data-dir and
// returns { context, close }.
export async function launch(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'bmg-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, ...extraArgs],
    permissions: ['camera', 'microphone'],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// result prints the one JSON line the Go test reads and exits.
export function result(obj, code = 0) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(code);
}
