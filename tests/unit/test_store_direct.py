"""The driver's parameters of a planned statement: rows given as dicts or as values agree."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import sqlite

from gateway.store import rows
from gateway.store.direct import SqliteDirect
from gateway.store.plan import Op, Statements
from tests.samples import door_event

T = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def test_event_values_bind_as_the_event_row_dict_would():
    """The event log's rows as tuples make the same parameters as the same rows as dicts,
    the data bound as its JSON text."""
    direct = SqliteDirect(Statements(sqlite.dialect()))
    events = [door_event(T, 1, is_open=False), door_event(T, 2)]
    as_values = Op("events", [rows.event_values(e) for e in events], keys=rows.EVENT_KEYS)
    as_dicts = Op("events", as_values.dicts())
    [(sql, by_values, _)] = direct.prepare([as_values]).steps
    [(same_sql, by_dicts, _)] = direct.prepare([as_dicts]).steps
    assert sql == same_sql and by_values == by_dicts
    assert by_values[0][rows.EVENT_KEYS.index("data")] == '{"open": false}'
    assert by_values[1][rows.EVENT_KEYS.index("seq")] == 2


def test_values_in_another_order_than_the_statement_s_are_rearranged_with_its_constants():
    """Keys given in an order of their own, and a statement with a literal of its own (the
    outbox's ``state = 'pending'``): each ``?`` still gets its value."""
    direct = SqliteDirect(Statements(sqlite.dialect()))
    keys = ("v_at", "k_id", "v_state")
    values = Op("outbox_done", [(12.5, 7, "delivered")], keys=keys)
    [(sql, by_values, _)] = direct.prepare([values]).steps
    [(_, by_dicts, _)] = direct.prepare([Op("outbox_done", values.dicts())]).steps
    assert by_values == by_dicts
    assert sorted(map(str, by_values[0])) == sorted(["12.5", "7", "delivered", "pending"])
    assert sql.count("?") == 4
