"""People: who is in the org, and taking them out of it safely (issue 13).

- ``users``: the typed listing (:class:`OrgUser`) with UserLogin state and system-user flags.
- ``selection``: pure: who a command may touch, and every refusal with its reason.
- ``freeze``: UserLogin.IsFrozen through sObject Collections, journaled; exact undo.
- ``licences``: UserLicense counts and what unused paid licences cost.
- ``blockers`` / ``deactivate``: the deactivation blocker scan, then ``IsActive = false``.
- ``permissions``: the running user's preflight for changing commands.
- ``ownership*``: record owner transfer (``sfexit reassign``).

Raw Salesforce JSON never leaves ``sfexit/org/``; these modules take an ``OrgSession`` and a
``Journal`` as parameters and return frozen dataclasses.
"""
