"""Reminders from the database, never one timer per donor: the "you can give again" sweep over
`Donor.remind_on` (sweep.py), the drive reminders over confirmed sign-ups (drive_reminders.py),
what the donor says about them (settings.py, buttons.py), and the rows the /eligibility button
queued before the sweep (eligible_again.py). scheduler/jobs.py runs the passes every minute."""
