"""Meters (AMI): the record, meter tokens and each meter's daily IOTA address. Pure logic."""

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from etp.iota.trytes import ALPHABET
from etp.meters.readings import MAX_ABS_KW

# A meter's rated capacity when none was given (and of meters registered before there was one):
# 1 MW, above the contract capacity of a large commercial building's grid connection (a few hundred
# kW; the demo buildings peak below 30 kW), yet a hundredth of the global 100 MW bound, so a reading
# of 99,999 kW on a building meter is refused. A bigger site is registered with its own rating.
DEFAULT_RATED_KW = 1000.0


@dataclass(frozen=True)
class Meter:
    id: str
    user_id: str
    account: str
    name: str
    description: str
    public_key_pem: str = field(repr=False)
    token_hash: str = field(repr=False)
    created_at: str = ""
    active: bool = True
    rated_kw: float = DEFAULT_RATED_KW  # no reading's power may exceed it, in any field


class MeterStore(Protocol):
    def get(self, meter_id: str) -> Meter | None: ...
    def create(self, meter: Meter) -> None: ...
    def of_user(self, user_id: str) -> list[Meter]: ...
    def all_active(self) -> list[Meter]: ...


def new_token(meter_id: str) -> str:
    """A meter's bearer: `<meter id>.<random>`, shown once; only its SHA-256 is stored."""
    return f"{meter_id}.{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def meter_id_of(token: str) -> str | None:
    meter_id, dot, rest = token.partition(".")
    return meter_id if dot and meter_id and rest else None


def token_matches(meter: Meter, token: str) -> bool:
    return meter.active and hmac.compare_digest(meter.token_hash, token_hash(token))


def daily_address(seed: str, meter_id: str, day: date) -> str:
    """The meter's 81-tryte address for a UTC day: HMAC-SHA256(seed, meter id | date) in counter mode,
    bytes below 243 mapped uniformly onto the 27 trytes. Deterministic, unpredictable without the seed."""
    trytes: list[str] = []
    counter = 0
    key = seed.encode("utf-8")
    while len(trytes) < 81:
        block = hmac.new(key, f"{meter_id}|{day.isoformat()}|{counter}".encode(), hashlib.sha256).digest()
        trytes.extend(ALPHABET[b % 27] for b in block if b < 243)
        counter += 1
    return "".join(trytes[:81])


class InvalidPublicKey(ValueError):
    pass


class InvalidRating(ValueError):
    pass


def rated_capacity(value: float) -> float:
    """A meter's rated capacity (kW): finite, above 0 and within the global MAX_ABS_KW."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRating("the rated capacity is not a number of kW")
    if not 0 < value <= MAX_ABS_KW:
        raise InvalidRating(f"the rated capacity must be above 0 and at most {MAX_ABS_KW:g} kW")
    return float(value)


def register(
    store: MeterStore,
    *,
    user_id: str,
    account: str,
    name: str,
    description: str,
    public_key_pem: str,
    now_iso: str,
    rated_kw: float = DEFAULT_RATED_KW,
) -> tuple[Meter, str]:
    """A new meter of a user, and its token (shown once: only its hash is stored)."""
    import uuid

    from etp.meters import envelope

    try:
        key = envelope.load_public_key(public_key_pem)
    except (ValueError, TypeError, UnicodeError):
        raise InvalidPublicKey("not a PEM public key") from None
    if getattr(key, "key_size", 0) < 2048 or not hasattr(key, "encrypt"):
        raise InvalidPublicKey("an RSA key of at least 2048 bits is required")
    rated_kw = rated_capacity(rated_kw)
    meter_id = str(uuid.uuid4())
    token = new_token(meter_id)
    meter = Meter(
        id=meter_id,
        user_id=user_id,
        account=account,
        name=name,
        description=description,
        public_key_pem=public_key_pem,
        token_hash=token_hash(token),
        created_at=now_iso,
        rated_kw=rated_kw,
    )
    store.create(meter)
    return meter, token
