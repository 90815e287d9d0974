// Drives the page in Debian's headless Chromium with playwright-core (no browser download):
//   node tests/e2e.mjs <page-url> <result.json> <screenshot.png>
// Clicks "Run the bundled sample", waits for the result, dumps it and takes a screenshot.
import {chromium} from 'playwright-core';
import {writeFileSync} from 'node:fs';

const [url, resultPath, screenshotPath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  // playwright-core gives every launch a fresh, empty profile of its own.
});
try {
  const page = await browser.newPage({viewport: {width: 1000, height: 560}});
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('ready')
                                   || window.__lowlightError, null, {timeout: 60000});
  await page.click('#sample');
  await page.waitForFunction(() => window.__lowlightDone || window.__lowlightError, null, {timeout: 240000});
  const result = await page.evaluate(() => window.__lowlightError ? {error: window.__lowlightError}
                                                                  : window.__lowlightResult);
  result.status = await page.textContent('#status');
  result.logs = logs;
  await page.screenshot({path: screenshotPath});
  writeFileSync(resultPath, JSON.stringify(result));
} finally {
  await browser.close();
}
