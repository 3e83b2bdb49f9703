"""The one exception tree of mgc-iac.

    MgcIacError                 root: everything the tool raises on purpose
    +-- UserError               a refusal: the user can fix it; the CLI prints it without a traceback
    |   +-- SpecError           the stack spec is invalid (carries Diagnostics)
    |   +-- PlanFileError       a plan file is edited, unreadable or of an unknown format_version
    |   +-- PlanRefusedError    a change that cannot be made safely (a production target, a move past Cutover)
    |   +-- StalePlanError      the state changed since the plan was made
    |   +-- DriftRefusedError   a production target was changed outside mgc-iac
    |   +-- StateLockedError    another writer holds the state lock
    |   +-- ApprovalError       an approval is malformed or does not match the plan
    |   +-- StateTamperedError  the state claims a gate passed that no verified approval passes
    |   +-- ConfigError         missing credentials, a bad endpoint, a bad option
    |   +-- UsageError          an operation asked for wrongly (a missing or conflicting option)
    +-- StateError              the state store is unusable (corrupt, unreachable)
    +-- CloudError              a cloud call failed (service, operation, code, request id; never a secret)
    |   +-- CloudAuthError      401/403
    |   +-- CloudNotFoundError  404
    |   +-- CloudConflictError  409 or a wrong state transition
    |   +-- CloudThrottledError 429 after the retries ran out
    |   +-- CloudUnavailableError 5xx or a dropped connection after the retries ran out
    |       +-- CloudAnswerLostError  a call unsafe to replay got no answer (it may have been carried out)
    +-- SSHError                a source or target host could not be reached or a command failed
        +-- SSHConnectError     connect/auth/host key; the message says how to fix it
        +-- SSHCommandError     a command exited non-zero

Third-party errors are converted at the boundary with `raise ... from exc`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mgc_iac.diagnostics import Diagnostics


class MgcIacError(Exception):
    """Root of every error mgc-iac raises on purpose."""

    exit_code: int = 1


class UserError(MgcIacError):
    """A refusal the user can act on: printed plainly, never with a traceback."""


class SpecError(UserError):
    """The stack spec has errors; `diagnostics` lists every one of them."""

    def __init__(self, diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics
        errors = diagnostics.errors
        lines = [d.render() for d in errors[:5]] + ([f"... and {len(errors) - 5} more"] if len(errors) > 5 else [])
        super().__init__("\n".join([f"{len(errors)} error(s) in the stack spec:", *lines]))


class PlanFileError(UserError):
    """A plan file that cannot be trusted or read."""


class PlanRefusedError(UserError):
    """The spec asks for a change that cannot be made safely (e.g. to a target in production); nothing is
    planned. `refusals` lists every one, each naming the address, the reason and the fix."""

    def __init__(self, refusals: list[str]) -> None:
        self.refusals = list(refusals)
        super().__init__("\n".join([f"{len(refusals)} change(s) refused:", *(f"  {r}" for r in refusals)]))


class StalePlanError(UserError):
    """The recorded state changed since the plan was made."""


class DriftRefusedError(UserError):
    """A production target (past Cutover) was changed or deleted outside mgc-iac: never repaired silently."""

    def __init__(self, refusals: list[str]) -> None:
        self.refusals = list(refusals)
        super().__init__("\n".join([f"{len(refusals)} production target(s) changed outside mgc-iac; nothing was "
                                    "planned:", *(f"  {r}" for r in refusals)]))


class StateLockedError(UserError):
    """Another process holds the state lock."""


class ApprovalError(UserError):
    """An approval that is malformed or does not apply."""


class StateTamperedError(UserError):
    """A state row claims a gate passed (done, or running with an approver) and no verified approval backs it:
    someone wrote the state without an approval. Nothing runs."""


class MacConflictError(UserError):
    """A source MAC is already recorded for another stack of the same state backend (account-wide unique)."""


class ConfigError(UserError):
    """Missing or wrong configuration (credentials, endpoints, options)."""


class UsageError(UserError):
    """An operation asked for wrongly: a missing or conflicting option (the CLI's `--help` tells the right way)."""


class StateError(MgcIacError):
    """The state store cannot be used."""


class CloudError(MgcIacError):
    """A cloud API call failed. Carries what identifies the call, never a credential."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        operation: str = "",
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.service = service
        self.operation = operation
        self.status = status
        self.code = code
        self.request_id = request_id
        self.message = message  # the cloud's own words, without where and the request id
        where = f"{service}.{operation}" if service else operation
        parts = [f"HTTP {status}" if status else "", code or "", f"request {request_id}" if request_id else ""]
        parts = [p for p in parts if p]
        detail = f" ({', '.join(parts)})" if parts else ""
        super().__init__(f"{where}: {message}{detail}" if where else f"{message}{detail}")


class CloudAuthError(CloudError):
    """The cloud refused the credentials or the signature."""


class CloudNotFoundError(CloudError):
    """The resource does not exist."""


class CloudConflictError(CloudError):
    """The resource is in a state that does not allow the operation."""


class CloudThrottledError(CloudError):
    """Still throttled (429) after the bounded retries."""


class CloudUnavailableError(CloudError):
    """Still failing (5xx or connection lost) after the bounded retries."""


class CloudAnswerLostError(CloudUnavailableError):
    """A call that is not safe to replay got no answer: the cloud may or may not have carried it out (the caller
    reads what the cloud has before it sends it again)."""


class SSHError(MgcIacError):
    """A host could not be reached or a command on it failed."""


class SSHConnectError(SSHError):
    """Connecting or authenticating failed; the message says how to fix it."""


class SSHCommandError(SSHError):
    """A remote command exited non-zero."""

    def __init__(self, message: str, *, exit_status: int | None = None, stderr: str = "") -> None:
        self.exit_status = exit_status
        self.stderr = stderr
        super().__init__(message)
