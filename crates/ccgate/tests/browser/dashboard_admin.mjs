// The operator's users page and fee, and a merchant user's day, in Debian's
// Chromium (decisions §34): the operator sets the merchant's service fee on
// its overview and sees the users page; the merchant's user watches a devnet
// payment of an order confirm on the order's page and count on the
// overview, finds its webhook failed (the receiver answered 500), points the
// webhook URL at a working receiver and resends it from the delivery log
// until it reads delivered, sees the fee in force on the developers page,
// and downloads the orders as CSV (a Playwright download) which parses.
// Every page is checked by axe-core (no serious or critical violation) and
// photographed at 1280×800 and 390×844. Prints what it saw as JSON.
//
// usage: CCGATE_ADMIN_TOKEN=TOKEN node dashboard_admin.mjs BASE_URL ADMIN_URL OPS_EMAIL OPS_PASSWORD EMAIL PASSWORD APP_ID PAY_ADDRESS RECEIVER_URL SCREENSHOT_DIR
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { accessibleIn, check } from './dashboard_common.mjs';
import { USDT_ERC20, adminCaller, text } from './common.mjs';

const [base, adminUrl, opsEmail, opsPassword, email, password, appId, payAddress, receiverUrl, screenshots] = process.argv.slice(2);
const adminToken = process.env.CCGATE_ADMIN_TOKEN;
if (!screenshots || !adminToken) {
  console.error('usage: CCGATE_ADMIN_TOKEN=TOKEN node dashboard_admin.mjs BASE_URL ADMIN_URL OPS_EMAIL OPS_PASSWORD EMAIL PASSWORD APP_ID PAY_ADDRESS RECEIVER_URL SCREENSHOT_DIR');
  process.exit(2);
}
const accessible = accessibleIn(screenshots);

const admin = adminCaller(adminUrl, adminToken);

// The `<dd>` after the `<dt>` named `name`.
function field(page, name) {
  return page.locator('dl.once dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]');
}

// The page again until `read()` answers true (the engine credits and
// delivers in the background).
async function reloadUntil(page, what, read) {
  for (let tries = 0; tries < 60; tries += 1) {
    if (await read()) return;
    await new Promise((resolve) => { setTimeout(resolve, 500); });
    await page.reload();
  }
  throw new Error(`never: ${what}`);
}

// RFC 4180 as the server writes it: quoted fields, doubled quotes, CRLF.
function parseCsv(textIn) {
  const rows = [];
  let row = [];
  let fieldText = '';
  let quoted = false;
  for (let i = 0; i < textIn.length; i += 1) {
    const c = textIn[i];
    if (quoted) {
      if (c === '"' && textIn[i + 1] === '"') { fieldText += '"'; i += 1; } else if (c === '"') quoted = false; else fieldText += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(fieldText); fieldText = ''; } else if (c === '\r' && textIn[i + 1] === '\n') { row.push(fieldText); rows.push(row); row = []; fieldText = ''; i += 1; } else fieldText += c;
  }
  check(fieldText === '' && row.length === 0, 'the CSV does not end in CRLF');
  return rows;
}

async function logIn(page, who, secret) {
  await page.goto(`${base}/dashboard/login`);
  await page.fill('#email', who);
  await page.fill('#password', secret);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('response', (response) => {
      if (response.status() >= 400) errors.push(`${response.status()} for ${response.url()}`);
    });
  };

  // The operator: the merchant's fee on its overview, then the users page.
  const opsContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const ops = await opsContext.newPage();
  watch(ops);
  await logIn(ops, opsEmail, opsPassword);
  await ops.goto(`${base}/dashboard/m/${appId}`);
  await ops.fill('#fee-percent', '0.5');
  await Promise.all([ops.waitForNavigation(), ops.click('form[action$="/fee"] button')]);
  check((await ops.inputValue('#fee-percent')) === '0.5', 'the fee set reads back');
  await accessible(ops, 'overview-operator');
  await Promise.all([ops.waitForNavigation(), ops.click('header nav >> text=Users')]);
  const ownerRow = ops.locator('#users tr', { hasText: email });
  check((await ownerRow.count()) === 1, 'the merchant user is listed');
  const cells = (await ownerRow.innerText()).replace(/\s+/g, ' ');
  check(cells.includes(`merchant ${appId}`) && cells.includes('off') && cells.includes('active'), `its row: ${cells}`);
  await accessible(ops, 'users');
  await opsContext.close();

  // The merchant's user.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  watch(page);
  await logIn(page, email, password);
  check(page.url().endsWith(`/dashboard/m/${appId}`), `the user lands on its merchant: ${page.url()}`);

  // A devnet payment of the order: confirming, then confirmed.
  await admin('/admin/devnet/pay', { to: payAddress, token_id: USDT_ERC20, amount: '10' });
  await admin('/admin/devnet/mine', { chain: 'ETH', blocks: 1 });
  const orderPath = `${base}/dashboard/m/${appId}/orders/browser-order`;
  await page.goto(orderPath);
  await reloadUntil(page, 'the payment confirming', async () => (await page.$('p.answer')) !== null || (await text(page, '#order-state')) === 'Successful');
  await accessible(page, 'order-confirming');
  await admin('/admin/devnet/mine', { chain: 'ETH', blocks: 12 });
  await reloadUntil(page, 'the order paid', async () => (await text(page, '#order-state')) === 'Successful');
  const confirmations = Number(await text(page, 'td.confirmations'));
  check(confirmations >= 12, `the payment has ${confirmations} confirmations`);
  check((await text(page, '#order-paid')) === '10 USDT', 'the paid amount');
  // The fee the operator set is the one charged: 0.5 % of 10 USDT.
  const payment = await text(page, 'table tbody tr');
  check(payment.includes('0.05 USDT'), `the payment's service fee: ${payment}`);
  await accessible(page, 'order-paid');

  // In the orders list and on the overview.
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Orders')]);
  const listed = page.locator('tr', { hasText: 'browser-order' });
  check((await listed.count()) === 1 && (await listed.innerText()).includes('Successful'), 'the order in the list');
  await accessible(page, 'orders-paid');
  await page.goto(`${base}/dashboard/m/${appId}`);
  const states = await text(page, '#order-states');
  check(states.includes('Successful: 1'), `orders by state: ${states}`);
  const today = await text(page, '#received-today');
  check(today.includes('USDT 10'), `received today: ${today}`);
  await accessible(page, 'overview-paid');

  // The webhook failed (500); the URL fixed, resent, delivered.
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Developers')]);
  check((await text(page, '#service-fee')).startsWith('0.5 %'), 'the fee in force');
  await page.fill('#url', receiverUrl);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/webhook"] button')]);
  const logged = page.locator('a[href*="/webhooks/"]');
  check((await logged.count()) === 1, 'the deposit webhook in the delivery log');
  await Promise.all([page.waitForNavigation(), logged.click()]);
  await reloadUntil(page, 'a failed attempt', async () => (await page.locator('tbody tr', { hasText: '500' }).count()) > 0);
  check((await field(page, 'Status').innerText()) !== 'delivered', 'delivered before the resend');
  await accessible(page, 'webhook-failed');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/resend"] button')]);
  await reloadUntil(page, 'the webhook delivered', async () => (await field(page, 'Status').innerText()) === 'delivered');
  await accessible(page, 'webhook-resent');

  // The orders as CSV, downloaded and parsed.
  await page.goto(`${base}/dashboard/m/${appId}/orders`);
  const day = new Date().toISOString().slice(0, 10);
  await page.selectOption('#kind', 'orders');
  await page.fill('#from', day);
  await page.fill('#to', day);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('form[action$="/export"] button')]);
  const rows = parseCsv(readFileSync(await download.path(), 'utf8'));
  const header = rows[0];
  const order = rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))).find((r) => Object.values(r).includes('browser-order'));
  check(order !== undefined, `the order in the CSV: ${JSON.stringify(rows)}`);

  check(errors.length === 0, `errors in the pages: ${errors.join('; ')}`);
  console.log(JSON.stringify({ confirmations, csvRows: rows.length - 1, filename: download.suggestedFilename(), order }));
} finally {
  await browser.close();
}
