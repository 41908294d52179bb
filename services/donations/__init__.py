"""donations: what donors gave (checked in at a drive or reported), honoring, the donor card."""
