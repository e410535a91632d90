from etp.accounts import passwords


def test_hash_verifies_only_the_same_password():
    stored = passwords.hash_password("correct horse")
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)
    assert not passwords.verify_password("", stored)


def test_each_hash_has_its_own_salt_and_never_contains_the_password():
    first, second = passwords.hash_password("same password"), passwords.hash_password("same password")
    assert first != second
    assert first.startswith("scrypt$16384$8$1$")
    assert "same password" not in first


def test_malformed_or_foreign_hashes_never_verify():
    for stored in ("", "plaintext", "bcrypt$1$2$3$abc$def", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$!!"):
        assert not passwords.verify_password("anything", stored)


def test_dummy_hash_is_stable_and_matches_nothing_guessable():
    assert passwords.dummy_hash() is passwords.dummy_hash()
    assert not passwords.verify_password("", passwords.dummy_hash())
