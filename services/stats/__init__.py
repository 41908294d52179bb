"""stats: sign-ups and donations against the year's plan, for staff and leaders."""
