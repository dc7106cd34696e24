"""The backup: Bulk 2.0/REST data (``bulk.py``), file bodies (``files.py``), the weekly Data
Export Service (``weekly.py``), all recorded in one ``manifest.json`` (``manifest.py``) and
proved by ``verify.py``. Library code: returns dataclasses, reports progress by callback."""
