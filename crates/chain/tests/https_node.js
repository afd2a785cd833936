// A JSON-RPC node behind TLS for tests/https_node.rs: answers the calls the
// adapter makes for the chain id and the head itself (one fixed head block), so
// the test needs nothing but node.
// Usage: node https_node.js KEY.pem CERT.pem CHAIN_ID HEIGHT
// Prints "listening PORT" once it accepts connections; exits when stdin closes
// (the test process ended), so it is never left behind.
'use strict';
const fs = require('fs');
const https = require('https');

const [key, cert, chainId, height] = process.argv.slice(2);
const hex = (n) => '0x' + Number(n).toString(16);
const word = (byte) => '0x' + byte.repeat(32);
const gwei = hex(1e9);
// The head block as a post-London node returns it (the adapter reads its
// base fee for the gas price): 1 gwei base fee, no transactions.
const head = {
  number: hex(height),
  hash: word('ab'),
  parentHash: word('aa'),
  sha3Uncles: '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
  miner: '0x' + '00'.repeat(20),
  stateRoot: word('11'),
  transactionsRoot: '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
  receiptsRoot: '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
  logsBloom: '0x' + '00'.repeat(256),
  difficulty: '0x0',
  gasLimit: hex(30000000),
  gasUsed: '0x0',
  timestamp: hex(1700000000),
  extraData: '0x',
  mixHash: word('00'),
  nonce: '0x0000000000000000',
  baseFeePerGas: gwei,
  size: hex(600),
  transactions: [],
  uncles: [],
};
const answers = {
  eth_chainId: hex(chainId),
  eth_blockNumber: hex(height),
  eth_getBlockByNumber: head,
  eth_maxPriorityFeePerGas: gwei,
};

function answer(call) {
  if (Object.prototype.hasOwnProperty.call(answers, call.method)) {
    return { jsonrpc: '2.0', id: call.id, result: answers[call.method] };
  }
  return { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'method not found' } };
}

const server = https.createServer(
  { key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
  (req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      let reply;
      try {
        const call = JSON.parse(body);
        reply = Array.isArray(call) ? call.map(answer) : answer(call);
      } catch (err) {
        res.writeHead(400);
        res.end(String(err));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  },
);
// A refused handshake (the test's client without the CA) is expected.
server.on('tlsClientError', () => {});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
