// jsforce 3.10.16's Bulk 2.0 query, as a script exporting objects to CSV would use it: one
// object after another, each job's CSV piped to a file, jsforce's default 1 s poll interval
// (lib/api/bulk2.js pollInterval = 1000) and a poll timeout raised from its 30 s default.
// Run by bench/peers.py with the jsforce installed in emulator/tests/js (make node-deps).
//
//   node bench/peers_jsforce.mjs <spec.json>   spec: {"dest": dir, "queries": {Object: SOQL}}
// Environment: SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_API_VERSION, NODE_EXTRA_CA_CERTS,
// JSFORCE_PROJECT (the npm project holding jsforce).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';

const require = createRequire(path.join(process.env.JSFORCE_PROJECT, 'package.json'));
const jsforce = require('jsforce');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf-8'));
const conn = new jsforce.Connection({
  instanceUrl: process.env.SF_INSTANCE_URL,
  accessToken: process.env.SF_ACCESS_TOKEN,
  version: process.env.SF_API_VERSION || '62.0',
});
for (const [name, soql] of Object.entries(spec.queries)) {
  const records = await conn.bulk2.query(soql, { pollTimeout: 600000 });
  await pipeline(records.stream('csv'), fs.createWriteStream(path.join(spec.dest, `${name}.csv`)));
}
