// The dashboard's wallet-system and operator pages in Debian's Chromium
// (decisions §30): the sandbox's one-click demo login, the operator's
// chains, accounts and incidents, the sandbox page (the clock advanced and a
// trigger fired by their buttons), and a merchant's wallet users, one user,
// its swaps and its batch withdrawals. Every page is checked by axe-core (no
// serious or critical violation), must not be wider than a phone's screen,
// and is photographed on a desktop (1280×800) and a phone (390×844).
// Prints what it saw as JSON.
//
// usage: node dashboard_views.mjs BASE_URL APP_ID BATCH_ORDER_ID SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { accessibleIn, check } from './dashboard_common.mjs';

const [base, appId, batchOrderId, screenshots] = process.argv.slice(2);
if (!base || !appId || !batchOrderId || !screenshots) {
  console.error('usage: node dashboard_views.mjs BASE_URL APP_ID BATCH_ORDER_ID SCREENSHOT_DIR');
  process.exit(2);
}
const accessible = accessibleIn(screenshots);

async function open(page, path, heading) {
  const answer = await page.goto(`${base}${path}`);
  check(answer.status() === 200, `${path}: HTTP ${answer.status()}`);
  const h1 = await page.textContent('h1');
  check(h1.includes(heading), `${path}: the heading is ${h1}`);
}

// Business time on the sandbox page, as unix seconds.
async function businessTime(page) {
  const text = (await page.innerText('#sandbox-now')).replace(' UTC', 'Z').replace(' ', 'T');
  return Date.parse(text) / 1000;
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
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });

  await page.goto(`${base}/dashboard/login`);
  await accessible(page, 'demo-login');
  await Promise.all([page.waitForNavigation(), page.click('text=Log in as the demo operator')]);
  check((await page.textContent('h1')).includes('Merchants'), `the demo operator lands on the merchants: ${page.url()}`);

  await Promise.all([page.waitForNavigation(), page.click('header nav >> text=Operations')]);
  check(page.url().endsWith('/dashboard/chains'), `Operations leads to the chains: ${page.url()}`);
  check((await page.innerText('#chains')).includes('devnet'), 'the chains are listed');
  await accessible(page, 'chains');
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Accounts')]);
  check((await page.innerText('#accounts')).includes('operator:treasury'), 'the treasury is listed');
  await accessible(page, 'accounts');
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Incidents')]);
  await accessible(page, 'incidents');

  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Sandbox')]);
  const before = await businessTime(page);
  await page.fill('#seconds', '86400');
  await Promise.all([page.waitForNavigation(), page.click('text=Advance the clock')]);
  const advancedBySeconds = (await businessTime(page)) - before;
  check(advancedBySeconds >= 86400, `the clock moved by ${advancedBySeconds} s`);
  await accessible(page, 'sandbox');
  await page.selectOption('#trigger-name', 'deposit.direct');
  await page.selectOption('#trigger-merchant', appId);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Fire")')]);
  check((await page.innerText('#trigger-steps')).length > 0, 'the trigger says what it did');
  await accessible(page, 'trigger-report');

  const m = `/dashboard/m/${appId}`;
  await open(page, `${m}/wallet-users`, 'wallet users');
  check((await page.innerText('main')).includes('trigger-wallet-user-2'), 'the users are listed');
  await accessible(page, 'wallet-users');
  await Promise.all([page.waitForNavigation(), page.click('a:text-is("trigger-wallet-user")')]);
  check((await page.innerText('#user-balances')).includes('USDT'), 'the user holds USDT');
  await accessible(page, 'wallet-user');
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Swaps')]);
  await accessible(page, 'swaps');
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Batch withdrawals')]);
  await accessible(page, 'batch-withdrawals');
  await Promise.all([page.waitForNavigation(), page.click(`a:text-is("${batchOrderId}")`)]);
  check((await page.innerText('#batch-status')) === 'Completed', 'the batch is completed');
  await accessible(page, 'batch-withdrawal');

  await open(page, '/dashboard/audit', 'Audit log');
  const audit = await page.innerText('main');
  for (const action of ['demo login', 'sandbox clock advanced', 'sandbox trigger fired']) {
    check(audit.includes(action), `the audit log shows ${action}`);
  }

  check(errors.length === 0, `errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ advancedBySeconds }));
} finally {
  await browser.close();
}
