"""Each error status maps to its class, with everything the service said about it."""

from __future__ import annotations

import httpx
import pytest

import openapiopenai
import openapiopenai.rest
from openapiopenai import (
    ApiConnectionError,
    ApiException,
    ApiResponseValidationError,
    ApiTimeoutError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    PaginationError,
    RateLimitException,
    ServiceException,
    UnauthorizedException,
    UnprocessableEntityException,
)
from openapiopenai.exceptions import api_exception_for

from .conftest import Script, error, ok, sync_api

CLASSES = {
    400: BadRequestException, 401: UnauthorizedException, 403: ForbiddenException, 404: NotFoundException,
    409: ConflictException, 422: UnprocessableEntityException, 429: RateLimitException,
    500: ServiceException, 502: ServiceException, 503: ServiceException, 504: ServiceException,
    599: ServiceException,
}


@pytest.mark.parametrize(("status", "cls"), list(CLASSES.items()))
def test_status_maps_to_its_class_with_every_detail(status: int, cls: type[ApiException]) -> None:
    response = error(status, message="You must be an organization owner.", type="invalid_request_error",
                     code="insufficient_permissions", param="limit", **{"x-request-id": "req_abc123"})
    script = Script(response)
    with pytest.raises(cls) as info:
        sync_api(script, max_retries=0).list_audit_logs()
    exc = info.value
    assert type(exc) is cls and isinstance(exc, ApiException)
    assert exc.status == status
    assert exc.reason == response.reason_phrase
    assert exc.body == response.text and exc.data == response.text
    assert exc.headers["x-request-id"] == "req_abc123"
    assert exc.headers["content-type"] == "application/json"
    assert exc.message == "You must be an organization owner."
    assert exc.type == "invalid_request_error"
    assert exc.code == "insufficient_permissions"
    assert exc.param == "limit"
    assert exc.request_id == "req_abc123"
    text = str(exc)
    assert text.startswith(f"HTTP {status}")
    for part in ("You must be an organization owner.", "code=insufficient_permissions", "param=limit",
                 "request_id=req_abc123"):
        assert part in text
    assert repr(exc) == (f"{cls.__name__}(status={status}, message='You must be an organization owner.', "
                         "request_id='req_abc123')")


def test_str_of_a_401() -> None:
    script = Script(error(401, message="Incorrect API key provided.", code="invalid_api_key",
                          **{"x-request-id": "req_1"}))
    with pytest.raises(UnauthorizedException) as info:
        sync_api(script).list_audit_logs()
    assert str(info.value) == ("HTTP 401 Unauthorized: Incorrect API key provided. "
                               "(code=invalid_api_key, request_id=req_1)")


def test_rate_limit_carries_retry_after() -> None:
    script = Script(error(429, **{"retry-after": "17"}))
    with pytest.raises(RateLimitException) as info:
        sync_api(script, max_retries=0).list_audit_logs()
    assert info.value.retry_after == 17.0
    script = Script(error(429))
    with pytest.raises(RateLimitException) as info:
        sync_api(script, max_retries=0).list_audit_logs()
    assert info.value.retry_after is None


def test_unmapped_status_is_a_plain_api_exception() -> None:
    script = Script(error(418, message="teapot"))
    with pytest.raises(ApiException) as info:
        sync_api(script).list_audit_logs()
    assert type(info.value) is ApiException and info.value.status == 418 and info.value.message == "teapot"
    assert len(script.requests) == 1


def test_non_json_error_body_still_gives_a_useful_message() -> None:
    response = httpx.Response(502, text="<html><body>upstream connect error</body></html>",
                              headers={"x-request-id": "req_gw"})
    script = Script(response)
    with pytest.raises(ServiceException) as info:
        sync_api(script, max_retries=0).list_audit_logs()
    exc = info.value
    assert exc.status == 502 and exc.type is None and exc.code is None
    assert "upstream connect error" in str(exc) and "HTTP 502 Bad Gateway" in str(exc)
    assert exc.request_id == "req_gw"


def test_long_html_error_body_gives_status_and_keeps_the_body() -> None:
    html = "<html>" + "x" * 5000 + "</html>"
    exc = api_exception_for(503, "Service Unavailable", html.encode(), {})
    assert str(exc) == "HTTP 503 Service Unavailable"
    assert exc.body == html


@pytest.mark.parametrize("body", [b'{"error": "plain string"}', b'{"error": null}', b"[1,2]", b"\xff\xfe",
                                  b'{"error": {"message": 5, "code": 429}}'])
def test_odd_error_bodies_never_crash(body: bytes) -> None:
    exc = api_exception_for(400, "Bad Request", body, {"X-Request-Id": "r"})
    assert isinstance(exc, BadRequestException)
    assert exc.status == 400 and exc.request_id == "r" and str(exc).startswith("HTTP 400 Bad Request")


def test_numeric_code_is_kept_as_text() -> None:
    exc = api_exception_for(400, "Bad Request", b'{"error": {"message": "m", "code": 42}}', {})
    assert exc.code == "42"


def test_the_tree() -> None:
    for cls in (ApiConnectionError, ApiResponseValidationError, BadRequestException, UnauthorizedException,
                ForbiddenException, NotFoundException, ConflictException, UnprocessableEntityException,
                RateLimitException, ServiceException):
        assert cls.__bases__ == (ApiException,), cls
    assert ApiTimeoutError.__bases__ == (ApiConnectionError,)
    assert PaginationError.__bases__ == (ApiResponseValidationError,)
    assert issubclass(ApiException, Exception) and not issubclass(ApiException, ValueError)
    # Every class in the tree is named in the module docstring's drawing.
    doc = openapiopenai.exceptions.__doc__ or ""
    for name in openapiopenai.exceptions.__all__:
        if name != "api_exception_for":
            assert name in doc, name


def test_rest_api_exception_is_the_same_class() -> None:
    assert openapiopenai.rest.ApiException is openapiopenai.ApiException
    assert openapiopenai.api_client.ApiException is openapiopenai.ApiException
    from openapiopenai.rest import ApiException as SeedImport

    with pytest.raises(SeedImport):
        sync_api(Script(error(404))).list_audit_logs()


def test_api_response_validation_error_for_a_page_of_the_wrong_shape() -> None:
    script = Script(ok(b'{"object": "list"}', **{"x-request-id": "req_shape"}))
    with pytest.raises(ApiResponseValidationError) as info:
        sync_api(script).list_audit_logs()
    assert info.value.status == 200 and info.value.request_id == "req_shape"
    assert "data" in str(info.value)
