// What every dashboard browser run shares: the check that stops a run, and
// the accessibility pass each page gets (axe-core at a desktop's and a
// phone's size, nothing wider than the screen, a photograph of each).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { check } from './common.mjs';

const VIEWPORTS = [['desktop', 1280, 800], ['phone', 390, 844]];
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export { check };

// `accessible(page, name)` for a run whose photographs go to `screenshots`:
// axe-core on the page as it stands, at both sizes (no serious or critical
// violation), nothing sticking out sideways on a phone, then its photographs
// (`dashboard-NAME-SIZE.png`); it leaves the page at the desktop's size. The
// page's own CSP does not apply to what the devtools protocol evaluates.
export function accessibleIn(screenshots) {
  return async function accessible(page, name) {
    for (const [size, width, height] of VIEWPORTS) {
      await page.setViewportSize({ width, height });
      await page.evaluate(axeSource);
      const result = await page.evaluate(() => globalThis.axe.run());
      const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      check(bad.length === 0, `${name} (${size}): ${JSON.stringify(bad.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target)]))}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `${name} (${size}) is ${overflow}px wider than the screen`);
      await page.screenshot({ path: `${screenshots}/dashboard-${name}-${size}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  };
}
