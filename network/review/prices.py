"""The estimate's inputs (pure): a size given on the command line, and the dated
price table of `data/prices/` (list prices as of its date, the source of every
figure), each checked with every problem named at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from network.errors import ConfigError, Problem, show
from network.package_data import data_dir

PRICES_DIR = data_dir("prices")
DEFAULT_PRICES = PRICES_DIR / "aws-us-east-1.yaml"

_UNITS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpPeE]?)(i?)([bB])\s*$")
SIZE_RULE = "a size with a unit, such as 500GB, 20TB, 1.5TiB or 20PB (B = bytes)"


# ------------------------------------------------------------------ input
def bad_input(field: str, value: object, rule: str, source: str = "command line") -> ConfigError:
    return ConfigError(source, [Problem(field, show(value), rule)])


def parse_size(text: str, field: str = "--data") -> int:
    """Bytes in a size such as '20PB', '1.5 TiB' or '500GB'. Raises ConfigError.

    Decimal prefixes are powers of 1000 (TB = 10^12 bytes), binary ones powers
    of 1024 (TiB = 2^40 bytes). A lower-case 'b' would mean bits: refused.
    """
    m = SIZE_RE.match(text or "")
    if not m:
        raise bad_input(field, text, SIZE_RULE)
    number, prefix, binary, b = m.groups()
    if b == "b":
        raise bad_input(field, text, "'b' means bits; give the size in bytes (B), e.g. 20PB")
    if binary and not prefix:
        raise bad_input(field, text, SIZE_RULE)
    base = 1024 if binary else 1000
    size = float(number) * base ** _UNITS[prefix.upper()]
    if size < 1:
        raise bad_input(field, text, "the size must be at least one byte")
    return int(size)


@dataclass(frozen=True)
class Prices:
    """A dated price table (see data/prices/)."""

    path: str
    region: str
    currency: str
    date: str
    verified: bool
    hours_per_month: float
    sources: dict[str, str]
    vpn_connection_hour: float
    tgw_attachment_hour: float
    tgw_processing_gb: float
    dto_free_gb: float
    dto_tiers: tuple[tuple[float | None, float], ...]  # (up to GB cumulative, price per GB)
    dx_port_hour: dict[str, float]
    dx_dto_gb: float


def load_prices(path: Path = DEFAULT_PRICES) -> Prices:
    """Read and check a price table. Raises ConfigError naming every bad field."""
    source = str(path)
    if not path.exists():
        raise bad_input("--prices", source, "no such price table", source)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise bad_input("(file)", "unparseable YAML", str(e).splitlines()[0], source) from None
    problems: list[Problem] = []

    def get(obj: Any, dotted: str, kind: type | tuple[type, ...]) -> Any:
        cur = obj
        for part in dotted.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if not isinstance(cur, kind) or (isinstance(cur, bool) and kind is not bool):
            problems.append(Problem(dotted, show(cur), f"required, a {_kind(kind)}"))
            return None
        return cur

    num = (int, float)
    for key in ("region", "currency", "date"):
        get(doc, key, str)
    for key in ("vpn", "transitGateway", "dataTransfer", "directConnect"):
        get(doc, f"sources.{key}", str)
    fields = {
        k: get(doc, f"prices.{k}", num)
        for k in ("vpnConnectionHour", "tgwAttachmentHour", "tgwDataProcessingPerGB")
    }
    free = get(doc, "prices.dataTransferOutInternet.freeGBPerMonth", num)
    tiers_raw = get(doc, "prices.dataTransferOutInternet.tiers", list) or []
    tiers: list[tuple[float | None, float]] = []
    for i, t in enumerate(tiers_raw):
        up, per = (t.get("upToGB"), t.get("perGB")) if isinstance(t, dict) else (None, None)
        if not isinstance(per, num) or (up is not None and not isinstance(up, num)):
            problems.append(
                Problem(
                    f"prices.dataTransferOutInternet.tiers[{i}]",
                    show(t),
                    "a tier is {upToGB: number or null, perGB: number}",
                )
            )
        else:
            tiers.append((up, float(per)))
    if tiers and tiers[-1][0] is not None:
        problems.append(
            Problem(
                "prices.dataTransferOutInternet.tiers",
                "last tier",
                "the last tier has upToGB: null",
            )
        )
    ports = get(doc, "prices.directConnect.portHour", dict) or {}
    dx_dto = get(doc, "prices.directConnect.dataTransferOutPerGB", num)
    hours = get(doc, "hoursPerMonth", num)
    if problems:
        raise ConfigError(source, problems)
    return Prices(
        path=source,
        region=doc["region"],
        currency=doc["currency"],
        date=str(doc["date"]),
        verified=bool(doc.get("verified", False)),
        hours_per_month=float(hours),
        sources=dict(doc["sources"]),
        vpn_connection_hour=float(fields["vpnConnectionHour"]),
        tgw_attachment_hour=float(fields["tgwAttachmentHour"]),
        tgw_processing_gb=float(fields["tgwDataProcessingPerGB"]),
        dto_free_gb=float(free),
        dto_tiers=tuple(tiers),
        dx_port_hour={str(k): float(v) for k, v in ports.items()},
        dx_dto_gb=float(dx_dto),
    )


def _kind(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return "number"
    names: dict[type, str] = {str: "string", list: "list", dict: "mapping"}
    return names.get(kind, kind.__name__)
