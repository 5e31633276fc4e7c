"""volswap-api's REST calls as the Python halves of the benchmarks make
them: JSON in and out, the admin token, a Nova microversion."""
import json
import urllib.request


class Api:
    def __init__(self, url, token, version="2.79"):
        self.url, self.token, self.version = url, token, version

    def call(self, method, path, body=None, version=None):
        """(status, parsed reply or None) of METHOD on PATH."""
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"X-Auth-Token": self.token,
                                              "Content-Type": "application/json",
                                              "OpenStack-API-Version":
                                                  "compute " + (version or self.version)})
        with urllib.request.urlopen(req) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None
