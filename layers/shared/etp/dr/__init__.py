"""Demand response: offers, acceptance and the seven-day baseline rate, the DR close job, its store.

rules (pure), service (what BEMS and aggregators do, over a store passed in), store (DynamoDB),
records (the audit record of a decision), jobs (the nightly close and the rates)."""
