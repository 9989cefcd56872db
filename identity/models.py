"""Operational data of the protocol (persisted grants, signing keys) lives here."""
