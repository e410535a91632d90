"""DynamoDB storage of demand-response offers (PynamoDB). Imported on first use.

Table `DR_TABLE`, hash key `id` (the offer's uuid), with GSIs `by-user` (`user_id`, `day_key`) for
a BEMS's own offers of a range of days and `by-month` (`month`, `day_key`) for everyone's, where
`day_key` = `<target day>#<id>`: any range of days is one Query per calendar month it touches.
A decision (acceptance, or no acceptance once the day passed) changes each offer only if it is
still as read (status and version), in one transaction with its audit-trail record, so a
decision and its record exist together or not at all.
"""

from collections.abc import Iterator
from datetime import date, datetime

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from etp.clock import from_utc_iso, to_utc_iso
from etp.dr.rules import ACCEPTED, RATED, DrConflict, DrOffer
from etp.dynamo import TableModel, conditional, table_meta


class _ByUser(GlobalSecondaryIndex["DrModel"]):
    class Meta:
        index_name = "by-user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    day_key = UnicodeAttribute(range_key=True)


class _ByMonth(GlobalSecondaryIndex["DrModel"]):
    class Meta:
        index_name = "by-month"
        projection = AllProjection()

    month = UnicodeAttribute(hash_key=True)
    day_key = UnicodeAttribute(range_key=True)


class DrModel(TableModel):
    Meta = table_meta("dr_table")

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    executor = UnicodeAttribute()
    day = UnicodeAttribute()
    month = UnicodeAttribute()
    day_key = UnicodeAttribute()
    volume_w = NumberAttribute()
    price_milli = NumberAttribute()
    offered_at = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    result = BooleanAttribute(null=True)
    acceptor_id = UnicodeAttribute(null=True)
    acceptor = UnicodeAttribute(null=True)
    start = UnicodeAttribute(null=True)
    end = UnicodeAttribute(null=True)
    rate = NumberAttribute(null=True)
    tx_hash = UnicodeAttribute(null=True)

    by_user = _ByUser()
    by_month = _ByMonth()


def _to_offer(item: DrModel) -> DrOffer:
    return DrOffer(
        id=item.id,
        user_id=item.user_id,
        executor=item.executor,
        day=date.fromisoformat(item.day),
        volume_w=int(item.volume_w),
        price_milli=int(item.price_milli),
        offered_at=from_utc_iso(item.offered_at),
        status=item.status,
        version=int(item.version),
        result=item.result,
        acceptor_id=item.acceptor_id,
        acceptor=item.acceptor,
        start=from_utc_iso(item.start) if item.start else None,
        end=from_utc_iso(item.end) if item.end else None,
        rate=None if item.rate is None else float(item.rate),
        tx_hash=item.tx_hash,
    )


def _months(first: date, last: date) -> Iterator[str]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _day_range(first: date, last: date):
    return DrModel.day_key.between(first.isoformat(), f"{last.isoformat()}#~")


class DynamoDrStore:
    def create(self, offer: DrOffer) -> None:
        day = offer.day.isoformat()
        DrModel(
            id=offer.id,
            user_id=offer.user_id,
            executor=offer.executor,
            day=day,
            month=day[:7],
            day_key=f"{day}#{offer.id}",
            volume_w=offer.volume_w,
            price_milli=offer.price_milli,
            offered_at=to_utc_iso(offer.offered_at),
            status=offer.status,
            version=offer.version,
        ).save(condition=DrModel.id.does_not_exist())

    def get_many(self, ids: list[str]) -> dict[str, DrOffer]:
        return {item.id: _to_offer(item) for item in DrModel.batch_get(set(ids), consistent_read=True)}

    def of_user(self, user_id: str, first: date, last: date) -> list[DrOffer]:
        return [_to_offer(i) for i in DrModel.by_user.query(user_id, range_key_condition=_day_range(first, last))]

    def of_days(self, first: date, last: date) -> list[DrOffer]:
        return [
            _to_offer(i)
            for month in _months(first, last)
            for i in DrModel.by_month.query(month, range_key_condition=_day_range(first, last))
        ]

    def decide(self, changes: list[tuple[DrOffer, DrOffer]], now: datetime) -> None:
        """Write each (as read, decided) offer, only if still as read, with its audit record; all or nothing."""
        from etp.audit.store import add_to_outbox
        from etp.dr.records import dr_result_record

        try:
            with TransactWrite(connection=DrModel._get_connection().connection) as transaction:
                for old, new in changes:
                    actions: list[Action] = [
                        DrModel.status.set(new.status),
                        DrModel.version.set(old.version + 1),
                        DrModel.result.set(bool(new.result)),
                    ]
                    if new.acceptor_id and new.acceptor and new.start and new.end:  # accepted: by whom, when
                        actions += [
                            DrModel.acceptor_id.set(new.acceptor_id),
                            DrModel.acceptor.set(new.acceptor),
                            DrModel.start.set(to_utc_iso(new.start)),
                            DrModel.end.set(to_utc_iso(new.end)),
                        ]
                    transaction.update(
                        DrModel(old.id),
                        actions=actions,
                        condition=(DrModel.status == old.status) & (DrModel.version == old.version),
                    )
                    add_to_outbox(transaction, dr_result_record(new), now)
        except TransactWriteError as error:
            raise DrConflict(f"{error.cause_response_code}: {error.cause}") from None

    def set_rate(self, offer: DrOffer, rate: float) -> bool:
        """Record an accepted offer's achieved rate once (已得標 -> 已結算)."""
        return conditional(
            lambda: DrModel(offer.id).update(
                actions=[DrModel.rate.set(rate), DrModel.status.set(RATED), DrModel.version.add(1)],
                condition=DrModel.status == ACCEPTED,
            )
        )

    def set_tx_hash(self, offer_id: str, tx_hash: str) -> None:
        DrModel(offer_id).update(actions=[DrModel.tx_hash.set(tx_hash)], condition=DrModel.id.exists())
