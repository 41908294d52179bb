"""Multi-step conversations (registration, eligibility check, …), one module each."""
