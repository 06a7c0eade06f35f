"""The label store: review items, an append-only event log and assignments in SQLite or PostgreSQL.

Nothing is ever updated or deleted: a label, a verdict, a flag, a deletion, an undo and a redo are
all events, and the current labels are derived from the log. ``undo(annotator)`` appends an event
that takes back that annotator's latest action still in effect (a span, a submit, a skip...);
``redo`` brings back the latest undone one, until a new action clears the redo stack.

SQLite (the default, ``workspace/labels.db``): WAL journal, a busy timeout, foreign keys on, and every
write transaction opened with ``BEGIN IMMEDIATE`` (the pysqlite recipe from the SQLAlchemy docs), so
concurrent read-then-write transactions queue for the lock instead of failing with "database is
locked". PostgreSQL (``postgresql+psycopg://...``): the same code; writes take a transaction-level
advisory lock, the same one-writer-at-a-time discipline.

Example::

    store = LabelStore("workspace/labels.db")
    store.add_items(items)
    item = store.next_item("ana")
    store.add_label(item.id, "ana", "terminology", "major", output="A", start=10, end=24, correction="...")
    store.submit(item.id, "ana", "B", seconds=42)
    store.undo("ana")            # takes back the submit
    store.agreement()
"""

from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from workbench.errors import WorkbenchError
from workbench.review import exchange
from workbench.review.config import SEVERITY_WEIGHTS, SKIP, Taxonomy
from workbench.review.items import Item, item_from_record
from workbench.review.records import (
    ACTIONS,
    MAX_ANNOTATOR,
    MAX_ITEM_ID,
    MAX_UID,
    check_annotator,
    check_categories,
    check_event,
    check_item,
    check_seconds,
    check_verdict,
    fail,
    flag_payload,
    located,
    span_payload,
    target_payload,
    verdict_payload,
)

__all__ = ["ACTIONS", "BUSY_TIMEOUT_MS", "Label", "LabelStore", "Verdict", "database_url", "replay"]

PG_WRITE_LOCK = 7_312_012  # advisory lock key: one writer at a time, like BEGIN IMMEDIATE on SQLite
BUSY_TIMEOUT_MS = 60_000


@dataclass
class Label:
    """One error span in effect: ``[start, end)`` character offsets in the output ``output`` of an item."""

    uid: str
    item_id: str
    annotator: str
    output: str
    start: int | None
    end: int | None
    category: str
    severity: str
    weight: int
    note: str
    correction: str | None
    seconds: float | None
    created: float
    model: str | None = None
    checkpoint: str | None = None
    text: str | None = None
    """The erroneous text of the span (the whole output when no span is given)."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Verdict:
    """An annotator's verdict on an item in effect: A/B/tie, no_error/errors, keep/drop or skip."""

    uid: str
    item_id: str
    annotator: str
    verdict: str
    note: str
    seconds: float | None
    created: float
    adjudication: bool = False
    model: str | None = None
    """For A/B: the model behind the preferred side (revealed after labelling)."""

    def to_dict(self) -> dict:
        return asdict(self)


def _tables():
    """The schema as SQLAlchemy Core tables (the migrations in ``migrations/versions`` create it)."""
    import sqlalchemy as sa

    md = sa.MetaData()
    settings = sa.Table("settings", md, sa.Column("key", sa.String(64), primary_key=True),
                        sa.Column("value", sa.JSON, nullable=False))
    items = sa.Table(
        "items", md,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(MAX_ITEM_ID), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False), sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False), sa.Column("source", sa.JSON, nullable=False),
        sa.Column("gold", sa.JSON, nullable=True), sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    events = sa.Table(
        "events", md,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(MAX_UID), nullable=False, unique=True),
        sa.Column("item_id", sa.String(MAX_ITEM_ID), sa.ForeignKey("items.id"), nullable=False),
        sa.Column("annotator", sa.String(MAX_ANNOTATOR), nullable=False), sa.Column("action", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False), sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    assignments = sa.Table(
        "assignments", md,
        sa.Column("item_id", sa.String(MAX_ITEM_ID), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("annotator", sa.String(MAX_ANNOTATOR), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    sa.Index("ix_events_annotator_seq", events.c.annotator, events.c.seq)
    sa.Index("ix_events_item", events.c.item_id)
    sa.Index("ix_assignments_annotator", assignments.c.annotator, assignments.c.position)
    return settings, items, events, assignments


def database_url(url_or_path: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL: given as is when it has a scheme, else ``sqlite:///`` of the (absolute) path."""
    if url_or_path is None:
        from workbench.review.config import default_db

        url_or_path = default_db()
    text = str(url_or_path)
    if "://" in text:
        if text.startswith("postgresql://") or text.startswith("postgres://"):
            text = "postgresql+psycopg://" + text.split("://", 1)[1]
        return text
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        raise WorkbenchError(f"label store {path} is a folder.", "give a file such as workspace/labels.db, or a database URL.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_engine(url: str, immediate: bool):
    """An engine whose transactions start with BEGIN IMMEDIATE (writer) or a plain BEGIN (reader).

    pysqlite's own transaction handling is switched off and our BEGIN emitted in the ``begin`` event,
    as the SQLAlchemy docs describe for pysqlite.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process crashes
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def replay(events: list[dict]) -> tuple[dict[str, dict], list[str], list[str]]:
    """Replay one annotator's events (in order): the actions in effect by uid, the undo and the redo stacks."""
    by_uid = {e["uid"]: e for e in events}
    active: dict[str, dict] = {}
    undo_stack: list[str] = []
    redo_stack: list[str] = []
    for e in events:
        action = e["action"]
        if action == "undo":
            target = e["payload"].get("target")
            if target in active:
                del active[target]
                undo_stack.remove(target)
                redo_stack.append(target)
        elif action == "redo":
            target = e["payload"].get("target")
            if target in by_uid and target not in active and target in redo_stack:
                redo_stack.remove(target)
                active[target] = by_uid[target]
                undo_stack.append(target)
        else:
            active[e["uid"]] = e
            undo_stack.append(e["uid"])
            redo_stack.clear()
    return active, undo_stack, redo_stack


class LabelStore:
    """Items, labels and assignments in one database, shared by the CLI, the app and the notebooks.

    Args:
        url_or_path: a SQLite file (default ``workspace/labels.db``) or a SQLAlchemy URL such as
            ``postgresql+psycopg://user@host/db``. The schema is created or migrated on open.
        taxonomy: a taxonomy YAML, a ``Taxonomy`` or a list of categories to store as the project's;
            without it the stored one (or the default MQM-style list) is used.
    """

    def __init__(self, url_or_path: str | os.PathLike | None = None, taxonomy=None):
        import sqlalchemy as sa

        self.url = database_url(url_or_path)
        self.dialect = self.url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            self._writer = _sqlite_engine(self.url, immediate=True)
            self._reader = _sqlite_engine(self.url, immediate=False)
        else:
            try:
                self._writer = sa.create_engine(self.url, pool_pre_ping=True)
            except ModuleNotFoundError as exc:
                raise WorkbenchError(f"the database driver for {self.url.split('://')[0]} is not installed ({exc.name}).",
                                     "pip install 'psycopg[binary]' for postgresql+psycopg:// URLs.") from None
            self._reader = self._writer
        self.settings_t, self.items_t, self.events_t, self.assignments_t = _tables()
        self._migrate()
        if taxonomy is not None:
            self.set_taxonomy(taxonomy)

    # -------------------------------------------------------------------------------- plumbing

    @contextmanager
    def _write(self):
        """One write transaction: BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL."""
        import sqlalchemy as sa

        with self._writer.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
            yield conn

    @contextmanager
    def _read(self):
        with self._reader.begin() as conn:
            yield conn

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        try:
            with self._write() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except WorkbenchError:
            raise
        except Exception as exc:  # unreachable server, bad credentials, not a database file
            import sqlalchemy as sa

            if isinstance(exc, sa.exc.SQLAlchemyError):
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise WorkbenchError(f"cannot open the label store {self.safe_url}: {reason}.",
                                     "check the path or database URL (and that the server is running).") from None
            raise

    @property
    def safe_url(self) -> str:
        """The store's URL with any password hidden (for messages and reports)."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the database connections."""
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStore({self.safe_url!r})"

    # -------------------------------------------------------------------------------- settings

    def _setting(self, conn, key: str, default=None):
        import sqlalchemy as sa

        row = conn.execute(sa.select(self.settings_t.c.value).where(self.settings_t.c.key == key)).first()
        return row[0] if row else default

    def _put_setting(self, conn, key: str, value) -> None:
        import sqlalchemy as sa

        conn.execute(sa.delete(self.settings_t).where(self.settings_t.c.key == key))
        conn.execute(sa.insert(self.settings_t).values(key=key, value=value))

    def taxonomy(self) -> Taxonomy:
        """The project's error categories (the default list until one is set)."""
        with self._read() as conn:
            data = self._setting(conn, "taxonomy")
        return Taxonomy(**data) if data else Taxonomy()

    def set_taxonomy(self, taxonomy) -> Taxonomy:
        """Store the project's taxonomy: a YAML path, a ``Taxonomy`` or a list of category names."""
        if isinstance(taxonomy, (str, os.PathLike)):
            taxonomy = Taxonomy.load(taxonomy)
        elif isinstance(taxonomy, (list, tuple)):
            taxonomy = Taxonomy(list(taxonomy))
        with self._write() as conn:
            self._put_setting(conn, "taxonomy", asdict(taxonomy))
        return taxonomy

    # -------------------------------------------------------------------------------- items

    def add_items(self, records: Iterable[Item | dict], seed: int = 1234) -> dict:
        """Add items (``Item`` objects or dicts, see ``items.item_from_record``); existing ids are left alone.

        Returns:
            ``{"added": n, "existing": m}``.
        """
        import sqlalchemy as sa

        items = [r if isinstance(r, Item) else item_from_record(r, seed, f"record {i + 1}") for i, r in enumerate(records)]
        now = time.time()
        added = 0
        with self._write() as conn:
            known = self._categories(conn)
            for i, item in enumerate(items):
                located(f"record {i + 1}", check_item, item, known)
            unique: dict[str, Item] = {}
            for item in items:
                unique.setdefault(item.id, item)
            existing = set()
            ids = list(unique)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                existing |= set(conn.execute(sa.select(self.items_t.c.id).where(self.items_t.c.id.in_(chunk))).scalars())
            rows = [{"id": it.id, "kind": it.kind, "prompt": it.prompt, "outputs": it.outputs, "source": it.source,
                     "gold": it.gold, "meta": it.meta, "created": now} for it in unique.values() if it.id not in existing]
            if rows:
                conn.execute(sa.insert(self.items_t), rows)
                added = len(rows)
        return {"added": added, "existing": len(items) - added}

    def _row_to_item(self, row) -> Item:
        return Item(row.id, row.kind, row.prompt, list(row.outputs), dict(row.source or {}), row.gold, dict(row.meta or {}))

    def items(self, kind: str | None = None) -> list[Item]:
        """Every item (model names included), in the order they were added."""
        import sqlalchemy as sa

        query = sa.select(self.items_t).order_by(self.items_t.c.seq)
        if kind:
            query = query.where(self.items_t.c.kind == kind)
        with self._read() as conn:
            return [self._row_to_item(r) for r in conn.execute(query)]

    def _get_item(self, conn, item_id: str) -> Item:
        import sqlalchemy as sa

        if not isinstance(item_id, str) or not item_id:
            fail("item_id", "no item id given", "pass the id of an item in the store (see 'workbench review queue').")
        row = None
        if item_id.isprintable():  # an id no item can have (a NUL is a raw database error on PostgreSQL) is unknown
            row = conn.execute(sa.select(self.items_t).where(self.items_t.c.id == item_id)).first()
        if row is None:
            fail("item_id", f"unknown item {item_id!r}", "pass the id of an item in the store; add items first "
                  "with 'workbench review items'.")
        return self._row_to_item(row)

    def item(self, item_id: str, annotator: str | None = None) -> Item:
        """One item; for an ``annotator`` who has not given a verdict on it yet, blind (model names hidden)."""
        with self._read() as conn:
            item = self._get_item(conn, item_id)
            if annotator is None:
                return item
            annotator = check_annotator(annotator)
            done = self._state(conn, annotator)["verdicts"]
        return item if (item.id, annotator) in done else item.blind()

    def set_gold(self, item_id: str, verdict: str, categories: list[str] | None = None) -> None:
        """Make an item a gold item with a known verdict (and optionally the error categories it holds)."""
        import sqlalchemy as sa

        with self._write() as conn:
            item = self._get_item(conn, item_id)
            check_verdict(item, verdict)
            cats = check_categories(categories or [], self._categories(conn), field="categories")
            conn.execute(sa.update(self.items_t).where(self.items_t.c.id == item_id)
                         .values(gold={"verdict": verdict, "categories": cats}))

    # -------------------------------------------------------------------------------- writing events

    def _categories(self, conn) -> list[str]:
        """The project's taxonomy categories, read in the transaction that checks against them."""
        data = self._setting(conn, "taxonomy")
        return (Taxonomy(**data) if data else Taxonomy()).categories

    def _append(self, conn, item_id: str, annotator: str, action: str, payload: dict, seconds: float | None = None,
                uid: str | None = None, created: float | None = None) -> str:
        import sqlalchemy as sa

        uid = uid or uuid.uuid4().hex
        conn.execute(sa.insert(self.events_t).values(
            uid=uid, item_id=item_id, annotator=annotator, action=action, payload=payload, seconds=seconds,
            created=time.time() if created is None else created,
        ))
        return uid

    def add_label(self, item_id: str, annotator: str, category: str, severity: str, start: int | None = None,
                  end: int | None = None, output: str | None = None, note: str = "", correction: str | None = None,
                  seconds: float | None = None) -> str:
        """Mark an error (MQM style) in one output of an item.

        Args:
            item_id: the item.
            annotator: who labels (non-empty).
            category: one of the project's taxonomy categories.
            severity: ``minor``, ``major`` or ``critical`` (MQM weights 1, 5, 10).
            start, end: character offsets ``[start, end)`` in the output; both None marks the whole output.
            output: the output's slot (``A``/``B`` for a pair; default the only output).
            note: free text.
            correction: what the span should say instead (the training signal and the regression check).
            seconds: time spent.

        Returns:
            The label's uid (pass it to ``delete_label``).
        """
        annotator = check_annotator(annotator)
        seconds = check_seconds(seconds)
        with self._write() as conn:
            item = self._get_item(conn, item_id)
            payload = span_payload(item, output, start, end, category, severity, note, correction, self._categories(conn))
            return self._append(conn, item.id, annotator, "span", payload, seconds)

    def delete_label(self, label_uid: str, annotator: str) -> str:
        """Take back one of the annotator's own spans (an event too, so it can be undone); another annotator's
        label is refused."""
        annotator = check_annotator(annotator)
        with self._write() as conn:
            owner = self._event_owner(conn, label_uid) if isinstance(label_uid, str) and label_uid.isprintable() else None
            try:
                payload = target_payload("delete", label_uid, annotator, lambda _uid: owner[:2] if owner else None)
            except WorkbenchError as exc:  # the API's argument is label_uid
                raise WorkbenchError(exc.message, exc.fix, field="label_uid") from None
            return self._append(conn, owner[2], annotator, "delete", payload)

    def _event_owner(self, conn, uid: str) -> tuple[str, str, str] | None:
        """``(annotator, action, item_id)`` of the event ``uid``, or None."""
        import sqlalchemy as sa

        t = self.events_t
        row = conn.execute(sa.select(t.c.annotator, t.c.action, t.c.item_id).where(t.c.uid == uid)).first()
        return tuple(row) if row else None

    def submit(self, item_id: str, annotator: str, verdict: str, note: str = "", seconds: float | None = None,
               adjudication: bool = False) -> str:
        """Give an item a verdict: ``A``/``B``/``tie`` (side by side), ``no_error``/``errors``, ``keep``/``drop``
        (flagged documents) or ``skip``. The item then counts as done for the annotator (names revealed)."""
        annotator = check_annotator(annotator)
        seconds = check_seconds(seconds)
        with self._write() as conn:
            item = self._get_item(conn, item_id)
            payload = verdict_payload(item, verdict, note, adjudication)
            return self._append(conn, item.id, annotator, "verdict", payload, seconds)

    def skip(self, item_id: str, annotator: str, seconds: float | None = None) -> str:
        """Skip an item (undoable like any action)."""
        return self.submit(item_id, annotator, SKIP, seconds=seconds)

    def flag(self, item_id: str, annotator: str, note: str = "", on: bool = True) -> str:
        """Flag an item for attention (``on=False`` clears the flag)."""
        annotator = check_annotator(annotator)
        payload = flag_payload(on, note)
        with self._write() as conn:
            item = self._get_item(conn, item_id)
            return self._append(conn, item.id, annotator, "flag", payload)

    def adjudicate(self, item_id: str, adjudicator: str, verdict: str, note: str = "") -> str:
        """Record the final verdict of an item after disagreement (wins over the majority vote)."""
        return self.submit(item_id, adjudicator, verdict, note=note, adjudication=True)

    def _events(self, conn, annotator: str | None = None) -> list[dict]:
        import sqlalchemy as sa

        query = sa.select(self.events_t).order_by(self.events_t.c.seq)
        if annotator is not None:
            if not (isinstance(annotator, str) and annotator.isprintable()):
                return []  # no annotator has such a name (check_annotator); a NUL is a raw error on PostgreSQL
            query = query.where(self.events_t.c.annotator == annotator)
        return [dict(r._mapping) for r in conn.execute(query)]

    def _undo_redo(self, annotator: str, which: str) -> dict | None:
        annotator = check_annotator(annotator)
        with self._write() as conn:
            events = self._events(conn, annotator)
            active, undo_stack, redo_stack = replay(events)
            stack = undo_stack if which == "undo" else redo_stack
            if not stack:
                return None
            target = next(e for e in events if e["uid"] == stack[-1])
            payload = target_payload(which, target["uid"], annotator, lambda _uid: (target["annotator"], target["action"]))
            self._append(conn, target["item_id"], annotator, which, payload)
            return {"action": target["action"], "item_id": target["item_id"], "uid": target["uid"],
                    **{k: v for k, v in target["payload"].items() if k in ("verdict", "category", "severity", "output")}}

    def undo(self, annotator: str) -> dict | None:
        """Take back the annotator's latest action still in effect (span, deletion, submit, skip, flag).

        Returns:
            What was undone (``{action, item_id, uid, ...}``), or None when there is nothing to undo.
        """
        return self._undo_redo(annotator, "undo")

    def redo(self, annotator: str) -> dict | None:
        """Bring back the annotator's latest undone action (None when there is none, or a new action came since)."""
        return self._undo_redo(annotator, "redo")

    # -------------------------------------------------------------------------------- derived state

    def _state(self, conn, annotator: str | None = None) -> dict:
        """Current spans, verdicts and flags derived from the log (for one annotator or everyone)."""
        by_annotator: dict[str, list[dict]] = defaultdict(list)
        for e in self._events(conn, annotator):
            by_annotator[e["annotator"]].append(e)
        spans: dict[str, dict] = {}
        verdicts: dict[tuple[str, str], dict] = {}
        flags: dict[tuple[str, str], dict] = {}
        for name, events in by_annotator.items():
            active, _, _ = replay(events)
            deleted = {e["payload"]["target"] for e in active.values() if e["action"] == "delete"}
            for e in sorted(active.values(), key=lambda e: e["seq"]):
                key = (e["item_id"], name)
                if e["action"] == "span" and e["uid"] not in deleted:
                    spans[e["uid"]] = e
                elif e["action"] == "verdict":
                    verdicts[key] = e
                elif e["action"] == "flag":
                    flags[key] = e
        flags = {k: v for k, v in flags.items() if v["payload"].get("on")}
        return {"spans": spans, "verdicts": verdicts, "flags": flags}

    def _items_by_id(self, conn, ids: Iterable[str] | None = None) -> dict[str, Item]:
        import sqlalchemy as sa

        query = sa.select(self.items_t)
        ids = None if ids is None else list(set(ids))
        if ids is not None and len(ids) < 500:
            query = query.where(self.items_t.c.id.in_(ids))
        return {r.id: self._row_to_item(r) for r in conn.execute(query)}

    def labels(self, item_id: str | None = None, annotator: str | None = None, category: str | None = None,
               model: str | None = None) -> list[Label]:
        """The error spans in effect (after undo, redo and deletions), oldest first, optionally filtered."""
        with self._read() as conn:
            state = self._state(conn, annotator)
            items = self._items_by_id(conn, [e["item_id"] for e in state["spans"].values()])
        out = []
        for e in state["spans"].values():
            p = e["payload"]
            if (item_id and e["item_id"] != item_id) or (category and p["category"] != category):
                continue
            item = items[e["item_id"]]
            produced = next((o for o in item.outputs if o["slot"] == p["output"]), {})
            text = produced.get("text", "")
            label = Label(
                e["uid"], e["item_id"], e["annotator"], p["output"], p["start"], p["end"], p["category"], p["severity"],
                SEVERITY_WEIGHTS[p["severity"]], p.get("note") or "", p.get("correction"), e["seconds"], e["created"],
                produced.get("model"), produced.get("checkpoint"),
                text[p["start"] : p["end"]] if p["start"] is not None else text,
            )
            if model and label.model != model:
                continue
            out.append(label)
        return out

    def verdicts(self, item_id: str | None = None, annotator: str | None = None,
                 include_adjudications: bool = True) -> list[Verdict]:
        """The verdicts in effect, one per (item, annotator)."""
        with self._read() as conn:
            state = self._state(conn, annotator)
            items = self._items_by_id(conn, [k[0] for k in state["verdicts"]])
        out = []
        for (iid, name), e in sorted(state["verdicts"].items(), key=lambda kv: kv[1]["seq"]):
            if item_id and iid != item_id:
                continue
            p = e["payload"]
            if p.get("adjudication") and not include_adjudications:
                continue
            model = None
            if p["verdict"] in ("A", "B"):
                model = next((o.get("model") for o in items[iid].outputs if o["slot"] == p["verdict"]), None)
            out.append(Verdict(e["uid"], iid, name, p["verdict"], p.get("note") or "", e["seconds"], e["created"],
                               bool(p.get("adjudication")), model))
        return out

    def flags(self) -> list[dict]:
        """Items flagged for attention: ``{item_id, annotator, note}``."""
        with self._read() as conn:
            state = self._state(conn)
        return [{"item_id": k[0], "annotator": k[1], "note": e["payload"].get("note", "")}
                for k, e in state["flags"].items()]

    def events(self, annotator: str | None = None) -> list[dict]:
        """The raw append-only log (``seq, uid, item_id, annotator, action, payload, seconds, created``)."""
        with self._read() as conn:
            return self._events(conn, annotator)

    # -------------------------------------------------------------------------------- queue

    def overlap(self) -> int:
        """How many annotators see each (non-gold) item in the open queue (default 1)."""
        with self._read() as conn:
            return int(self._setting(conn, "overlap", 1))

    def set_overlap(self, overlap: int) -> None:
        if not isinstance(overlap, int) or overlap < 1:
            fail("overlap", f"overlap {overlap!r} is not a positive integer", "use 1 (no overlap) or more.")
        with self._write() as conn:
            self._put_setting(conn, "overlap", overlap)

    def assign(self, annotators: list[str], overlap: int = 2) -> dict[str, int]:
        """Give each item to ``overlap`` annotators (round robin, balanced) and every gold item to everyone.

        Earlier assignments stay; items added since are assigned. Returns items assigned per annotator.
        """
        import sqlalchemy as sa

        names = [check_annotator(a) for a in annotators]
        if not names or len(set(names)) != len(names):
            fail("annotators", "the annotator list is empty or repeats a name", "list each annotator once.")
        if not isinstance(overlap, int) or not 1 <= overlap <= len(names):
            fail("overlap", f"overlap {overlap!r} must be between 1 and the number of annotators ({len(names)})",
                  "lower the overlap or add annotators.")
        with self._write() as conn:
            self._put_setting(conn, "overlap", overlap)
            items = [self._row_to_item(r) for r in conn.execute(sa.select(self.items_t).order_by(self.items_t.c.seq))]
            have = {(r.item_id, r.annotator) for r in conn.execute(sa.select(self.assignments_t))}
            assigned_items = {iid for iid, _ in have}
            counts: dict[str, int] = defaultdict(int)
            for _iid, name in have:
                counts[name] += 1
            rows = []
            turn = 0
            for position, item in enumerate(items):
                if item.gold:
                    targets = names
                elif item.id in assigned_items:
                    continue
                else:
                    targets = sorted(names, key=lambda n: (counts[n], (names.index(n) - turn) % len(names)))[:overlap]
                    turn += 1
                for name in targets:
                    if (item.id, name) not in have:
                        rows.append({"item_id": item.id, "annotator": name, "position": position})
                        have.add((item.id, name))
                        counts[name] += 1
            if rows:
                conn.execute(sa.insert(self.assignments_t), rows)
        return {n: counts[n] for n in names}

    def next_item(self, annotator: str) -> Item | None:
        """The next item this annotator has not given a verdict on, blind; None when their queue is empty.

        With assignments (``assign``), the annotator's assigned items in order; otherwise the open queue:
        items fewer than ``overlap`` annotators have done (gold items always), least-covered first.
        """
        import sqlalchemy as sa

        annotator = check_annotator(annotator)
        with self._read() as conn:
            state = self._state(conn)
            done = {iid for (iid, name) in state["verdicts"] if name == annotator}
            assigned = list(conn.execute(
                sa.select(self.assignments_t.c.item_id).where(self.assignments_t.c.annotator == annotator)
                .order_by(self.assignments_t.c.position)).scalars())
            if assigned:
                pick = next((iid for iid in assigned if iid not in done), None)
                return self._get_item(conn, pick).blind() if pick else None
            overlap = int(self._setting(conn, "overlap", 1))
            coverage: dict[str, int] = defaultdict(int)
            for (iid, _name), e in state["verdicts"].items():
                if not e["payload"].get("adjudication"):
                    coverage[iid] += 1
            candidates = []
            for r in conn.execute(sa.select(self.items_t.c.id, self.items_t.c.gold, self.items_t.c.seq)):
                if r.id in done or (not r.gold and coverage[r.id] >= overlap):
                    continue
                candidates.append((coverage[r.id], r.seq, r.id))
            if not candidates:
                return None
            return self._get_item(conn, min(candidates)[2]).blind()

    def queue_status(self, annotator: str) -> dict:
        """Where an annotator's queue stands, and why it is empty when it is.

        Returns:
            ``{"items", "done", "remaining", "assigned", "overlap", "empty": None | reason, "message"}`` where
            ``remaining`` counts the items :meth:`next_item` still gives them and ``reason`` is ``no_items``
            (the store holds none), ``not_assigned`` (items are assigned to others, none to them),
            ``done`` (they gave a verdict on every item of their queue) or ``covered`` (every item they
            have not done already has ``overlap`` verdicts from others).
        """
        import sqlalchemy as sa

        annotator = check_annotator(annotator)
        with self._read() as conn:
            state = self._state(conn)
            ids = list(conn.execute(sa.select(self.items_t.c.id, self.items_t.c.gold).order_by(self.items_t.c.seq)))
            rows = list(conn.execute(sa.select(self.assignments_t.c.item_id, self.assignments_t.c.annotator)))
            overlap = int(self._setting(conn, "overlap", 1))
        done = {iid for (iid, name) in state["verdicts"] if name == annotator}
        mine = {r.item_id for r in rows if r.annotator == annotator}
        coverage: dict[str, int] = defaultdict(int)
        for (iid, _name), e in state["verdicts"].items():
            if not e["payload"].get("adjudication"):
                coverage[iid] += 1
        if mine:
            queue = mine
        else:
            queue = {r.id for r in ids if r.id in done or r.gold or coverage[r.id] < overlap}
        remaining = len(queue - done)
        out = {"items": len(ids), "done": len(done & queue) if mine else len(done), "remaining": remaining,
               "assigned": len(mine), "overlap": overlap, "empty": None, "message": ""}
        if remaining:
            return out
        if not ids:
            out.update(empty="no_items", message="No review items in the store yet: make them from a comparison.")
        elif mine or (done and len(done) >= len(ids)):
            out.update(empty="done", message=f"All your items are done: {len(done & queue) if mine else len(done)} "
                                             "with your verdict.")
        elif rows:
            out.update(empty="not_assigned",
                       message="No items are assigned to you: the items are assigned to "
                               + ", ".join(sorted({r.annotator for r in rows})) + "; assign them again with you "
                               "among the annotators, or raise the overlap.")
        else:
            out.update(empty="covered",
                       message=f"Every item you have not labelled already has {overlap} annotator(s)' verdicts "
                               f"(overlap {overlap}): raise the overlap for a second opinion.")
        return out

    def progress(self) -> dict:
        """Counts for a progress bar: ``{items, done_items, annotators: {name: {done, assigned, remaining, labels, seconds}}}``."""
        import sqlalchemy as sa

        with self._read() as conn:
            state = self._state(conn)
            n_items = conn.execute(sa.select(sa.func.count()).select_from(self.items_t)).scalar_one()
            assigned: dict[str, set] = defaultdict(set)
            for r in conn.execute(sa.select(self.assignments_t.c.item_id, self.assignments_t.c.annotator)):
                assigned[r.annotator].add(r.item_id)
            events = self._events(conn)
        per: dict[str, dict] = {}
        names = sorted({k[1] for k in state["verdicts"]} | {e["annotator"] for e in state["spans"].values()} | set(assigned))
        for name in names:
            done = {iid for (iid, n) in state["verdicts"] if n == name}
            active, _, _ = replay([e for e in events if e["annotator"] == name])
            per[name] = {
                "done": len(done),
                "assigned": len(assigned[name]),
                "remaining": len(assigned[name] - done) if assigned[name] else n_items - len(done),
                "labels": sum(1 for e in state["spans"].values() if e["annotator"] == name),
                "skipped": sum(1 for (iid, n), e in state["verdicts"].items() if n == name and e["payload"]["verdict"] == SKIP),
                "seconds": round(sum(e["seconds"] or 0.0 for e in active.values()), 3),
            }
            per[name]["seconds_per_item"] = round(per[name]["seconds"] / len(done), 3) if done else None
        return {"items": n_items, "done_items": len({k[0] for k in state["verdicts"]}), "annotators": per}

    def accuracy(self) -> dict[str, dict]:
        """Each annotator's accuracy on gold items: ``{name: {gold_items, correct, accuracy}}``.

        Correct means the verdict matches the gold verdict and, when the gold lists categories, the
        annotator's spans name exactly those categories.
        """
        with self._read() as conn:
            state = self._state(conn)
            gold = {i.id: i.gold for i in self._items_by_id(conn).values() if i.gold}
        cats: dict[tuple[str, str], set] = defaultdict(set)
        for e in state["spans"].values():
            cats[(e["item_id"], e["annotator"])].add(e["payload"]["category"])
        out: dict[str, dict] = {}
        for (iid, name), e in state["verdicts"].items():
            if iid not in gold or e["payload"].get("adjudication") or e["payload"]["verdict"] == SKIP:
                continue
            g = gold[iid]
            right = e["payload"]["verdict"] == g.get("verdict")
            if g.get("categories"):
                right = right and cats[(iid, name)] == set(g["categories"])
            row = out.setdefault(name, {"gold_items": 0, "correct": 0})
            row["gold_items"] += 1
            row["correct"] += int(right)
        for row in out.values():
            row["accuracy"] = row["correct"] / row["gold_items"]
        return out

    # -------------------------------------------------------------------------------- analysis and exchange

    def agreement(self) -> dict:
        """Krippendorff's alpha per dimension, Cohen's kappa per annotator pair, confusion table,
        disagreements and adjudicated labels (see ``workbench.review.agreement``)."""
        from workbench.review.agreement import agreement_report

        return agreement_report(self.verdicts(), self.labels(), self.items())

    def stats(self) -> dict:
        """Error rate and MQM penalty per category, model and checkpoint (see ``workbench.review.stats``)."""
        from workbench.review.stats import error_stats

        return error_stats(self.items(), self.verdicts(include_adjudications=False), self.labels())

    def export(self, path: str | os.PathLike, format: str = "jsonl") -> Path:
        """Write ``jsonl`` (items + the full event log: importable), ``csv`` (current labels, one row per span
        or verdict) or ``datasets`` (a ``datasets.save_to_disk`` folder of the current labels; written again
        into the same folder, it replaces the earlier export). See ``workbench.review.exchange``."""
        return exchange.export_store(self, path, format)

    def import_file(self, path: str | os.PathLike) -> dict:
        """Merge a ``jsonl`` export (items and events) into this store; what is already here is skipped.

        Every record is checked as the API checks it; one bad line writes nothing and names the line and field.
        """
        return exchange.import_store(self, path)

    def _import_records(self, items: list[tuple[str, Item]], events: list[tuple[str, dict]]) -> dict:
        """Check items and events (each with where it comes from, ``FILE line N``) with the API's rules
        (``records.check_item``, ``records.check_event``), then insert the new ones in the same transaction:
        nothing is written unless every record passes."""
        import sqlalchemy as sa

        with self._write() as conn:
            known = self._categories(conn)
            by_id = self._items_by_id(conn)
            new_items = []
            for where, item in items:
                located(where, check_item, item, known)
                if item.id not in by_id:
                    by_id[item.id] = item
                    new_items.append(item)
            t = self.events_t
            owners = {r.uid: (r.annotator, r.action) for r in conn.execute(sa.select(t.c.uid, t.c.annotator, t.c.action))}
            rows = []
            for where, record in events:
                row = located(where, check_event, record, by_id, known, owners.get)
                if row["uid"] not in owners:
                    owners[row["uid"]] = (row["annotator"], row["action"])  # later lines may take it back
                    rows.append(row)
            now = time.time()
            if new_items:
                conn.execute(sa.insert(self.items_t), [
                    {"id": it.id, "kind": it.kind, "prompt": it.prompt, "outputs": it.outputs, "source": it.source,
                     "gold": it.gold, "meta": it.meta, "created": now} for it in new_items])
            if rows:
                conn.execute(sa.insert(self.events_t), rows)
        return {"items_added": len(new_items), "items_existing": len(items) - len(new_items),
                "events_added": len(rows), "events_existing": len(events) - len(rows)}
