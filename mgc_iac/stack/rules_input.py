"""Rules for values no sane stack holds (issue 19): they are refused even where quoting would hold, because a
stack comes from a change under review and its values reach shell templates, cloud APIs and reviewers' screens.

- the SMS-Agent package URL: https only (the package and its .sha256 come from the same place, so plain http lets
  anyone on the path replace both), unless `network.agent_package_allow_http: true` says the network is trusted;
  no credentials in it, no character outside a URL's plain set;
- VPC, subnet and security group names: Huawei's charset (SDK huaweicloudsdkvpc v2 CreateVpcOption.name,
  CreateSubnetOption.name, CreateSecurityGroupOption.name: "0/1-64 characters: digits, letters, Chinese, _ - .");
  an id (a UUID) fits it too;
- control characters: refused in every identifier-like field (names are refused by their pattern already);
  warned about in free text (descriptions), which every renderer shows escaped (mgc_iac/visible.py).

Path rules (absolute, one line, no `.`/`..` segments) live with the other path rules in spec/rules_page.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mgc_iac.visible import has_controls, visible_line

if TYPE_CHECKING:
    from mgc_iac.stack.rules import RuleContext

# letters, digits, _ - . and CJK ideographs (Chinese), 1-64 characters
_NETWORK_NAME = re.compile(r"^[A-Za-z0-9_.\-\u3400-\u4dbf\u4e00-\u9fff]{1,64}$")
# the characters a package URL may hold: RFC 3986 unreserved, the delimiters a path/query needs, % escapes;
# never quotes, `$`, backticks, backslashes, spaces, `;`, `|`, `<`, `>`, parentheses or `*`
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@&=+,%]+$")
FREE_TEXT = {"description", "application", "os_version", "project", "comment"}


def package_url_problem(url: str, allow_http: bool) -> str | None:
    """Why `url` may not be where sources download the SMS-Agent package, or None."""
    if not _URL_CHARS.match(url):
        bad = sorted({c for c in url if not _URL_CHARS.match(c)})
        return "holds characters a download URL does not need: " + " ".join(visible_line(repr(c)) for c in bad)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an https:// URL"
    if parts.username or parts.password:
        return "carries credentials (user:password@): they would be in the plan, the state and the sources' logs"
    if parts.scheme == "http" and not allow_http:
        return ("is plain http: the package and its .sha256 come from the same server, so anything on the path "
                "can replace both")
    return None


def rule_package_url(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        net = wf.network
        if net.agent_package_url is None:
            continue
        problem = package_url_problem(net.agent_package_url, net.agent_package_allow_http)
        if problem:
            ctx.error(("workflows", i, "network", "agent_package_url"),
                      f"`{visible_line(net.agent_package_url)}` {problem}",
                      "serve the package over https (e.g. https://repo.internal/SMS-Agent_Linux.tgz); on a network "
                      "you trust end to end, set `agent_package_allow_http: true`", "package-url")


def rule_network_names(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        for field in ("vpc", "subnet", "security_group"):
            value = getattr(wf.target, field)
            if not _NETWORK_NAME.match(value):
                what = field.replace("_", " ")
                ctx.error(("workflows", i, "target", field),
                          f"`{visible_line(value)}` is not a {what} name or id Huawei accepts",
                          "1-64 characters: letters, digits, Chinese characters, _ - . (or the resource's id)",
                          "network-name")


def rule_control_characters(ctx: RuleContext) -> None:
    """Control characters: an error in an identifier-like field, a warning in free text."""
    if ctx.loaded is not None and not may_hold_controls(ctx.loaded.canonical_text):
        return  # the usual case: one scan of the digest's JSON text instead of a walk of every string
    data = ctx.loaded.canonical if ctx.loaded is not None else ctx.stack.model_dump(mode="json", by_alias=True)
    for loc, key, value in _strings(data, ()):
        if not has_controls(value) and not (key not in FREE_TEXT and ("\n" in value or "\t" in value)):
            continue
        shown = visible_line(value if len(value) <= 80 else value[:77] + "...")
        if key in FREE_TEXT:
            ctx.warning(loc, f"holds control characters: `{shown}` (shown escaped everywhere)",
                        "remove them: they can recolour, hide or rewrite what a reviewer reads in a terminal",
                        "control-characters")
        else:
            ctx.error(loc, f"holds control characters or line breaks: `{shown}`",
                      "write the value on one line of printable characters", "control-characters")


# json.dumps(ensure_ascii=False) writes C0 (tab and newline included) as escapes, DEL, C1 and bidi raw
_JSON_C0_ESCAPE = re.compile(r"\\(?:[bfnrt]|u00[01])")
_RAW_CONTROL = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def may_hold_controls(json_text: str) -> bool:
    """Whether a JSON text from json.dumps(ensure_ascii=False) may hold a string with a control character, a
    tab or a newline (keys included); False means none does. Escaped backslashes go first so `\\\\n` is not read
    as a newline."""
    if ("\x7f" in json_text) if json_text.isascii() else _RAW_CONTROL.search(json_text) is not None:
        return True  # ASCII text: DEL is the one raw control character it can hold (a scan 20x faster)
    return "\\" in json_text and _JSON_C0_ESCAPE.search(json_text.replace("\\\\", "")) is not None


def _strings(value: Any, loc: tuple[Any, ...], key: str = "") -> list[tuple[tuple[Any, ...], str, str]]:
    """(location, field name, text) of every string in the spec data, dict keys included."""
    found: list[tuple[tuple[Any, ...], str, str]] = []
    if isinstance(value, str):
        found.append((loc, key, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and (has_controls(k) or "\n" in k):
                found.append((loc + (k,), "", k))
            found.extend(_strings(v, loc + (k,), str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_strings(v, loc + (i,), key))
    return found


INPUT_RULES = (rule_package_url, rule_network_names, rule_control_characters)
