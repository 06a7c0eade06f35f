"""Alembic environment of the label store. ``LabelStore`` runs it on open with its own connection,
inside one write transaction (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so two
processes opening a fresh database at once never race. From a shell:
``alembic -c workbench/review/migrations/alembic.ini -x url=sqlite:///workspace/labels.db upgrade head``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    from sqlalchemy import create_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=None, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
