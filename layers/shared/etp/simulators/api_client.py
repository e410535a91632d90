"""A small client of the platform's own HTTP API, as a building's software would use it (the bid
simulator logs in and bids through it). stdlib only."""

import json
import urllib.error
import urllib.request
from typing import Any


class ApiError(Exception):
    pass


class ApiClient:
    def __init__(self, base_url: str, timeout: float = 15.0):
        if not base_url.startswith(("http://", "https://")):
            raise ApiError(f"API URL {base_url!r} is not http(s)")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, *, body: Any = None, token: str | None = None, query: str = "") -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            f"{self.base_url}{path}{query}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read()[:300].decode("utf-8", "replace")
            raise ApiError(f"{method} {path} answered {error.code}: {detail}") from None
        except (OSError, ValueError) as error:
            raise ApiError(f"{method} {path} failed: {error}") from None

    def login(self, account: str, password: str) -> str:
        answer = self._call("POST", "/login", body={"account": account, "password": password})
        if not isinstance(answer, dict) or not isinstance(answer.get("bearer"), str):
            raise ApiError("POST /login answered no bearer")
        return answer["bearer"]

    def my_bids(self, token: str, side: str) -> list[dict]:
        """Every open bid of the caller on one side (all pages)."""
        bids, page = [], 1
        while True:
            answer = self._call("GET", "/bidsubmit", token=token, query=f"?per_page=1000&page={page}&bid_type={side}")
            bids.extend(answer["data"])
            if len(bids) >= answer["totalCount"] or not answer["data"]:
                return bids
            page += 1

    def submit_bid(self, token: str, body: dict) -> str:
        return self._call("POST", "/bidsubmit", body=body, token=token)["id"]

    def delete_bid(self, token: str, bid_id: str) -> None:
        self._call("DELETE", "/bidsubmit", body={"id": bid_id}, token=token)
