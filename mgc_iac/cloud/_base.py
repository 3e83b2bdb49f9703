"""The one code path every service call takes: lazy SDK client, retries with jittered backoff, error mapping.

A service module only says which SDK request to send and how to read the SDK's typed response model; policy
lives here. Request bodies are built from the SDK's request models (`body`), so an undeclared key is refused
before it is sent; the one SDK gap (ShowConsistencyResultResponse.result_list) is read in mgc_iac.cloud._sdk_gaps.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from mgc_iac.cloud._errors import classify, retry_after, retry_after_handler, to_cloud_error
from mgc_iac.cloud._scope import current_scope
from mgc_iac.cloud._settings import CloudSettings
from mgc_iac.cloud._throttle import EndpointLimiter, backoff, limiter_for
from mgc_iac.errors import CloudAnswerLostError


class _InlineExecutor(Executor):
    """Runs a submitted call at once in the caller's thread. The SDK signs every synchronous request in its
    client's thread pool and blocks on the future: two thread hand-offs per call, each a wait for the GIL
    (up to the 5 ms switch interval while other threads run), for no concurrency at all."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future, as a pool would
            future.set_exception(exc)
        return future


def _owned_policy(client: Any, pool_size: int, endpoint: str) -> Any:
    """Take retries and logging away from the SDK: its urllib3 Retry turns a 429 into a RetryError that loses
    the error code and request id, and its logger (no handler) prints through logging's last resort. Sign in
    the calling thread (_InlineExecutor): we never use the SDK's async requests."""
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    logger = getattr(client, "_logger", None)
    if isinstance(logger, logging.Logger) and not logger.handlers:
        logger.addHandler(logging.NullHandler())
    http = client.get_http_client()
    if isinstance(getattr(http, "_executor", None), ThreadPoolExecutor):
        http._executor.shutdown(wait=False)
        http._executor = _InlineExecutor()
    session = getattr(http, "_session", None)
    if session is not None:
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size,
                              max_retries=Retry(total=0, read=False, raise_on_status=False))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if _is_loopback(endpoint):
            # no proxy applies to loopback; skipping requests' per-call scan of the environment halves its cost
            session.trust_env = False
    return client


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceClient:
    """Base of the per-service clients. Thread-safe: the SDK client is built once, under a lock."""

    service: str = ""

    def __init__(self, settings: CloudSettings, *, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self._settings = settings
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._client: Any = None

    def _client_class(self) -> Any:
        """The SDK client class (imported here, lazily: each SDK package costs ~0.2 s to import)."""
        raise NotImplementedError

    def _credentials(self) -> Any:
        """Project-scoped credentials (X-Project-Id); a global service (BSS) overrides this."""
        from huaweicloudsdkcore.auth.credentials import BasicCredentials

        s = self._settings
        return BasicCredentials(s.ak, s.sk, s.project_id)

    def _http_config(self) -> Any:
        from huaweicloudsdkcore.http.http_config import HttpConfig

        config = HttpConfig.get_default_config()
        config.timeout = (self._settings.connect_timeout, self._settings.read_timeout)
        config.retry_times = 0                      # retries are ours (the SDK's only cover 429)
        config.pool_connections = config.pool_maxsize = self._settings.pool_size
        return config

    @property
    def sdk(self) -> Any:
        """The SDK client for this service, built on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    s = self._settings
                    creds = self._credentials()
                    if s.security_token:
                        creds = creds.with_security_token(s.security_token)
                    client = (self._client_class().new_builder().with_http_config(self._http_config())
                              .with_credentials(creds).with_endpoints([s.endpoint(self.service)])
                              .with_exception_handler(retry_after_handler()).build())
                    self._client = _owned_policy(client, s.pool_size, s.endpoint(self.service))
                    if s.proxy:  # the SDK's own proxy setting covers https only; a proxy carries both schemes
                        session = getattr(self._client.get_http_client(), "_session", None)
                        if session is not None:
                            session.proxies = {"http": s.proxy, "https": s.proxy}
        return self._client

    def _limiter(self) -> EndpointLimiter:
        limiter = self.__dict__.get("_endpoint_limiter")
        if limiter is None:
            limiter = self.__dict__["_endpoint_limiter"] = limiter_for(
                self.service, self._settings.endpoint(self.service), self._settings.max_requests_per_second)
        return limiter

    def _attempts(self, operation: str, send: Callable[[], Any], idempotent: bool) -> Any:
        """Send through the endpoint's limiter. Inside a step's CallScope a throttled or failing endpoint is tried
        again until the scope's deadline (Huawei's 2-5 s waits for a 429, growing); outside one, at most
        RetryPolicy.max_attempts times. A call unsafe to replay is only sent again after a 429 (the cloud surely
        did not act); one that got no answer raises CloudAnswerLostError for its caller to check."""
        policy = self._settings.retry
        scope = current_scope()
        limiter = self._limiter()
        what = f"{self.service}.{operation}"
        failures = 0
        while True:
            limiter.acquire(scope, what)
            try:
                answer = send()
            except Exception as exc:
                kind = classify(exc)
                if not (kind == "throttled" or (idempotent and kind in ("unavailable", "lost"))):
                    if kind == "lost":
                        raise CloudAnswerLostError(f"no answer from the endpoint ({type(exc).__name__}): it may have "
                                                   "been carried out", service=self.service,
                                                   operation=operation) from exc
                    # not chained: the SDK exception quotes the raw body, which may echo the signed headers
                    raise to_cloud_error(exc, self.service, operation) from None
                failures += 1
                error = to_cloud_error(exc, self.service, operation)
                if scope is None:
                    delay = policy.delay(failures - 1, self._rng)
                elif kind == "throttled":   # this call's own 429s: others' refusals cut the rate, not its wait
                    delay = backoff(failures, policy.throttle_base, policy.throttle_max, self._rng)
                else:
                    delay = backoff(failures, max(policy.base_delay, 0.05), policy.max_delay, self._rng)
                wait = limiter.failed(kind, error.status, error.code or "", delay=delay, retry_after=retry_after(exc),
                                      what=what)
                if scope is None:
                    if failures >= policy.max_attempts:
                        raise error from None
                    self._sleep(wait)
                    continue
                deadline = scope.deadline()
                if deadline is not None and time.monotonic() + wait > deadline:
                    raise scope.expired(error) from None
                limiter.wait_after_failure(scope, wait, what)
                continue
            limiter.succeeded(what)
            return answer

    def call(self, operation: str, request: Any, *, idempotent: bool = True) -> Any:
        """Send an SDK request through `sdk.<operation>`; return the SDK's typed response model."""
        method = getattr(self.sdk, operation)
        return self._attempts(operation, lambda: method(request), idempotent)

    def body(self, kind: str, value: dict[str, Any]) -> Any:
        """The SDK request model `kind` (e.g. "PostTask") from `value`; an undeclared key or a wrong type is a
        ContractError (a bug of ours, never sent)."""
        from mgc_iac.cloud.contract import as_model

        return as_model(self.sdk, kind, value)

    def raw(self, operation: str, method: str, path: str, *, body: Any = None,
            query: dict[str, Any] | None = None, idempotent: bool = True) -> dict[str, Any]:
        """A signed call to a path the SDK has no request class for (the lab control API); the answer is read
        through an SMS response model with no fields, which keeps the raw JSON."""
        client = self.sdk

        def send() -> Any:
            return client.do_http_request(method=method, resource_path=path, path_params={},
                                          query_params=list((query or {}).items()),
                                          header_params={"Content-Type": "application/json"}, body=body,
                                          post_params={}, response_type="DeleteTaskResponse",
                                          response_headers=[])

        response = self._attempts(operation, send, idempotent)
        return response.to_json_object() or {}
