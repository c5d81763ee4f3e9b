"""py-spy on Odoo processes from outside, summarised per function."""

import contextlib
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from env import RESULTS


class Profiler:
    """``py-spy record`` on some processes, collapsed stacks, while in the block."""

    def __init__(self, pids, name, rate=200):
        self.pids, self.name, self.rate = pids, name, rate
        self.procs, self.files = [], []

    def __enter__(self):
        pyspy = Path(sys.executable).parent / "py-spy"
        for pid in self.pids:
            out = RESULTS / f"profile-{self.name}-{pid}.txt"
            self.files.append(out)
            self.procs.append(
                subprocess.Popen(
                    [
                        str(pyspy),
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--rate",
                        str(self.rate),
                        "--output",
                        str(out),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def top(self, n=25, match=None):
        """Inclusive and self share of the samples per function, busiest first."""
        inclusive, leaf, total = {}, {}, 0
        for path in self.files:
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                stack, _sep, count = line.rpartition(" ")
                if not count.isdigit():
                    continue
                count = int(count)
                frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
                if any(
                    "select (selectors.py" in f or "accept (socket.py" in f or "sleep" in f.split(" ")[0]
                    for f in frames[-2:]
                ):
                    continue  # idle worker
                total += count
                for frame in set(frames):
                    inclusive[frame] = inclusive.get(frame, 0) + count
                leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
        rows = sorted(inclusive.items(), key=lambda kv: -kv[1])
        if match:
            rows = [(f, c) for f, c in rows if re.search(match, f)]
        return {
            "busy_samples": total,
            "inclusive": [(f, round(100 * c / total, 1)) for f, c in rows[:n]] if total else [],
            "self": [(f, round(100 * c / total, 1)) for f, c in sorted(leaf.items(), key=lambda kv: -kv[1])[:n]]
            if total
            else [],
        }
