/**
 * The pages people open, in a real headless Chromium (Debian's chromium driven by playwright-core), against a live
 * gateway with the embedded ledger, a real PostgreSQL and a trade run through the whole pipeline:
 * - the regulator page: the key entered once, kept in the tab's session and never in a URL; search a serial →
 *   its provenance timeline; a trade → its evidence check; integrity checks as pass or fail; the statistics as
 *   charts (inline SVG) whose bars are the statistics endpoints' numbers, each saved as CSV through a Blob;
 * - the printable voucher shown in the page: company names, Shanghai times, amounts with separators, a QR code
 *   of the public verification link;
 * - the public verification page (扫码验真) opened from that link with no key: status, volume, period, serial
 *   ranges and ledger proof, every check passing, nothing about the parties; a forged link refused plainly; an
 *   edited projected row named as a failed check; a rate limit per address.
 * Every screenshot is checked: the size asked for, and not blank (PAGES_SCREENSHOTS_DIR=folder keeps them).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as QRCode from 'qrcode';
import { describeWithChromium, screenshotFacts } from './support/chromium';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';
import { Market, setupMarket, tradeBody, tradeToFinal, waitFinal } from './trades-fixture';

jest.setTimeout(300000);

const VIEWPORT = { width: 1280, height: 900 };
const ENV = {
  EXPIRY_SWEEP_INTERVAL_MS: '0',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_READS_PER_MINUTE: '0',
  // Enough for the browser's own visits; the last test spends the rest.
  PUBLIC_RATE_LIMIT_PER_MINUTE: '40',
  // As behind a proxy on this host: X-Forwarded-For from 127.0.0.1 names the client.
  TRUST_PROXY: 'loopback',
};

describeWithChromium(
  'pages in Chromium: regulator page, printable voucher, public verification',
  (executable) => {
    let dataDir: string;
    let shots: string;
    let gateway: TestGateway;
    let postgres: TestPostgres;
    let db: Client;
    let market: Market;
    let browser: Browser;
    let base: string;
    let tradedLot: string;
    let verifyUrl: string;
    /** Every URL the browser asked for, for the check that the key is never in one. */
    const requested: string[] = [];
    /** Console errors (a CSP violation is one). */
    const consoleErrors: string[] = [];

    const get = (path: string) => gateway.http.get(path).set('X-API-Key', market.keys.regulator);

    beforeAll(async () => {
      dataDir = await tempDir('gec-pages-');
      // PAGES_SCREENSHOTS_DIR keeps them for a person to look at; otherwise a temporary folder, removed after.
      shots = process.env.PAGES_SCREENSHOTS_DIR ?? (await mkdtemp(join(tmpdir(), 'gec-pages-shots-')));
      postgres = await startTestPostgres();
      const databaseUrl = await postgres.newDatabase();
      gateway = await startGateway({ dataDir, databaseUrl, env: ENV });
      base = `http://127.0.0.1:${(gateway.app.getHttpServer().address() as { port: number }).port}`;
      market = await setupMarket(gateway.http, gateway.app, await readFirstAdminKey(dataDir), {
        sellers: ['GEN-1'],
        // CON-2 consumes 1 kWh an interval: its trade is rejected (a bar of the rejected-trades chart).
        consumers: { 'CON-1': 40, 'CON-2': 1 },
      });
      [tradedLot] = market.lots['GEN-1'];
      await gateway.http
        .post('/v1/trades')
        .set('X-API-Key', market.keys['trading-center'])
        .set('Idempotency-Key', 'T-1')
        .send(
          tradeBody(market, {
            tradeId: 'T-1',
            seller: 'GEN-1',
            buyer: 'CON-1',
            lots: [{ lotId: tradedLot }],
          }),
        )
        .expect(202);
      expect((await waitFinal((id) => get(`/v1/trades/${id}`), 'T-1')).state).toBe('COMMITTED');
      await gateway.http
        .post('/v1/vouchers/VCH-T-1/release')
        .set('X-API-Key', market.keys['trading-center'])
        .send({})
        .expect(200);
      expect(
        await tradeToFinal(gateway.http, market, {
          tradeId: 'T-2',
          seller: 'GEN-1',
          buyer: 'CON-2',
          lots: [{ lotId: market.lots['GEN-1'][1] }],
        }),
      ).toBe('REJECTED');
      db = new Client({ connectionString: databaseUrl });
      await db.connect();
      browser = await chromium.launch({ executablePath: executable(), args: ['--no-sandbox'] });
    });

    afterAll(async () => {
      await browser?.close();
      await db?.end();
      await gateway?.close();
      await postgres?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      if (shots && !process.env.PAGES_SCREENSHOTS_DIR) await rm(shots, { recursive: true, force: true });
    });

    async function newPage(): Promise<Page> {
      const context = await browser.newContext({ viewport: VIEWPORT });
      const page = await context.newPage();
      page.on('request', (request) => requested.push(request.url()));
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      return page;
    }

    /** A full-page screenshot, saved, of the viewport's width, tall enough, and not blank. */
    async function screenshot(page: Page, name: string, minHeight = 300): Promise<void> {
      const png = await page.screenshot({ fullPage: true });
      await writeFile(join(shots, `${name}.png`), png);
      const facts = await screenshotFacts(browser, png);
      expect(facts.width).toBe(VIEWPORT.width);
      expect(facts.height).toBeGreaterThanOrEqual(minHeight);
      expect(facts.inked).toBeGreaterThan(0.01);
      expect(facts.colours).toBeGreaterThan(3);
    }

    /** The regulator page, key entered, ready to search. */
    async function regulatorPage(): Promise<Page> {
      const page = await newPage();
      const response = await page.goto(`${base}/regulator`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
      await page.fill('#key-input', market.keys.regulator);
      await page.click('#key-form button[type=submit]');
      await page.waitForSelector('#app:not([hidden])');
      return page;
    }

    async function search(page: Page, kind: string, value: string, selector: string): Promise<void> {
      await page.selectOption('#search-kind', kind);
      await page.fill('#search-input', value);
      await page.click('#search-form button[type=submit]');
      await page.waitForSelector(`${selector}, #search-error`);
      expect(await page.$('#search-error')).toBeNull();
    }

    it('the regulator enters the key once and searches a serial: its provenance as a timeline', async () => {
      const page = await regulatorPage();
      const lot = (await get(`/v1/lots/${tradedLot}`).expect(200)).body;
      const provenance = (await get(`/v1/certificates/${lot.serialEnd}/provenance`).expect(200)).body;
      await search(page, 'auto', lot.serialEnd, '#serial-view ol.timeline li');
      const kinds = await page.$$eval('#serial-view ol.timeline li', (items) =>
        items.map((li) => li.getAttribute('data-kind')),
      );
      expect(kinds).toEqual(['ISSUED', 'SPLIT', 'TRADE_ATTESTED', 'VOUCHER_RELEASED']);
      const text = await page.textContent('#serial-view');
      // Times as Shanghai wall-clock, each step with its transaction and block from the ledger.
      const issued = provenance.timeline[0];
      const shanghai = new Date(Date.parse(issued.committedAt) + 8 * 3600000).toISOString();
      expect(text).toContain(shanghai.slice(0, 19).replace('T', ' '));
      expect(text).toContain(`block ${issued.blockNumber}`);
      expect(text).toContain(issued.txId);
      expect(text).toContain('Redeemed否 no');
      await screenshot(page, 'serial-timeline', 600);

      // The key: in this tab's session storage, in no URL; a reload keeps the session, a new tab does not.
      expect(await page.evaluate(`sessionStorage.getItem('gec.regulator.apiKey')`)).toBe(
        market.keys.regulator,
      );
      await page.reload();
      await page.waitForSelector('#app:not([hidden])');
      const other = await (await browser.newContext()).newPage();
      await other.goto(`${base}/regulator`);
      expect(await other.isVisible('#key-form')).toBe(true);
      await other.context().close();
      await page.click('#forget-key');
      expect(await page.evaluate(`sessionStorage.getItem('gec.regulator.apiKey')`)).toBeNull();
      expect(await page.isVisible('#key-form')).toBe(true);
      await page.context().close();
    });

    it('renders the Chinese labels in a CJK font, not as empty boxes (fonts-noto-cjk)', async () => {
      const page = await regulatorPage();
      // The heading's first character drawn in the heading's font beside an unassigned code point (U+0378, which
      // every font draws as the empty box): with no CJK font both are that box, pixel for pixel.
      const drawn = (await page.evaluate(`(() => {
        const heading = document.querySelector('h1');
        const font = getComputedStyle(heading).font;
        const draw = (text) => {
          const context = new OffscreenCanvas(64, 64).getContext('2d');
          context.font = font;
          context.fillText(text, 4, 48);
          return { width: context.measureText(text).width, pixels: context.getImageData(0, 0, 64, 64).data.join() };
        };
        const glyph = draw(heading.textContent.trim()[0]);
        const box = draw('\\u0378');
        return { label: heading.textContent.trim()[0], labelWidth: heading.firstChild.length && (() => {
          const range = document.createRange();
          range.selectNodeContents(heading.firstChild);
          return range.getBoundingClientRect().width;
        })(), glyphWidth: glyph.width, inked: /[1-9]/.test(glyph.pixels), likeTheBox: glyph.pixels === box.pixels };
      })()`)) as {
        label: string;
        labelWidth: number;
        glyphWidth: number;
        inked: boolean;
        likeTheBox: boolean;
      };
      expect(drawn.label).toBe('绿');
      expect(drawn.labelWidth).toBeGreaterThan(0);
      expect(drawn.glyphWidth).toBeGreaterThan(0);
      expect(drawn.inked).toBe(true);
      // If this fails: apt-get install fonts-noto-cjk (.ci/run does).
      expect(drawn.likeTheBox).toBe(false);
      await page.context().close();
    });

    it('shows a trade’s evidence and the integrity checks as pass', async () => {
      const page = await regulatorPage();
      await search(page, 'trade', 'T-1', '#trade-view[data-evidence]');
      expect(await page.getAttribute('#trade-view', 'data-evidence')).toBe('pass');
      expect(await page.textContent('#trade-view')).toContain('10,000 kWh (10 MWh)');
      await page.click('#check-chain');
      await page.waitForSelector('#chain-result');
      expect(await page.getAttribute('#chain-result', 'data-ok')).toBe('true');
      expect(await page.textContent('#chain-result')).toContain('PASS');
      await screenshot(page, 'trade-evidence-chain', 500);
      await page.click('#check-projection');
      await page.waitForSelector('#projection-result');
      expect(await page.getAttribute('#projection-result', 'data-ok')).toBe('true');
      // A participant found by auto search after no trade has its id.
      await search(page, 'auto', 'CON-1', '#participant-view');
      expect(await page.textContent('#participant-view')).toContain('CON-1 有限公司');
      await page.context().close();
    });

    it('draws the statistics as charts whose bars are the API’s numbers, and saves each as CSV with the key in no URL', async () => {
      const page = await regulatorPage();
      // The form's range: the last 12 Shanghai months, this one (when everything here happened) included.
      const from = await page.inputValue('#stat-from');
      const to = await page.inputValue('#stat-to');
      const thisMonth = new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 7);
      expect(from < thisMonth && thisMonth < to).toBe(true);
      await page.click('#statistics-form button[type=submit]');
      for (const id of ['stat-certificates', 'stat-green', 'stat-rejected']) {
        await page.waitForSelector(`#${id}[data-state=ready]`);
      }
      const range = `from=${from}&to=${to}`;

      // A chart per measure: one bar per month with certificates, each bar's number the statistic's.
      const monthly = (await get(`/v1/statistics/certificates?${range}&groupBy=month`).expect(200)).body;
      expect(monthly.totals.issued).toBeGreaterThan(0);
      expect(monthly.totals.traded).toBe(10);
      for (const measure of ['issued', 'traded', 'redeemed', 'exchanged', 'expired', 'withdrawn']) {
        const bars = await page.$$eval(`#chart-${measure} rect.bar`, (rects) =>
          rects.map((r) => [r.getAttribute('data-month'), Number(r.getAttribute('data-value'))]),
        );
        const expected = monthly.rows
          .filter((row: Record<string, number>) => row[measure] > 0)
          .map((row: Record<string, number | string>) => [row.month, row[measure]]);
        expect([measure, bars]).toEqual([measure, expected]);
        expect(await page.getAttribute(`#chart-${measure}`, 'data-total')).toBe(
          String(monthly.totals[measure]),
        );
      }
      // Labels: the value over the bar with separators; the chart named for screen readers.
      const issued = monthly.rows.find((row: { month: string }) => row.month === thisMonth).issued;
      expect(await page.textContent(`#chart-issued text.value[data-month="${thisMonth}"]`)).toBe(
        issued.toLocaleString('en-US'),
      );
      const labelledBy = (await page.getAttribute('#chart-issued svg', 'aria-labelledby')) ?? '';
      expect(await page.getAttribute('#chart-issued svg', 'role')).toBe('img');
      const names = await Promise.all(labelledBy.split(' ').map((id) => page.textContent(`#${id}`)));
      expect(names).toEqual([
        '签发 Issued (MWh)',
        `${issued.toLocaleString('en-US')} MWh in 12 months; most in ${thisMonth} (${issued.toLocaleString('en-US')} MWh)`,
      ]);

      // Green consumption per consumer and rejected trades by failed check, bar for row.
      const green = (await get(`/v1/statistics/green-consumption?${range}`).expect(200)).body;
      const greenBars = await page.$$eval('#chart-green g.item', (items) =>
        items.map((g) => [g.getAttribute('data-key'), Number(g.getAttribute('data-value'))]),
      );
      expect(greenBars).toEqual(
        green.rows.map((r: { consumer: string; greenKwh: number }) => [r.consumer, r.greenKwh]),
      );
      expect(greenBars).toEqual([['CON-1', 10000]]);
      expect(await page.textContent('#chart-green g.item')).toContain(
        'CON-1 有限公司 (CON-1)10,000 kWh (10 MWh)',
      );
      const rejected = (await get(`/v1/statistics/rejected-trades?${range}`).expect(200)).body;
      expect(rejected.totals.trades).toBe(1);
      const rejectedBars = await page.$$eval('#chart-rejected g.item', (items) =>
        items.map((g) => [g.getAttribute('data-key'), Number(g.getAttribute('data-value'))]),
      );
      expect(rejectedBars).toEqual(
        rejected.rows.map((r: { check: string; code: string | null; trades: number }) => [
          r.code ? `${r.check}:${r.code}` : r.check,
          r.trades,
        ]),
      );
      expect(rejectedBars).toContainEqual(['consumption-covers-volume', 1]);
      await screenshot(page, 'statistics-charts', 900);

      // The CSV of a chart: fetched with the key in the header, saved from a Blob, the export's bytes exactly.
      const [saved] = await Promise.all([
        page.waitForEvent('download'),
        page.click('#stat-green button.download'),
      ]);
      expect(saved.suggestedFilename()).toBe('green-consumption.csv');
      expect(saved.url()).toMatch(/^blob:/);
      const csv = (await get(`/v1/statistics/green-consumption?${range}&format=csv`).expect(200)).text;
      expect(await readFile((await saved.path()) as string, 'utf8')).toBe(csv);
      expect(csv.split('\r\n')[1]).toMatch(/^CON-1,CON-1 有限公司,/);

      // Grouped by province: a table of the statistic by province, and the monthly bars stacked by province.
      await page.selectOption('#stat-group', 'province');
      await page.click('#statistics-form button[type=submit]');
      await page.waitForSelector('#stat-groups[data-state=ready]');
      await page.waitForSelector('#stat-certificates[data-state=ready]');
      const byProvince = (await get(`/v1/statistics/certificates?${range}&groupBy=province`).expect(200))
        .body;
      const tableRows = await page.$$eval('#group-table tr[data-group]', (rows) =>
        rows.map((r) => [
          r.getAttribute('data-group'),
          r.querySelector('td[data-measure=issued]')?.textContent,
          r.querySelector('td[data-measure=traded]')?.textContent,
        ]),
      );
      expect(tableRows).toEqual(
        byProvince.rows.map((r: { province: string; issued: number; traded: number }) => [
          r.province,
          `${r.issued.toLocaleString('en-US')} MWh`,
          `${r.traded.toLocaleString('en-US')} MWh`,
        ]),
      );
      const stacked = await page.$$eval('#chart-issued rect.bar', (rects) =>
        rects.map((r) => [
          r.getAttribute('data-month'),
          r.getAttribute('data-group'),
          Number(r.getAttribute('data-value')),
        ]),
      );
      const byMonthProvince = (
        await get(`/v1/statistics/certificates?${range}&groupBy=month,province`).expect(200)
      ).body;
      // Stacks are drawn largest group first; the rows come by month and province: compare them as sets.
      const sorted = (bars: unknown[][]) => bars.map((bar) => JSON.stringify(bar)).sort();
      expect(sorted(stacked)).toEqual(
        sorted(
          byMonthProvince.rows
            .filter((r: { issued: number }) => r.issued > 0)
            .map((r: { month: string; province: string; issued: number }) => [r.month, r.province, r.issued]),
        ),
      );
      expect(await page.textContent('#group-table')).toContain('浙江 330000');
      await screenshot(page, 'statistics-by-province', 900);

      // More month × participant groups than a JSON answer holds (10,000): the bars fall back to by month only and
      // say so; the table by participant is refused naming the way out (CSV). Kept totals of 10,001 participants.
      await db.query(
        `INSERT INTO certificate_statistics_monthly_participant
                (month, participant, province, technology, measure, certificates)
         SELECT $1, 'BULK-' || n, '330000', 'WIND', 'issued', 1 FROM generate_series(1, 10001) n`,
        [thisMonth],
      );
      try {
        await page.selectOption('#stat-group', 'participant');
        await page.click('#statistics-form button[type=submit]');
        await page.waitForSelector('#stat-certificates[data-state=ready]');
        await page.waitForSelector('#stat-groups[data-state=failed]');
        expect(await page.textContent('#not-stacked')).toContain('the CSV has every row');
        const fallback = await page.$$eval('#chart-issued rect.bar', (rects) =>
          rects.map((r) => [r.getAttribute('data-month'), Number(r.getAttribute('data-value'))]),
        );
        expect(fallback).toEqual(
          monthly.rows
            .filter((r: { issued: number }) => r.issued > 0)
            .map((r: { month: string; issued: number }) => [r.month, r.issued]),
        );
        expect(await page.textContent('#stat-groups')).toContain('422 STATISTIC_TOO_LARGE');
      } finally {
        await db.query(
          `DELETE FROM certificate_statistics_monthly_participant WHERE participant LIKE 'BULK-%'`,
        );
      }
      await page.context().close();
    });

    it('shows the printable voucher with names, Shanghai times, separators and a QR code of its verification link', async () => {
      const page = await regulatorPage();
      await search(page, 'voucher', 'VCH-T-1', '#voucher-view');
      await page.click('#show-print');
      await page.waitForSelector('#print-frame');
      const frame = page.frameLocator('#print-frame');
      await frame.locator('#verify-url').waitFor();
      const text = (await frame.locator('body').textContent()) ?? '';
      expect(text).toContain('CON-1 有限公司');
      expect(text).toContain('GEN-1 有限公司');
      expect(text).toContain('10,000 kWh (10 MWh)');
      expect(text).toContain('45,000.00 CNY');
      expect(text).toContain('2026-10-01 — 2026-10-31');
      const voucher = (await get('/v1/vouchers/VCH-T-1').expect(200)).body;
      const issuedShanghai = new Date(Date.parse(voucher.ledger.committedAt) + 8 * 3600000).toISOString();
      expect(text).toContain(`${issuedShanghai.slice(0, 19).replace('T', ' ')} (UTC+8)`);
      verifyUrl = ((await frame.locator('#verify-url').textContent()) ?? '').trim();
      expect(verifyUrl).toMatch(new RegExp(`^${base}/verify/VCH-T-1/[0-9a-f]{32}$`));
      // The QR code is the one the QR library makes of exactly that link: the same modules.
      const modules = (svg: string) => [...svg.matchAll(/ d="([^"]+)"/g)].map((m) => m[1]);
      const shown = await frame.locator('svg').evaluate((el) => el.outerHTML);
      const expected = await QRCode.toString(verifyUrl, {
        type: 'svg',
        errorCorrectionLevel: 'M',
        margin: 2,
      });
      expect(modules(shown)).toEqual(modules(expected));
      expect(modules(shown)).toHaveLength(2);
      await screenshot(page, 'printable-voucher', 900);
      await page.context().close();
    });

    it('the public verification page confirms the voucher with no key, and shows nothing else', async () => {
      expect(verifyUrl).toBeDefined();
      const page = await newPage();
      const response = await page.goto(verifyUrl);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'/);
      expect(response?.headers()['referrer-policy']).toBe('no-referrer');
      expect(await page.textContent('#verdict')).toContain('验证通过');
      expect(await page.textContent('#status')).toContain('RELEASED');
      expect(await page.textContent('#volume')).toBe('10,000 kWh (10 MWh)');
      expect(await page.textContent('#period')).toBe('2026-10-01 — 2026-10-31');
      const lot = (await get(`/v1/lots/${tradedLot}`).expect(200)).body;
      const serials = await page.textContent('#serials');
      expect(serials).toContain(lot.serialStart);
      expect(serials).toContain(lot.serialEnd);
      const checks = await page.$$eval('#checks tr', (rows) =>
        rows.map((r) => [r.getAttribute('data-check'), r.textContent?.includes('PASS')]),
      );
      expect(checks).toEqual([
        ['ledger', true],
        ['issued', true],
        ['changed', true],
        ['projection', true],
        ['chain', true],
      ]);
      const voucher = (await get('/v1/vouchers/VCH-T-1').expect(200)).body;
      const body = (await page.textContent('body')) ?? '';
      expect(body).toContain(voucher.ledger.txId);
      expect(body).toContain(voucher.lastChange.txId);
      // Nothing about the parties, the trade or the price.
      for (const hidden of [
        'CON-1',
        'GEN-1',
        'TC-1',
        '有限公司',
        '45,000',
        'GREEN_POWER',
        voucher.trade.tradeDataHash,
      ]) {
        expect(body).not.toContain(hidden);
      }
      await screenshot(page, 'public-verification', 500);
      await page.context().close();
    });

    it('refuses a forged link plainly: a page for a browser, a problem document for anyone else', async () => {
      const page = await newPage();
      const forged = verifyUrl.replace(/[0-9a-f]{32}$/, '0'.repeat(32));
      const response = await page.goto(forged);
      expect(response?.status()).toBe(404);
      expect(await page.textContent('#verdict')).toContain('未能验证');
      await screenshot(page, 'forged-link', 200);
      await page.context().close();
      const path = new URL(forged).pathname;
      const problem = await gateway.http.get(path).expect(404);
      expect(problem.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(problem.body.code).toBe('VOUCHER_NOT_VERIFIABLE');
      const unknown = await gateway.http.get(path.replace('VCH-T-1', 'VCH-T-404')).expect(404);
      expect(unknown.body.detail).toBe(problem.body.detail);
      expect((await gateway.http.get('/verify/VCH-T-1/not-a-code').expect(400)).body.code).toBe(
        'VALIDATION_FAILED',
      );
    });

    it('names an edited projected row as a failed check, never serving it silently', async () => {
      await db.query(
        `UPDATE vouchers SET volume_kwh = 99000, doc = doc || '{"volumeKwh":99000}'::jsonb WHERE id = 'VCH-T-1'`,
      );
      try {
        const page = await newPage();
        await page.goto(verifyUrl);
        expect(await page.textContent('#verdict')).toContain('验证未通过');
        expect(await page.textContent('[data-check=projection]')).toMatch(/FAIL.*volumeKwh/s);
        // The page shows the ledger's volume, not the edited one.
        expect(await page.textContent('#volume')).toBe('10,000 kWh (10 MWh)');
        await page.context().close();
      } finally {
        await db.query(
          `UPDATE vouchers SET volume_kwh = 10000, doc = doc || '{"volumeKwh":10000}'::jsonb WHERE id = 'VCH-T-1'`,
        );
      }
    });

    it('sent the key in no URL, and the pages broke no Content-Security-Policy', () => {
      expect(requested.length).toBeGreaterThan(10);
      for (const url of requested) expect(url).not.toContain(market.keys.regulator);
      expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
    });

    it('limits the public page per client address: 429 with Retry-After; another address is not held up', async () => {
      const path = new URL(verifyUrl).pathname;
      let limited: { status: number; headers: Record<string, string> } | undefined;
      for (let i = 0; i < 60 && !limited; i++) {
        const res = await gateway.http.get(path);
        if (res.status === 429) limited = res as never;
        else expect(res.status).toBe(200);
      }
      expect(limited?.headers['retry-after']).toMatch(/^\d+$/);
      // Another visitor behind the trusted proxy has a bucket of its own.
      await gateway.http.get(path).set('X-Forwarded-For', '203.0.113.7').expect(200);
    });
  },
);
