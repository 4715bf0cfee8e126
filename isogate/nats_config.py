"""NATS as isogate's broker for more than one machine: node configs and the site's logins.

``isogate broker-config --nats DIR`` writes ``accounts.conf`` (one JetStream-enabled account,
``ISOGATE``, with a user per login of :func:`isogate.broker_config.accounts` and the same rights
as the Mosquitto ACL, as NATS subject permissions) and ``credentials.txt`` (the same format and
passwords as the Mosquitto files, so one site has one password per login whichever broker it
runs). The node configs of ``deploy/nats`` include ``accounts.conf``.

What NATS's MQTT (2.9) does not do that isogate relies on, and how it is handled:

- **MQTT 3.1.1 only**: the gateway and the simulators speak 3.1.1 (``MQTTv311``).
- **No QoS 2**: a QoS 2 subscription is granted QoS 1; a QoS 2 *publish* closes the
  connection. isogate publishes and subscribes at QoS 1 (frames at QoS 0); a device
  configured for QoS 2 must be set to 1.
- **No ``.`` or space in a topic**: NATS subjects cannot hold them, and a publish on such a
  topic closes the connection. The topics isogate builds from the site (device and staff ids,
  zigbee2mqtt friendly names) are checked here: the command refuses and names each one.
- **Retained messages and wills** work (kept in JetStream): the devices' retained ``status``.
- **Wildcards** ``+`` and ``#`` map to ``*`` and ``>``; ``a/#`` also matches ``a`` (MQTT's
  rule), so permissions below name both. Overlapping subscriptions deliver one copy each: the
  gateway's subscriptions do not overlap.
- **Redelivery by timer, not on reconnect**: a QoS 1 message in flight to a gateway that died
  is sent to the session's next connection only when ``ack_wait`` has passed (NATS's default,
  30 s, measured here as a 30 s takeover), and an unacknowledged message is sent again after it
  on a live connection too. The node configs set ``ack_wait`` to 5 s: the takeover stays
  within 10 s; the gateway acknowledges on commit and recognises a redelivery (``dup`` and the
  digest), so a slow commit costs a duplicate check, not a duplicate event.
- **Sessions** live in JetStream, replicated over the cluster: a gateway that reconnects to
  another node finds its session and the QoS 1 messages queued for it.
- **The message stream** NATS makes itself drops a message on acknowledgements, and after a
  node's death once dropped one an officer had not been given: ``isogate nats-prepare`` makes
  it first, with limits retention (:mod:`isogate.nats_streams`), through the one login of the
  account that speaks NATS rather than MQTT (:data:`SETUP`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from isogate.broker_config import (
    GATEWAY_USER,
    Account,
    BrokerConfigError,
    Topics,
    Written,
    _write,
    accounts,
    choose_passwords,
    parse_credentials,
    render_credentials,
)
from rules.site import Site

ACCOUNT = "ISOGATE"
SETUP = Account(
    "isogate-setup", "isogate nats-prepare: makes NATS's MQTT message stream (isogate.nats_streams)"
)
"""The one login that speaks NATS, not MQTT: it may look the message stream up and create it,
nothing else (no message, no other stream, no delete)."""
MESSAGES_STREAM = "$MQTT_msgs"
"""The stream NATS keeps MQTT sessions' QoS 1 messages in (made first: isogate.nats_streams)."""
SETUP_PUBLISH = [f"$JS.API.STREAM.{op}.{MESSAGES_STREAM}" for op in ("INFO", "CREATE")]
BCRYPT_ROUNDS = 11
"""NATS checks a login against the hash once per connection; 11 rounds is its tool's default."""
NOT_IN_A_SUBJECT = (".", " ", "*", ">")


@dataclass(frozen=True, slots=True)
class NodePorts:
    """One node's loopback ports: NATS clients, cluster routes, MQTT, HTTP monitoring."""

    client: int
    cluster: int
    mqtt: int
    monitor: int


LOOPBACK_NODES = tuple(NodePorts(4231 + i, 6231 + i, 1891 + i, 8231 + i) for i in range(3))
"""The ports of ``deploy/nats/node-{1,2,3}.conf`` (and of ``make cluster``)."""


def subjects(mqtt_filter: str) -> list[str]:
    """The NATS subjects of an MQTT filter: ``a/+/b`` → ``a.*.b``; ``a/#`` → ``a``, ``a.>``."""
    levels = mqtt_filter.split("/")
    mapped = ["*" if lv == "+" else ">" if lv == "#" else lv for lv in levels]
    if mapped[-1] == ">" and len(mapped) > 1:
        return [".".join(mapped[:-1]), ".".join(mapped)]
    return [".".join(mapped)]


def permissions(account: Account, topics: Topics) -> tuple[list[str], list[str]]:
    """(publish, subscribe) subjects of a login: its own ACL lines, and for everyone the
    Mosquitto patterns written out for this user (ack as yourself, read your own)."""
    b = topics.base
    publish = subjects(f"{b}/ack/{account.user}/+")
    subscribe = subjects(f"{b}/alerts/to/{account.user}") + subjects(
        f"{b}/handover/to/{account.user}"
    )
    for line in account.acl:
        _topic, access, mqtt_filter = line.split(" ", 2)
        if access in ("write", "readwrite"):
            publish += subjects(mqtt_filter)
        if access in ("read", "readwrite"):
            subscribe += subjects(mqtt_filter)
    # NATS delivers a QoS 1 subscription's messages from JetStream on a subject of this form,
    # which the user must be allowed to subscribe to (MQTT clients cannot name it themselves).
    subscribe.append("$MQTT.sub.>")
    return _unique(publish), _unique(subscribe)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_topics(site: Site, logins: Iterable[Account], topics: Topics) -> list[str]:
    """Every id and address the site would put in a topic that NATS cannot carry."""
    problems = []
    for a in logins:
        if any(c in a.user for c in NOT_IN_A_SUBJECT):
            problems.append(f"{a.user!r} ({a.who}): NATS topics cannot hold '.', ' ', '*', '>'")
    for h in site.households:
        for d in h.devices:
            address = d.address or ""
            if d.protocol.value == "zigbee2mqtt" and any(c in address for c in NOT_IN_A_SUBJECT):
                problems.append(
                    f"{d.id} of {h.id}: zigbee2mqtt friendly name {address!r} would be in the "
                    f"topic {topics.z2m}/{address}; rename it without '.' or ' '"
                )
    return problems


def render_accounts(
    logins: Iterable[Account],
    passwords: Mapping[str, str],
    topics: Topics,
    revision: int | None = None,
) -> str:
    """``accounts.conf``: the ISOGATE account (JetStream on) and a user per login."""
    source = f" (site revision {revision})" if revision is not None else ""
    lines = [
        f"# Written by `isogate broker-config --nats` from the site{source}; run it again after",
        "# the site changes, then reload every node (nats-server --signal reload).",
        "accounts {",
        f"  {ACCOUNT}: {{",
        "    jetstream: enabled",
        "    users: [",
    ]
    for a in logins:
        publish, subscribe = permissions(a, topics)
        kind = "MQTT"  # no raw NATS with an MQTT login
        if a.user == SETUP.user:
            publish, subscribe, kind = SETUP_PUBLISH, ["_INBOX.>"], "STANDARD"
        # NATS takes a bcrypt hash in place of the password: the file holds no password.
        secret = bcrypt.hashpw(passwords[a.user].encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
        lines += [
            f"      # {a.who}",
            f"      {{user: {json.dumps(a.user)}, password: {json.dumps(secret)},",
            f"       permissions: {{publish: {json.dumps(publish)},",
            f"                     subscribe: {json.dumps(subscribe)}}},",
            f"       allowed_connection_types: [{json.dumps(kind)}]}}",
        ]
    lines += ["    ]", "  }", "}"]
    return "\n".join(lines) + "\n"


def render_node(
    name: str, me: NodePorts, peers: Iterable[NodePorts], store_dir: str, include: str
) -> str:
    """One node's configuration: loopback listeners, JetStream, the cluster routes (to every
    node, itself included, as NATS allows), MQTT; ``include`` names the accounts file."""
    routes = ", ".join(f"nats-route://127.0.0.1:{p.cluster}" for p in peers)
    cluster = (
        f"cluster {{\n  name: isogate\n  listen: 127.0.0.1:{me.cluster}\n  routes: [{routes}]\n}}\n"
        if routes
        else ""  # one node alone (the tests' takeover, where the broker is not under test)
    )
    return f"""# {name} of isogate's NATS cluster: MQTT for the devices, phones and gateways, with
# the sessions and their QoS 1 messages kept in JetStream and replicated over the nodes.
server_name: {name}
listen: 127.0.0.1:{me.client}
http: 127.0.0.1:{me.monitor}
jetstream {{
  store_dir: "{store_dir}"
  max_memory_store: 256MB
  max_file_store: 8GB
}}
{cluster}mqtt {{
  listen: 127.0.0.1:{me.mqtt}
  # A QoS 1 message not acknowledged in this time is sent again. NATS sends a message that
  # was in flight to a gateway that died again only after this, even to the gateway that
  # takes its session over (it does not resend on reconnect as MQTT says): it bounds the
  # takeover. The gateway acknowledges on commit (milliseconds) and knows a redelivery.
  ack_wait: "5s"
  # Messages in flight to one subscription; the gateway's window for a backlog.
  max_ack_pending: 1024
}}
include "{include}"
"""


def mqtt_urls(nodes: Iterable[NodePorts], user: str | None = None, password: str = "") -> str:
    """``ISOGATE_MQTT_URL`` for the nodes: their MQTT listeners, comma-separated."""
    login = f"{user}:{password}@" if user else ""
    return ",".join(f"mqtt://{login}127.0.0.1:{n.mqtt}" for n in nodes)


def write_nats_files(
    directory: Path,
    site: Site,
    topics: Topics,
    *,
    rotate: bool = False,
    revision: int | None = None,
) -> Written:
    """Write ``accounts.conf`` and ``credentials.txt`` into ``directory``.

    Raises:
        BrokerConfigError: a login Mosquitto refuses too, or a topic NATS cannot carry;
            nothing is written then.
    """
    logins = [*accounts(site, topics), SETUP]
    problems = check_topics(site, logins, topics)
    if problems:
        raise BrokerConfigError(problems)
    directory.mkdir(parents=True, exist_ok=True)
    creds = directory / "credentials.txt"
    before = parse_credentials(creds.read_text("utf-8")) if creds.exists() else {}
    passwords = choose_passwords(logins, before, rotate=rotate)
    port = LOOPBACK_NODES[0].mqtt
    conf = render_accounts(logins, passwords, topics, revision)
    paths = (
        _write(directory / "accounts.conf", conf, 0o640),
        _write(directory / "credentials.txt", render_credentials(logins, passwords, port), 0o600),
    )
    return Written(
        paths=paths,
        logins=tuple(logins),
        new=tuple(u for u in passwords if rotate or u not in before),
        kept=tuple(u for u in passwords if not rotate and u in before),
        dropped=tuple(u for u in before if u not in passwords),
    )


def password_of(directory: Path, user: str = GATEWAY_USER) -> str:
    """A login's password (the gateway's by default) from ``directory``'s ``credentials.txt``."""
    return parse_credentials((directory / "credentials.txt").read_text("utf-8"))[user]
