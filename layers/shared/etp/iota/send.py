"""Publishing a message as a one-transaction, zero-value bundle (PyOTA's `send_transfer`, minus inputs)."""

from datetime import UTC, datetime

from etp.iota.addresses import is_address, strip_checksum
from etp.iota.node import NodeClient, NodeProtocolError
from etp.iota.transaction import FRAGMENT_LENGTH, NULL_HASH, InvalidTransaction, Transaction, finalize_bundle
from etp.iota.trytes import TAG_LENGTH, bytes_to_trytes, pad_tag

MAX_MESSAGE_BYTES = FRAGMENT_LENGTH // 2  # two trytes per byte: 1093 bytes fill 2186 of the 2187 trytes


def build_message_transaction(address: str, tag: str, message: bytes, timestamp: int) -> Transaction:
    """The finalized (bundle-hashed) transaction, before attachment: trunk, branch and nonce are 9s."""
    if not is_address(address):
        raise ValueError("address must be 81 trytes, or 90 with a valid checksum")
    if len(message) > MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {len(message)} bytes does not fit one fragment ({MAX_MESSAGE_BYTES} bytes)")
    tag = pad_tag(tag)
    draft = Transaction(
        signature_message_fragment=bytes_to_trytes(message).ljust(FRAGMENT_LENGTH, "9"),
        address=strip_checksum(address),
        value=0,
        obsolete_tag=tag,
        timestamp=timestamp,
        current_index=0,
        last_index=0,
        bundle_hash=NULL_HASH,
        trunk=NULL_HASH,
        branch=NULL_HASH,
        tag=tag,
        attachment_timestamp=0,
        attachment_timestamp_lower=0,
        attachment_timestamp_upper=0,
        nonce="9" * TAG_LENGTH,
    )
    (transaction,) = finalize_bundle([draft])
    return transaction


def send(
    node: NodeClient,
    address: str,
    tag: str,
    message: bytes,
    *,
    depth: int = 3,
    min_weight_magnitude: int = 14,
    now: datetime | None = None,
) -> str:
    """Attach, store and broadcast `message` to `address`; returns the transaction hash.

    `now` (timezone-aware; default: the current time) becomes the transaction timestamp.
    Raises ValueError for what cannot be sent, `IotaNodeError` subclasses for node failures.
    """
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    transaction = build_message_transaction(address, tag, message, int(moment.timestamp()))
    trunk, branch = node.get_transactions_to_approve(depth)
    (attached_trytes,) = node.attach_to_tangle(trunk, branch, min_weight_magnitude, [transaction.as_trytes()])
    try:
        attached = Transaction.from_trytes(attached_trytes)
    except InvalidTransaction as problem:
        raise NodeProtocolError(f"attachToTangle: {problem}") from None

    def content(t: Transaction) -> tuple[str, str, str]:
        return t.signature_message_fragment, t.bundle_essence(), t.bundle_hash

    if content(attached) != content(transaction):
        raise NodeProtocolError("attachToTangle changed the transaction, not only its attachment fields")
    node.store_transactions([attached_trytes])
    node.broadcast_transactions([attached_trytes])
    return attached.hash
