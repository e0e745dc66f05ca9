/**
 * A real headless Chromium for the page tests: Debian's `chromium` (or CHROMIUM_PATH), driven by playwright-core
 * with `executablePath`: no browser download. In CI (CI or GEC_REQUIRE_CHROMIUM set; `.ci/run` installs Chromium
 * and sets the latter) a missing Chromium fails the tests; on a developer's machine without one they are skipped,
 * saying so loudly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/** The Chromium executable to drive, or undefined when this machine has none. */
export function findChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH?.trim();
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured} does not exist`);
    return configured;
  }
  for (const name of CANDIDATES) {
    try {
      const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // not on PATH: try the next name
    }
  }
  return undefined;
}

/**
 * `describe`, or `describe.skip` with a loud reason when there is no Chromium and this is not CI; in CI a missing
 * Chromium is an error, never a silent skip.
 */
export function describeWithChromium(name: string, body: (executablePath: () => string) => void): void {
  const executable = findChromium();
  if (!executable && (process.env.CI || process.env.GEC_REQUIRE_CHROMIUM)) {
    throw new Error(
      'CI: no chromium on PATH (apt-get install -y chromium; .ci/run does) and no CHROMIUM_PATH',
    );
  }
  if (!executable) {
    process.stderr.write(
      `\n*** SKIPPED "${name}": no Chromium found (install Debian's chromium or set CHROMIUM_PATH) ***\n\n`,
    );
    describe.skip(name, () => body(() => ''));
    return;
  }
  describe(name, () => body(() => executable));
}

export interface ScreenshotFacts {
  width: number;
  height: number;
  /** Share of pixels that are not (near) white. */
  inked: number;
  /** Distinct colours, counted on a coarse grid. */
  colours: number;
}

/**
 * What a PNG screenshot shows, measured in the browser itself (a blank page without a CSP decodes the image into
 * a canvas): so a test can say the screenshot is the size it asked for and is not blank.
 */
export async function screenshotFacts(browser: Browser, png: Buffer): Promise<ScreenshotFacts> {
  const page = await browser.newPage();
  try {
    // A string, evaluated in the page: the test code is compiled without the DOM's types.
    return (await page.evaluate(`(async (base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext('2d');
      context.drawImage(bitmap, 0, 0);
      const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
      let inked = 0;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 235 || data[i + 1] < 235 || data[i + 2] < 235) inked++;
        if (i % 64 === 0) colours.add(((data[i] >> 3) << 10) | ((data[i + 1] >> 3) << 5) | (data[i + 2] >> 3));
      }
      return { width: bitmap.width, height: bitmap.height, inked: inked / (bitmap.width * bitmap.height), colours: colours.size };
    })(${JSON.stringify(png.toString('base64'))})`)) as ScreenshotFacts;
  } finally {
    await page.close();
  }
}
