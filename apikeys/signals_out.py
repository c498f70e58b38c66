"""Signals the keys app sends for other apps to act on; it never imports those apps.

A receiver runs inside the request that crossed the threshold: it should only enqueue its work.
"""

from __future__ import annotations

from django.dispatch import Signal

# A key's monthly quota reached 80 % or 100 % (SPEC §18). Sent once per key, threshold and month,
# whichever server counted the request that crossed it. Arguments: ``key_id``, ``workspace_id``,
# ``key_name``, ``key_prefix``, ``percent`` (80 or 100), ``used``, ``quota`` and ``month``
# (``"YYYY-MM"``, UTC). ``sender`` is the ApiKey model.
quota_threshold_reached = Signal()
