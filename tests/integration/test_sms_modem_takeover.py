"""A gateway killed in the middle of an SMS leaves the modem waiting for message text; the next
process to open the port must get it back to commands, or no SMS goes out again.

Found by the fault suite (``make faults``): after a SIGKILL between the ``>`` prompt and Ctrl-Z,
every initialisation of the restarted gateway timed out, its ``AT`` taken as message text.
"""

from __future__ import annotations

import os
import random
import select
import time

from gateway.clock import SystemClock
from gateway.notify.channels.sms import GsmModem
from simulators.modem import ModemSimulator

PHONE = "+8613800000002"


def _read_until(fd: int, token: bytes, timeout: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while token not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {token!r} from the modem; got {got!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            got += os.read(fd, 1024)
    return got


def _die_after_the_prompt(path: str) -> None:
    """What a process killed mid-message leaves: the prompt answered, half the text typed."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"AT+CMGF=1\r")
        _read_until(fd, b"OK")
        os.write(fd, b'AT+CMGS="' + PHONE.encode() + b'"\r')
        _read_until(fd, b">")
        os.write(fd, b"95E878C1")  # half a message, never ended with Ctrl-Z
    finally:
        os.close(fd)


async def test_the_next_gateway_sends_although_the_last_one_died_after_the_prompt():
    """A modem left in text entry: the next open aborts the half-typed message, then sends."""
    with ModemSimulator() as sim:
        _die_after_the_prompt(sim.path)
        async with GsmModem(
            sim.path,
            clock=SystemClock(),
            command_timeout=1.0,
            prompt_timeout=0.5,
            submit_timeout=1.0,
            backoff_base=0.01,
            backoff_cap=0.05,
            rng=random.Random(7),
        ) as modem:
            await modem.send_sms(PHONE, "门磁: 幸福小区3栋2单元501 开门")
        [sms] = sim.wait_for_sms(1)
    assert (sms.number, sms.text) == (PHONE, "门磁: 幸福小区3栋2单元501 开门")
    assert sim.aborted == 1  # the dead process's half message was dropped, not sent
