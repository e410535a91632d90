"""Demand response: offers, acceptance and the seven-day baseline rate, the DR close job, its store."""
