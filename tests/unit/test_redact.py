"""Webhook secrets are cut from URLs, exception texts and log records."""

from __future__ import annotations

import logging

import httpx
import pytest

from gateway.notify.redact import guard_logs, redact, redact_url, secrets_of

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=0b5c1f0e9d8a7b6c"


def test_a_url_keeps_host_and_path_and_loses_its_query() -> None:
    """The WeCom key and any userinfo are gone; where it went stays readable."""
    assert redact_url(WECOM) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?<redacted>"
    assert redact_url("http://u:pw@10.0.0.5:8080/hook") == "http://10.0.0.5:8080/hook"


def test_exception_texts_lose_every_url_query_and_known_secret() -> None:
    """A URL inside a repr and a bare token are both replaced."""
    text = f"ConnectError('{DINGTALK}') while posting; token 0b5c1f0e9d8a7b6c"
    clean = redact(text, secrets_of(DINGTALK))
    assert "0b5c1f0e9d8a7b6c" not in clean
    assert "https://oapi.dingtalk.com/robot/send?<redacted>" in clean


def test_the_http_clients_request_line_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """httpx's INFO line carries the URL as an argument; the guard rewrites the record."""
    guard_logs()
    caplog.set_level(logging.INFO, logger="httpx")
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s %d %s"', "POST", httpx.URL(WECOM), "HTTP/1.1", 200, "OK"
    )
    assert "693a91f6" not in caplog.text
    assert "send?<redacted>" in caplog.text
