// jsforce's search, recently viewed, layouts, list views, tabs and theme calls against the
// emulator (emulator/tests/test_jsforce_ui.py).
//
//   node ui.mjs <search word> <account id to view>
import { connect, errorOf, report } from './emulator.mjs';

await report(async () => {
  const [word, accountId] = process.argv.slice(2);
  const conn = connect();
  const accounts = conn.sobject('Account');

  const search = await conn.search(
    `FIND {${word}} IN NAME FIELDS RETURNING Account(Id, Name ORDER BY Name LIMIT 3), Contact(Id)`);
  const badSearch = await errorOf(conn.search(`FIND ${word}`));

  await accounts.retrieve(accountId);
  const recent = await conn.recent(5);
  const recentAccounts = await accounts.recent();

  const layouts = await accounts.layouts();
  const named = await conn.sobject('User').layouts('UserAlt');
  const compact = await conn.sobject('Contact').compactLayouts();

  const views = await accounts.listviews();
  const all = views.listviews.find((v) => v.developerName === 'AllAccounts');
  const view = accounts.listview(all.id);
  const described = await view.describe();
  const results = await view.results();
  const explained = await view.explain();

  const tabs = await conn.tabs();
  const theme = await conn.theme();

  return {
    search: search.searchRecords.map((r) => ({ type: r.attributes.type, Id: r.Id, Name: r.Name })),
    badSearch,
    recent: recent.map((r) => r.Id),
    recentAccounts: recentAccounts.map((r) => ({ Id: r.Id, Name: r.Name })),
    layouts: {
      keys: Object.keys(layouts).sort(),
      fields: layouts.layouts[0].detailLayoutSections.flatMap((s) => s.layoutRows)
        .flatMap((row) => row.layoutItems).map((item) => item.layoutComponents[0].value),
      recordTypeId: layouts.recordTypeMappings[0].recordTypeId,
    },
    named: named.layouts.length,
    compact: compact.compactLayouts.map((c) => c.fieldItems.map((i) => i.label)),
    views: views.listviews.map((v) => v.developerName),
    described: { query: described.query, columns: described.columns.length },
    results: { size: results.size, done: results.done, first: results.records[0].columns },
    explained: explained.plans.map((p) => p.sobjectType),
    tabs: tabs.map((t) => t.sobjectName),
    theme: theme.themeItems.map((t) => t.name),
  };
});
