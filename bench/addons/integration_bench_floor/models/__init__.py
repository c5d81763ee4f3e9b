from . import integration_bench_floor_row
