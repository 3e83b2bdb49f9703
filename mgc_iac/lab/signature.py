"""SDK-HMAC-SHA256 request signatures: the canonical form, signing and verification.

Pure functions over (method, raw path, raw query, headers, body), so the lab server and the tests share one
implementation, and it matches huaweicloudsdkcore.signer.signer.Signer byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
CONTENT_HASH = "X-Sdk-Content-Sha256"     # huaweicloudsdkcore.signer.signer.Signer._HEADER_CONTENT
UNSIGNED = "UNSIGNED-PAYLOAD"             # the signer sends it for bodies that are not JSON/BSON
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW_SECONDS = 15 * 60


class SignatureError(Exception):
    """The request is not signed, or not signed by a known key; `code` is the Huawei-style error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Authorization:
    """The parsed `Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...` header."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def _quote(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(raw_path: str) -> str:
    """Unquote the path, re-quote each segment with safe='~', and end it with '/' (as the SDK does)."""
    path = "/".join(_quote(part) for part in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(raw_query: str) -> str:
    """Sorted k=v pairs, each side quoted with safe='~'."""
    pairs = sorted(parse_qsl(raw_query, keep_blank_values=True))
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], signed: tuple[str, ...], body: bytes
) -> str:
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed)
    body_hash = payload_hash(headers, body)
    return "\n".join(
        [method.upper(), canonical_uri(raw_path), canonical_query(raw_query), canonical_headers, ";".join(signed),
         body_hash]
    )


def payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    """What the signer hashes for the body: the empty hash for no body; else an X-Sdk-Content-Sha256 of
    UNSIGNED-PAYLOAD stands in for the body (the gateway accepts it); else sha256 of the body."""
    actual = hashlib.sha256(body).hexdigest()
    if not body:
        return actual
    declared = next((v.strip() for k, v in headers.items() if k.lower() == CONTENT_HASH.lower()), None)
    if declared == UNSIGNED:
        return UNSIGNED
    if declared is not None and declared != actual:
        raise SignatureError("APIGW.0301", f"Incorrect IAM authentication information: {CONTENT_HASH} does not "
                                           "match the body")
    return actual


def string_to_sign(canonical: str, sdk_date: str) -> str:
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def sign(secret_key: str, text: str) -> str:
    return hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str | None) -> Authorization:
    if not value or not value.startswith(ALGORITHM + " "):
        raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: missing SDK-HMAC-SHA256 "
                                           "Authorization header")
    fields: dict[str, str] = {}
    for part in value[len(ALGORITHM) + 1:].split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    if not fields.get("Access") or not fields.get("SignedHeaders") or not fields.get("Signature"):
        raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: malformed Authorization")
    return Authorization(fields["Access"], tuple(fields["SignedHeaders"].split(";")), fields["Signature"])


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, str],
    now: datetime | None = None,
    tokens: Mapping[str, str] | None = None,
) -> str:
    """Check the signature against `keys` (AK -> SK); return the AK or raise SignatureError. A temporary AK
    (one in `tokens`) must also send its X-Security-Token, and sign it (IAM temporary credentials)."""
    auth = parse_authorization(headers.get("Authorization"))
    secret = keys.get(auth.access_key)
    if secret is None:
        raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: unknown access key")
    token = (tokens or {}).get(auth.access_key)
    if token is not None:
        sent = headers.get("X-Security-Token")
        if sent is None or not hmac.compare_digest(sent, token) or "x-security-token" not in auth.signed_headers:
            raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: the temporary access key "
                                               "needs its signed X-Security-Token")
    sdk_date = headers.get("X-Sdk-Date", "")
    try:
        signed_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: bad X-Sdk-Date") from None
    skew = abs(((now or datetime.now(UTC)) - signed_at).total_seconds())
    if skew > MAX_SKEW_SECONDS:
        raise SignatureError("APIGW.0303", "Incorrect IAM authentication information: X-Sdk-Date expired")
    if "x-sdk-date" not in auth.signed_headers or "host" not in auth.signed_headers:
        raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: host and x-sdk-date must "
                                           "be signed")
    canonical = canonical_request(method, raw_path, raw_query, headers, auth.signed_headers, body)
    expected = sign(secret, string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError("APIGW.0301", "Incorrect IAM authentication information: verify aksk signature "
                                           "fail")
    return auth.access_key


def sign_headers(
    *, access_key: str, secret_key: str, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
    body: bytes, now: datetime | None = None,
) -> dict[str, str]:
    """Return `headers` plus X-Sdk-Date and Authorization (for raw-HTTP callers such as the benchmark)."""
    out = dict(headers)
    out["X-Sdk-Date"] = (now or datetime.now(UTC)).strftime(DATE_FORMAT)
    signed = tuple(sorted(k.lower() for k in out if "_" not in k))
    canonical = canonical_request(method, raw_path, raw_query, out, signed, body)
    signature = sign(secret_key, string_to_sign(canonical, out["X-Sdk-Date"]))
    out["Authorization"] = f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    return out
