"""The performance service: folds ticket and grid events and third-party scores into grades and pay.

Pure core in ``domain/`` (standard library, onegrid.domain and onegrid.errors only): quarters,
the pay policy, scoring, the events, the aggregates ``WorkerRecord``, ``Ledger`` and
``StreetPeriod``, and the explanation of a figure. Around it: ``schemas`` (marshmallow,
``REGISTRY``), ``handlers`` (commands and reactions), ``reads``, ``projections``, ``reports``
(payroll CSV / Excel), ``service`` (nameko) and ``cli`` (``onegrid report pay``).
See docs/performance.md for the rules and a worked example.
"""
