"""The load benchmark (``benchmarks/load_bench.py``): cluster, clients and scenarios."""
