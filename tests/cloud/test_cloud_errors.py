"""HTTP failures become the project's CloudError tree, with what identifies the call and never a secret."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.errors import (
    CloudAuthError,
    CloudConflictError,
    CloudError,
    CloudNotFoundError,
    CloudThrottledError,
)
from mgc_iac.lab.testing import RunningLab, lab_task


def _secrets(lab: RunningLab) -> tuple[str, ...]:
    return (lab.endpoint.sk,)


@pytest.mark.parametrize("case", ["other-project", "not-found", "conflict", "bad-body"])
def test_each_status_maps_to_its_error(lab: RunningLab, cloud: Cloud, case: str) -> None:
    expected: tuple[type, int, str]
    if case == "other-project":
        with pytest.raises(CloudError) as info:
            Cloud(replace(lab.settings, project_id="0" * 32)).kms.describe_key("evs/default")
        expected = (CloudAuthError, 403, "APIGW.0302")
    elif case == "not-found":
        with pytest.raises(CloudError) as info:
            cloud.sms.show_task("no-such-task")
        expected = (CloudNotFoundError, 404, "SMS.2252")
    elif case == "conflict":
        _, task, _ = lab_task(cloud)
        with pytest.raises(CloudError) as info:
            cloud.sms.task_action(task, "stop")            # a READY task: SMS.1038 in Huawei's published table
        expected = (CloudConflictError, 400, "SMS.1038")
    else:
        with pytest.raises(CloudError) as info:
            cloud.smn.publish(cloud.smn.list_topics()[0].urn, "x" * 600, "too long a subject")
        expected = (CloudError, 400, "SMN.00010002")
    err = info.value
    assert type(err) is expected[0] and (err.status, err.code) == expected[1:]
    assert err.service and err.operation and err.request_id and len(err.request_id) == 32
    assert err.request_id in str(err)
    for secret in _secrets(lab):
        assert secret not in str(err) and secret not in repr(err)
        assert secret not in str(err.__cause__) and secret not in repr(err.__cause__)


@pytest.mark.parametrize(("status", "code", "expected"), [
    (403, "SMS.1038", CloudConflictError),       # SMS's v3 pages answer refusals 403: a state, not credentials
    (403, "SMS.2015", CloudConflictError),
    (403, "SMS.6507", CloudError),               # an SMS refusal of another kind: still not "bad credentials"
    (403, "Ecs.0036", CloudError),
    (401, "APIGW.0301", CloudAuthError),         # the gateway's own authentication codes are
    (403, "APIGW.0302", CloudAuthError),
    (403, "IAM.0008", CloudAuthError),
    (400, "SMS.2252", CloudNotFoundError),       # the code decides, whatever the status
    (400, "APIGW.0308", CloudThrottledError),
    (404, "APIGW.0101", CloudNotFoundError),
])
def test_errors_map_by_code_first_and_status_second(status: int, code: str, expected: type) -> None:
    """A unit of the mapping itself: the SDK exception is built here as the SDK builds it from an answer (the
    lab answers SMS refusals with 400, as the older code table; Huawei's v3 pages say 403)."""
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, SdkError

    from mgc_iac.cloud._errors import classify, to_cloud_error

    exc = ClientRequestException(status, SdkError("r" * 32, code, f"refused ({code})"))
    err = to_cloud_error(exc, "sms", "update_task_status")
    assert type(err) is expected and (err.status, err.code) == (status, code)
    assert classify(exc) == ("throttled" if expected is CloudThrottledError else "final")
