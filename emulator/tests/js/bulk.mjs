// jsforce Bulk API 2.0 against the emulator: a query job read to the end (result pages by
// Sforce-Locator), and an ingest job (chunked CSV upload, close, poll, results).
//
//   node bulk.mjs <comma-separated Account ids to rename>
import { connect, report, withFastClock } from './emulator.mjs';

await report(async () => {
  const ids = (process.argv[2] || '').split(',').filter(Boolean);
  const conn = connect();
  const polling = { pollInterval: 20, pollTimeout: 60000 };

  const records = await withFastClock(async () => {
    const stream = await conn.bulk2.query('SELECT Id, Name, Description FROM Account', polling);
    return stream.toArray();
  });
  const deleted = await withFastClock(async () => {
    const stream = await conn.bulk2.query('SELECT Id FROM Account WHERE IsDeleted = true',
      { ...polling, scanAll: true });
    return stream.toArray();
  });

  // Names with a comma, a quote and non-Latin text: jsforce writes the CSV itself.
  const input = ids.map((Id, n) => ({ Id, Name: `Bulk, "renamed" ${n} 東京` }));
  input.push({ Id: '001000000000000AAA', Name: 'no such account' });
  const ingest = await withFastClock(() => conn.bulk2.loadAndWaitForResults({
    object: 'Account', operation: 'update', input, ...polling,
  }));
  const after = await conn.query(
    `SELECT Id, Name FROM Account WHERE Id IN (${ids.map((id) => `'${id}'`).join(',')})`);

  return {
    query: { count: records.length, unique: new Set(records.map((r) => r.Id)).size,
      columns: records.length ? Object.keys(records[0]) : [],
      sample: records.find((r) => /[\n",]/.test(r.Description || '')) || null },
    queryAll: { count: deleted.length },
    ingest: {
      successful: ingest.successfulResults.map((r) => ({ id: r.sf__Id, created: r.sf__Created })),
      failed: ingest.failedResults.map((r) => ({ id: r.Id, error: r.sf__Error })),
      unprocessed: ingest.unprocessedRecords.length,
    },
    after: Object.fromEntries(after.records.map((r) => [r.Id, r.Name])),
  };
});
