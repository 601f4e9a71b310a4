-- wrk script for plain GETs (the liveness probe): wrk's default request, named for bench_locks.py.
wrk.method = "GET"
