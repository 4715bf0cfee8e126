"""GsmModem and SmsChannel against a simulated GSM modem on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import SystemClock
from gateway.notify.channels.base import DeliveryError
from gateway.notify.channels.sms import INIT_COMMANDS, GsmModem, ucs2_hex
from gateway.notify.channels.sms_channel import SmsChannel
from gateway.notify.channels.text import sms_text, split_sms, utf16_len
from simulators.modem import ModemSimulator
from tests.samples import BREACH as SAMPLE

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = "http://10.0.0.5:8000"
PHONE = "+8613800000002"
# "+8613800000002" in UCS2 hex: every character as four hex digits, "+" is 002B.
PHONE_HEX = "002B0038003600310033003800300030003000300030003000300032"

BREACH = replace(SAMPLE, snapshot_url=None, phone=PHONE)


@pytest.fixture
def sim() -> Iterator[ModemSimulator]:
    """A simulated modem on a fresh pty."""
    with ModemSimulator() as s:
        yield s


@pytest.fixture
async def modem(sim: ModemSimulator) -> AsyncIterator[GsmModem]:
    """The modem driver on the simulator, with short timeouts and backoff for tests."""
    async with GsmModem(
        sim.path,
        clock=SystemClock(),
        command_timeout=1.0,
        prompt_timeout=0.5,
        submit_timeout=1.0,
        backoff_base=0.01,
        backoff_cap=0.05,
        rng=random.Random(7),
    ) as m:
        yield m


@pytest.fixture
def sms(modem: GsmModem) -> SmsChannel:
    """The SMS channel on the modem."""
    return SmsChannel(modem, tz=SHANGHAI, base_url=BASE)


async def test_breach_sms_goes_out_in_ucs2_hex_after_the_right_dialogue(
    sim: ModemSimulator, sms: SmsChannel
) -> None:
    """The modem is set up for UCS2 text mode, then gets the number and text as UCS2 hex."""
    await sms.send(BREACH)
    parts = split_sms(sms_text(BREACH, tz=SHANGHAI, base_url=BASE))
    assert len(parts) == 1  # without a snapshot link the breach fits in one message
    sent = sim.wait_for_sms(len(parts))
    assert [m.text for m in sent] == parts
    assert {m.number for m in sent} == {PHONE}
    assert {m.number_raw for m in sent} == {PHONE_HEX}
    # A sync AT first (its answer may be ERROR after a half-typed line), then the setup.
    assert sim.log[: len(INIT_COMMANDS) + 1] == ["AT", *INIT_COMMANDS]
    assert sim.log[len(INIT_COMMANDS) + 1] == f'AT+CMGS="{PHONE_HEX}"'
    # 门磁 is U+95E8 U+78C1.
    assert "95E878C1" in sent[0].text_raw
    assert sent[0].text_raw == ucs2_hex(parts[0])


async def test_long_message_goes_as_several_single_messages(
    sim: ModemSimulator, sms: SmsChannel
) -> None:
    """A message over 70 units is sent as numbered parts, each within one UCS2 message."""
    long = replace(BREACH, message="门磁: 幸福小区3栋2单元501 开门，" + "住户未经报备外出，" * 12)
    await sms.send(long)
    parts = sms.parts(long)
    assert len(parts) >= 3
    sent = sim.wait_for_sms(len(parts))
    assert [m.text for m in sent] == parts
    assert all(utf16_len(m.text) <= 70 for m in sent)
    assert sent[0].text.startswith(f"(1/{len(parts)})【isogate】紧急·违规开门")


async def test_network_out_of_order_is_retryable_and_only_missing_parts_are_resent(
    sim: ModemSimulator, sms: SmsChannel
) -> None:
    """+CMS ERROR: 38 on part 2 asks for a retry, which sends parts 2.. without repeating 1."""
    with_snapshot = replace(BREACH, snapshot_url=f"/api/v1/alerts/{BREACH.alert_id}/snapshot")
    parts = sms.parts(with_snapshot)
    assert len(parts) == 3
    sim.fail_next(1, 38, after=1)
    with pytest.raises(DeliveryError) as caught:
        await sms.send(with_snapshot)
    assert caught.value.retryable is True
    assert caught.value.code == "cms:38"
    assert len(sim.sent) == 1
    await sms.send(with_snapshot)
    assert [m.text for m in sim.wait_for_sms(len(parts))] == parts


async def test_unknown_smsc_address_is_permanent(sim: ModemSimulator, sms: SmsChannel) -> None:
    """+CMS ERROR: 330 (SMSC address unknown) needs a fix, not a retry."""
    sim.fail_next(1, 330)
    with pytest.raises(DeliveryError) as caught:
        await sms.send(BREACH)
    assert caught.value.retryable is False
    assert caught.value.code == "cms:330"


async def test_recipient_without_a_phone_is_skipped_for_good(
    sim: ModemSimulator, sms: SmsChannel
) -> None:
    """No phone number: a permanent error, and the modem is not bothered."""
    before = list(sim.log)
    with pytest.raises(DeliveryError) as caught:
        await sms.send(replace(BREACH, phone=None))
    assert caught.value.retryable is False
    assert caught.value.detail == "no phone"
    assert sim.log == before


async def test_modem_that_vanishes_and_comes_back_is_reopened(
    sim: ModemSimulator, modem: GsmModem
) -> None:
    """Unplugged: a retryable error; plugged in again: the next send reopens and delivers."""
    assert await modem.send_sms(PHONE, "第一条") >= 0
    sim.unplug()
    with pytest.raises(DeliveryError) as caught:
        await modem.send_sms(PHONE, "拔掉了")
    assert caught.value.retryable is True
    assert not modem.connected
    with pytest.raises(DeliveryError) as still_gone:
        await modem.send_sms(PHONE, "还没插上")
    assert still_gone.value.code == "open"
    sim.replug()
    await modem.send_sms(PHONE, "又插上了")
    assert [m.text for m in sim.sent] == ["第一条", "又插上了"]
    assert modem.opened == 2


async def test_lost_prompt_is_aborted_with_esc_and_the_modem_recovers(
    sim: ModemSimulator, modem: GsmModem
) -> None:
    """No "> " in time: the driver sends ESC so the modem leaves text entry, then recovers."""
    sim.lose_prompt()
    with pytest.raises(DeliveryError) as caught:
        await modem.send_sms(PHONE, "提示符丢了")
    assert caught.value.retryable is True
    assert caught.value.code == "timeout"
    sim.lose_prompt(False)
    await modem.send_sms(PHONE, "恢复了")
    # The modem reads its line in order: the ESC was handled before the new session began.
    assert sim.aborted == 1
    assert [m.text for m in sim.sent] == ["恢复了"]


async def test_silent_modem_times_out_and_is_reinitialised_later(
    sim: ModemSimulator, modem: GsmModem
) -> None:
    """A modem that stops answering yields a bounded, retryable timeout; then it is set up anew."""
    sim.mute()
    with pytest.raises(DeliveryError) as caught:
        await modem.send_sms(PHONE, "没有回应")
    assert caught.value.retryable is True
    sim.mute(False)
    await modem.send_sms(PHONE, "有回应了")
    assert [m.text for m in sim.sent] == ["有回应了"]
    assert modem.opened == 2


async def test_modem_missing_at_start_fails_retryably_without_stopping_the_gateway() -> None:
    """A port that does not exist yet: entering works, each send fails as retryable."""
    async with GsmModem("/nonexistent/ttyGSM9", clock=SystemClock(), backoff_base=0.01) as m:
        with pytest.raises(DeliveryError) as caught:
            await m.send_sms(PHONE, "无端口")
    assert caught.value.retryable is True
    assert caught.value.code == "open"


async def test_not_a_phone_number_is_refused_before_the_modem(modem: GsmModem) -> None:
    """A malformed number (with quotes that would break the AT command) is permanent."""
    with pytest.raises(DeliveryError) as caught:
        await modem.send_sms('138"; AT+CFUN=0', "x")
    assert caught.value.retryable is False


async def test_send_cancelled_mid_dialogue_leaves_the_modem_usable(
    sim: ModemSimulator, modem: GsmModem
) -> None:
    """A caller's timeout cancels the send after AT+CMGS: ESC is sent, the next send works."""
    sim.lose_prompt()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(modem.send_sms(PHONE, "被取消"), timeout=0.2)
    assert not modem.connected
    sim.lose_prompt(False)
    await modem.send_sms(PHONE, "取消后恢复")
    assert sim.aborted == 1
    assert [m.text for m in sim.sent] == ["取消后恢复"]
