// Pays a hosted checkout the way a person does, in Debian's Chromium: picks
// USDT on Ethereum, reads the amount and address, has the devnet pay it
// (through ccgate's admin API) and mine the confirmations, then waits for the
// page to show "Paid" by itself — no reload — and the link back to the shop.
//
// usage: CCGATE_ADMIN_TOKEN=TOKEN node checkout.mjs PAYMENT_URL ADMIN_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';

const [paymentUrl, adminUrl, screenshots] = process.argv.slice(2);
const adminToken = process.env.CCGATE_ADMIN_TOKEN;
if (!paymentUrl || !adminUrl || !screenshots || !adminToken) {
  console.error('usage: CCGATE_ADMIN_TOKEN=TOKEN node checkout.mjs PAYMENT_URL ADMIN_URL SCREENSHOT_DIR');
  process.exit(2);
}

async function admin(path, body) {
  const response = await fetch(adminUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(answer)}`);
  return answer;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // A phone-sized window: the page must be readable there.
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(paymentUrl);
  await page.screenshot({ path: `${screenshots}/checkout-choose.png`, fullPage: true });

  await page.click('button[data-symbol="USDT"][data-chain="ETH"]');
  await page.waitForSelector('#amount');
  const amount = (await page.textContent('#amount')).trim();
  const address = (await page.textContent('#address')).trim();
  const status = await page.getAttribute('#status', 'data-status');
  if (status !== 'Pending') throw new Error(`expected Pending, found ${status}`);
  if (await page.isHidden('#copy')) throw new Error('the copy button stays hidden with JavaScript on');
  if ((await page.$('.qr svg')) === null) throw new Error('no QR code');
  if (!/\d+m \d\ds left/.test(await page.textContent('#countdown'))) throw new Error('no countdown');
  if (await page.isVisible('#return')) throw new Error('the return link shows before payment');
  await page.screenshot({ path: `${screenshots}/checkout-pending.png`, fullPage: true });

  const [value, symbol] = amount.split(' ');
  await admin('/admin/devnet/pay', { to: address, token_id: '2728e271-9f5d-4c05-8aa7-4a87b1afcc95', amount: value });
  await admin('/admin/devnet/mine', { chain: 'ETH', blocks: 12 });

  await page.waitForFunction(
    () => document.getElementById('status').getAttribute('data-status') === 'Successful',
    null, { timeout: 30_000 });
  if ((await page.textContent('#status')).trim() !== 'Paid') throw new Error('status text is not "Paid"');
  await page.waitForSelector('#return', { state: 'visible' });
  await page.screenshot({ path: `${screenshots}/checkout-paid.png`, fullPage: true });
  console.log(JSON.stringify({ amount: value, symbol, address, status: 'Successful' }));
} finally {
  await browser.close();
}
