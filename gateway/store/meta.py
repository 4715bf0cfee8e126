"""The one SQLAlchemy ``MetaData`` every table of the store registers on."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
