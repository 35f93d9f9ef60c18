#!/usr/bin/env node
// Test helper: key pairs and signed client assertions for the SMART Backend Services tests of
// the server itself, with node's own crypto (node is needed for the server anyway).
//   node jwt_tool.cjs keys RS384|ES384 <kid>   -> {"private": JWK, "public": JWK}
//   node jwt_tool.cjs sign  < {"alg", "kid", "private": JWK, "claims": {...}}  -> compact JWS
'use strict';
const crypto = require('node:crypto');

const ALGS = { RS384: { hash: 'sha384' }, ES384: { hash: 'sha384', dsa: true }, RS256: { hash: 'sha256' } };

function keys(alg, kid) {
  const pair = alg.startsWith('RS')
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return {
    private: { ...pair.privateKey.export({ format: 'jwk' }), kid, alg },
    public: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

function sign({ alg, kid, private: jwk, claims }) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part({ alg, kid, typ: 'JWT' })}.${part(claims)}`;
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  const { hash, dsa } = ALGS[alg];
  const sig = crypto.sign(hash, Buffer.from(input), dsa ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${sig.toString('base64url')}`;
}

const [cmd, alg, kid] = process.argv.slice(2);
if (cmd === 'keys' && ALGS[alg]) process.stdout.write(JSON.stringify(keys(alg, kid ?? 'k1')));
else if (cmd === 'sign') process.stdout.write(sign(JSON.parse(require('node:fs').readFileSync(0, 'utf8'))));
else { console.error('usage: jwt_tool.cjs keys RS384|ES384|RS256 [kid] | sign < request.json'); process.exit(2); }
