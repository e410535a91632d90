"""The audit trail: records published as zero-value IOTA transactions through an outbox."""
