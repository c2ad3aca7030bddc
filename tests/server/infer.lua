-- wrk: POST one fine_foods review to the served model "foods" (tests/server/test_load.sh).
wrk.method = "POST"
wrk.path = "/v2/models/foods/infer"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["I bought these for my office and they were gone in a day. Crunchy, not too sweet, and the bag reseals well."]}]}'
