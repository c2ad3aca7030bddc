"""`offramp serve` through the real Triton HTTP client and raw HTTP: the library's answers,
every endpoint of the Open Inference Protocol, both data paths (JSON and binary), an error
for each bad request, answers in exit order, metrics, and the drain on SIGTERM.

Usage: python test_server.py OFFRAMP_BINARY MODEL_DIR TEXTS_TSV [TEST_CLASS]
"""
import http.client
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import unittest

import grpc
import numpy as np
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

OFFRAMP, MODEL_DIR, TEXTS_TSV = sys.argv[1:4]
MODEL = "foods"


def start_server(*flags):
    """Starts `offramp serve` on a free port; returns (process, port)."""
    proc = subprocess.Popen(
        [OFFRAMP, "serve", f"{MODEL}={MODEL_DIR}", "--host", "127.0.0.1", "--http-port", "0", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = []
    for line in proc.stderr:
        log.append(line)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m and "--grpc-port" in flags:
            grpc_line = proc.stderr.readline()
            log.append(grpc_line)
            g = re.search(r"gRPC on 127\.0\.0\.1:(\d+)", grpc_line)
            if not g:
                proc.kill()
                raise RuntimeError("the gRPC front did not start:\n" + "".join(log))
            proc.grpc_port = int(g.group(1))
        if m:
            # Keep draining stderr so the server never blocks on a full pipe.
            proc.reader = threading.Thread(target=lambda: [log.append(l) for l in proc.stderr], daemon=True)
            proc.reader.start()
            proc.log = log
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("the server did not start:\n" + "".join(log))


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=60)
    proc.reader.join()
    proc.stderr.close()
    return rc


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data, resp


def infer_json(texts, **parameters):
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body)


def read_texts(n):
    texts = []
    with open(TEXTS_TSV, encoding="utf-8") as f:
        for line in f:
            texts.append(line.rstrip("\n").split("\t", 1)[1])
            if len(texts) == n:
                break
    return texts


def library_results(texts, *flags):
    """What the library answers for the same texts (`offramp classify`, JSON Lines: label,
    confidence, exit_layer, flops). Fed as TSV lines under one of the model's labels, so no
    text is read as a label."""
    lines = "".join(f"other\t{t}\n" for t in texts)
    out = subprocess.run([OFFRAMP, "classify", MODEL_DIR, *flags], input=lines,
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


class Server(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.texts = read_texts(40)
        cls.want = library_results(cls.texts)
        cls.proc, cls.port = start_server("--max-request-bytes", "65536")
        cls.url = f"127.0.0.1:{cls.port}"
        cls.labels = json.loads(request(cls.port, "GET", f"/v2/models/{MODEL}")[1])["parameters"]["labels"]

    @classmethod
    def tearDownClass(cls):
        assert stop_server(cls.proc) == 0, "".join(cls.proc.log)

    def assert_library(self, labels, probs, layers, flops, want):
        """Label, exit layer and FLOPs exactly the library's; the probabilities' largest is its
        confidence (max_prob policy), at the label's index."""
        self.assertEqual(len(labels), len(want))
        for i, w in enumerate(want):
            self.assertEqual(labels[i], w["label"], i)
            self.assertEqual(int(layers[i]), w["exit_layer"], i)
            self.assertEqual(float(flops[i]), w["flops"], i)
            self.assertEqual(self.labels[int(np.argmax(probs[i]))], w["label"], i)
            self.assertAlmostEqual(float(np.max(probs[i])), w["confidence"], delta=1e-5)

    def client(self):
        return triton.InferenceServerClient(self.url)

    def test_triton_client_gets_the_librarys_answers(self):
        c = self.client()
        self.assertTrue(c.is_server_live())
        self.assertTrue(c.is_server_ready())
        self.assertTrue(c.is_model_ready(MODEL))
        self.assertTrue(c.is_model_ready(MODEL, "1"))
        meta = c.get_model_metadata(MODEL)
        self.assertEqual([o["name"] for o in meta["outputs"]], ["label", "probabilities", "exit_layer", "flops"])
        self.assertEqual(meta["inputs"][0]["datatype"], "BYTES")
        self.assertIn("binary_tensor_data", c.get_server_metadata()["extensions"])
        # Binary data both ways (tritonclient's default), then JSON both ways, with [n, 1] too.
        for binary, shape in ((True, [len(self.texts)]), (False, [len(self.texts), 1])):
            inp = triton.InferInput("text", shape, "BYTES")
            inp.set_data_from_numpy(np.array(self.texts, dtype=object).reshape(shape), binary_data=binary)
            outs = [triton.InferRequestedOutput(n, binary_data=binary) for n in ("label", "probabilities", "exit_layer", "flops")]
            r = c.infer(MODEL, [inp], outputs=outs)
            labels = [x.decode() if isinstance(x, bytes) else x for x in r.as_numpy("label")]
            self.assert_library(labels, r.as_numpy("probabilities"), r.as_numpy("exit_layer"), r.as_numpy("flops"), self.want)
        # No outputs named: all of them, binary (the client asks binary_data_output); version path.
        inp = triton.InferInput("text", [2], "BYTES")
        inp.set_data_from_numpy(np.array(self.texts[:2], dtype=object))
        r = c.infer(MODEL, [inp], model_version="1", request_id="req-7")
        self.assertEqual(r.get_response()["id"], "req-7")
        self.assertEqual([x.decode() for x in r.as_numpy("label")], [w["label"] for w in self.want[:2]])

    def test_request_parameters_set_the_exit(self):
        full = library_results(self.texts[:8], "--full-depth")
        c = self.client()
        inp = triton.InferInput("text", [8], "BYTES")
        inp.set_data_from_numpy(np.array(self.texts[:8], dtype=object))
        r = c.infer(MODEL, [inp], parameters={"full_depth": True})
        self.assertEqual(list(r.as_numpy("exit_layer")), [w["exit_layer"] for w in full])
        r = c.infer(MODEL, [inp], parameters={"threshold": 0.0})
        self.assertEqual(list(r.as_numpy("exit_layer")), [1] * 8)

    def test_every_bad_request_has_its_status_and_says_why(self):
        p = f"/v2/models/{MODEL}/infer"
        cases = [
            ("POST", p, "{not json", {}, 400, "not valid JSON"),
            ("POST", p, json.dumps({"inputs": [{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]}]}), {}, 400, "datatype BYTES"),
            ("POST", p, json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [3], "data": ["a", "b"]}]}), {}, 400, "shape says 3"),
            ("POST", p, json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1, 2], "data": ["a", "b"]}]}), {}, 400, "[n, 1]"),
            ("POST", p, infer_json(["fine", "   "]), {}, 400, "text 1 is empty"),
            ("POST", p, json.dumps({"inputs": [{"name": "txt", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}), {}, 400, "unknown input 'txt'"),
            ("POST", p, json.dumps({"inputs": []}), {}, 400, "one input"),
            ("POST", p, json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}], "outputs": [{"name": "logits"}]}), {}, 400, "unknown output 'logits'"),
            ("POST", p, infer_json(["a"], threshold="high"), {}, 400, "'threshold' must be a number"),
            ("POST", p, infer_json(["a"], policy="median"), {}, 400, "unknown exit policy"),
            ("POST", p, infer_json(["a"], threshold=-1), {}, 400, "threshold must be >= 0"),
            ("POST", p, infer_json(["a"], policy="static", exit_layer=9), {}, 400, "exit_layer"),
            ("POST", "/v2/models/nope/infer", infer_json(["a"]), {}, 404, "unknown model 'nope'"),
            ("POST", f"/v2/models/{MODEL}/versions/2/infer", infer_json(["a"]), {}, 404, "no version '2'"),
            ("GET", "/v2/models/nope", None, {}, 404, "unknown model"),
            ("GET", "/v2/nothing", None, {}, 404, "no such endpoint"),
            ("POST", p, infer_json(["x" * 70000]), {}, 413, "larger than the server's limit"),
        ]
        # Binary: an element's length runs past the data; a header length past the body.
        header = json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}]})
        cases.append(("POST", p, header.encode() + struct.pack("<I", 100) + b"ab", {"Inference-Header-Content-Length": str(len(header))}, 400, "says 100 bytes"))
        cases.append(("POST", p, header.encode(), {"Inference-Header-Content-Length": str(len(header) + 50)}, 400, "larger than the body"))
        cases.append(("POST", p, header.encode(), {"Inference-Header-Content-Length": "ten"}, 400, "must be a byte count"))
        for method, path, body, headers, status, words in cases:
            got, data, _ = request(self.port, method, path, body, headers)
            self.assertEqual(got, status, (path, body if body is None or len(body) < 200 else body[:200], data))
            self.assertIn(words, json.loads(data)["error"], (path, data))
        # The server still answers after all of them.
        got, data, _ = request(self.port, "POST", p, infer_json(["Tasty."]))
        self.assertEqual(got, 200, data)

    def test_metrics_count_requests_inputs_and_exits(self):
        _, before, _ = request(self.port, "GET", "/metrics")
        got, _, _ = request(self.port, "POST", f"/v2/models/{MODEL}/infer", infer_json(self.texts[:5]))
        self.assertEqual(got, 200)
        _, after, _ = request(self.port, "GET", "/metrics")

        def value(text, name):
            m = re.search(r"^" + re.escape(name) + r"\{model=\"" + MODEL + r"\"\} (\S+)$", text.decode(), re.M)
            return float(m.group(1)) if m else 0.0

        self.assertEqual(value(after, "offramp_inference_count") - value(before, "offramp_inference_count"), 5)
        self.assertGreaterEqual(value(after, "offramp_inference_request_success") - value(before, "offramp_inference_request_success"), 1)
        self.assertGreater(value(after, "offramp_flops_saved_total"), value(before, "offramp_flops_saved_total"))
        for name in ("offramp_inference_queue_duration_us_count", "offramp_batch_size_count", "offramp_inputs_running"):
            self.assertIn(name, after.decode())
        self.assertRegex(after.decode(), r'offramp_exit_layer_total\{layer="1",model="foods"\} [1-9]')


class Grpc(unittest.TestCase):
    """The same protocol over gRPC (offramp-grpc-front, its own process): tritonclient's gRPC
    client gets the library's answers, and errors come back as gRPC codes."""

    def test_triton_grpc_client_gets_the_librarys_answers(self):
        texts = read_texts(24)
        want = library_results(texts)
        proc, port = start_server("--grpc-port", "0")
        try:
            c = triton_grpc.InferenceServerClient(f"127.0.0.1:{proc.grpc_port}")
            self.assertTrue(c.is_server_live())
            self.assertTrue(c.is_server_ready())
            self.assertTrue(c.is_model_ready(MODEL))
            meta = c.get_model_metadata(MODEL)
            self.assertEqual([o.name for o in meta.outputs], ["label", "probabilities", "exit_layer", "flops"])
            self.assertEqual(list(meta.outputs[1].shape), [-1, 2])
            inp = triton_grpc.InferInput("text", [len(texts)], "BYTES")
            inp.set_data_from_numpy(np.array(texts, dtype=object))
            r = c.infer(MODEL, [inp], request_id="g1")
            self.assertEqual(r.get_response().id, "g1")
            self.assertEqual([x.decode() for x in r.as_numpy("label")], [w["label"] for w in want])
            self.assertEqual(list(r.as_numpy("exit_layer")), [w["exit_layer"] for w in want])
            self.assertEqual(list(r.as_numpy("flops")), [w["flops"] for w in want])
            np.testing.assert_allclose(r.as_numpy("probabilities").max(axis=1), [w["confidence"] for w in want], atol=1e-5)
            r = c.infer(MODEL, [inp], outputs=[triton_grpc.InferRequestedOutput("exit_layer")], parameters={"full_depth": True})
            self.assertEqual(set(r.as_numpy("exit_layer")), {6})
            self.assertIsNone(r.as_numpy("label"))
            # Typed contents instead of raw bytes (what other KServe clients send).
            stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(f"127.0.0.1:{proc.grpc_port}"))
            req = service_pb2.ModelInferRequest(model_name=MODEL)
            t = req.inputs.add(name="text", datatype="BYTES", shape=[2])
            t.contents.bytes_contents.extend([x.encode() for x in texts[:2]])
            resp = stub.ModelInfer(req)
            self.assertEqual([o.name for o in resp.outputs], ["label", "probabilities", "exit_layer", "flops"])
            self.assertEqual(len(resp.raw_output_contents), 4)
            # Errors: the HTTP front's message under the matching gRPC code.
            for call, code, words in (
                    (lambda: c.infer("nope", [inp]), "StatusCode.NOT_FOUND", "unknown model 'nope'"),
                    (lambda: c.infer(MODEL, [inp], parameters={"threshold": "x"}), "StatusCode.INVALID_ARGUMENT", "must be a number"),
                    (lambda: c.infer(MODEL, [inp], model_version="3"), "StatusCode.NOT_FOUND", "no version '3'")):
                with self.assertRaises(InferenceServerException) as e:
                    call()
                self.assertEqual(str(e.exception.status()), code)
                self.assertIn(words, e.exception.message())
            empty = triton_grpc.InferInput("text", [1], "BYTES")
            empty.set_data_from_numpy(np.array([" "], dtype=object))
            with self.assertRaises(InferenceServerException) as e:
                c.infer(MODEL, [empty])
            self.assertIn("empty", e.exception.message())
        finally:
            self.assertEqual(stop_server(proc), 0, "".join(proc.log))
        with self.assertRaises(InferenceServerException):  # the front drained and left with the server
            triton_grpc.InferenceServerClient(f"127.0.0.1:{proc.grpc_port}").is_server_live()

    def test_a_taken_grpc_port_is_a_clear_error(self):
        proc, port = start_server("--grpc-port", "0")
        try:
            out = subprocess.run([OFFRAMP, "serve", f"{MODEL}={MODEL_DIR}", "--host", "127.0.0.1", "--http-port", "0",
                                  "--grpc-port", str(proc.grpc_port)], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertIn("gRPC front could not listen", out.stderr)
        finally:
            self.assertEqual(stop_server(proc), 0)


class ConcurrentClients(unittest.TestCase):
    """Many clients at once, with different exit settings (batches never mix them): every
    answer is the library's. The ThreadSanitizer build runs this one."""

    def test_every_client_gets_the_librarys_answers(self):
        texts = read_texts(24)
        want = {False: library_results(texts), True: library_results(texts, "--full-depth")}
        proc, port = start_server("--max-batch-tokens", "256")
        wrong = []

        def client(c):
            for i in range(c, len(texts), 6):
                full = i % 2 == 0
                got, data, _ = request(port, "POST", f"/v2/models/{MODEL}/infer",
                                       infer_json([texts[i]], **({"full_depth": True} if full else {})))
                out = {o["name"]: o["data"] for o in json.loads(data)["outputs"]} if got == 200 else {}
                if got != 200 or out["label"][0] != want[full][i]["label"] or out["exit_layer"][0] != want[full][i]["exit_layer"]:
                    wrong.append((i, full, got, data))

        try:
            threads = [threading.Thread(target=client, args=(c,)) for c in range(6)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            self.assertEqual(wrong, [])
        finally:
            self.assertEqual(stop_server(proc), 0, "".join(proc.log))


class EarlyAnswers(unittest.TestCase):
    def test_an_input_that_exits_first_is_answered_first(self):
        texts = read_texts(200)
        want = library_results(texts)
        easy = next(t for t, w in zip(texts, want) if w["exit_layer"] == 1)
        hard = next(t for t, w in zip(texts, want) if w["exit_layer"] == 6)
        # A long queue delay puts both requests into one batch: the hard one is sent first.
        proc, port = start_server("--max-queue-delay-us", "1000000")
        try:
            order = []

            def send(name, text):
                got, data, _ = request(port, "POST", f"/v2/models/{MODEL}/infer", infer_json([text]))
                order.append((name, got, json.loads(data)["outputs"][2]["data"][0]))

            first = threading.Thread(target=send, args=("hard", hard))
            first.start()
            time.sleep(0.1)
            second = threading.Thread(target=send, args=("easy", easy))
            second.start()
            first.join(), second.join()
            self.assertEqual(order, [("easy", 200, 1), ("hard", 200, 6)])
            _, metrics, _ = request(port, "GET", "/metrics")
            self.assertIn(f'offramp_batch_size_count{{model="{MODEL}"}} 1', metrics.decode())
            self.assertIn(f'offramp_batch_size_sum{{model="{MODEL}"}} 2', metrics.decode())
        finally:
            self.assertEqual(stop_server(proc), 0)


class Drain(unittest.TestCase):
    def test_sigterm_answers_what_is_in_flight_then_exits_0(self):
        proc, port = start_server("--max-queue-delay-us", "3000000")
        results = []
        t = threading.Thread(target=lambda: results.append(request(port, "POST", f"/v2/models/{MODEL}/infer", infer_json(["Tasty."]))))
        t.start()
        time.sleep(0.5)  # the request waits in the queue for the 3 s delay
        proc.send_signal(signal.SIGTERM)
        t.join()
        self.assertEqual(results[0][0], 200, results[0][1])
        self.assertEqual(stop_server(proc), 0)  # a second SIGTERM while it exits changes nothing
        self.assertTrue(any("SIGTERM" in l for l in proc.log), proc.log)
        with self.assertRaises(OSError):
            request(port, "GET", "/v2/health/live")

    def test_queue_timeout_is_504(self):
        proc, port = start_server("--max-queue-delay-us", "2000000", "--request-timeout-ms", "100")
        try:
            got, data, _ = request(port, "POST", f"/v2/models/{MODEL}/infer", infer_json(["Tasty."]))
            self.assertEqual(got, 504, data)
            self.assertIn("timed out", json.loads(data)["error"])
            got, data, _ = request(port, "POST", f"/v2/models/{MODEL}/infer", infer_json(["Tasty."], timeout=10_000_000))
            self.assertEqual(got, 200, data)
        finally:
            self.assertEqual(stop_server(proc), 0)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[4:5], verbosity=2)
