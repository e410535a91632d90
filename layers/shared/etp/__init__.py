"""Shared code of the energy trading platform: domain logic, data access and the HTTP edge."""
