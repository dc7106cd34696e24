"""The public import path for reassignment against the org (kept for callers such as
``cli/reassign.py`` and offboarding): reading lives in ``ownership_read.py``, acting
(transfer, team restore) in ``ownership_transfer.py``, the undo in ``ownership_undo.py``.
"""

from __future__ import annotations

from sfexit.people.ownership import Attempt, undo_rows
from sfexit.people.ownership_read import (EXCLUDED_OBJECTS, PARENT_FIELDS, build_plan,
                                          count_owned, discover_objects, filter_conditions,
                                          resolve_principals)
from sfexit.people.ownership_transfer import (BULK_THRESHOLD, FAILURE_COLUMNS, RETRY_CODES,
                                              SNAPSHOT_COLUMNS, TEAMS, Failure, ObjectResult,
                                              Row, TransferResult, file_sha256, files_dir_for,
                                              transfer)
from sfexit.people.ownership_undo import DRIFT_COLUMNS, plan_undo, preview_undo, undo_transfer

__all__ = ["Attempt", "BULK_THRESHOLD", "DRIFT_COLUMNS", "EXCLUDED_OBJECTS", "FAILURE_COLUMNS",
           "PARENT_FIELDS", "RETRY_CODES", "SNAPSHOT_COLUMNS", "TEAMS", "Failure", "ObjectResult",
           "Row", "TransferResult", "build_plan", "count_owned", "discover_objects",
           "file_sha256", "files_dir_for", "filter_conditions", "plan_undo", "preview_undo",
           "resolve_principals", "transfer", "undo_rows", "undo_transfer"]
