"""The cyclic garbage collector and a long-running gateway.

A full collection walks every object the collector tracks. Once started, the gateway holds a
few hundred thousand of them (the libraries, the site, the API), nearly all for its whole life,
and a full collection took ~280 ms on the bench machine while an officer's alert waited behind
it. :func:`settle` moves what exists after start into the collector's permanent generation,
which its collections skip; what is created later is collected as before. Objects are still
freed by reference counting: only reference cycles among the frozen ones would stay.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left over, then keep the survivors out of later collections."""
    gc.collect()
    gc.freeze()
