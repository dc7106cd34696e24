"""What the org holds, as Salesforce reports it: record counts per object and storage used.

Record counts (REST "Record Count", ``…/limits/recordCount``, API v40.0+,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_record_count.htm):
Salesforce's counts are a cached snapshot refreshed at variable intervals ("approximate"); they
leave out records in the recycle bin and archived records. The emulator answers EXACT current
counts of live rows, so a test can predict them; a client must not rely on that.

Storage (help.salesforce.com "Data and File Storage Allocations" and "Salesforce record size
overview", article 000193871): most records count 2 KB of data storage whatever their fields hold;
Campaigns 8 KB, Campaign Members 1 KB; only the objects that article lists count (users, shares,
history, team members, files metadata do not). File storage is the bytes of attachments,
documents and Salesforce Files (every ContentVersion, not only the latest). Records and files in
the recycle bin do not count (secondary sources only: infallibletechie.com/2014/11/recycle-bin-
salesforce.html, "Salesforce CRM - The Definitive Admin Handbook" ch. 5: "Records in the Recycle
Bin do not count against your organization's storage limits"). Salesforce computes both
asynchronously; the emulator computes them, exactly, when asked.
"""

from __future__ import annotations

import sqlite3

from sfexit_emulator.schema import Schema
from sfexit_emulator.store_db import quote

KB = 1024
MB = 1024 * 1024
# Data storage per record, in KB (help article 000193871). Objects not listed use no data
# storage. Custom objects (``__c``) count 2 KB.
RECORD_KB = {"Account": 2, "Contact": 2, "Lead": 2, "Opportunity": 2, "Event": 2, "Task": 2,
             "Case": 2, "CaseTeamMember": 2, "Solution": 2, "Note": 2, "Campaign": 8,
             "CampaignMember": 1, "Contract": 2, "Quote": 2, "QuoteLineItem": 2, "Order": 2,
             "WorkOrderLineItem": 2, "EmailMessage": 2, "Idea": 2}
# The blob field of each object whose bodies use file storage (sObject Blob Get's objects).
FILE_FIELDS = {"ContentVersion": "VersionData", "Attachment": "Body", "Document": "Body"}


def record_counts(conn: sqlite3.Connection, schema: Schema,
                  names: list[str] | None) -> list[tuple[str, int]]:
    """(object name, live rows) for ``names`` (unknown names are left out, as Salesforce does;
    duplicates once, in the order asked), or for every object that has rows of its own."""
    if names is None:
        objects = sorted(schema.stored_objects(), key=lambda o: o.name)
    else:
        found = (schema.get(n) for n in names)
        objects = list({o.name: o for o in found if o is not None and o.key_prefix}.values())
    return [(o.name, live_count(conn, o.name)) for o in objects]


def live_count(conn: sqlite3.Connection, table: str) -> int:
    (count,) = conn.execute(f'SELECT COUNT(*) FROM {quote(table)} WHERE "IsDeleted" = 0').fetchone()
    return int(count)


def storage_bytes(conn: sqlite3.Connection, schema: Schema) -> tuple[int, int]:
    """(data storage, file storage) in bytes."""
    data = 0
    for obj in schema.stored_objects():
        per_record = RECORD_KB.get(obj.name, 2 if obj.custom else 0)
        if per_record:
            data += live_count(conn, obj.name) * per_record * KB
    files = 0
    for name, field_name in FILE_FIELDS.items():
        if schema.get(name) is None:
            continue
        (size,) = conn.execute(
            f'SELECT COALESCE(SUM(b.size), 0) FROM _blob b JOIN {quote(name)} r '
            'ON r."Id" = b.record_id WHERE b.field = ? AND r."IsDeleted" = 0',
            (field_name,)).fetchone()
        files += int(size)
    return data, files


def storage_mb(conn: sqlite3.Connection, schema: Schema) -> tuple[float, float]:
    """(data MB, file MB) used, unrounded (1 MB = 1,048,576 bytes)."""
    data, files = storage_bytes(conn, schema)
    return data / MB, files / MB
