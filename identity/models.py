"""Operational data of the protocol: signing keys (persisted grants come with later flows)."""

from __future__ import annotations

from django.db import models


class SigningKey(models.Model):
    """A signing key, its private half encrypted at rest, shared by every server process."""

    kid = models.CharField("key ID", max_length=100, unique=True)
    algorithm = models.CharField(max_length=10)
    # Per algorithm, one more than the newest key's: two processes creating "the next key" at
    # once collide on this constraint and one of them adopts the other's key.
    generation = models.PositiveIntegerField()
    private_key = models.TextField(help_text="PEM, encrypted (Fernet) with a key derived from "
                                             "settings.")
    public_jwk = models.JSONField()
    created = models.DateTimeField()
    activates_at = models.DateTimeField(help_text="Signs from this time on.")
    retires_at = models.DateTimeField(help_text="Stops signing at this time.")
    expires_at = models.DateTimeField(help_text="Leaves the JWKS at this time.")

    class Meta:
        ordering = ["algorithm", "-generation"]
        constraints = [models.UniqueConstraint(fields=["algorithm", "generation"],
                                               name="uniq_signing_key_generation")]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid}"
