"""Local fake provider servers (real HTTP on 127.0.0.1) for tests, fault drills and benchmarks."""
