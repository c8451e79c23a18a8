"""Fault injection rules: parsed from a spec string or JSON, matched per request, seeded for repeatability.

Spec syntax (rules separated by ``;``, tokens by spaces)::

    KIND [method=GET] [path=/api/v1/computations/*] [times=N] [p=0.25] [retry_after=1] [html]

KIND is an HTTP status (``429``, ``500``, ``502``, ``503``, ``504``; ``502-html`` for a proxy's HTML
page), ``reset``, ``hang`` or ``hang:SECONDS``, ``latency:SECONDS``, or ``ambiguous`` /
``ambiguous:502`` / ``ambiguous:reset`` (the request is carried out, then the answer is lost).
In ``path``, ``*`` matches within one segment and ``**`` across segments.
"""

from __future__ import annotations

import random
import re
import shlex
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("status", "reset", "hang", "latency", "ambiguous")
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class FaultSpecError(ValueError):
    pass


def _path_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    regex = "".join(".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts)
    return re.compile(f"^{regex}/?$")


@dataclass
class FaultRule:
    kind: str
    status: int = 503
    html: bool = False
    method: str | None = None
    path: str | None = None
    times: int | None = None
    probability: float | None = None
    retry_after: float | None = None
    delay: float = 0.0
    then: str = "status"
    hold_for: float | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind '{self.kind}'; use one of {', '.join(KINDS)}")
        if not 400 <= self.status <= 599:
            raise FaultSpecError("fault status must be between 400 and 599")
        if self.times is not None and self.times < 0:
            raise FaultSpecError("times must be >= 0")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise FaultSpecError("p must be between 0 and 1")
        if self.delay < 0 or (self.hold_for is not None and self.hold_for < 0):
            raise FaultSpecError("delays must be >= 0")
        if self.then not in ("status", "reset"):
            raise FaultSpecError("ambiguous faults end with a status or 'reset'")
        self.method = self.method.upper() if self.method else None
        self._regex = _path_regex(self.path) if self.path else None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self._regex is None:
            return not path.startswith("/_emulator/")
        return self._regex.match(path) is not None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def _number(value: str, key: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise FaultSpecError(f"{key} must be a number, got '{value}'") from None


def _parse_kind(token: str) -> dict[str, Any]:
    name, _, arg = token.partition(":")
    name = name.lower()
    if name.isdigit():
        return {"kind": "status", "status": int(name)}
    if name == "502-html":
        return {"kind": "status", "status": 502, "html": True}
    if name == "reset":
        return {"kind": "reset"}
    if name == "hang":
        return {"kind": "hang", "hold_for": _number(arg, "hang") if arg else None}
    if name == "latency":
        if not arg:
            raise FaultSpecError("latency needs seconds, e.g. latency:0.5")
        return {"kind": "latency", "delay": _number(arg, "latency")}
    if name == "ambiguous":
        if arg in ("", "502"):
            return {"kind": "ambiguous", "status": 502}
        if arg == "reset":
            return {"kind": "ambiguous", "then": "reset"}
        if arg.isdigit():
            return {"kind": "ambiguous", "status": int(arg)}
        if arg == "502-html":
            return {"kind": "ambiguous", "status": 502, "html": True}
        raise FaultSpecError(f"unknown ambiguous ending '{arg}'")
    raise FaultSpecError(f"unknown fault '{token}'")


def parse_rule(text: str) -> FaultRule:
    tokens = shlex.split(text)
    if not tokens:
        raise FaultSpecError("empty fault rule")
    fields = _parse_kind(tokens[0])
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        key = key.lower()
        if not sep:
            if key == "html":
                fields["html"] = True
                continue
            raise FaultSpecError(f"expected key=value, got '{token}'")
        if key == "method":
            fields["method"] = value
        elif key == "path":
            fields["path"] = value
        elif key == "times":
            if not value.isdigit():
                raise FaultSpecError("times must be a whole number")
            fields["times"] = int(value)
        elif key in ("p", "probability"):
            fields["probability"] = _number(value, "p")
        elif key == "retry_after":
            fields["retry_after"] = None if value.lower() == "none" else _number(value, key)
            fields["_retry_after_set"] = True
        elif key == "delay":
            fields["delay"] = _number(value, key)
        elif key == "for":
            fields["hold_for"] = _number(value, key)
        else:
            raise FaultSpecError(f"unknown fault option '{key}'")
    explicit_retry_after = fields.pop("_retry_after_set", False)
    if fields.get("status") == 429 and fields["kind"] == "status" and not explicit_retry_after:
        fields["retry_after"] = 1.0
    return FaultRule(**fields)


def parse_spec(spec: str) -> list[FaultRule]:
    return [parse_rule(part) for part in spec.split(";") if part.strip()]


def rule_from_json(value: Any) -> FaultRule:
    if isinstance(value, str):
        return parse_rule(value)
    if not isinstance(value, dict):
        raise FaultSpecError("a fault is a spec string or an object")
    allowed = {f for f in FaultRule.__dataclass_fields__ if f != "hits"} | {"p"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise FaultSpecError(f"unknown fault field(s): {', '.join(unknown)}")
    fields = dict(value)
    if "p" in fields:
        fields["probability"] = fields.pop("p")
    if "kind" not in fields:
        raise FaultSpecError("a fault object needs 'kind'")
    try:
        rule = FaultRule(**fields)
    except TypeError as exc:
        raise FaultSpecError(str(exc)) from None
    if rule.kind == "status" and rule.status == 429 and "retry_after" not in value:
        rule.retry_after = 1.0
    return rule


@dataclass
class Decision:
    delay: float = 0.0
    rule: FaultRule | None = None


class FaultInjector:
    def __init__(self, seed: int | None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: list[tuple[FaultRule, random.Random]] = []
        self._added = 0

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            # One generator per rule: its decisions depend only on the requests it sees, so adding
            # an unrelated rule or request elsewhere never changes them.
            rng = random.Random(f"{self._seed}:{self._added}")
            self._added += 1
            self._rules.append((rule, rng))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [rule for rule, _ in self._rules]

    def decide(self, method: str, path: str) -> Decision:
        decision = Decision()
        if not self._rules:
            return decision
        with self._lock:
            for rule, rng in self._rules:
                if rule.times == 0 or not rule.matches(method, path):
                    continue
                if rule.probability is not None and rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                if rule.kind == "latency":
                    decision.delay += rule.delay
                    continue
                decision.rule = rule
                break
        return decision
