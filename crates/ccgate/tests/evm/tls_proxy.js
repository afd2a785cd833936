// TLS in front of ganache for crates/ccgate/tests/e2e/evm.rs: an https server
// on a free loopback port that forwards every request to an http JSON-RPC
// node, so ccgate talks https:// to a real chain.
// Usage: node tls_proxy.js KEY.pem CERT.pem BACKEND_URL
// Prints "listening PORT" once it accepts connections; exits when stdin closes
// (the test process ended), so it is never left behind.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');

const [key, cert, backend] = process.argv.slice(2);

const server = https.createServer(
  { key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
  (req, res) => {
    const forward = http.request(
      backend,
      { method: req.method, headers: { 'content-type': 'application/json' } },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(forward);
  },
);
// A refused handshake (the test's client without the CA) is expected.
server.on('tlsClientError', () => {});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
