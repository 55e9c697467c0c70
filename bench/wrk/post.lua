-- POST a form body to the URL wrk was given: BENCH_BODY (the form), BENCH_AUTH (the
-- Authorization header). Used for client_credentials.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
