"""The journal: what hedgecore saw, advised and what was done, in one SQLite file.

- schema.py: the tables, the schema version (PRAGMA user_version) and the migrations;
- store.py: `Journal` (open with WAL and a busy timeout, record runs and fills in short
  write transactions, query history and the last fill, prune) and `default_journal_path`;
- record.py: a hedge plan (hedgecore.hedging.HedgePlan) as the rows a run records;
- explain.py: the PnL explain between two recorded runs (revaluation and Taylor terms).

Only the standard library's sqlite3 (numpy for the explain's revaluation). Nothing here is
imported by `import hedgecore` or `hedgecore --help`; errors are hedgecore.errors.JournalError.
"""
