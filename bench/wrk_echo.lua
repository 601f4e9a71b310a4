-- wrk script for the REST baseline: POST the body of a lock acquire to the bare ASGI echo
-- (bench/echo_asgi.py), which parses it and answers it back as JSON.
wrk.method = "POST"
wrk.body = '{"owner":"wrk","ttl":"30s"}'
wrk.headers["Content-Type"] = "application/json"
