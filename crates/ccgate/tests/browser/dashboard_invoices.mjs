// Dashboard invoices the way a merchant's user makes them, in Debian's
// Chromium (decisions §32): the user logs in, makes an invoice, opens its
// payment link and pays it as a payer on the devnet (through ccgate's admin
// API), sees it paid on the dashboard and its Invoice webhook in the
// delivery log, then finds the payment in the overview's figures and chart.
// Every page is checked by axe-core (no serious or critical violation) and
// photographed on a desktop (1280×800) and a phone (390×844). Prints what it
// saw as JSON.
//
// usage: CCGATE_ADMIN_TOKEN=TOKEN node dashboard_invoices.mjs BASE_URL ADMIN_URL EMAIL PASSWORD APP_ID SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { accessibleIn, check } from './dashboard_common.mjs';
import { USDT_ERC20, adminCaller, text } from './common.mjs';

const [base, adminUrl, email, password, appId, screenshots] = process.argv.slice(2);
const adminToken = process.env.CCGATE_ADMIN_TOKEN;
if (!base || !adminUrl || !email || !password || !appId || !screenshots || !adminToken) {
  console.error('usage: CCGATE_ADMIN_TOKEN=TOKEN node dashboard_invoices.mjs BASE_URL ADMIN_URL EMAIL PASSWORD APP_ID SCREENSHOT_DIR');
  process.exit(2);
}
const accessible = accessibleIn(screenshots);

const admin = adminCaller(adminUrl, adminToken);

// The dashboard page again until `selector` reads `wanted` (the engine
// credits in the background).
async function reloadUntil(page, selector, wanted) {
  for (let tries = 0; tries < 60; tries += 1) {
    if ((await text(page, selector)) === wanted) return;
    await new Promise((resolve) => { setTimeout(resolve, 500); });
    await page.reload();
  }
  throw new Error(`${selector} never read "${wanted}": "${await text(page, selector)}"`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
      errors.push(`${response.status()} for ${response.url()}`);
    }
  });

  await page.goto(`${base}/dashboard`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(page.url().endsWith(`/dashboard/m/${appId}`), `the user lands on its merchant: ${page.url()}`);

  // A new invoice, from the invoices tab.
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Invoices')]);
  await accessible(page, 'invoices');
  await page.fill('#amount', '12.5');
  await page.selectOption('#currency', 'USD');
  await page.fill('#product', 'Guitar lesson');
  await page.selectOption('#valid_hours', '72');
  await page.fill('#reference', 'lesson-browser');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/invoices"] button')]);
  check(page.url().endsWith(`/dashboard/m/${appId}/invoices/lesson-browser`), `the invoice's page: ${page.url()}`);
  check((await text(page, '#invoice-state')) === 'Pending', 'a new invoice is pending');
  check((await page.$('.qr svg')) !== null, 'no QR code of the link');
  const link = await page.getAttribute('#invoice-link', 'href');
  check(/\/pay\/[0-9a-f]{32}$/.test(link), `the payment link is ${link}`);
  await accessible(page, 'invoice');

  // The payer opens the link, picks USDT on Ethereum and pays on the devnet.
  const payer = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await payer.goto(link);
  await payer.click(`button[data-symbol="USDT"][data-chain="ETH"]`);
  await payer.waitForSelector('#status[data-status="Pending"]', { timeout: 30_000 });
  const amount = await text(payer, '#amount');
  check(amount === '12.5 USDT', `the payer is asked for ${amount}`);
  const address = await text(payer, '#address');
  await admin('/admin/devnet/pay', { to: address, token_id: USDT_ERC20, amount: '12.5' });
  await admin('/admin/devnet/mine', { chain: 'ETH', blocks: 12 });
  await payer.waitForSelector('#status[data-status="Successful"]', { timeout: 30_000 });
  await payer.close();

  // Paid on the dashboard, and its webhook in the delivery log.
  await reloadUntil(page, '#invoice-state', 'Successful');
  check((await text(page, '#invoice-paid')) === '12.5 USDT', 'the paid amount');
  check((await page.$('.qr svg')) === null, 'a paid invoice still shows its QR code');
  await accessible(page, 'invoice-paid');
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Developers')]);
  const row = page.locator('tr', { has: page.locator('td', { hasText: /^Invoice$/ }) });
  check((await row.count()) === 1, 'no Invoice webhook in the delivery log');
  await Promise.all([page.waitForNavigation(), row.locator('a').click()]);
  const sent = JSON.parse(await page.innerText('pre'));
  check(sent.order_type === 'Invoice' && sent.extend.invoice_id === 'lesson-browser', `the body sent: ${JSON.stringify(sent)}`);
  await accessible(page, 'invoice-webhook');

  // The overview: received today, the chart and its figures.
  await Promise.all([page.waitForNavigation(), page.click('header >> text=Overview')]);
  check(page.url().endsWith(`/dashboard/m/${appId}`), `the overview: ${page.url()}`);
  const today = await text(page, '#received-today');
  check(today.includes('USDT 12.5 12.50'), `received today reads "${today}"`);
  check((await page.$('.chart-image svg polyline, .chart-image svg path')) !== null, 'no line on the chart');
  const label = await page.getAttribute('.chart-image', 'aria-label');
  check(label.includes('USDT'), `the chart's text alternative: ${label}`);
  await page.click('#chart-figures summary');
  check((await text(page, '#chart-figures')).includes('12.5 (12.50 USD)'), 'the chart\'s figures');
  await accessible(page, 'overview-figures');
  await Promise.all([page.waitForNavigation(), page.click('text=90 days')]);
  check(page.url().endsWith('?days=90'), `the 90-day chart: ${page.url()}`);
  await accessible(page, 'overview-90-days');

  check(errors.length === 0, `errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ appId, link, state: 'Successful' }));
} finally {
  await browser.close();
}
