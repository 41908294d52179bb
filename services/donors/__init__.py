"""donors."""
