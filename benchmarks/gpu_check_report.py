"""CSV pieces of gpu_check.sh: ``environment`` (machine and versions), ``tests JUNIT_XML`` (one row per test)."""

from __future__ import annotations

import csv
import datetime
import platform
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def environment() -> list[tuple[str, str]]:
    """(key, value) rows: GPU, driver, multiprocessors, the versions, the date."""
    import torch

    rows = [("date", datetime.date.today().isoformat()), ("python", platform.python_version())]
    rows.append(("torch", torch.__version__))
    try:
        import triton

        rows.append(("triton", triton.__version__))
    except ImportError:
        rows.append(("triton", "not installed"))
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        rows += [("gpu", props.name), ("multiprocessors", str(props.multi_processor_count))]
        rows += [("gpu_memory_gib", f"{props.total_memory / 2**30:.1f}"), ("cuda", str(torch.version.cuda))]
        smi = shutil.which("nvidia-smi")
        if smi:
            query = [smi, "--query-gpu=driver_version,clocks.max.sm,clocks.max.mem", "--format=csv,noheader"]
            driver = subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
            rows.append(("driver, max SM clock, max memory clock", driver))
    else:
        rows.append(("gpu", f"none: {platform.processor() or platform.machine()} (a rehearsal)"))
    sanitizer = shutil.which("compute-sanitizer")
    if sanitizer:
        version = subprocess.run([sanitizer, "--version"], capture_output=True, text=True, check=False).stdout
        rows.append(("compute-sanitizer", version.strip().splitlines()[-1] if version.strip() else "present"))
    else:
        rows.append(("compute-sanitizer", "not on the PATH"))
    return rows


def tests(junit_xml: str) -> list[tuple[str, str, str, str]]:
    """(test, outcome, seconds, message) rows of a pytest JUnit XML report."""
    rows = []
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "").splitlines()[0][:300] if node.get("message") else ""
                break
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        rows.append((name, outcome, case.get("time", ""), message))
    return rows


def main(argv: list[str]) -> int:
    """Write the CSV asked for to standard output."""
    writer = csv.writer(sys.stdout)
    if argv[:1] == ["environment"]:
        writer.writerow(("key", "value"))
        writer.writerows(environment())
        return 0
    if argv[:1] == ["tests"] and len(argv) == 2:
        rows = tests(argv[1])
        writer.writerow(("test", "outcome", "seconds", "message"))
        writer.writerows(rows)
        return 1 if any(row[1] in ("failed", "error") for row in rows) else 0
    print("usage: gpu_check_report.py environment | tests JUNIT_XML", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
