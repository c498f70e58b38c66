"""Stream the CSV export of the N oldest usage-log rows; print the peak resident memory in KiB.

    python bench/export_memory.py DATABASE_URL N

Run by logs_scale.py in a fresh process per size, so that the peaks can be compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import setup_django


def stream_export(rows: int) -> int:
    """Consume the export response as a client would; returns the bytes written."""
    from django.utils import timezone

    from usagelogs.export import csv_response
    from usagelogs.models import UsageLog

    first = UsageLog.objects.order_by("id").values_list("id", flat=True)[0]
    queryset = UsageLog.objects.filter(id__lt=first + rows).order_by("-id")
    return sum(len(chunk) for chunk in csv_response(queryset, timezone.now()).streaming_content)


def peak_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


if __name__ == "__main__":
    setup_django(sys.argv[1], fresh=False)
    rows = int(sys.argv[2])
    assert stream_export(rows) > rows * 50, "the export wrote less than expected"
    print(peak_kib())
