"""Reminder fault drills (issue #7): see drills.py; run with
`python manage.py fault_drill --settings=benchmarks.settings`."""
