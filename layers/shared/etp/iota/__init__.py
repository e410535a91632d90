"""The project's own client of the legacy IOTA protocol (PyOTA does not install on Python >= 3.10).

trytes: alphabet, trits, balanced ternary, the two-trytes-per-byte codec; curl: Curl-P-81;
kerl: Kerl (Keccak-384); transaction: the 2673-tryte layout and bundle hashes; node: the IRI
HTTP API client; send: one zero-value transaction carrying a message.
"""
