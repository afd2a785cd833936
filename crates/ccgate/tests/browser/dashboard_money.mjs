// The dashboard's money pages the way a merchant user uses them, in
// Debian's Chromium (decisions §31): it sets up its TOTP second factor,
// computing each code here from the secret the page showed once (RFC 6238,
// node:crypto's HMAC-SHA1, nothing of the server's); makes a withdrawal,
// its fee quoted first, confirmed with a code; searches its orders and
// refunds one with a code; looks up a user's addresses. Every page is
// checked by axe-core (no serious or critical violation) and photographed
// on a desktop (1280×800) and a phone (390×844). Prints what it made as JSON.
//
// usage: node dashboard_money.mjs BASE_URL EMAIL PASSWORD APPID TOKEN_ID PAYEE PAID_ORDER USER_ID SCREENSHOT_DIR
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { accessibleIn, check } from './dashboard_common.mjs';

const [base, email, password, appId, tokenId, payee, paidOrder, userId, screenshots] = process.argv.slice(2);
if (!screenshots) {
  console.error('usage: node dashboard_money.mjs BASE_URL EMAIL PASSWORD APPID TOKEN_ID PAYEE PAID_ORDER USER_ID SCREENSHOT_DIR');
  process.exit(2);
}
const accessible = accessibleIn(screenshots);
const merchant = `${base}/dashboard/m/${appId}`;

// RFC 4648 base32 to bytes.
function fromBase32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let buffer = 0;
  let bits = 0;
  for (const c of text.replace(/\s+/g, '').toUpperCase()) {
    const value = alphabet.indexOf(c);
    check(value >= 0, `not base32: ${text}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

// RFC 6238: HMAC-SHA1 of the 30-second step, dynamically truncated to 6 digits.
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigInt64BE(BigInt(step));
  const hash = createHmac('sha1', fromBase32(secret)).update(counter).digest();
  const offset = hash[hash.length - 1] & 0x0f;
  const word = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
  return String(word % 1_000_000).padStart(6, '0');
}

// An authenticator app's codes, each of a later step than the one before
// (the server takes each step once and accepts one either side of now).
function authenticator(secret) {
  let lastStep = 0;
  return async function nextCode() {
    for (;;) {
      const now = Math.floor(Date.now() / 1000 / 30);
      // Never the step behind now: a code of it sent as a step ends
      // reaches the server two steps behind, and is refused.
      const step = Math.max(lastStep + 1, now);
      if (step <= now + 1) {
        lastStep = step;
        return totp(secret, step);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
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
  await page.fill('#email', email);
  await page.fill('#password', password);
  await submit(page, 'button[type=submit]');
  check(page.url() === merchant, `the merchant user lands on its merchant: ${page.url()}`);

  // The second factor: set up, the secret read once, confirmed with a code.
  await submit(page, 'header nav >> text=Settings');
  check((await page.innerText('#second-factor')).startsWith('Off.'), 'no second factor yet');
  await accessible(page, 'settings');
  await submit(page, 'text=Set up a second factor');
  const secret = (await page.innerText('#totp-secret')).trim();
  check(/^[A-Z2-7]{32}$/.test(secret), `the secret: ${secret}`);
  check((await page.innerText('#totp-uri')).includes(`secret=${secret}`), 'the otpauth URI carries it');
  check(await page.locator('figure.qr svg').count() === 1, 'its QR code');
  await accessible(page, 'settings-totp');
  const nextCode = authenticator(secret);
  await page.fill('#confirm-code', await nextCode());
  await submit(page, 'form[action$="/totp/confirm"] button');
  check((await page.innerText('#second-factor')).startsWith('On:'), 'the second factor is in force');
  check(!(await page.content()).includes(secret), 'the secret is not shown again');

  // A withdrawal: the fee quoted, then confirmed with a code.
  await submit(page, 'header nav >> text=Overview');
  await submit(page, 'nav.tabs >> text="Withdrawals"');
  await accessible(page, 'withdrawals-empty');
  await submit(page, 'text=New withdrawal');
  await accessible(page, 'withdrawal-new');
  await page.selectOption('#token_id', tokenId);
  await page.selectOption('#to', 'chain');
  await page.fill('#destination', payee);
  await page.fill('#amount', '5');
  await submit(page, 'text=Quote the fee');
  const fee = (await page.innerText('#quoted-fee')).trim();
  const receives = (await page.innerText('#quoted-receives')).trim();
  check(/ USDT$/.test(fee) && fee !== '0 USDT', `the fee: ${fee}`);
  await accessible(page, 'withdrawal-quote');
  await page.fill('#withdrawal-code', await nextCode());
  await submit(page, 'form[action$="/withdrawals"] button');
  check(page.url().startsWith(`${merchant}/withdrawals/`), `on to the withdrawal: ${page.url()}`);
  check((await page.innerText('#withdrawal-amount')).trim() === '5 USDT', 'its amount');
  const withdrawal = page.url().split('/').pop();
  await accessible(page, 'withdrawal');
  await submit(page, 'nav.tabs >> text="Withdrawals"');
  check((await page.innerText('main')).includes(payee), 'the withdrawal is listed');
  await accessible(page, 'withdrawals');

  // Orders: searched by merchant order id, then refunded with a code.
  await submit(page, 'nav.tabs >> text=Orders');
  await page.fill('#merchant_order_id', paidOrder);
  await submit(page, 'form.search button');
  const listed = await page.locator('table a').allInnerTexts();
  check(listed.length === 1 && listed[0] === paidOrder, `the search finds the order only: ${listed}`);
  await accessible(page, 'orders-search');
  await submit(page, `table a >> text=${paidOrder}`);
  check((await page.innerText('#order-state')) === 'Successful', 'the order is paid');
  await accessible(page, 'order');
  await page.fill('#refund-address', payee);
  await page.fill('#refund-amount', '5');
  await page.fill('#refund-code', await nextCode());
  await submit(page, 'form.refund button');
  check((await page.locator('[aria-label="Refunds"] tbody tr').count()) === 1, 'one refund');
  await accessible(page, 'order-refunded');

  // A user's permanent addresses and deposits.
  await submit(page, 'nav.tabs >> text=Addresses');
  await page.fill('#user_id', userId);
  await submit(page, 'form.inline button');
  check((await page.locator('[aria-label="Addresses"] tbody tr').count()) === 1, 'the user has one address');
  await accessible(page, 'addresses');

  await submit(page, 'header button');
  check(page.url().endsWith('/dashboard/login'), `logged out: ${page.url()}`);
  check(errors.length === 0, `errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ withdrawal, fee, receives }));
} finally {
  await browser.close();
}
