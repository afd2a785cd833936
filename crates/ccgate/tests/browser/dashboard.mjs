// The dashboard the way people use it, in Debian's Chromium: an operator
// logs in, creates a merchant and its user, and logs out; the merchant user
// logs in, sets its webhook URL, sends a test webhook, reads the
// receiver's answer and limits API calls to another address (the test then
// sees its own call refused). Every page is checked by axe-core (no serious or
// critical violation) and photographed on a desktop (1280×800) and a phone
// (390×844). Prints what it made as JSON.
//
// usage: node dashboard.mjs BASE_URL OPERATOR_EMAIL OPERATOR_PASSWORD RECEIVER_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { accessibleIn, check } from './dashboard_common.mjs';

const [base, opsEmail, opsPassword, receiverUrl, screenshots] = process.argv.slice(2);
if (!base || !opsEmail || !opsPassword || !receiverUrl || !screenshots) {
  console.error('usage: node dashboard.mjs BASE_URL OPERATOR_EMAIL OPERATOR_PASSWORD RECEIVER_URL SCREENSHOT_DIR');
  process.exit(2);
}
const accessible = accessibleIn(screenshots);

async function shownOnce(page, name) {
  return (await page.locator('dt', { hasText: name }).locator('xpath=following-sibling::dd[1]').innerText()).trim();
}

async function logIn(page, email, password) {
  await page.goto(`${base}/dashboard`);
  check(page.url().endsWith('/dashboard/login'), `not sent to the login page: ${page.url()}`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

async function logOut(page) {
  await Promise.all([page.waitForNavigation(), page.click('header button')]);
  check(page.url().endsWith('/dashboard/login'), `not logged out: ${page.url()}`);
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
  await accessible(page, 'login');
  await logIn(page, opsEmail, opsPassword);
  check((await page.textContent('h1')).includes('Merchants'), 'the operator lands on the merchants');
  await accessible(page, 'merchants');

  await page.fill('#name', 'Browser Shop');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/dashboard/merchants"] button')]);
  const appId = await shownOnce(page, 'Appid');
  check(/^\d{33}$/.test(appId), `Appid ${appId}`);
  const appSecret = await shownOnce(page, 'App secret');
  check(appSecret.length === 32, 'the app secret is shown once');
  await accessible(page, 'merchant-created');

  await Promise.all([page.waitForNavigation(), page.click('text=Continue')]);
  await accessible(page, 'overview');
  await page.fill('#email', 'owner@browser.example');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/users"] button')]);
  const ownerPassword = await shownOnce(page, 'Password');
  await page.goto(`${base}/dashboard/audit`);
  check((await page.textContent('main')).includes('merchant created'), 'the audit log shows the merchant');
  await accessible(page, 'audit');
  await logOut(page);

  await logIn(page, 'owner@browser.example', ownerPassword);
  check(page.url().endsWith(`/dashboard/m/${appId}`), `the merchant user lands on its merchant: ${page.url()}`);
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Orders')]);
  await accessible(page, 'orders');
  await Promise.all([page.waitForNavigation(), page.click('nav.tabs >> text=Developers')]);
  await accessible(page, 'developers');
  await page.fill('#url', receiverUrl);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/webhook"] button')]);
  check((await page.inputValue('#url')) === receiverUrl, 'the webhook URL is kept');
  await Promise.all([page.waitForNavigation(), page.click('text=Send test webhook')]);
  const answer = (await page.innerText('#test-answer')).replace(/\s+/g, ' ');
  check(answer.includes('HTTP 200') && answer.includes('success'), `the receiver's answer: ${answer}`);
  await accessible(page, 'test-webhook');
  // API calls from another address only: the test's own call (from
  // 127.0.0.1) must then be refused.
  await page.fill('#allowlist', '203.0.113.7');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/allowlist"] button')]);
  check((await page.inputValue('#allowlist')) === '203.0.113.7/32', 'the allowlist is kept');
  await logOut(page);

  check(errors.length === 0, `errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ appId, appSecret, answer }));
} finally {
  await browser.close();
}
