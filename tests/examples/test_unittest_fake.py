"""Without pytest's fixtures: ``videomock.fake()`` (in-process) and ``videomock.serve_in_thread()`` (a real
server) are context managers, and decorators that pass the fake as the last argument, for unittest suites
and scripts."""

import unittest

import requests

import videomock


class InProcess(unittest.TestCase):
    def setUp(self) -> None:
        self.provider = self.enterContext(videomock.fake(seed=7))

    def test_submit_and_poll(self) -> None:
        body = {"model": "veo_3_1", "prompt": "a fox"}
        task = requests.post(f"{self.provider.url}/v1/video/generations", json=body, headers=self.provider.headers,
                             timeout=10).json()
        polled = requests.get(f"{self.provider.url}/v1/video/generations/{task['task_id']}",
                              headers=self.provider.headers, timeout=10).json()
        self.assertEqual(polled["status"], "completed")  # the instant clock, as in the fixtures

    @videomock.fake(config={"faults": [{"endpoint": "models", "action": {"type": "http_error", "status": 503}}]})
    def test_as_a_decorator(self, provider: videomock.FakeProvider) -> None:
        answer = requests.get(f"{provider.url}/v1/models", headers=provider.headers, timeout=10)
        self.assertEqual(answer.status_code, 503)


class LiveServer(unittest.TestCase):
    def test_a_real_server_in_a_thread(self) -> None:
        with videomock.serve_in_thread() as server:
            answer = requests.get(f"{server.url}/v1/models", headers=server.headers, timeout=10)
        self.assertEqual(answer.status_code, 200)
        self.assertIn("veo_3_1", [model["id"] for model in answer.json()["data"]])
