"""Blacklists: the addresses an app no longer sends to (added by the account, by the recipient, or
automatically after a permanent rejection)."""
