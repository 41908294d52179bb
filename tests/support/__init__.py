"""Helpers shared by the tests: people talking to the chat service, the fake Bot API, the real bot."""
