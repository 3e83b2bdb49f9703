"""The stack spec: pydantic models for every parameter of the MgC server migration workflow.

Table 1 (workflow parameters) and Table 2 (consistency verification policy) of the product page map onto
`Workflow`, `NetworkSpec`, `TargetSpec`, `EncryptionSpec`, `AdvancedSpec` and `VerificationPolicy`.
Shape checks live here; rules that relate several fields or several objects live in stack/rules.py so that
they can report every problem at once with the file and line.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case letters, digits, '.', '_', '-'")]
MAC_RE = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$", re.IGNORECASE)

API_VERSION = "mgc-iac/v1"

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")
DURATION_PATTERN = r"^(\d+d)?(\d+h)?(\d+m)?(\d+(\.\d+)?s)?$"


def parse_duration(value: Any) -> Any:
    """Seconds from a number or a duration written like 90s, 10m, 1h30m or 2d; anything else is left for the
    field's own check to refuse."""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    text = value.strip().lower()
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a duration: write it like 90s, 10m, 1h30m, or a number of seconds"
                             ) from None
    days, hours, minutes = (int(g or 0) for g in match.groups()[:3])
    return days * 86400 + hours * 3600 + minutes * 60 + float(match.group(4) or 0)


# a duration in the stack: seconds, or "90s", "10m", "1h30m", "2d" (kept as seconds in the canonical spec)
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(
    {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}]})]


class SpecModel(BaseModel):
    """Base: unknown fields are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Metadata(SpecModel):
    name: Name = Field(description="Stack name; one recorded state per stack name.")
    project: str = Field(min_length=1, description="The MgC application migration project.")
    description: str = ""


class CloudConfig(SpecModel):
    provider: Literal["lab", "huaweicloud"] = Field(
        "lab", description="lab: the embedded Huawei-compatible cloud; huaweicloud: credentials from the env."
    )
    region: str = Field("cn-north-4", min_length=1)
    endpoints: dict[str, str] = Field(
        default_factory=dict, description="Per-service endpoint override, e.g. {sms: https://sms.example}."
    )
    max_requests_per_second: float | None = Field(
        None, gt=0, le=10000, description="Client-side cap of API calls per second to each service endpoint, "
        "shared by every step of an apply. Absent: no cap until the API gateway throttles (HTTP 429, "
        "APIGW.0308); then mgc-iac settles just under the rate it answers.")


class Disk(SpecModel):
    device: str = Field(min_length=1, description="Device name, e.g. /dev/vda or C:.")
    size_gb: int = Field(gt=0, le=16384)
    used_gb: float = Field(0, ge=0, le=16384)


class JumpHost(SpecModel):
    host: str
    port: int = Field(22, ge=1, le=65535)
    user: str = "root"
    key_file: str | None = None


class SSHAccess(SpecModel):
    host: str = Field(min_length=1)
    port: int = Field(22, ge=1, le=65535)
    user: str = "root"
    key_file: str | None = Field(None, description="Private key path; the key itself is never stored.")
    password_env: str | None = Field(None, description="NAME of an environment variable holding a password.")
    known_hosts: str | None = None
    host_key_policy: Literal["strict", "accept-new"] = "strict"
    jump: JumpHost | None = None


class SourceFacts(SpecModel):
    """Facts declared for offline checks; `plan --refresh` replaces them with what the source reports."""

    rsync: bool | None = None
    available_memory_mb: int | None = Field(None, ge=0, le=64 * 1024 * 1024)
    available_cpus: float | None = Field(None, ge=0, le=1024)


def agent_installer(agent: str | None, os: str | None) -> str:
    """Who starts a source's SMS-Agent: `agent` when given, else mgc-iac, but preinstalled on Windows."""
    return agent or ("preinstalled" if os == "windows" else "mgc-iac")


class Source(SpecModel):
    name: Name
    ip: IPv4Address
    mac: str
    os: Literal["linux", "windows"]
    os_version: str | None = None
    cpus: int = Field(gt=0, le=1024, description="CPU count (an ECS has at most a few hundred).")
    memory_mb: int = Field(gt=0, le=64 * 1024 * 1024, description="Total memory in MB (at most 64 TiB).")
    disks: list[Disk] = Field(min_length=1, max_length=23, description="At most 23 disks per migrated server.")
    application: str | None = None
    ssh: SSHAccess | None = None
    agent: Literal["mgc-iac", "preinstalled"] | None = Field(
        None, description="Who installs the SMS-Agent on this source. `mgc-iac`: apply installs and starts it over "
        "`ssh:` (Linux; the default for Linux). `preinstalled`: you install it (Windows: SMS-Agent-Py3.exe, its "
        "proxy in the installer; Linux without SSH from here: the console's command); apply waits for the source "
        "to register with SMS, matched by its MAC and IP (the default for Windows).")
    agent_wait_minutes: float = Field(60, gt=0, le=7 * 24 * 60, description="How long apply waits for a "
                                      "`preinstalled` agent to register with SMS before the step fails.")
    facts: SourceFacts = SourceFacts()

    @property
    def agent_installer(self) -> str:
        """mgc-iac | preinstalled: `agent`, else by OS (mgc-iac cannot run Windows' GUI installer)."""
        return agent_installer(self.agent, self.os)

    @field_validator("mac", mode="before")
    @classmethod
    def _mac(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 12:34:56 as sexagesimal
            raise ValueError(f"YAML read this MAC as the number {value}: quote it, e.g. mac: \"fa:16:3e:00:00:01\"")
        if not isinstance(value, str) or not MAC_RE.match(value):
            raise ValueError("not a MAC address; write six hex pairs like fa:16:3e:00:00:01")
        problem = mac_problem(value)
        if problem:
            raise ValueError(f"{value} {problem}: a source's NIC has a unicast MAC written with one separator, "
                             "like fa:16:3e:00:00:01")
        return value.lower().replace("-", ":")


def mac_problem(raw: str) -> str | None:
    """Why six hex pairs cannot be a source NIC's address (IEEE 802: the I/G bit marks group addresses)."""
    if ":" in raw and "-" in raw:
        return "mixes ':' and '-' separators"
    digits = raw.replace(":", "").replace("-", "").lower()
    if digits == "ffffffffffff":
        return "is the broadcast address"
    if digits == "000000000000":
        return "is all zeros"
    if int(digits[:2], 16) & 1:
        return "is a multicast address (the low bit of its first byte is set)"
    return None


class MigrationPlan(SpecModel):
    name: Name
    description: str = ""
    servers: list[str] = Field(min_length=1)


class WorkflowSource(SpecModel):
    """Select source resources by application or by migration plan (exactly one)."""

    application: str | None = None
    migration_plan: str | None = None


class Proxy(SpecModel):
    host: str = Field(min_length=1, description="Private IP of the source proxy server.")
    port: int = Field(ge=1, le=65535)


class AgentDownload(SpecModel):
    """Bandwidth the sources have to download the SMS-Agent (30 Mbit/s dedicated or 50 shared at least)."""

    bandwidth_mbps: float = Field(gt=0)
    shared: bool = False


class NetworkSpec(SpecModel):
    type: Literal["public", "private"] = "public"
    proxy: Proxy | None = None
    agent_package_url: str | None = Field(
        None, description="Where sources without Internet access download the SMS-Agent package (https)."
    )
    agent_package_allow_http: bool = Field(
        False, description="Accept a plain http:// agent_package_url: only on a network trusted end to end (the "
                           "package and its .sha256 come from the same server).")
    agent_download: AgentDownload | None = None


class TargetSpec(SpecModel):
    region: str = Field(min_length=1)
    project: str = Field(min_length=1)
    vpc: str = Field(min_length=1, description="VPC name or id.")
    subnet: str = Field(min_length=1, description="Subnet name or id, inside the VPC.")
    security_group: str = Field(min_length=1, description="Security group name or id.")
    flavor: str | None = None
    image: str | None = None
    availability_zone: str | None = None
    volume_type: str = "SSD"
    vpc_cidr: IPv4Network | None = Field(None, description="Declared VPC range, checked offline when given.")
    subnet_cidr: IPv4Network | None = Field(None, description="Declared subnet range, checked offline.")
    security_group_ingress: list[int] | None = Field(
        None, description="Declared inbound TCP ports of the security group, checked offline when given."
    )


class EncryptionSpec(SpecModel):
    enabled: bool = False
    key_id: str | None = Field(None, description="KMS key id (your own, or shared from another account).")
    key_alias: str | None = Field(None, description="KMS key alias, e.g. evs/default.")
    shared: bool = Field(False, description="The key is shared from another account (needs key_id).")


NotifyOn = Literal["succeeded", "failed", "manual_checkpoint"]


class Notifications(SpecModel):
    topic_urn: str = Field(min_length=1)
    language: Literal["en-us", "zh-cn"] = "en-us"
    on: list[NotifyOn] = Field(
        default_factory=lambda: ["succeeded", "failed", "manual_checkpoint"], min_length=1
    )

    @model_validator(mode="before")
    @classmethod
    def _yaml11_on(cls, data: Any) -> Any:
        # YAML 1.1 reads the key `on:` as the boolean true; the spec means the field `on`
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


def _split_paths(value: Any) -> Any:
    """The page's own form: one comma-separated string ("/root/data,/var") is a list of paths; an entry
    holding commas counts as the paths it holds (the 30-path limit counts those)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return [part.strip() for p in value for part in (p.split(",") if "," in p else [p])]
    return value


PathList = Annotated[list[str], BeforeValidator(_split_paths)]


class AdvancedSpec(SpecModel):
    verify_consistency: bool = True
    start_target_after_migration: bool = True
    bandwidth_limit_mbps: int | None = Field(None, gt=0, le=1000, description="Absent = unlimited.")
    install_rsync: bool = False
    retain_ip: bool = False
    quick_mode: bool = False
    enterprise_project: str = "default"
    notifications: Notifications | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    copy_exclude_paths: PathList = Field(
        default_factory=list, description="Subtrees left out of the COPY (SMS MIGRATE_EXCLUDE_DIR / "
        "SYNC_EXCLUDE_DIR): never migrated. Not the verification excludes (verification_policy.exclude_paths).")
    poll_interval: Duration = Field(
        10.0, ge=0.1, le=3600, description="How often the migration tasks' states are read while a step waits on "
        "SMS (one paged ListTasks/ListServers read for every waiting server), first after half of it: Huawei's "
        "Terraform provider waits 5 s, then reads every 10 s. Seconds, or e.g. 10s, 1m.")
    stall_timeout: Duration = Field(
        1800.0, ge=1, le=7 * 86400, description="A running step with no progress this long (no change of the "
        "task's state, copied bytes or answers, or every call refused or unanswered) fails with \"no progress "
        "for N min since ...\"; `mgc-iac retry` or a new apply runs it again from a safe point. Default 30m: six "
        "times the 5 minutes Huawei's Terraform provider gives a started task to run.")


class VerificationPolicy(SpecModel):
    hash: bool = False
    include_paths: PathList = Field(default_factory=list, description="Paths verified (a list, or the "
                                    "page's comma-separated string).")
    exclude_paths: PathList = Field(default_factory=list, description="Paths left out of the consistency "
                                    "VERIFICATION only; they are still migrated (copy excludes: "
                                    "advanced.copy_exclude_paths).")


class DiskResize(SpecModel):
    device: str
    size_gb: int = Field(gt=0, le=16384)


class ServerOverride(SpecModel):
    target_name: str | None = None
    flavor: str | None = None
    disks: list[DiskResize] = Field(default_factory=list, description="Target disk sizes, per source device.")



# ---- rehearsal, order and timing of a workflow's cutover (issue 23) ----------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")


def duration_minutes(text: str) -> int:
    """"4h" -> 240, "90m" -> 90, "1h30m" -> 90; ValueError for anything else."""
    match = DURATION_RE.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: write hours and/or minutes, like 4h, 90m or 1h30m")
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


class CutoverWindow(SpecModel):
    """When Cutover (and SourceClear) may start: on `days`, from `start` for `duration`, in `timezone`."""

    days: list[Weekday] = Field(min_length=1, max_length=7, description="Days the window opens: mon ... sun.")
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local opening time, HH:MM.")
    duration: str = Field(description="How long it stays open: 4h, 90m, 1h30m (1 minute to 7 days).")
    timezone: str = Field("UTC", description="IANA time zone, e.g. Europe/Berlin or UTC (DST is followed).")

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        minutes = duration_minutes(value)
        if not 1 <= minutes <= 7 * 24 * 60:
            raise ValueError(f"{value} is outside 1 minute to 7 days")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        import difflib
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.8)
            hint = f"did you mean {close[0]}?" if close else "write one like Europe/Berlin, Asia/Shanghai or UTC"
            raise ValueError(f"{value!r} is not an IANA time zone: {hint}") from None
        return value

    @property
    def minutes(self) -> int:
        return duration_minutes(self.duration)


class CommandCheck(SpecModel):
    """Run `command` over SSH on the launched test instance (or the target): exit 0 passes."""

    name: Name
    command: str = Field(min_length=1, description="Shell command run on the instance; exit status 0 = pass.")
    timeout_seconds: int = Field(60, ge=1, le=3600)


class HttpCheck(SpecModel):
    """GET `http` from the controller: the answer's status must be `expect_status` (a redirect is not followed:
    its 3xx is the answer). `{ip}` in the URL is the checked instance's private IP."""

    name: Name
    http: str = Field(pattern=r"^https?://", description="URL fetched from the controller ({ip}: the instance's IP).")
    expect_status: int = Field(200, ge=100, le=599)
    timeout_seconds: int = Field(30, ge=1, le=600)


class CheckSSH(SpecModel):
    """How command checks log in to a launched instance on Huawei Cloud (at its private IP, or its EIP on a
    public network). Lab stacks reach their lab hosts without it."""

    user: str = "root"
    port: int = Field(22, ge=1, le=65535)
    key_file: str | None = Field(None, description="Private key path; the key itself is never stored.")
    password_env: str | None = Field(None, description="NAME of an environment variable holding a password.")
    known_hosts: str | None = None
    host_key_policy: Literal["strict", "accept-new"] = "strict"


def _check_kind(value: Any) -> str:
    """A check with `http` is an HTTP check, any other a command check: a typo is reported against one shape."""
    has_http = "http" in value if isinstance(value, dict) else isinstance(value, HttpCheck)
    return "HttpCheck" if has_http else "CommandCheck"


Check = Annotated[Annotated[CommandCheck, Tag("CommandCheck")] | Annotated[HttpCheck, Tag("HttpCheck")],
                  Discriminator(_check_kind)]


class ValidationSpec(SpecModel):
    """Automated checks run before TestValidation and BusinessValidation; a failed one blocks the gate."""

    checks: list[Check] = Field(default_factory=list, max_length=50)
    ssh: CheckSSH | None = Field(None, description="Login for command checks on Huawei Cloud instances.")

class Workflow(SpecModel):
    name: Name
    description: str = ""
    source: WorkflowSource
    network: NetworkSpec = NetworkSpec()
    target: TargetSpec
    migration_port: int = Field(22, description="22, or a free port in 10000-65535 outside the blacklist.")
    control_port: int = Field(8899, description="Fixed at 8899 (Windows task control).")
    transmission_port: int = Field(8900, description="Fixed at 8900 (Windows data transmission).")
    encryption: EncryptionSpec = EncryptionSpec()
    advanced: AdvancedSpec = AdvancedSpec()
    verification_policy: VerificationPolicy = VerificationPolicy()
    servers: dict[str, ServerOverride] = Field(default_factory=dict)
    test_launch: Literal["off", "clone", "target"] = Field(
        "off", description="Launch a test instance once the sync converged: clone (SMS clone_test: a clone of "
        "the target, sync goes on), target (SMS test: the target itself, sync pauses, then resumes) or off.")
    validation: ValidationSpec = ValidationSpec()
    depends_on: list[Name] = Field(default_factory=list, description="Workflows whose servers must all have "
                                   "finished Cutover before this one's servers start.")
    cutover_window: CutoverWindow | None = Field(None, description="Cutover and SourceClear start only inside.")


class ApprovalPolicy(SpecModel):
    required_approvers: int = Field(1, ge=1, le=10, description="Distinct approvers each gate needs.")
    allow_plan_author: bool = Field(True, description="Whether the plan's author (the signer of `plan --sign-key`) "
                                                      "may approve its gates.")
    allowed_signers: str | None = Field(
        None, description="OpenSSH allowed_signers file (relative to the stack dir), as git's "
                          "gpg.ssh.allowedSignersFile: one line per approver, `PRINCIPAL KEYTYPE KEY`. Approvals "
                          "are SSH signatures verified against it; the approver is the principal.")
    require_signatures: bool | None = Field(
        None, description="Refuse unsigned approvals. Default: true when allowed_signers is set, and for every "
                          "cloud.provider: huaweicloud stack.")
    allow_advance: bool = Field(False, description="Allow approving gates of the reviewed plan before they wait "
                                                   "(one approval per release); default: only a waiting gate.")

    def signatures_required(self, provider: str) -> bool:
        """Whether unsigned approvals are refused for a stack on `provider`."""
        if self.require_signatures is not None:
            return self.require_signatures
        return self.allowed_signers is not None or provider == "huaweicloud"


class Limits(SpecModel):
    # the page's hard limits (Constraints): they can be lowered, never raised
    max_servers_per_workflow: int = Field(100, ge=1, le=100, description="At most 100 (the page's limit).")
    max_concurrent_migrations: int = Field(1000, ge=1, le=1000, description="At most 1,000 (the page's limit).")


ServerAddress = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$",
                                     description="workflow/server")]


class Moved(SpecModel):
    """Like Terraform's `moved` block: the server recorded at `from` is now `to` (its target and task keep
    their records and progress instead of being destroyed and created again)."""

    from_: ServerAddress = Field(alias="from")
    to: ServerAddress


class StateConfig(SpecModel):
    path: str | None = Field(
        None, description="SQLite file (relative to the stack dir). Default: ../.mgc-iac/state.db."
    )
    url: str | None = Field(
        None, description="PostgreSQL state shared by a team's runners: postgresql://USER@HOST:PORT/DB (no "
        "password: libpq reads PGPASSWORD, ~/.pgpass or a service file). Overrides `path`.")

    @field_validator("url")
    @classmethod
    def _postgres_without_password(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (for a SQLite file use `state.path`)")
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(value)
        if parts.password or "password" in parse_qs(parts.query):
            # said without repeating the URL: it holds the secret
            raise ValueError("carries a password: remove it and set PGPASSWORD, or use ~/.pgpass or a libpq "
                             "service file (a password in the spec ends up in Git, plans and logs)")
        return value


class Stack(SpecModel):
    """A whole migration stack: the root of the spec."""

    api_version: Literal["mgc-iac/v1"] = Field(API_VERSION, alias="apiVersion")
    kind: Literal["MigrationStack"] = "MigrationStack"
    metadata: Metadata
    cloud: CloudConfig = CloudConfig()
    sources: list[Source] = Field(default_factory=list)
    migration_plans: list[MigrationPlan] = Field(default_factory=list)
    workflows: list[Workflow] = Field(default_factory=list)
    approvals: ApprovalPolicy = ApprovalPolicy()
    limits: Limits = Limits()
    state: StateConfig = StateConfig()
    moved: list[Moved] = Field(default_factory=list, description="Servers renamed or moved between workflows "
                               "(automatic when the source is the same machine).")
