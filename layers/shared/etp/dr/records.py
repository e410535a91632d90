"""A DR offer's audit record (see etp.audit.trail): the decision on it."""

from etp.audit.trail import DR_RESULT, Record
from etp.clock import to_utc_iso
from etp.dr.rules import DrOffer


def dr_result_record(offer: DrOffer) -> Record:
    """A DR offer's decision: accepted for a window, or not accepted (result false)."""
    return Record(
        DR_RESULT,
        offer.id,
        {
            "executor": offer.executor,
            "day": offer.day.isoformat(),
            "volume_w": offer.volume_w,
            "price_milli": offer.price_milli,
            "result": offer.result,
            "acceptor": offer.acceptor,
            "start": to_utc_iso(offer.start) if offer.start else None,
            "end": to_utc_iso(offer.end) if offer.end else None,
        },
    )
