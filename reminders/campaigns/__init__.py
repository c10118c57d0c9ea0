"""Campaigns: a one-off message to a saved audience, carried by a hidden rule of kind `campaign`.

audience.py validates and resolves the audience, services.py writes (lifecycle, approval, launch),
selectors.py reads, views/forms/apis/serializers are the dashboard and REST sides. See services.py for
the lifecycle and the never-twice guarantee.
"""
