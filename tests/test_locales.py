"""Russian is the first language: every message in the code has a Russian translation."""

from locales.tools.catalogs import missing


def test_every_message_is_translated_to_russian():
    assert missing() == []
