"""Simulated buildings: CSV histories, building configuration, the power and bid simulators."""
