"""``sfexit offboard``: the whole exit as one resumable, journaled run (docs/offboard.md).

- ``plan``: pure — which steps run, and the forecast of every API limit.
- ``steps``: each step over the existing library (export, people, report).
- ``rundir``: the run directory and ``run.json``.
- ``run``: the runner (``start_run``, ``resume_run``).
"""
