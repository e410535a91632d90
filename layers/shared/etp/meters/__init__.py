"""Meters: the registry and daily addresses, reading payloads, the RSA envelope, the tracker, power views, stores."""
