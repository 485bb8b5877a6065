"""The peer comparison run by ``bench/compare.py``.

- ``workloads``: what each server is asked, in each server's wire format;
- ``environments``: the peers' pinned virtual environments, built with uv;
- ``contenders``: the servers, how each starts, and its settings per workload;
- ``runs``: measured runs, with the server tree's CPU and memory;
- ``reports``: the markdown report.
"""
