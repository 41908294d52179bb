"""zalo: the Zalo Bot Platform channel (issue 12)."""
