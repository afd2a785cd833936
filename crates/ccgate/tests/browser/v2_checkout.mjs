// The WooCommerce plugin's shopper, in Debian's Chromium (v2 spec §6.3): opens
// the checkoutUrl that createCheckoutUrl answered, sees the store's price in
// its currency, picks USDT on Ethereum, pays on the sandbox's devnet (through
// ccgate's admin API, the clock moved by the test) and is offered the way
// back to the shop's returnUrl exactly as the plugin sent it.
//
// usage: CCGATE_ADMIN_TOKEN=TOKEN node v2_checkout.mjs CHECKOUT_URL RETURN_URL ADMIN_URL
import { chromium } from 'playwright-core';
import { USDT_ERC20, adminCaller, check, text } from './common.mjs';

const [checkoutUrl, returnUrl, adminUrl] = process.argv.slice(2);
const adminToken = process.env.CCGATE_ADMIN_TOKEN;
if (!checkoutUrl || !returnUrl || !adminUrl || !adminToken) {
  console.error('usage: CCGATE_ADMIN_TOKEN=TOKEN node v2_checkout.mjs CHECKOUT_URL RETURN_URL ADMIN_URL');
  process.exit(2);
}

const admin = adminCaller(adminUrl, adminToken);

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

  await page.goto(checkoutUrl);
  const price = await text(page, '.price');
  check(price === '9.2 EUR', `the price reads "${price}"`);
  const usdt = await text(page, 'button[data-symbol="USDT"][data-chain="ETH"]');
  check(usdt === 'USDT on Ethereum (ERC20) 10 USDT', `USDT choice reads "${usdt}"`);

  await page.click('button[data-symbol="USDT"][data-chain="ETH"]');
  await page.waitForSelector('#status[data-status="Pending"]', { timeout: 30_000 });
  const amount = await text(page, '#amount');
  const address = await text(page, '#address');
  check(amount === '10 USDT', `amount reads "${amount}"`);
  check(!(await page.isVisible('#return')), 'the return link shows before payment');

  await admin('/admin/devnet/pay', { to: address, token_id: USDT_ERC20, amount: '10' });
  await admin('/admin/sandbox/clock/advance', { by: '5m' });
  await page.waitForSelector('#status[data-status="Successful"]', { timeout: 30_000 });
  const back = await page.getAttribute('#return', 'href');
  check(back === returnUrl, `the way back is "${back}", not "${returnUrl}"`);

  check(errors.length === 0, `errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ address, amount }));
} finally {
  await browser.close();
}
