// Pays a hosted checkout the way a person does, in Debian's Chromium, on a
// sandbox whose clock the test moves (through ccgate's admin API): picks USDT
// on Ethereum, pays part of it, then the rest, watches it confirm and get
// paid — the page following by itself, no reload by hand — then lets a
// second checkout expire. Every state is checked by its visible text and
// photographed on a desktop (1280×800) and a phone (390×844).
//
// usage: CCGATE_ADMIN_TOKEN=TOKEN node checkout.mjs PAYMENT_URL EXPIRING_URL ADMIN_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { USDT_ERC20, adminCaller, check, text } from './common.mjs';

const [paymentUrl, expiringUrl, adminUrl, screenshots] = process.argv.slice(2);
const adminToken = process.env.CCGATE_ADMIN_TOKEN;
if (!paymentUrl || !expiringUrl || !adminUrl || !screenshots || !adminToken) {
  console.error('usage: CCGATE_ADMIN_TOKEN=TOKEN node checkout.mjs PAYMENT_URL EXPIRING_URL ADMIN_URL SCREENSHOT_DIR');
  process.exit(2);
}
const VIEWPORTS = [['desktop', 1280, 800], ['phone', 390, 844]];

const admin = adminCaller(adminUrl, adminToken);
const advance = (by) => admin('/admin/sandbox/clock/advance', { by });
const pay = (to, amount) => admin('/admin/devnet/pay', { to, token_id: USDT_ERC20, amount });

// The page's own script reloads it when the state changes: wait for that.
async function waitForStatus(page, status) {
  await page.waitForSelector(`#status[data-status="${status}"]`, { timeout: 30_000 });
}

async function shoot(page, state) {
  for (const [name, width, height] of VIEWPORTS) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${screenshots}/checkout-${state}-${name}.png`, fullPage: true });
  }
}

// Nothing that asks for money may be visible once the order is paid or expired.
async function asksForNothing(page, state) {
  for (const selector of ['#address', '#copy', '#amount', '.qr', '#countdown', '#warning']) {
    check(!(await page.isVisible(selector)), `${state}: ${selector} is still visible`);
  }
  check(!(await page.textContent('body')).includes('Send exactly'), `${state}: still asks to send`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  await admin('/admin/sandbox/clock/freeze', {});
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  // A failed load is reported by its response below, with its URL; the
  // browser's own favicon request is none of the page's.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
      errors.push(`${response.status()} for ${response.url()}`);
    }
  });

  // Choose a network: the merchant, each network with the price in its coin.
  await page.goto(paymentUrl);
  check((await text(page, '#merchant')) === 'Payment to demo', 'no merchant name');
  const usdt = await text(page, 'button[data-symbol="USDT"][data-chain="ETH"]');
  check(usdt === 'USDT on Ethereum (ERC20) 12.5 USDT', `USDT choice reads "${usdt}"`);
  const eth = await text(page, 'button[data-symbol="ETH"][data-chain="ETH"]');
  check(!eth.includes('ERC20'), `ETH is labelled a token: "${eth}"`);
  await shoot(page, 'choose');

  // Waiting for the payment.
  await page.click('button[data-symbol="USDT"][data-chain="ETH"]');
  await waitForStatus(page, 'Pending');
  const amount = await text(page, '#amount');
  const address = await text(page, '#address');
  check(amount === '12.5 USDT', `amount reads "${amount}"`);
  check((await text(page, '#status')) === 'Waiting for payment', 'status text');
  check(await page.isVisible('#copy'), 'the copy button stays hidden with JavaScript on');
  check((await page.$('.qr svg')) !== null, 'no QR code');
  const uri = await page.getAttribute('.qr', 'data-uri');
  check(uri === `ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=${address}&uint256=12500000`,
    `QR encodes "${uri}"`);
  check((await text(page, '#warning')).startsWith('Send only USDT on Ethereum (ERC20) to this address.'), 'no warning');
  check(/^(\d+h )?\d+m \d\ds left$/.test(await text(page, '#countdown')), 'no countdown');
  check((await text(page, '#expiry')).startsWith('Expires at '), 'no expiry line');
  check(!(await page.isVisible('#return')), 'the return link shows before payment');
  await shoot(page, 'waiting');

  // Underpaid: what is still due, on the same address.
  await pay(address, '5');
  await advance('5m');
  await page.waitForSelector('#underpaid', { timeout: 30_000 });
  check((await text(page, '#underpaid')) === 'Received 5 of 12.5 USDT. Send the remaining amount to the same address.',
    'underpaid text');
  check((await text(page, '#amount')) === '7.5 USDT', 'the rest due');
  check((await text(page, '#address')) === address, 'the same address');
  await shoot(page, 'underpaid');

  // Confirming: the rest is seen, its confirmations count up.
  await pay(address, '7.5');
  await advance('24s');
  await waitForStatus(page, 'Processing');
  const confirming = await text(page, '#confirmations');
  check(/^\d+ of 12 confirmations$/.test(confirming), `confirmations read "${confirming}"`);
  check(!(await page.isVisible('#address')), 'confirming: the address is still asked for');
  await shoot(page, 'confirming');
  // More blocks: the count follows without the page being reloaded.
  const seenBefore = Number(await text(page, '#confirmations-seen'));
  await page.evaluate(() => { window.notReloaded = true; });
  await advance('36s');
  await page.waitForFunction((before) => Number(document.getElementById('confirmations-seen').textContent) > before,
    seenBefore, { timeout: 30_000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the page reloaded to count confirmations');
  check(Number(await page.getAttribute('#confirmations-bar', 'value')) > seenBefore, 'the bar did not move');

  // Paid: a receipt and the way back to the shop.
  await advance('5m');
  await waitForStatus(page, 'Successful');
  check((await text(page, '#status')) === 'Paid', 'status text is not "Paid"');
  check((await text(page, '#paid')) === '12.5 USDT', 'receipt amount');
  check(await page.isVisible('.txid'), 'no transaction id');
  check(await page.isVisible('#return'), 'no way back to the shop');
  await asksForNothing(page, 'paid');
  await shoot(page, 'paid');

  // Expired: a second checkout, chosen, then left past its validity.
  await page.goto(expiringUrl);
  await page.click('button[data-symbol="USDT"][data-chain="ETH"]');
  await waitForStatus(page, 'Pending');
  await advance('61m');
  await waitForStatus(page, 'Expired');
  check((await text(page, '#contact')).startsWith('If you already sent a payment, contact demo and give them the order id'),
    'no advice for a payment already sent');
  check(/^\d{33}$/.test(await text(page, '#order-id')), 'no order id');
  await asksForNothing(page, 'expired');
  await shoot(page, 'expired');

  check(errors.length === 0, `errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ amount: '12.5', symbol: 'USDT', address, status: 'Successful' }));
} finally {
  await browser.close();
}
