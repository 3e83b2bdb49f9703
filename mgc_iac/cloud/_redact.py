"""What a cloud error may quote: the error code, the error message and the request id, each checked; never the
raw body or headers, and never anything shaped like a key or a token.

The SDK falls back to the whole response text as `error_msg` when a body is not Huawei's error JSON
(huaweicloudsdkcore/exceptions/exception_handler.py), so an endpoint (a proxy, a misconfigured gateway, a
hostile double) that echoes the request would put the Authorization header (the AK), X-Security-Token and the
signature into our messages, logs and PR comments. So: an answer without a Huawei error code is described, not
quoted; a message is one line, cut, with key/token-shaped runs and `name=value` secrets redacted.
"""

from __future__ import annotations

import re

from mgc_iac.visible import visible_line

REDACTED = "[redacted]"
MAX_MESSAGE = 300
# Huawei's error codes are SERVICE.NUMBER (SMS.1038, APIGW.0101, Ecs.0103, SMN.00010002); for a body that is
# not its error JSON the SDK puts the HTTP status there, which is not a code
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}\.[A-Za-z0-9_.]{1,20}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
# `Access=AK`, `Signature=...`, `X-Security-Token: ...`, `password=...`, `"sk": "..."`
_SECRET_FIELD = re.compile(
    r"""(?ix)(["']?\b(?:access|signature|signedheaders|x-security-token|x-auth-token|authorization|security[_-]?token
    |auth[_-]?token|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?[_-]?key|secret|sk|ak|password|passwd|token
    |credential|private[_-]?key)\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}]+)""")
# a run of 20+ key-alphabet characters with a letter and a digit: Huawei AKs (20), SKs (40), tokens, signatures
_TOKEN = re.compile(r"[A-Za-z0-9+/_=]{20,}")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)


def redact(text: str) -> str:
    """`text` with secret-looking values replaced by [redacted]."""
    text = _PRIVATE_KEY.sub(REDACTED, text)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN.sub(lambda m: REDACTED if _token_shaped(m.group()) else m.group(), text)


def _token_shaped(run: str) -> bool:
    return any(c.isdigit() for c in run) and any(c.isalpha() for c in run)


def safe_code(code: object) -> str | None:
    text = str(code or "").strip()
    return text if _CODE.match(text) else None


def safe_request_id(request_id: object) -> str | None:
    text = str(request_id or "").strip()
    return text if _REQUEST_ID.match(text) else None


def error_message(code: object, message: object, status: int | None) -> str:
    """The message a CloudError carries: Huawei's error message when the answer had an error code, else a
    description of the answer (its body is not quoted)."""
    raw = str(message or "")
    if safe_code(code) is None:
        return (f"HTTP {status}: the answer is not a Huawei error (no error code); its {len(raw)} characters are "
                "not shown" if raw else "")
    one_line = redact(" ".join(raw.split()))
    return visible_line(one_line if len(one_line) <= MAX_MESSAGE else one_line[:MAX_MESSAGE] + "...")
