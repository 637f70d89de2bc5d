"""Database services: Supabase CLI compatible migrations, backups and restores.

    files.py      migration files: naming, scanning, ``migration new``
    splitter.py   SQL-aware statement splitter (offsets, lines, COPY data)
    classify.py   how a file runs: batch, steps (COPY), autocommit (non-transactional)
    history.py    supabase_migrations.schema_migrations DDL, reads, writes, advisory lock
    plan.py       pending migrations; "remote has versions missing locally", "local file out of order"
    apply.py      running files, one transaction each, batched round trips, error location
    report.py     a failed statement told with file, statement number, line and caret
    push.py       ``db push`` and ``migration list``
    repair.py     ``migration repair``
    connect.py    database URL resolution, connection, password redaction, error translation
    backup.py     ``db backup`` / ``db restore`` with pg_dump / pg_restore of the server's version
    lint.py       ``db lint``: destructive and locking statements, on PostgreSQL's own parse tree
    catalog.py    a database's schema read from the catalog (tables, columns, indexes, policies, grants...)
    drift.py      two catalogs compared; the SQL that turns one into the other
    scratch.py    a throwaway database on the target's server, built from the local migrations
    databases.py  databases beside the target: create, restore a dump into, count rows, drop, swap names
    schema_diff.py ``db diff``
    pull.py       ``db pull``
    schedule.py   scheduled backups run by ``platform serve --backups-for`` (schedule_state.py: their status)
"""
