// What every browser run shares: the check that stops a run, the admin
// API's caller (the sandbox's controls: clock, triggers), the visible text of
// an element, and the token the runs pay in.

// USDT (ERC-20) on the devnet's ETH chain.
export const USDT_ERC20 = '2728e271-9f5d-4c05-8aa7-4a87b1afcc95';

export function check(condition, what) {
  if (!condition) throw new Error(what);
}

// `admin(path, body)` for the admin API at `adminUrl`: a POST of `body` as
// JSON with the bearer token; its JSON answer, or an error naming the path.
export function adminCaller(adminUrl, adminToken) {
  return async function admin(path, body) {
    const response = await fetch(adminUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(`${path}: ${JSON.stringify(answer)}`);
    return answer;
  };
}

// An element's text as a person reads it: runs of white space as one space.
export async function text(page, selector) {
  return (await page.innerText(selector)).replace(/\s+/g, ' ').trim();
}
