"""What the API hides: phone numbers masked for roles that do not call them, webhook
credentials (query, user info, path tokens) never shown."""

from __future__ import annotations

import pytest

from api.auth import User
from api.masking import mask_phone, safe_url, sees_phones, shown_target
from rules.directory import Directory
from rules.site import Site
from tests.conftest import site_doc

DIRECTORY = Directory.build(Site.model_validate(site_doc()))


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("12345678", "****5678"),
        ("12345", "***45"),
    ],
)
def test_a_phone_keeps_its_prefix_and_last_four_digits(phone: str, masked: str):
    """Enough to tell two numbers apart, not enough to call."""
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("user", "household", "full"),
    [
        (User("p1", "officer"), "h1", True),
        (User("p2", "officer"), "h1", False),
        (User("d1", "doctor"), "h2", True),
        (User("w1", "watcher"), "h1", False),
        (User("t1", "technician"), "h1", False),
        (User("s1", "supervisor"), "h1", True),
        (User("root", "admin"), None, True),
    ],
)
def test_the_households_officer_and_doctor_and_supervisors_see_phones(
    user: User, household: str | None, full: bool
):
    """Officer and doctor of that household, supervisors and admins: in full; others masked."""
    assert sees_phones(user, household, DIRECTORY) is full


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?<redacted>",
        ),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=0b5c1f0e9d8a7b6c",
            "https://oapi.dingtalk.com/robot/send?<redacted>",
        ),
        (
            "https://open.feishu.cn/open-apis/bot/v2/hook/2d0d6e8f-3c52-4a4e-9d3b-1f2e3d4c5b6a",
            "https://open.feishu.cn/open-apis/bot/v2/hook/<redacted>",
        ),
        (
            "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
            "https://api.telegram.org/<redacted>/sendMessage",
        ),
        ("https://user:pw@hooks.example.org/alert", "https://hooks.example.org/alert"),
    ],
)
def test_a_webhook_url_loses_its_credentials(url: str, shown: str):
    """Query secrets (WeCom, DingTalk), path tokens (Feishu, Telegram), user info."""
    assert safe_url(url) == shown


def test_a_delivery_target_is_shown_by_what_it_is():
    """A topic as it is, a phone masked unless allowed, a URL without secrets."""
    assert shown_target("isogate/alerts/to/p1", phones=False) == "isogate/alerts/to/p1"
    assert shown_target("+8613800000002", phones=False) == "+86138****0002"
    assert shown_target("+8613800000002", phones=True) == "+8613800000002"
    assert "key" not in shown_target("https://h.example/send?key=abcdefgh", phones=True)
