/**
 * The HTML report of `hosted-bots simulate --html` (the built CLI) opened from disk in Debian's
 * chromium, driven by playwright-core, with every request beyond the file refused: the page must
 * draw its charts offline. Its screenshot goes to test-artifacts/ (docs/simulate-report.png is a copy).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Browser, chromium } from 'playwright-core';
import { formatTrace } from '../../../runtime/sim/trace';
import { generateWorkload } from '../../../runtime/sim/workloads';
import { synthesizedFleetJson } from '../../helpers/local-fleet';
import { ARTIFACTS, CHROMIUM, describeWithBrowser } from '../../helpers/browser';

const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'runtime', 'cli', 'main.js');
const describeBrowser = describeWithBrowser('report browser tests');

describeBrowser('the simulate report in a browser', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simulate-html-'));
  const report = path.join(dir, 'report.html');
  let browser: Browser;
  let stderr = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const raw = synthesizedFleetJson() as any;
    raw.environment.botCapacity = 30;
    raw.groups.forEach((g: any) => (g.maxBots = 15));
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(raw));
    fs.writeFileSync(path.join(dir, 'monday.csv'), formatTrace(generateWorkload('office-hours', { seed: 42, days: 1 })));
    const r = spawnSync(process.execPath, [cli, 'simulate', '--manifest', path.join(dir, 'fleet.json'), '--trace', path.join(dir, 'monday.csv'), '--html', report], { encoding: 'utf8' });
    stderr = r.stderr;
    if (r.status !== 0) throw new Error(`simulate --html failed (${r.status}): ${r.stderr}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the command says where it wrote the page', () => {
    expect(stderr).toContain(`HTML report written to ${report}`);
  });

  test('opened offline, it draws every chart, names the groups in the legends, and logs no error', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    const fetched: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file://')) return route.continue();
      fetched.push(url);
      return route.abort();
    });
    await page.goto(`file://${report}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });
    // Two group timelines, the wait CDF and the what-if chart, each a uPlot canvas.
    await expect(page.locator('.uplot canvas').count()).resolves.toBe(4);
    await expect(page.locator('section.group').evaluateAll((s) => s.map((x) => x.getAttribute('data-group')))).resolves.toEqual(['finance', 'sales']);
    const waitLegend = await page.locator('#waits .u-legend').innerText();
    expect(waitLegend).toMatch(/finance/);
    expect(waitLegend).toMatch(/sales/);
    const timeline = await page.locator('#timeline-0 .u-legend').innerText();
    for (const label of ['demand (queued + running)', 'bots busy', 'bots idle', 'bots provisioning']) expect(timeline).toContain(label);
    await expect(page.locator('#whatif .u-legend').innerText()).resolves.toMatch(/declared settings[\s\S]*one-setting changes/);
    // The charts drew something: the timeline's canvas is not blank.
    const inked = await page.locator('#timeline-0 canvas').evaluate((c: any) => {
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
    expect(fetched).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'simulate-report.png'), fullPage: true });
    await context.close();
  }, 30_000);

  test('every count, wait and bot-hours axis starts at zero; the time axes do not', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    const page = await context.newPage();
    await page.goto(`file://${report}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });
    const scales = await page.evaluate(() => (globalThis as any).reportCharts.map((u: any) => ({ x: u.scales.x.min, y: u.scales.y.min })));
    // Two timelines (x is time), the wait CDF, and p95 wait against bot-hours.
    expect(scales).toHaveLength(4);
    for (const timeline of scales.slice(0, 2)) {
      expect(timeline.y).toBe(0);
      expect(timeline.x).toBeGreaterThan(0);
    }
    expect(scales[2]).toEqual({ x: 0, y: 0 });
    expect(scales[3]).toEqual({ x: 0, y: 0 });
    await expect(page.locator('#summary tbody tr').count()).resolves.toBe(3);
    await context.close();
  }, 30_000);
});
