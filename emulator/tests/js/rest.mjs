// jsforce REST against the emulator: identity, query with autoFetch across pages, queryAll,
// sObject CRUD one by one and through sObject Collections, describe, limits.
//
//   node rest.mjs <sobject to page through>
import jsforce from 'jsforce';
import { connect, errorOf, report, settings } from './emulator.mjs';

// jsforce's logout() on a SOAP session (given as sessionId) is the SOAP logout call; the
// token must then be dead for every client.
async function logoutThenQuery() {
  const { instanceUrl, accessToken, version } = settings();
  await new jsforce.Connection({ instanceUrl, sessionId: accessToken, version }).logout();
  return errorOf(connect().query('SELECT Id FROM Account LIMIT 1'));
}

await report(async () => {
  const pageObject = process.argv[2] || 'Contact';
  const conn = connect();

  const identity = await conn.identity();

  // autoFetch follows nextRecordsUrl (jsforce keeps only its last path segment, the locator).
  const paged = await conn.query(`SELECT Id, Name FROM ${pageObject}`,
    { autoFetch: true, maxFetch: 1000000 });
  const deleted = await conn.query('SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true',
    { scanAll: true });

  const accounts = conn.sobject('Account');
  const created = await accounts.create({ Name: 'jsforce one', Description: 'made by jsforce' });
  const updated = await accounts.update({ Id: created.id, Name: 'jsforce one, renamed' });
  const retrieved = await accounts.retrieve(created.id);
  const destroyed = await accounts.destroy(created.id);
  const gone = await errorOf(accounts.retrieve(created.id));

  // Arrays go through /composite/sobjects (POST, PATCH with lowercase "id", DELETE ?ids=).
  const many = await accounts.create([{ Name: 'jsforce many 1' }, { Name: 'jsforce many 2' }, {}]);
  const manyIds = many.filter((r) => r.success).map((r) => r.id);
  const manyUpdated = await accounts.update(manyIds.map((Id, n) => ({ Id, Name: `many ${n}` })));
  const manyRetrieved = await accounts.retrieve(manyIds);
  const manyDestroyed = await accounts.destroy(manyIds);

  // Upsert by external id: Contact.Email is an idLookup field. One record is
  // PATCH /sobjects/Contact/Email/<value>; an array is PATCH /composite/sobjects/Contact/Email.
  const contacts = conn.sobject('Contact');
  const upserted = await contacts.upsert(
    { LastName: 'jsforce upsert', Email: 'jsforce.upsert@example.com' }, 'Email');
  const reupserted = await contacts.upsert(
    { LastName: 'jsforce upserted', Email: 'jsforce.upsert@example.com' }, 'Email');
  const upsertedMany = await contacts.upsert([
    { LastName: 'jsforce many a', Email: 'jsforce.many.a@example.com' },
    { LastName: 'jsforce many b', Email: 'jsforce.upsert@example.com' }], 'Email');

  const describe = await accounts.describe();
  const global = await conn.describeGlobal();
  const limits = await conn.limits();

  return {
    identity: { user_id: identity.user_id, organization_id: identity.organization_id,
      username: identity.username, id: identity.id },
    paged: { totalSize: paged.totalSize, done: paged.done, count: paged.records.length,
      unique: new Set(paged.records.map((r) => r.Id)).size,
      types: [...new Set(paged.records.map((r) => r.attributes.type))] },
    deleted: { totalSize: deleted.totalSize, allDeleted: deleted.records.every((r) => r.IsDeleted) },
    crud: { created, updated, retrieved: { Id: retrieved.Id, Name: retrieved.Name,
      Description: retrieved.Description, type: retrieved.attributes.type }, destroyed, gone },
    collections: { created: many, updated: manyUpdated,
      retrieved: manyRetrieved.map((r) => r && r.Name), destroyed: manyDestroyed },
    describe: { name: describe.name, fields: describe.fields.map((f) => f.name),
      sobjects: global.sobjects.length },
    limits: { DailyApiRequests: limits.DailyApiRequests },
    upsert: { created: upserted, updated: reupserted, many: upsertedMany },
    logout: await logoutThenQuery(),
    version: conn.version,
  };
});
