"""The lab's SDK-HMAC-SHA256 check: the SDK's own Signer is accepted; wrong keys, stale dates and tampered
bodies are refused, directly and over HTTP with a Huawei-style 401."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from mgc_iac.cloud import Cloud, CloudSettings
from mgc_iac.errors import CloudAuthError
from mgc_iac.lab.signature import SignatureError, canonical_uri, sign_headers, verify
from mgc_iac.lab.testing import RunningLab

AK, SK = "LABTESTAK0000000000", "s3cret-sk-abcdefghijklmnopqrstuvwxyz0123"


def sdk_signed(method: str, path: str, query: list[tuple[str, object]], body: bytes, *, ak: str = AK,
               sk: str = SK, host: str = "127.0.0.1:8080", date: str | None = None) -> SdkRequest:
    headers = {"Content-Type": "application/json", "X-Project-Id": "p1"}
    if date:
        headers["X-Sdk-Date"] = date
    request = SdkRequest(method=method, schema="http", host=host, resource_path=path, query_params=query,
                         header_params=headers, body=body)
    return Signer(BasicCredentials(ak, sk, "p1")).sign(request)


def check(request: SdkRequest, body: bytes | None = None, now: datetime | None = None) -> str:
    path, _, query = request.uri.partition("?")
    return verify(method=request.method, raw_path=path, raw_query=query, headers=request.header_params,
                  body=request.body if body is None else body, keys={AK: SK}, now=now)


def test_the_sdk_signer_is_accepted_with_lists_quoting_and_encoded_path() -> None:
    urn = "urn:smn:cn-north-4:p1:migration events"
    request = sdk_signed("POST", f"/v2/p1/notifications/topics/{requests.utils.quote(urn, safe='')}/publish",
                         [("name", ["b", "a"]), ("flag", True), ("empty", "")], b'{"subject":"s"}')
    assert check(request) == AK


def test_wrong_secret_unknown_key_tampered_body_and_stale_date_are_refused() -> None:
    body = json.dumps({"operation": "start"}).encode()
    with pytest.raises(SignatureError, match="signature"):
        check(sdk_signed("POST", "/v3/tasks/t1/action", [], body, sk="not-the-secret"))
    with pytest.raises(SignatureError, match="unknown access key"):
        check(sdk_signed("POST", "/v3/tasks/t1/action", [], body, ak="SOMEONE-ELSE"))
    with pytest.raises(SignatureError, match="signature"):
        check(sdk_signed("POST", "/v3/tasks/t1/action", [], body), body=body.replace(b"start", b"stop!"))
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    with pytest.raises(SignatureError, match="expired"):
        check(sdk_signed("GET", "/v3/tasks", [], b"", date=old))


def test_canonical_uri_matches_the_sdk_rules() -> None:
    assert canonical_uri("/v3/tasks") == "/v3/tasks/"
    assert canonical_uri("/a/urn%3Asmn%3Ax/b") == "/a/urn%3Asmn%3Ax/b/"


def _raw(lab: RunningLab, method: str, path: str, body: bytes, *, sk: str | None = None, ak: str | None = None,
         now: datetime | None = None) -> requests.Response:
    host = lab.endpoint.url.removeprefix("http://")
    headers = sign_headers(access_key=ak or lab.endpoint.ak, secret_key=sk or lab.endpoint.sk, method=method,
                           raw_path=path, raw_query="", body=body, now=now,
                           headers={"Host": host, "Content-Type": "application/json"})
    return requests.request(method, lab.endpoint.url + path, data=body, headers=headers, timeout=5)


def test_over_http_each_bad_signature_is_a_huawei_401(lab: RunningLab) -> None:
    body = b'{"key_id": "x"}'
    path = f"/v1.0/{lab.endpoint.project_id}/kms/describe-key"
    assert _raw(lab, "POST", path, body).status_code == 404          # well signed: reaches KMS (no such key)
    stale = datetime.now(UTC) - timedelta(minutes=20)
    for response in (_raw(lab, "POST", path, body, sk="wrong-secret"), _raw(lab, "POST", path, body, ak="NOPE"),
                     _raw(lab, "POST", path, body, now=stale)):
        assert response.status_code == 401
        assert response.json()["error_code"].startswith("APIGW.")
        assert response.headers["X-Request-Id"]
    host = lab.endpoint.url.removeprefix("http://")
    signed = sign_headers(access_key=lab.endpoint.ak, secret_key=lab.endpoint.sk, method="POST", raw_path=path,
                          raw_query="", body=body, headers={"Host": host, "Content-Type": "application/json"})
    tampered = requests.post(lab.endpoint.url + path, data=b'{"key_id": "y"}', headers=signed, timeout=5)
    assert tampered.status_code == 401


def test_the_sdk_with_a_wrong_sk_or_ak_gets_cloud_auth_error_without_the_secret(lab: RunningLab) -> None:
    from dataclasses import replace

    for settings in (replace(lab.settings, sk="wrong-" + lab.endpoint.sk), replace(lab.settings, ak="AKNOTKNOWN")):
        with pytest.raises(CloudAuthError) as info:
            Cloud(settings).vpc.find_vpc("vpc-shop")
        err = info.value
        assert (err.status, err.service, err.operation) == (401, "vpc", "list_vpcs")
        assert err.code == "APIGW.0301" and err.request_id
        for text in (str(err), repr(err), str(err.__cause__ or "")):
            assert lab.endpoint.sk not in text and settings.sk not in text


def test_settings_and_endpoint_never_show_the_secret(lab: RunningLab) -> None:
    assert lab.endpoint.sk not in repr(lab.endpoint)
    assert lab.endpoint.sk not in repr(lab.settings)
    assert isinstance(lab.settings, CloudSettings)


def test_an_unsigned_payload_from_the_sdk_signer_is_accepted_and_a_false_hash_is_not() -> None:
    """The SDK's Signer sends X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD for a body that is not JSON; the gateway
    accepts it (the body is then not covered by the signature)."""
    request = SdkRequest(method="PUT", schema="http", host="127.0.0.1:8080", resource_path="/v3/files",
                         query_params=[], header_params={"Content-Type": "application/octet-stream",
                                                         "X-Project-Id": "p1"}, body=b"\x00\x01binary")
    request = Signer(BasicCredentials(AK, SK, "p1")).sign(request)
    assert request.header_params["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert check(request) == AK
    lying = sdk_signed("POST", "/v3/tasks/t1/action", [], b'{"operation": "start"}')
    lying.header_params["X-Sdk-Content-Sha256"] = "0" * 64
    with pytest.raises(SignatureError, match="does not match the body"):
        check(lying)


def test_a_temporary_key_needs_its_signed_security_token(tmp_path) -> None:
    """Seeded temporary credentials (IAM STS): the SDK sends X-Security-Token and signs it; without it, or with
    another token, the lab answers 401 as the gateway does."""
    from dataclasses import replace

    import yaml

    from mgc_iac.lab.testing import DEMO_SEED, running_lab

    seed = yaml.safe_load(DEMO_SEED.read_text())
    seed["cloud"]["temporary_credentials"] = [{"access_key": "STSAK0000000000000", "secret_key": "sts-secret-sk",
                                                "security_token": "sts-token-1"}]
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    with running_lab(tmp_path / "lab", seed=path) as lab:
        temporary = replace(lab.settings, ak="STSAK0000000000000", sk="sts-secret-sk", security_token="sts-token-1")
        assert Cloud(temporary).sms.list_sources() == []
        for token in (None, "another-token"):
            with pytest.raises(CloudAuthError) as info:
                Cloud(replace(temporary, security_token=token)).sms.list_sources()
            assert info.value.status == 401 and "sts-token-1" not in str(info.value)
