"""Mosquitto's password file and ACL for a site (``isogate broker-config``, SPEC §3 and §5).

Who logs in to the broker, and what each login may do:

- every staff member, as their staff id: they publish only on their own ack topic
  (``pattern write <base>/ack/%u/+``) and read only their own alerts and handovers
  (``pattern read <base>/alerts/to/%u``, ``<base>/handover/to/%u``). So a phone can acknowledge
  only as its owner, and the gateway, which takes the person from the topic, knows who acked.
- the gateway, as ``gateway``: it reads every device topic and the acks, and writes alerts and
  handovers. It is the only login that reads ``<base>/alerts`` (every alert): it reads back its
  own alerts and handovers, so that a restart does not send again what the broker accepted
  (its echo session, client id ``<client id>-echo``, with a sentinel on ``<base>/gateway/#``).
- each native device, as its device id: only its own ``<base>/dev/<id>/event`` and ``/status``
  (the status is its retained last will, which the broker checks against the ACL too).
- each MQTT camera, as its device id: only its own ``<base>/cam/<id>/frame``.
- the bridges the site's devices imply, one login each, on their own base topic only:
  ``zigbee2mqtt`` (zigbee2mqtt door sensors), ``openmqttgateway`` (BLE thermometers through
  OpenMQTTGateway or Theengs; every such gateway of the site shares it), ``frigate`` (Frigate
  cameras). A bridge reads and writes its base (they also listen for their own commands).

RFLink receivers and cameras read from a ``source:`` URL reach the gateway without the broker
and get no login. A pattern applies to every login (Mosquitto's rule), so a device could
publish on ``<base>/ack/<its id>/...``; the gateway refuses that as an ack from someone the
alert was never sent to.

Passwords are random (144 bits), kept in ``credentials.txt`` (mode 0600) for the operator to
hand out, and stay the same on a re-run unless rotated; the password file holds only their
PBKDF2-SHA512 hashes in the format of ``mosquitto_passwd`` (``$7$<iterations>$<salt>$<hash>``,
a 12-byte salt and the 64-byte digest, both base64).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.events import Protocol
from rules.site import Site

GATEWAY_USER = "gateway"
ITERATIONS = 101
"""PBKDF2 rounds, as ``mosquitto_passwd`` writes by default: the passwords are random, so more
stretching would not make them harder to guess, only each login slower."""
SALT_BYTES = 12
BRIDGES = {
    Protocol.ZIGBEE2MQTT: "zigbee2mqtt",
    Protocol.BLE: "openmqttgateway",
    Protocol.FRIGATE: "frigate",
}
FILES = ("passwd", "acl", "mosquitto.conf", "credentials.txt")


class BrokerConfigError(Exception):
    """The site cannot be given broker logins as it is; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Topics:
    """The base topics the gateway is configured with (its settings of the same names)."""

    base: str = "isogate"
    z2m: str = "zigbee2mqtt"
    omg: str = "home"
    frigate: str = "frigate"


@dataclass(frozen=True, slots=True)
class Account:
    """One broker login: its user name, who it is for, and its own ACL lines."""

    user: str
    who: str
    acl: tuple[str, ...] = ()


def accounts(site: Site, topics: Topics) -> list[Account]:
    """Every login the site needs: the gateway, the staff, the bridges, the devices.

    Raises:
        BrokerConfigError: two logins would have one name (a device id that is a staff id), or
            a name Mosquitto's password file cannot hold (a ``:``).
    """
    t = topics
    out = [
        Account(
            GATEWAY_USER,
            "the gateway",
            (
                f"topic read {t.base}/dev/#",
                f"topic read {t.base}/cam/#",
                f"topic read {t.base}/ack/#",
                # Read too: the gateway's echo session reads back what the broker accepted
                # of its own alerts and handovers, and its sentinel (gateway/notify/echo.py).
                f"topic readwrite {t.base}/alerts/#",
                f"topic readwrite {t.base}/handover/#",
                f"topic readwrite {t.base}/gateway/#",
                f"topic read {t.z2m}/#",
                f"topic read {t.omg}/#",
                f"topic read {t.frigate}/#",
            ),
        )
    ]
    out += [Account(s.id, f"{s.role.value} {s.name}") for s in site.staff]
    devices = [(h.id, d) for h in site.households for d in h.devices]
    bridge_base = {Protocol.ZIGBEE2MQTT: t.z2m, Protocol.BLE: t.omg, Protocol.FRIGATE: t.frigate}
    for protocol, user in BRIDGES.items():
        if any(d.protocol is protocol for _, d in devices):
            base = bridge_base[protocol]
            out.append(Account(user, f"the {user} bridge", (f"topic readwrite {base}/#",)))
    for household, d in devices:
        if d.protocol is Protocol.NATIVE:
            lines = tuple(f"topic write {t.base}/dev/{d.id}/{sub}" for sub in ("event", "status"))
        elif d.protocol is Protocol.MQTT:
            lines = (f"topic write {t.base}/cam/{d.id}/frame",)
        else:
            continue
        out.append(Account(d.id, f"{d.kind.value} {d.id} of {household}", lines))
    _check_names(out)
    return out


def _check_names(logins: list[Account]) -> None:
    problems = []
    seen: dict[str, Account] = {}
    for a in logins:
        if ":" in a.user:
            problems.append(f"{a.user!r} ({a.who}): a broker user name cannot hold ':'")
        if a.user in seen:
            problems.append(f"{a.user!r} would be the login of both {seen[a.user].who} and {a.who}")
        seen.setdefault(a.user, a)
    if problems:
        raise BrokerConfigError(problems)


def render_acl(logins: Iterable[Account], topics: Topics, revision: int | None = None) -> str:
    """The ACL file: the staff patterns, then each login's own topics."""
    b = topics.base
    source = f" (site revision {revision})" if revision is not None else ""
    lines = [
        f"# Written by `isogate broker-config` from the site{source}; run it again after the",
        "# site changes, then have mosquitto reload (SIGHUP) or restart.",
        "",
        "# Every login (staff in practice): acknowledge only as yourself, read only your own.",
        f"pattern write {b}/ack/%u/+",
        f"pattern read {b}/alerts/to/%u",
        f"pattern read {b}/handover/to/%u",
    ]
    for a in logins:
        if a.acl:
            lines += ["", f"# {a.who}", f"user {a.user}", *a.acl]
    return "\n".join(lines) + "\n"


def password_hash(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """``$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-SHA512, as ``mosquitto_passwd`` writes."""
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    salt64, hash64 = (base64.b64encode(x).decode("ascii") for x in (salt, digest))
    return f"$7${iterations}${salt64}${hash64}"


def render_passwd(
    passwords: Mapping[str, str], salt: Callable[[], bytes] = lambda: os.urandom(SALT_BYTES)
) -> str:
    """The password file: one ``user:hash`` line per login, each with a salt of its own."""
    return "".join(f"{user}:{password_hash(pw, salt())}\n" for user, pw in passwords.items())


def choose_passwords(
    logins: Iterable[Account],
    kept: Mapping[str, str],
    *,
    rotate: bool = False,
    new: Callable[[], str] = lambda: secrets.token_urlsafe(18),
) -> dict[str, str]:
    """A password per login: the one it had (from ``kept``) unless ``rotate``, else a new one."""
    return {a.user: new() if rotate or a.user not in kept else kept[a.user] for a in logins}


def parse_credentials(text: str) -> dict[str, str]:
    """The passwords of an earlier ``credentials.txt`` (``user<TAB>password<TAB>who`` lines)."""
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            user, _, rest = line.partition("\t")
            password = rest.partition("\t")[0]
            if user and password:
                out[user] = password
    return out


def render_credentials(logins: Iterable[Account], passwords: Mapping[str, str], port: int) -> str:
    """``credentials.txt``: each login's password, for the operator to hand to its owner."""
    lines = [
        "# isogate broker logins, written by `isogate broker-config`. Keep this file private:",
        "# give each person or device only its own line. A re-run keeps these passwords unless",
        "# it is given --rotate.",
        f"# The gateway: ISOGATE_MQTT_URL={gateway_url(port, passwords[GATEWAY_USER])}",
        "# user\tpassword\tfor",
    ]
    lines += [f"{a.user}\t{passwords[a.user]}\t{a.who}" for a in logins]
    return "\n".join(lines) + "\n"


def render_conf(directory: Path, port: int = 1883) -> str:
    """The broker configuration lines that turn the files on (to add to mosquitto.conf)."""
    d = directory.resolve()
    return (
        "# Written by `isogate broker-config`: logins and ACL for isogate. Add to the broker's\n"
        "# configuration beside the recommended settings (config/mosquitto.conf).\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous false\n"
        f"password_file {d / 'passwd'}\n"
        f"acl_file {d / 'acl'}\n"
    )


def gateway_url(port: int = 1883, password: str = "<pw>") -> str:
    """The gateway's ``ISOGATE_MQTT_URL`` with its login (the passwords are URL-safe)."""
    return f"mqtt://{GATEWAY_USER}:{password}@127.0.0.1:{port}"


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write_broker_files` did."""

    paths: tuple[Path, ...]
    logins: tuple[Account, ...]
    new: tuple[str, ...]
    kept: tuple[str, ...]
    dropped: tuple[str, ...]


def write_broker_files(
    directory: Path,
    site: Site,
    topics: Topics,
    *,
    port: int = 1883,
    rotate: bool = False,
    revision: int | None = None,
) -> Written:
    """Write ``passwd``, ``acl``, ``mosquitto.conf`` and ``credentials.txt`` into ``directory``.

    Raises:
        BrokerConfigError: as :func:`accounts`; nothing is written then.
    """
    logins = accounts(site, topics)
    directory.mkdir(parents=True, exist_ok=True)
    creds = directory / "credentials.txt"
    before = parse_credentials(creds.read_text("utf-8")) if creds.exists() else {}
    passwords = choose_passwords(logins, before, rotate=rotate)
    texts = {
        # The broker reads the password file and ACL (give them its group); only the operator
        # reads the passwords themselves.
        "passwd": (render_passwd(passwords), 0o640),
        "acl": (render_acl(logins, topics, revision), 0o644),
        "mosquitto.conf": (render_conf(directory, port), 0o644),
        "credentials.txt": (render_credentials(logins, passwords, port), 0o600),
    }
    paths = []
    for name, (text, mode) in texts.items():
        paths.append(_write(directory / name, text, mode))
    return Written(
        paths=tuple(paths),
        logins=tuple(logins),
        new=tuple(u for u in passwords if rotate or u not in before),
        kept=tuple(u for u in passwords if not rotate and u in before),
        dropped=tuple(u for u in before if u not in passwords),
    )


def _write(path: Path, text: str, mode: int) -> Path:
    """Replace ``path`` whole, never readable beyond ``mode`` even for a moment."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)  # the umask may have taken bits away; set exactly these
    os.replace(tmp, path)
    return path
